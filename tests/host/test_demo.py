"""``atsbridge demo`` tells the whole story over every installed plugin, and cleans up."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from atsbridge.cli import cli
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner

PLUGINS = sorted(PluginRegistry.discover().plugins)


def _demo_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("atsbridge-demo-*"))


def test_demo_runs_every_step_for_every_plugin(monkeypatch) -> None:
    assert {"greenhouse", "lever", "smartrecruiters", "workday"} <= set(PLUGINS)
    monkeypatch.setenv("ATSBRIDGE_DB", "sqlite:////nonexistent/never-used.db")
    before = _demo_dirs()
    result = CliRunner().invoke(cli, ["demo"])
    out = result.output
    assert result.exit_code == 0, out
    assert "not available" not in out
    assert f"Started {len(PLUGINS)} fake ATSs" in out
    for ats in PLUGINS:
        assert f"Connected demo/{ats}: credentials checked, secrets encrypted at rest." in out
        assert re.search(rf"  {ats}: \d+ jobs mirrored", out)
        assert re.search(rf"Searched {ats} for .*imported as product job demo-{ats}\.", out)
        assert re.search(rf"Do-not-source list of demo-{ats}: [1-9]\d* people", out)
        assert re.search(rf"Exported lead Ada Quinton with a resume to {ats}: candidate \S+", out)
        assert "(the ATS holds the resume)" in out
        assert re.search(rf"Closed job .* in {ats}: the status check marked demo-{ats} closed", out)
        assert re.search(
            rf"Moved Ada to interviewing in {ats}: the lead now reads interviewing.*"
            rf"funnel of demo-{ats}: interviewing 1\.",
            out,
        )
    assert re.search(r"Done in \d+\.\ds: .*Stopped the sandboxes and removed the temporary", out)
    assert _demo_dirs() == before  # its temporary directory is gone
    for ats in PLUGINS:  # no credential of the sandboxes' kind is printed
        for secret in _sandbox_secrets(ats):
            assert secret not in out


def _sandbox_secrets(ats: str) -> list[str]:
    from atsbridge.demo import CANDIDATES, JOBS, SEED
    from atsbridge.model import SandboxOptions
    from atsbridge.secrets import get_path, secret_paths

    plugin = PluginRegistry.discover().plugins[ats]
    options = SandboxOptions(seed=SEED, jobs=JOBS, candidates_per_job=CANDIDATES)
    with plugin.call("atsbridge_sandbox", options=options) as sandbox:
        config = sandbox.connection_config()
    values = [get_path(config, p) for p in secret_paths(plugin.info.config_schema)]
    found = [v for v in values if isinstance(v, str) and len(v) >= 6]
    assert found, f"{ats}: the sandbox config has no secret to look for"
    return found


def test_demo_says_which_step_is_missing(monkeypatch) -> None:
    """A plugin without a sandbox is named with the reason; the others still run."""
    registry = PluginRegistry.discover()
    plugin = registry.plugins["lever"]
    original = plugin.call

    def no_sandbox(hook: str, **kwargs):
        if hook == "atsbridge_sandbox":
            return None
        return original(hook, **kwargs)

    monkeypatch.setattr(plugin, "call", no_sandbox)
    from atsbridge.cli._root import CliState

    result = CliRunner().invoke(cli, ["demo"], obj=CliState(registry=registry))
    assert result.exit_code == 1
    assert "! lever: sandbox not available: the plugin has no sandbox" in result.output
    assert "Exported lead Ada Quinton with a resume to greenhouse" in result.output
    assert "1 step(s) were not available." in result.output
