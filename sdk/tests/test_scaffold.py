"""A freshly scaffolded plugin is complete, lint-clean, loadable through its entry point,
and passes the contract kit unmodified."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from atsbridge.errors import BadInput
from atsbridge.plugins import PluginRegistry
from atsbridge_sdk.scaffold import create_plugin

REPO = Path(__file__).resolve().parents[2]
NAME = "acme_hire"


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    return create_plugin(NAME, tmp_path)


def test_writes_a_complete_plugin(scaffold: Path):
    files = {p.relative_to(scaffold).as_posix() for p in scaffold.rglob("*") if p.is_file()}
    package = f"src/atsbridge_{NAME}"
    assert {
        "pyproject.toml",
        "README.md",
        f"{package}/__init__.py",
        f"{package}/plugin.py",
        f"{package}/client.py",
        f"{package}/mapping.py",
        f"{package}/sandbox.py",
        f"{package}/config.schema.json",
        f"{package}/setup.md",
        "tests/test_contract.py",
        "tests/test_mapping.py",
    } <= files
    project = tomllib.loads((scaffold / "pyproject.toml").read_text())["project"]
    assert project["name"] == "atsbridge-acme-hire"
    assert project["entry-points"]["atsbridge"] == {NAME: f"atsbridge_{NAME}.plugin"}
    code = "".join(p.read_text() for p in (scaffold / package).glob("*.py"))
    assert "atsbridge_sdk.contract.example" not in code
    assert "Example" not in code and "AcmeHireSession" in code and "AcmeHireSandbox" in code
    assert 'NAME = "acme_hire"' in code
    assert "ContractSuite" in (scaffold / "tests" / "test_contract.py").read_text()


def test_generated_code_passes_the_repository_lint(scaffold: Path):
    config = REPO / "pyproject.toml"
    for args in (["check"], ["format", "--check"]):
        run = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--config", str(config), str(scaffold)],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout + run.stderr


def test_core_loads_it_through_its_entry_point(scaffold: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(scaffold / "src"))
    entry = EntryPoint(NAME, f"atsbridge_{NAME}.plugin", "atsbridge")
    registry = PluginRegistry.discover([entry])
    assert [s.error for s in registry.statuses] == [None]
    assert registry.get(NAME).info.display_name == "Acme Hire ATS"


def test_passes_the_contract_kit_unmodified(scaffold: Path, pytester, monkeypatch):
    monkeypatch.syspath_prepend(str(scaffold / "src"))
    result = pytester.runpytest(str(scaffold / "tests"), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=23)


def test_installs_as_a_distribution_found_without_registration(scaffold: Path, tmp_path: Path):
    """pip-install the scaffold (offline, with the venv's setuptools) into a fresh target,
    then, in a process that sees only that install, discover it and run its tests."""
    site = tmp_path / "site"
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(scaffold),
        ],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    package = site / f"atsbridge_{NAME}"
    assert (package / "config.schema.json").is_file() and (package / "setup.md").is_file()
    env = {**os.environ, "PYTHONPATH": str(site)}
    discover = (
        "from atsbridge.plugins import PluginRegistry\n"
        "r = PluginRegistry.discover()\n"
        f"s = [x for x in r.statuses if x.name == {NAME!r}]\n"
        "assert s and s[0].ok, s\n"
        f"import atsbridge_{NAME}\n"
        f"assert atsbridge_{NAME}.__file__.startswith({str(site)!r}), atsbridge_{NAME}.__file__\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", discover], env=env, capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "--rootdir",
            str(scaffold),
            str(scaffold / "tests"),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert tests.returncode == 0, tests.stdout[-2000:] + tests.stderr[-2000:]
    assert "23 passed" in tests.stdout


@pytest.mark.parametrize("bad", ["", "Acme", "1acme", "acme-hire", "acme__hire", "a" * 41, "acme_"])
def test_rejects_bad_names(bad, tmp_path):
    with pytest.raises(BadInput, match="plugin name"):
        create_plugin(bad, tmp_path)


def test_refuses_to_overwrite(tmp_path):
    (tmp_path / NAME).mkdir()
    (tmp_path / NAME / "keep.txt").write_text("mine")
    with pytest.raises(BadInput, match="already exists"):
        create_plugin(NAME, tmp_path)
    assert (tmp_path / NAME / "keep.txt").read_text() == "mine"


def test_cli_plugin_new(tmp_path):
    from atsbridge.cli import cli
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["plugin", "new", NAME, "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / NAME / "pyproject.toml").exists()
    assert f"created {tmp_path / NAME}" in result.output

    again = CliRunner().invoke(cli, ["plugin", "new", NAME, "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_cli_plugin_new_without_the_sdk(tmp_path, monkeypatch):
    from atsbridge.cli import cli
    from click.testing import CliRunner

    monkeypatch.setitem(sys.modules, "atsbridge_sdk.scaffold", None)  # import now fails
    result = CliRunner().invoke(cli, ["plugin", "new", NAME, "--dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "needs the SDK: pip install atsbridge-sdk" in result.output
