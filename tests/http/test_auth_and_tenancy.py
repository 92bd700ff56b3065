"""API keys (hashed, shown once, revocable, scoped) and tenant isolation: 404, never 403."""

from __future__ import annotations

import sqlalchemy as sa
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from click.testing import CliRunner
from fastapi.testclient import TestClient
from httpworld import World, problem


def test_keys_are_stored_as_salted_hashes_only(world: World) -> None:
    key = world.keys["acme_read"]
    secret = key.rsplit("_", 1)[1]
    with world.app.store.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM api_keys")).all()
    dump = repr(rows)
    assert secret not in dump and key not in dump
    assert len({r.salt for r in rows}) == len(rows) == 4


def test_missing_invalid_and_revoked_keys_are_refused(client: TestClient, world: World) -> None:
    problem(client.get("/v1/plugins"), 401, "auth.missing_key")
    bad = {"Authorization": "Bearer atsb_000000000000_" + "x" * 43}
    problem(client.get("/v1/plugins", headers=bad), 401, "auth.invalid_key")
    forged = world.keys["acme_read"][:-1] + ("A" if world.keys["acme_read"][-1] != "A" else "B")
    problem(
        client.get("/v1/plugins", headers={"Authorization": f"Bearer {forged}"}),
        401,
        "auth.invalid_key",
    )
    assert client.get("/v1/plugins", headers=world.auth("acme_read")).status_code == 200
    world.app.api_keys.revoke(world.keys["acme_read"])
    problem(client.get("/v1/plugins", headers=world.auth("acme_read")), 401, "auth.invalid_key")


def test_scopes(client: TestClient, world: World) -> None:
    body = {"ats": "httpfake", "ats_job_id": "A2"}
    url = "/v1/tenants/acme/product-jobs/pj-2/link"
    problem(client.put(url, json=body, headers=world.auth("acme_read")), 403, "auth.forbidden")
    assert client.put(url, json=body, headers=world.auth("acme_write")).status_code == 201


OTHER_TENANT_READS = [
    "/v1/tenants/globex/jobs",
    "/v1/tenants/globex/jobs/httpfake/G1",
    "/v1/tenants/globex/links",
    "/v1/tenants/globex/product-jobs/pj-g/link",
    "/v1/tenants/globex/product-jobs/pj-g/do-not-source",
    "/v1/tenants/globex/product-jobs/pj-g/do-not-source/imports",
    "/v1/tenants/globex/product-jobs/pj-g/leads",
    "/v1/tenants/globex/product-jobs/pj-g/leads/lead-g",
    "/v1/tenants/globex/product-jobs/pj-g/funnel",
    "/v1/tenants/globex/leads",
    "/v1/tenants/globex/connections",
    "/v1/tenants/globex/connections/httpfake",
    "/v1/tenants/globex/connections/httpfake/syncs",
]


def test_another_tenants_resources_answer_404_like_unknown_ones(
    client: TestClient, world: World
) -> None:
    doc = {"id": "lead-g", "first_name": "Gus", "last_name": "G", "emails": ["g@example.org"]}
    pushed = client.post(
        "/v1/tenants/globex/product-jobs/pj-g/leads", json=doc, headers=world.auth("globex_write")
    )
    assert pushed.status_code == 201, pushed.text
    for url in OTHER_TENANT_READS:
        assert client.get(url, headers=world.auth("globex_write")).status_code == 200, url
        mine = problem(client.get(url, headers=world.auth("acme_write")), 404, "not_found")
        unknown = client.get(url.replace("globex", "nosuch"), headers=world.auth("admin")).json()
        assert mine["detail"] == unknown["detail"].replace("nosuch", "globex"), url
    check = client.post(
        "/v1/tenants/globex/product-jobs/pj-g/do-not-source/check",
        json={"people": [{"emails": ["gus@example.org"]}]},
        headers=world.auth("acme_write"),
    )
    problem(check, 404, "not_found")
    push = client.post(
        "/v1/tenants/globex/product-jobs/pj-g/leads", json=doc, headers=world.auth("acme_write")
    )
    problem(push, 404, "not_found")
    assert world.fake.calls["push_lead"] == 1


def test_cli_creates_lists_and_revokes_keys(db_url: str) -> None:
    runner = CliRunner()
    base = ["--db", db_url, "api-keys"]
    made = runner.invoke(
        cli,
        [*base, "create", "--name", "product", "--tenant", "acme", "--scope", "write"],
        obj=CliState(),
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[0]
    assert key.startswith("atsb_")
    listed = runner.invoke(cli, [*base, "list", "--json"], obj=CliState())
    assert key.split("_")[1] in listed.stdout and key not in listed.stdout
    assert '"scope": "write"' in listed.stdout and '"acme"' in listed.stdout
    revoked = runner.invoke(cli, [*base, "revoke", key.split("_")[1]], obj=CliState())
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    assert runner.invoke(cli, [*base, "list", "--json"], obj=CliState()).stdout.strip() == "[]"
    bad = runner.invoke(cli, [*base, "create", "--name", " "], obj=CliState())
    assert bad.exit_code == 2
    unknown = runner.invoke(cli, [*base, "revoke", "nope"], obj=CliState())
    assert unknown.exit_code == 2
