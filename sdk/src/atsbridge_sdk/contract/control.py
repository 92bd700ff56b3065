"""Contract check of the sandbox's HTTP control API (``/_sandbox/...``).

Every ``Sandbox`` serves it from the plugin's control methods; this check proves, through
HTTP only, that what it does is what the plugin then reports through its hooks (a job
closed there is closed for ``atsbridge_job_statuses``, people added and moved there are
listed so), that bad input is a problem+json 4xx naming the field and changes nothing, and
that its traffic never reaches the ATS's request log.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from atsbridge.model import CandidateStatus, JobStatus

from atsbridge_sdk.contract.harness import Harness, fail, few, open_jobs
from atsbridge_sdk.sandbox.base import Sandbox
from atsbridge_sdk.sandbox.control import MAX_ADD, PREFIX

__all__ = ["check_sandbox_control_api"]


def _q(value: str) -> str:
    return quote(value, safe="")


def _expect(response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    if response.status_code != status:
        raise fail(
            f"control API {what}: HTTP {response.status_code}, expected {status}: "
            f"{response.text[:300]}"
        )
    data = response.json()
    if not isinstance(data, dict):
        raise fail(f"control API {what}: the body is not a JSON object")
    return data


def _statuses(h: Harness, session: Any, job_id: str) -> JobStatus:
    states = h.plugin.atsbridge_job_statuses(session=session, job_ids=[job_id])
    return {s.ats_id: s.status for s in states}[job_id]


def _world(sandbox: Sandbox, job_id: str) -> tuple[list[tuple[str, str, str]], list[str]]:
    jobs = sorted((j.ats_id, j.status.value, j.updated_at.isoformat()) for j in sandbox.jobs())
    return jobs, sorted(sandbox.pipeline(job_id))


def check_sandbox_control_api(h: Harness) -> None:
    """The control API changes the world the plugin reports; bad input is a 4xx, no change."""
    with (
        h.sandbox() as sandbox,
        h.session(sandbox) as session,
        httpx.Client(base_url=sandbox.url + PREFIX, trust_env=False, timeout=30) as http,
    ):
        index = _expect(http.get("/"), 200, "GET /")
        if index.get("ats") != sandbox.name:
            raise fail(f"GET {PREFIX}/ names ats {index.get('ats')!r}, not {sandbox.name!r}")
        listed = _expect(http.get("/jobs"), 200, "GET /jobs")["jobs"]
        truth = {j.ats_id: j.status.value for j in sandbox.jobs()}
        if {j["id"]: j["status"] for j in listed} != truth:
            raise fail(f"GET {PREFIX}/jobs does not list every job with its status")
        job = open_jobs(sandbox, 1)[0]
        at = f"/jobs/{_q(job.ats_id)}"

        closed = _expect(http.post(f"{at}/close", json={}), 200, "close")
        if closed["job"]["status"] != "closed" or closed["changed"] is not True:
            raise fail(f"closing job {job.ats_id} answered {closed}")
        if _statuses(h, session, job.ats_id) != JobStatus.CLOSED:
            raise fail(f"job {job.ats_id} closed over the control API is not reported closed")
        again = _expect(http.post(f"{at}/close", json={}), 200, "close again")
        if again["changed"] is not False or again["job"] != closed["job"]:
            raise fail("closing a closed job must change nothing (updated_at included)")
        _expect(http.post(f"{at}/reopen", json={}), 200, "reopen")
        if _statuses(h, session, job.ats_id) != JobStatus.OPEN:
            raise fail(f"job {job.ats_id} reopened over the control API is not reported open")

        body = {"count": 2, "status": "interviewing"}
        added = _expect(http.post(f"{at}/candidates", json=body), 201, "add")["added"]
        if len(added) != 2 or len(set(added)) != 2:
            raise fail(f"adding 2 people answered {added}")
        moved = added[0]
        path = f"{at}/candidates/{_q(moved)}/move"
        _expect(http.post(path, json={"status": "hired"}), 200, "move")
        listed_now, _ = h.all_candidates(session, job.ats_id)
        status = {c.ats_id: c.status for c in listed_now}
        want = {moved: CandidateStatus.HIRED, added[1]: CandidateStatus.INTERVIEWING}
        got = {cid: status.get(cid) for cid in want}
        if got != want:
            raise fail(f"after add and move the plugin lists {got}, expected {want}")
        shown = _expect(http.get(at), 200, f"GET {at}")
        if not set(added) <= set(shown["candidates"]):
            raise fail(f"GET {PREFIX}{at} lacks added candidates {few(added)}")

        before = _world(sandbox, job.ats_id)
        for method, url, payload, code, field in _bad_requests(at, moved):
            kwargs: dict[str, Any] = {"json": payload} if method == "POST" else {}
            response = http.request(method, url, **kwargs)
            _expect_problem(response, code, field, f"{method} {url}")
        bare = http.post(f"{at}/close", content=b"{}", headers={"Content-Type": "text/plain"})
        _expect_problem(bare, 415, "header.content-type", "a POST that is not JSON")
        foreign = http.get("/jobs", headers={"Host": "attacker.example"})
        _expect_problem(foreign, 403, "header.host", "a request for another host name")
        if _world(sandbox, job.ats_id) != before:
            raise fail("a refused control request changed the sandbox's world")

        logged = sandbox.requests_to(PREFIX)
        if logged:
            raise fail(f"{len(logged)} control API request(s) are in the ATS's request log")


def _bad_requests(at: str, candidate: str) -> list[tuple[str, str, Any, int, str]]:
    move = f"{at}/candidates/{_q(candidate)}/move"
    return [
        ("POST", "/jobs/no-such-job-0/close", {}, 404, "path.job_id"),
        ("POST", f"{at}/candidates", {"count": -1}, 422, "body.count"),
        ("POST", f"{at}/candidates", {"count": 0}, 422, "body.count"),
        ("POST", f"{at}/candidates", {"count": MAX_ADD + 1}, 422, "body.count"),
        ("POST", f"{at}/candidates", {"count": True}, 422, "body.count"),
        ("POST", f"{at}/candidates", {"count": 1, "stage": "x"}, 422, "body.stage"),
        ("POST", move, {"status": "promoted"}, 422, "body.status"),
        ("POST", move, {}, 422, "body.status"),
        ("POST", move, [], 422, "body"),
        ("POST", f"{at}/candidates/no-such-candidate-0/move", {"status": "hired"}, 404,
         "path.candidate_id"),
        ("POST", f"{at}/explode", {}, 404, "path"),
        ("GET", f"{at}/close", None, 405, "method"),
        ("GET", "/jobs?status=sleeping", None, 422, "query.status"),
    ]  # fmt: skip


def _expect_problem(response: httpx.Response, status: int, field: str, what: str) -> None:
    ctype = response.headers.get("Content-Type", "")
    if response.status_code != status or not ctype.startswith("application/problem+json"):
        raise fail(
            f"control API {what}: HTTP {response.status_code} {ctype}, expected a {status} "
            f"problem+json: {response.text[:300]}"
        )
    fields = [e.get("field") for e in response.json().get("errors", [])]
    if fields != [field]:
        raise fail(f"control API {what}: the problem names {fields}, expected [{field!r}]")
