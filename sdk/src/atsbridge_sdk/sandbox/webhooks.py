"""Sandbox webhooks: a fake ATS pushing signed deliveries to registered URLs.

One reusable block for every plugin's sandbox. The sandbox turns a world change (a job
closed, a candidate added, moved, deleted or merged) into an ``Outgoing`` event shaped
like its ATS's payload and hands it to ``WebhookDeliverer.emit``; the deliverer signs it
the ATS's way (the plugin's ``Signer``) for each registered ``Target`` and POSTs it, and
retries a non-2xx answer (or no answer) on the ATS's schedule (``RetryHabit``).

Time: with the system clock a background thread delivers as soon as something is due
(``start()``; the sandbox starts it with its server), so an end-to-end test sees the
delivery within milliseconds. With an injected ``FakeClock`` nothing runs by itself: a
test calls ``pump()`` to send what is due and ``clock.advance()`` to reach a retry, so
retry tests are deterministic and never sleep. ``scale`` compresses the ATS's delays
(0.001 turns Greenhouse's 15-minute retry into 0.9 s) for demos with the real clock.

Test knobs, each applying to the next emitted events or attempts: ``duplicate`` (the
ATS sends the same delivery twice), ``out_of_order`` (a batch of events is sent newest
first), ``bad_signature`` (signed with a wrong secret), and ``replay`` (resend an earlier
attempt byte for byte, old timestamps included, as an attacker or a confused ATS would).

Nothing leaves loopback: a target URL must name 127.0.0.1, ::1 or localhost.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs
import httpx

from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock, SystemClock

__all__ = [
    "GREENHOUSE_RETRIES",
    "LEVER_RETRIES",
    "SMARTRECRUITERS_RETRIES",
    "WORKDAY_RETRIES",
    "Attempt",
    "LoopbackReceiver",
    "Outgoing",
    "PluginReceiver",
    "RetryHabit",
    "Signed",
    "Signer",
    "Target",
    "WebhookDeliverer",
    "loopback_url",
]


@attrs.frozen
class RetryHabit:
    """How an ATS retries a delivery that failed: the delays (seconds) before each retry,
    and how long it waits for an answer before counting the attempt as failed."""

    delays: tuple[float, ...]
    timeout: float = 10.0

    @property
    def attempts(self) -> int:
        return 1 + len(self.delays)


_MIN = 60.0
# Greenhouse: up to 7 attempts over about 15 hours (notes section 6).
GREENHOUSE_RETRIES = RetryHabit(tuple(m * _MIN for m in (1, 15, 60, 120, 240, 480)), 30.0)
# SmartRecruiters: 202 within 5 s or the attempt failed; up to 10 retries from 1 minute to
# a day (notes section 6 give 1, 3, 10, 45, 120 ... 1440; the middle steps are ours).
SMARTRECRUITERS_RETRIES = RetryHabit(
    tuple(m * _MIN for m in (1, 3, 10, 45, 120, 240, 480, 720, 1080, 1440)), 5.0
)
# Lever documents retries without a schedule (UNCONFIRMED): a short backoff is played.
LEVER_RETRIES = RetryHabit(tuple(m * _MIN for m in (1, 5, 30, 120, 480)), 10.0)
# Workday has no native webhooks; a tenant-built outbound integration's retry is whatever
# the tenant built: one retry a minute later is played.
WORKDAY_RETRIES = RetryHabit((_MIN,), 10.0)


@attrs.frozen
class Outgoing:
    """One event as the ATS would send it, before it is signed for a target.

    ``delivery_id`` stays the same across retries (what receivers deduplicate on);
    ``event`` is the ATS's event name (targets may subscribe to some only); ``payload``
    is the JSON body, or what the signer turns into one; ``headers`` are unsigned extras.
    """

    delivery_id: str
    event: str
    payload: Any
    occurred_at: datetime
    headers: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Signed:
    """What goes on the wire for one attempt: headers (signature included) and raw body."""

    headers: Mapping[str, str]
    body: bytes


class Signer(Protocol):
    """Sign ``outgoing`` for ``target`` as the ATS does, for an attempt sent at ``sent_at``."""

    def __call__(self, target: Target, outgoing: Outgoing, sent_at: datetime) -> Signed: ...


@attrs.define
class Target:
    """A registered receiver: its URL, the secret deliveries are signed with, and the ATS
    event names it wants (None: every event). ``old_secrets`` are keys still honoured
    after a rotation (SmartRecruiters signs with both for 24 h)."""

    id: str
    url: str
    secret: str = attrs.field(repr=False)
    events: frozenset[str] | None = None
    active: bool = True
    old_secrets: tuple[str, ...] = attrs.field(default=(), repr=False)

    def wants(self, event: str) -> bool:
        return self.active and (self.events is None or event in self.events)


@attrs.frozen
class Attempt:
    """One POST the sandbox made: what it sent and what it got back."""

    delivery_id: str
    target_id: str
    url: str
    number: int  # 1 for the first attempt, 2 for the first retry, ...
    sent_at: datetime
    headers: Mapping[str, str]
    body: bytes
    status: int | None  # None: no answer (refused connection, timeout)
    error: str | None = None
    replay: bool = False
    response_headers: Mapping[str, str] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@attrs.define
class _Pending:
    target: Target
    outgoing: Outgoing
    number: int
    due: float
    bad_signature: bool = False


def loopback_url(url: str) -> str:
    """``url`` when it is http(s) to a loopback host, else ValueError (nothing leaves it)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"webhook url {url!r} must be an http(s) URL")
    if host != "localhost":
        try:
            loop = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loop = False
        if not loop:
            raise ValueError(f"webhook url {url!r} must be on loopback (127.0.0.1, ::1)")
    return url


class WebhookDeliverer:
    """Registered targets, the queue of deliveries and their attempts, for one sandbox.

    Threads: ``emit``, ``register`` and the knobs may be called from any thread (the
    sandbox calls them under its own lock); POSTs are made without holding any lock.
    """

    def __init__(
        self,
        signer: Signer,
        habit: RetryHabit,
        *,
        clock: Clock = SYSTEM_CLOCK,
        scale: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.signer = signer
        self.habit = habit
        self.clock = clock
        self.scale = scale
        self._http = httpx.Client(timeout=habit.timeout, transport=transport)
        self._lock = threading.Condition()
        self._targets: dict[str, Target] = {}
        self._queue: list[_Pending] = []
        self._in_flight = 0
        self.attempts: list[Attempt] = []
        self.given_up: list[tuple[str, str]] = []  # (delivery id, target id) out of retries
        self._duplicates = 0
        self._bad_signatures = 0
        self._reorder = 0
        self._held: list[Outgoing] = []
        self._thread: threading.Thread | None = None
        self._stopping = False

    # -- targets --------------------------------------------------------------------------

    def register(
        self,
        url: str,
        secret: str,
        *,
        events: frozenset[str] | set[str] | None = None,
        target_id: str | None = None,
    ) -> Target:
        """Deliver from now on to ``url``, signing with ``secret``; returns the target."""
        target = Target(
            target_id or f"wh-{secrets.token_hex(4)}",
            loopback_url(url),
            secret,
            None if events is None else frozenset(events),
        )
        with self._lock:
            self._targets[target.id] = target
        return target

    def unregister(self, target_id: str) -> None:
        with self._lock:
            self._targets.pop(target_id, None)
            self._queue = [p for p in self._queue if p.target.id != target_id]

    def targets(self) -> list[Target]:
        with self._lock:
            return list(self._targets.values())

    def target(self, target_id: str) -> Target:
        with self._lock:
            return self._targets[target_id]

    # -- knobs ----------------------------------------------------------------------------

    def duplicate(self, count: int = 1) -> None:
        """The next ``count`` emitted events are each delivered twice (same delivery id)."""
        with self._lock:
            self._duplicates += count

    def bad_signature(self, count: int = 1) -> None:
        """The next ``count`` attempts are signed with a wrong secret."""
        with self._lock:
            self._bad_signatures += count

    def out_of_order(self, count: int = 2) -> None:
        """Hold the next ``count`` emitted events and send them newest first."""
        with self._lock:
            self._reorder = count

    def replay(self, delivery_id: str | None = None) -> Attempt:
        """Send again, byte for byte, the first attempt of ``delivery_id`` (or the oldest
        attempt of all): old timestamp, old signature. Returns the replay's attempt."""
        with self._lock:
            old = next((a for a in self.attempts if delivery_id in (None, a.delivery_id)), None)
        if old is None:
            raise KeyError(f"no delivery {delivery_id!r} was sent yet")
        return self._post(old.delivery_id, old.target_id, old.url, 1, old.headers, old.body, True)

    # -- emitting and delivering ----------------------------------------------------------

    def emit(self, outgoing: Outgoing) -> None:
        """Queue ``outgoing`` for every active target that wants its event."""
        with self._lock:
            if self._reorder:
                self._held.append(outgoing)
                if len(self._held) < self._reorder:
                    return
                batch, self._held, self._reorder = self._held[::-1], [], 0
            else:
                batch = [outgoing]
            now = self.clock.monotonic()
            for item in batch:
                copies = 1
                if self._duplicates:
                    self._duplicates -= 1
                    copies = 2
                for target in self._targets.values():
                    if target.wants(item.event):
                        for _ in range(copies):
                            self._queue.append(_Pending(target, item, 1, now))
            self._lock.notify_all()

    def pending(self) -> int:
        """Deliveries queued (due now or waiting for a retry) or being sent."""
        with self._lock:
            return len(self._queue) + self._in_flight

    def pump(self) -> list[Attempt]:
        """Send every delivery due now, in the order they fell due; returns the attempts.

        A failed attempt is queued again after the ATS's next delay (times ``scale``), or
        given up after the last one.
        """
        made: list[Attempt] = []
        while True:
            with self._lock:
                now = self.clock.monotonic()
                due = [p for p in self._queue if p.due <= now]
                if not due:
                    return made
                item = min(due, key=lambda p: p.due)
                self._queue.remove(item)
                if self._bad_signatures:
                    self._bad_signatures -= 1
                    item.bad_signature = True
                self._in_flight += 1
            try:
                made.append(self._attempt(item))
            finally:
                with self._lock:
                    self._in_flight -= 1
                    self._lock.notify_all()

    def _attempt(self, item: _Pending) -> Attempt:
        target = item.target
        if item.bad_signature:
            target = attrs.evolve(target, secret="not-" + target.secret, old_secrets=())
        signed = self.signer(target, item.outgoing, self.clock.now())
        attempt = self._post(
            item.outgoing.delivery_id,
            item.target.id,
            item.target.url,
            item.number,
            {"Content-Type": "application/json", **signed.headers},
            signed.body,
            False,
        )
        if not attempt.ok:
            if item.number <= len(self.habit.delays):
                delay = self.habit.delays[item.number - 1] * self.scale
                with self._lock:
                    if item.target.id in self._targets:
                        self._queue.append(
                            _Pending(
                                item.target,
                                item.outgoing,
                                item.number + 1,
                                self.clock.monotonic() + delay,
                            )
                        )
                        self._lock.notify_all()
            else:
                with self._lock:
                    self.given_up.append((item.outgoing.delivery_id, item.target.id))
        return attempt

    def _post(
        self,
        delivery_id: str,
        target_id: str,
        url: str,
        number: int,
        headers: Mapping[str, str],
        body: bytes,
        replay: bool,
    ) -> Attempt:
        sent_at = self.clock.now()
        status: int | None = None
        error: str | None = None
        answer: dict[str, str] = {}
        try:
            response = self._http.post(url, headers=dict(headers), content=body)
            status, answer = response.status_code, dict(response.headers)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = Attempt(
            delivery_id, target_id, url, number, sent_at, dict(headers), body, status, error,
            replay, answer,
        )  # fmt: skip
        with self._lock:
            self.attempts.append(attempt)
        return attempt

    def post(
        self, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int | None, Mapping[str, str]]:
        """One out-of-band POST (an activation handshake): (status or None, headers)."""
        try:
            response = self._http.post(loopback_url(url), headers=dict(headers), content=body)
        except httpx.HTTPError:
            return None, {}
        return response.status_code, dict(response.headers)

    def attempts_for(self, delivery_id: str) -> list[Attempt]:
        with self._lock:
            return [a for a in self.attempts if a.delivery_id == delivery_id]

    # -- background delivery (system clock only) ------------------------------------------

    def start(self) -> None:
        """Deliver in a background thread as deliveries fall due (system clock only; an
        injected clock means the test pumps)."""
        if not isinstance(self.clock, SystemClock) or self._thread is not None:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread = self._thread
        if thread is None:
            return
        with self._lock:
            self._stopping = True
            self._lock.notify_all()
        thread.join(timeout=5)
        self._thread = None

    def close(self) -> None:
        self.stop()
        self._http.close()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait (real time) until nothing is queued or in flight; False on timeout."""
        deadline = SYSTEM_CLOCK.monotonic() + timeout
        with self._lock:
            while self._queue or self._in_flight:
                left = deadline - SYSTEM_CLOCK.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
            return True

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                now = self.clock.monotonic()
                next_due = min((p.due for p in self._queue), default=None)
                if next_due is None or next_due > now:
                    wait = 1.0 if next_due is None else min(1.0, next_due - now)
                    self._lock.wait(wait)
                    continue
            self.pump()


Handler = Callable[[Mapping[str, str], bytes], tuple[int, Mapping[str, str]]]


class LoopbackReceiver:
    """A minimal HTTP receiver on 127.0.0.1 for tests without the core's ``/hooks``:
    every POST goes to ``handler(headers lower-cased, raw body) -> (status, headers)``.

    It records what it got (``received``), so a test can check what the sandbox sent.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                try:
                    status, extra = owner.handler(headers, body)
                except Exception:  # a bug in the handler answers 500, as a server would
                    status, extra = 500, {}
                owner.received.append((headers, body, status))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PluginReceiver:
    """A receive hook behind a ``LoopbackReceiver``: what the core's ``/hooks`` does,
    minus the inbox. Verified deliveries are kept in ``deliveries``; ``WebhookRefused``
    answers 401, ``PayloadError`` 400 (kept in ``refused`` / ``malformed``).

    ``fail_next`` answers the next N requests 500 without looking at them (to make the
    sandbox retry). ``secrets`` may be changed between deliveries (a rotation).
    """

    def __init__(
        self,
        receive: Callable[[Any], Any],
        secrets: tuple[str, ...],
        *,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        from atsbridge.errors import PayloadError, WebhookRefused
        from atsbridge.model import WebhookRequest

        self.secrets = secrets
        self.deliveries: list[Any] = []
        self.refused: list[str] = []
        self.malformed: list[str] = []
        self.fail_next = 0

        def handle(headers: Mapping[str, str], body: bytes) -> tuple[int, Mapping[str, str]]:
            if self.fail_next:
                self.fail_next -= 1
                return 500, {}
            request = WebhookRequest(
                headers=headers, body=body, received_at=clock.now(), secrets=self.secrets
            )
            try:
                delivery = receive(request)
            except WebhookRefused as exc:
                self.refused.append(str(exc))
                return 401, {}
            except PayloadError as exc:
                self.malformed.append(str(exc))
                return 400, {}
            self.deliveries.append(delivery)
            return delivery.response_status, delivery.response_headers

        self.server = LoopbackReceiver(handle)

    @property
    def url(self) -> str:
        return self.server.url

    def events(self) -> list[Any]:
        return [e for d in self.deliveries for e in d.events]

    def close(self) -> None:
        self.server.close()

    def __enter__(self) -> PluginReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
