"""The HTTP side of a fake ATS: routing, auth and rate-limit enforcement, faults, request log.

A plugin's sandbox subclasses ``SandboxApp``, declares its routes with ``@route`` and keeps
its data in plain Python structures guarded by ``self.lock``. The server is a real HTTP
server on 127.0.0.1 (random port by default), so the plugin is tested through httpx exactly
as it talks to the real ATS.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import math
import random
import re
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import attrs


class BadRequest(Exception):
    """Raised by request parsing; the app turns it into its ATS's 400 error body."""


@attrs.define
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@attrs.define
class SandboxRequest:
    method: str
    path: str
    raw_query: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    path_params: dict[str, str] = attrs.field(factory=dict)
    credential: str = ""
    client: str = ""  # the peer's IP address

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        return list(self.query.get(name, []))

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise BadRequest(f"body is not valid JSON: {exc}") from None

    def form(self) -> dict[str, str]:
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}

    def multipart(self) -> dict[str, Part]:
        ctype = self.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/form-data"):
            raise BadRequest("expected multipart/form-data")
        raw = f"Content-Type: {ctype}\r\n\r\n".encode() + self.body
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        parts: dict[str, Part] = {}
        for item in message.iter_parts():
            name = item.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = item.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            parts[str(name)] = Part(
                str(name),
                item.get_filename(),
                item.get_content_type() if item.get("Content-Type") else None,
                data,
            )
        return parts


@attrs.define
class SandboxResponse:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = attrs.field(factory=dict)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None):
    body = json.dumps(obj).encode()
    return SandboxResponse(status, body, {"Content-Type": "application/json", **(headers or {})})


def xml_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None):
    return SandboxResponse(
        status, body, {"Content-Type": "text/xml; charset=utf-8", **(headers or {})}
    )


def route(method: str, pattern: str) -> Callable:
    """Declare a handler: ``@route("GET", "/v3/jobs")``; ``{name}`` captures a path segment."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

    def mark(fn: Callable) -> Callable:
        routes = [*getattr(fn, "_sandbox_routes", []), (method.upper(), regex)]
        setattr(fn, "_sandbox_routes", routes)  # noqa: B010 - mypy rejects attrs on Callable
        return fn

    return mark


@attrs.frozen
class Faults:
    """Probabilities (0..1) of each injected fault per request; seeded, so runs repeat.

    ``lost_response`` processes the request and then drops the connection: the client sees
    a timeout for a write that did happen, the case idempotency exists for. ``methods``
    limits faults to those HTTP methods (e.g. only writes); ``max_faults`` stops injecting
    after that many, so "the first write times out, the retry works" is deterministic.
    """

    error_rate: float = 0.0
    throttle_rate: float = 0.0
    slow_rate: float = 0.0
    slow_seconds: float = 0.2
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    lost_response_rate: float = 0.0
    retry_after: str = "1"
    seed: int = 0
    methods: frozenset[str] | None = attrs.field(
        default=None,
        converter=lambda v: None if v is None else frozenset(m.upper() for m in v),
    )
    max_faults: int | None = None

    @classmethod
    def mixed(cls, total: float, seed: int = 0) -> Faults:
        """Spread ``total`` fault probability over every kind (used for "20% faults" tests)."""
        share = total / 6
        return cls(
            error_rate=share,
            throttle_rate=share,
            slow_rate=share,
            slow_seconds=0.05,
            drop_rate=share,
            truncate_rate=share,
            lost_response_rate=share,
            retry_after="0.05",
            seed=seed,
        )

    @property
    def any(self) -> bool:
        return any(
            (
                self.error_rate,
                self.throttle_rate,
                self.slow_rate,
                self.drop_rate,
                self.truncate_rate,
                self.lost_response_rate,
            )
        )


@attrs.frozen
class TokenBucketLimit:
    """``rate`` requests per second with bursts up to ``burst`` (Lever, SmartRecruiters)."""

    rate: float
    burst: int


@attrs.frozen
class WindowLimit:
    """At most ``limit`` requests per fixed window of ``seconds`` (Greenhouse)."""

    limit: int
    seconds: float


@attrs.define
class LoggedRequest:
    method: str
    path: str
    query: str
    credential: str
    started: float
    ended: float = 0.0
    status: int | None = None
    fault: str | None = None
    rate_limited: bool = False  # 429 because the client broke the real limit (not injected)
    # The credential as sent (Authorization value without its scheme, or the API key header),
    # so tests can check that no token the client used ever shows up in its logs.
    auth_value: str = ""


class _LimitState:
    def __init__(self) -> None:
        self.tokens: float | None = None
        self.last = 0.0
        self.window_start = 0.0
        self.count = 0


class SandboxApp:
    """Base of every plugin's fake ATS. Subclasses add routes, data and the control API."""

    rate_limit: TokenBucketLimit | WindowLimit | None = None

    def __init__(self, *, rate_limited: bool = True) -> None:
        self.lock = threading.RLock()
        # The request log and the fault dice have their own lock: a handler holds ``lock``
        # while it runs, and other requests must still be logged (and capped) meanwhile.
        self._meta_lock = threading.Lock()
        self.faults = Faults()
        self.request_log: list[LoggedRequest] = []
        self.enforce_rate_limit = rate_limited and self.rate_limit is not None
        self._rng = random.Random(0)
        self._faults_injected = 0
        self._limits: dict[str, _LimitState] = defaultdict(_LimitState)
        self._limit_lock = threading.Lock()
        self._in_flight: dict[tuple[str, str], int] = defaultdict(int)
        self._routes: list[tuple[str, re.Pattern[str], Callable]] = []
        for attr in dir(type(self)):
            fn = getattr(self, attr, None)
            for method, regex in getattr(fn, "_sandbox_routes", []):
                self._routes.append((method, regex, fn))  # type: ignore[arg-type]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what a subclass overrides ------------------------------------------------------

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        """Set ``request.credential`` and return None, or return the ATS's 401 response."""
        return None

    def error(self, status: int, message: str) -> SandboxResponse:
        """The ATS's error body for ``status``."""
        return json_response({"message": message}, status)

    def concurrency_key(self, request: SandboxRequest) -> tuple[str, int] | None:
        """``(key, max in flight)`` for endpoints with a concurrency cap, else None."""
        return None

    def limit_headers(self, credential: str) -> dict[str, str]:
        """X-RateLimit-* headers the ATS sends on every response."""
        return {}

    def control(self, request: SandboxRequest) -> SandboxResponse | None:
        """The control API's answer (``Sandbox`` serves ``/_sandbox/...``), None otherwise.

        Asked before anything of the imitated ATS (routes, auth, limits, faults, log).
        """
        return None

    # -- lifecycle ------------------------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        with self._meta_lock:
            self.faults = faults
            self._rng = random.Random(faults.seed)
            self._faults_injected = 0

    def start(self, port: int = 0) -> Self:
        if self._server is not None:
            return self  # already listening: starting twice must not leak a server
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns quickly
            name=f"sandbox-{type(self).__name__}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "sandbox not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base URL of the server (no path)."""
        return f"http://127.0.0.1:{self.port}"

    def clear_log(self) -> None:
        with self._meta_lock:
            self.request_log.clear()

    def requests_to(self, path_prefix: str, method: str | None = None) -> list[LoggedRequest]:
        with self._meta_lock:
            return [
                r
                for r in self.request_log
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            ]

    @property
    def rate_limit_violations(self) -> int:
        with self._meta_lock:
            return sum(1 for r in self.request_log if r.rate_limited)

    # -- request processing -----------------------------------------------------------------

    def _roll_fault(self, method: str) -> str | None:
        with self._meta_lock:
            f = self.faults
            if not f.any or (f.methods is not None and method.upper() not in f.methods):
                return None
            if f.max_faults is not None and self._faults_injected >= f.max_faults:
                return None
            x = self._rng.random()
            fault = self._pick_fault(f, x)
            if fault is not None:
                self._faults_injected += 1
            return fault

    @staticmethod
    def _pick_fault(f: Faults, x: float) -> str | None:
        for name, p in (
            ("drop", f.drop_rate),
            ("throttle", f.throttle_rate),
            ("error", f.error_rate),
            ("slow", f.slow_rate),
            ("truncate", f.truncate_rate),
            ("lost_response", f.lost_response_rate),
        ):
            if x < p:
                return name
            x -= p
        return None

    def _over_limit(self, credential: str) -> float | None:
        """Seconds to wait when this request breaks the limit, else None (and count it)."""
        limit = self.rate_limit
        if not self.enforce_rate_limit or limit is None:
            return None
        now = time.monotonic()
        with self._limit_lock:
            state = self._limits[credential]
            if isinstance(limit, TokenBucketLimit):
                if state.tokens is None:
                    state.tokens, state.last = float(limit.burst), now
                state.tokens = min(
                    float(limit.burst), state.tokens + (now - state.last) * limit.rate
                )
                state.last = now
                if state.tokens < 1.0:
                    return (1.0 - state.tokens) / limit.rate
                state.tokens -= 1.0
                return None
            if now - state.window_start >= limit.seconds:
                state.window_start, state.count = now, 0
            if state.count >= limit.limit:
                return limit.seconds - (now - state.window_start)
            state.count += 1
            return None

    def remaining(self, credential: str) -> tuple[int, float]:
        """(requests left, seconds to reset) for X-RateLimit-* headers."""
        limit = self.rate_limit
        state = self._limits[credential]
        now = time.monotonic()
        if isinstance(limit, WindowLimit):
            left = max(0, limit.limit - state.count)
            return left, max(0.0, limit.seconds - (now - state.window_start))
        if isinstance(limit, TokenBucketLimit):
            tokens = limit.burst if state.tokens is None else state.tokens
            return max(0, int(tokens)), 1.0
        return 0, 0.0

    def dispatch(self, request: SandboxRequest) -> SandboxResponse:
        allowed = [(m, rx, fn) for m, rx, fn in self._routes if rx.match(request.path)]
        if not allowed:
            return self.error(404, "Resource not found")
        for method, regex, fn in allowed:
            if method == request.method:
                match = regex.match(request.path)
                assert match is not None
                request.path_params = match.groupdict()
                try:
                    with self.lock:
                        return fn(request)
                except BadRequest as exc:
                    return self.error(400, str(exc))
        return self.error(405, f"method {request.method} not allowed")

    def process(self, request: SandboxRequest, entry: LoggedRequest) -> SandboxResponse | None:
        """Run the whole pipeline; None means drop the connection without answering."""
        fault = self._roll_fault(request.method)
        entry.fault = fault
        if fault == "drop":
            return None
        if fault == "throttle":
            return self._with_headers(
                self.error(429, "Too Many Requests"), {"Retry-After": self.faults.retry_after}
            )
        if fault == "error":
            return self.error(503 if self._rng.random() < 0.5 else 500, "Internal error")
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        if not any(rx.match(request.path) for _, rx, _ in self._routes):
            # A path the API does not serve is a 404 whoever asks (a wrong base URL), as
            # the real APIs' front servers answer before looking at credentials.
            return self.error(404, "Resource not found")
        denied = self.authenticate(request)
        if denied is not None:
            return denied
        entry.credential = request.credential
        wait = self._over_limit(request.credential)
        if wait is not None:
            entry.rate_limited = True
            headers = {
                "Retry-After": str(max(1, math.ceil(wait))),
                **self.limit_headers(request.credential),
            }
            return self._with_headers(self.error(429, "Rate limit exceeded"), headers)
        cap = self.concurrency_key(request)
        if cap is not None:
            key = (request.credential, cap[0])
            with self._limit_lock:
                if self._in_flight[key] >= cap[1]:
                    entry.rate_limited = True
                    return self._with_headers(
                        self.error(429, "Concurrent request limit"), {"Retry-After": "1"}
                    )
                self._in_flight[key] += 1
            try:
                response = self.dispatch(request)
            finally:
                with self._limit_lock:
                    self._in_flight[key] -= 1
        else:
            response = self.dispatch(request)
        response = self._with_headers(response, self.limit_headers(request.credential))
        if fault == "lost_response":
            return None
        return response

    @staticmethod
    def _with_headers(response: SandboxResponse, headers: dict[str, str]) -> SandboxResponse:
        response.headers = {**response.headers, **headers}
        return response


_KEY_HEADER = re.compile(r"(?i)^x-[\w-]*(token|key|secret|auth)[\w-]*$")


def _credential_value(headers: Message) -> str:
    value = headers.get("Authorization", "")
    if value:
        scheme, _, rest = value.partition(" ")
        return rest.strip() if rest else scheme
    for name, header_value in headers.items():
        if _KEY_HEADER.match(name):
            return str(header_value).strip()
    return ""


class _Handler(BaseHTTPRequestHandler):
    sandbox: SandboxApp
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, each response would wait
    # for the client's delayed ACK (~40 ms on Linux) and keep-alive requests crawl.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # the request log replaces it
        pass

    def _handle(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = SandboxRequest(
            method=self.command,
            path=split.path,
            raw_query=split.query,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=self.headers,
            body=body,
            client=str(self.client_address[0]),
        )
        control = self.sandbox.control(request)
        if control is not None:  # the tester's traffic, not the plugin's: never logged
            self._send(control.status, control.headers, control.body)
            return
        entry = LoggedRequest(self.command, split.path, split.query, "", time.monotonic())
        entry.auth_value = _credential_value(self.headers)
        with self.sandbox._meta_lock:
            self.sandbox.request_log.append(entry)
        response = self.sandbox.process(request, entry)
        entry.ended = time.monotonic()
        if response is None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        entry.status = response.status
        payload = response.body
        if entry.fault == "truncate" and len(payload) > 1:
            self._send(response.status, response.headers, payload, len(payload) // 2)
            self.close_connection = True
            return
        self._send(response.status, response.headers, payload)

    def _send(
        self, status: int, headers: dict[str, str], payload: bytes, cut: int | None = None
    ) -> None:
        """Answer with ``payload`` (only its first ``cut`` bytes: a truncated body)."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload if cut is None else payload[:cut])

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
