"""Every /v1 endpoint through HTTP (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import time
from typing import Any

from atsbridge import leaddoc
from fastapi.testclient import TestClient
from httpfake import GOOD_KEY
from httpworld import World, problem

ACME = "/v1/tenants/acme"


def lead(lead_id: str = "lead-1", email: str = "lead-1@example.org") -> dict[str, Any]:
    doc = copy.deepcopy(leaddoc.EXAMPLE)
    doc.update(id=lead_id, emails=[email])
    return doc


# --- plugins ---------------------------------------------------------------------------------


def test_plugins_list_and_detail(client: TestClient, world: World) -> None:
    r = client.get("/v1/plugins", headers=world.auth("acme_read"))
    assert r.status_code == 200
    [item] = r.json()["items"]
    assert item["name"] == "httpfake" and item["status"] == "ok"
    assert "lead_push" in item["capabilities"]
    r = client.get("/v1/plugins/httpfake", headers=world.auth("acme_read"))
    body = r.json()
    assert body["config_schema"]["required"] == ["api_key", "account"]
    assert body["setup_instructions"].startswith("1. Create an API key.")
    assert body["rate_limit"]["requests_per_second"] > 0
    problem(client.get("/v1/plugins/nope", headers=world.auth("acme_read")), 404, "not_found")


# --- connections -----------------------------------------------------------------------------


def test_connection_read_is_masked(client: TestClient, world: World) -> None:
    r = client.get(f"{ACME}/connections/httpfake", headers=world.auth("acme_read"))
    assert r.status_code == 200
    assert r.json()["config"] == {"api_key": "••••", "account": "acme"}
    assert GOOD_KEY not in r.text
    r = client.get(f"{ACME}/connections", headers=world.auth("acme_read"))
    assert [c["ats"] for c in r.json()["items"]] == ["httpfake"]
    assert GOOD_KEY not in r.text


def test_connect_names_each_bad_field_and_stores_nothing(client: TestClient, world: World) -> None:
    r = client.put(
        "/v1/tenants/initech/connections/httpfake",
        json={"config": {"api_key": "short", "colour": "red"}},
        headers=world.auth("admin"),
    )
    body = problem(r, 422, "input.invalid")
    fields = {e["field"] for e in body["errors"]}
    assert "body.config.api_key" in fields and "body.config.account" in fields
    assert world.app.connections.list("initech") == []


def test_connect_tests_credentials_and_refuses_bad_ones(client: TestClient, world: World) -> None:
    url = "/v1/tenants/initech/connections/httpfake"
    bad = {"config": {"api_key": "wrong-key-123456", "account": "initech"}}
    problem(client.put(url, json=bad, headers=world.auth("admin")), 422, "ats.auth_failed")
    assert world.app.connections.list("initech") == []
    good = {"config": {"api_key": GOOD_KEY, "account": "initech"}}
    r = client.put(url, json=good, headers=world.auth("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["config"]["api_key"] == "••••"
    assert world.fake.calls["open_session"] == 2
    assert world.app.connections.get("initech", "httpfake").config["account"] == "initech"


def test_connect_refuses_env_and_file_references(client: TestClient, world: World) -> None:
    for ref in ({"$env": "ATSBRIDGE_SECRET_KEY"}, {"$file": "/etc/passwd"}):
        body = {"config": {"api_key": ref, "account": "initech"}}
        r = client.put(
            "/v1/tenants/initech/connections/httpfake", json=body, headers=world.auth("admin")
        )
        assert problem(r, 422, "input.invalid")["errors"][0]["field"] == "body.config.api_key"
    assert world.fake.calls["open_session"] == 0
    assert world.app.connections.list("initech") == []


def test_connect_and_disconnect_need_an_admin_key(client: TestClient, world: World) -> None:
    url = f"{ACME}/connections/httpfake"
    body = {"config": {"api_key": GOOD_KEY, "account": "acme"}}
    problem(client.put(url, json=body, headers=world.auth("acme_write")), 403, "auth.forbidden")
    problem(client.delete(url, headers=world.auth("acme_write")), 403, "auth.forbidden")
    assert client.delete(url, headers=world.auth("admin")).status_code == 204
    problem(client.get(url, headers=world.auth("admin")), 404, "not_found")


def test_connection_test_records_the_outcome(client: TestClient, world: World) -> None:
    url = f"{ACME}/connections/httpfake/test"
    r = client.post(url, headers=world.auth("acme_write"))
    assert r.status_code == 200 and r.json()["last_check_error"] is None
    world.fake.down = True
    body = problem(client.post(url, headers=world.auth("acme_write")), 503, "ats.unavailable")
    assert "simulated outage" in body["detail"]
    assert "simulated outage" in world.app.connections.get("acme", "httpfake").last_check_error


def _wait_for_runs(client: TestClient, world: World) -> list[dict[str, Any]]:
    url = f"{ACME}/connections/httpfake/syncs"
    for _ in range(500):
        runs = client.get(url, headers=world.auth("acme_read")).json()["items"]
        if runs and all(r["status"] != "running" for r in runs):
            return runs
        time.sleep(0.01)
    raise AssertionError("the sync never finished")


def test_sync_starts_and_its_progress_is_readable(client: TestClient, world: World) -> None:
    world.fake.add_job("acme", "A4", "Platform Engineer")
    url = f"{ACME}/connections/httpfake/syncs"
    r = client.post(url, json={"kinds": ["jobs"]}, headers=world.auth("acme_write"))
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["runs"] and started["runs"][0]["kind"] == "jobs"
    run_id = started["runs"][0]["id"]
    runs = _wait_for_runs(client, world)
    assert runs[0]["id"] == run_id  # newest first
    one = client.get(f"{url}/{run_id}", headers=world.auth("acme_read")).json()
    assert one["status"] == "succeeded" and one["counts"]["added"] == 1
    assert world.fake.calls["search_jobs"] == 1
    problem(client.get(f"{url}/999999", headers=world.auth("acme_read")), 404, "not_found")
    r = client.post(url, json={"kinds": ["nope"]}, headers=world.auth("acme_write"))
    problem(r, 422, "input.invalid")


def test_sync_failing_at_once_is_answered_as_the_error(client: TestClient, world: World) -> None:
    world.fake.down = True
    # As in a new process: the fixture's sync left a pooled session, which would carry the
    # run past its open and fail it later, on its first page.
    world.app.session_pool.close()
    r = client.post(f"{ACME}/connections/httpfake/syncs", json={}, headers=world.auth("acme_write"))
    problem(r, 503, "ats.unavailable")


def test_runs_page_with_a_cursor(client: TestClient, world: World) -> None:
    world.app.jobs.sync("acme", "httpfake")  # a second run beside the fixture's
    url = f"{ACME}/connections/httpfake/syncs?limit=1"
    first = client.get(url, headers=world.auth("acme_read")).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(
        f"{url}&cursor={first['next_cursor']}", headers=world.auth("acme_read")
    ).json()
    assert second["items"][0]["id"] < first["items"][0]["id"]


# --- jobs and links --------------------------------------------------------------------------


def test_job_search_recent_first_and_by_text(client: TestClient, world: World) -> None:
    h = world.auth("acme_read")
    ids = [j["ats_id"] for j in client.get(f"{ACME}/jobs", headers=h).json()["items"]]
    assert ids == ["A3", "A2", "A1"]
    for q, expected in [
        ("backend", ["A1"]),
        ("berlin", ["A1"]),
        ("REF-200", ["A2"]),
        ("ref-3", ["A3"]),
        ("A2", ["A2"]),
        ("fronte", ["A2"]),
    ]:
        items = client.get(f"{ACME}/jobs", params={"q": q}, headers=h).json()["items"]
        assert [j["ats_id"] for j in items] == expected, q
    items = client.get(f"{ACME}/jobs", params={"q": "backend"}, headers=h).json()["items"]
    assert items[0]["linked_to"] == "pj-1" and items[0]["match"] == "title"
    open_only = client.get(f"{ACME}/jobs", params={"status": "open"}, headers=h).json()
    assert {j["ats_id"] for j in open_only["items"]} == {"A1", "A2"}
    assert world.fake.calls["search_jobs"] == 0  # the mirror answers, not the ATS


def test_job_search_pages_with_next_cursor(client: TestClient, world: World) -> None:
    h = world.auth("acme_read")
    seen = []
    url = f"{ACME}/jobs?limit=2"
    while url:
        page = client.get(url, headers=h).json()
        seen += [j["ats_id"] for j in page["items"]]
        url = f"{ACME}/jobs?limit=2&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == ["A3", "A2", "A1"]
    problem(client.get(f"{ACME}/jobs?cursor=garbage!", headers=h), 422, "input.invalid")


def test_one_job(client: TestClient, world: World) -> None:
    r = client.get(f"{ACME}/jobs/httpfake/A2", headers=world.auth("acme_read"))
    assert r.json()["title"] == "Frontend Developer" and r.json()["department"] == "Web"
    problem(
        client.get(f"{ACME}/jobs/httpfake/NOPE", headers=world.auth("acme_read")), 404, "not_found"
    )


def test_link_import_is_idempotent(client: TestClient, world: World) -> None:
    url = f"{ACME}/product-jobs/pj-2/link"
    body = {"ats": "httpfake", "ats_job_id": "A2"}
    first = client.put(url, json=body, headers=world.auth("acme_write"))
    assert first.status_code == 201, first.text
    result = first.json()
    assert result["created"] is True
    assert result["prefilled"]["title"] == "Frontend Developer"
    assert result["prefilled"]["location"]["text"] == "Paris, France"
    assert set(result["missing"]) == {"description", "employment_type"}
    again = client.put(url, json=body, headers=world.auth("acme_write"))
    assert again.status_code == 200
    assert {**again.json(), "created": True} == result
    other = client.put(
        url, json={"ats": "httpfake", "ats_job_id": "A3"}, headers=world.auth("acme_write")
    )
    problem(other, 409, "conflict")
    taken = client.put(
        f"{ACME}/product-jobs/pj-3/link", json=body, headers=world.auth("acme_write")
    )
    problem(taken, 409, "conflict")
    link = client.get(url, headers=world.auth("acme_read")).json()
    assert link["ats_job_id"] == "A2" and link["title"] == "Frontend Developer"
    problem(client.put(url, json=body, headers=world.auth("acme_read")), 403, "auth.forbidden")


def test_links_list_and_updated_after(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    client.put(
        f"{ACME}/product-jobs/pj-2/link", json={"ats": "httpfake", "ats_job_id": "A2"}, headers=h
    )
    items = client.get(f"{ACME}/links", headers=h).json()["items"]
    assert [i["product_job_id"] for i in items] == ["pj-2", "pj-1"]
    after = items[1]["updated_at"]
    newer = client.get(f"{ACME}/links", params={"updated_after": after}, headers=h).json()
    assert [i["product_job_id"] for i in newer["items"]] == ["pj-2"]
    page = client.get(f"{ACME}/links?limit=1", headers=h).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    naive = client.get(f"{ACME}/links", params={"updated_after": "2026-01-01T00:00:00"}, headers=h)
    problem(naive, 422, "input.invalid")
    problem(client.get(f"{ACME}/product-jobs/nope/link", headers=h), 404, "not_found")


# --- do-not-source ---------------------------------------------------------------------------

DNS = f"{ACME}/product-jobs/pj-1/do-not-source"


def test_do_not_source_from_the_pipeline_list_search_and_check(
    client: TestClient, world: World
) -> None:
    world.app.cnts.sync("acme", "httpfake")
    h = world.auth("acme_read")
    page = client.get(DNS, headers=h).json()
    assert page["total"] == 1 and page["items"][0]["emails"] == ["ada@example.org"]
    assert client.get(DNS, params={"search": "quint"}, headers=h).json()["total"] == 1
    assert client.get(DNS, params={"search": "zzz"}, headers=h).json()["total"] == 0
    assert client.get(DNS, params={"source": "file"}, headers=h).json()["total"] == 0
    problem(client.get(DNS, params={"source": "x"}, headers=h), 422, "input.invalid")
    r = client.post(
        f"{DNS}/check",
        json={"people": [{"emails": ["ADA@example.org"]}, {"emails": ["new@example.org"]}]},
        headers=h,
    )
    first, second = r.json()["results"]
    assert first["excluded"] is True and first["rule"] == "email"
    assert first["matches"][0]["source"] == "ats"
    assert second == {"excluded": False, "rule": None, "matches": [], "problems": []}
    problem(client.post(f"{DNS}/check", json={"people": []}, headers=h), 422, "input.invalid")


CSV = b"email,name,phone\nzed@example.org,Zed Zed,+49 30 1234567\nnot-an-email,,\n"


def test_file_import_dry_run_then_for_real(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    files = {"file": ("people.csv", CSV, "text/csv")}
    dry = client.post(f"{DNS}/imports", files=files, data={"dry_run": "true"}, headers=h)
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True and report["added"] == 1
    assert report["problems"][0]["row"] == 3
    assert report["columns"]["email"] == "email"
    assert client.get(DNS, headers=h).json()["total"] == 0  # nothing stored
    assert client.get(f"{DNS}/imports", headers=h).json()["items"] == []
    real = client.post(f"{DNS}/imports", files=files, headers=h)
    assert real.status_code == 201 and real.json()["added"] == 1
    import_id = real.json()["import_id"]
    entries = client.get(DNS, params={"source": "file"}, headers=h).json()["items"]
    assert entries[0]["emails"] == ["zed@example.org"]
    [record] = client.get(f"{DNS}/imports", headers=h).json()["items"]
    assert record["id"] == import_id and record["file_name"] == "people.csv"
    again = client.post(f"{DNS}/imports", files=files, headers=h).json()
    assert again["added"] == 0 and again["unchanged"] == 1  # idempotent
    removed = client.delete(f"{DNS}/imports/{import_id}", headers=h)
    assert removed.status_code == 200 and removed.json()["kept"] == 1
    problem(client.delete(f"{DNS}/imports/999999", headers=h), 404, "not_found")
    unlinked = f"{ACME}/product-jobs/pj-none/do-not-source/imports"
    problem(client.post(unlinked, files=files, headers=h), 404, "not_found")
    created = client.post(unlinked, files=files, data={"create": "true"}, headers=h)
    assert created.status_code == 201
    bad = client.post(
        f"{DNS}/imports", files={"file": ("x.xls", b"\xd0\xcf\x11\xe0rest")}, headers=h
    )
    problem(bad, 422, "input.invalid")
    problem(client.post(f"{DNS}/imports", headers=h), 422, "input.invalid")


# --- leads -----------------------------------------------------------------------------------

LEADS = f"{ACME}/product-jobs/pj-1/leads"


def test_lead_push_read_list_and_funnel(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    r = client.post(LEADS, json=lead(), headers=h)
    assert r.status_code == 201, r.text
    pushed = r.json()
    assert pushed["state"] == "exported" and pushed["already_queued"] is False
    assert pushed["candidate_id"] == "C1"
    assert world.fake.calls["push_lead"] == 1
    again = client.post(LEADS, json=lead(), headers=h)
    assert again.status_code == 200 and again.json()["already_queued"] is True
    assert world.fake.calls["push_lead"] == 1
    one = client.get(f"{LEADS}/lead-1", headers=h).json()
    assert one["state"] == "exported" and one["ats_job_id"] == "A1"
    assert [i["lead_id"] for i in client.get(LEADS, headers=h).json()["items"]] == ["lead-1"]
    everything = client.get(f"{ACME}/leads", params={"state": "exported"}, headers=h).json()
    assert [i["lead_id"] for i in everything["items"]] == ["lead-1"]
    funnel = client.get(f"{ACME}/product-jobs/pj-1/funnel", headers=h).json()
    assert funnel["states"]["exported"] == 1 and funnel["statuses"]["new"] == 1
    problem(client.get(f"{LEADS}/nope", headers=h), 404, "not_found")
    problem(client.get(f"{ACME}/product-jobs/nope/funnel", headers=h), 404, "not_found")


def test_lead_push_names_bad_fields(client: TestClient, world: World) -> None:
    bad = {**lead(), "first_name": 3, "shoe_size": 44}
    body = problem(
        client.post(LEADS, json=bad, headers=world.auth("acme_write")), 422, "input.invalid"
    )
    fields = {e["field"] for e in body["errors"]}
    assert "body.lead.first_name" in fields
    assert any("shoe_size" in e["message"] or "shoe_size" in e["field"] for e in body["errors"])
    problem(client.post(LEADS, json=[1], headers=world.auth("acme_write")), 422, "input.invalid")
    assert world.fake.calls["push_lead"] == 0


def test_idempotency_key_replays_and_refuses_another_body(client: TestClient, world: World) -> None:
    h = {**world.auth("acme_write"), "Idempotency-Key": "push-1"}
    first = client.post(LEADS, json=lead(), headers=h)
    assert first.status_code == 201
    replay = client.post(LEADS, json=lead(), headers=h)
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert world.fake.calls["push_lead"] == 1
    other = client.post(LEADS, json=lead("lead-2", "two@example.org"), headers=h)
    problem(other, 422, "idempotency.mismatch")
    assert world.fake.calls["push_lead"] == 1
    assert [i["lead_id"] for i in client.get(LEADS, headers=h).json()["items"]] == ["lead-1"]


def test_a_failed_push_is_not_kept_for_replays(client: TestClient, world: World) -> None:
    h = {**world.auth("acme_write"), "Idempotency-Key": "push-bad"}
    problem(client.post(LEADS, json={"id": "x"}, headers=h), 422, "input.invalid")
    assert client.post(LEADS, json=lead(), headers=h).status_code == 201


def test_lead_list_pages_and_filters(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    for i in range(3):
        client.post(f"{LEADS}?export_now=false", json=lead(f"l{i}", f"l{i}@example.org"), headers=h)
    page = client.get(f"{LEADS}?limit=2", headers=h).json()
    assert [i["lead_id"] for i in page["items"]] == ["l0", "l1"]
    rest = client.get(f"{LEADS}?limit=2&cursor={page['next_cursor']}", headers=h).json()
    assert [i["lead_id"] for i in rest["items"]] == ["l2"] and rest["next_cursor"] is None
    assert world.fake.calls["push_lead"] == 0
    after = page["items"][0]["updated_at"]
    newer = client.get(LEADS, params={"updated_after": after}, headers=h).json()["items"]
    assert [i["lead_id"] for i in newer] == ["l1", "l2"]
    problem(client.get(LEADS, params={"state": "bogus"}, headers=h), 422, "input.invalid")
