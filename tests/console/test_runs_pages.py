"""Runs: sync runs per connection with status, progress and errors, and the health of the
webhook endpoints that get the tenant's events."""

from __future__ import annotations

from datetime import UTC, datetime

from atsbridge.store.tables import SyncRun, WebhookEndpointRow
from consoleworld import embedded
from fastapi.testclient import TestClient
from httpworld import World
from sqlmodel import col, select

RUNS = "/console/t/acme/runs"


def _fail_last_run(world: World, message: str) -> int:
    with world.app.store.tenant("acme") as repo:
        run = repo.all(select(SyncRun).order_by(col(SyncRun.id).desc()).limit(1))[0]
        run.status = "failed"
        run.errors = [message]
        assert run.id is not None
        return run.id


def test_runs_show_status_progress_and_errors(world: World, staff: TestClient) -> None:
    failed = _fail_last_run(world, "AtsUnavailable: the ATS did not answer")
    page = staff.get(RUNS)
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h1>Runs of acme</h1>" in text and 'id="runs-httpfake"' in text
    assert f'<tr data-run="{failed}"><td>{failed}</td><td>jobs' in text
    assert '<td class="status-failed">failed</td>' in text
    assert "AtsUnavailable: the ATS did not answer" in text
    assert 'data-running="no"' in text and "every 2s" not in text
    assert '<label for="runs-status">Status</label>' in text
    assert 'aria-current="page">Runs</a>' in text


def test_runs_filter_by_status_and_connection(world: World, staff: TestClient) -> None:
    failed = _fail_last_run(world, "boom")
    only = staff.get(f"{RUNS}/list?status=failed")
    assert only.text.startswith('<section id="runs"')
    assert only.text.count("<tr data-run=") == 1 and f'data-run="{failed}"' in only.text
    assert staff.get(f"{RUNS}/list?status=succeeded").text.count("<tr data-run=") == 0
    assert staff.get(f"{RUNS}?ats=httpfake").status_code == 200
    bad = staff.get(f"{RUNS}?status=exploded")
    assert bad.status_code == 422 and "status: one of running" in bad.text
    other = staff.get(f"{RUNS}?ats=lever")
    assert other.status_code == 422 and "ats: tenant &#39;acme&#39; has no lever" in other.text


def test_a_running_run_makes_the_list_poll(world: World, staff: TestClient) -> None:
    with world.app.store.tenant("acme") as repo:
        run = repo.all(select(SyncRun).order_by(col(SyncRun.id).desc()).limit(1))[0]
        run.status, run.ended_at = "running", None
    page = staff.get(RUNS)
    assert 'data-running="yes"' in page.text
    assert 'hx-get="/console/t/acme/runs/list?ats=&amp;status=" hx-trigger="every 2s"' in page.text


def test_webhook_endpoint_health(world: World, staff: TestClient) -> None:
    mine, _ = world.app.webhooks.create(
        tenant="acme", url="https://product.example/hooks/acme", event_types=None
    )
    world.app.webhooks.create(
        tenant="globex", url="https://product.example/hooks/globex", event_types=None
    )
    everyone, _ = world.app.webhooks.create(
        tenant=None, url="https://product.example/hooks/all", event_types=None
    )
    with world.app.store.system_session() as session:
        row = session.get(WebhookEndpointRow, mine["id"])
        assert row is not None
        row.consecutive_failures, row.last_error = 3, "HTTP 500 from the endpoint"
        row.last_failure_at = datetime(2026, 11, 1, 12, 30, tzinfo=UTC)
    text = staff.get(RUNS).text
    assert f'id="webhook-{mine["id"]}"' in text and "HTTP 500 from the endpoint" in text
    assert '<td class="bad">3</td>' in text
    assert "hooks/globex" not in text
    # Staff see the endpoints for every tenant too; a tenant's session does not.
    assert f'id="webhook-{everyone["id"]}"' in text and "(every tenant)" in text


def test_an_embedded_session_sees_only_its_tenant_and_endpoints(
    world: World, anon: TestClient
) -> None:
    everyone, _ = world.app.webhooks.create(
        tenant=None, url="https://product.example/hooks/all", event_types=None
    )
    world.app.webhooks.create(
        tenant="acme", url="https://product.example/hooks/acme", event_types=None
    )
    embedded(anon, world, "acme_read", "acme", views=["runs"])
    page = anon.get(RUNS)
    assert page.status_code == 200 and "hooks/acme" in page.text
    assert everyone["id"] not in page.text
    assert anon.get("/console/t/globex/runs").status_code == 404
    assert anon.get("/console/t/globex/runs/list").status_code == 404


def test_a_session_without_the_runs_view_cannot_open_runs(world: World, anon: TestClient) -> None:
    embedded(anon, world, "acme_write", "acme", views=["jobs"])
    assert anon.get(RUNS).status_code == 404
    page = anon.get("/console/t/acme/jobs")
    assert 'href="/console/t/acme/runs"' not in page.text
