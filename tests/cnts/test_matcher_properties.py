"""Properties of exclusion matching through the store: every equivalent spelling of a listed
person's email, LinkedIn URL or phone excludes them; an unrelated person is never excluded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import phonenumbers
import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from atsbridge.services.cnts import Person, _insert_entries, _row, person_keys
from atsbridge.store import CntsList
from cntsstrategies import (
    domains,
    email_spelling,
    linkedin_spelling,
    locals_,
    phone_numbers,
    phone_spelling,
    slugs,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

_jobs = itertools.count()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Atsbridge]:
    path: Path = tmp_path_factory.mktemp("matcher") / "store.db"
    with Atsbridge(db=f"sqlite:///{path}", registry=PluginRegistry()) as a:
        with a.store.tenant("t", create=True):
            pass
        with a.store.tenant("other", create=True):
            pass
        yield a


def _list(app: Atsbridge, tenant: str, job: str, **identity: object) -> None:
    keys = person_keys(**identity)  # type: ignore[arg-type]
    assert not keys.problems, keys.problems
    company, city = identity.get("company"), identity.get("city")
    entry = _row("x", keys, None, company, city, {"sig": "x"})  # type: ignore[arg-type]
    with app.store.tenant(tenant) as repo:
        conn = repo.session.connection()
        _insert_entries(conn, repo.tenant_id, job, "file", None, [entry], app.clock())
    _known(app, "t", job)
    _known(app, "other", job)


def _known(app: Atsbridge, tenant: str, job: str) -> None:
    """Give the job a list (as ``cnts import --create`` does), so checks may ask about it."""
    with app.store.tenant(tenant) as repo:
        if repo.first(repo.select(CntsList).where(CntsList.product_job_id == job)) is None:
            repo.add(CntsList(product_job_id=job, created_at=app.clock()))


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@given(data=st.data(), local=locals_, domain=domains, slug=slugs, number=phone_numbers())
@PROPERTY
def test_every_spelling_of_a_listed_identifier_excludes(
    app: Atsbridge, data: st.DataObject, local: str, domain: str, slug: str, number
) -> None:
    job = f"job{next(_jobs)}"
    _list(
        app,
        "t",
        job,
        emails=[f"{local}@{domain}"],
        linkedin=f"https://www.linkedin.com/in/{slug}",
        phones=[_e164(number)],
    )
    email = data.draw(email_spelling(local, domain))
    url = data.draw(linkedin_spelling(slug))
    phone, country = data.draw(phone_spelling(number))
    results = app.cnts.check_batch(
        "t",
        job,
        [Person(emails=[email]), Person(linkedin=url), Person(phones=[phone])],
        default_country=country,
    )
    assert [(r.excluded, r.rule) for r in results] == [
        (True, "email"),
        (True, "linkedin"),
        (True, "phone"),
    ]
    # The same spellings never leak into another tenant's list of the same job id.
    other = app.cnts.check_batch("other", job, [Person(emails=[email], linkedin=url)])
    assert not other[0].excluded


@given(
    a_local=locals_,
    b_local=locals_,
    domain=domains,
    a_slug=slugs,
    b_slug=slugs,
    a_phone=phone_numbers(),
    b_phone=phone_numbers(),
)
@PROPERTY
def test_unrelated_people_are_never_excluded(
    app: Atsbridge, a_local, b_local, domain, a_slug, b_slug, a_phone, b_phone
) -> None:
    a = person_keys(
        emails=[f"{a_local}@{domain}"],
        linkedin=f"linkedin.com/in/{a_slug}",
        phones=[_e164(a_phone)],
    )
    b = person_keys(
        emails=[f"{b_local}@{domain}"],
        linkedin=f"linkedin.com/in/{b_slug}",
        phones=[_e164(b_phone)],
    )
    assume(not set(a.strong()) & set(b.strong()))
    job = f"job{next(_jobs)}"
    _list(
        app,
        "t",
        job,
        emails=[f"{a_local}@{domain}"],
        linkedin=f"linkedin.com/in/{a_slug}",
        phones=[_e164(a_phone)],
        name="Ada Quinton",
        company="Globex",
    )
    probe = Person(
        emails=[f"{b_local}@{domain}"],
        linkedin=f"linkedin.com/in/{b_slug}",
        phones=[_e164(b_phone)],
        name="Ada Quinton",  # same name, but no shared company or city
        city="Paris",
    )
    (result,) = app.cnts.check_batch("t", job, [probe])
    assert not result.excluded, result
