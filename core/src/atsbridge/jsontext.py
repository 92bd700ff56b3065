"""Parsing JSON the operator or the product hands us (configs, lead documents) into a
one-line ``BadInput`` for whatever the parser cannot take, never a traceback.

Besides syntax errors, Python's parser fails on documents that are valid JSON: nesting
deeper than the interpreter's recursion limit (``RecursionError``) and integers of more
than 4,300 digits (``ValueError``, CPython's guard against quadratic conversion). Nesting
is also capped well below the recursion limit (``MAX_DEPTH``), because what reads the
document afterwards (schema validation, deep copies) recurses too.
"""

from __future__ import annotations

import json
from typing import Any

from atsbridge.errors import BadInput

__all__ = ["MAX_DEPTH", "check_depth", "loads"]

MAX_DEPTH = 64  # far more than any config or lead document has


def loads(text: str | bytes, what: str) -> Any:
    """``text`` parsed; ``BadInput`` starting with ``what`` (e.g. ``--config``) if unusable."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        # exc.msg only describes the syntax; the document may hold secrets, so no excerpt.
        raise BadInput(
            f"{what}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise BadInput(f"{what}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        if "digits" in str(exc):
            raise BadInput(f"{what}: a number has more than 4,300 digits") from None
        raise BadInput(f"{what}: not valid JSON ({type(exc).__name__})") from None
    check_depth(value, what)
    return value


def check_depth(value: Any, what: str) -> None:
    """``BadInput`` when ``value`` (already parsed, e.g. by the HTTP layer) nests deeper
    than ``MAX_DEPTH``: what reads it next recurses."""
    if _depth_over(value, MAX_DEPTH):
        raise BadInput(f"{what}: nested deeper than {MAX_DEPTH} levels")


def _depth_over(value: Any, limit: int) -> bool:
    # Iterative: the point is not to recurse on hostile input.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
