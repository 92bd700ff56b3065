"""HttpClient: backoff, header parsing, pacing on a fake clock, retries, error mapping."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from atsbridge.errors import AtsError, AtsUnavailable, AuthError
from atsbridge.model import RateLimit
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.http import (
    HttpClient,
    HttpEvent,
    RateLimiter,
    RetryPolicy,
    parse_rate_limit_reset,
    parse_rate_limit_window,
    parse_retry_after,
)
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


# --- backoff -------------------------------------------------------------------------------


@given(
    attempt=st.integers(min_value=1, max_value=5000),
    base=st.floats(min_value=0.001, max_value=10),
    cap=st.floats(min_value=0.001, max_value=600),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_backoff_is_full_jitter_within_bounds(attempt, base, cap, seed):
    policy = RetryPolicy(base_delay=base, max_delay=cap)
    delay = policy.backoff(attempt, random.Random(seed))
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 62))
    assert 0.0 <= delay <= ceiling


def test_backoff_spreads_over_the_whole_range():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(4)
    delays = [policy.backoff(4, rng) for _ in range(2000)]
    assert max(delays) <= 8.0
    assert min(delays) < 0.5 and max(delays) > 7.5  # full jitter, not "ceiling +/- a bit"


# --- Retry-After and X-RateLimit-Reset -------------------------------------------------------


@given(st.floats(min_value=0.001, max_value=10**6, allow_nan=False))
def test_retry_after_seconds(seconds):
    assert parse_retry_after(repr(seconds), NOW) == pytest.approx(seconds)


@given(st.integers(min_value=1, max_value=86_400))
def test_retry_after_http_date(seconds):
    value = format_datetime(NOW + timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(value, NOW) == pytest.approx(seconds)


@given(st.integers(min_value=0, max_value=86_400))
def test_retry_after_date_in_the_past_is_no_hint(seconds):
    value = format_datetime(NOW - timedelta(seconds=seconds), usegmt=True)
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize(
    "value", [None, "", "  ", "0", "0.0", "-3", "-0.5", "soon", "nan", "inf", "1e999", "12abc"]
)
def test_retry_after_without_a_usable_hint(value):
    assert parse_retry_after(value, NOW) is None


@given(st.text(max_size=40))
def test_retry_after_never_raises_and_is_positive_finite(value):
    result = parse_retry_after(value, NOW)
    assert result is None or (0 < result < float("inf"))


def test_rate_limit_reset_epoch_and_delta():
    now = NOW.timestamp()
    assert parse_rate_limit_reset("0", str(int(now) + 12), now) == pytest.approx(12, abs=1)
    assert parse_rate_limit_reset("0", "7", now) == 7
    assert parse_rate_limit_reset("3", "7", now) is None  # requests left: no pause
    assert parse_rate_limit_reset(None, "7", now) is None
    assert parse_rate_limit_reset("0", None, now) is None
    assert parse_rate_limit_reset("0", str(int(now) - 5), now) is None  # already reset
    assert parse_rate_limit_reset("0", "junk", now) is None
    assert parse_rate_limit_reset("0", "99999", now) == 3600.0  # never stall past an hour


@given(st.text(max_size=12), st.text(max_size=12), st.floats(0, 2e9))
def test_rate_limit_reset_never_raises(remaining, reset, now):
    result = parse_rate_limit_reset(remaining, reset, now)
    assert result is None or 0 < result <= 3600.0


# --- pacing on a fake clock ------------------------------------------------------------------


@settings(max_examples=60)
@given(
    rate=st.floats(min_value=0.5, max_value=100),
    burst=st.integers(min_value=1, max_value=20),
    n=st.integers(min_value=1, max_value=80),
)
def test_pacing_takes_at_least_n_minus_burst_over_rate(rate, burst, n):
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=rate, burst=burst), clock)
    start = clock.monotonic()
    for _ in range(n):
        limiter.acquire()
        limiter.release()
    elapsed = clock.monotonic() - start
    expected = max(0, n - burst) / rate
    assert elapsed >= expected - 1e-6
    assert elapsed <= expected + 1e-6  # and no slower than it must be


def test_client_paces_requests_without_sleeping():
    clock = FakeClock()
    events: list[HttpEvent] = []
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json={}))
    with HttpClient(
        "https://ats.test",
        rate_limit=RateLimit(requests_per_second=5, burst=2, max_concurrency=2),
        clock=clock,
        transport=transport,
        on_event=events.append,
    ) as client:
        started = time.monotonic()
        for _ in range(12):
            client.get("/jobs")
        assert time.monotonic() - started < 1.0  # fake time only
    assert clock.monotonic() - 1000.0 >= (12 - 2) / 5 - 1e-6
    assert sum(1 for e in events if e.kind == "rate_limit_wait") == 10


def test_pause_holds_every_request_of_the_connection():
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=100, burst=100), clock)
    limiter.pause_for(9.0)
    assert limiter.acquire() == pytest.approx(9.0)


def test_concurrency_cap_is_enforced():
    cap, total = 3, 12
    changed = threading.Condition()
    in_flight = entered = 0
    peak = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak, entered
        with changed:
            in_flight += 1
            entered += 1
            peak = max(peak, in_flight)
            changed.notify_all()
            # Hold the slot until the cap is reached, so the test does not depend on timing;
            # a limiter letting more through would push the peak past the cap.
            changed.wait_for(lambda: in_flight >= cap or entered == total, timeout=2)
        time.sleep(0.01)
        with changed:
            in_flight -= 1
        return httpx.Response(200)

    client = HttpClient(
        "https://ats.test",
        rate_limit=RateLimit(requests_per_second=0, burst=1, max_concurrency=cap),
        transport=httpx.MockTransport(handler),
    )
    threads = [threading.Thread(target=client.get, args=("/x",)) for _ in range(total)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == cap


# --- retries -----------------------------------------------------------------------------------


class Script:
    """A MockTransport handler answering from a list, recording each request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def make_client(script: Script, clock: FakeClock | None = None, **kw) -> HttpClient:
    return HttpClient(
        "https://ats.test",
        clock=clock or FakeClock(),
        transport=httpx.MockTransport(script),
        rate_limit=RateLimit(requests_per_second=1000, burst=1000),
        seed=1,
        **kw,
    )


def test_429_retry_after_is_honoured():
    clock = FakeClock()
    script = Script(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={"ok": 1})
    )
    response = make_client(script, clock).get("/jobs")
    assert response.json() == {"ok": 1}
    assert clock.sleeps[0] == 7.0


def test_429_retry_after_http_date_is_honoured():
    clock = FakeClock()
    when = format_datetime(clock.now() + timedelta(seconds=20), usegmt=True)
    script = Script(httpx.Response(429, headers={"Retry-After": when}), httpx.Response(200))
    make_client(script, clock).get("/jobs")
    assert clock.sleeps[0] == pytest.approx(20, abs=1)


def test_429_on_a_post_is_retried_since_the_ats_did_nothing():
    script = Script(httpx.Response(429, headers={"Retry-After": "1"}), httpx.Response(201))
    assert make_client(script).post("/candidates", json={}).status_code == 201
    assert len(script.requests) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_retried_for_get(status):
    script = Script(httpx.Response(status), httpx.Response(status), httpx.Response(200))
    assert make_client(script).get("/jobs").status_code == 200
    assert len(script.requests) == 3


def test_post_not_retried_unless_safe_to_retry():
    script = Script(httpx.Response(503), httpx.Response(201))
    with pytest.raises(AtsUnavailable, match="HTTP 503 after 1 attempt"):
        make_client(script).post("/candidates", json={})
    assert len(script.requests) == 1

    script = Script(httpx.Response(503), httpx.Response(201))
    assert make_client(script).post("/search", json={}, safe_to_retry=True).status_code == 201
    assert len(script.requests) == 2


def test_read_error_on_post_is_not_retried():
    # The request may have reached the ATS: repeating a write could duplicate it.
    script = Script(httpx.ReadError("reset"), httpx.Response(201))
    with pytest.raises(AtsUnavailable, match="ReadError"):
        make_client(script).post("/candidates", json={})
    assert len(script.requests) == 1


def test_connect_error_retried_even_for_post():
    script = Script(httpx.ConnectError("refused"), httpx.Response(201))
    assert make_client(script).post("/candidates", json={}).status_code == 201
    assert len(script.requests) == 2


def test_gives_up_after_max_attempts():
    script = Script(httpx.Response(503))
    with pytest.raises(AtsUnavailable, match="after 4 attempt"):
        make_client(script, retry=RetryPolicy(max_attempts=4)).get("/jobs")
    assert len(script.requests) == 4


def test_total_budget_caps_one_call():
    clock = FakeClock()
    script = Script(httpx.Response(503))
    policy = RetryPolicy(max_attempts=100, base_delay=1.0, max_delay=10.0, total_budget=20.0)
    with pytest.raises(AtsUnavailable):
        make_client(script, clock, retry=policy).get("/jobs")
    assert clock.monotonic() - 1000.0 <= 20.0
    assert 2 <= len(script.requests) < 100


def test_retry_after_beyond_budget_fails_fast():
    clock = FakeClock()
    script = Script(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(AtsUnavailable, match="HTTP 429"):
        make_client(script, clock, retry=RetryPolicy(total_budget=60)).get("/jobs")
    assert clock.sleeps == []


def test_x_ratelimit_reset_pauses_the_next_request():
    clock = FakeClock()
    script = Script(
        httpx.Response(200, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "4"}),
        httpx.Response(200),
    )
    client = make_client(script, clock)
    client.get("/a")
    client.get("/b")
    assert clock.sleeps == [pytest.approx(4.0)]


def test_rate_limit_window_epoch_delta_and_no_hint():
    assert parse_rate_limit_window("7", "4", 0.0) == (7.0, 4.0)
    assert parse_rate_limit_window("0", str(1_800_000_010), 1_800_000_000.0) == (0.0, 10.0)
    for remaining, reset in ((None, "4"), ("7", None), ("x", "4"), ("-1", "4"), ("3", "0")):
        assert parse_rate_limit_window(remaining, reset, 0.0) is None


def test_window_left_is_spent_then_the_next_request_waits_for_its_reset():
    # A fixed window (Greenhouse): the bucket's burst allows more than the window has left.
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=50, burst=50), clock)
    limiter.acquire()
    limiter.observe_window(left=3, reset_in=5.0)  # the first response: 3 left, reset in 5 s
    limiter.release()
    waits = []
    for _ in range(4):
        waits.append(limiter.acquire())
        limiter.release()
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(5.0)
    assert limiter.acquire() == 0.0  # a new window: only the bucket paces again
    limiter.release()


def test_window_counts_requests_still_in_flight():
    clock = FakeClock()
    limiter = RateLimiter(RateLimit(requests_per_second=50, burst=50, max_concurrency=3), clock)
    limiter.acquire()
    limiter.acquire()  # sent before the first one's response came back
    limiter.observe_window(left=2, reset_in=5.0)  # the second request spends one of those
    limiter.release()
    limiter.release()
    assert limiter.acquire() == 0.0
    limiter.release()
    assert limiter.acquire() == pytest.approx(5.0)
    limiter.release()


@pytest.mark.parametrize("status", [401, 403])
def test_auth_error_on_401_403(status):
    script = Script(httpx.Response(status, json={"message": "bad key"}))
    with pytest.raises(AuthError) as info:
        make_client(script).get("/jobs")
    assert info.value.status_code == status
    assert len(script.requests) == 1


def test_other_4xx_is_an_ats_error_naming_the_status():
    script = Script(httpx.Response(422, json={"message": "email is invalid"}))
    with pytest.raises(AtsError, match=r"HTTP 422.*email is invalid") as info:
        make_client(script).post("/candidates", json={})
    assert info.value.status_code == 422
    assert not isinstance(info.value, AuthError)


def test_accepted_status_is_returned():
    script = Script(httpx.Response(404))
    assert make_client(script).get("/jobs/9", accept=(404,)).status_code == 404


def test_secrets_redacted_in_errors_and_events():
    secret = "sk_live_abcdef123456"
    events: list[HttpEvent] = []
    script = Script(httpx.Response(400, text=f"bad key {secret}"))
    client = make_client(script, secrets=[secret], on_event=events.append)
    with pytest.raises(AtsError) as info:
        client.get(f"/jobs?api_key={secret}")
    assert secret not in str(info.value)
    assert "***" in str(info.value)
    assert all(secret not in e.url for e in events)
    assert secret not in repr(client)


def test_unavailable_error_is_redacted_too():
    secret = "tok_0123456789"
    script = Script(httpx.Response(503))
    with pytest.raises(AtsUnavailable) as info:
        make_client(script, secrets=[secret], retry=RetryPolicy(max_attempts=1)).get(
            f"/jobs?token={secret}"
        )
    assert secret not in str(info.value)


def test_events_cover_request_response_retry_and_error():
    events: list[HttpEvent] = []
    script = Script(httpx.Response(503))
    with pytest.raises(AtsUnavailable):
        make_client(script, on_event=events.append, retry=RetryPolicy(max_attempts=2)).get("/j")
    kinds = [e.kind for e in events]
    assert kinds == ["request", "response", "retry", "request", "response", "error"]
    assert events[1].status == 503 and events[2].attempt == 1
