"""``atsbridge sandbox ATS``: run a plugin's fake ATS on loopback until Ctrl-C.

It writes a ready connection config for the sandbox to a 0600 file and prints the file's
path and the URL, never the secret values themselves, so that

    atsbridge sandbox lever --port 8765 &
    atsbridge connect acme lever --config <the printed path>

works without a real ATS account.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any

import click

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
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(config, fh, indent=2)
    return path


@click.command()
@click.argument("ats")
@click.option("--port", type=click.IntRange(0, 65535), default=0, help="0 = any free port.")
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same data.")
@click.option("--jobs", type=click.IntRange(0, 100000), default=30, show_default=True)
@click.option(
    "--candidates",
    type=click.IntRange(0, 10000),
    default=5,
    show_default=True,
    help="Candidates per job.",
)
@click.option("--no-rate-limit", is_flag=True, help="Do not enforce the ATS's rate limits.")
@click.option(
    "--config-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the connection config (default: a temp file).",
)
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
) -> None:
    """Run ATS's fake server on 127.0.0.1 until Ctrl-C; writes a connection config file."""
    plugin = app.plugin(ats)
    options = SandboxOptions(
        seed=seed,
        jobs=jobs,
        candidates_per_job=candidates,
        port=port,
        rate_limited=not no_rate_limit,
    )
    try:
        server = start_sandbox(plugin, options)
    except OSError as exc:
        raise BadInput(f"--port: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    temp_dir: Path | None = None
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
        click.echo(f"{ats} sandbox listening on {server.url}")
        click.echo(f"connection config (contains credentials, mode 0600): {path}")
        click.echo(f"connect with: atsbridge connect TENANT {ats} --config {path}")
        click.echo("Ctrl-C stops it.")
        stop = threading.Event()
        previous = {
            s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stop.wait(0.5):
                pass
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    finally:
        server.stop()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
    click.echo(f"{ats} sandbox stopped")


def register(root: click.Group) -> None:
    root.add_command(sandbox)
