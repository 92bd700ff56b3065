"""The Connections window: health, test, sync with progress, the schema-made connect form."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpfake import GOOD_KEY
from httpworld import World


def csrf(client: TestClient) -> str:
    return client.headers["x-test-csrf"]


def test_connections_show_last_sync_per_kind_and_credentials(
    world: World, staff: TestClient
) -> None:
    page = staff.get("/console/t/acme/connections")
    assert page.status_code == 200
    assert "httpfake" in page.text
    assert "<caption>Last sync per kind</caption>" in page.text
    assert "jobs" in page.text and "succeeded" in page.text
    assert "accepted" in page.text  # connect checked the credentials


def test_failing_credentials_show_on_the_page(world: World, staff: TestClient) -> None:
    world.app.connections.connect(
        "acme",
        "httpfake",
        {"api_key": "wrong-key-123", "account": "acme"},
        check=False,
        replace=True,
    )
    response = staff.post("/console/t/acme/connections/httpfake/test", data={"csrf": csrf(staff)})
    assert response.status_code == 200
    assert "the ATS refused the credentials" in response.text
    assert "failing" in response.text


def test_test_connection_counts_one_session_open(world: World, staff: TestClient) -> None:
    response = staff.post("/console/t/acme/connections/httpfake/test", data={"csrf": csrf(staff)})
    assert "the ATS accepted the credentials" in response.text
    assert world.fake.calls["open_session"] == 1


def test_forms_without_csrf_are_refused(world: World, staff: TestClient) -> None:
    for path in (
        "/console/t/acme/connections/httpfake/test",
        "/console/t/acme/connections/httpfake/sync",
        "/console/t/acme/connect/httpfake",
    ):
        response = staff.post(path, data={"csrf": "forged"})
        assert response.status_code == 403, path
        assert "csrf:" in response.text
    assert world.fake.calls == {}


def test_sync_now_starts_a_sync_and_shows_its_progress(world: World, staff: TestClient) -> None:
    response = staff.post("/console/t/acme/connections/httpfake/sync", data={"csrf": csrf(staff)})
    assert response.status_code == 200
    assert "Sync runs of acme / httpfake" in response.text
    fragment = staff.get(
        "/console/t/acme/connections/httpfake/progress", headers={"HX-Request": "true"}
    )
    assert fragment.text.startswith('<div id="progress"')
    assert "page(s)" in fragment.text


def test_connect_form_is_generated_from_the_schema(staff: TestClient) -> None:
    page = staff.get("/console/t/newco/connect/httpfake")
    assert page.status_code == 200
    assert '<label for="f-api_key">' in page.text
    assert 'id="f-api_key" name="api_key" type="password"' in page.text
    assert '<label for="f-account">' in page.text
    assert 'aria-describedby="h-account"' in page.text
    assert "Steps for the ATS administrator" in page.text
    assert "<li>Create an API key.</li>" in page.text


def test_a_bad_field_is_reported_next_to_it(world: World, staff: TestClient) -> None:
    response = staff.post(
        "/console/t/newco/connect/httpfake",
        data={"csrf": csrf(staff), "api_key": "short", "account": "newco"},
    )
    assert response.status_code == 422
    assert '<span class="error" id="e-api_key" role="alert">must be at least 8 characters' in (
        response.text
    )
    assert 'aria-invalid="true" aria-describedby="h-api_key e-api_key"' in response.text
    assert 'value="newco"' in response.text  # kept, while the secret is never echoed
    assert "short" not in response.text
    missing = staff.post(
        "/console/t/newco/connect/httpfake", data={"csrf": csrf(staff), "api_key": GOOD_KEY}
    )
    assert 'id="e-account" role="alert">required' in missing.text
    assert world.app.connections.list("newco") == []


def test_refused_credentials_are_reported_on_the_form(world: World, staff: TestClient) -> None:
    response = staff.post(
        "/console/t/newco/connect/httpfake",
        data={"csrf": csrf(staff), "api_key": "wrong-key-123", "account": "newco"},
    )
    assert response.status_code == 422
    assert "the ATS refused these credentials" in response.text
    assert world.app.connections.list("newco") == []


def test_connect_stores_and_starts_the_first_sync(world: World, staff: TestClient) -> None:
    world.fake.add_job("newco", "N1", "Nurse", reference="NC-1")
    response = staff.post(
        "/console/t/newco/connect/httpfake",
        data={"csrf": csrf(staff), "api_key": GOOD_KEY, "account": "newco"},
    )
    assert response.status_code == 200, response.text
    assert "Sync runs of newco / httpfake" in response.text
    [view] = world.app.connections.list("newco")
    assert view.config["api_key"] != GOOD_KEY  # masked: stored encrypted
    runs = world.app.sync.runs("newco", "httpfake")
    assert runs and runs[-1].kind == "jobs"


def test_unknown_plugin_and_bad_tenant_are_4xx_pages(staff: TestClient) -> None:
    unknown = staff.get("/console/t/acme/connect/nope")
    assert unknown.status_code == 404 and "text/html" in unknown.headers["content-type"]
    bad = staff.get("/console/t/bad%20tenant/connections")
    assert bad.status_code == 422 and "is not a valid tenant key" in bad.text
