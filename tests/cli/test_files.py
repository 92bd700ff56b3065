"""Files the CLI creates that hold personal data are readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_database_and_its_wal_are_created_0600(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    db = tmp_path / "data" / "atsbridge.db"
    result = CliRunner().invoke(
        cli, ["--db", f"sqlite:///{db}", "db", "upgrade"], obj=CliState(registry)
    )
    assert result.exit_code == 0, result.output
    assert _mode(db) == 0o600
    for extra in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        if extra.exists():
            assert _mode(extra) == 0o600, extra


def test_default_database_in_the_data_dir_is_0600(
    registry: PluginRegistry, isolated_env: Path
) -> None:
    result = CliRunner().invoke(cli, ["connections"], obj=CliState(registry))
    assert result.exit_code == 0, result.output
    assert _mode(isolated_env / "atsbridge.db") == 0o600
