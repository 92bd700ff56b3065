"""The README's pictures of the console: each window is shot in Chromium, and every picture
the README's "Web console" section shows must exist and be one of the windows shot here.

A shot fails its test when its page does not render: a status other than 200, a missing
heading or region, a JavaScript error or a broken resource (the ``page`` fixture). The world
is fixed (sandbox seed 7, the same tenant and jobs) and every clock reading on a page is
replaced by one fixed text before the shot, so regenerating gives the same pictures up to
font rendering; their bytes are never compared.

The shots go to the test's temporary folder; ``ATSBRIDGE_CONSOLE_SHOTS=docs`` writes them
into ``docs/console/`` instead (how the committed pictures were made).
"""

from __future__ import annotations

import copy
import os
import re
import struct
from pathlib import Path

from atsbridge import leaddoc
from browserworld import ATS, Console
from playwright.sync_api import Page, expect
from test_flows import sign_in

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "console"
WIDTH = 1000
# Read at import: the suite's conftest hides every ATSBRIDGE_* variable from the tests.
TO_DOCS = os.environ.get("ATSBRIDGE_CONSOLE_SHOTS") == "docs"
SHOTS = ("connections", "connect", "import-job", "cnts", "funnel", "runs")
# Times shown as `_when` prints them (web.py); replaced so pictures do not change per run.
FIXED_CLOCK = r"""() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    n.nodeValue = n.nodeValue.replace(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}( UTC)?/g,
                                      '2026-01-05 09:30 UTC')
                             .replace(/\d+(\.\d+)?\/s\b/g, '500/s');
  }
}"""


def readme_pictures() -> list[str]:
    """The picture paths of README's "Web console" section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Web console\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, 'README.md has no "## Web console" section'
    return re.findall(r"!\[[^\]]+\]\((docs/console/[^)\s]+\.png)\)", section.group(1))


def png_width(path: Path) -> int:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int(struct.unpack(">I", head[16:20])[0])


def test_the_readme_shows_each_window_and_every_picture_is_committed() -> None:
    pictures = readme_pictures()
    assert sorted(pictures) == sorted(f"docs/console/{s}.png" for s in SHOTS), pictures
    for picture in pictures:
        path = ROOT / picture
        assert path.is_file(), f"README shows {picture}, which is missing"
        assert png_width(path) <= WIDTH, picture


def _shoot(page: Page, out: Path, name: str, path: str, h1: str | re.Pattern[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response)
    expect(page.get_by_role("heading", level=1)).to_have_text(h1)
    page.evaluate(FIXED_CLOCK)
    page.screenshot(path=str(out / f"{name}.png"), full_page=True, animations="disabled")


def test_shoot_every_window_of_the_readme(page: Page, console: Console, tmp_path: Path) -> None:
    out = DOCS if TO_DOCS else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": WIDTH, "height": 700})
    console.connect("acme")
    job = next(j for j in console.sandbox.jobs() if j.reference)
    console.app.jobs.import_job("acme", ATS, job.ats_id, "pj-1")
    console.app.cnts.sync("acme", ATS)  # the job's pipeline, for the do-not-source tab
    for i in range(3):
        doc = copy.deepcopy(leaddoc.EXAMPLE)
        doc.update(id=f"lead-{i}", emails=[f"lead-{i}@example.org"])
        console.app.leads.push("acme", "pj-1", doc)
    base = console.url + "/console/t/acme"
    sign_in(page, console, "/console/t/acme/connections")
    expect(page.get_by_role("heading", level=1)).to_have_text("Connections of acme")

    _shoot(page, out, "connections", f"{base}/connections", "Connections of acme")
    _shoot(page, out, "connect", f"{base}/connect/{ATS}", "Connect SmartRecruiters for acme")
    expect(page.get_by_label("Api key")).to_be_visible()

    page.goto(f"{base}/jobs")
    word = job.title.split()[0]
    page.locator("#q").fill(word)
    expect(page.locator("#results caption")).to_have_text(f"Jobs matching \u201c{word}\u201d")
    page.locator("#q").blur()  # no focus ring in the picture
    page.evaluate(FIXED_CLOCK)
    page.screenshot(path=str(out / "import-job.png"), full_page=True, animations="disabled")

    _shoot(page, out, "cnts", f"{base}/product-jobs/pj-1?tab=ats", re.compile("Product job pj-1"))
    expect(page.locator("#entries tbody tr").first).to_be_visible()
    funnel = page.locator("#leads")
    expect(
        funnel.get_by_role("table", name="Funnel: exported leads per ATS status")
    ).to_be_visible()
    expect(funnel.locator("tr[data-lead]")).to_have_count(3)
    page.evaluate(FIXED_CLOCK)
    funnel.screenshot(path=str(out / "funnel.png"), animations="disabled")

    _shoot(page, out, "runs", f"{base}/runs", "Runs of acme")
    for name in SHOTS:
        shot = out / f"{name}.png"
        assert png_width(shot) <= WIDTH, name
