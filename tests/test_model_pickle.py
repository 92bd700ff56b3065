"""A ``Candidate`` crosses to the storing worker process pickled (``Candidate.__reduce_ex__``):
it must come back equal, field for field and type for type, whatever it holds."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.reduction import ForkingPickler
from zoneinfo import ZoneInfo

import attrs
import pytest
from atsbridge.model import Candidate, CandidateStatus
from hypothesis import given
from hypothesis import strategies as st

FULL = Candidate(
    ats_id="c-1",
    job_ats_id="j-1",
    status=CandidateStatus.INTERVIEWING,
    stage="Phone screen",
    status_raw="INTERVIEW",
    application_id="c-1:j-1",
    first_name="Zoë",
    last_name="Nyström",
    emails=["zoe@example.org", "z.n@example.com"],  # the converter makes a tuple
    phones=("+33 6 12 34 56 78",),
    linkedin_url="https://www.linkedin.com/in/zoe",
    company="Initech",
    city="Lyon",
    updated_at=datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2))),
)


def _same(a: Candidate, b: Candidate) -> None:
    assert b == a and hash(b) == hash(a)
    for field in attrs.fields(Candidate):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert type(y) is type(x), field.name
        assert y == x, field.name
    assert b.status is a.status  # the enum member itself, not a lookalike
    if a.updated_at is not None:
        assert b.updated_at is not None
        assert b.updated_at.utcoffset() == a.updated_at.utcoffset()
        assert b.updated_at.tzinfo == a.updated_at.tzinfo
        assert b.updated_at.fold == a.updated_at.fold


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_a_full_candidate_round_trips_through_pickle(protocol: int) -> None:
    _same(FULL, pickle.loads(pickle.dumps(FULL, protocol)))


def test_a_page_of_candidates_round_trips_as_the_worker_pipe_sends_it() -> None:
    sparse = Candidate(ats_id="c-2", job_ats_id="j-1", status=CandidateStatus.NEW)
    page = ("page", ("j-1", None, None), (FULL, sparse, FULL))
    back = pickle.loads(bytes(ForkingPickler.dumps(page)))
    assert back == page
    _same(sparse, back[2][1])
    assert back[2][1].emails == () and back[2][1].updated_at is None


def test_copies_are_equal() -> None:
    _same(FULL, copy.copy(FULL))
    _same(FULL, copy.deepcopy(FULL))


def test_aware_datetimes_keep_their_zone_and_fold() -> None:
    paris = datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Paris"), fold=1)
    for when in (paris, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1)):
        one = attrs.evolve(FULL, updated_at=when)
        _same(one, pickle.loads(pickle.dumps(one)))


texts = st.none() | st.text(max_size=20)


@given(
    st.builds(
        Candidate,
        ats_id=st.text(max_size=20),
        job_ats_id=st.text(max_size=20),
        status=st.sampled_from(CandidateStatus),
        stage=texts,
        status_raw=texts,
        application_id=texts,
        first_name=texts,
        last_name=texts,
        emails=st.lists(st.text(max_size=20), max_size=3),
        phones=st.lists(st.text(max_size=20), max_size=3),
        linkedin_url=texts,
        company=texts,
        city=texts,
        updated_at=st.none() | st.datetimes(timezones=st.none() | st.timezones()),
    )
)
def test_any_candidate_round_trips(candidate: Candidate) -> None:
    _same(candidate, pickle.loads(pickle.dumps(candidate)))
