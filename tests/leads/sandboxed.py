"""An app wired to one real plugin's sandbox, with a product job linked to an open ATS job.

Shared by the per-plugin tests, the SIGKILL child process and the benchmark. The client's
pacing is lifted (``fast=True``) where a test is about correctness, not manners: the sandbox
then does not enforce its limit either, so nothing is hidden by it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import attrs
from atsbridge.api import Atsbridge
from atsbridge.model import JobStatus, RateLimit, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services.leads import OutboxPolicy
from atsbridge.store import JobLink

FAST = RateLimit(requests_per_second=500.0, burst=100, max_concurrency=4)
PRODUCT_JOB = "pj-1"
# Retry at once (no backoff) and never give up: the tests count on every lead ending exported.
EAGER = OutboxPolicy(max_attempts=1000, backoff_base=timedelta(0), jitter=0.0)


def registry_for(name: str, rate_limit: RateLimit | None = FAST) -> PluginRegistry:
    registry = PluginRegistry.discover()
    plugin = registry.get(name)
    if rate_limit is not None:
        plugin.info = attrs.evolve(plugin.info, rate_limit=rate_limit)
    return registry


def start_sandbox(registry: PluginRegistry, name: str, options: SandboxOptions) -> Any:
    return registry.get(name).call("atsbridge_sandbox", options=options).start()


def link_open_job(app: Atsbridge, sandbox: Any, name: str, product_job_id: str) -> str:
    """Link ``product_job_id`` to the sandbox's first open job (as an import would)."""
    job = next(j for j in sorted(sandbox.jobs(), key=lambda j: j.ats_id) if j.status == "open")
    now = app.clock()
    with app.store.tenant("acme") as repo:
        connection = repo.require_connection(name)
        assert connection.id is not None
        repo.add(
            JobLink(
                connection_id=connection.id,
                product_job_id=product_job_id,
                ats_job_id=job.ats_id,
                state=JobStatus.OPEN.value,
                created_at=now,
                updated_at=now,
            )
        )
    return job.ats_id


@contextmanager
def sandboxed(
    db_url: str,
    name: str,
    *,
    options: SandboxOptions | None = None,
    rate_limit: RateLimit | None = FAST,
) -> Iterator[tuple[Atsbridge, Any, str]]:
    """(app, started sandbox, linked ATS job id); stops and closes both on exit."""
    registry = registry_for(name, rate_limit)
    options = options or SandboxOptions(seed=7, jobs=3, candidates_per_job=2, rate_limited=False)
    sandbox = start_sandbox(registry, name, options)
    app = Atsbridge(db=db_url, registry=registry)
    try:
        app.leads.policy = EAGER
        app.connections.connect("acme", name, sandbox.connection_config())
        job_id = link_open_job(app, sandbox, name, PRODUCT_JOB)
        yield app, sandbox, job_id
    finally:
        app.close()
        sandbox.stop()


def drain_until_done(app: Atsbridge, rounds: int = 2000) -> int:
    """Drain until no lead is left to export; returns the number of drains it took."""
    for n in range(1, rounds + 1):
        app.leads.drain()
        if not [v for v in app.leads.list("acme") if v.state not in ("exported", "skipped")]:
            return n
    raise AssertionError(f"leads still not exported after {rounds} drains")
