"""``atsbridge demo``: the whole flow against every installed plugin's sandbox, as a story.

It needs nothing but the installed plugins: a temporary data directory holds a SQLite
database and the secret key (or ``db`` points elsewhere), each plugin's fake ATS runs on
loopback with a small seeded world, and everything is removed at the end. Each step goes
through the same facade the CLI and the product use (connections, jobs, cnts, leads).

A step that cannot run (a plugin without a sandbox, a capability it lacks, a service not
installed) is reported as "not available" with the reason, and the steps that depend on
it are skipped for that ATS only; the demo goes on with the others.
"""

from __future__ import annotations

import copy
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.errors import AtsbridgeError
from atsbridge.model import Attachment, CandidateStatus, JobStatus, SandboxOptions
from atsbridge.plugins import PluginRegistry
from atsbridge.services.sync import RunReport
from atsbridge.sessions import call_hook

TENANT = "demo"
SEED = 7
JOBS = 12
CANDIDATES = 4

# A one-page PDF: enough for every ATS to accept it as a resume.
RESUME = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def lead_document(ats: str) -> dict[str, Any]:
    return {
        **copy.deepcopy(leaddoc.EXAMPLE),
        "id": f"demo-lead-{ats}",
        "emails": [f"ada.quinton+{ats}@example.org"],
    }


def _quote(word: str) -> str:
    return shlex.quote(word) if word and not word.startswith("<") else word


class StepUnavailable(Exception):
    """A step cannot run for one ATS; the message says why."""


@attrs.define
class Story:
    """What the demo tells: one line per event, printed as it happens."""

    say: Callable[[str], None]
    lines: list[str] = attrs.Factory(list)
    problems: list[str] = attrs.Factory(list)
    kept_db: str | None = None
    look: list[list[str]] = attrs.Factory(list)  # commands that read the kept database

    def tell(self, text: str) -> None:
        self.lines.append(text)
        self.say(text)

    def command(self, *words: str) -> None:
        """The CLI command that does what the step just did (through the same facade)."""
        self.tell("      $ atsbridge " + " ".join(_quote(w) for w in words))

    def unavailable(self, ats: str, step: str, reason: str) -> None:
        line = f"  ! {ats}: {step} not available: {reason}"
        self.problems.append(line)
        self.tell(line)


@attrs.define
class AtsRun:
    """One ATS through the demo; later steps need what earlier ones produced."""

    name: str
    sandbox: Any = None
    connected: bool = False
    job_id: str | None = None
    product_job: str | None = None
    lead_exported: bool = False
    candidate_id: str | None = None


ProgressFactory = Callable[[str], Any]


@contextmanager
def _no_progress(_label: str) -> Iterator[Callable[[RunReport], None]]:
    yield lambda _report: None


def run_demo(
    say: Callable[[str], None],
    *,
    db: str | None = None,
    registry: PluginRegistry | None = None,
    progress: Callable[[str], Any] = _no_progress,
    keep: bool = False,
) -> Story:
    """Run the demo; ``progress(label)`` is a context manager yielding an on_progress."""
    story = Story(say)
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="atsbridge-demo-"))
    url = db or f"sqlite:///{workdir / 'demo.db'}"
    runs: list[AtsRun] = []
    try:
        with Atsbridge(db=url, registry=registry) as app:
            where = "a temporary SQLite database" if db is None else "the given database"
            story.tell(f"atsbridge demo: tenant {TENANT!r}, {where}, every ATS on loopback.")
            runs = _start_sandboxes(app, story)
            if not runs:
                story.tell("No installed plugin offers a sandbox: nothing to show.")
                return story
            for run in runs:
                _step(story, run, "connect", lambda r: _connect(app, story, r))
            story.tell("Initial job syncs:")
            for run in runs:
                if run.connected:
                    _step(story, run, "job sync", lambda r: _sync_jobs(app, story, r, progress))
            for run in runs:
                if run.connected:
                    _step(story, run, "search and import", lambda r: _import(app, story, r))
            for run in runs:
                if run.product_job:
                    _step(story, run, "do-not-source", lambda r: _cnts(app, story, r, progress))
            for run in runs:
                if run.product_job:
                    _step(story, run, "lead export", lambda r: _export(app, story, r))
            for run in runs:
                if run.product_job:
                    _step(story, run, "job closure", lambda r: _close(app, story, r, progress))
            for run in runs:
                if run.lead_exported:
                    _step(story, run, "stage move", lambda r: _move(app, story, r, progress))
    finally:
        for run in runs:
            if run.sandbox is not None:
                try:
                    run.sandbox.stop()
                except Exception:  # cleanup must not hide what the demo showed
                    pass
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.monotonic() - started
    names = ", ".join(r.name for r in runs)
    cleanup = "kept " + str(workdir) if keep else "removed the temporary files"
    story.tell(
        f"Done in {elapsed:.1f}s: {names}. Stopped the sandboxes and {cleanup}."
        + (f" {len(story.problems)} step(s) were not available." if story.problems else "")
    )
    if keep:
        story.kept_db = url
        _tell_how_to_look(story, url, runs)
    return story


def look_commands(url: str, runs: list[AtsRun]) -> list[list[str]]:
    """Commands that read the kept database (its key file lies beside it, so --db suffices)."""
    commands = [
        ["--db", url, "connections", "--tenant", TENANT],
        ["--db", url, "jobs", "list", TENANT],
    ]
    commands.append(["--db", url, "jobs", "search", TENANT, "engineer"])
    for run in runs:
        if run.product_job:
            commands.append(["--db", url, "cnts", "list", TENANT, run.product_job])
            commands.append(["--db", url, "leads", "funnel", TENANT, run.product_job])
            break
    return commands


def _tell_how_to_look(story: Story, url: str, runs: list[AtsRun]) -> None:
    story.tell(f"The database is kept at {url}; look at it with:")
    story.look = look_commands(url, runs)
    for words in story.look:
        story.command(*words)
    story.tell("(its sandboxes are stopped: syncing it again needs `atsbridge sandbox ATS`)")


def _step(story: Story, run: AtsRun, name: str, fn: Callable[[AtsRun], None]) -> None:
    try:
        fn(run)
    except StepUnavailable as exc:
        story.unavailable(run.name, name, str(exc))
    except AtsbridgeError as exc:
        story.unavailable(run.name, name, str(exc))


def _start_sandboxes(app: Atsbridge, story: Story) -> list[AtsRun]:
    runs = []
    options = SandboxOptions(seed=SEED, jobs=JOBS, candidates_per_job=CANDIDATES)
    started = []
    for name, plugin in sorted(app.registry.plugins.items()):
        run = AtsRun(name)
        try:
            sandbox = call_hook(plugin, "atsbridge_sandbox", options=options)
            if sandbox is None or not callable(getattr(sandbox, "start", None)):
                raise StepUnavailable("the plugin has no sandbox")
            sandbox.start()
        except (StepUnavailable, AtsbridgeError, OSError) as exc:
            story.unavailable(name, "sandbox", str(exc))
            continue
        run.sandbox = sandbox
        runs.append(run)
        started.append(f"{name} at {sandbox.url}")
    for status in app.registry.statuses:
        if not status.ok:
            story.unavailable(status.name, "plugin", status.error or "failed to load")
    if started:
        story.tell(f"Started {len(started)} fake ATSs: " + "; ".join(started) + ".")
        for run in runs:
            story.command(
                "sandbox",
                run.name,
                "--seed",
                str(SEED),
                "--jobs",
                str(JOBS),
                "--candidates",
                str(CANDIDATES),
                "--config-out",
                f"{run.name}.json",
            )
    return runs


def _connect(app: Atsbridge, story: Story, run: AtsRun) -> None:
    app.connections.connect(TENANT, run.name, run.sandbox.connection_config())
    run.connected = True
    story.tell(f"Connected {TENANT}/{run.name}: credentials checked, secrets encrypted at rest.")
    story.command("connect", TENANT, run.name, "--config", f"{run.name}.json")


def _sync_jobs(app: Atsbridge, story: Story, run: AtsRun, progress: ProgressFactory) -> None:
    with progress(f"{run.name} jobs") as on_progress:
        report = app.jobs.sync(TENANT, run.name, on_progress=on_progress)
    counts = report.counts
    story.tell(
        f"  {run.name}: {counts.get('added', 0)} jobs mirrored in {report.pages} page(s)"
        f" ({report.status})."
    )
    story.command("sync", TENANT, run.name, "--jobs")


def _import(app: Atsbridge, story: Story, run: AtsRun) -> None:
    page = app.jobs.search(TENANT, "engineer", ats=run.name, status="open", limit=1)
    query = '"engineer"'
    if not page.items:
        page = app.jobs.search(TENANT, None, ats=run.name, status="open", limit=1)
        query = "any open job"
    if not page.items:
        raise StepUnavailable("the mirror has no open job")
    job = page.items[0]
    product_job = f"demo-{run.name}"
    app.jobs.import_job(TENANT, run.name, job.ats_id, product_job)
    run.job_id, run.product_job = job.ats_id, product_job
    story.tell(
        f"Searched {run.name} for {query}: found {job.title!r} ({job.ats_id}); "
        f"imported as product job {product_job}."
    )
    words = ["engineer"] if query == '"engineer"' else []
    story.command("jobs", "search", TENANT, *words, "--ats", run.name, "--status", "open")
    story.command("jobs", "import", TENANT, run.name, job.ats_id, "--job", product_job)


def _cnts(app: Atsbridge, story: Story, run: AtsRun, progress: ProgressFactory) -> None:
    assert run.product_job is not None
    with progress(f"{run.name} pipeline") as on_progress:
        app.cnts.sync(TENANT, run.name, product_job_id=run.product_job, on_progress=on_progress)
    listing = app.cnts.list_entries(TENANT, run.product_job, limit=3)
    names = ", ".join(e.name or (e.emails[0] if e.emails else "?") for e in listing.entries)
    story.tell(
        f"Do-not-source list of {run.product_job}: {listing.total} people already in "
        f"{run.name}'s pipeline" + (f" (e.g. {names})." if names else ".")
    )
    story.command("cnts", "sync", TENANT, run.name, "--job", run.product_job)
    story.command("cnts", "list", TENANT, run.product_job)


def _export(app: Atsbridge, story: Story, run: AtsRun) -> None:
    assert run.product_job is not None
    resume = Attachment("ada-quinton-resume.pdf", "application/pdf", RESUME)
    outcome = app.leads.push(TENANT, run.product_job, lead_document(run.name), resume)
    lead = outcome.lead
    if lead.state != "exported":
        reason = outcome.deferred or lead.last_error or lead.state
        raise StepUnavailable(f"the lead was not exported ({reason})")
    run.lead_exported, run.candidate_id = True, lead.candidate_id
    people = run.sandbox.people(lead.email) if lead.email else []
    stored = people[0] if people else None
    has_resume = bool(stored is not None and stored.resume)
    story.tell(
        f"Exported lead Ada Quinton with a resume to {run.name}: candidate {lead.candidate_id}"
        + (f", application {lead.application_id}" if lead.application_id else "")
        + (" (the ATS holds the resume)." if has_resume else ".")
    )
    story.command(
        "leads", "push", TENANT, run.product_job, "<lead.json>", "--resume", "<resume.pdf>"
    )


def _close(app: Atsbridge, story: Story, run: AtsRun, progress: ProgressFactory) -> None:
    assert run.job_id is not None and run.product_job is not None
    # The sandbox stamps edits with the wall clock; make sure the edit is after our sync.
    time.sleep(0.01)
    run.sandbox.set_job_status(run.job_id, JobStatus.CLOSED)
    with progress(f"{run.name} job status") as on_progress:
        app.sync.run(TENANT, run.name, ["links"], on_progress=on_progress)
    link = next((v for v in app.jobs.list(TENANT) if v.product_job_id == run.product_job), None)
    if link is None or link.state != "closed":
        state = link.state if link else "gone"
        raise StepUnavailable(f"the closure did not arrive (product job is {state})")
    story.tell(
        f"Closed job {run.job_id} in {run.name}: the status check marked {run.product_job} "
        f"closed ({link.status_raw or 'closed'})."
    )
    story.command("sync", TENANT, run.name, "--links")


def _move(app: Atsbridge, story: Story, run: AtsRun, progress: ProgressFactory) -> None:
    assert run.job_id is not None and run.product_job is not None
    if run.candidate_id is None:
        raise StepUnavailable("the ATS returned no candidate id")
    time.sleep(0.01)
    run.sandbox.move_candidate(run.job_id, run.candidate_id, CandidateStatus.INTERVIEWING)
    with progress(f"{run.name} statuses") as on_progress:
        app.sync.run(TENANT, run.name, ["statuses"], on_progress=on_progress)
    lead = app.leads.get(TENANT, run.product_job, f"demo-lead-{run.name}")
    funnel = app.leads.funnel(TENANT, run.product_job)
    shown = ", ".join(f"{k} {v}" for k, v in funnel.statuses.items() if v) or "empty"
    story.tell(
        f"Moved Ada to interviewing in {run.name}: the lead now reads {lead.status}"
        f"{' (' + lead.stage + ')' if lead.stage else ''}; funnel of {run.product_job}: {shown}."
    )
    story.command("sync", TENANT, run.name, "--statuses")
    story.command("leads", "funnel", TENANT, run.product_job)
