"""The listing fast paths build exactly what the strict converter builds, or step aside.

``_plain_application`` and ``_plain_candidate`` skip cattrs for list rows whose fields all
have the expected JSON types; any row they are unsure of goes to the converter, which names
the bad field. So for every input: either they return None, or their result equals the
converter's (``repr`` too: ``==`` on aware datetimes ignores the offset they carry); and they
never accept a row the converter refuses. ``structure_list`` with the fast paths must give
what it gives without them: the same objects or the same ``PayloadError``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from atsbridge.model import SandboxOptions
from atsbridge_greenhouse import mapping as m
from atsbridge_greenhouse.sandbox import GreenhouseSandbox
from hypothesis import given, settings
from hypothesis import strategies as st

FAST = {m.GhApplication: m._plain_application, m.GhCandidate: m._plain_candidate}


def _wire_rows(sparse: bool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    box = GreenhouseSandbox(SandboxOptions(seed=11, jobs=6, candidates_per_job=6))
    box.sparse = sparse

    def wire(row: dict) -> dict[str, Any]:  # what a listing page carries
        return json.loads(json.dumps(box._public(row, [])))

    return [wire(r) for r in box.applications.values()], [wire(r) for r in box.candidates.values()]


APPS, PEOPLE = _wire_rows(sparse=False)
SPARSE_APPS, SPARSE_PEOPLE = _wire_rows(sparse=True)
BASES = {m.GhApplication: APPS + SPARSE_APPS, m.GhCandidate: PEOPLE + SPARSE_PEOPLE}


def _strict(raw: Any, cls: type) -> Any:
    return m.structure(raw, cls, "greenhouse row")


def _agrees(raw: Any, cls: type) -> None:
    fast = FAST[cls](copy.deepcopy(raw))
    try:
        expected = _strict(copy.deepcopy(raw), cls)
    except m.PayloadError:
        assert fast is None, raw
        return
    if fast is not None:
        assert (fast, repr(fast)) == (expected, repr(expected)), raw


def _listed(payload: Any, cls: type, kind: str) -> Any:
    try:
        rows = m.structure_list(copy.deepcopy(payload), cls, kind)
    except m.PayloadError as exc:
        return ("PayloadError", exc.record, exc.field, exc.reason, str(exc))
    return rows, repr(rows)


def _without_fast_paths(payload: Any, cls: type, kind: str) -> Any:
    saved = m._FAST_PATHS
    m._FAST_PATHS = {}
    try:
        return _listed(payload, cls, kind)
    finally:
        m._FAST_PATHS = saved


# --- the rows the sandbox serves: all fast, all equal -----------------------------------------


@pytest.mark.parametrize("cls", [m.GhApplication, m.GhCandidate], ids=lambda c: c.__name__)
def test_every_sandbox_row_takes_the_fast_path_and_matches_the_converter(cls) -> None:
    rows = BASES[cls]
    assert len(rows) >= 60
    for row in rows:
        fast = FAST[cls](row)
        assert fast is not None, row
        expected = _strict(row, cls)
        assert (fast, repr(fast)) == (expected, repr(expected))


def test_rows_without_a_stage_or_dates_and_with_distinct_dates_match() -> None:
    app = {"id": 1, "candidate_id": 2}
    assert m._plain_application(app) == _strict(app, m.GhApplication)
    dated = {**APPS[0], "updated_at": "2026-01-02T03:04:05Z", "last_activity_at": "2026-01-03"}
    fast = m._plain_application(dated)
    assert fast is not None and fast.last_activity_at != fast.updated_at
    assert repr(fast) == repr(_strict(dated, m.GhApplication))
    person = {"id": 3, "email_addresses": [{}, {"value": None}], "phone_numbers": []}
    assert repr(m._plain_candidate(person)) == repr(_strict(person, m.GhCandidate))


def test_a_dict_subclass_is_left_to_the_converter() -> None:
    class Row(dict):
        pass

    assert m._plain_application(Row(APPS[0])) is None
    assert m._plain_candidate(Row(PEOPLE[0])) is None


# --- altered rows: left to the converter or built the same ------------------------------------

ODD_EXAMPLES: list[Any] = [
    None,
    0,
    7,
    -1,
    True,
    False,
    1.5,
    "",
    "x",
    "7",
    "2026-05-01T10:00:00Z",
    "2026-05-01T10:00:00+05:00",
    "2026-05-01",
    "not a date",
    "2026-13-01T00:00:00Z",
    [],
    [None],
    ["x"],
    [{}],
    [{"value": "a@b.c"}],
    [{"value": 5}],
    [{"value": None, "type": "x"}],
    {},
    {"value": "x"},
]
ODD_VALUES = st.one_of(
    st.sampled_from(ODD_EXAMPLES),
    st.integers(),
    st.text(max_size=6),
    st.lists(st.fixed_dictionaries({}, optional={"value": st.one_of(st.none(), st.text())})),
)
FIELDS = {
    m.GhApplication: [
        "id",
        "candidate_id",
        "status",
        "job_id",
        "prospect",
        "stage_name",
        "job_interview_stage_id",
        "updated_at",
        "last_activity_at",
    ],
    m.GhCandidate: [
        "id",
        "first_name",
        "last_name",
        "company",
        "email_addresses",
        "phone_numbers",
        "social_media_addresses",
    ],
}
CASES = [(cls, field) for cls, fields in FIELDS.items() for field in fields]


def _edited(row: dict[str, Any], edits: list[tuple[str, Any, bool]]) -> dict[str, Any]:
    row = copy.deepcopy(row)
    for field, value, delete in edits:
        if delete:
            row.pop(field, None)
        else:
            row[field] = copy.deepcopy(value)
    return row


@pytest.mark.parametrize(("cls", "field"), CASES, ids=lambda v: getattr(v, "__name__", v))
def test_each_field_altered_alone(cls, field) -> None:
    for base in (BASES[cls][0], BASES[cls][-1]):
        _agrees(_edited(base, [(field, None, True)]), cls)
        for value in ODD_EXAMPLES:
            _agrees(_edited(base, [(field, value, False)]), cls)


@pytest.mark.parametrize("raw", [None, [], "x", 5, {}, {"id": None}, {"id": "5"}, {"id": True}])
def test_rows_that_are_not_objects_or_lack_ids_are_left_to_the_converter(raw) -> None:
    for cls in FAST:
        assert FAST[cls](raw) is None
        with pytest.raises(m.PayloadError):
            _strict(raw, cls)


@settings(max_examples=400, deadline=None)
@given(
    cls=st.sampled_from([m.GhApplication, m.GhCandidate]),
    pick=st.integers(0, 10_000),
    edits=st.lists(
        st.tuples(
            st.sampled_from(sorted({f for fs in FIELDS.values() for f in fs})),
            ODD_VALUES,
            st.booleans(),
        ),
        max_size=3,
    ),
)
def test_an_altered_row_is_either_left_to_the_converter_or_built_the_same(cls, pick, edits) -> None:
    rows = BASES[cls]
    _agrees(_edited(rows[pick % len(rows)], edits), cls)


# --- whole pages: structure_list gives the same rows or the same error ------------------------

OPT_TEXT = st.one_of(st.none(), st.text(max_size=6))
TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(
        lambda d: d.isoformat(timespec="milliseconds")
    ),
    st.datetimes().map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    ),
    st.sampled_from(
        ["2026-09-14T14:23:00.000Z", "2026-09-14T14:23:00z", "2026-09-14", "not a date", ""]
    ),
)
IDS = st.one_of(st.integers(0, 10**9), st.sampled_from([None, True, "12", 1.0]))
_ABSENT = object()


def _obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose every key may also be left out (and extra keys are ignored)."""
    return st.fixed_dictionaries(
        {k: st.one_of(st.just(_ABSENT), v) for k, v in fields.items()}
    ).map(lambda d: {k: v for k, v in d.items() if v is not _ABSENT} | {"extra": [1]})


def _same_stamp_sometimes(row: dict[str, Any]) -> dict[str, Any]:
    if "updated_at" in row and row.get("prospect") is True:
        row["last_activity_at"] = row["updated_at"]
    return row


APPLICATION = _obj(
    id=IDS,
    candidate_id=IDS,
    status=st.one_of(OPT_TEXT, st.sampled_from(m.APPLICATION_STATUSES), st.integers()),
    job_id=st.one_of(IDS, st.none()),
    prospect=st.one_of(st.none(), st.booleans(), st.integers(0, 1)),
    stage_name=st.one_of(OPT_TEXT, st.integers()),
    job_interview_stage_id=st.one_of(IDS, st.none()),
    updated_at=st.one_of(st.none(), TIMESTAMPS, st.integers()),
    last_activity_at=st.one_of(st.none(), TIMESTAMPS),
).map(_same_stamp_sometimes)
VALUES = st.one_of(
    st.none(),
    st.text(max_size=3),
    st.lists(st.one_of(_obj(value=st.one_of(OPT_TEXT, st.integers())), st.none()), max_size=3),
)
CANDIDATE = _obj(
    id=IDS,
    first_name=st.one_of(OPT_TEXT, st.integers()),
    last_name=OPT_TEXT,
    company=st.one_of(OPT_TEXT, st.booleans()),
    email_addresses=VALUES,
    phone_numbers=VALUES,
    social_media_addresses=VALUES,
)


@settings(max_examples=300, deadline=None)
@given(
    page=st.one_of(
        st.lists(st.one_of(APPLICATION, st.sampled_from(APPS)), max_size=4),
        st.just({"applications": []}),
    )
)
def test_application_pages_list_the_same_with_and_without_the_fast_path(page) -> None:
    fast = _listed(page, m.GhApplication, "application")
    assert fast == _without_fast_paths(page, m.GhApplication, "application")


@settings(max_examples=300, deadline=None)
@given(page=st.lists(st.one_of(CANDIDATE, st.sampled_from(PEOPLE), st.none()), max_size=4))
def test_candidate_pages_list_the_same_with_and_without_the_fast_path(page) -> None:
    fast = _listed(page, m.GhCandidate, "candidate")
    assert fast == _without_fast_paths(page, m.GhCandidate, "candidate")


# --- stage names: the memo answers what the words say -----------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    stage=st.one_of(
        st.none(),
        st.text(max_size=12),
        st.sampled_from(["Offer", "Phone Screen", "Onsite", "Application Review", "OFFER"]),
    )
)
def test_stage_status_memo_matches_the_words(stage) -> None:
    expected = m._stage_status(stage) if stage else m.CandidateStatus.NEW
    assert m.stage_status(stage) == expected
    assert m.stage_status(stage) == expected  # the second, memoised answer too


# --- the hook: a listed pipeline is the same with and without the fast paths ------------------


def test_listed_pipeline_is_the_same_without_the_fast_paths(
    make_sandbox, connect, monkeypatch
) -> None:
    from atsbridge.model import CandidateQuery

    box = make_sandbox(SandboxOptions(seed=5, jobs=3, candidates_per_job=20))
    session = connect(box)

    def pipeline() -> list[Any]:
        out: list[Any] = []
        for job in box.jobs():
            cursor = None
            while True:
                query = CandidateQuery(job_ats_id=job.ats_id, cursor=cursor, page_size=7)
                page = session.list_candidates(query)
                out.extend(page.items)
                cursor = page.next_cursor
                if not cursor:
                    break
        return out

    fast = pipeline()
    assert len(fast) == 60
    monkeypatch.setattr(m, "_FAST_PATHS", {})
    strict = pipeline()
    assert (fast, repr(fast)) == (strict, repr(strict))
