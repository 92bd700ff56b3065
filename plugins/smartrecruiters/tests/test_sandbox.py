"""The fake behaves like the real API as the notes describe it (auth, paging, limits, errors)."""

from __future__ import annotations

import threading

import attrs
import httpx
import pytest
from atsbridge.model import JobStatus
from atsbridge_sdk.sandbox import SandboxRequest, route
from atsbridge_smartrecruiters.sandbox import SmartRecruitersSandbox

from .conftest import OPTIONS

LIMIT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Concurrent-Limit",
    "X-RateLimit-Concurrent-Remaining",
)


def http(box, **kw) -> httpx.Client:
    return httpx.Client(base_url=box.url, **kw)


def keyed(box) -> httpx.Client:
    return http(box, headers={"X-SmartToken": box.api_key})


def test_requests_without_or_with_a_wrong_key_are_401_with_the_error_body(sandbox):
    with http(sandbox) as c:
        r = c.get("/jobs")
        assert r.status_code == 401
        body = r.json()
        assert body["message"] and body["errors"][0]["code"] == "UNAUTHORIZED"
        assert all(h in r.headers for h in LIMIT_HEADERS)
        r = c.get("/jobs", headers={"X-SmartToken": "nope"})
        assert r.status_code == 401


def test_oauth_client_credentials_in_the_body(sandbox):
    with http(sandbox) as c:
        form = {
            "grant_type": "client_credentials",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
        }
        r = c.post("/identity/oauth/token", data=form)
        assert r.status_code == 200
        token = r.json()
        assert token["token_type"] == "Bearer" and token["expires_in"] > 0
        r = c.get("/jobs", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert r.status_code == 200
        # HTTP Basic client auth is not what this endpoint takes.
        r = c.post(
            "/identity/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(sandbox.client_id, sandbox.client_secret),
        )
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        r = c.post("/identity/oauth/token", data={**form, "grant_type": "password"})
        assert r.status_code == 400
        sandbox.expire_tokens()
        r = c.get("/jobs", headers={"Authorization": f"Bearer {token['access_token']}"})
        assert r.status_code == 401


def test_jobs_paging_by_limit_and_offset(sandbox):
    seen = []
    with keyed(sandbox) as c:
        offset = 0
        while True:
            body = c.get("/jobs", params={"limit": 5, "offset": offset}).json()
            assert (body["limit"], body["offset"], body["totalFound"]) == (5, offset, 12)
            seen += [j["id"] for j in body["content"]]
            offset += len(body["content"])
            if offset >= body["totalFound"]:
                break
    assert sorted(seen) == sorted(j.ats_id for j in sandbox.jobs())
    assert len(set(seen)) == 12


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"page": 2}, "page"),
        ({"updatedAfter": "last week"}, "updatedAfter"),
        ({"status": "OPEN"}, "status"),
    ],
)
def test_jobs_rejects_bad_parameters(sandbox, params, needle):
    with keyed(sandbox) as c:
        r = c.get("/jobs", params=params)
    assert r.status_code == 400
    assert needle in r.json()["message"]
    assert r.json()["errors"][0]["code"] == "BAD_REQUEST"


def test_jobs_filters(sandbox):
    facts = sandbox.jobs()
    newest = max(f.updated_at for f in facts)
    target = facts[3]
    with keyed(sandbox) as c:
        since = newest.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert c.get("/jobs", params={"updatedAfter": since}).json()["content"] == []
        sandbox.rename_job(target.ats_id, "Zeppelin Pilot")
        body = c.get("/jobs", params={"updatedAfter": since}).json()
        assert [j["id"] for j in body["content"]] == [target.ats_id]
        body = c.get("/jobs", params={"q": "zeppelin"}).json()
        assert [j["title"] for j in body["content"]] == ["Zeppelin Pilot"]
        sandbox.set_job_status(target.ats_id, JobStatus.ON_HOLD)
        body = c.get("/jobs", params={"status": "ON_HOLD", "limit": 100}).json()
        assert target.ats_id in [j["id"] for j in body["content"]]
        assert {j["status"] for j in body["content"]} == {"ON_HOLD"}


def test_job_detail_and_404(sandbox):
    job = sandbox.jobs()[0]
    with keyed(sandbox) as c:
        r = c.get(f"/jobs/{job.ats_id}")
        assert r.status_code == 200 and r.json()["title"] == job.title
        assert r.json()["location"]["countryCode"] == job.country_code.lower()
        r = c.get("/jobs/00000000-0000-4000-8000-000000000000")
        assert r.status_code == 404
        assert r.json()["errors"][0]["code"] == "NOT_FOUND"
        assert all(h in r.headers for h in LIMIT_HEADERS)


def test_candidates_paged_by_next_page_id(sandbox):
    job = sandbox.jobs()[1].ats_id
    expected = sandbox.pipeline(job)
    assert len(expected) >= 4
    seen, page_id, pages = [], None, 0
    with keyed(sandbox) as c:
        while True:
            params = {"jobId": job, "limit": 2}
            if page_id:
                params["pageId"] = page_id
            r = c.get("/candidates", params=params)
            assert r.status_code == 200
            body = r.json()
            pages += 1
            for row in body["content"]:
                seen.append(row["id"])
                jobs = [row["primaryAssignment"]["job"]["id"]]
                jobs += [a["job"]["id"] for a in row["secondaryAssignments"]]
                assert job in jobs
            page_id = body.get("nextPageId")
            if not page_id:
                assert "Link" not in r.headers
                break
            assert 'rel="next"' in r.headers["Link"] and page_id in r.headers["Link"]
    assert seen == expected and pages >= 2


def test_candidates_page_id_is_bound_to_its_query(sandbox):
    job = sandbox.jobs()[1].ats_id
    with keyed(sandbox) as c:
        first = c.get("/candidates", params={"jobId": job, "limit": 1}).json()
        other = sandbox.jobs()[2].ats_id
        r = c.get("/candidates", params={"jobId": other, "limit": 1, "pageId": first["nextPageId"]})
        assert r.status_code == 400 and "pageId" in r.json()["message"]
        r = c.get("/candidates", params={"jobId": job, "offset": 2})
        assert r.status_code == 400 and "offset" in r.json()["message"]


def test_candidate_status_filter_and_search(sandbox):
    job = sandbox.jobs()[0].ats_id
    with keyed(sandbox) as c:
        every = c.get("/candidates", params={"jobId": job, "limit": 100}).json()["content"]
        person = every[0]
        found = c.get("/candidates", params={"q": person["email"]}).json()["content"]
        assert [p["id"] for p in found] == [person["id"]]
        status = person["primaryAssignment"]["status"]
        rows = c.get("/candidates", params={"jobId": job, "status": status}).json()["content"]
        assert person["id"] in [p["id"] for p in rows]
        r = c.get("/candidates", params={"status": "SCREENING"})
        assert r.status_code == 400


def test_create_candidate_validates_and_stores(sandbox):
    job = sandbox.jobs()[0].ats_id
    with keyed(sandbox) as c:
        r = c.post(f"/jobs/{job}/candidates", json={"firstName": "Ana", "lastName": "Souza"})
        assert r.status_code == 400
        assert any("email" in e["message"] for e in r.json()["errors"])
        r = c.post(
            f"/jobs/{job}/candidates",
            json={"firstName": "A", "lastName": "S", "email": "a@x.org", "linkedin": "u"},
        )
        assert r.status_code == 400 and "linkedin" in r.json()["errors"][0]["message"]
        body = {
            "firstName": "Ana",
            "lastName": "Souza",
            "email": "ana.souza@example.com",
            "web": {"linkedIn": "https://www.linkedin.com/in/ana"},
            "education": [{"institution": "Universidade de Lisboa", "startDate": "2014"}],
        }
        r = c.post(f"/jobs/{job}/candidates", json=body)
        assert r.status_code == 201
        created = r.json()
        assert created["primaryAssignment"] == {
            "job": {"id": job, "title": sandbox.jobs()[0].title},
            "status": "NEW",
        }
        r = c.post(f"/jobs/{'0' * 8}/candidates", json=body)
        assert r.status_code == 404
        other = sandbox.jobs()[1].ats_id
        assert c.put(f"/candidates/{created['id']}/jobs/{other}").status_code == 200
        assert c.put(f"/candidates/{created['id']}/jobs/{other}").status_code == 200
        files = {"file": ("cv.pdf", b"%PDF-1.7 fake", "application/pdf")}
        r = c.post(
            f"/candidates/{created['id']}/attachments",
            files=files,
            data={"attachmentType": "PORTFOLIO"},
        )
        assert r.status_code == 400
        r = c.post(
            f"/candidates/{created['id']}/attachments",
            files=files,
            data={"attachmentType": "RESUME"},
        )
        assert r.status_code == 201
        listed = c.get(f"/candidates/{created['id']}/attachments").json()["content"]
        assert [(a["name"], a["type"]) for a in listed] == [("cv.pdf", "RESUME")]
    (facts,) = sandbox.people("ana.souza@example.com")
    assert facts.job_ids == (job, other)
    assert facts.linkedin_url == "https://www.linkedin.com/in/ana"
    assert facts.educations == 1 and facts.resume == b"%PDF-1.7 fake"


def test_rate_limit_429_with_headers(sandbox):
    statuses = []
    with keyed(sandbox) as c:
        for _ in range(30):
            r = c.get("/jobs", params={"limit": 1})
            statuses.append(r.status_code)
            assert all(h in r.headers for h in LIMIT_HEADERS)
            if r.status_code == 429:
                assert r.json()["errors"][0]["code"] == "TOO_MANY_REQUESTS"
                assert int(r.headers["Retry-After"]) >= 1
                assert r.headers["X-RateLimit-Remaining"] == "0"
    assert 429 in statuses and statuses[0] == 200
    assert sandbox.rate_limit_violations == statuses.count(429)


class SlowCandidates(SmartRecruitersSandbox):
    """Holds each candidates listing until the test lets it go, so a second one overlaps."""

    def __init__(self, options):
        super().__init__(options)
        self.entered = threading.Event()
        self.release = threading.Event()

    @route("GET", "/candidates")
    def list_candidates(self, request: SandboxRequest):
        self.entered.set()
        self.release.wait(5)
        return super().list_candidates(request)


def test_only_one_candidates_listing_at_a_time():
    box = SlowCandidates(OPTIONS).start()
    try:
        results = {}

        def first():
            with keyed(box) as c:
                results["first"] = c.get("/candidates", params={"limit": 1}).status_code

        t = threading.Thread(target=first)
        t.start()
        assert box.entered.wait(5)
        with keyed(box) as c:
            second = c.get("/candidates", params={"limit": 1})
        box.release.set()
        t.join()
        assert results["first"] == 200
        assert second.status_code == 429
        assert second.headers["X-RateLimit-Concurrent-Limit"] == "1"
        assert box.rate_limit_violations == 1
    finally:
        box.stop()


def test_same_seed_same_world():
    a, b = SmartRecruitersSandbox(OPTIONS), SmartRecruitersSandbox(OPTIONS)
    assert a.jobs() == b.jobs()
    assert a.people() == b.people()
    assert a.api_key == b.api_key


def test_a_job_listing_is_the_full_listing_filtered_after_every_kind_of_change():
    """The per-job index must serve exactly what a scan of every person would."""
    sandbox = SmartRecruitersSandbox(attrs.evolve(OPTIONS, rate_limited=False))
    sandbox.start()
    try:
        _check_job_listings(sandbox)
    finally:
        sandbox.stop()


def _check_job_listings(sandbox: SmartRecruitersSandbox) -> None:
    jobs = [j.ats_id for j in sandbox.jobs()]
    with keyed(sandbox) as c:
        first = c.get("/candidates", params={"jobId": jobs[0], "limit": 100}).json()["content"]
        body = {"firstName": "Ines", "lastName": "Okafor", "email": "ines@example.org"}
        created = c.post(f"/jobs/{jobs[3]}/candidates", json=body).json()["id"]
        # An older person assigned to a later job must keep their place (listing order).
        assert c.put(f"/candidates/{first[0]['id']}/jobs/{jobs[3]}").status_code == 200
        assert c.put(f"/candidates/{first[1]['id']}/jobs/{jobs[4]}").status_code == 200
        sandbox.remove_candidate(jobs[4], first[1]["id"])
        sandbox.remove_candidate(jobs[0], first[2]["id"])
        listed: dict[str, list[str]] = {j: [] for j in jobs}
        for person in sandbox.people():  # every person, in the order the API lists them
            for job in person.job_ids:
                listed[job].append(person.ats_id)
        for job in jobs:
            rows = c.get("/candidates", params={"jobId": job, "limit": 100}).json()["content"]
            assert [p["id"] for p in rows] == listed[job], job
    assert listed[jobs[3]].index(first[0]["id"]) < listed[jobs[3]].index(created)
    assert first[1]["id"] not in listed[jobs[4]]
    assert first[2]["id"] not in listed[jobs[0]]
