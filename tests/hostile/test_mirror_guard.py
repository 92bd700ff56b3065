"""An odd answer on a full pass never wipes the mirror or a do-not-source list (#20 item 6).

A loopback proxy sits between atsbridge and a plugin's sandbox and, once switched, answers
one path with a hostile body: Greenhouse ``[]`` (a legitimate empty v3 list, so only the
core's guard protects) and a well-formed Workday envelope around an unexpected element
(which the plugin now refuses as a ``PayloadError``). A full pass that would remove most of
what it holds keeps the rows and records a warning; a second agreeing pass or
``sync --confirm-removals`` removes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.errors import PayloadError
from atsbridge.model import SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services import removals
from atsbridge.store import Job as JobRow
from atsbridge.store.tables import CntsEntry
from click.testing import CliRunner
from sqlmodel import select

JOBS = 30
ODD_ENVELOPE = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">'
    b'<env:Body><wd:Get_Workers_Response xmlns:wd="urn:com.workday/bsvc" wd:version="v45.2">'
    b"</wd:Get_Workers_Response></env:Body></env:Envelope>"
)


class OddProxy:
    """Forwards to ``upstream``; a request ``odd`` matches gets ``answer`` instead."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.odd: Callable[[str, str, bytes], bool] | None = None
        self.answer = (200, "application/json", b"[]")
        self.hostile = 0  # how many requests got the hostile answer
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if proxy.odd is not None and proxy.odd(self.command, self.path, body):
                    proxy.hostile += 1
                    status, kind, content = proxy.answer
                    headers = {"Content-Type": kind}
                else:
                    headers_in = {
                        k: v for k, v in self.headers.items() if k.lower() not in ("host",)
                    }
                    got = httpx.request(
                        self.command, upstream + self.path, headers=headers_in, content=body
                    )
                    status, content = got.status_code, got.content
                    skip = ("content-length", "transfer-encoding", "content-encoding", "connection")
                    headers = {
                        k: v.replace(upstream, proxy.url)
                        for k, v in got.headers.items()
                        if k.lower() not in skip
                    }
                    content = content.replace(upstream.encode(), proxy.url.encode())
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Atsbridge, Any]]:
    name, candidates = request.param
    registry = PluginRegistry.discover()
    options = SandboxOptions(seed=5, jobs=JOBS, candidates_per_job=candidates)
    sandbox = registry.get(name).module.atsbridge_sandbox(options=options)
    sandbox.start()
    proxy = OddProxy(sandbox.url)
    app = Atsbridge(db=f"sqlite:///{tmp_path / 'guard.db'}", registry=registry)
    app.proxy = proxy  # type: ignore[attr-defined]
    app.db_url = f"sqlite:///{tmp_path / 'guard.db'}"  # type: ignore[attr-defined]
    try:
        config = {
            k: v.replace(sandbox.url, proxy.url) if isinstance(v, str) else v
            for k, v in sandbox.connection_config().items()
        }
        app.connections.connect("acme", name, config)
        yield app, proxy
    finally:
        app.session_pool.close()
        app.close()
        proxy.close()
        sandbox.stop()


def _mirror(app: Atsbridge) -> int:
    with app.store.tenant("acme") as repo:
        return len(repo.all(select(JobRow)))


def _entries(app: Atsbridge) -> int:
    with app.store.tenant("acme") as repo:
        return len(repo.all(select(CntsEntry).where(CntsEntry.source == "ats")))


@pytest.mark.parametrize("world", [("greenhouse", 1)], indirect=True)
def test_greenhouse_empty_list_keeps_the_mirror_until_a_second_pass_agrees(world) -> None:
    app, proxy = world
    first = app.jobs.sync("acme", "greenhouse", full=True)
    assert first.status == "succeeded" and _mirror(app) == JOBS
    proxy.odd = lambda method, path, body: path.startswith("/v3/jobs?")
    held = app.jobs.sync("acme", "greenhouse", full=True)
    assert proxy.hostile == 1
    assert held.status == "succeeded" and held.counts["removed"] == 0
    assert _mirror(app) == JOBS
    (warning,) = held.errors
    assert warning.startswith(f"warning: this full pass would remove {JOBS} of {JOBS} mirrored")
    assert "--confirm-removals" in warning
    # The held pass was not recorded as full: the scheduled run is a full pass again...
    again = app.jobs.sync("acme", "greenhouse")
    assert again.progress["mode"] == "full"
    # ...and, seeing the same nothing, agrees: the ATS really has no jobs.
    assert again.counts["removed"] == JOBS and _mirror(app) == 0
    assert again.errors == []


@pytest.mark.parametrize("world", [("greenhouse", 1)], indirect=True)
def test_a_recovered_answer_clears_the_hold(world) -> None:
    app, proxy = world
    app.jobs.sync("acme", "greenhouse", full=True)
    proxy.odd = lambda method, path, body: path.startswith("/v3/jobs?")
    assert app.jobs.sync("acme", "greenhouse", full=True).errors
    proxy.odd = None
    fine = app.jobs.sync("acme", "greenhouse", full=True)
    assert fine.errors == [] and fine.counts["removed"] == 0 and _mirror(app) == JOBS
    # The hold was forgotten: one more odd answer is held again, not taken as agreement.
    proxy.odd = lambda method, path, body: path.startswith("/v3/jobs?")
    assert app.jobs.sync("acme", "greenhouse", full=True).counts["removed"] == 0
    assert _mirror(app) == JOBS


@pytest.mark.parametrize("world", [("greenhouse", 1)], indirect=True)
def test_sync_confirm_removals_applies_the_removal(world) -> None:
    app, proxy = world
    app.jobs.sync("acme", "greenhouse", full=True)
    proxy.odd = lambda method, path, body: path.startswith("/v3/jobs?")

    def run(*args: str):
        state = CliState(app.registry)
        return CliRunner().invoke(cli, ["--db", app.db_url, *args], obj=state)

    held = run("sync", "acme", "greenhouse", "--jobs", "--full", "--no-progress")
    assert held.exit_code == 0, held.output
    assert "warning: this full pass would remove 30 of 30 mirrored jobs" in held.stderr
    assert _mirror(app) == JOBS
    done = run("sync", "acme", "greenhouse", "--jobs", "--full", "--confirm-removals", "--json")
    assert done.exit_code == 0, done.output
    assert '"removed": 30' in done.stdout and _mirror(app) == 0
    assert not removals.is_confirmed()  # the confirmation ended with the command


@pytest.mark.parametrize("world", [("workday", 1)], indirect=True)
def test_workday_unexpected_body_element_is_a_payload_error(world) -> None:
    app, proxy = world
    assert app.jobs.sync("acme", "workday", full=True).status == "succeeded"
    assert _mirror(app) == JOBS
    proxy.answer = (200, "text/xml; charset=utf-8", ODD_ENVELOPE)
    proxy.odd = lambda method, path, body: b"Get_Job_Requisitions_Request" in body
    with pytest.raises(PayloadError, match="expected <Get_Job_Requisitions_Response>"):
        app.jobs.sync("acme", "workday", full=True)
    assert proxy.hostile >= 1
    assert _mirror(app) == JOBS
    (failed,) = [r for r in app.sync.runs("acme", "workday") if r.status == "failed"]
    assert any("Get_Workers_Response" in e for e in failed.errors)


@pytest.mark.parametrize("world", [("greenhouse", 12)], indirect=True)
def test_do_not_source_list_is_kept_when_its_listing_comes_back_empty(world) -> None:
    app, proxy = world
    app.jobs.sync("acme", "greenhouse", full=True)
    with app.store.tenant("acme") as repo:
        rows = repo.all(select(JobRow).where(JobRow.status == "open"))
        first = sorted(rows, key=lambda r: r.ats_id)[0].ats_id
    app.jobs.import_job("acme", "greenhouse", first, "P1")
    (synced,) = app.cnts.sync("acme", "greenhouse", full=True)
    listed = _entries(app)
    assert synced.status == "succeeded" and listed >= removals.MIN_GUARDED
    proxy.odd = lambda method, path, body: path.startswith("/v3/applications?")
    (held,) = app.cnts.sync("acme", "greenhouse", full=True)
    assert held.counts["removed"] == 0 and _entries(app) == listed
    assert any("do-not-source entries of job P1" in e for e in held.errors)
    (agreed,) = app.cnts.sync("acme", "greenhouse", full=True)
    assert agreed.counts["removed"] == listed and _entries(app) == 0
