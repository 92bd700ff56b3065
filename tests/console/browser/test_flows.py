"""The console's flows in headless Chromium against the real server and a sandbox ATS:
sign-in, connect with the schema form, test connection, live sync progress, the Import job
window, the embedded one-time URL in another origin's iframe, and CSRF."""

from __future__ import annotations

import re

from browserworld import ATS, PASSWORD, Console, ProductSite
from playwright.sync_api import Page, expect


def sign_in(page: Page, console: Console, path: str = "/console/") -> None:
    page.goto(f"{console.url}{path}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_refuses_a_wrong_password_then_lands_where_asked(
    page: Page, console: Console
) -> None:
    console.connect("acme")
    page.goto(f"{console.url}/console/t/acme/jobs")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/t/acme/jobs$"))
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("the username or the password is wrong")
    expect(page.get_by_label("Username")).to_have_accessible_description(
        "the username or the password is wrong"
    )
    page.get_by_label("Username").fill("staff")  # the form does not keep it
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{console.url}/console/t/acme/jobs")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import job from ATS")
    [cookie] = [c for c in page.context.cookies() if c["name"] == "atsb_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto(f"{console.url}/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_connect_with_the_schema_form_then_watch_the_sync_finish(
    page: Page, console: Console
) -> None:
    sign_in(page, console, "/console/t/newco/connections")
    expect(page.get_by_text("newco has no connection yet.")).to_be_visible()
    page.get_by_role("link", name=f"Connect {ATS}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connect SmartRecruiters for newco")
    setup = page.get_by_role("complementary", name="Steps for the ATS administrator")
    expect(setup.get_by_text("Credential Manager").first).to_be_visible()
    expect(page.get_by_label("Api key")).to_have_attribute("type", "password")
    expect(page.get_by_label("Base url")).to_have_accessible_description(
        re.compile("API base URL as SmartRecruiters documents it")
    )

    # A bad field: its error is shown beside it and is part of its description.
    config = console.sandbox.connection_config()
    page.get_by_label("Api key").fill(config["api_key"])
    page.get_by_label("Base url").fill("ftp://example.org")
    page.get_by_role("button", name="Test connection and save").click()
    base_url = page.get_by_label("Base url")
    expect(base_url).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-base_url")).to_be_visible()
    expect(base_url).to_have_accessible_description(re.compile(r"API base URL.*\S+.*"))
    assert console.app.connections.list("newco") == []
    expect(base_url).to_have_value("ftp://example.org")  # kept, while the key is not
    expect(page.get_by_label("Api key")).to_have_value("")

    # Good values: stored, then the first sync's progress updates in place (htmx polls).
    console.gate.close()
    page.get_by_label("Api key").fill(config["api_key"])
    base_url.fill(config["base_url"])
    page.get_by_role("button", name="Test connection and save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sync runs of newco / {ATS}")
    progress = page.locator("#progress")
    expect(progress).to_have_attribute("data-running", "yes")
    expect(progress.get_by_text("Syncing…")).to_be_visible()
    page.evaluate("() => { window.stillTheSamePage = true; }")
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("hx-request") else None)
    assert console.gate.held.wait(10), "the sync never asked for a page of jobs"
    console.gate.open()
    expect(progress).to_have_attribute("data-running", "no")
    expect(progress.get_by_text("Sync finished.")).to_be_visible()
    expect(progress.get_by_role("cell", name="succeeded").first).to_be_visible()
    expect(progress.get_by_role("cell", name=re.compile(r"12 of 12 items"))).to_be_visible()
    assert page.evaluate("() => window.stillTheSamePage") is True  # swapped, not reloaded
    assert polls and all(u.endswith(f"/console/t/newco/connections/{ATS}/progress") for u in polls)
    assert len(console.app.jobs.search("newco", None, limit=50).items) == 12


def test_test_connection_reports_what_the_ats_said(page: Page, console: Console) -> None:
    console.connect("acme")
    sign_in(page, console, "/console/t/acme/connections")
    card = page.get_by_role("region", name=ATS)
    before = len(console.sandbox.requests_to("/jobs", "GET"))
    card.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_have_text(f"{ATS}: the ATS accepted the credentials")
    assert len(console.sandbox.requests_to("/jobs", "GET")) == before + 1
    expect(page.get_by_role("region", name=ATS).get_by_text("accepted")).to_be_visible()

    # Credentials the ATS refuses show as failing on the card.
    console.app.connections.connect(
        "acme", ATS, console.sandbox.connection_config(valid=False), check=False, replace=True
    )
    page.get_by_role("region", name=ATS).get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_contain_text(f"{ATS}: the ATS refused the credentials")
    expect(page.get_by_role("region", name=ATS).get_by_text("failing")).to_be_visible()


def test_import_window_finds_jobs_by_title_city_and_partial_reference(
    page: Page, console: Console
) -> None:
    console.connect("acme")
    facts = [j for j in console.sandbox.jobs() if j.reference and j.city]
    job = facts[0]
    assert job.reference and job.city
    sign_in(page, console, "/console/t/acme/jobs")
    results = page.locator("#results")
    expect(results.get_by_role("table")).to_contain_text("Most recent jobs")
    assert results.get_by_role("row").count() == 1 + 12  # header + every job
    search = page.get_by_role("searchbox", name="Search jobs")
    expect(search).to_have_accessible_description(re.compile("Title words, location words"))

    def search_for(text: str) -> None:
        search.fill(text)  # an input event: htmx asks for the results as one types
        expect(results.locator("caption")).to_have_text(f"Jobs matching “{text}”")

    partial = job.reference[1:-1]
    search_for(partial)
    expect(results.get_by_role("row").nth(1)).to_contain_text(job.title)
    search_for(job.city)
    for row in results.get_by_role("row").all()[1:]:
        expect(row).to_contain_text(job.city)
    word = max(re.findall(r"[A-Za-z]+", job.title), key=len)
    search_for(word.lower())
    expect(results.get_by_role("cell", name=re.compile(re.escape(job.title))).first).to_be_visible()
    search.fill("zzzz-no-such-job")
    expect(results).to_have_text("No job matches “zzzz-no-such-job”.")
    assert page.url == f"{console.url}/console/t/acme/jobs"  # all of it without a reload

    search_for(partial)
    page.get_by_role("link", name=f"Select {job.title} ({job.reference})").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(job.title)
    page.get_by_role("button", name="Import").click()  # empty id: the field says so
    expect(page.get_by_label("Product job id")).to_have_accessible_description(
        re.compile("product job id: 1 to 255 characters")
    )
    page.get_by_label("Product job id").fill("pj-7")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Imported as pj-7")).to_be_visible()
    prefilled = page.get_by_role("table", name="Prefilled fields of the product job")
    expect(prefilled.get_by_role("row", name=re.compile(r"^title "))).to_contain_text(job.title)
    hits = console.app.jobs.search("acme", job.reference).items
    [found] = [j for j in hits if j.ats_id == job.ats_id]
    assert found.linked_to == "pj-7"
    page.get_by_role("link", name="Back to the job list").click()
    expect(page.get_by_role("cell", name="imported as pj-7")).to_be_visible()


def _frame_page(url: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><title>Product</title></head><body>'
        f'<h1>Product</h1><iframe title="atsbridge console" src="{url}" '
        'width="900" height="600"></iframe></body></html>'
    )


def test_an_embedded_url_opens_in_the_allowed_origins_iframe_for_its_tenant_only(
    page: Page, console: Console, product: ProductSite
) -> None:
    console.connect("acme")
    console.connect("globex")
    grant = console.grant("acme")
    page.goto(product.page(_frame_page(grant)))
    frame = page.frame_locator("iframe")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Connections of acme")
    expect(frame.get_by_role("region", name=ATS)).to_be_visible()
    frame.get_by_role("link", name="Import job from ATS").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Import job from ATS")

    # The session is acme's: globex's pages answer as unknown, even when asked directly.
    [inner] = [f for f in page.frames if f != page.main_frame]
    inner.goto(f"{console.url}/console/t/globex/connections")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(frame.get_by_role("alert")).to_have_text("no tenant 'globex'")
    inner.goto(f"{console.url}/console/t/globex/jobs")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Not found")

    # The URL is one-time: opened again it is refused; a new grant opens its own views.
    inner.goto(grant)
    expect(frame.get_by_role("alert")).to_have_text(re.compile("already used or expired"))
    page.goto(product.page(_frame_page(console.grant("acme", views=["jobs"])), "/jobs-only"))
    expect(frame.get_by_role("heading", level=1)).to_have_text("Import job from ATS")
    expect(frame.get_by_role("link", name="Connections")).to_have_count(0)


def test_an_origin_not_in_frame_ancestors_cannot_embed_the_console(
    page: Page, console: Console, stranger: ProductSite, page_errors
) -> None:
    page_errors.expect("frame-ancestors")
    page.goto(stranger.page(_frame_page(console.grant("acme"))))
    [inner] = [f for f in page.frames if f != page.main_frame]
    inner.wait_for_load_state()
    expect(page.frame_locator("iframe").get_by_role("heading")).to_have_count(0)
    assert any("frame-ancestors" in e for e in page_errors.seen), page_errors.seen


def test_a_form_post_without_the_csrf_token_is_refused(
    page: Page, console: Console, stranger: ProductSite
) -> None:
    console.connect("acme")
    runs = len(console.app.sync.runs("acme", ATS))
    sign_in(page, console, "/console/t/acme/connections")
    card = page.get_by_role("region", name=ATS)

    # The console's own form, its token altered in the page.
    card.locator("form", has=page.get_by_role("button", name="Sync now")).locator(
        "input[name=csrf]"
    ).evaluate("input => { input.value = 'forged'; }")
    card.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refused")
    expect(page.get_by_role("alert")).to_contain_text("csrf: this form expired")

    # Another site's page posting to the console with the signed-in browser's cookie.
    forged = stranger.page(
        '<!doctype html><html lang="en"><head><title>x</title></head><body>'
        f'<form method="post" action="{console.url}/console/t/acme/connections/{ATS}/sync">'
        '<button type="submit">Win a prize</button></form></body></html>',
        "/forged",
    )
    page.goto(forged)
    page.get_by_role("button", name="Win a prize").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refused")
    expect(page.get_by_role("alert")).to_contain_text("csrf:")
    assert len(console.app.sync.runs("acme", ATS)) == runs  # no sync was started

    # The same form with the page's real token is accepted: the refusal was the token's.
    page.goto(f"{console.url}/console/t/acme/connections")
    page.get_by_role("region", name=ATS).get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Sync runs of acme / {ATS}")
    expect(page.locator("#progress")).to_have_attribute("data-running", "no")
    assert len(console.app.sync.runs("acme", ATS)) > runs
