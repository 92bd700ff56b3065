"""Import job from ATS: recent first, search fragments as one types, import a job."""

from __future__ import annotations

from fastapi.testclient import TestClient
from httpworld import World


def csrf(client: TestClient) -> str:
    return client.headers["x-test-csrf"]


def test_window_lists_the_most_recent_jobs_first(staff: TestClient) -> None:
    page = staff.get("/console/t/acme/jobs")
    assert page.status_code == 200
    assert 'hx-get="/console/t/acme/jobs/results"' in page.text
    assert '<label for="q">Search jobs</label>' in page.text
    text = page.text
    assert (
        text.index("Data Analyst")
        < text.index("Frontend Developer")
        < text.index("Backend Engineer")
    )
    assert "imported as pj-1" in text


def test_search_by_partial_reference_and_by_city(staff: TestClient) -> None:
    by_ref = staff.get("/console/t/acme/jobs/results?q=REF-2", headers={"HX-Request": "true"})
    assert by_ref.text.startswith('<div id="results"')
    assert "Frontend Developer" in by_ref.text and "Backend Engineer" not in by_ref.text
    by_city = staff.get("/console/t/acme/jobs/results?q=paris")
    assert "Frontend Developer" in by_city.text and "Data Analyst" not in by_city.text
    none = staff.get("/console/t/acme/jobs/results?q=zzzz")
    assert "No job matches" in none.text
    too_long = staff.get("/console/t/acme/jobs/results?q=" + "x" * 201)
    assert too_long.status_code == 422 and "q: at most 200 characters" in too_long.text


def test_import_a_job_shows_prefilled_and_missing(world: World, staff: TestClient) -> None:
    form = staff.get("/console/t/acme/jobs/httpfake/A2/import")
    assert '<label for="product_job_id">' in form.text
    done = staff.post(
        "/console/t/acme/jobs/httpfake/A2/import",
        data={"csrf": csrf(staff), "product_job_id": "pj-2"},
    )
    assert done.status_code == 200, done.text
    assert "Imported as pj-2" in done.text
    assert "Still to fill in:" in done.text and "description" in done.text
    assert [v.product_job_id for v in world.app.jobs.list("acme")].count("pj-2") == 1
    again = staff.post(
        "/console/t/acme/jobs/httpfake/A2/import",
        data={"csrf": csrf(staff), "product_job_id": "pj-2"},
    )
    assert again.status_code == 200 and "Imported as pj-2" in again.text


def test_import_refusals_are_clear(staff: TestClient) -> None:
    empty = staff.post(
        "/console/t/acme/jobs/httpfake/A2/import", data={"csrf": csrf(staff), "product_job_id": ""}
    )
    assert empty.status_code == 422 and "product job id: 1 to 255 characters" in empty.text
    taken = staff.post(
        "/console/t/acme/jobs/httpfake/A2/import",
        data={"csrf": csrf(staff), "product_job_id": "pj-1"},
    )
    assert taken.status_code == 409 and 'id="pj-error"' in taken.text
    forged = staff.post(
        "/console/t/acme/jobs/httpfake/A2/import", data={"csrf": "x", "product_job_id": "pj-9"}
    )
    assert forged.status_code == 403
    unknown = staff.get("/console/t/acme/jobs/httpfake/NOPE/import")
    assert unknown.status_code == 404


def test_an_embedded_session_searches_only_its_tenant(world: World, anon: TestClient) -> None:
    grant = anon.post(
        "/v1/tenants/globex/console-sessions",
        json={"views": ["jobs"]},
        headers=world.auth("globex_write"),
    ).json()
    anon.get(grant["url"])
    mine = anon.get("/console/t/globex/jobs/results?q=backend")
    assert "GX-1" in mine.text and "REF-100" not in mine.text
    assert anon.get("/console/t/acme/jobs/results?q=backend").status_code == 404
    assert anon.get("/console/t/acme/jobs/httpfake/A1/import").status_code == 404
