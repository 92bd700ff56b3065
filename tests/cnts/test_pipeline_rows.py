"""A pipeline candidate's stored row: the sync's own path equals the general one.

``CandidatesKind._row`` normalises every person a sync lists, so it spells out what
``person_keys`` and ``_row`` (the path file imports take) do. For every candidate both must
give the same row and the same problems, and the signature of a row stored by an earlier
version must not change (a changed signature rewrites every listed person once).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from atsbridge.model import Candidate, CandidateStatus
from atsbridge.services import cnts
from hypothesis import given, settings
from hypothesis import strategies as st


def _general(kind: cnts.CandidatesKind, candidate: Candidate) -> tuple[cnts._Row, list[str]]:
    name = candidate.full_name or None
    keys = cnts.person_keys(
        emails=candidate.emails,
        linkedin=candidate.linkedin_url,
        phones=candidate.phones,
        name=name,
        default_country=kind.default_country,
    )
    errors = [f"candidate {candidate.ats_id}: {p} (value left out)" for p in keys.problems[:3]]
    raw = {
        "sig": cnts._signature(
            keys.emails, keys.linkedin, keys.phones, name, candidate.company, candidate.city
        ),
        "status": candidate.status.value,
        "stage": candidate.stage,
    }
    return cnts._row(candidate.ats_id, keys, name, candidate.company, candidate.city, raw), errors


def _same(candidate: Candidate, country: str | None = "DE") -> None:
    kind = cnts.CandidatesKind(default_country=country)
    errors: list[str] = []
    assert (kind._row(candidate, errors), errors) == _general(kind, candidate)


def person(**fields: object) -> Candidate:
    fields.setdefault("ats_id", "c1")
    fields.setdefault("job_ats_id", "J1")
    fields.setdefault("status", CandidateStatus.INTERVIEWING)
    return Candidate(**fields)  # type: ignore[arg-type]


def test_a_full_candidate() -> None:
    _same(
        person(
            first_name="Zoë",
            last_name="O'Hara",
            emails=("Zoe.OHara+jobs@GMail.com", "zoe@example.org", "not an email"),
            phones=("030 1234567", "+1 415 555 0100", "12"),
            linkedin_url="https://de.linkedin.com/in/Zo%C3%AB-ohara/?trk=x",
            company="Acme",
            city="Berlin",
            stage='Interview "2" \u2603',
            updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
    )


def test_a_candidate_with_nothing_but_an_id() -> None:
    _same(person(first_name=None, last_name="", emails=(), phones=(), linkedin_url="  "))
    _same(person(first_name="", last_name="Solo", linkedin_url="not a profile"), country=None)


def test_the_stored_signature_and_raw_text_are_unchanged() -> None:
    kind = cnts.CandidatesKind(default_country="US")
    row = kind._row(
        person(
            first_name="Ada",
            last_name="Quinton",
            emails=("ada@example.org",),
            phones=("415 555 0100",),
            linkedin_url="linkedin.com/in/ada",
            company="Acme",
            city="Oslo",
            stage="Phone screen",
        ),
        [],
    )
    assert row.sig == "f6deaa1f5a20d76767480a4029c2a77b"
    assert json.loads(row.raw) == {
        "sig": row.sig,
        "status": "interviewing",
        "stage": "Phone screen",
    }


text = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(["", " ", "Ann", "Jo-Ann"]))
emails = st.lists(
    st.one_of(
        st.text(max_size=15),
        st.builds(
            "{}@{}".format,
            st.text(min_size=1, max_size=6),
            st.sampled_from(["gmail.com", "Exämple.org", "x"]),
        ),
    ),
    max_size=3,
)
phones = st.lists(
    st.one_of(
        st.text(alphabet="+0123456789 ()-", max_size=16),
        st.sampled_from(["+49 30 1234567", "0301234567"]),
    ),
    max_size=3,
)
urls = st.one_of(
    text,
    st.builds("https://www.linkedin.com/in/{}/".format, st.text(min_size=1, max_size=10)),
)


@settings(max_examples=300, deadline=None)
@given(
    first=text,
    last=text,
    emails=emails,
    phones=phones,
    url=urls,
    company=text,
    city=text,
    stage=text,
    status=st.sampled_from(CandidateStatus),
    country=st.sampled_from([None, "DE", "US"]),
)
def test_the_sync_row_equals_the_general_row(
    first, last, emails, phones, url, company, city, stage, status, country
) -> None:  # type: ignore[no-untyped-def]
    _same(
        person(
            first_name=first,
            last_name=last,
            emails=tuple(emails),
            phones=tuple(phones),
            linkedin_url=url,
            company=company,
            city=city,
            stage=stage,
            status=status,
        ),
        country=country,
    )
