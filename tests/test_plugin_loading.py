"""Plugin loading: real installed distributions, broken ones, signature and version checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.hookspecs import hookimpl
from atsbridge.model import JobClosed
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner
from fakeats import FakeAts

GOOD_MODULE = """
from atsbridge.hookspecs import hookimpl
from atsbridge.model import Capability, PluginInfo

@hookimpl
def atsbridge_plugin_info():
    return PluginInfo(name="goodats", version="0.4.0", display_name="Good ATS",
                      capabilities={Capability.JOBS}, config_schema={"type": "object"},
                      setup_instructions="none needed")

def _unused(*args, **kwargs):
    raise AssertionError("not called in these tests")

@hookimpl
def atsbridge_open_session(config, context):
    return _unused()

@hookimpl
def atsbridge_search_jobs(session, query):
    return _unused()

@hookimpl
def atsbridge_list_candidates(session, query):
    return _unused()

@hookimpl
def atsbridge_job_statuses(session, job_ids):
    return _unused()

@hookimpl
def atsbridge_push_lead(session, job_id, lead, idempotency_key):
    return _unused()
"""

BROKEN_MODULE = "import atsbridge_no_such_dependency  # the import fails on purpose\n"


def _install(site: Path, dist: str, module: str, source: str) -> None:
    """Write a module and a minimal .dist-info that declares its entry point."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[atsbridge]\n{module} = {module}\n")


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "atsbridge-goodats", "goodats", GOOD_MODULE)
    _install(site, "atsbridge-brokenats", "brokenats", BROKEN_MODULE)
    monkeypatch.syspath_prepend(str(site))
    return site


def _ours(statuses: list) -> dict:
    return {s.name: s for s in statuses if s.name in ("goodats", "brokenats")}


def test_broken_installed_plugin_is_reported_and_others_load(site: Path) -> None:
    statuses = _ours(PluginRegistry.discover().statuses)
    assert statuses["goodats"].ok
    assert statuses["goodats"].distribution == "atsbridge-goodats"
    assert not statuses["brokenats"].ok
    assert "import failed: ModuleNotFoundError" in statuses["brokenats"].error
    assert "atsbridge_no_such_dependency" in statuses["brokenats"].error


def test_cli_plugins_json_lists_installed_plugins_in_a_fresh_process(site: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run(
        [sys.executable, "-m", "atsbridge.cli", "plugins", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["goodats"]["status"] == "ok"
    assert rows["goodats"]["version"] == "0.4.0"
    assert rows["goodats"]["capabilities"] == ["jobs"]
    assert rows["brokenats"]["status"] == "failed"
    assert "ModuleNotFoundError" in rows["brokenats"]["reason"]


def test_cli_plugins_table_shows_failure_reason(site: Path) -> None:
    result = CliRunner().invoke(cli, ["plugins"])
    assert result.exit_code == 0
    assert "goodats" in result.output
    assert "failed: import failed" in result.output


def test_allow_list_env(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATSBRIDGE_PLUGINS", "goodats, nothing-else")
    names = {s.name for s in PluginRegistry.discover().statuses}
    assert names == {"goodats"}


def test_deny_list_env(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATSBRIDGE_DISABLE_PLUGINS", "brokenats")
    statuses = _ours(PluginRegistry.discover().statuses)
    assert set(statuses) == {"goodats"}


def test_hook_signature_mismatch_is_refused() -> None:
    class WrongSignature(FakeAts):
        @hookimpl
        def atsbridge_search_jobs(self, session, query, page_number):  # type: ignore[override]
            return None

    reg = PluginRegistry()
    reg.register(WrongSignature(), "wrongats")
    status = reg.statuses[-1]
    assert not status.ok
    assert "hook signature mismatch" in status.error
    assert "page_number" in status.error
    assert reg.plugins == {}


def test_incompatible_core_version_is_refused() -> None:
    reg = PluginRegistry()
    reg.register(FakeAts(requires_core=">=99"), "futureats")
    assert reg.statuses[-1].error == "needs atsbridge core >=99, this is 0.1.0"
    assert "fakeats" not in reg.plugins


def test_missing_hooks_are_refused() -> None:
    class Partial:
        @hookimpl
        def atsbridge_plugin_info(self):  # pragma: no cover - never reached
            raise AssertionError

    reg = PluginRegistry()
    reg.register(Partial(), "partial")
    assert reg.statuses[-1].error.startswith("missing hooks: atsbridge_open_session")


def test_duplicate_name_is_refused() -> None:
    reg = PluginRegistry()
    reg.register(FakeAts(), "one")
    reg.register(FakeAts(), "two")
    assert [s.ok for s in reg.statuses] == [True, False]
    assert "duplicate plugin name 'fakeats'" in reg.statuses[1].error


def test_event_hooks_reach_every_plugin(registry: PluginRegistry) -> None:
    seen: list[object] = []

    class Observer:
        @hookimpl
        def atsbridge_job_closed(self, event):
            seen.append(event)

        @hookimpl
        def atsbridge_job_reopened(self, event):
            seen.append(event)

        @hookimpl
        def atsbridge_lead_exported(self, event):
            seen.append(event)

        @hookimpl
        def atsbridge_candidate_status_changed(self, event):
            seen.append(event)

    registry.pm.register(Observer())
    event = JobClosed(
        tenant="acme", ats="fakeats", ats_job_id="J1", product_job_id="P1", status_raw="closed"
    )
    registry.hook.atsbridge_job_closed(event=event)
    assert seen == [event]


def test_plugins_show(registry: PluginRegistry) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["plugins", "show", "fakeats"], obj=CliState(registry))
    assert result.exit_code == 0, result.output
    assert "Fake ATS (fakeats 1.2.3)" in result.output
    assert "Config fields" in result.output and "Example config" in result.output
    assert "Create an API key under Settings > API." in result.output
    result = runner.invoke(cli, ["plugins", "show", "fakeats", "--json"], obj=CliState(registry))
    data = json.loads(result.output)
    assert data["config_schema"]["properties"]["api_key"]["writeOnly"] is True
    assert data["config_schema"]["required"] == ["api_key", "account"]
    assert data["capabilities"] == ["jobs", "lead_push"]
    assert data["api_version"] == "v9"


def test_plugins_show_unknown_is_bad_input(registry: PluginRegistry) -> None:
    result = CliRunner().invoke(cli, ["plugins", "show", "nope"], obj=CliState(registry))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: no ATS plugin named 'nope' is installed (installed: fakeats)"
    ]


def test_sandbox_hook_is_callable_through_the_registry(registry: PluginRegistry) -> None:
    from atsbridge.model import SandboxOptions

    plugin = registry.get("fakeats")
    assert plugin.call("atsbridge_sandbox", options=SandboxOptions(seed=7)) == {"seed": 7}
