"""The fake Greenhouse behaves like Harvest v3 as the notes describe it (raw HTTP, no plugin)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import pytest
from atsbridge.model import CandidateStatus, JobStatus
from atsbridge_greenhouse.sandbox import ADMIN_USER_ID, BASIC_USER_ID, NOTES_ADMIN_SCOPES
from atsbridge_sdk.sandbox import WindowLimit


def grant(sb, sub=ADMIN_USER_ID, secret=None, grant_type="client_credentials") -> httpx.Response:
    return httpx.post(
        f"{sb.url}/token",
        auth=(sb.client_id, secret or sb.client_secret),
        data={"grant_type": grant_type, "sub": str(sub)},
    )


@pytest.fixture
def api(sandbox):
    token = grant(sandbox).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=sandbox.url, headers=headers) as client:
        yield client


def test_token_endpoint(sandbox):
    ok = grant(sandbox)
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "Bearer" and body["access_token"]
    assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")) > datetime.now(UTC)
    bad = grant(sandbox, secret="wrong-secret")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert grant(sandbox, grant_type="password").status_code == 400
    assert grant(sandbox, sub=999).json()["error"] == "invalid_grant"


def test_bearer_required_and_expiry(sandbox, api):
    anonymous = httpx.get(f"{sandbox.url}/v3/jobs")
    assert anonymous.status_code == 401 and anonymous.json()["errors"]
    assert api.get("/v3/jobs").status_code == 200
    sandbox.expire_tokens()
    expired = api.get("/v3/jobs")
    assert expired.status_code == 401 and "expired" in expired.json()["errors"][0]


def test_list_endpoints_need_a_site_admin(sandbox):
    token = grant(sandbox, sub=BASIC_USER_ID).json()["access_token"]
    response = httpx.get(f"{sandbox.url}/v3/jobs", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and "Site Admin" in response.json()["errors"][0]


def test_scopes_limit_what_a_credential_may_call(make_sandbox):
    sb = make_sandbox(scopes=NOTES_ADMIN_SCOPES)
    token = grant(sb).json()["access_token"]
    with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/v3/jobs").status_code == 200
        refused = api.get("/v3/attachments", params={"application_ids": 1})
        assert refused.status_code == 403
        assert refused.json() == {
            "errors": ["Forbidden: the credential lacks the scope harvest:attachments:list"]
        }
        # A granted write scope lets the call through to its validation.
        assert api.post("/v3/attachments", json={}).status_code == 422


def test_reads_the_notes_do_not_list_can_be_absent(make_sandbox):
    sb = make_sandbox(unlisted_reads=False)
    token = grant(sb).json()["access_token"]
    with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}) as api:
        assert api.get("/v3/offices").json() == {"errors": ["Resource not found"]}
        assert api.get("/v3/candidate_educations").status_code == 405
        assert api.get("/v3/candidate_employments").status_code == 405
        assert api.post("/v3/candidate_employments", json={}).status_code == 422


def test_jobs_are_a_bare_array_in_descending_id_order_with_documented_fields(api, sandbox):
    rows = api.get("/v3/jobs", params={"per_page": 500}).json()
    assert isinstance(rows, list) and len(rows) == 12
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert set(rows[0]) == {
        "id",
        "name",
        "requisition_id",
        "status",
        "confidential",
        "department_id",
        "office_ids",
        "opened_at",
        "closed_at",
        "created_at",
        "updated_at",
        "custom_fields",
    }
    assert rows[0]["updated_at"].endswith("Z") and len(rows[0]["updated_at"]) == 24
    assert {r["status"] for r in rows} <= {"open", "closed", "draft"}


def test_paging_follows_link_and_cursor_must_travel_alone(api):
    first = api.get("/v3/jobs", params={"per_page": 5, "status": "open"})
    next_url = first.links["next"]["url"]
    assert "cursor=" in next_url and "per_page" not in next_url
    mixed = api.get(next_url + "&per_page=5")
    assert mixed.status_code == 422
    assert "cursor" in mixed.json()["errors"][0]
    seen = [r["id"] for r in first.json()]
    url: str | None = next_url
    while url:
        page = api.get(url)
        assert page.status_code == 200
        seen += [r["id"] for r in page.json()]
        url = page.links.get("next", {}).get("url")
    everything = api.get("/v3/jobs", params={"per_page": 500, "status": "open"}).json()
    assert seen == [r["id"] for r in everything]  # filters carried by the cursor
    assert api.get("/v3/jobs", params={"cursor": "garbage"}).status_code == 422


@pytest.mark.parametrize(
    "params",
    [
        {"per_page": 0},
        {"per_page": 501},
        {"per_page": "ten"},
        {"updated_after": "2026-01-01T00:00:00Z"},
        {"updated_at": "after|2026-01-01T00:00:00Z"},
        {"updated_at": "gte|yesterday"},
        {"status": "on_hold"},
        {"q": "engineer"},
    ],
)
def test_bad_job_queries_are_422_with_errors(api, params):
    response = api.get("/v3/jobs", params=params)
    assert response.status_code == 422
    assert isinstance(response.json()["errors"], list)


def test_applications_filter_dates_on_last_activity_not_updated_at(api, sandbox):
    since = {"last_activity_at": "gte|2000-01-01T00:00:00.000Z", "per_page": 500}
    assert len(api.get("/v3/applications", params=since).json()) == len(sandbox.applications)
    wrong = api.get("/v3/applications", params={"updated_at": "gte|2000-01-01T00:00:00.000Z"})
    assert wrong.status_code == 422 and "updated_at" in wrong.json()["errors"][0]


def test_singular_and_oversized_id_filters_are_refused(api):
    assert api.get("/v3/applications", params={"candidate_id": 1}).status_code == 422
    assert api.get("/v3/applications", params={"job_id": 1}).status_code == 422
    too_many = ",".join(str(i) for i in range(1, 52))
    assert api.get("/v3/jobs", params={"ids": too_many}).status_code == 422
    assert api.get("/v3/jobs", params={"ids": "1,x"}).status_code == 422


def test_updated_at_operator_forms(api, sandbox):
    rows = api.get("/v3/jobs", params={"per_page": 500}).json()
    times = sorted(r["updated_at"] for r in rows)
    pivot = times[6]
    expected = {r["id"] for r in rows if r["updated_at"] >= pivot}
    pipe = api.get("/v3/jobs", params={"updated_at": f"gte|{pivot}"}).json()
    assert {r["id"] for r in pipe} == expected
    encoded = api.get(f"/v3/jobs?updated_at=gte{quote('|')}{pivot}").json()
    assert {r["id"] for r in encoded} == expected
    bracket = api.get("/v3/jobs", params={"updated_at[gte]": pivot}).json()
    assert {r["id"] for r in bracket} == expected
    window = api.get("/v3/jobs", params={"updated_at": f"gte|{times[2]}|lt|{pivot}"}).json()
    assert {r["id"] for r in window} == {
        r["id"] for r in rows if times[2] <= r["updated_at"] < pivot
    }


def test_applications_status_and_prospects(api, sandbox):
    rows = api.get("/v3/applications", params={"per_page": 500}).json()
    assert {r["status"] for r in rows} <= {"in_process", "rejected", "hired", "converted"}
    active = api.get("/v3/applications", params={"status": "active", "per_page": 500}).json()
    assert active and {r["status"] for r in active} == {"in_process"}
    prospects = api.get("/v3/applications", params={"prospect": "true", "per_page": 500}).json()
    assert all(r["prospect"] is True for r in prospects)
    assert api.get("/v3/applications", params={"status": "in_process"}).status_code == 422


def test_candidate_lookup_by_email_and_ids(api, sandbox):
    person = sandbox.people()[0]
    found = api.get("/v3/candidates", params={"email": person.emails[0].upper()}).json()
    assert [str(r["id"]) for r in found] == [person.ats_id]
    assert "applications" not in found[0] and "attachments" not in found[0]
    by_ids = api.get("/v3/candidates", params={"ids": person.ats_id}).json()
    assert by_ids[0]["email_addresses"][0]["value"] == person.emails[0]


def test_id_filtered_reads_serve_what_a_scan_of_every_row_would(api, sandbox):
    """job_ids, candidate_ids and ids listings read through indexes kept with the data; they
    must serve exactly the rows a filter over every row picks, also once people are added,
    applied elsewhere and removed, and a malformed filter is still refused in check order."""
    jobs = sorted(sandbox.jobs_)
    sandbox.remove_candidate(str(jobs[0]), sandbox.pipeline(str(jobs[0]))[0])
    body = {"first_name": "Ada", "last_name": "Lovelace", "application": {"job_id": jobs[1]}}
    cid = api.post("/v3/candidates", json=body).json()["candidate"]["id"]
    again = {"candidate_id": cid, "job_id": jobs[2]}
    assert api.post("/v3/applications", json=again).status_code == 201
    assert api.post("/v3/applications", json=again).status_code == 422  # already applied

    def scanned(key: str, wanted: set[int]) -> list[int]:
        apps = sandbox.applications.values()
        return sorted((a["id"] for a in apps if a[key] in wanted), reverse=True)

    def served(path: str, **params: object) -> list[int]:
        response = api.get(path, params={"per_page": 500, **params})
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()]

    for job in jobs[:3]:
        assert served("/v3/applications", job_ids=job) == scanned("job_id", {job})
        assert sandbox.pipeline(str(job)) == sorted(
            {str(a["candidate_id"]) for a in sandbox.applications.values() if a["job_id"] == job}
        )
    pair = f"{jobs[1]},{jobs[2]}"
    assert served("/v3/applications", job_ids=pair) == scanned("job_id", {jobs[1], jobs[2]})
    assert len(served("/v3/applications", candidate_ids=cid)) == 2
    assert served("/v3/applications", candidate_ids=cid) == scanned("candidate_id", {cid})
    assert served("/v3/applications", job_ids=jobs[0], candidate_ids=cid) == []
    some = [*sorted(sandbox.candidates)[-49:], 1]  # one id that matches no one
    ids = ",".join(map(str, some))
    assert served("/v3/candidates", ids=ids) == sorted(some[:-1], reverse=True)
    refused = api.get("/v3/candidates", params={"ids": "x", "per_page": 0})
    assert refused.json() == {"errors": ["per_page must be an integer between 1 and 500"]}
    refused = api.get("/v3/applications", params={"job_ids": "x", "candidate_ids": cid})
    assert refused.json() == {"errors": ["job_ids must be a comma separated list of integer ids"]}


def test_rate_window_headers_and_429(make_sandbox):
    sb = make_sandbox(window=WindowLimit(limit=5, seconds=30.0))
    token = grant(sb).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    statuses = []
    for _ in range(6):
        response = httpx.get(f"{sb.url}/v3/jobs", headers=headers)
        statuses.append(response.status_code)
        assert response.headers["X-RateLimit-Limit"] == "5"
        assert "X-RateLimit-Remaining" in response.headers
        assert int(response.headers["X-RateLimit-Reset"]) > 1_700_000_000  # epoch seconds
    assert statuses == [200] * 5 + [429]
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert sb.rate_limit_violations == 1


def test_unknown_path_is_resource_not_found(api):
    response = api.get("/v3/nothing_here")
    assert response.status_code == 404 and response.json() == {"errors": ["Resource not found"]}


def test_writes_validate_like_the_api(api, sandbox):
    job_id = int(sandbox.jobs()[0].ats_id)
    assert api.post("/v3/candidates", json={"first_name": "A"}).status_code == 422
    unknown = api.post("/v3/candidates", json={"first_name": "A", "last_name": "B", "x": 1})
    assert unknown.status_code == 422 and "x" in unknown.json()["errors"][0]
    created = api.post(
        "/v3/candidates",
        json={"first_name": "A", "last_name": "B", "application": {"job_id": job_id}},
    )
    assert created.status_code == 201
    body = created.json()
    cid, aid = body["candidate"]["id"], body["application"]["id"]
    assert body["application"]["stage_name"] == "Application Review"
    again = api.post("/v3/applications", json={"candidate_id": cid, "job_id": job_id})
    assert again.status_code == 422
    bad64 = {"application_id": aid, "filename": "cv.pdf", "type": "resume", "content": "@@"}
    assert api.post("/v3/attachments", json=bad64).status_code == 422
    for n in (1, 2):
        content = base64.b64encode(f"resume {n}".encode()).decode()
        doc = {"application_id": aid, "filename": f"cv{n}.pdf", "type": "resume"}
        assert api.post("/v3/attachments", json={**doc, "content": content}).status_code == 201
    files = api.get("/v3/attachments", params={"application_ids": aid}).json()
    assert {f["filename"]: f["type"] for f in files} == {"cv1.pdf": "other", "cv2.pdf": "resume"}
    assert sandbox.people(email=None)[-1].resume == b"resume 2"
    missing_school = {"candidate_id": cid, "start_date": "2012-09-01T00:00:00.000Z"}
    assert api.post("/v3/candidate_educations", json=missing_school).status_code == 422
    no_title = {"candidate_id": cid, "company_name": "Globex", "start_date": "2019-01-01"}
    assert api.post("/v3/candidate_employments", json=no_title).status_code == 422


def test_control_api_moves_and_reports(sandbox, api):
    facts = sandbox.jobs()
    job = next(f for f in facts if f.status is JobStatus.OPEN)
    people = sandbox.pipeline(job.ats_id)
    assert len(people) == 4
    sandbox.move_candidate(job.ats_id, people[0], CandidateStatus.HIRED)
    rows = api.get("/v3/applications", params={"candidate_ids": people[0]}).json()
    assert rows[0]["status"] == "hired"
    sandbox.close_job(job.ats_id)
    closed = api.get("/v3/jobs", params={"ids": job.ats_id}).json()[0]
    assert closed["status"] == "closed" and closed["closed_at"]
    with pytest.raises(ValueError, match="on-hold"):
        sandbox.set_job_status(job.ats_id, JobStatus.ON_HOLD)
