"""The listing fast path maps exactly what the strict readers map, or steps aside.

``opportunities_to_candidates`` maps a page through ``_plain_candidate`` and falls back to
``opportunity_to_candidate`` for any row the fast path is unsure of. So for every input:
``_plain_candidate`` either returns None or the very ``Candidate`` the strict path builds,
and never accepts a row the strict path refuses; and a whole page gives what mapping its
rows one by one with ``opportunity_to_candidate`` gives: the same candidates, or the same
``PayloadError`` for the first bad row.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from atsbridge.model import SandboxOptions
from atsbridge_lever import mapping
from atsbridge_lever import sandbox as lever_sandbox
from hypothesis import given, settings
from hypothesis import strategies as st

JOB = "job-on-the-listing"
STAGES = dict(lever_sandbox.STAGES)
REASONS = mapping.parse_archive_reasons(
    [{"id": i, "text": text, "type": kind} for i, text, kind in lever_sandbox.ARCHIVE_REASONS]
    + [
        {"id": "r-untyped-hired", "text": "Hired"},
        {"id": "r-empty", "text": ""},
        {"id": "r-withdrawn", "text": "Candidate withdrew", "type": "non-hired"},
    ]
)


def _rows() -> list[dict[str, Any]]:
    box = lever_sandbox.LeverSandbox(SandboxOptions(seed=11, jobs=6, candidates_per_job=8))
    opps = list(box.opportunities.values())
    # As a listing carries them: with expand=stage (what the hook asks for) and without.
    return [box._render(o, ["stage"]) for o in opps] + [box._render(o) for o in opps[:10]]


ROWS = _rows()


def _outcome(fn: Any) -> Any:
    try:
        result = fn()
    except mapping.PayloadError as exc:
        return ("PayloadError", exc.record, exc.field, exc.reason, str(exc))
    # repr too: == on aware datetimes ignores which offset they carry.
    return result, repr(result)


def _strict(raw: Any, index: int | None = 3, stages=STAGES, reasons=REASONS) -> Any:
    return _outcome(lambda: mapping.opportunity_to_candidate(raw, JOB, stages, reasons, index))


def _fast(raw: Any, stages=STAGES, reasons=REASONS) -> Any:
    return mapping._plain_candidate(copy.deepcopy(raw), JOB, stages, reasons, {}, {})


def _agrees(row: Any) -> None:
    fast = _fast(row)
    strict = _strict(copy.deepcopy(row))
    if strict[0] == "PayloadError":
        assert fast is None, row
    elif fast is not None:
        assert (fast, repr(fast)) == strict, row
    # And the page function, which the hook calls, gives what the strict path gives.
    page = _outcome(lambda: mapping.opportunities_to_candidates([row], JOB, STAGES, REASONS))
    expected = _outcome(lambda: [mapping.opportunity_to_candidate(row, JOB, STAGES, REASONS, 0)])
    assert page == expected, row


def test_every_sandbox_row_takes_the_fast_path_and_matches_the_strict_path() -> None:
    assert len(ROWS) >= 50
    assert any(r["archived"] for r in ROWS) and any(not r["archived"] for r in ROWS)
    for row in ROWS:
        fast = _fast(row)
        assert fast is not None, row["id"]
        assert (fast, repr(fast)) == _strict(row), row["id"]


def test_a_sandbox_page_maps_as_row_by_row() -> None:
    page = mapping.opportunities_to_candidates(copy.deepcopy(ROWS), JOB, STAGES, REASONS)
    strict = [
        mapping.opportunity_to_candidate(r, JOB, STAGES, REASONS, i) for i, r in enumerate(ROWS)
    ]
    assert (page, repr(page)) == (strict, repr(strict))


def test_documented_shapes_match_the_strict_path() -> None:
    sparse = {"id": "o1", "contact": "c1"}
    assert _fast(sparse) is not None
    _agrees(sparse)
    nulls = {k: None for k in ("name", "stage", "archived", "phones", "emails", "links")}
    row = {"id": "o2", "contact": "c2", **nulls, "location": None, "updatedAt": None}
    assert _fast(row) is not None
    _agrees(row)
    spaced = {"id": "o3", "contact": "c3", "name": "  Ana  Maria  Lopez ", "location": " , x"}
    assert _fast(spaced) is not None
    _agrees(spaced)
    for stage in ("offer", "", "unknown-stage", {"id": "offer", "text": ""}, {"id": "u9"}):
        _agrees({"id": "o4", "contact": "c4", "stage": stage})
    for reason in (None, "", "r-untyped-hired", "r-empty", "r-withdrawn", "nope"):
        _agrees({"id": "o5", "contact": "c5", "stage": "offer", "archived": {"reason": reason}})


ODD_EXAMPLES = [
    None,
    0,
    -1,
    7,
    1.5,
    float("nan"),
    mapping._MAX_MS + 1,
    True,
    "",
    " ",
    "x",
    "offer",
    "Hired",
    "https://LinkedIn.com/in/x",
    [None],
    ["a", 3],
    [{"value": "+1"}],
    {},
    {"id": 7},
    {"id": "offer", "text": 3},
    {"reason": 5},
]
ODD_VALUES = st.one_of(
    st.sampled_from(ODD_EXAMPLES),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.text(max_size=6),
    st.lists(st.one_of(st.none(), st.text(max_size=4), st.just({"value": "+4"})), max_size=3),
)
PATHS = [
    ("id",),
    ("contact",),
    ("name",),
    ("stage",),
    ("stage", "id"),
    ("stage", "text"),
    ("archived",),
    ("archived", "reason"),
    ("phones",),
    ("phones", 0),
    ("phones", 0, "value"),
    ("emails",),
    ("emails", 0),
    ("links",),
    ("links", 0),
    ("location",),
    ("updatedAt",),
]


def _edited(base: int, edits) -> dict[str, Any]:
    row = copy.deepcopy(ROWS[base])
    for path, value, delete in edits:
        target: Any = row
        for key in path[:-1]:
            if isinstance(target, dict):
                target = target.get(key)
            elif isinstance(target, list) and isinstance(key, int) and key < len(target):
                target = target[key]
            else:
                target = None
        last = path[-1]
        if isinstance(target, dict):
            if delete:
                target.pop(last, None)
            else:
                target[last] = value
        elif isinstance(target, list) and isinstance(last, int) and last < len(target):
            if delete:
                del target[last]
            else:
                target[last] = copy.deepcopy(value)
    return row


@pytest.mark.parametrize("path", PATHS, ids=lambda p: "/".join(map(str, p)))
def test_each_field_altered_alone(path) -> None:
    live = next(i for i, r in enumerate(ROWS) if not r["archived"])
    archived = next(i for i, r in enumerate(ROWS) if r["archived"])
    for base in (live, archived):
        _agrees(_edited(base, [(path, None, True)]))
        for value in ODD_EXAMPLES:
            _agrees(_edited(base, [(path, value, False)]))


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(range(len(ROWS))),
    edits=st.lists(st.tuples(st.sampled_from(PATHS), ODD_VALUES, st.booleans()), max_size=3),
)
def test_an_altered_row_is_either_left_to_the_strict_path_or_built_the_same(base, edits) -> None:
    _agrees(_edited(base, edits))


OPT_TEXT = st.one_of(st.none(), st.just(""), st.text(max_size=8))
STAGE_IDS = st.sampled_from([*STAGES, "custom-stage", ""])
WELL_FORMED = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=4), "contact": st.text(min_size=1, max_size=4)},
    optional={
        "name": OPT_TEXT,
        "stage": st.one_of(
            st.none(),
            STAGE_IDS,
            st.fixed_dictionaries({"id": STAGE_IDS.filter(bool)}, optional={"text": OPT_TEXT}),
        ),
        "archived": st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {}, optional={"reason": st.one_of(st.none(), st.sampled_from([*REASONS, "", "x"]))}
            ),
        ),
        "phones": st.one_of(
            st.none(),
            st.lists(st.fixed_dictionaries({}, optional={"value": OPT_TEXT}), max_size=3),
        ),
        "emails": st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=3)),
        "links": st.one_of(
            st.none(),
            st.lists(
                st.one_of(
                    st.text(max_size=5),
                    st.sampled_from(["https://www.LINKEDIN.com/in/a", "linkedin.com/x", "b"]),
                ),
                max_size=3,
            ),
        ),
        "location": OPT_TEXT,
        "updatedAt": st.one_of(
            st.none(),
            st.integers(min_value=0, max_value=mapping._MAX_MS),
            st.floats(min_value=0, max_value=mapping._MAX_MS),
        ),
    },
)


@settings(max_examples=400, deadline=None)
@given(WELL_FORMED)
def test_a_generated_row_maps_the_same(row) -> None:
    _agrees(row)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(WELL_FORMED, st.sampled_from(ROWS)), max_size=8))
def test_a_page_maps_the_same_whatever_its_rows_share(rows) -> None:
    # The per-page status caches must not carry one row's stage or reason to another.
    for stages in (STAGES, {}):
        page = _outcome(lambda s=stages: mapping.opportunities_to_candidates(rows, JOB, s, REASONS))
        strict = _outcome(
            lambda s=stages: [
                mapping.opportunity_to_candidate(r, JOB, s, REASONS, i) for i, r in enumerate(rows)
            ]
        )
        assert page == strict


@pytest.mark.parametrize("raw", [None, [], "x", 5, {"id": None}, {"id": "o"}, {"contact": "c"}])
def test_rows_that_are_not_opportunities_still_fail_naming_the_record(raw) -> None:
    assert _fast(raw) is None
    with pytest.raises(mapping.PayloadError) as err:
        mapping.opportunities_to_candidates([ROWS[0], raw], JOB, STAGES, REASONS)
    assert err.value.record.startswith("opportunity")
    assert _outcome(
        lambda: mapping.opportunities_to_candidates([ROWS[0], raw], JOB, STAGES, REASONS)
    ) == _strict(raw, index=1)
