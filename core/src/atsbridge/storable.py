"""Text every database can store: no NUL, no lone surrogates, ids within 255 characters.

SQLite stores such text, PostgreSQL refuses it with a ``DataError`` (NUL), and a lone
surrogate (``"\\ud800"``) cannot even be encoded to UTF-8 for an ATS request or a listing. So
every entry point checks text before it is stored: configs, lead documents and their file
names, imported cells (one-line problems naming the field), and records read from an ATS
(``atsbridge.services.jobs`` skips an unstorable one with a warning instead of failing its
page).
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_ID", "text_problem", "tree_problems"]

MAX_ID = 255  # the width of every id column


def text_problem(value: str, *, max_length: int | None = None) -> str | None:
    """Why ``value`` cannot be stored as text (one line, never quoting it), or None."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (it holds a lone surrogate)"
    if max_length is not None and len(value) > max_length:
        return f"must be at most {max_length} characters"
    return None


def tree_problems(node: Any, where: str) -> list[str]:
    """``path: reason`` for every unstorable string (keys included) in a JSON-like tree."""
    problems: list[str] = []
    if isinstance(node, str):
        reason = text_problem(node)
        if reason:
            problems.append(f"{where}: {reason}")
    elif isinstance(node, dict):
        for key, value in node.items():
            name = str(key)
            if text_problem(name):
                problems.append(f"{where}: a field name {text_problem(name)}")
                continue
            problems.extend(tree_problems(value, f"{where}.{name}"))
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            problems.extend(tree_problems(value, f"{where}[{i}]"))
    return problems
