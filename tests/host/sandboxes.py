"""Sandboxes of every installed plugin, connected to tenants, for the host's end-to-end tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs
from atsbridge.api import Atsbridge
from atsbridge.demo import RESUME, lead_document
from atsbridge.model import Attachment, RateLimit, SandboxOptions
from atsbridge.plugins import PluginRegistry

PLUGINS = sorted(PluginRegistry.discover().plugins)
# Lift the clients' pacing: these tests are about the host, not about manners.
FAST = RateLimit(requests_per_second=500.0, burst=100, max_concurrency=4)
# Every timed task of every connection runs about every 0.6 s.
QUICK = {"intervals": {"jobs": 0.01, "links": 0.01, "candidates": 0.01, "statuses": 0.01}}


def fast_registry() -> PluginRegistry:
    registry = PluginRegistry.discover()
    for plugin in registry.plugins.values():
        plugin.info = attrs.evolve(plugin.info, rate_limit=FAST)
    return registry


def start(registry: PluginRegistry, ats: str, seed: int = 7, jobs: int = 4) -> Any:
    options = SandboxOptions(seed=seed, jobs=jobs, candidates_per_job=2, rate_limited=False)
    return registry.get(ats).call("atsbridge_sandbox", options=options).start()


def connect(app: Atsbridge, tenant: str, ats: str, sandbox: Any, settings: dict) -> None:
    app.connections.connect(tenant, ats, sandbox.connection_config())
    app.connections.update_settings(tenant, ats, **settings)


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout}s: {what}")
        time.sleep(0.1)


def import_first_open_job(app: Atsbridge, tenant: str, ats: str, product_job: str) -> str:
    page = wait_for(
        lambda: app.jobs.search(tenant, None, ats=ats, status="open", limit=50).items,
        what=f"{tenant}/{ats} mirror filled by the host",
    )
    job = sorted(page, key=lambda j: j.ats_id)[0]
    app.jobs.import_job(tenant, ats, job.ats_id, product_job)
    return job.ats_id


def enqueue_lead(app: Atsbridge, tenant: str, product_job: str, ats: str, n: int = 0) -> str:
    document = lead_document(ats)
    document["id"] = f"lead-{ats}-{n}"
    document["emails"] = [f"lead-{tenant}-{ats}-{n}@example.org"]
    resume = Attachment("resume.pdf", "application/pdf", RESUME)
    app.leads.enqueue(tenant, product_job, document, resume)
    return document["emails"][0]
