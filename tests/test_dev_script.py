"""dev.py's test lanes: what `python3 dev.py test` and `test --fast` hand to pytest."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pytest_args(monkeypatch: pytest.MonkeyPatch, extra: list[str]) -> list[str]:
    dev = _dev()
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(dev, "run", lambda *cmd: calls.append(cmd) or 0)
    monkeypatch.setenv("ATSBRIDGE_TEST_WORKERS", "2")
    assert dev.test(extra) == 0
    assert [c[0] for c in calls] == ["ruff", "ruff", "mypy", "pytest"]
    return list(calls[-1][1:])


def test_the_whole_suite_lane_selects_every_test(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _pytest_args(monkeypatch, ["-x"]) == ["-n", "2", "-x"]


def test_the_fast_lane_leaves_out_postgres_browser_and_slow_tests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = _pytest_args(monkeypatch, ["--fast", "-x"])
    assert args == ["-n", "2", "-m", "not slow and not browser and not postgres", "-x"]


def test_lint_failure_stops_before_pytest(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = _dev()
    calls: list[str] = []
    monkeypatch.setattr(
        dev, "run", lambda *cmd: calls.append(cmd[0]) or (1 if cmd[0] == "mypy" else 0)
    )
    assert dev.test(["--fast"]) == 1
    assert calls == ["ruff", "ruff", "mypy"]
