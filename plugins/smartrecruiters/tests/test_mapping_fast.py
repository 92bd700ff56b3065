"""The candidate fast path builds exactly what the strict converter builds, or steps aside.

``_plain_candidate`` skips cattrs for rows whose fields all have the expected types; any
row it is unsure of goes to the converter, which names the bad field. So for every input:
either it returns None, or its result equals the converter's; and it never accepts a row
the converter refuses.
"""

from __future__ import annotations

import copy
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
