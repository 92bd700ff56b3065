"""The world of the browser tests: the real API server (uvicorn on a loopback port 0) over
SQLite with the installed plugins, a SmartRecruiters sandbox on loopback, a staff user, an
admin API key, and "product" pages served from other origins to embed the console.

Both servers answer on 127.0.0.1 only: nothing leaves loopback.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs
import httpx
from atsbridge.api import Atsbridge
from atsbridge.console.users import ConsoleUserService
from atsbridge.http.server import ApiServer
from atsbridge.model import RateLimit, SandboxOptions
from atsbridge.plugins import PluginRegistry

__all__ = ["ATS", "PASSWORD", "Console", "ProductSite", "SyncGate", "console_world"]

PASSWORD = "correct horse battery"
ATS = "smartrecruiters"
# The sandbox does not rate-limit; the plugin's own pacing would only slow the tests down.
_FAST = RateLimit(requests_per_second=500.0, burst=100, max_concurrency=4)


class SyncGate:
    """Holds the sandbox's job listing pages (not the one-job credential probe) until opened.

    A page can then be seen while its sync is running, and again after it ended, without
    depending on how fast the machine is.
    """

    def __init__(self) -> None:
        self.closed = False
        self._open = threading.Event()
        self.held = threading.Event()  # set once a listing request is waiting

    def close(self) -> None:
        self.closed = True
        self._open.clear()

    def open(self) -> None:
        self.closed = False
        self._open.set()

    def wrap(self, dispatch: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def gated(request: Any) -> Any:
            listing = request.method == "GET" and request.path == "/jobs"
            if self.closed and listing and request.arg("limit") != "1":
                self.held.set()
                # Bounded: a test that forgets to open the gate fails, it does not hang.
                self._open.wait(30)
            return dispatch(request)

        return gated


@attrs.define
class Console:
    """The running console: its base URL, the facade behind it, the sandbox and a key."""

    url: str
    app: Atsbridge
    sandbox: Any
    admin_key: str
    gate: SyncGate
    server: ApiServer

    def grant(self, tenant: str, **body: Any) -> str:
        """A one-time embedded console URL (absolute) from the API, as the product asks."""
        response = httpx.post(
            f"{self.url}/v1/tenants/{tenant}/console-sessions",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_key}"},
        )
        assert response.status_code == 201, response.text
        return f"{self.url}{response.json()['url']}"

    def connect(self, tenant: str) -> None:
        """Connect ``tenant`` to the sandbox and sync its jobs (outside the browser)."""
        self.app.connections.connect(tenant, ATS, self.sandbox.connection_config())
        self.app.jobs.sync(tenant, ATS)


class ProductSite:
    """A product's pages on another origin (its own loopback port): ``page(html)`` -> URL."""

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def page(self, html: str, path: str = "/app") -> str:
        self.pages[path] = html.encode()
        return f"{self.origin}{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def console_world(tmp_path: Path) -> Iterator[Console]:
    """The console on a loopback port (``frame-ancestors`` from the environment, as served)."""
    registry = PluginRegistry.discover()
    plugin = registry.get(ATS)
    plugin.info = attrs.evolve(plugin.info, rate_limit=_FAST)
    options = SandboxOptions(seed=7, jobs=12, candidates_per_job=2, rate_limited=False)
    sandbox = plugin.call("atsbridge_sandbox", options=options)
    gate = SyncGate()
    sandbox.dispatch = gate.wrap(sandbox.dispatch)
    sandbox.start()
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'console.db'}", registry=registry)
    ConsoleUserService(app).create("staff", PASSWORD)
    admin_key = app.api_keys.create("product", scope="admin")[1]
    server = ApiServer(app, "127.0.0.1", 0)
    try:
        server.start()
        yield Console(server.url, app, sandbox, admin_key, gate, server)
    finally:
        gate.open()
        # A sync a page started must end before its database goes away.
        server.asgi.state.sync_pool.shutdown(wait=True)
        server.stop()
        app.close()
        sandbox.stop()
