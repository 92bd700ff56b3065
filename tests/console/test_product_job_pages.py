"""A product job's page: synchronized state, the Candidates Not To Source tabs, search and
paging, the file upload's preview and confirm, removing an import, and the leads funnel."""

from __future__ import annotations

import copy
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from atsbridge import leaddoc
from consoleworld import embedded
from fastapi.testclient import TestClient
from httpworld import World

JOB = "/console/t/acme/product-jobs/pj-1"
CSV = b"email,name,phone,shoe size\nzed@example.org,Zed Zed,+49 30 1234567,44\nnot-an-email,,,\n"


def csrf(client: TestClient) -> str:
    return client.headers["x-test-csrf"]


def lead(lead_id: str, email: str) -> dict[str, Any]:
    doc = copy.deepcopy(leaddoc.EXAMPLE)
    doc.update(id=lead_id, emails=[email])
    return doc


def preview(client: TestClient, body: bytes = CSV, name: str = "people.csv", **data: str) -> Any:
    return client.post(
        f"{JOB}/upload",
        data={"csrf": csrf(client), **data},
        files={"file": (name, body, "text/csv")},
    )


def confirm_action(html: str) -> str:
    found = re.search(r'action="([^"]+/confirm)"', html)
    assert found, "no confirm form in the preview"
    return found.group(1)


def test_the_job_page_shows_its_state_and_the_pipeline_tab(world: World, staff: TestClient) -> None:
    world.app.cnts.sync("acme", "httpfake")
    page = staff.get(JOB)
    assert page.status_code == 200, page.text
    text = page.text
    assert "<h1>Product job pj-1: Backend Engineer</h1>" in text
    assert 'id="job-state-value">open</strong>' in text and "httpfake · A1" in text
    assert 'id="tab-ats" href="/console/t/acme/product-jobs/pj-1?tab=ats" aria-current="page"' in (
        text
    )
    assert "Imported from ATS: 1 person" in text and "ada@example.org" in text
    assert '<label for="cnts-q">Search this list</label>' in text
    assert 'hx-get="/console/t/acme/product-jobs/pj-1/entries"' in text
    # The window is reachable from the imported-jobs list and the import window.
    assert f'href="{JOB}"' in staff.get("/console/t/acme/product-jobs").text
    assert f'href="{JOB}"' in staff.get("/console/t/acme/jobs").text


def test_search_and_tabs_of_the_list(world: World, staff: TestClient) -> None:
    world.app.cnts.sync("acme", "httpfake")
    found = staff.get(f"{JOB}/entries?tab=ats&q=quint", headers={"HX-Request": "true"})
    assert found.text.startswith('<div id="entries"') and "ada@example.org" in found.text
    none = staff.get(f"{JOB}/entries?tab=ats&q=zzz")
    assert "Nobody on this list matches" in none.text and "ada@" not in none.text
    # Without JavaScript the search form answers the whole page, the query kept.
    page = staff.get(f"{JOB}?tab=ats&q=ADA")
    assert "ada@example.org" in page.text and 'value="ADA"' in page.text
    files = staff.get(f"{JOB}?tab=file")
    assert "ada@example.org" not in files.text and "No one from a file yet" in files.text


def test_the_list_is_paged(world: World, staff: TestClient) -> None:
    rows = "".join(f"p{i}@example.org,Person {i}\n" for i in range(30))
    done = preview(staff, ("email,name\n" + rows).encode(), "many.csv")
    assert done.status_code == 200, done.text
    confirmed = staff.post(confirm_action(done.text), data={"csrf": csrf(staff)})
    assert confirmed.status_code == 200 and "many.csv imported: 30 added" in confirmed.text
    first = staff.get(f"{JOB}?tab=file")
    assert "From files: 30 people" in first.text and "Page 1 of 2" in first.text
    assert first.text.count('<tr id="entry-') == 25
    assert f'href="{JOB}?tab=file&amp;page=2"' in first.text
    second = staff.get(f"{JOB}/entries?tab=file&page=2")
    assert second.text.count('<tr id="entry-') == 5 and "Previous page" in second.text
    assert "p0@example.org" in second.text  # oldest last


def test_upload_preview_shows_mapping_counts_and_row_errors_then_confirm(
    world: World, staff: TestClient
) -> None:
    page = staff.get(f"{JOB}?tab=imports")
    assert 'enctype="multipart/form-data"' in page.text and '<label for="file">' in page.text
    shown = preview(staff)
    assert shown.status_code == 200, shown.text
    text = shown.text
    assert "Nothing is saved yet" in text
    assert '<dd data-count="added">1</dd>' in text and '<dd data-count="skipped">1</dd>' in text
    assert '<label for="f0">email</label>' in text and "<option selected>email</option>" in text
    assert '<label for="f3">shoe size</label>' in text
    assert '<select id="f3" name="f3" class="muted">' in text  # read as "ignore"
    assert '<tr data-row="3"><td>3</td>' in text  # the bad row, by its spreadsheet number
    assert world.app.cnts.imports("acme", "pj-1") == []  # a preview stores nothing
    done = staff.post(confirm_action(text), data={"csrf": csrf(staff)}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"{JOB}?tab=imports&notice=")
    after = staff.get(done.headers["location"])
    assert "people.csv imported: 1 added, 0 updated, 0 unchanged, 1 rows skipped" in after.text
    [record] = world.app.cnts.imports("acme", "pj-1")
    assert record.file_name == "people.csv" and f'id="import-{record.id}"' in after.text
    entries = world.app.cnts.list_entries("acme", "pj-1", source="file").entries
    assert [e.emails for e in entries] == [("zed@example.org",)]
    # The same preview cannot be imported twice.
    again = staff.post(confirm_action(text), data={"csrf": csrf(staff)})
    assert again.status_code == 409 and "file: this preview expired" in again.text


def test_upload_options_reach_the_import(world: World, staff: TestClient) -> None:
    body = b"email,phone\nuk@example.org,020 7946 0958\n"
    shown = preview(staff, body, default_country="United Kingdom")
    assert shown.status_code == 200, shown.text
    staff.post(confirm_action(shown.text), data={"csrf": csrf(staff)})
    [entry] = world.app.cnts.list_entries("acme", "pj-1", source="file").entries
    assert entry.phones == ("+442079460958",)


def test_upload_refusals_name_the_field(world: World, staff: TestClient) -> None:
    missing = staff.post(f"{JOB}/upload", data={"csrf": csrf(staff)})
    assert missing.status_code == 422 and 'id="file-error"' in missing.text
    assert "file: choose a CSV or XLSX file" in missing.text
    country = preview(staff, default_country="Atlantis")
    assert country.status_code == 422 and 'id="country-error"' in country.text
    old_excel = preview(staff, b"\xd0\xcf\x11\xe0rest", "old.xls")
    assert old_excel.status_code == 422 and "old Excel .xls files are not supported" in (
        old_excel.text
    )
    assert 'id="file-error"' in old_excel.text
    # A refused file is not held: nothing is left to confirm.
    assert len(staff.app.state.console_uploads) == 0  # type: ignore[attr-defined]
    empty = preview(staff, b"", "empty.csv")
    assert empty.status_code == 422 and "file is empty" in empty.text
    unknown = staff.post(
        "/console/t/acme/product-jobs/pj-none/upload",
        data={"csrf": csrf(staff)},
        files={"file": ("people.csv", CSV, "text/csv")},
    )
    assert unknown.status_code == 404 and "pj-none" in unknown.text
    assert world.app.cnts.imports("acme", "pj-1") == []


def test_upload_and_remove_refuse_a_missing_csrf_token(world: World, staff: TestClient) -> None:
    forged = staff.post(
        f"{JOB}/upload", data={"csrf": "x"}, files={"file": ("p.csv", CSV, "text/csv")}
    )
    assert forged.status_code == 403 and "csrf:" in forged.text
    shown = preview(staff)
    assert staff.post(confirm_action(shown.text), data={}).status_code == 403
    assert world.app.cnts.imports("acme", "pj-1") == []
    ok = staff.post(confirm_action(shown.text), data={"csrf": csrf(staff)})
    assert ok.status_code == 200  # the refused attempt did not use the preview up
    [record] = world.app.cnts.imports("acme", "pj-1")
    refused = staff.post(f"{JOB}/imports/{record.id}/remove", data={"csrf": "x"})
    assert refused.status_code == 403
    assert len(world.app.cnts.imports("acme", "pj-1")) == 1


def test_remove_an_import(world: World, staff: TestClient) -> None:
    shown = preview(staff)
    staff.post(confirm_action(shown.text), data={"csrf": csrf(staff)})
    [record] = world.app.cnts.imports("acme", "pj-1")
    page = staff.get(f"{JOB}?tab=imports")
    assert f'action="{JOB}/imports/{record.id}/remove"' in page.text
    assert f'aria-label="Remove import {record.id} (people.csv)"' in page.text
    done = staff.post(f"{JOB}/imports/{record.id}/remove", data={"csrf": csrf(staff)})
    assert done.status_code == 200 and f"import {record.id} removed: 1 entries" in done.text
    assert world.app.cnts.imports("acme", "pj-1") == []
    assert world.app.cnts.list_entries("acme", "pj-1", source="file").total == 0
    gone = staff.post(f"{JOB}/imports/{record.id}/remove", data={"csrf": csrf(staff)})
    assert gone.status_code == 404
    bad = staff.post(f"{JOB}/imports/abc/remove", data={"csrf": csrf(staff)})
    assert bad.status_code == 422 and "import_id: a positive whole number" in bad.text


def test_the_leads_funnel_and_list(world: World, staff: TestClient) -> None:
    world.app.leads.push("acme", "pj-1", lead("lead-1", "lead-1@example.org"))
    world.app.cnts.sync("acme", "httpfake")
    # Ada is on the pipeline list; a file entry makes her lead skipped with the reason.
    shown = preview(staff, b"email\nada2@example.org\n")
    staff.post(confirm_action(shown.text), data={"csrf": csrf(staff)})
    world.app.leads.push("acme", "pj-1", lead("lead-2", "ada2@example.org"))
    page = staff.get(JOB)
    text = page.text
    assert '<td data-status="new">1</td>' in text
    assert '<td data-state="exported">1</td>' in text and '<td data-state="skipped">1</td>' in text
    assert '<tr data-lead="lead-1">' in text and '<tr data-lead="lead-2">' in text
    assert "on the do-not-source list: email ada2@example.org (from a file)" in text
    assert 'hx-trigger="every 3s"' in text  # the funnel follows status changes
    only = staff.get(f"{JOB}/leads?state=skipped")
    assert only.text.startswith('<div id="leads-live"')
    assert "lead-2" in only.text and 'data-lead="lead-1"' not in only.text
    bad = staff.get(f"{JOB}/leads?state=lost")
    assert bad.status_code == 422 and "state: one of pending" in bad.text


def test_bad_input_names_the_field(staff: TestClient) -> None:
    tab = staff.get(f"{JOB}?tab=secrets")
    assert tab.status_code == 422 and "tab: one of ats, file, imports" in tab.text
    page = staff.get(f"{JOB}?page=0")
    assert page.status_code == 422 and "page:" in page.text
    long_q = staff.get(f"{JOB}/entries?q=" + "x" * 201)
    assert long_q.status_code == 422 and "q: at most 200 characters" in long_q.text
    unknown = staff.get("/console/t/acme/product-jobs/pj-none")
    assert unknown.status_code == 404 and "pj-none" in unknown.text


def test_a_file_only_list_has_a_page_without_leads(world: World, staff: TestClient) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "list.csv"
        file.write_bytes(b"email\nsolo@example.org\n")
        world.app.cnts.import_file("acme", "pj-files", file, create=True)
    page = staff.get("/console/t/acme/product-jobs/pj-files?tab=file")
    assert page.status_code == 200, page.text
    assert "Not linked to an ATS job" in page.text and "solo@example.org" in page.text
    assert "this one is not linked" in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/t/acme/product-jobs",
        JOB,
        f"{JOB}/entries",
        f"{JOB}/leads",
        f"{JOB}/upload",
    ],
)
def test_another_tenants_job_is_not_found(world: World, anon: TestClient, path: str) -> None:
    embedded(anon, world, "globex_write", "globex")
    answer = anon.get(path)
    assert answer.status_code == 404 and "no tenant &#39;acme&#39;" in answer.text
    assert "ada@example.org" not in answer.text


def test_an_embedded_session_acts_only_on_its_tenant(world: World, anon: TestClient) -> None:
    token = embedded(anon, world, "globex_write", "globex")
    refused = anon.post(
        f"{JOB}/upload", data={"csrf": token}, files={"file": ("p.csv", CSV, "text/csv")}
    )
    assert refused.status_code == 404
    mine = anon.get("/console/t/globex/product-jobs/pj-g")
    assert mine.status_code == 200 and "Product job pj-g" in mine.text


def test_a_read_session_sees_but_cannot_upload_or_remove(world: World, anon: TestClient) -> None:
    token = embedded(anon, world, "acme_read", "acme")
    page = anon.get(f"{JOB}?tab=imports")
    assert page.status_code == 200 and 'id="upload"' not in page.text
    refused = anon.post(
        f"{JOB}/upload", data={"csrf": token}, files={"file": ("p.csv", CSV, "text/csv")}
    )
    assert refused.status_code == 403 and "this needs write" in refused.text
    assert anon.post(f"{JOB}/imports/1/remove", data={"csrf": token}).status_code == 403


def test_a_session_without_the_jobs_view_cannot_open_a_job(world: World, anon: TestClient) -> None:
    embedded(anon, world, "acme_write", "acme", views=["runs"])
    assert anon.get(JOB).status_code == 404


def test_a_preview_is_confirmed_only_by_its_own_session(world: World, staff: TestClient) -> None:
    shown = preview(staff)
    other = TestClient(staff.app, base_url="https://testserver")
    token = embedded(other, world, "acme_write", "acme")
    stolen = other.post(confirm_action(shown.text), data={"csrf": token})
    assert stolen.status_code == 409 and "file: this preview expired" in stolen.text
    assert world.app.cnts.imports("acme", "pj-1") == []
    # Nor does another tenant's session reach this job's imports.
    globex = TestClient(staff.app, base_url="https://testserver")
    g_token = embedded(globex, world, "globex_write", "globex")
    assert globex.post(confirm_action(shown.text), data={"csrf": g_token}).status_code == 404
    ok = staff.post(confirm_action(shown.text), data={"csrf": csrf(staff)})
    assert ok.status_code == 200 and "people.csv imported" in ok.text
    [record] = world.app.cnts.imports("acme", "pj-1")
    gone = globex.post(f"{JOB}/imports/{record.id}/remove", data={"csrf": g_token})
    assert gone.status_code == 404 and len(world.app.cnts.imports("acme", "pj-1")) == 1


def test_a_preview_can_read_a_column_as_another_field(world: World, staff: TestClient) -> None:
    shown = preview(staff, b"email,backup\nzed@example.org,zed.other@example.org\n")
    assert '<select id="f1" name="f1" class="muted">' in shown.text  # "backup" is not read
    remap = confirm_action(shown.text).replace("/confirm", "/remap")
    form = {"csrf": csrf(staff), "h0": "email", "f0": "email", "h1": "backup", "f1": "nonsense"}
    bad = staff.post(remap, data=form)
    assert bad.status_code == 422 and "f1: one of" in bad.text
    again = staff.post(remap, data={**form, "f1": "email"})  # the bad form used nothing up
    assert again.status_code == 200, again.text
    assert '<select id="f1" name="f1">' in again.text
    assert world.app.cnts.imports("acme", "pj-1") == []
    assert staff.post(remap, data={**form, "f1": "email"}).status_code == 409  # replaced
    staff.post(confirm_action(again.text), data={"csrf": csrf(staff)})
    [entry] = world.app.cnts.list_entries("acme", "pj-1", source="file").entries
    assert set(entry.emails) == {"zed@example.org", "zed.other@example.org"}
    forged = staff.post(remap, data={**form, "csrf": "x"})
    assert forged.status_code == 403
