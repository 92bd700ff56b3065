"""The candidate fast paths build exactly what the strict converter builds, or step aside.

``_plain_candidate`` skips cattrs for rows whose fields all have the expected types; any
row it is unsure of goes to the converter, which names the bad field. So for every input:
either it returns None, or its result equals the converter's; and it never accepts a row
the converter refuses. ``parse_candidate`` goes further and maps such a row straight to the
``Candidate`` (``_plain_listed_candidate``); for every input it must give what the strict
path gives: the same ``Candidate``, the same ``PayloadError``, the same log warnings.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from atsbridge.model import SandboxOptions
from atsbridge_smartrecruiters import mapping
from atsbridge_smartrecruiters.sandbox import SmartRecruitersSandbox
from hypothesis import given, settings
from hypothesis import strategies as st


def _rows() -> list[dict[str, Any]]:
    box = SmartRecruitersSandbox(SandboxOptions(seed=11, jobs=6, candidates_per_job=5))
    return [box._render(p) for p in box._people.values()]  # what a listing page carries


ROWS = _rows()


def _converter(raw: Any) -> Any:
    return mapping._structure("SmartRecruiters candidate", raw, mapping.SrCandidate)


def test_every_sandbox_row_takes_the_fast_path_and_matches_the_converter() -> None:
    assert len(ROWS) >= 30
    for row in ROWS:
        fast = mapping._plain_candidate(row)
        assert fast is not None, row["id"]
        assert fast == _converter(row)


def test_documented_shapes_match_the_converter() -> None:
    sparse = {"id": "c1"}
    assert mapping._plain_candidate(sparse) == _converter(sparse)
    nulls = {k: None for k in ("firstName", "email", "web", "location", "updatedOn")}
    row = {"id": "c2", **nulls, "primaryAssignment": None, "secondaryAssignments": None}
    assert mapping._plain_candidate(row) == _converter(row)
    naive = {"id": "c3", "updatedOn": "2026-05-01T10:00:00", "web": {"linkedIn": "x"}}
    assert mapping._plain_candidate(naive) == _converter(naive)


ODD_VALUES = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.text(max_size=5),
    st.sampled_from(["2026-05-01T10:00:00Z", "not a date", "2026-13-01"]),
    st.lists(st.none(), max_size=2),
    st.just({}),
    st.just({"id": 7}),
    st.just({"job": {"id": "j"}, "status": "NEW"}),
    st.just([{"job": {"id": "j"}, "status": 3}]),
)
PATHS = [
    ("id",),
    ("firstName",),
    ("lastName",),
    ("email",),
    ("phoneNumber",),
    ("web",),
    ("web", "linkedin"),
    ("web", "linkedIn"),
    ("location",),
    ("location", "city"),
    ("updatedOn",),
    ("primaryAssignment",),
    ("primaryAssignment", "job"),
    ("primaryAssignment", "job", "id"),
    ("primaryAssignment", "status"),
    ("primaryAssignment", "subStatus"),
    ("secondaryAssignments",),
]


ODD_EXAMPLES = [None, 7, True, "", "x", "not a date", "2026-05-01T10:00:00Z", [None], {}, {"id": 7}]


def _edited(base: int, edits) -> dict[str, Any]:
    row = copy.deepcopy(ROWS[base])
    for path, value, delete in edits:
        target = row
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue
        if delete:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = value
    return row


def _agrees(row: dict[str, Any]) -> None:
    fast = mapping._plain_candidate(row)
    try:
        expected = _converter(row)
    except mapping.PayloadError:
        assert fast is None, row
        return
    assert fast is None or fast == expected


@pytest.mark.parametrize("path", PATHS, ids="/".join)
def test_each_field_altered_alone(path) -> None:
    for base in (0, 1):  # a row with and one without secondary assignments
        _agrees(_edited(base, [(path, None, True)]))
        for value in ODD_EXAMPLES:
            _agrees(_edited(base, [(path, value, False)]))


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(range(len(ROWS))),
    edits=st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUES, st.booleans()), max_size=3),
)
def test_an_altered_row_is_either_left_to_the_converter_or_built_the_same(base, edits) -> None:
    _agrees(_edited(base, edits))


@pytest.mark.parametrize("raw", [None, [], "x", {"id": None}, {"id": 5}])
def test_rows_that_are_not_candidates_still_fail_naming_the_record(raw) -> None:
    assert mapping._plain_candidate(raw) is None
    with pytest.raises(mapping.PayloadError):
        mapping.parse_candidate(raw, "job-1", 0)


# --- parse_candidate: the direct fast path against the strict converter path -----------------

JOB = "job-on-the-listing"


def _strict_listed(raw: Any, job_id: str, index: int | None) -> Any:
    """parse_candidate as it is with both fast paths switched off."""
    record = mapping._record_name("candidate", raw, index)
    return mapping.listed_candidate(
        mapping._structure(record, raw, mapping.SrCandidate), job_id, record
    )


@contextlib.contextmanager
def _warnings() -> Iterator[list[tuple[str, int, str]]]:
    logger = logging.getLogger("atsbridge.smartrecruiters")
    seen: list[tuple[str, int, str]] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.name, record.levelno, record.getMessage()))

    handler, level = Keep(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _outcome(parse: Any, raw: Any, job_id: str, index: int | None) -> tuple[Any, Any]:
    with _warnings() as seen:
        try:
            # repr too: == on aware datetimes ignores which offset they carry.
            result = (lambda c: (c, repr(c)))(parse(raw, job_id, index))
        except mapping.PayloadError as exc:
            result = ("PayloadError", exc.record, exc.field, exc.reason, str(exc))
    return result, seen


def _same_as_strict(raw: Any, job_id: str = JOB, index: int | None = 3) -> None:
    fast = _outcome(mapping.parse_candidate, copy.deepcopy(raw), job_id, index)
    assert fast == _outcome(_strict_listed, copy.deepcopy(raw), job_id, index), raw
    direct = mapping._plain_listed_candidate(copy.deepcopy(raw), job_id)
    if direct is not None:  # taken only for rows the converter accepts unchanged
        assert mapping._plain_candidate(raw) == _converter(raw)
        assert (direct, repr(direct)) == fast[0] and fast[1] == []


OPT_TEXT = st.one_of(st.none(), st.just(""), st.text(max_size=6))
TIMESTAMPS = st.one_of(
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(
        lambda d: d.isoformat(timespec="milliseconds")
    ),
    st.datetimes().map(
        lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"
    ),
    st.sampled_from(
        [
            "2026-09-14T14:23:00.000Z",
            "2026-09-14T14:23:00Z",
            "2026-09-14T14:23:00.123456+02:00",
            "2026-09-14T14:23:00",
            "2026-09-14",
            "2026-09-14 14:23:00.000Z",
            "2026-09-14T25:23:00.000Z",
            "20260914T142300Z",
            "not a date",
            "",
        ]
    ),
)
STATUS = st.one_of(
    st.sampled_from(sorted(mapping.CANDIDATE_STATUSES)), st.sampled_from(["ZOMBIE", "new", ""])
)
JOB_IDS = st.sampled_from([JOB, "another-job", "third-job", ""])


def _absent_or(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(_ABSENT), value)


_ABSENT = object()


def _obj(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose every key may also be left out (and extra keys are ignored)."""
    return st.fixed_dictionaries({k: _absent_or(v) for k, v in fields.items()}).map(
        lambda d: {k: v for k, v in d.items() if v is not _ABSENT} | {"extra": [1]}
    )


ASSIGNMENT = _obj(job=_obj(id=JOB_IDS, title=OPT_TEXT), status=STATUS, subStatus=OPT_TEXT)
ROW = _obj(
    id=st.one_of(st.text(max_size=8), st.uuids().map(str)),
    firstName=OPT_TEXT,
    lastName=OPT_TEXT,
    email=OPT_TEXT,
    phoneNumber=OPT_TEXT,
    web=st.one_of(st.none(), _obj(linkedin=OPT_TEXT, linkedIn=OPT_TEXT)),
    location=st.one_of(st.none(), _obj(city=OPT_TEXT, country=OPT_TEXT, countryCode=OPT_TEXT)),
    createdOn=st.one_of(st.integers(), TIMESTAMPS),  # never read: any shape is fine
    updatedOn=st.one_of(st.none(), TIMESTAMPS),
    primaryAssignment=st.one_of(st.none(), ASSIGNMENT),
    secondaryAssignments=st.one_of(st.none(), st.lists(ASSIGNMENT, max_size=3)),
)


@settings(max_examples=400, deadline=None)
@given(row=ROW, job_id=JOB_IDS, index=st.one_of(st.none(), st.integers(0, 99)))
def test_parse_candidate_equals_the_strict_path_for_generated_rows(row, job_id, index) -> None:
    _same_as_strict(row, job_id, index)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(range(len(ROWS))),
    edits=st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUES, st.booleans()), max_size=3),
)
def test_parse_candidate_equals_the_strict_path_for_altered_rows(base, edits) -> None:
    row = _edited(base, edits)
    _same_as_strict(row, _job_of(ROWS[base]))
    _same_as_strict(row, "not-this-one")


@pytest.mark.parametrize("path", PATHS, ids="/".join)
def test_parse_candidate_each_field_altered_alone(path) -> None:
    for base in (0, 1):
        job_id = _job_of(ROWS[base])
        _same_as_strict(_edited(base, [(path, None, True)]), job_id)
        for value in ODD_EXAMPLES:
            _same_as_strict(_edited(base, [(path, value, False)]), job_id)


def _job_of(row: dict[str, Any]) -> str:
    return str(row["primaryAssignment"]["job"]["id"])


def test_every_sandbox_row_takes_the_direct_path() -> None:
    """The speed-up is real for rows the way the API shows them; and still equal."""
    for index, row in enumerate(ROWS):
        jobs = [a["job"]["id"] for a in [row["primaryAssignment"], *row["secondaryAssignments"]]]
        for job_id in jobs:
            assert mapping._plain_listed_candidate(row, job_id) is not None, row["id"]
            _same_as_strict(row, job_id, index)
        _same_as_strict(row, "a-job-not-listed", index)  # the logged, unassigned case


@pytest.mark.parametrize(
    "row",
    [
        {"id": "c1"},
        {"id": "c1", "primaryAssignment": {"job": {"id": JOB}, "status": "LEAD"}},
        {"id": "c1", "primaryAssignment": {"job": {"id": JOB}, "status": "ZOMBIE"}},
        {
            "id": "c1",
            "primaryAssignment": {"job": {"id": "other"}, "status": "HIRED", "subStatus": "x"},
            "secondaryAssignments": [
                {"job": {"id": JOB}, "status": "INTERVIEW", "subStatus": ""},
                {"job": {"id": JOB}, "status": "HIRED", "subStatus": "second, never used"},
            ],
        },
        {  # a bad assignment after the one on the job still fails the row
            "id": "c1",
            "primaryAssignment": {"job": {"id": JOB}, "status": "NEW"},
            "secondaryAssignments": [{"job": {"id": 5}, "status": "NEW"}],
        },
        {
            "id": "c1",
            "web": {"linkedin": "", "linkedIn": "https://l/in/b"},
            "location": {"city": ""},
            "email": "",
            "phoneNumber": "",
            "updatedOn": "2026-11-20T08:00:00.000+01:00",
            "primaryAssignment": {"job": {"id": JOB}, "status": "NEW", "subStatus": None},
        },
        {
            "id": "c1",
            "web": {"linkedin": "https://l/in/a", "linkedIn": "https://l/in/b"},
            "updatedOn": "2026-11-20T08:00:00",
            "primaryAssignment": {"job": {"id": JOB}, "status": "NEW"},
        },
        {"id": "c1", "updatedOn": "2026-11-20T08:00:00.000Q", "primaryAssignment": None},
        {"id": "", "secondaryAssignments": [{"job": {"id": JOB}, "status": "OFFERED"}]},
    ],
)
def test_parse_candidate_documented_and_edge_shapes_equal_the_strict_path(row) -> None:
    _same_as_strict(row)
    _same_as_strict(row, index=None)


def test_the_direct_path_reads_linkedin_keys_in_the_order_linkedin_url_does() -> None:
    # _plain_listed_candidate spells the order out for speed; this pins it to the property's.
    assert mapping.LINKEDIN_KEYS_READ == ("linkedin", "linkedIn")
