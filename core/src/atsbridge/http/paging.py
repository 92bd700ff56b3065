"""Cursor paging: ``limit`` and an opaque ``next_cursor`` (None on the last page).

A cursor is base64url JSON of where the next page starts; clients must not build or parse
one. A malformed cursor is ``input.invalid`` on ``query.cursor``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query

from atsbridge.http.problems import ApiProblem

__all__ = ["Cursor", "Limit", "UpdatedAfter", "decode", "encode", "offset_of", "page_of"]

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[
    str | None, Query(max_length=500, description="next_cursor of the previous page")
]
UpdatedAfter = Annotated[
    datetime | None,
    Query(description="Only items updated strictly after this instant (ISO 8601, with zone)"),
]


def encode(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (binascii.Error, ValueError):
        position = None
    if not isinstance(position, dict):
        raise ApiProblem(
            422,
            "input.invalid",
            "query.cursor: not a cursor this API returned",
            errors=[{"field": "query.cursor", "message": "not a cursor this API returned"}],
        )
    return position


def offset_of(cursor: str | None) -> int:
    if cursor is None:
        return 0
    offset = decode(cursor).get("o")
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset < 2**31:
        decode("!")  # raises the same problem
    return int(offset)  # type: ignore[arg-type]


def check_aware(value: datetime | None, field: str = "query.updated_after") -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ApiProblem(
            422,
            "input.invalid",
            f"{field}: give a time zone (e.g. 2026-01-01T00:00:00Z)",
            errors=[{"field": field, "message": "give a time zone"}],
        )
    return value


def page_of(
    items: Sequence[T],
    cursor: str | None,
    limit: int,
    *,
    updated_after: datetime | None = None,
    updated: Callable[[T], datetime | None] | None = None,
) -> tuple[list[T], str | None]:
    """One page of an in-memory list (filtered on ``updated_after`` first)."""
    after = check_aware(updated_after)
    if after is not None and updated is not None:
        items = [i for i in items if (u := updated(i)) is not None and u > after]
    start = offset_of(cursor)
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    return page, encode({"o": start + limit}) if more else None
