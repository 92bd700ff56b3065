"""A lead's whole trip seen in Chromium: pushed through the HTTP API, exported to the
sandbox ATS, moved to another stage there by a recruiter, brought back by the status
flow-back sync, and shown on the product job page without a reload (htmx polls)."""

from __future__ import annotations

import copy

import httpx
from atsbridge import leaddoc
from atsbridge.model import CandidateStatus
from browserworld import ATS, Console
from playwright.sync_api import Page, expect
from test_flows import sign_in


def test_a_stage_moved_in_the_ats_shows_on_the_product_job_page(
    page: Page, console: Console
) -> None:
    console.connect("acme")
    job = next(j for j in console.sandbox.jobs() if j.reference)
    console.app.jobs.import_job("acme", ATS, job.ats_id, "pj-flow")
    doc = copy.deepcopy(leaddoc.EXAMPLE)
    doc.update(id="lead-flow", emails=["lead-flow@example.org"])
    pushed = httpx.post(
        f"{console.url}/v1/tenants/acme/product-jobs/pj-flow/leads",
        json=doc,
        headers={"Authorization": f"Bearer {console.admin_key}"},
    )
    assert pushed.status_code in (200, 201), pushed.text
    console.app.leads.drain("acme", ATS)  # the host's minute task: exports what is queued
    lead = console.app.leads.get("acme", "pj-flow", "lead-flow")
    assert lead.state == "exported" and lead.candidate_id, lead
    assert lead.status != CandidateStatus.INTERVIEWING

    sign_in(page, console, "/console/t/acme/product-jobs/pj-flow")
    row = page.locator("#leads-live tr[data-lead=lead-flow]")
    expect(row).to_contain_text("exported")
    expect(row).not_to_contain_text("interviewing")
    page.evaluate("() => { window.stillTheSamePage = true; }")

    console.sandbox.move_candidate(job.ats_id, lead.candidate_id, CandidateStatus.INTERVIEWING)
    console.app.leads.sync_statuses("acme", ATS)  # the host's hourly flow-back task
    assert console.app.leads.get("acme", "pj-flow", "lead-flow").status == "interviewing"

    # The page's 3 s poll brings the new stage in: the row and the funnel both show it.
    expect(row).to_contain_text("interviewing", timeout=15_000)
    expect(page.locator("#funnel td[data-status=interviewing]")).to_have_text("1")
    assert page.evaluate("() => window.stillTheSamePage") is True  # swapped in, not reloaded
