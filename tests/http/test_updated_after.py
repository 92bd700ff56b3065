"""``updated_after`` on the lists that lacked it: job search, do-not-source entries and
imports, sync runs, webhook endpoints and the event feed. Strictly after; a time without
a zone is a 422 naming the parameter."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpworld import World, problem

ACME = "/v1/tenants/acme"
DNS = f"{ACME}/product-jobs/pj-1/do-not-source"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _recency(job: dict) -> str:
    return str(job["updated_at"] or job["created_at"])


@pytest.mark.parametrize(
    "path",
    [
        f"{ACME}/jobs",
        DNS,
        f"{DNS}/imports",
        f"{ACME}/connections/httpfake/syncs",
        "/v1/webhooks",
        "/v1/events",
    ],
)
def test_a_time_without_a_zone_is_refused(client: TestClient, world: World, path: str) -> None:
    r = client.get(
        path, params={"updated_after": "2026-01-01T00:00:00"}, headers=world.auth("admin")
    )
    problem(r, 422, "input.invalid")
    assert "updated_after" in r.text


@pytest.mark.parametrize("q", [None, "engineer"])
def test_job_search_keeps_what_changed_after(
    client: TestClient, world: World, q: str | None
) -> None:
    h = world.auth("acme_read")
    params = {"q": q} if q else {}
    every = client.get(f"{ACME}/jobs", params=params, headers=h).json()["items"]
    assert len(every) >= 1
    oldest = min(every, key=_recency)
    newer = client.get(
        f"{ACME}/jobs", params={**params, "updated_after": _recency(oldest)}, headers=h
    ).json()["items"]
    assert [j["ats_id"] for j in newer] == [
        j["ats_id"] for j in every if _at(_recency(j)) > _at(_recency(oldest))
    ]
    assert oldest["ats_id"] not in {j["ats_id"] for j in newer}
    before = _iso(_at(_recency(oldest)) - timedelta(seconds=1))
    again = client.get(f"{ACME}/jobs", params={**params, "updated_after": before}, headers=h)
    assert [j["ats_id"] for j in again.json()["items"]] == [j["ats_id"] for j in every]


def test_do_not_source_entries_and_imports(client: TestClient, world: World) -> None:
    h = world.auth("acme_write")
    client.post(
        f"{DNS}/imports",
        files={"file": ("one.csv", b"email\nada@example.org\n", "text/csv")},
        headers=h,
    )
    listed = client.get(DNS, headers=h).json()["items"]
    assert listed
    first = max(_at(e["updated_at"]) for e in listed)
    sent = client.post(
        f"{DNS}/imports",
        files={"file": ("dns.csv", b"email\nzoe@example.org\n", "text/csv")},
        headers=h,
    )
    assert sent.status_code == 201, sent.text
    newer = client.get(DNS, params={"updated_after": _iso(first)}, headers=h).json()
    assert [e["emails"] for e in newer["items"]] == [["zoe@example.org"]]
    assert newer["total"] == 1
    imports = client.get(f"{DNS}/imports", headers=h).json()["items"]
    made = _at(imports[0]["imported_at"])
    after = client.get(
        f"{DNS}/imports", params={"updated_after": _iso(made - timedelta(seconds=1))}, headers=h
    ).json()["items"]
    assert [i["id"] for i in after] == [imports[0]["id"]]
    none = client.get(f"{DNS}/imports", params={"updated_after": _iso(made)}, headers=h)
    assert none.json()["items"] == []


def test_sync_runs_webhooks_and_events(client: TestClient, world: World) -> None:
    h = world.auth("admin")
    runs = client.get(f"{ACME}/connections/httpfake/syncs", headers=h).json()["items"]
    last = max(_at(r["ended_at"]) for r in runs)
    assert (
        client.get(
            f"{ACME}/connections/httpfake/syncs", params={"updated_after": _iso(last)}, headers=h
        ).json()["items"]
        == []
    )
    world.app.sync.run("acme", "httpfake", ["jobs"])
    later = client.get(
        f"{ACME}/connections/httpfake/syncs", params={"updated_after": _iso(last)}, headers=h
    ).json()["items"]
    assert [r["kind"] for r in later] == ["jobs"]

    body = {"url": "http://127.0.0.1:9/hook", "tenant": "acme"}
    one = client.post("/v1/webhooks", json=body, headers=h).json()
    two = client.post("/v1/webhooks", json=body, headers=h).json()
    client.patch(f"/v1/webhooks/{one['id']}", json={"description": "moved"}, headers=h)
    changed = client.get(
        "/v1/webhooks", params={"updated_after": two["updated_at"]}, headers=h
    ).json()["items"]
    assert [w["id"] for w in changed] == [one["id"]]

    events = client.get("/v1/events", params={"limit": 500}, headers=h).json()["items"]
    cut = events[len(events) // 2]["created_at"]
    newer = client.get("/v1/events", params={"limit": 500, "updated_after": cut}, headers=h).json()[
        "items"
    ]
    assert newer and all(_at(e["created_at"]) > _at(cut) for e in newer)
    assert [e["id"] for e in newer] == [e["id"] for e in events if _at(e["created_at"]) > _at(cut)]
