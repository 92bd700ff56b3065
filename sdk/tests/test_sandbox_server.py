"""SandboxApp: routing, auth hook, rate limits, concurrency cap, faults, log, multipart."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from atsbridge_sdk.sandbox import (
    Faults,
    SandboxApp,
    SandboxRequest,
    SandboxResponse,
    TokenBucketLimit,
    WindowLimit,
    json_response,
    route,
)

KEY = "sbx-key-0123456789"


class Tiny(SandboxApp):
    rate_limit = None

    def __init__(self, **kw):
        super().__init__(**kw)
        self.created: list[dict] = []
        self.release = threading.Event()
        self.cap = 0

    def authenticate(self, request: SandboxRequest) -> SandboxResponse | None:
        if request.path == "/public":
            return None
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return self.error(401, "bad token")
        request.credential = "tenant-1"
        return None

    def concurrency_key(self, request):
        return ("slow", self.cap) if self.cap and request.path == "/slow" else None

    @route("GET", "/public")
    def public(self, request):
        return json_response({"public": True})

    @route("GET", "/items/{item_id}")
    def item(self, request):
        return json_response({"id": request.path_params["item_id"], "q": request.arg("q")})

    @route("POST", "/items")
    def create(self, request):
        self.created.append(request.json())
        return json_response({"n": len(self.created)}, 201)

    @route("POST", "/files")
    def upload(self, request):
        parts = request.multipart()
        return json_response(
            {
                name: [p.filename, p.content_type, p.data.decode("latin-1")]
                for name, p in parts.items()
            }
        )

    @route("GET", "/slow")
    def slow(self, request):
        self.release.wait(2)
        return json_response({})


@pytest.fixture
def app():
    with Tiny() as sandbox:
        yield sandbox


def client(app, **kw) -> httpx.Client:
    return httpx.Client(
        base_url=app.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=5, **kw
    )


def test_routing_path_params_query_and_errors(app):
    with client(app) as c:
        assert c.get("/items/42", params={"q": "x"}).json() == {"id": "42", "q": "x"}
        assert c.get("/nowhere").status_code == 404
        assert c.delete("/items/42").status_code == 405
        bad = c.post("/items", content=b"{nope", headers={"Content-Type": "application/json"})
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["message"]


def test_a_path_no_route_serves_is_a_404_before_credentials_are_looked_at(app):
    # A wrong base URL must read as "not found", not as refused credentials.
    assert httpx.get(app.url + "/v3/items/1").status_code == 404
    assert httpx.get(app.url + "/items/1").status_code == 401


def test_auth_hook_and_request_log(app):
    assert httpx.get(app.url + "/items/1").status_code == 401
    assert httpx.get(app.url + "/public").status_code == 200
    with client(app) as c:
        c.get("/items/7", params={"q": "a"})
    last = app.request_log[-1]
    assert (last.method, last.path, last.query, last.status) == ("GET", "/items/7", "q=a", 200)
    assert last.credential == "tenant-1"
    assert last.auth_value == KEY
    assert len(app.requests_to("/items")) == 2
    app.clear_log()
    assert app.request_log == []


def test_token_bucket_limit_answers_429_with_retry_after():
    class Limited(Tiny):
        rate_limit = TokenBucketLimit(rate=0.5, burst=3)  # slow refill: robust on a busy box

    with Limited() as app, client(app) as c:
        statuses = [c.get("/items/1") for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429]
        assert int(statuses[-1].headers["Retry-After"]) == 2  # one token at 0.5/s
        assert app.rate_limit_violations == 1


def test_token_bucket_refills_at_its_rate():
    class Fast(Tiny):
        rate_limit = TokenBucketLimit(rate=20, burst=1)

    with Fast() as app, client(app) as c:
        c.get("/items/1")
        time.sleep(0.06)  # more than one token's worth at 20/s
        assert c.get("/items/1").status_code == 200


def test_window_limit_answers_429_until_the_window_resets():
    class Windowed(Tiny):
        rate_limit = WindowLimit(limit=2, seconds=1.0)

    with Windowed() as app, client(app) as c:
        assert [c.get("/items/1").status_code for _ in range(3)] == [200, 200, 429]
        assert app.rate_limit_violations == 1
        time.sleep(1.05)
        assert c.get("/items/1").status_code == 200


def test_rate_limit_can_be_switched_off():
    class Limited(Tiny):
        rate_limit = TokenBucketLimit(rate=1, burst=1)

    with Limited(rate_limited=False) as app, client(app) as c:
        assert all(c.get("/items/1").status_code == 200 for _ in range(5))


def test_concurrency_cap(app):
    app.cap = 1
    results: list[int] = []

    def hold():
        with client(app) as c:
            results.append(c.get("/slow").status_code)

    first = threading.Thread(target=hold)
    first.start()
    deadline = time.monotonic() + 2
    while not any(r.path == "/slow" for r in app.request_log) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    with client(app) as c:
        second = c.get("/slow")
    app.release.set()
    first.join()
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert results == [200]
    assert app.rate_limit_violations == 1


def test_fault_throttle(app):
    app.set_faults(Faults(throttle_rate=1.0, retry_after="0.5"))
    with client(app) as c:
        response = c.get("/items/1")
    assert response.status_code == 429 and response.headers["Retry-After"] == "0.5"
    assert app.request_log[-1].fault == "throttle"
    assert app.rate_limit_violations == 0  # injected, not the client's fault


def test_fault_error(app):
    app.set_faults(Faults(error_rate=1.0))
    with client(app) as c:
        assert c.get("/items/1").status_code in (500, 503)


def test_fault_slow(app):
    app.set_faults(Faults(slow_rate=1.0, slow_seconds=0.1))
    with client(app) as c:
        started = time.monotonic()
        assert c.get("/items/1").status_code == 200
        assert time.monotonic() - started >= 0.1


def test_fault_drop(app):
    app.set_faults(Faults(drop_rate=1.0))
    with client(app) as c, pytest.raises(httpx.TransportError):
        c.post("/items", json={"a": 1})
    assert app.created == []  # dropped before the ATS did anything


def test_fault_truncate(app):
    app.set_faults(Faults(truncate_rate=1.0))
    with client(app) as c, pytest.raises(httpx.TransportError):
        c.get("/items/123456789")


def test_fault_lost_response_does_the_write(app):
    app.set_faults(Faults(lost_response_rate=1.0))
    with client(app) as c, pytest.raises(httpx.TransportError):
        c.post("/items", json={"a": 1})
    assert app.created == [{"a": 1}]  # the write happened; only the answer was lost


def test_faults_limited_to_methods_and_count(app):
    app.set_faults(Faults(lost_response_rate=1.0, methods={"post"}, max_faults=1))
    with client(app) as c:
        assert c.get("/items/1").status_code == 200
        with pytest.raises(httpx.TransportError):
            c.post("/items", json={"a": 1})
        assert c.post("/items", json={"a": 2}).status_code == 201
    assert len(app.created) == 2


def test_mixed_faults_are_seeded_and_repeatable(app):
    def run() -> list[str | None]:
        app.set_faults(Faults.mixed(0.5, seed=11))
        app.clear_log()
        with client(app) as c:
            for _ in range(20):
                try:
                    c.get("/items/1", timeout=2)
                except httpx.TransportError:
                    pass
        return [r.fault for r in app.request_log]

    first = run()
    assert first == run()
    assert {"drop", "throttle", "error"} & set(first)


def test_multipart_parsing(app):
    with client(app) as c:
        response = c.post(
            "/files",
            data={"kind": "resume"},
            files={"file": ("cv.pdf", b"%PDF-1.4 data", "application/pdf")},
        )
    assert response.json() == {
        "kind": [None, None, "resume"],
        "file": ["cv.pdf", "application/pdf", "%PDF-1.4 data"],
    }
    with client(app) as c:
        assert c.post("/files", json={}).status_code == 400


def test_listens_on_loopback_only_and_restart_is_harmless(app):
    assert app.url.startswith("http://127.0.0.1:")
    port = app.port
    assert app.start().port == port
