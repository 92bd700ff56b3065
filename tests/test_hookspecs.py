"""The plugin contract stays documented and tested (after Datasette's hook checks)."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from atsbridge import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("atsbridge_")
)


def test_hooks_exist() -> None:
    assert set(hookspecs.REQUIRED_HOOKS) <= set(HOOKS)
    assert len(HOOKS) >= 11


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert len(doc) > 40, f"{hook} needs a docstring explaining its contract"


def _test_sources() -> str:
    files = [
        *ROOT.glob("tests/**/test_*.py"),
        *ROOT.glob("sdk/tests/**/test_*.py"),
        *ROOT.glob("plugins/*/tests/**/test_*.py"),
    ]
    this = Path(__file__).resolve()
    return "\n".join(f.read_text(encoding="utf-8") for f in files if f.resolve() != this)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook: str) -> None:
    assert hook in _test_sources(), f"no test file mentions {hook}"
