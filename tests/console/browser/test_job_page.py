"""The product job page and the runs page in Chromium: upload a CSV (preview with its bad
row, then confirm), search the Candidates Not To Source list as one types, the leads funnel;
the sync runs of a connection."""

from __future__ import annotations

from browserworld import ATS, Console
from playwright.sync_api import Page, expect
from test_flows import sign_in

CSV = (
    "email,first name,last name,company\n"
    "ada.quinton@example.org,Ada,Quinton,Acme\n"
    "not-an-email,,,\n"
    "bob.marlowe@example.org,Bob,Marlowe,Initech\n"
)


def _job_page(page: Page, console: Console) -> str:
    console.connect("acme")
    job = next(j for j in console.sandbox.jobs() if j.reference)
    console.app.jobs.import_job("acme", ATS, job.ats_id, "pj-b")
    base = f"{console.url}/console/t/acme/product-jobs/pj-b"
    sign_in(page, console, "/console/t/acme/product-jobs/pj-b")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Product job pj-b")
    return base


def test_upload_a_csv_preview_its_bad_row_then_confirm_and_search_the_list(
    page: Page, console: Console
) -> None:
    base = _job_page(page, console)
    page.get_by_role("link", name="File imports").click()
    page.get_by_label("CSV or Excel (.xlsx) file").set_input_files(
        {"name": "people.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Preview of people.csv")
    expect(page.locator("[data-count=added]")).to_have_text("2")
    expect(page.locator("[data-count=skipped]")).to_have_text("1")
    bad = page.get_by_role("table", name="Rows that will be skipped").locator("tbody tr")
    expect(bad).to_have_count(1)
    expect(bad).to_contain_text("3")
    # Nothing is saved by the preview: the file tab (in another tab of this browser) is empty.
    other = page.context.new_page()
    other.goto(f"{base}?tab=file")
    expect(other.locator("#entries")).to_be_visible()
    expect(other.locator("#entries")).not_to_contain_text("ada.quinton@example.org")
    other.close()
    page.get_by_role("button", name="Import people.csv").click()
    expect(page.get_by_role("status")).to_be_visible()

    page.get_by_role("link", name="From files").click()
    entries = page.locator("#entries")
    expect(entries).to_contain_text("ada.quinton@example.org")
    expect(entries).to_contain_text("bob.marlowe@example.org")
    page.evaluate("() => { window.stillTheSamePage = true; }")
    page.get_by_role("searchbox", name="Search this list").fill("marlo")
    expect(entries).not_to_contain_text("ada.quinton@example.org")
    expect(entries).to_contain_text("bob.marlowe@example.org")
    assert page.evaluate("() => window.stillTheSamePage") is True  # htmx, not a reload


def test_the_job_page_shows_the_leads_funnel(page: Page, console: Console) -> None:
    _job_page(page, console)
    funnel = page.get_by_role("table", name="Funnel: exported leads per ATS status")
    expect(funnel).to_be_visible()
    expect(page.get_by_role("table", name="Leads per export state")).to_be_visible()
    expect(page.locator("#leads")).to_contain_text("No lead was pushed for this job yet.")


def test_the_runs_page_lists_the_sync_runs_of_each_connection(page: Page, console: Console) -> None:
    console.connect("acme")
    sign_in(page, console, "/console/t/acme/runs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Runs of acme")
    runs = page.locator(f"#runs-{ATS}")
    expect(runs.locator("caption")).to_contain_text(f"{ATS}: the last 1 runs")
    expect(runs.get_by_role("cell", name="succeeded")).to_be_visible()
    expect(runs.get_by_role("cell", name="jobs")).to_be_visible()
