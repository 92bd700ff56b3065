"""``atsbridge sandbox-ctl``: a person changes a running sandbox's world from the shell.

Over every installed plugin's sandbox: closing a job there closes the linked product job
after ``sync --links`` (and reopening reopens it); people added and moved there show in the
sandbox. Bad input exits 2 with one line naming the argument; a sandbox that does not answer
exits 1 naming the URL; nothing is asked of anything but loopback.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.model import JobStatus, SandboxOptions
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner, Result

DISCOVERED = PluginRegistry.discover()
PLUGINS = sorted(DISCOVERED.plugins)


@pytest.fixture
def registry() -> PluginRegistry:  # the real plugins, not the fake ATS of tests/cli
    return PluginRegistry.discover()


@pytest.fixture(params=PLUGINS)
def sandbox(request: pytest.FixtureRequest, registry: PluginRegistry) -> Iterator[Any]:
    options = SandboxOptions(seed=3, jobs=6, candidates_per_job=2, rate_limited=False)
    server = registry.get(request.param).call("atsbridge_sandbox", options=options).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(sandbox: Any, tmp_path: Path) -> Path:
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps(sandbox.connection_config()))
    return path


@pytest.fixture
def run(registry: PluginRegistry, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'ctl.db'}"

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db, *args], obj=CliState(registry))

    return invoke


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output
    return result


def _open_job(sandbox: Any) -> str:
    return sorted(j.ats_id for j in sandbox.jobs() if j.status is JobStatus.OPEN)[0]


def _state(run: Any, product_job: str) -> str:
    links = json.loads(_ok(run("jobs", "list", "acme", "--json")).stdout)
    return {link["product_job_id"]: link["state"] for link in links}[product_job]


def test_a_job_closed_with_sandbox_ctl_closes_the_product_job_after_a_sync(
    sandbox: Any, config: Path, run: Any
) -> None:
    ats = sandbox.name
    _ok(run("connect", "acme", ats, "--config", str(config)))
    _ok(run("sync", "acme", ats, "--jobs"))
    job = _open_job(sandbox)
    _ok(run("jobs", "import", "acme", ats, job, "--job", "pj-1"))
    assert _state(run, "pj-1") == "open"

    closed = _ok(run("sandbox-ctl", "close", job, "--config", str(config)))
    assert f"closed {ats} job {job} (" in closed.stdout
    assert {j.ats_id: j.status for j in sandbox.jobs()}[job] is JobStatus.CLOSED
    assert _state(run, "pj-1") == "open"  # the product learns it from a sync, not before
    _ok(run("sync", "acme", ats, "--links"))
    assert _state(run, "pj-1") == "closed"

    again = _ok(run("sandbox-ctl", "close", job, "--config", str(config), "--json"))
    assert json.loads(again.stdout)["changed"] is False

    _ok(run("sandbox-ctl", "reopen", job, "--url", sandbox.url))
    _ok(run("sync", "acme", ats, "--links"))
    assert _state(run, "pj-1") == "open"


def test_jobs_candidates_add_and_move(sandbox: Any, config: Path, run: Any) -> None:
    target = ["--config", str(config)]
    listed = json.loads(_ok(run("sandbox-ctl", "jobs", *target, "--json")).stdout)
    assert {j["id"]: j["status"] for j in listed["jobs"]} == {
        j.ats_id: j.status.value for j in sandbox.jobs()
    }
    open_ids = _ok(run("sandbox-ctl", "jobs", "--status", "open", "-q", *target)).stdout.split()
    assert sorted(open_ids) == sorted(j.ats_id for j in sandbox.jobs() if j.status.value == "open")
    table = _ok(run("sandbox-ctl", "jobs", *target)).stdout
    assert all(job_id in table for job_id in open_ids)

    job = _open_job(sandbox)
    added = _ok(run("sandbox-ctl", "add", job, "--count", "3", "-q", *target)).stdout.split()
    assert len(set(added)) == 3 and set(added) <= set(sandbox.pipeline(job))
    shown = _ok(run("sandbox-ctl", "candidates", job, "-q", *target)).stdout.split()
    assert sorted(shown) == sorted(sandbox.pipeline(job))

    moved = _ok(run("sandbox-ctl", "move", job, added[0], "hired", *target, "--json"))
    assert json.loads(moved.stdout) == {
        "ats": sandbox.name,
        "job_id": job,
        "candidate_id": added[0],
        "status": "hired",
    }
    assert not sandbox.requests_to("/_sandbox")  # control traffic is not the ATS's


def _one_line_naming(result: Result, code: int, name: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], lines
    assert "Traceback" not in result.output


def test_bad_input_exits_2_naming_the_argument(sandbox: Any, config: Path, run: Any) -> None:
    target = ["--config", str(config)]
    before = sorted((j.ats_id, j.status.value, j.updated_at) for j in sandbox.jobs())
    job = _open_job(sandbox)
    _one_line_naming(run("sandbox-ctl", "close", "no-such-job-0", *target), 2, "JOB: no job")
    _one_line_naming(run("sandbox-ctl", "add", "no-such-job-0", *target), 2, "JOB: no job")
    unknown = run("sandbox-ctl", "move", job, "no-such-candidate-0", "hired", *target)
    _one_line_naming(unknown, 2, "CANDIDATE: no candidate")
    _one_line_naming(run("sandbox-ctl", "move", job, "x", "promoted", *target), 2, "STATUS")
    _one_line_naming(run("sandbox-ctl", "add", job, "--count", "-1", *target), 2, "--count")
    _one_line_naming(run("sandbox-ctl", "add", job, "--count", "1001", *target), 2, "--count")
    _one_line_naming(run("sandbox-ctl", "jobs", "--status", "sleeping", *target), 2, "--status")
    _one_line_naming(run("sandbox-ctl", "explode", job, *target), 2, "explode")
    assert sorted((j.ats_id, j.status.value, j.updated_at) for j in sandbox.jobs()) == before
    as_json = run("sandbox-ctl", "close", "no-such-job-0", *target, "--json")
    assert as_json.exit_code == 2
    assert "JOB: no job" in json.loads(as_json.stderr)["error"]["message"]


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ([], "--url: which sandbox?"),
        (["--url", "http://10.0.0.7:8765"], "--url: 'http://10.0.0.7:8765' is not a loopback"),
        (["--url", "https://127.0.0.1:8765"], "--url"),
        (["--url", "http://127.0.0.1:99999"], "--url"),
        (["--url", "http://127.0.0.1:1", "--config", "{config}"], "--url: give --url or --config"),
        (["--config", "{nofile}"], "--config"),
        (["--config", "{notjson}"], "--config: cannot read"),
        (["--config", "{nobase}"], "--config: "),
        (["--config", "{remote}"], "--config: 'https://api.lever.co/v1' is not a loopback"),
    ],
)
def test_naming_the_sandbox_badly_exits_2(
    tmp_path: Path, registry: PluginRegistry, args: list[str], name: str
) -> None:
    files = {
        "config": tmp_path / "c.json",
        "nofile": tmp_path / "missing.json",
        "notjson": tmp_path / "n.json",
        "nobase": tmp_path / "b.json",
        "remote": tmp_path / "r.json",
    }
    files["config"].write_text('{"base_url": "http://127.0.0.1:1"}')
    files["notjson"].write_text("base_url=")
    files["nobase"].write_text('{"api_key": "x"}')
    files["remote"].write_text('{"base_url": "https://api.lever.co/v1"}')
    args = [a.format(**{k: str(v) for k, v in files.items()}) for a in args]
    result = CliRunner().invoke(cli, ["sandbox-ctl", "jobs", *args], obj=CliState(registry))
    _one_line_naming(result, 2, name)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_sandbox_exits_1_naming_the_url(registry: PluginRegistry) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    result = CliRunner().invoke(cli, ["sandbox-ctl", "close", "J1", "--url", url])
    _one_line_naming(result, 1, f"cannot reach the sandbox at {url}")


def test_a_url_that_is_no_sandbox_exits_1(registry: PluginRegistry) -> None:
    class NotASandbox(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<h1>nothing here</h1>")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotASandbox)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(cli, ["sandbox-ctl", "jobs", "--url", url])
        _one_line_naming(result, 1, "not a sandbox control API")
    finally:
        server.shutdown()
        server.server_close()


def test_the_url_may_come_from_the_environment(sandbox: Any, run: Any, monkeypatch) -> None:
    monkeypatch.setenv("ATSBRIDGE_SANDBOX_URL", sandbox.url)
    ids = _ok(run("sandbox-ctl", "jobs", "-q")).stdout.split()
    assert sorted(ids) == sorted(j.ats_id for j in sandbox.jobs())
