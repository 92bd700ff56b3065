"""``atsbridge serve``: the product HTTP API (FastAPI on uvicorn)."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import timedelta
from typing import Any

import click

from atsbridge.cli._root import app_from
from atsbridge.cli._webhook_options import webhook_delivery_options
from atsbridge.host import logs as host_logs


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8700,
    show_default=True,
    help="Port to listen on (0: any free one, printed on stderr).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object per line. Every request logs one line with its request id.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@webhook_delivery_options
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    log_format: str,
    log_level: str,
    deliver_webhooks: bool,
    webhook_claim_seconds: float,
) -> None:
    """Serve the /v1 API, /openapi.json and the docs (/docs, /redoc) until SIGTERM or Ctrl-C.

    Keys: `atsbridge api-keys create`. The server keeps nothing of its own: run as many
    as you like on one PostgreSQL database behind a load balancer. Webhook deliveries are
    claimed in the database with a lease, so each is sent by one of them.
    """
    from atsbridge.events.delivery import DeliveryPolicy, DeliveryThread
    from atsbridge.http.server import ApiServer

    app = app_from(ctx)
    host_logs.configure(log_format, getattr(logging, log_level.upper()), f"api:{port}")
    app.store  # noqa: B018 (open and migrate the database before listening)
    server = ApiServer(app, host, port)
    policy = DeliveryPolicy(lease=timedelta(seconds=webhook_claim_seconds))
    deliveries = DeliveryThread(app, policy=policy) if deliver_webhooks else None
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        logging.getLogger("atsbridge.http").info("received %s", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        if deliveries is not None:
            deliveries.start()
        # Tests and scripts learn the port (0 = any free one) from this line.
        click.echo(f"api: {server.url}  (docs: {server.url}/docs)", err=True)
        while not stop.wait(0.5):
            if not server.is_running():
                break
    finally:
        server.stop()
        if deliveries is not None:
            deliveries.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def register(root: click.Group) -> None:
    root.add_command(serve)
