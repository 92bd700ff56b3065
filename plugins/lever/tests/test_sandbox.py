"""The fake Lever behaves as ATS-API-NOTES §2 says Lever does (checked over raw HTTP)."""

from __future__ import annotations

import base64
import threading

import httpx
import pytest
from atsbridge.model import JobStatus, SandboxOptions
from atsbridge_lever.sandbox import STATE_STATUS, LeverSandbox


def _all(api: httpx.Client, path: str, params: dict) -> list[dict]:
    out, token = [], None
    while True:
        query = {**params, **({"offset": token} if token else {})}
        body = api.get(path, params=query).json()
        out.extend(body["data"])
        if not body["hasNext"]:
            assert "next" not in body
            return out
        token = body["next"]


def test_auth_is_basic_with_key_as_user(sandbox):
    url = sandbox.connection_config()["base_url"] + "/postings"
    assert httpx.get(url).status_code == 401
    wrong = httpx.get(url, auth=("not-the-key", ""))
    assert wrong.status_code == 401
    assert set(wrong.json()) == {"code", "message"}
    assert wrong.json()["code"] == "UnauthorizedError"
    key = base64.b64encode(f"{sandbox.api_key}:".encode()).decode()
    assert httpx.get(url, headers={"Authorization": f"Basic {key}"}).status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_is_1_to_100(api, limit):
    response = api.get("/postings", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["code"] == "BadRequestError"


def test_unknown_parameter_is_refused(api):
    assert api.get("/postings", params={"updated_after": 1}).status_code == 400
    assert api.get("/opportunities", params={"posting": "x"}).status_code == 400


def test_postings_page_through_everything_once(api, sandbox):
    # The default world holds confidential postings (every 5th): only "all" lists them.
    seen = _all(api, "/postings", {"limit": 5, "confidentiality": "all"})
    assert len(seen) == 12 == len({p["id"] for p in seen})
    public = _all(api, "/postings", {"limit": 5})
    hidden = {p["id"] for p in sandbox.postings.values() if p["confidentiality"] == "confidential"}
    assert len(hidden) == 2
    assert {p["id"] for p in public} == {p["id"] for p in seen} - hidden
    assert {p["id"] for p in seen} == {j.ats_id for j in sandbox.jobs()}
    stamps = [p["updatedAt"] for p in seen]
    assert stamps == sorted(stamps, reverse=True)  # most recently updated first


def test_offset_tokens_only_as_issued(api):
    first = api.get("/postings", params={"limit": 5}).json()
    assert api.get("/postings", params={"limit": 5, "offset": first["next"]}).status_code == 200
    bad = api.get("/postings", params={"limit": 5, "offset": "0.123.abc"})
    assert bad.status_code == 400
    assert "offset" in bad.json()["message"]
    opps = api.get("/opportunities", params={"limit": 2}).json()
    # A token from another list is not a token of this one.
    assert api.get("/postings", params={"offset": opps["next"]}).status_code == 400


def test_updated_at_start_is_epoch_ms(api, sandbox):
    stamps = sorted(p["updatedAt"] for p in sandbox.postings.values())
    middle = stamps[6]
    got = _all(api, "/postings", {"updated_at_start": middle})
    assert sorted(p["updatedAt"] for p in got) == stamps[6:]
    assert api.get("/postings", params={"updated_at_start": "2026-01-01"}).status_code == 400


def test_state_filter_repeats_for_or(api, sandbox):
    got = _all(api, "/postings", {"state": ["closed", "draft"]})
    expected = {p["id"] for p in sandbox.postings.values() if p["state"] in ("closed", "draft")}
    assert {p["id"] for p in got} == expected
    assert api.get("/postings", params={"state": "open"}).status_code == 400


def test_sandbox_states_match_job_facts(sandbox):
    facts = {f.ats_id: f for f in sandbox.jobs()}
    for pid, posting in sandbox.postings.items():
        assert facts[pid].status is STATE_STATUS[posting["state"]]
    assert {p["state"] for p in sandbox.postings.values()} >= {"published", "internal"}


def test_pipeline_is_union_of_live_and_archived(api, sandbox):
    sandbox.enforce_rate_limit = False  # dozens of raw pages in a row; the cap has its own test
    everyone = {"limit": 3, "confidentiality": "all"}  # confidential postings' people too
    for job in sandbox.jobs():
        live = _all(api, "/opportunities", {"posting_id": job.ats_id, **everyone})
        gone = _all(api, "/opportunities", {"archived_posting_id": job.ats_id, **everyone})
        assert all(o["archived"] is None for o in live)
        assert all(o["archived"] is not None for o in gone)
        assert sorted({o["contact"] for o in live + gone}) == sandbox.pipeline(job.ats_id)
    archived_total = sum(o["archived"] is not None for o in sandbox.opportunities.values())
    assert archived_total > 0


def test_expand_stage(api, sandbox):
    job = sandbox.jobs()[0].ats_id
    plain = api.get("/opportunities", params={"posting_id": job}).json()["data"]
    expanded = api.get("/opportunities", params={"posting_id": job, "expand": "stage"}).json()
    assert all(isinstance(o["stage"], str) for o in plain)
    assert all(set(o["stage"]) == {"id", "text"} for o in expanded["data"])
    stages = api.get("/stages").json()["data"]
    assert {s["id"] for s in stages} >= {o["stage"] for o in plain}


def test_archive_reasons_say_hired_or_not(api):
    reasons = api.get("/archive_reasons").json()["data"]
    assert {r["type"] for r in reasons} == {"hired", "non-hired"}
    hired = api.get("/archive_reasons", params={"type": "hired"}).json()["data"]
    assert [r["text"] for r in hired] == ["Hired"]


def test_posting_404_body(api):
    response = api.get("/postings/does-not-exist")
    assert response.status_code == 404
    assert response.json()["code"] == "ResourceNotFoundError"


def test_create_needs_perform_as_and_known_fields(api, sandbox):
    sandbox.enforce_rate_limit = False  # several creates in a row; the cap has its own test
    job = sandbox.jobs()[0].ats_id
    body = {"name": "Ada Q", "emails": ["ada@example.org"], "postings": [job]}
    assert api.post("/opportunities", json=body).status_code == 400
    params = {"perform_as": sandbox.user_id}
    assert api.post("/opportunities", params=params, json={**body, "email": "x"}).status_code == 400
    bad_phone = {**body, "phones": [{"type": "fax", "value": "1"}]}
    assert api.post("/opportunities", params=params, json=bad_phone).status_code == 400
    created = api.post("/opportunities", params=params, json=body)
    assert created.status_code == 201
    opp = created.json()["data"]
    assert opp["stage"] == "applicant-new"
    assert sandbox.pipeline(job).count(opp["contact"]) == 1


def test_create_reuses_contact_with_same_email(api, sandbox):
    sandbox.enforce_rate_limit = False
    jobs = [j.ats_id for j in sandbox.jobs()][:2]
    person = next(iter(sandbox.contacts.values()))
    params = {"perform_as": sandbox.user_id}
    body = {"name": "Someone", "emails": [person["emails"][0].upper()], "postings": [jobs[1]]}
    opp = api.post("/opportunities", params=params, json=body).json()["data"]
    assert opp["contact"] == person["id"]
    by_email = api.get("/opportunities", params={"email": person["emails"][0]}).json()["data"]
    assert len(by_email) == 2


def test_notes_and_files(api, sandbox):
    opp_id = next(iter(sandbox.opportunities))
    params = {"perform_as": sandbox.user_id}
    assert api.post(f"/opportunities/{opp_id}/notes", json={"value": "x"}).status_code == 400
    note = api.post(f"/opportunities/{opp_id}/notes", params=params, json={"value": "hello"})
    assert note.status_code == 201 and note.json()["data"]["noteId"]
    listed = api.get(f"/opportunities/{opp_id}/notes").json()["data"]
    assert listed[0]["fields"][0]["value"] == "hello"
    files = {"file": ("cv.pdf", b"%PDF-1.7 bytes", "application/pdf")}
    up = api.post(f"/opportunities/{opp_id}/files", params=params, files=files)
    assert up.status_code == 201
    assert up.json()["data"]["name"] == "cv.pdf"
    assert sandbox.files_of(opp_id)[0][1] == b"%PDF-1.7 bytes"
    wrong = {"resumeFile": ("cv.pdf", b"x", "application/pdf")}
    assert api.post(f"/opportunities/{opp_id}/files", params=params, files=wrong).status_code == 400


def _burst(client: httpx.Client, n: int) -> list[httpx.Response]:
    out: list[httpx.Response] = []
    lock = threading.Lock()

    def one() -> None:
        response = client.get("/postings", params={"limit": 1})
        with lock:
            out.append(response)

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_rate_limit_bucket_10_per_second_burst_20(api, sandbox):
    responses = _burst(api, 40)
    limited = [r for r in responses if r.status_code == 429]
    assert 10 <= len(limited) <= 20  # 20 burst (+ a few refilled) pass, the rest are refused
    assert limited[0].json()["code"] == "TooManyRequestsError"
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert sandbox.rate_limit_violations == len(limited)


def test_without_retry_after(sandbox):
    quiet = LeverSandbox(
        SandboxOptions(seed=1, jobs=2, candidates_per_job=1), send_retry_after=False
    )
    quiet.start()
    try:
        config = quiet.connection_config()
        with httpx.Client(base_url=config["base_url"], auth=(config["api_key"], "")) as client:
            limited = [r for r in _burst(client, 30) if r.status_code == 429]
        assert limited and all("Retry-After" not in r.headers for r in limited)
    finally:
        quiet.stop()


def test_application_posts_capped_at_2_per_second(api, sandbox):
    job = sandbox.jobs()[0].ats_id
    params = {"perform_as": sandbox.user_id}
    codes = [
        api.post(
            "/opportunities", params=params, json={"name": f"P {i}", "postings": [job]}
        ).status_code
        for i in range(4)
    ]
    assert codes[:2] == [201, 201]
    assert 429 in codes[2:]


def test_token_endpoint_rotates_refresh_tokens(sandbox):
    config = sandbox.connection_config(auth_method="oauth2")
    form = {
        "grant_type": "refresh_token",
        "client_id": config["client_id"],
        "client_secret": config["client_secret"],
        "refresh_token": config["refresh_token"],
    }
    first = httpx.post(config["token_url"], data=form)
    assert first.status_code == 200
    token = first.json()
    assert token["token_type"] == "Bearer" and token["refresh_token"] != form["refresh_token"]
    again = httpx.post(config["token_url"], data=form)  # the old refresh token is dead
    assert again.status_code == 403 and again.json()["error"] == "invalid_grant"
    bad_client = httpx.post(config["token_url"], data={**form, "client_secret": "nope"})
    assert bad_client.status_code == 401
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert httpx.get(config["base_url"] + "/postings", headers=bearer).status_code == 200
    sandbox.revoke_access_tokens()
    assert httpx.get(config["base_url"] + "/postings", headers=bearer).status_code == 401


def test_control_api_moves_and_closes(sandbox, api):
    job = next(j for j in sandbox.jobs() if j.status is JobStatus.OPEN)
    before = job.updated_at
    sandbox.close_job(job.ats_id)
    after = next(j for j in sandbox.jobs() if j.ats_id == job.ats_id)
    assert after.status is JobStatus.CLOSED and after.updated_at > before
    assert api.get(f"/postings/{job.ats_id}").json()["data"]["state"] == "closed"


def test_posting_listings_are_the_full_listing_filtered_after_changes(api, sandbox):
    """The per-posting index must serve exactly what a scan of every opportunity would."""
    sandbox.enforce_rate_limit = False
    jobs = [j.ats_id for j in sandbox.jobs()]
    params = {"perform_as": sandbox.user_id}
    body = {"name": "Ines Okafor", "emails": ["ines@example.org"], "postings": [jobs[2]]}
    assert api.post("/opportunities", params=params, json=body).status_code == 201
    gone = sandbox.pipeline(jobs[0])[0]
    sandbox.remove_candidate(jobs[0], gone)
    moved = sandbox.pipeline(jobs[1])[0]
    sandbox.move_candidate(jobs[1], moved, "rejected")
    everything = _all(api, "/opportunities", {"limit": 7})
    posting = dict(sandbox.opportunity_posting)
    for job in jobs:
        for key, archived in (("posting_id", False), ("archived_posting_id", True)):
            served = _all(api, "/opportunities", {key: job, "limit": 3})
            expected = [
                o
                for o in everything
                if posting.get(o["id"]) == job and (o["archived"] is not None) == archived
            ]
            assert served == expected, (job, key)
        both = {"posting_id": job, "archived_posting_id": job, "limit": 3}
        assert _all(api, "/opportunities", both) == []
    two = _all(api, "/opportunities", {"posting_id": jobs[:2], "limit": 3})
    assert two == [o for o in everything if posting.get(o["id"]) in jobs[:2] and not o["archived"]]
    assert gone not in sandbox.pipeline(jobs[0])


def test_reads_the_notes_do_not_list_can_be_absent():
    sb = LeverSandbox(SandboxOptions(seed=3, jobs=2, candidates_per_job=1), unlisted_reads=False)
    with sb:
        config = sb.connection_config()
        with httpx.Client(base_url=config["base_url"], auth=(config["api_key"], "")) as api:
            posting = api.get("/postings").json()["data"][0]["id"]
            opp = next(iter(sb.opportunities))
            missing = api.get(f"/postings/{posting}")
            assert missing.status_code == 404 and missing.json()["code"] == "ResourceNotFoundError"
            assert api.get(f"/opportunities/{opp}").status_code == 404
            assert api.get(f"/users/{sb.user_id}").status_code == 404
            assert api.get(f"/opportunities/{opp}/notes").status_code == 405
            assert api.get(f"/opportunities/{opp}/files").status_code == 405
            note = api.post(
                f"/opportunities/{opp}/notes",
                params={"perform_as": sb.user_id},
                json={"value": "x"},
            )
            assert note.status_code == 201
