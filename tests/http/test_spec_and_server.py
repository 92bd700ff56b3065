"""The committed OpenAPI spec, local docs assets, problem details with request ids, and a
real uvicorn (thread and ``atsbridge serve`` process) on a loopback port 0."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys

import httpx
import pytest
from atsbridge.http import openapi
from atsbridge.http.server import ApiServer
from fastapi.testclient import TestClient
from httpworld import World, problem


def test_committed_spec_matches_the_code() -> None:
    # Fails when a route or schema changed without `python -m atsbridge.http.openapi`.
    assert openapi.SPEC_FILE.read_text(encoding="utf-8") == openapi.render(openapi.current())
    spec = openapi.current()
    assert spec["openapi"].startswith("3.1")
    assert openapi.main(["--check"]) == 0


def test_served_spec_is_the_committed_one(client: TestClient) -> None:
    served = client.get("/openapi.json").json()
    assert openapi.render(served) == openapi.SPEC_FILE.read_text(encoding="utf-8")


def test_docs_use_local_assets_only(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", html)
        assert urls, page
        assert all(u.startswith("/") for u in urls), urls
        for url in urls:
            assert client.get(url).status_code == 200, url


def test_request_id_in_problem_header_and_log(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="atsbridge.http.access"):
        r = client.get("/v1/tenants/acme/jobs?limit=9999", headers=world.auth("acme_read"))
    body = problem(r, 422, "input.invalid")
    assert body["errors"][0]["field"] == "query.limit"
    assert body["type"] == "urn:atsbridge:problem:input.invalid"
    lines = [rec.getMessage() for rec in caplog.records if body["request_id"] in rec.getMessage()]
    assert lines and " 422 " in lines[0] and "/v1/tenants/acme/jobs" in lines[0]
    given = client.get("/v1/plugins", headers={**world.auth("acme_read"), "X-Request-ID": "abc.1"})
    assert given.headers["x-request-id"] == "abc.1"


def test_bad_requests_are_4xx_problems(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    cases = [
        client.post(
            "/v1/tenants/acme/product-jobs/pj-1/leads",
            content=b"{not json",
            headers={**h, "content-type": "application/json"},
        ),
        client.get("/v1/tenants/acme/jobs", params={"q": "a\x00b"}, headers=h),
        client.get("/v1/tenants/bad%20tenant/jobs", headers=h),
        client.get("/v1/tenants/acme/jobs?cursor=eyJvIjotMX0", headers=h),
        client.get("/v1/nowhere", headers=h),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, r.text
        assert r.headers["content-type"].startswith("application/problem+json")


def test_real_uvicorn_on_loopback(world: World) -> None:
    server = ApiServer(world.app, "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, headers=world.auth("acme_read")) as http:
            jobs = http.get("/v1/tenants/acme/jobs", params={"q": "berlin"}).json()
            assert [j["ats_id"] for j in jobs["items"]] == ["A1"]
            r = http.get("/v1/tenants/globex/jobs")
            assert r.status_code == 404
            assert r.headers["content-type"].startswith("application/problem+json")
            assert http.get("/openapi.json").json()["openapi"].startswith("3.1")
    finally:
        server.stop()
    assert not server.is_running()


def test_atsbridge_serve_process(db_url: str, world: World) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "atsbridge.cli", "--db", db_url, "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            match = re.match(r"api: (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        assert url, "serve never printed its address"
        # The plugin of the world is not installed in the subprocess: plugins list differ,
        # but keys, tenants and the mirror are in the shared database.
        r = httpx.get(f"{url}/v1/tenants/acme/links", headers=world.auth("acme_read"))
        assert r.status_code == 200 and r.json()["items"][0]["product_job_id"] == "pj-1"
        assert httpx.get(f"{url}/v1/plugins").status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_host_run_serves_the_api(db_url: str, world: World) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atsbridge.cli",
            "--db",
            db_url,
            "host",
            "run",
            "--api-port",
            "0",
            "--shutdown-grace",
            "1",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        url = None
        for line in proc.stderr:
            match = re.match(r"api: (http://127\.0\.0\.1:\d+)", line)
            if match:
                url = match.group(1)
                break
        assert url, "host run never printed the API's address"
        r = httpx.get(f"{url}/v1/tenants/acme/links", headers=world.auth("acme_read"))
        assert r.status_code == 200 and r.json()["items"][0]["product_job_id"] == "pj-1"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
