#!/usr/bin/env python3
"""Set up the workspace and run it: ``python3 dev.py demo`` or ``python3 dev.py test``.

Needs only Python 3.11+. Creates ``.venv`` inside the repository, installs core, sdk and
every plugin under plugins/ in editable mode plus the dev tools, at the versions pinned in
constraints.txt, and reinstalls only when a pyproject, requirements or constraints file changed
(a stamp file records their hash).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".atsbridge-installed"
# Exact tested versions of every third-party distribution; pip may install nothing else.
CONSTRAINTS = ROOT / "constraints.txt"


def distributions() -> list[Path]:
    plugins = sorted(p.parent for p in (ROOT / "plugins").glob("*/pyproject.toml"))
    return [ROOT / "core", ROOT / "sdk", *plugins]


def _fingerprint() -> str:
    digest = hashlib.sha256(sys.version.encode())
    files = [ROOT / "requirements-dev.txt", CONSTRAINTS]
    files += [d / "pyproject.toml" for d in distributions()]
    for f in files:
        digest.update(str(f.relative_to(ROOT)).encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()


def ensure_installed() -> None:
    # Kept although ruff's target is 3.11: this file is what an older Python runs first.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"atsbridge needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PY.exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("installing atsbridge and its plugins into .venv ...", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    editable = [arg for d in distributions() for arg in ("-e", str(d))]
    requirements = ["-r", str(ROOT / "requirements-dev.txt"), "-c", str(CONSTRAINTS)]
    subprocess.run([*pip, *requirements, *editable], check=True)
    STAMP.write_text(fingerprint)


def run(*cmd: str) -> int:
    print("$", " ".join(cmd), flush=True)
    return subprocess.call([str(BIN / cmd[0]), *cmd[1:]], cwd=ROOT)


def mypy_packages() -> list[str]:
    """The import packages to type-check: core, sdk and every plugin under plugins/.

    Found on disk, so a plugin just scaffolded with ``atsbridge plugin new`` is checked
    without editing the ``packages`` list in pyproject.toml.
    """
    found = (ROOT / "plugins").glob("*/src/atsbridge_*/__init__.py")
    plugins = sorted(p.parent.name for p in found)
    return ["atsbridge", "atsbridge_sdk", *plugins]


# The local quick lane: no PostgreSQL, no Chromium, no multi-second end-to-end runs.
FAST_MARKERS = "not slow and not browser and not postgres"


def test(extra: list[str]) -> int:
    if "--fast" in extra:
        extra = [arg for arg in extra if arg != "--fast"]
        extra = ["-m", FAST_MARKERS, *extra]
    code_dirs = ["core", "sdk", "plugins", "tests", "bench", "dev.py"]
    for step in (
        ("ruff", "check", *code_dirs),
        ("ruff", "format", "--check", *code_dirs),
        ("mypy", *(arg for package in mypy_packages() for arg in ("-p", package))),
    ):
        if run(*step) != 0:
            return 1
    workers = os.environ.get("ATSBRIDGE_TEST_WORKERS", "auto")
    return run("pytest", "-n", workers, *extra)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "setup"}:
        print(__doc__.strip())
        print("\nusage: python3 dev.py demo | test [--fast] [PYTEST ARGS] | setup", file=sys.stderr)
        return 2
    ensure_installed()
    if argv[0] == "demo":
        return run("atsbridge", "demo", *argv[1:])
    if argv[0] == "test":
        return test(argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
