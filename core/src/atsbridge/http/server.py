"""Serving the API with uvicorn: in the foreground (``atsbridge serve``) or on a thread
beside the host daemon (``atsbridge host run --api-port``)."""

from __future__ import annotations

import threading
from typing import Any

import uvicorn

from atsbridge.api import Atsbridge
from atsbridge.errors import BadInput
from atsbridge.http.app import create_app

__all__ = ["ApiServer"]


class ApiServer:
    """uvicorn on its own thread; ``port`` 0 picks a free one (``bound_port`` tells it)."""

    def __init__(self, app: Atsbridge, host: str = "127.0.0.1", port: int = 8700, **kw: Any):
        if not 0 <= port <= 65535:
            raise BadInput(f"--port: must be between 0 and 65535, got {port}")
        self.asgi = create_app(app)
        config = uvicorn.Config(
            self.asgi,
            host=host,
            port=port,
            log_config=None,  # our handlers; one access line per request, with its id
            access_log=False,
            lifespan="on",
            **kw,
        )
        self.server = uvicorn.Server(config)
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def bound_port(self) -> int:
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        raise RuntimeError("the API server is not listening")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.bound_port}"

    def start(self, timeout: float = 30.0) -> None:
        """Start listening; raises ``OSError`` when the port cannot be bound."""
        self._thread = threading.Thread(target=self.server.run, name="atsbridge-api", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(f"the API server could not listen on {self.host}")
            self._thread.join(0.02)
            timeout -= 0.02
            if timeout <= 0:
                raise OSError("the API server did not start in time")

    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
