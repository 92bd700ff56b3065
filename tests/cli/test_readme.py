"""The README: its first two commands stay at the top, and its "Using it" journey runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def _sh_blocks(text: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", text, flags=re.S)


def test_the_first_commands_are_demo_and_test() -> None:
    first = _sh_blocks(README)[0].splitlines()
    assert first[0].startswith("python3 dev.py demo ")
    assert first[1].startswith("python3 dev.py test ")


def test_readme_says_how_to_run_without_postgresql() -> None:
    assert "PostgreSQL" in README and '-m "not postgres"' in README and "CI=true" in README


@pytest.mark.slow
def test_using_it_starts_from_the_sandbox_and_every_command_runs(tmp_path: Path) -> None:
    blocks = _sh_blocks(_section("Using it"))
    script = "\n".join(blocks)
    commands = [c for c in script.splitlines() if ".venv/bin/atsbridge" in c]
    assert "atsbridge sandbox " in commands[0]
    verbs = " ".join(commands)
    steps = ("connect", "sync", "jobs search", "jobs import", "cnts list", "leads push")
    for step in (*steps, "sandbox-ctl close", "jobs list"):
        assert f"atsbridge {step} " in verbs, step
    bin_dir = Path(sys.executable).parent
    script = script.replace(".venv/bin/", f"{bin_dir}/")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATSBRIDGE_")}
    env["ATSBRIDGE_HOME"] = str(tmp_path / "home")
    # set -e: any command of the journey that fails fails the test; the trap stops the
    # sandbox if the script dies before its own `kill %1`.
    wrapped = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script
    done = subprocess.run(
        ["bash", "-c", wrapped],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "authenticated and stored" in out  # connect
    assert "pj-1" in out  # import and the lists of the product job
    # closed in the sandbox with sandbox-ctl, then `jobs list` after the sync shows it closed
    assert "closed lever job " in out
    rows = [line for line in out.splitlines() if "pj-1" in line and "lever" in line]
    assert any(" closed " in row for row in rows), rows
    assert (tmp_path / "try.db").exists() and (tmp_path / "lead.schema.json").exists()
    assert "lever sandbox stopped" in (tmp_path / "sandbox.log").read_text()
