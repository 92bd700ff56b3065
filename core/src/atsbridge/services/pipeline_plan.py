"""Which listing a pipeline walk reads: the account-wide one or each linked job's (#15 item 2).

A walk of the pipelines (the ``candidates`` kind, which also feeds the status flow-back)
can read them two ways when the plugin declares ``Capability.ACCOUNT_CANDIDATES``:

* **account-wide**: one listing of every application of the account, each with its job;
  people on jobs that are not linked are dropped locally. An incremental pass with nothing
  changed costs one request, whatever the number of linked jobs.
* **per job**: one listing per linked job. An incremental pass costs at least one request
  per linked job, but a full pass reads only the linked jobs' people.

The choice is made per connection and pass from estimated request counts:

* the account-wide full pass costs the pages of the last one (kept as its run's
  ``pass_pages``); before there was one, the people known on linked jobs scaled by the
  share of the mirror's jobs that are linked, and with nothing known at all, account-wide
  wins when most of the mirror's jobs are linked (each linked job costs a request of its own
  per job, while pages of the account listing are full);
* the per-job full pass costs each linked job's pages (its known people / page size, at
  least one request);
* between two full passes (``RUNS_PER_FULL`` walks), an incremental walk costs one request
  account-wide and one per linked job per job: the mode with the cheaper cycle is kept.

In the account-wide mode the account listing is incremental after its first pass (its own
checkpoint, scope ``ACCOUNT_SCOPE``), full when its reconciliation is due; a job linked
since the last account-wide full pass (no full pass of its own either) is listed on its
own, fully, because an incremental account listing would never show its older people,
unless listing those jobs costs more than a full account pass.

This module only decides (no store, no requests): ``atsbridge.services.cnts`` gathers the
facts and runs the plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

__all__ = ["ACCOUNT_SCOPE", "JobFacts", "PipelinePlan", "choose_plan"]

# The checkpoint scope of the account-wide listing. No ATS job id is "*".
ACCOUNT_SCOPE = "*"
# Walks between two full passes at the host's defaults (the candidates task every 3 hours,
# a full pass a day), for weighing the modes; the status task's walks only add to it.
RUNS_PER_FULL = 8


@attrs.frozen
class JobFacts:
    """What the store knows of one linked (not closed) job when the plan is made."""

    ats_job_id: str
    people: int  # its people on the do-not-source list from the ATS (0: none known yet)
    covered: bool  # a completed full pass listed it (its own, or an account-wide one)
    full_due: bool  # its own full pass is due (per-job mode reconciliation)


@attrs.frozen
class PipelinePlan:
    """The passes of one walk: maybe the account listing, then per-job listings."""

    account: bool  # read the account-wide listing
    account_full: bool  # ... as a full pass
    per_job: tuple[tuple[str, bool], ...]  # (ATS job id, full) of per-job passes
    estimate: int  # requests the plan is expected to cost at least
    reason: str  # why, for logs and the run's progress

    @property
    def scopes(self) -> list[tuple[str, bool]]:
        """Every (scope, full) in run order: the account listing first."""
        head = [(ACCOUNT_SCOPE, self.account_full)] if self.account else []
        return [*head, *self.per_job]


def _pages(people: int, page_size: int) -> int:
    return max(1, math.ceil(people / page_size))


def account_pages_estimate(
    jobs: Sequence[JobFacts], mirror_jobs: int, last_account_pages: int | None, page_size: int
) -> int | None:
    """Pages of a full account-wide pass: the last one's, else estimated; None: unknown."""
    if last_account_pages is not None and last_account_pages > 0:
        return last_account_pages
    known = sum(job.people for job in jobs)
    if not jobs or known == 0:
        return None
    share = len(jobs) / max(mirror_jobs, len(jobs))
    return _pages(math.ceil(known / share), page_size)


def choose_plan(
    jobs: Sequence[JobFacts],
    *,
    account_capable: bool,
    account_started: bool,
    account_in_progress: bool,
    account_full_due: bool,
    mirror_jobs: int,
    last_account_pages: int | None,
    page_size: int,
    full: bool = False,
    runs_per_full: int = RUNS_PER_FULL,
) -> PipelinePlan:
    """The cheapest plan for a walk over ``jobs`` (see the module docstring).

    ``account_started``: the account listing has a checkpoint with a high-water mark (an
    incremental account pass is possible); ``account_in_progress``: one is checkpointed
    mid-way (it is resumed, never restarted); ``account_full_due``: its reconciliation is
    due. ``full`` forces full passes (``sync --full``).
    """
    per_job_full = sum(_pages(job.people, page_size) for job in jobs)

    def per_job(reason: str) -> PipelinePlan:
        scopes = tuple((job.ats_job_id, full or job.full_due) for job in jobs)
        pairs = zip(jobs, scopes, strict=True)
        cost = sum(_pages(j.people, page_size) if f else 1 for j, (_, f) in pairs)
        return PipelinePlan(False, False, scopes, cost, reason)

    if not jobs:
        return PipelinePlan(False, False, (), 0, "no linked jobs")
    if not account_capable:
        return per_job("the plugin lists pipelines job by job only")
    account_full = account_pages_estimate(jobs, mirror_jobs, last_account_pages, page_size)
    if account_in_progress and not full:
        # A stopped account pass resumes (its mode is the checkpoint's); jobs it may not
        # cover are listed on their own.
        fresh = tuple((j.ats_job_id, True) for j in jobs if not j.covered)
        cost = 1 + sum(_pages(j.people, page_size) for j in jobs if not j.covered)
        return PipelinePlan(True, False, fresh, cost, "resuming the account-wide pass")
    if account_full is None:
        cheaper = len(jobs) * 2 >= max(mirror_jobs, len(jobs))
        reason = "most of the mirror's jobs are linked" if cheaper else "few jobs are linked"
    else:
        # A mode is kept from one full pass to the next: weigh a full pass and the
        # incremental ones until the next (1 request account-wide, 1 per job per job).
        between = max(0, runs_per_full - 1)
        account_cycle = account_full + between
        per_job_cycle = per_job_full + between * len(jobs)
        cheaper = account_cycle <= per_job_cycle
        reason = (
            f"account-wide ~{account_cycle} requests per reconciliation cycle, "
            f"per job ~{per_job_cycle}"
        )
    if not cheaper:
        return per_job(reason)
    estimate = account_full if account_full is not None else len(jobs)
    if full or account_full_due or not account_started:
        return PipelinePlan(True, True, (), estimate, reason)
    new = [job for job in jobs if not job.covered]
    new_cost = sum(_pages(job.people, page_size) for job in new)
    if new and account_full is not None and new_cost > account_full:
        return PipelinePlan(True, True, (), estimate, f"{len(new)} jobs just linked; {reason}")
    return PipelinePlan(
        True,
        False,
        tuple((job.ats_job_id, True) for job in new),
        1 + new_cost,
        f"incremental account-wide pass; {len(new)} just-linked jobs on their own",
    )
