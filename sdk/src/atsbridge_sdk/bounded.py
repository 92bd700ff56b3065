"""Bounds on what one ATS answer may cost: a total deadline and a cap on the body's size.

httpx's timeouts apply to each socket operation, so a server that sends one byte every few
seconds keeps a request alive forever; and it reads and decompresses a body whole, so a
3 GB body (or a 10 MB gzip bomb) takes the process with it. Here:

- ``request_deadline(seconds)`` sets a deadline for every socket operation the current
  thread makes until it exits (connect, TLS, headers, body); each is given at most the time
  left, and one begun after it passed fails with ``httpx.ReadTimeout``. It works through the
  network backend installed by ``bounded_transport()``, which the SDK uses by default;
- ``read_capped(response, max_bytes)`` reads a streamed response, decompressing gzip and
  deflate itself, never holding more than ``max_bytes`` of body (raw or decoded), and raises
  ``ResponseTooLarge`` (an ``AtsError``) past it.
"""

from __future__ import annotations

import contextlib
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx
from atsbridge.errors import AtsError

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "ResponseTooLarge",
    "bounded_transport",
    "read_capped",
    "request_deadline",
]

DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
# One attempt of one request, headers and body: generous for a slow page, finite for a trickle.
DEFAULT_DEADLINE = 120.0
_RAW_CHUNK = 64 * 1024

_local = threading.local()


class ResponseTooLarge(AtsError):
    """A response body (as sent, or once decompressed) was larger than its cap."""


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Bound every socket operation of this thread, inside the block, to ``seconds`` in all.

    Nested deadlines keep the earlier of the two (a token fetch inside a request).
    """
    previous = getattr(_local, "deadline", None)
    deadline = time.monotonic() + max(0.0, seconds)
    _local.deadline = deadline if previous is None else min(previous, deadline)
    try:
        yield
    finally:
        _local.deadline = previous


def _bound(timeout: float | None) -> float | None:
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's total deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bound(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _bound(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend):
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(host, port, _bound(timeout), local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _bound(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bounded_transport(**kwargs: Any) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose sockets honour ``request_deadline``."""
    transport = httpx.HTTPTransport(**kwargs)
    pool = transport._pool
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


class _Inflater:
    """Streaming gzip/deflate decoding that never produces more than it is asked for."""

    def __init__(self, encoding: str):
        self._encoding = encoding
        # gzip: 16 + MAX_WBITS; deflate is zlib-wrapped by the RFC, raw by some servers.
        self._wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode ``data``, returning at most ``room + 1`` bytes (one more means: too large)."""
        try:
            out = self._inflate.decompress(data, room + 1)
        except zlib.error:
            if self._started or self._wbits != zlib.MAX_WBITS:
                raise
            self._wbits = -zlib.MAX_WBITS  # raw deflate
            self._inflate = zlib.decompressobj(self._wbits)
            out = self._inflate.decompress(data, room + 1)
        self._started = True
        while self._inflate.unconsumed_tail and len(out) <= room:
            out += self._inflate.decompress(self._inflate.unconsumed_tail, room + 1 - len(out))
        return out

    def pending(self) -> bool:
        """Whether decoded output is still held back (the caller stopped at its cap)."""
        return bool(self._inflate.unconsumed_tail)


def read_capped(response: httpx.Response, max_bytes: int, *, what: str = "response") -> bytes:
    """Read a streamed ``response``'s body, decoded, and store it as its content.

    Raises ``ResponseTooLarge`` when the body as sent or decoded exceeds ``max_bytes``
    (before reading it when ``Content-Length`` already says so), and ``AtsError`` for an
    encoding other than gzip, deflate or identity.
    """
    limit = _megabytes(max_bytes)
    if hasattr(response, "_content"):  # built in memory (a test or wrapping transport)
        if len(response.content) > max_bytes:
            raise ResponseTooLarge(f"{what}: body is larger than {limit}")
        return response.content
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        response.close()
        raise ResponseTooLarge(f"{what}: body of {declared} bytes is larger than {limit}")
    codings = [
        c.strip().lower()
        for c in response.headers.get("Content-Encoding", "").split(",")
        if c.strip() and c.strip().lower() != "identity"
    ]
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
        response.close()
        raise AtsError(f"{what}: unsupported Content-Encoding {', '.join(codings)}")
    inflater = _Inflater(codings[0]) if codings else None
    parts: list[bytes] = []
    raw_size = size = 0
    try:
        for chunk in response.iter_raw(_RAW_CHUNK):
            raw_size += len(chunk)
            if raw_size > max_bytes:
                raise ResponseTooLarge(f"{what}: body is larger than {limit}")
            if inflater is not None:
                try:
                    chunk = inflater.feed(chunk, max_bytes - size)
                except zlib.error:
                    raise AtsError(f"{what}: body is not valid {codings[0]} data") from None
            size += len(chunk)
            if size > max_bytes:
                raise ResponseTooLarge(f"{what}: body is larger than {limit} once decompressed")
            parts.append(chunk)
    finally:
        response.close()
    content = b"".join(parts)
    # The body is decoded already: httpx must not decode it again (text, json()).
    response._content = content
    return content


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n} bytes"
