"""A product's webhook receiver on loopback (port 0) that checks every Standard Webhooks
signature and counts what arrives, by ``webhook-id`` (and by path, for several endpoints)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from atsbridge.events.signing import SignatureError, verify


class Receiver:
    """``status`` is what it answers (set 503 to play a receiver that is down); ``hold`` an
    optional event each request waits on before answering (to be caught mid-delivery).

    Several endpoints may point at one receiver, each at its own path (``url_for(name)``)
    with its own secret (``secrets[name]``); a path without one is checked with ``secret``.
    ``on_arrival(name, webhook_id)`` runs for each verified request before it is answered.
    """

    def __init__(self, secret: str = "", now: Callable[[], float] = time.time):
        self.secret = secret
        self.now = now
        self.status = 200
        self.hold: threading.Event | None = None
        self.lock = threading.Lock()
        self.accepted: list[tuple[str, dict[str, Any]]] = []  # answered 2xx, verified
        self.arrived: list[str] = []  # every verified request's webhook-id
        self.refused: list[str] = []  # bad signatures
        self.on_request: Callable[[str], None] | None = None
        self.secrets: dict[str, str] = {}
        self.by_path: list[tuple[str, str]] = []  # (name, webhook-id) answered 2xx, verified
        self.on_arrival: Callable[[str, str], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                name = self.path.removeprefix("/hooks").strip("/")
                secret = receiver.secrets.get(name, receiver.secret)
                try:
                    webhook_id = verify(secret, headers, body, now=receiver.now())
                except SignatureError as exc:
                    with receiver.lock:
                        receiver.refused.append(str(exc))
                    self._answer(401)
                    return
                with receiver.lock:
                    receiver.arrived.append(webhook_id)
                    status = receiver.status
                if receiver.on_request is not None:
                    receiver.on_request(webhook_id)
                if receiver.on_arrival is not None:
                    receiver.on_arrival(name, webhook_id)
                if receiver.hold is not None:
                    receiver.hold.wait(30)
                if 200 <= status < 300:
                    with receiver.lock:
                        receiver.accepted.append((webhook_id, json.loads(body)))
                        receiver.by_path.append((name, webhook_id))
                self._answer(status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def url_for(self, name: str) -> str:
        return f"{self.url}/{name}"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def ids(self) -> list[str]:
        with self.lock:
            return [webhook_id for webhook_id, _ in self.accepted]

    def ids_at(self, name: str) -> list[str]:
        """The webhook-ids the endpoint at ``url_for(name)`` had accepted, in arrival order."""
        with self.lock:
            return [webhook_id for path, webhook_id in self.by_path if path == name]

    def counts(self) -> Counter[str]:
        return Counter(self.ids())
