"""Where atsbridge keeps its files when nobody says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def data_dir() -> Path:
    """The user data directory; ``ATSBRIDGE_HOME`` overrides it (tests, containers)."""
    override = os.environ.get("ATSBRIDGE_HOME", "").strip()
    path = Path(override) if override else Path(platformdirs.user_data_dir("atsbridge"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'atsbridge.db'}"
