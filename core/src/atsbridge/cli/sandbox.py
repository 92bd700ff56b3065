"""``atsbridge sandbox ATS``: run a plugin's fake ATS on loopback until Ctrl-C.

It writes a ready connection config for the sandbox to a 0600 file and prints the file's
path and the URL, never the secret values themselves, so that

    atsbridge sandbox lever --port 8765 &
    atsbridge connect acme lever --config <the printed path>

works without a real ATS account.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click

from atsbridge.cli._output import emit_json
from atsbridge.cli._root import pass_app
from atsbridge.errors import AtsbridgeError, BadInput
from atsbridge.model import SandboxOptions
from atsbridge.sessions import call_hook


def start_sandbox(plugin: Any, options: SandboxOptions) -> Any:
    """Build and start a plugin's sandbox; AtsbridgeError when the plugin has none."""
    sandbox = call_hook(plugin, "atsbridge_sandbox", options=options)
    if sandbox is None or not callable(getattr(sandbox, "start", None)):
        raise AtsbridgeError(f"the {plugin.name} plugin has no sandbox (atsbridge_sandbox)")
    sandbox.start()
    return sandbox


def write_config(config: dict, directory: Path, name: str) -> Path:
    """Write ``config`` as JSON readable by the owner only; returns the path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    # Written aside and renamed: a script waiting for the file never reads half of it.
    partial = directory / f".{name}.json.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config, fh, indent=2)
    partial.replace(path)
    return path


# A seeded person costs a sandbox about 2-4 KB and 50 us to make: 200,000 people is about
# 1 GB and 15 s, plenty to try paging and progress; more is a mistake, not a test.
MAX_JOBS = 20_000
MAX_CANDIDATES = 1_000
MAX_PEOPLE = 200_000


def seed_progress(reporter: Callable[[str, int, int], None]) -> AbstractContextManager[None]:
    """The SDK's seeding progress hook; nothing for a sandbox built without the SDK."""
    try:
        from atsbridge_sdk.sandbox.seed import seed_progress as sdk_hook
    except ImportError:
        return contextlib.nullcontext()
    return sdk_hook(reporter)


def check_size(jobs: int, candidates: int) -> None:
    """BadInput (exit 2) naming --candidates when the world would be absurdly large."""
    if jobs * candidates > MAX_PEOPLE:
        raise BadInput(
            f"--candidates: {jobs:,} jobs x {candidates:,} candidates is {jobs * candidates:,} "
            f"people; a sandbox holds at most {MAX_PEOPLE:,} (lower --jobs or --candidates)"
        )


class SeedReporter:
    """Seeding progress on stderr: rewritten in place on a terminal, else a line per 10%."""

    def __init__(self, ats: str):
        self.ats = ats
        self.tty = sys.stderr.isatty()
        self._last: tuple[str, int] = ("", -1)

    def __call__(self, phase: str, done: int, total: int) -> None:
        step = 100 * done // max(total, 1)
        if not self.tty:
            step -= step % 10
        if (phase, step) == self._last:
            return
        self._last = (phase, step)
        line = f"seeding the {self.ats} sandbox: {phase} people, {done:,} of {total:,} ({step}%)"
        if self.tty:
            end = "\n" if phase == "loading" and done == total else ""
            click.echo(f"\r{line}", nl=False, err=True)
            if end:
                click.echo("", err=True)
        else:
            click.echo(line, err=True)


@click.command()
@click.argument("ats")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="0 = any free port.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@click.option(
    "--jobs", type=click.IntRange(0, MAX_JOBS), default=30, show_default=True, help="Jobs."
)
@click.option(
    "--candidates",
    type=click.IntRange(0, MAX_CANDIDATES),
    default=5,
    show_default=True,
    help=f"Candidates per job (jobs x candidates at most {MAX_PEOPLE:,}).",
)
@click.option("--no-rate-limit", is_flag=True, help="Do not enforce the ATS's rate limits.")
@click.option(
    "--config-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the connection config (default: a temp file).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_app
def sandbox(
    app: Any,
    ats: str,
    port: int,
    seed: int,
    jobs: int,
    candidates: int,
    no_rate_limit: bool,
    config_out: Path | None,
    as_json: bool,
) -> None:
    """Run ATS's fake server on 127.0.0.1 until Ctrl-C; writes a connection config file.

    Seeding shows progress on stderr. --json prints one object (ats, url, config_path,
    control: its control API, which `atsbridge sandbox-ctl` calls) on stdout once it listens.
    """
    check_size(jobs, candidates)
    plugin = app.plugin(ats)
    options = SandboxOptions(
        seed=seed,
        jobs=jobs,
        candidates_per_job=candidates,
        port=port,
        rate_limited=not no_rate_limit,
    )
    try:
        with seed_progress(SeedReporter(ats)):
            server = start_sandbox(plugin, options)
    except OSError as exc:
        raise BadInput(f"--port: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    temp_dir: Path | None = None
    # Installed before the "listening" line: a script may send Ctrl-C as soon as it reads it.
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        config = server.connection_config()
        if config_out is not None:
            path = write_config(config, config_out.parent, config_out.stem)
            if path != config_out:
                path.replace(config_out)
                path = config_out
        else:
            # Useless once the sandbox stops, so it goes away with it.
            temp_dir = Path(tempfile.mkdtemp(prefix="atsbridge-sandbox-"))
            path = write_config(config, temp_dir, ats)
        if as_json:
            control = f"{server.url}/_sandbox/"
            emit_json({"ats": ats, "url": server.url, "config_path": str(path), "control": control})
        else:
            click.echo(f"{ats} sandbox listening on {server.url}")
            click.echo(f"connection config (contains credentials, mode 0600): {path}")
            click.echo(f"connect with: atsbridge connect TENANT {ats} --config {path}")
            click.echo(f"close jobs, move candidates: atsbridge sandbox-ctl jobs --config {path}")
            click.echo("Ctrl-C stops it.")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
    if not as_json:
        click.echo(f"{ats} sandbox stopped")


def register(root: click.Group) -> None:
    root.add_command(sandbox)
