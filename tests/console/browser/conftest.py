"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, one browser per
test process (xdist worker) and a fresh context (cookies, storage) and page per test.

Nothing here downloads a browser build: Playwright is given ``/usr/bin/chromium``. Without
it every browser test FAILS, naming the package to install: a skip would let a machine
without Chromium report green. ``.ci/run`` installs it when it is missing.

Each page fails its test on a JavaScript error (an uncaught exception or a console error)
unless the test says which error it expects (``page_errors.expect``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Helper modules beside this file (browserworld, a11y) are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Playwright must never fetch a browser of its own, whatever runs it.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")

from browserworld import Console, ProductSite, console_world
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    Response,
    sync_playwright,
)

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "apt-get install -y chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test here is a browser test: `-m "not browser"` leaves them all out.
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


def chromium_missing() -> str | None:
    """Why the browser tests cannot run (None: Debian's Chromium is installed)."""
    if not CHROMIUM.exists():
        return (
            f"Debian's Chromium is not installed ({CHROMIUM} is missing): run "
            f"`{INSTALL_HINT}` (the browser tests never download a browser build)"
        )
    return None


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    reason = chromium_missing()
    if reason is not None:
        pytest.fail(reason, pytrace=False)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
    )
    yield browser
    browser.close()


class PageErrors:
    """JavaScript errors and broken resources a page reported; a test names those it expects.

    A document answered with a 4xx (an error page the test asked for) is not an error here:
    the tests assert those pages themselves. Any other resource (script, style, image,
    icon, an htmx request) answered with 400 or more is a broken link and counts.
    """

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.expected: list[re.Pattern[str]] = []

    def console(self, message: ConsoleMessage) -> None:
        # Chromium logs every failed load too; responses() judges those with their URL.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.seen.append(f"console error: {message.text}")

    def exception(self, error: Exception) -> None:
        self.seen.append(f"uncaught: {error}")

    def response(self, response: Response) -> None:
        if response.status >= 400 and not response.request.is_navigation_request():
            self.seen.append(f"broken resource: {response.url} answered {response.status}")

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [e for e in self.seen if not any(p.search(e) for p in self.expected)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, page_errors: PageErrors) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    # Bounded waits: a missing element fails the test in seconds, never hangs it.
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("console", page_errors.console)
    page.on("pageerror", page_errors.exception)
    page.on("response", page_errors.response)
    try:
        yield page
    finally:
        context.close()
    unexpected = page_errors.unexpected()
    assert not unexpected, f"JavaScript errors in the page: {unexpected}"


@pytest.fixture
def product() -> Iterator[ProductSite]:
    """The product's origin: the one the console allows to frame it."""
    site = ProductSite()
    yield site
    site.stop()


@pytest.fixture
def stranger() -> Iterator[ProductSite]:
    """Another origin, not allowed to frame the console."""
    site = ProductSite()
    yield site
    site.stop()


@pytest.fixture
def console(
    tmp_path: Path, product: ProductSite, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Console]:
    monkeypatch.setenv("ATSBRIDGE_CONSOLE_FRAME_ANCESTORS", product.origin)
    with console_world(tmp_path) as world:
        yield world
