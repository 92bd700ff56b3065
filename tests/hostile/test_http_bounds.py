"""Hostile ATS answers cost bounded memory and time: huge bodies, gzip bombs, trickles.

Each case runs the client in a child process (its address space capped at 1.5 GB so an
unbounded read fails there instead of taking the machine) against ``HostileServer`` on
loopback, and asserts on the child: the clear error it ends with, its peak RSS, and that it
ended well within the subprocess timeout (generous for a loaded machine).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from hostile_server import HostileServer

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
    from atsbridge.errors import AtsbridgeError
    from atsbridge.model import JobQuery
    from atsbridge_sdk.auth import OAuth2ClientCredentials
    from atsbridge_sdk.http import HttpClient, RetryPolicy

    kind, url, path = sys.argv[1:4]
    retry = RetryPolicy(max_attempts=2, base_delay=0.01)
    started = time.monotonic()
    try:
        if kind == "data":
            with HttpClient(url, retry=retry, deadline=3.0, timeout=5.0) as http:
                http.get(path).json()
        elif kind == "token":
            OAuth2ClientCredentials.token_deadline = 3.0
            OAuth2ClientCredentials(url + path, "client-id", "client-secret").token()
        else:
            from atsbridge_workday.client import WorkdayClient, WorkdayConfig
            config = WorkdayConfig.from_dict({
                "host": "wd5-services1.myworkday.com", "tenant": path, "base_url": url,
                "api_version": "v45.2", "auth_type": "isu", "username": "isu",
                "password": "s3cret-Password!",
            })
            WorkdayClient(config, retry=retry).search_jobs(JobQuery(page_size=10))
        outcome = "ok"
    except AtsbridgeError as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    except MemoryError:
        outcome = "MemoryError"
    def peak_rss_mb():
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from
        # a large pytest worker would report the worker's peak as its own.
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM in /proc/self/status")

    print(json.dumps({
        "outcome": outcome,
        "seconds": time.monotonic() - started,
        "rss_mb": peak_rss_mb(),
    }))
    """
)


def _run(kind: str, url: str, path: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, kind, url, path],
        capture_output=True,
        text=True,
        timeout=90,  # a hang fails the test here
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def server():
    with HostileServer() as s:
        yield s


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        ("data", "/huge", "ResponseTooLarge: GET /huge: body is larger than 50 MB"),
        (
            "data",
            "/bomb",
            "ResponseTooLarge: GET /bomb: body is larger than 50 MB once decompressed",
        ),
        ("token", "/huge/token", "ResponseTooLarge: token endpoint: body is larger than 1 MB"),
        # Its Content-Length already says too large: refused before a byte of it is read.
        ("token", "/bomb/token", "ResponseTooLarge: token endpoint: body of 2123786 bytes is"),
        ("workday", "bomb", "once decompressed"),
        ("workday", "bomb500", "ResponseTooLarge: Workday fault: body is larger than 50 MB once"),
        ("workday", "huge", "body is larger than 50 MB"),
    ],
)
def test_oversized_answers_fail_clearly_within_bounded_memory(
    server: HostileServer, kind: str, path: str, expected: str
) -> None:
    before = len(server.requests)
    result = _run(kind, server.url, path)
    assert expected in result["outcome"], result
    assert result["rss_mb"] < 300, result
    # Too large is not retried: the same request would get the same answer.
    assert len(server.requests) - before == 1


@pytest.mark.parametrize(
    ("kind", "path", "expected"),
    [
        # Errors name the ATS's host since "Dead ATS" (db26c6f): GET http://host:port/path.
        ("data", "/trickle", r"AtsUnavailable: GET \S*/trickle: no complete answer within the 3s"),
        ("data", "/slowheaders", r"AtsUnavailable: GET \S*/slowheaders: no complete answer within"),
        ("token", "/trickle/token", r"AtsUnavailable: token endpoint http"),
    ],
)
def test_a_trickling_answer_ends_at_the_request_deadline(
    server: HostileServer, kind: str, path: str, expected: str
) -> None:
    result = _run(kind, server.url, path)
    assert re.match(expected, result["outcome"]), result
    # 3 s per attempt, 2 attempts (3 for a token): far below the 90 s the child is given.
    assert result["seconds"] < 45, result
