"""Every person listed from a pipeline or from a file is excluded under every spelling of
each of their identifiers: email (Unicode case and compatibility forms, Gmail dots and
tags), LinkedIn URL forms, phone formats, and name with company or city."""

from __future__ import annotations

import csv
import io
import itertools
import string
import unicodedata
from pathlib import Path

import phonenumbers
from atsbridge.api import Atsbridge
from atsbridge.identity import normalize_email
from atsbridge.services.cnts import Person
from cntsfake import Clock, PipelineAts, connect, link
from cntsstrategies import (
    domains,
    email_spelling,
    linkedin_spelling,
    phone_numbers,
    phone_spelling,
    slugs,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

_jobs = itertools.count()

PROPERTY = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Local parts with accented letters: their upper case and fullwidth forms must fold back.
unicode_locals = st.text(string.ascii_lowercase + "éèüñçø", min_size=1, max_size=12)
names = st.sampled_from(
    [("Élodie", "Lefèvre"), ("Hanna", "Berg"), ("Björn", "Nyström"), ("Zoë", "O'Brien")]
)
companies = st.sampled_from(["Globex", "Spotify AB", "Initech Ltd", "Société Générale"])
cities = st.sampled_from(["Paris", "Göteborg", "São Paulo", "Zürich"])


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@st.composite
def unicode_email_spelling(draw: st.DrawFn, local: str, domain: str) -> str:
    spelled = draw(email_spelling(local, domain)).strip().strip("<>")
    form = draw(st.sampled_from(["as is", "upper", "nfd", "fullwidth local"]))
    if spelled.lower().startswith("mailto:"):
        spelled = spelled[7:]
    if form == "upper":
        return spelled.upper()
    if form == "nfd":
        return unicodedata.normalize("NFD", spelled)
    if form == "fullwidth local":
        head, _, tail = spelled.rpartition("@")
        return f"{_fullwidth(head)}@{tail}"
    return spelled


@st.composite
def name_spelling(draw: st.DrawFn, first: str, last: str) -> str:
    full = f"{first} {last}"
    form = draw(st.sampled_from(["upper", "lower", "ascii", "spaced"]))
    if form == "upper":
        return full.upper()
    if form == "lower":
        return full.lower()
    if form == "ascii":
        folded = unicodedata.normalize("NFKD", full)
        return "".join(c for c in folded if not unicodedata.combining(c))
    return f"  {first}   {last} "


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _check_every_spelling(
    app: Atsbridge, job: str, data: st.DataObject, person: dict[str, object]
) -> None:
    local, domain = person["local"], person["domain"]
    email = data.draw(unicode_email_spelling(local, domain), label="email")
    url = data.draw(linkedin_spelling(person["slug"]), label="linkedin")
    phone, country = data.draw(phone_spelling(person["number"]), label="phone")
    first, last = person["name"]
    name = data.draw(name_spelling(first, last), label="name")
    company = str(person["company"]).upper().replace(" LTD", "")
    city = str(person["city"]).lower()
    probes = [
        Person(emails=[email]),
        Person(linkedin=url),
        Person(phones=[phone]),
        Person(name=name, company=company),
        Person(name=name, city=city),
    ]
    results = app.cnts.check_batch("acme", job, probes, default_country=country)
    assert [(r.excluded, r.rule) for r in results] == [
        (True, "email"),
        (True, "linkedin"),
        (True, "phone"),
        (True, "name+company"),
        (True, "name+city"),
    ], (email, url, phone, name, [r.problems for r in results])


people = st.fixed_dictionaries(
    {
        "local": unicode_locals,
        "domain": domains,
        "slug": slugs,
        "number": phone_numbers(),
        "name": names,
        "company": companies,
        "city": cities,
    }
)


@given(data=st.data(), person=people)
@PROPERTY
def test_every_spelling_excludes_a_person_from_the_pipeline(
    app: Atsbridge, pipe: PipelineAts, clock: Clock, data: st.DataObject, person: dict
) -> None:
    if "acme" not in app.store.tenant_keys():
        connect(app, "acme")
    n = next(_jobs)
    job, ats_job = f"P{n}", f"J{n}"
    link(app, "acme", job, ats_job)
    first, last = person["name"]
    pipe.put(
        ats_job,
        f"c{n}",
        first_name=first,
        last_name=last,
        emails=(f"{person['local']}@{person['domain']}",),
        linkedin_url=f"https://www.linkedin.com/in/{person['slug']}",
        phones=(_e164(person["number"]),),
        company=person["company"],
        city=person["city"],
    )
    clock.advance(minutes=1)
    (report,) = app.cnts.sync("acme", "pipeats", product_job_id=job)
    assert report.counts["added"] == 1, report
    _check_every_spelling(app, job, data, person)


@given(data=st.data(), person=people)
@PROPERTY
def test_every_spelling_excludes_a_person_from_a_file(
    app: Atsbridge, tmp_path: Path, data: st.DataObject, person: dict
) -> None:
    if "acme" not in app.store.tenant_keys():
        connect(app, "acme")
    job = f"F{next(_jobs)}"
    first, last = person["name"]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["Courriel", "Prénom", "Nom", "Téléphone", "LinkedIn", "Société", "Ville"])
    writer.writerow(
        [
            f"{person['local']}@{person['domain']}",
            first,
            last,
            _e164(person["number"]),
            f"linkedin.com/in/{person['slug']}",
            person["company"],
            person["city"],
        ]
    )
    path = tmp_path / f"{job}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    report = app.cnts.import_file("acme", job, path, create=True)
    assert (report.added, report.problems, report.warnings) == (1, (), ())
    _check_every_spelling(app, job, data, person)


@given(local=unicode_locals, domain=domains)
@settings(max_examples=200)
def test_email_folding_is_stable_and_covers_compatibility_forms(local: str, domain: str) -> None:
    email = f"{local}@{domain}"
    folded = normalize_email(email)
    assert normalize_email(folded) == folded
    assert normalize_email(email.upper()) == folded
    assert normalize_email(unicodedata.normalize("NFD", email)) == folded
    assert normalize_email(f"{_fullwidth(local)}@{domain}") == folded
