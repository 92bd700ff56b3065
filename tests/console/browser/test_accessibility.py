"""Accessibility of every console page in the real browser (the checks: see a11y.py), the
links on them, and phone width; the checker itself is proved on tiny pages with one fault
each, which it must report."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from a11y import violations
from browserworld import ATS, Console
from fastapi.routing import APIRoute
from playwright.sync_api import Page, expect
from starlette.routing import Match
from test_flows import sign_in

# GET routes under /console that answer no page of their own, and why.
NOT_PAGES = {
    "/console": "redirects to /console/",
    "/console/open": "redirects to the tenant's connections",
    "/console/embed/{token}": "redirects into the session's first view",
    "/console/t/{tenant}/jobs/results": "the search results fragment, checked inside /jobs",
    "/console/t/{tenant}/product-jobs/{product_job_id}/entries": "fragment of the job page",
    "/console/t/{tenant}/product-jobs/{product_job_id}/leads": "fragment of the job page",
    "/console/t/{tenant}/runs/list": "fragment of the runs page",
}
PHONE = {"width": 375, "height": 740}


def _flat(routes: list[Any]) -> list[APIRoute]:
    # FastAPI keeps an included router as one entry holding the router's own routes (the
    # console's routers carry their full prefix, and are included without another).
    out: list[APIRoute] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            out += _flat(inner.routes)
        elif isinstance(route, APIRoute):
            out.append(route)
    return out


def _console_get_routes(console: Console) -> list[APIRoute]:
    routes = _flat(console.server.asgi.routes)
    return [r for r in routes if r.path.startswith("/console") and "GET" in r.methods]


def _route_of(routes: list[APIRoute], url: str) -> str | None:
    scope = {"type": "http", "method": "GET", "path": urlsplit(url).path}
    for route in routes:
        if route.matches(scope)[0] == Match.FULL:
            return route.path
    return None


class Walk:
    """Checks each page it is shown; collects every finding with the page it was on."""

    def __init__(self, page: Page, console: Console):
        self.page = page
        self.console = console
        self.routes = _console_get_routes(console)
        self.visited: set[str] = set()
        self.findings: list[str] = []
        self.links_checked: set[str] = set()

    def check(self, what: str) -> None:
        page = self.page
        expect(page.locator("main")).to_be_visible()
        route = _route_of(self.routes, page.url)
        if route is not None:
            self.visited.add(route)
        found = violations(page)
        page.set_viewport_size(PHONE)
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        if wide > PHONE["width"]:
            found.append(f"layout: {wide}px wide at a {PHONE['width']}px phone width")
        page.set_viewport_size({"width": 1024, "height": 768})
        found += self._broken_links()
        self.findings += [f"{what} ({urlsplit(page.url).path}): {v}" for v in found]

    def _broken_links(self) -> list[str]:
        hrefs: list[str] = self.page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.href)"
        )
        out = []
        for href in hrefs:
            target = href.split("#")[0]
            if target == self.page.url.split("#")[0]:
                continue  # an anchor on this page (skip link): the page itself is loaded
            if not target.startswith(self.console.url) or target in self.links_checked:
                continue
            self.links_checked.add(target)
            status = self.page.request.get(target, max_redirects=5).status
            if status >= 400:
                out.append(f"links: {href} answers {status}")
        return out


def test_every_console_page_passes_the_accessibility_check(page: Page, console: Console) -> None:
    console.connect("acme")
    [job, other, *_] = [j for j in console.sandbox.jobs() if j.reference]
    walk = Walk(page, console)

    page.goto(f"{console.url}/console/login")
    walk.check("sign-in")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    walk.check("sign-in with its error")
    sign_in(page, console)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tenants")
    walk.check("tenants")

    page.goto(f"{console.url}/console/t/acme/connections")
    page.get_by_role("button", name="Test connection").click()
    expect(page.get_by_role("status")).to_be_visible()
    walk.check("connections")
    page.goto(f"{console.url}/console/t/acme/connections/{ATS}/progress")
    walk.check("sync runs")
    page.goto(f"{console.url}/console/t/acme/connect/{ATS}")
    walk.check("connect form")
    page.get_by_label("Base url").fill("ftp://example.org")
    page.get_by_role("button", name="Test connection and save").click()
    expect(page.locator("#e-base_url")).to_be_visible()
    walk.check("connect form with a field error")

    page.goto(f"{console.url}/console/t/acme/jobs")
    walk.check("import window")
    page.get_by_role("searchbox", name="Search jobs").fill(job.reference or "")
    expect(page.locator("#results caption")).to_contain_text("Jobs matching")
    walk.check("import window with results")
    page.get_by_role("searchbox", name="Search jobs").fill("zzzz-nothing")
    expect(page.locator("#results")).to_contain_text("No job matches")
    walk.check("import window without results")
    page.goto(f"{console.url}/console/t/acme/jobs/{ATS}/{job.ats_id}/import")
    walk.check("import form")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_label("Product job id")).to_have_attribute("aria-invalid", "true")
    walk.check("import form with its error")
    page.get_by_label("Product job id").fill("pj-a11y")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="Imported as pj-a11y")).to_be_visible()
    walk.check("imported job")
    page.goto(f"{console.url}/console/t/acme/jobs/{ATS}/{other.ats_id}/import")
    walk.check("import form of another job")

    page.goto(f"{console.url}/console/t/acme/product-jobs")
    walk.check("product jobs")
    page.goto(f"{console.url}/console/t/acme/product-jobs/pj-a11y")
    walk.check("product job")
    page.goto(f"{console.url}/console/t/acme/product-jobs/pj-a11y/upload")
    walk.check("product job upload form")
    page.goto(f"{console.url}/console/t/acme/runs")
    walk.check("runs")

    page.goto(f"{console.url}/console/t/acme/connect/no-such-ats")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    walk.check("error page")

    # An embedded session (no staff menu, no sign-out), as the product shows it.
    page.context.clear_cookies()
    page.goto(console.grant("acme", scope="read"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Connections of acme")
    walk.check("embedded connections (read scope)")

    assert not walk.findings, "\n".join(walk.findings)
    pages = {r.path for r in walk.routes} - set(NOT_PAGES)
    unchecked = sorted(pages - walk.visited)
    assert not unchecked, (
        f"console pages no accessibility walk visits: {unchecked}; add them to this test"
    )


def test_every_console_route_is_walked_or_named_as_not_a_page(console: Console) -> None:
    # A route named in NOT_PAGES that no longer exists would hide nothing, but mislead.
    paths = {r.path for r in _console_get_routes(console)}
    assert set(NOT_PAGES) <= paths, set(NOT_PAGES) - paths


CLEAN = """<!doctype html><html lang="en"><head><title>Clean</title></head><body>
<header><nav aria-label="Main"><a href="#a">Home</a></nav></header>
<main><h1>Clean page</h1>
<form><label for="name">Name</label><input id="name">
<label><input type="checkbox" name="c"> Remember</label>
<select aria-label="Colour"><option>red</option></select>
<textarea aria-labelledby="t-label"></textarea><span id="t-label">Notes</span>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="A dot">
<button type="submit">Save</button><input type="hidden" name="csrf" value="x">
<button type="button" disabled>Off</button></form></main></body></html>"""


def _broken(old: str, new: str) -> str:
    assert old in CLEAN, old
    return CLEAN.replace(old, new, 1)


FAULTY = [
    ("no lang", _broken('<html lang="en">', "<html>"), "<html> has no lang attribute"),
    ("no title", _broken("<title>Clean</title>", ""), "the page has no <title>"),
    ("two h1", _broken("<h1>Clean page</h1>", "<h1>One</h1><h1>Two</h1>"), "2 <h1> elements"),
    ("no h1", _broken("<h1>Clean page</h1>", "<h2>Clean page</h2>"), "0 <h1> elements"),
    ("no main", _broken("<main>", "<div>").replace("</main>", "</div>"), "0 main landmarks"),
    (
        "unnamed navs",
        _broken("</header>", '<nav><a href="#b">B</a></nav></header>'),
        "a <nav> among several has no aria-label",
    ),
    ("duplicate id", _broken('<span id="t-label">', '<span id="name">'), 'id "name" is used 2'),
    (
        "dangling describedby",
        _broken('<input id="name">', '<input id="name" aria-describedby="gone">'),
        'aria-describedby="gone" names no element',
    ),
    ("dangling label", _broken('<label for="name">', '<label for="nom">'), 'for="nom"'),
    ("unlabelled input", _broken('<label for="name">Name</label>', ""), "a textbox has no"),
    ("unnamed select", _broken(' aria-label="Colour"', ""), "a combobox has no accessible"),
    ("empty button", _broken(">Save</button>", "></button>"), "a button has no accessible"),
    ("empty link", _broken(">Home</a>", "></a>"), "a link has no accessible name"),
    ("img without alt", _broken(' alt="A dot"', ""), "has no alt attribute"),
    (
        "positive tabindex",
        _broken('<button type="submit">', '<button type="submit" tabindex="3">'),
        "positive tabindex",
    ),
    (
        "a control that Tab cannot reach",
        _broken('<button type="submit">Save</button>', '<div role="button">Save</div>'),
        "keyboard: a role=button element cannot take focus",
    ),
]


@pytest.mark.parametrize(("html", "expected"), [f[1:] for f in FAULTY], ids=[f[0] for f in FAULTY])
def test_the_checker_reports_each_fault(page: Page, html: str, expected: str) -> None:
    page.set_content(html)
    found = violations(page)
    assert any(expected in v for v in found), found


def test_the_checker_passes_a_clean_page(page: Page) -> None:
    page.set_content(CLEAN)
    assert violations(page) == []


def test_the_keyboard_check_fails_when_tab_skips_or_reorders_controls(page: Page) -> None:
    # Tab order follows the DOM here, but a script moves focus away from the second control.
    page.set_content(
        _broken(
            "</main>",
            "</main><script>document.getElementById('name').addEventListener("
            "'focus', () => document.querySelector('button[type=submit]').focus());</script>",
        )
    )
    found = violations(page)
    assert any(v.startswith("keyboard: Tab") for v in found), found
    # A focus trap: the first control sends focus back to itself.
    page.set_content(
        _broken(
            "</main>",
            "</main><script>const s = document.querySelector('nav a');"
            "s.addEventListener('keydown', e => { e.preventDefault(); });</script>",
        )
    )
    found = violations(page)
    assert any(v.startswith("keyboard:") for v in found), found


def test_a_javascript_error_fails_the_page(page: Page, page_errors) -> None:
    page.set_content("<script>throw new Error('boom from the page')</script>")
    page_errors.expect("boom from the page")  # this test's own error, not a failure
    assert any("boom from the page" in e for e in page_errors.seen), page_errors.seen
