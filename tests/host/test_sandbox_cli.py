"""``atsbridge sandbox ATS``: serves until interrupted, writes a usable config, prints no secret."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

from atsbridge.plugins import PluginRegistry
from atsbridge.secrets import get_path, secret_paths
from click.testing import CliRunner


def test_sandbox_serves_and_writes_a_private_config(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "atsbridge.cli", "sandbox", "lever", "--jobs", "3", "--seed", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        lines = [proc.stdout.readline() for _ in range(4)]
        url = lines[0].rsplit(" ", 1)[1].strip()
        path = Path(lines[1].rsplit(" ", 1)[1].strip())
        assert url.startswith("http://127.0.0.1:")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        config = json.loads(path.read_text())
        schema = PluginRegistry.discover().get("lever").info.config_schema
        secrets = [get_path(config, p) for p in secret_paths(schema)]
        secrets = [s for s in secrets if isinstance(s, str)]
        assert secrets and not any(s in "".join(lines) for s in secrets)
        db = f"sqlite:///{tmp_path / 's.db'}"
        connected = subprocess.run(
            [
                sys.executable,
                "-m",
                "atsbridge.cli",
                "--db",
                db,
                "connect",
                "acme",
                "lever",
                "--config",
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ},
        )
        assert connected.returncode == 0, connected.stderr
        assert "authenticated and stored" in connected.stdout
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert "lever sandbox stopped" in out
        assert not path.exists()  # the temporary config went away with the sandbox
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sandbox_of_an_unknown_ats_is_bad_input() -> None:
    from atsbridge.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "nosuchats"])
    assert result.exit_code == 2, result.output
