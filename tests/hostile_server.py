"""A hostile HTTP server on loopback: endless bodies, gzip bombs, trickled bytes.

``HostileServer`` answers every request by the first behaviour named in its path (any path
segment equal to a behaviour's name), so an ATS client's fixed paths (a Workday tenant, a
token URL) can pick one:

- ``huge``: 200 with an endless chunked body;
- ``bomb``: 200, ``Content-Encoding: gzip``, 2 MB on the wire that inflate to 2 GB;
- ``bomb500``: the same with status 500 (Workday reads fault bodies itself);
- ``trickle``: 200 headers, then one body byte every ``TRICKLE_EVERY`` seconds, forever;
- ``slowheaders``: the status line, then one header byte every ``TRICKLE_EVERY`` seconds;
- anything else: 200 ``{"ok": true}``.

``requests`` records (method, path) of every request, for request counts.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
import zlib
from collections.abc import Iterator

TRICKLE_EVERY = 0.25
BEHAVIOURS = ("huge", "bomb", "bomb500", "trickle", "slowheaders")


def gzip_bomb(megabytes: int = 2048) -> bytes:
    """A gzip stream inflating to ``megabytes`` MB of zeros (its trailer is never reached)."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    # After a full flush the compressor starts afresh: each further MB encodes identically.
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    return first + block * (megabytes - 1)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(30)
        try:
            head = self._read_head(conn)
            if head is None:
                return
            method, path = head
            self.server.requests.append((method, path))
            behaviour = next(
                (part for part in path.split("?")[0].split("/") if part in BEHAVIOURS), ""
            )
            getattr(self, f"_{behaviour or 'ok'}")(conn)
        except OSError:
            pass  # the client gave up: that is the point

    def _read_head(self, conn: socket.socket) -> tuple[str, str] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(rest) < length:
            rest += conn.recv(65536)
        method, path, _ = lines[0].split(" ", 2)
        return method, path

    def _ok(self, conn: socket.socket) -> None:
        body = b'{"ok": true}'
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
        )

    def _huge(self, conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b"x" * (1 << 16))
        for _ in range(100_000):  # 6.5 GB, unless the client stops first
            conn.sendall(chunk)

    def _bomb(self, conn: socket.socket, status: bytes = b"200 OK") -> None:
        body = self.server.bomb
        conn.sendall(
            b"HTTP/1.1 %s\r\nContent-Type: text/xml\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (status, len(body))
        )
        conn.sendall(body)

    def _bomb500(self, conn: socket.socket) -> None:
        self._bomb(conn, b"500 Internal Server Error")

    def _trickle(self, conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000\r\nConnection: close\r\n\r\n"
        )
        for _ in self._ticks():
            conn.sendall(b" ")

    def _slowheaders(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        for _ in self._ticks():
            conn.sendall(b"a")

    def _ticks(self) -> Iterator[None]:
        until = time.monotonic() + 600
        while time.monotonic() < until and not self.server.stopping.is_set():
            time.sleep(TRICKLE_EVERY)
            yield


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, str]] = []
        self.bomb = gzip_bomb()
        self.stopping = threading.Event()


class HostileServer:
    """Context manager: the server runs in a thread; ``url`` is its base URL."""

    def __enter__(self) -> HostileServer:
        self._server = _Server()
        self.requests = self._server.requests
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
