"""``atsbridge plugin new``: runtime dependencies only, installed names refused, usable hints."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import sys
from pathlib import Path

from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]

# Runs the CLI in a Python where the SDK's test extra (pytest, hypothesis) cannot be
# imported, as for a plugin author who installed only ``atsbridge-sdk``.
WITHOUT_TEST_EXTRA = """
import sys
for name in ("pytest", "hypothesis", "_pytest"):
    sys.modules[name] = None
from atsbridge.cli import cli
cli.main(sys.argv[1:], prog_name="atsbridge")
"""


def test_plugin_new_needs_only_the_runtime_dependencies(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            WITHOUT_TEST_EXTRA,
            "plugin",
            "new",
            "acme_hire",
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "acme_hire" / "src" / "atsbridge_acme_hire" / "plugin.py").exists()


def test_plugin_new_refuses_the_name_of_an_installed_plugin(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plugin", "new", "lever", "--dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        "error: plugin name 'lever': a plugin of that name is installed (atsbridge-lever); "
        "choose another name"
    )
    assert not (tmp_path / "lever").exists()


def test_plugin_new_refuses_an_injected_plugin_name(registry: PluginRegistry, tmp_path) -> None:
    result = CliRunner().invoke(
        cli, ["plugin", "new", "fakeats", "--dir", str(tmp_path)], obj=CliState(registry)
    )
    assert result.exit_code == 2
    assert "a plugin of that name is installed (atsbridge-fakeats)" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_next_hint_uses_the_running_interpreter(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["plugin", "new", "acme_hire", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    root = tmp_path / "acme_hire"
    python = shlex.quote(sys.executable)
    assert result.stdout.splitlines()[-1] == (
        f"next: {python} -m pip install -e {shlex.quote(str(root))}[test] && "
        f"{python} -m pytest {shlex.quote(str(root / 'tests'))}"
    )


def test_dev_py_type_checks_every_plugin_on_disk(tmp_path: Path, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    package = tmp_path / "plugins" / "acme_hire" / "src" / "atsbridge_acme_hire"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (tmp_path / "plugins" / "acme_hire" / "src" / "atsbridge_acme_hire.egg-info").mkdir()
    monkeypatch.setattr(dev, "ROOT", tmp_path)
    assert dev.mypy_packages() == ["atsbridge", "atsbridge_sdk", "atsbridge_acme_hire"]
    monkeypatch.setattr(dev, "ROOT", ROOT)
    real = dev.mypy_packages()
    assert {"atsbridge_lever", "atsbridge_greenhouse"} <= set(real)
