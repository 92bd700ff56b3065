"""Authenticators: static keys, OAuth2 single-flight refresh, expiry, 401 retry, rotation."""

from __future__ import annotations

import base64
import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest
from atsbridge.errors import AtsUnavailable, AuthError
from atsbridge.model import RateLimit
from atsbridge_sdk.auth import ApiKeyHeader, BasicAuth, OAuth2ClientCredentials, OAuth2RefreshToken
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.http import HttpClient


class TokenServer:
    """A token endpoint handing out numbered tokens; can rotate refresh tokens."""

    def __init__(self, expires_in: int = 3600, rotate: bool = False, delay: float = 0.0):
        self.expires_in = expires_in
        self.rotate = rotate
        self.delay = delay
        self.forms: list[dict[str, str]] = []
        self.headers: list[httpx.Headers] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            time.sleep(self.delay)  # widen the race window for the single-flight test
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        with self._lock:
            self.forms.append(form)
            self.headers.append(request.headers)
            n = len(self.forms)
        body = {"access_token": f"access-{n}", "expires_in": self.expires_in}
        if self.rotate:
            body["refresh_token"] = f"refresh-{n}"
        return httpx.Response(200, json=body)


def test_api_key_header_and_repr():
    auth = ApiKeyHeader("X-Api-Key", "key-123456")
    seen = []
    client = httpx.Client(
        auth=auth, transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    )
    client.get("https://ats.test/x")
    assert seen[0].headers["X-Api-Key"] == "key-123456"
    assert "key-123456" not in repr(auth)


def test_basic_auth_key_as_user():
    auth = BasicAuth("key-abcdef")
    seen = []
    client = httpx.Client(
        auth=auth, transport=httpx.MockTransport(lambda r: seen.append(r) or httpx.Response(200))
    )
    client.get("https://ats.test/x")
    scheme, token = seen[0].headers["Authorization"].split()
    assert scheme == "Basic" and base64.b64decode(token) == b"key-abcdef:"
    assert "key-abcdef" not in repr(auth)


def test_client_credentials_basic_and_body_styles():
    server = TokenServer()
    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "csecret", transport=httpx.MockTransport(server)
    )
    assert auth.token() == "access-1"
    assert server.forms[0]["grant_type"] == "client_credentials"
    assert server.headers[0]["Authorization"].startswith("Basic ")
    assert "client_secret" not in server.forms[0]

    server = TokenServer()
    auth = OAuth2ClientCredentials(
        "https://ats.test/token",
        "cid",
        "csecret",
        client_auth="body",
        extra={"scope": "jobs"},
        transport=httpx.MockTransport(server),
    )
    auth.token()
    assert server.forms[0] == {
        "grant_type": "client_credentials",
        "scope": "jobs",
        "client_id": "cid",
        "client_secret": "csecret",
    }
    assert "csecret" not in repr(auth)


def test_single_flight_many_threads_one_token_request():
    server = TokenServer(delay=0.05)
    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "csecret", transport=httpx.MockTransport(server)
    )
    barrier = threading.Barrier(16)
    tokens: list[str] = []

    def worker():
        barrier.wait()
        tokens.append(auth.token())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.forms) == 1
    assert set(tokens) == {"access-1"}


def test_refresh_ahead_of_expiry_with_fake_clock():
    clock = FakeClock()
    server = TokenServer(expires_in=600)
    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "s", clock=clock, transport=httpx.MockTransport(server)
    )
    assert auth.token() == "access-1"
    clock.advance(600 - 61)  # still outside the 60 s margin
    assert auth.token() == "access-1"
    clock.advance(2)  # inside the margin: refresh before the ATS would refuse it
    assert auth.token() == "access-2"


def test_short_lived_token_is_not_refetched_every_time():
    clock = FakeClock()
    server = TokenServer(expires_in=30)
    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "s", clock=clock, transport=httpx.MockTransport(server)
    )
    auth.token()
    auth.token()
    assert len(server.forms) == 1
    clock.advance(16)
    assert auth.token() == "access-2"


def test_401_triggers_exactly_one_refresh_and_retry():
    server = TokenServer()
    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "s", transport=httpx.MockTransport(server)
    )
    api_calls: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        api_calls.append(request.headers["Authorization"])
        ok = request.headers["Authorization"] == "Bearer access-2"
        return httpx.Response(200 if ok else 401)

    client = HttpClient(
        "https://ats.test", auth=auth, transport=httpx.MockTransport(api), clock=FakeClock()
    )
    assert client.get("/jobs").status_code == 200
    assert api_calls == ["Bearer access-1", "Bearer access-2"]
    assert len(server.forms) == 2


def test_persistent_401_is_an_auth_error_not_a_loop():
    server = TokenServer()
    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "s", transport=httpx.MockTransport(server)
    )
    client = HttpClient(
        "https://ats.test",
        auth=auth,
        transport=httpx.MockTransport(lambda r: httpx.Response(401)),
        clock=FakeClock(),
    )
    with pytest.raises(AuthError):
        client.get("/jobs")
    assert len(server.forms) == 2


def test_rotated_refresh_token_is_written_back():
    clock = FakeClock()
    server = TokenServer(expires_in=100, rotate=True)
    rotated: list[str] = []
    auth = OAuth2RefreshToken(
        "https://ats.test/token",
        "cid",
        "s",
        "refresh-0",
        on_rotate=rotated.append,
        clock=clock,
        transport=httpx.MockTransport(server),
    )
    auth.token()
    assert rotated == ["refresh-1"]
    clock.advance(100)
    auth.token()
    assert server.forms[1]["refresh_token"] == "refresh-1"  # the new one is used next time
    assert rotated == ["refresh-1", "refresh-2"]


def test_token_endpoint_refusal_is_a_clear_redacted_auth_error():
    def refuse(request):
        return httpx.Response(400, json={"error": "invalid_client", "error_description": "nope"})

    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "csecret-xyz", transport=httpx.MockTransport(refuse)
    )
    with pytest.raises(AuthError, match="refused the credentials: HTTP 400 nope") as info:
        auth.token()
    assert "csecret-xyz" not in str(info.value)


def test_flaky_token_endpoint_is_retried_then_unavailable():
    clock = FakeClock()
    calls = []

    def flaky(request):
        calls.append(1)
        return httpx.Response(503)

    auth = OAuth2ClientCredentials(
        "https://ats.test/token", "cid", "s", clock=clock, transport=httpx.MockTransport(flaky)
    )
    with pytest.raises(AtsUnavailable, match="HTTP 503 after 3"):
        auth.token()
    assert len(calls) == 3


def test_missing_access_token_is_an_auth_error():
    auth = OAuth2ClientCredentials(
        "https://ats.test/token",
        "cid",
        "s",
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"token_type": "x"})),
    )
    with pytest.raises(AuthError, match="without an access_token"):
        auth.token()


def test_client_closes_the_token_client():
    auth = OAuth2ClientCredentials("https://ats.test/token", "cid", "s")
    HttpClient("https://ats.test", auth=auth, rate_limit=RateLimit()).close()
    assert auth._token_http.is_closed
