"""The HTTP client every plugin uses: pacing, retries, error mapping, redaction, events.

A plugin builds one ``HttpClient`` per session. The client keeps the connection under the
ATS's published rate limit (so a sync does not cause 429s), retries what is safe to retry
with exponential backoff and full jitter, honours ``Retry-After`` and ``X-RateLimit-*``,
and turns failures into the core's errors with secrets masked.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import logging
import math
import random
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
from atsbridge.errors import AtsError, AtsUnavailable, AuthError
from atsbridge.model import RateLimit

from atsbridge_sdk.bounded import (
    DEFAULT_DEADLINE,
    DEFAULT_MAX_RESPONSE_BYTES,
    bounded_transport,
    read_capped,
    request_deadline,
)
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.redact import redact, register_secret

log = logging.getLogger("atsbridge.http")
# One line per retry ("retrying (2/6) ..."): the CLI shows this logger on stderr, so a person
# waiting on a slow or dead ATS sees why; other hosts leave it at INFO with the rest.
retry_log = logging.getLogger("atsbridge.http.retry")

# Set by ``refused_fails_fast()``: a refused connection is then final, not retried. A check
# or connect asks whether the ATS answers now; backing off for 13 s before saying "no" helps
# nobody, while a sync keeps retrying (the ATS may be restarting).
_REFUSED_FAILS_FAST: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "atsbridge_refused_fails_fast", default=False
)


@contextlib.contextmanager
def refused_fails_fast() -> Iterator[None]:
    """Within this block, a connection refused by the ATS's host is not retried."""
    token = _REFUSED_FAILS_FAST.set(True)
    try:
        yield
    finally:
        _REFUSED_FAILS_FAST.reset(token)


def refused_is_final() -> bool:
    """Whether the caller is inside ``refused_fails_fast()``."""
    return _REFUSED_FAILS_FAST.get()


def refused_connection(exc: BaseException) -> bool:
    """Whether a transport error is, underneath, the host refusing the connection."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "connection refused" in str(exc).lower()


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_UNDECODED = object()


def json_body(response: httpx.Response) -> Any:
    """The response body decoded as JSON, once: later calls return the same object.

    A page's body is read by the paginator (for its next cursor) and by the mapper (for its
    rows); ``httpx.Response.json()`` decodes again on every call, and decoding is most of
    what a sync spends on a page besides storing it. Raises ``ValueError`` on a body that
    is not JSON, as ``response.json()`` does.
    """
    cached = vars(response).get("_atsbridge_json", _UNDECODED)
    if cached is _UNDECODED:
        cached = response.json()
        response._atsbridge_json = cached  # type: ignore[attr-defined]
    return cached


@attrs.frozen
class HttpEvent:
    """One thing the client did, for metrics and progress.

    ``kind`` is ``request``, ``response``, ``retry``, ``rate_limit_wait`` or ``error``.
    """

    kind: str
    method: str
    url: str
    status: int | None = None
    attempt: int = 1
    elapsed: float = 0.0
    wait: float = 0.0
    reason: str = ""


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None when it gives no usable hint.

    Accepts delta-seconds and HTTP dates. Zero, negative and unparseable values are no hint:
    the caller falls back to its own backoff rather than hammering or stalling.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds) or seconds <= 0:
        return None
    return seconds


def parse_rate_limit_reset(
    remaining: str | None, reset: str | None, now_epoch: float
) -> float | None:
    """Seconds until the window resets when ``X-RateLimit-Remaining`` says none are left.

    ``X-RateLimit-Reset`` is epoch seconds at some ATSs and seconds-to-go at others; a value
    larger than a year of seconds can only be an epoch timestamp.
    """
    if remaining is None or reset is None:
        return None
    try:
        left = float(remaining)
        value = float(reset)
    except ValueError:
        return None
    if not math.isfinite(left) or left >= 1 or not math.isfinite(value):
        return None
    wait = value - now_epoch if value > 31_536_000 else value
    if wait <= 0:
        return None
    # A reset further away than an hour is a clock skew or a bug, not a reason to stall a sync.
    return min(wait, 3600.0)


def parse_rate_limit_window(
    remaining: str | None, reset: str | None, now_epoch: float
) -> tuple[float, float] | None:
    """``(requests left, seconds until the window resets)`` from ``X-RateLimit-*``, or None.

    The window an ATS with a fixed-window limit reports on every response (Greenhouse):
    the client spends what is left and then waits for the reset instead of meeting a 429.
    ``X-RateLimit-Reset`` is read as ``parse_rate_limit_reset`` reads it.
    """
    if remaining is None or reset is None:
        return None
    try:
        left, value = float(remaining), float(reset)
    except ValueError:
        return None
    if not (math.isfinite(left) and math.isfinite(value)) or left < 0:
        return None
    wait = value - now_epoch if value > 31_536_000 else value
    if wait <= 0:
        return None
    return left, min(wait, 3600.0)


@attrs.frozen
class RetryPolicy:
    """How hard to try. ``total_budget`` caps one call's time including waits."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    total_budget: float = 300.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**(attempt-1))]."""
        # Cap the exponent: past it the ceiling is max_delay anyway, and 2**n must not overflow.
        exponent = min(max(0, attempt - 1), 62)
        ceiling = min(self.max_delay, self.base_delay * float(2**exponent))
        return rng.uniform(0, ceiling)


class RateLimiter:
    """Token bucket (requests/s with a burst) plus a cap on requests in flight.

    ``pause_until`` lets a server's own signal (Retry-After, X-RateLimit-Reset) hold every
    request of the connection, not just the one that saw it. ``observe_window`` adapts to an
    ATS that reports its window on every response: requests beyond what it says is left
    wait for the window's reset, so the token bucket may burst as the ATS allows without
    a 429 at the window's end.
    """

    def __init__(self, limit: RateLimit, clock: Clock = SYSTEM_CLOCK):
        self.limit = limit
        self.clock = clock
        self._tokens = float(max(1, limit.burst))
        self._last = clock.monotonic()
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._in_flight = threading.BoundedSemaphore(max(1, limit.max_concurrency))
        # The ATS's window as its last response reported it, less what was sent since.
        self._window_left: float | None = None
        self._window_reset = 0.0
        self._unanswered = 0  # requests sent whose response has not been observed

    def _reserve(self) -> float:
        """Take a token now or reserve one in the future; return how long to wait."""
        with self._lock:
            now = self.clock.monotonic()
            rate = self.limit.requests_per_second
            if rate <= 0:  # no published rate: only the concurrency cap and pauses apply
                return max(0.0, self._paused_until - now)
            self._tokens = min(
                float(max(1, self.limit.burst)), self._tokens + (now - self._last) * rate
            )
            self._last = now
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / rate
            return max(wait, self._paused_until - now, self._window_wait(now + wait))

    def _window_wait(self, at: float) -> float:
        """Seconds from now the request reserved for ``at`` must wait for the ATS's window."""
        now = self.clock.monotonic()
        if self._window_left is None or at >= self._window_reset:
            self._window_left = None  # a new window: the next response says what it allows
            return 0.0
        self._window_left -= 1.0
        if self._window_left >= 0:
            return 0.0
        # Nothing left in this window: go at its reset (a later response may say more).
        return self._window_reset - now

    def observe_window(self, left: float, reset_in: float) -> None:
        """The ATS says ``left`` requests remain in a window that resets in ``reset_in`` s.

        Requests already sent whose responses are still to come spend that too.
        """
        with self._lock:
            others = max(0, self._unanswered - 1)
            self._window_left = left - others
            self._window_reset = self.clock.monotonic() + reset_in

    def acquire(self) -> float:
        """Block until a request may go; return the seconds waited for pacing."""
        self._in_flight.acquire()
        try:
            wait = self._reserve()
            if wait > 0:
                self.clock.sleep(wait)
        except BaseException:
            self._in_flight.release()
            raise
        with self._lock:
            self._unanswered += 1
        return wait

    def release(self) -> None:
        with self._lock:
            self._unanswered = max(0, self._unanswered - 1)
        self._in_flight.release()

    def pause_for(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, self.clock.monotonic() + seconds)


class HttpClient:
    """An httpx client with the ATS's manners built in. One per plugin session."""

    def __init__(
        self,
        base_url: str,
        *,
        auth: httpx.Auth | None = None,
        rate_limit: RateLimit = RateLimit(),
        retry: RetryPolicy = RetryPolicy(),
        timeout: float = 30.0,
        headers: dict[str, str] | None = None,
        secrets: Iterable[str | None] = (),
        on_event: Callable[[HttpEvent], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | None = None,
        seed: int | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float = DEFAULT_DEADLINE,
    ):
        # max_response_bytes caps a body as sent and once decompressed; deadline bounds one
        # attempt in all (connect, headers, body), which per-read timeouts do not.
        self.max_response_bytes = max_response_bytes
        self.deadline = deadline
        self.base_url = base_url.rstrip("/")
        self.retry = retry
        self.clock = clock
        self.limiter = RateLimiter(rate_limit, clock)
        self.on_event = on_event
        self._rng = random.Random(seed)
        self._auth = auth
        self._secrets = [s for s in secrets if s]
        register_secret(*self._secrets)
        limits = httpx.Limits(max_connections=max(1, rate_limit.max_concurrency) * 2)
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=auth,
            timeout=timeout,
            headers={"User-Agent": "atsbridge", **(headers or {})},
            transport=transport if transport is not None else bounded_transport(limits=limits),
            limits=limits,
        )

    def __repr__(self) -> str:
        return f"<HttpClient {self.base_url}>"

    def close(self) -> None:
        self._http.close()
        closer = getattr(self._auth, "close", None)  # OAuth2 auths own a token client
        if callable(closer):
            closer()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _emit(self, event: HttpEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def request(
        self,
        method: str,
        url: str,
        *,
        safe_to_retry: bool | None = None,
        accept: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one logical request, retrying as policy allows.

        ``safe_to_retry`` defaults to True for idempotent methods; a plugin sets it for a
        write the ATS deduplicates. A connection that was never established is retried for
        every method, since nothing reached the ATS. Statuses in ``accept`` (e.g. 404 for a
        lookup) are returned instead of raised.
        """
        method = method.upper()
        retry_ok = method in IDEMPOTENT_METHODS if safe_to_retry is None else safe_to_retry
        started = self.clock.monotonic()
        # Events and messages carry the redacted URL: some ATSs take keys as query parameters.
        event_url = self._redact(url)
        shown = f"{method} {event_url}"
        # Errors name the host too: "GET /postings" alone does not say which ATS is down.
        target = self._http.build_request(method, url).url
        where = f"{method} {self._redact(str(target.copy_with(query=None)))}"
        attempt = 0
        while True:
            attempt += 1
            waited = self.limiter.acquire()
            if waited > 0:
                self._emit(
                    HttpEvent("rate_limit_wait", method, event_url, attempt=attempt, wait=waited)
                )
            sent_at = self.clock.monotonic()
            self._emit(HttpEvent("request", method, event_url, attempt=attempt))
            budget = min(self.deadline, max(0.0, self.retry.total_budget - (sent_at - started)))
            # The deadline is real time (sockets wait in real time, whatever self.clock says).
            real_start = time.monotonic()
            try:
                with request_deadline(budget), self._http.stream(method, url, **kwargs) as response:
                    read_capped(response, self.max_response_bytes, what=shown)
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                refused = isinstance(exc, httpx.ConnectError) and refused_connection(exc)
                reason = "connection refused" if refused else f"{type(exc).__name__}"
                if time.monotonic() - real_start >= budget:
                    reason = f"no complete answer within the {budget:g}s deadline"
                hint = None
                retryable = (retry_ok or never_sent) and not (refused and refused_is_final())
                status = None
            else:
                status = response.status_code
                reason = f"HTTP {status}"
                elapsed = self.clock.monotonic() - sent_at
                self._emit(HttpEvent("response", method, event_url, status, attempt, elapsed))
                self._observe_limits(response)
                if status < 400 or status in accept:
                    return response
                hint = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
                if status not in RETRY_STATUSES:
                    raise self._error_for(method, url, response)
                # 429 means the ATS did not act on the request, so even a write may repeat.
                retryable = retry_ok or status == 429
            finally:
                self.limiter.release()
            spent = self.clock.monotonic() - started
            final = not retryable or attempt >= self.retry.max_attempts
            delay = (
                hint
                if hint is not None
                else 0.0
                if final
                else self.retry.backoff(attempt, self._rng)
            )
            if hint is not None:
                self.limiter.pause_for(hint)
            out_of_time = spent + delay > self.retry.total_budget
            if final or out_of_time:
                self._emit(HttpEvent("error", method, event_url, status, attempt, reason=reason))
                raise AtsUnavailable(f"{where}: {reason} after {attempt} attempt(s)")
            self._emit(
                HttpEvent("retry", method, event_url, status, attempt, wait=delay, reason=reason)
            )
            retry_log.info(
                "retrying (%d/%d) %s after %s, in %.1fs...",
                attempt + 1,
                self.retry.max_attempts,
                where,
                reason,
                delay,
            )
            self.clock.sleep(delay)

    def _observe_limits(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        now_epoch = self.clock.now().timestamp()
        wait = parse_rate_limit_reset(remaining, reset, now_epoch)
        if wait is not None:
            self.limiter.pause_for(wait)
        window = parse_rate_limit_window(remaining, reset, now_epoch)
        if window is not None:
            self.limiter.observe_window(*window)

    def _error_for(self, method: str, url: str, response: httpx.Response) -> AtsError:
        body = response.text[:300].replace("\n", " ").strip()
        message = self._redact(f"{method} {url}: HTTP {response.status_code}: {body}")
        if response.status_code in (401, 403):
            return AuthError(message, status_code=response.status_code)
        return AtsError(message, status_code=response.status_code)
