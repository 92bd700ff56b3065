"""Driving a plugin through its hooks only, against its own sandbox.

The harness is what every contract check uses: it builds the plugin's sandbox, opens sessions
with the sandbox's connection config, pages through results with loop guards, and captures
log records. It never imports anything of the plugin but the hook object it is given.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import attrs
from atsbridge.model import (
    Candidate,
    CandidateQuery,
    Capability,
    Job,
    JobQuery,
    JobStatus,
    Page,
    PluginInfo,
    RateLimit,
    SandboxOptions,
    SessionContext,
)

from atsbridge_sdk.sandbox.base import JobFacts, Sandbox

# Rate used for checks that are not about pacing, so they stay fast; the sandbox does not
# enforce its limit in those checks either.
UNPACED = RateLimit(requests_per_second=1000.0, burst=1000, max_concurrency=4)
MAX_PAGES = 500
# Big enough for several pages of jobs and of each pipeline at the kit's page size.
SMALL_WORLD = SandboxOptions(seed=7, jobs=12, candidates_per_job=7, rate_limited=False)


class ContractFailure(AssertionError):
    """A plugin broke the contract; the message says what was expected and what happened."""


class NotApplicable(Exception):
    """A check does not apply: the plugin does not declare the capability it checks."""


def fail(message: str) -> ContractFailure:
    return ContractFailure(message)


def few(values: Iterable[Any], n: int = 5) -> str:
    """Up to ``n`` values, sorted, for a failure message (with how many more there are)."""
    items = sorted(str(v) for v in values)
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def require_stamps_apart(since: datetime, unchanged: list[datetime]) -> None:
    """Fail unless every unchanged application's ``updated_at`` is before ``since``."""
    if unchanged and since <= max(unchanged):
        raise fail(
            "sandbox.move_candidate/add_candidate must move the application's updated_at "
            "at least 1 s past every other, so updated_since can be checked"
        )


def open_jobs(sandbox: Sandbox, n: int) -> list[JobFacts]:
    """The first ``n`` open sandbox jobs by id; fails when the world has fewer."""
    jobs = sorted((j for j in sandbox.jobs() if j.status == JobStatus.OPEN), key=lambda j: j.ats_id)
    if len(jobs) < n:
        raise fail(f"the sandbox has {len(jobs)} open jobs; the kit needs {n} (seed more jobs)")
    return jobs[:n]


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for text matching."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def job_matches_text(job: Job, text: str) -> bool:
    """The core's local text filter, as the kit reads it.

    A query matches when it is part of the job's reference or ATS id, or when every query
    word starts a word of the title or of a location (city, region, country code, raw text).
    The core applies this to whatever the plugin returns, so a plugin may return more.
    """
    query = fold(text).strip()
    if not query:
        return True
    if any(query in fold(v) for v in (job.reference or "", job.ats_id) if v):
        return True
    words = re.findall(r"\w+", fold(" ".join([job.title, *(loc.words() for loc in job.locations)])))
    return all(any(w.startswith(token) for w in words) for token in query.split())


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def capture_logs() -> Iterator[list[logging.LogRecord]]:
    """Every record logged anywhere at DEBUG and above while the block runs."""
    root = logging.getLogger()
    handler = _ListHandler()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def record_text(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a broken format string still must not hide its arguments
        text = f"{record.msg} {record.args}"
    if record.exc_info:
        text += "\n" + logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        text += "\n" + record.exc_text
    return text


@attrs.define
class Harness:
    """One plugin under test plus the knobs a plugin's test class may tune."""

    plugin: Any
    options: SandboxOptions = SMALL_WORLD
    page_size: int = 3
    fault_rate: float = 0.2
    fault_seed: int = 5
    retry_after_seconds: float = 0.3
    rate_limit_requests: int | None = None
    unknown_job_id: str | None = "987654321"
    saved_secrets: list[dict[str, str]] = attrs.field(factory=list)

    # -- hooks ----------------------------------------------------------------------------

    def info(self) -> PluginInfo:
        info = self.plugin.atsbridge_plugin_info()
        if not isinstance(info, PluginInfo):
            raise fail(f"atsbridge_plugin_info returned {type(info).__name__}, not PluginInfo")
        return info

    @contextmanager
    def sandbox(self, **overrides: Any) -> Iterator[Sandbox]:
        options = attrs.evolve(self.options, **overrides)
        sandbox = self.plugin.atsbridge_sandbox(options=options)
        if not isinstance(sandbox, Sandbox):
            raise fail(
                f"atsbridge_sandbox returned {type(sandbox).__name__}; it must return an "
                "atsbridge_sdk.sandbox.Sandbox"
            )
        if getattr(sandbox, "_server", None) is None:
            sandbox.start()
        try:
            if not sandbox.url.startswith("http://127.0.0.1:"):
                raise fail(f"the sandbox must listen on 127.0.0.1 only, not {sandbox.url}")
            yield sandbox
        finally:
            sandbox.stop()

    def open(
        self, sandbox: Sandbox, *, valid: bool = True, rate_limit: RateLimit | None = UNPACED
    ) -> Any:
        context = SessionContext(
            connection_label="contract-kit",
            save_secrets=self.saved_secrets.append,
            on_event=None,
            rate_limit=rate_limit,
        )
        return self.plugin.atsbridge_open_session(
            config=sandbox.connection_config(valid=valid), context=context
        )

    @contextmanager
    def session(self, sandbox: Sandbox, **kw: Any) -> Iterator[Any]:
        session = self.open(sandbox, **kw)
        try:
            yield session
        finally:
            close = getattr(session, "close", None)
            if callable(close):
                close()

    # -- paging ---------------------------------------------------------------------------------

    def _pages(self, hook: str, session: Any, query: Any, item_type: type) -> tuple[list, int]:
        items: list = []
        seen_cursors: set[str] = set()
        pages = 0
        while True:
            page = getattr(self.plugin, hook)(session=session, query=query)
            pages += 1
            if not isinstance(page, Page):
                raise fail(f"{hook} returned {type(page).__name__}, not Page")
            for item in page.items:
                if not isinstance(item, item_type):
                    raise fail(f"{hook} returned a {type(item).__name__} item, not {item_type}")
            items.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return items, pages
            if not isinstance(cursor, str):
                raise fail(f"{hook} returned a {type(cursor).__name__} next_cursor, not str")
            if cursor in seen_cursors or pages >= MAX_PAGES:
                raise fail(f"{hook} loops: next_cursor {cursor!r} came back twice")
            seen_cursors.add(cursor)
            query = attrs.evolve(query, cursor=cursor)

    def all_jobs(self, session: Any, query: JobQuery | None = None) -> tuple[list[Job], int]:
        query = query or JobQuery(page_size=self.page_size)
        return self._pages("atsbridge_search_jobs", session, query, Job)

    def all_candidates(self, session: Any, job_id: str, **kw: Any) -> tuple[list[Candidate], int]:
        query = CandidateQuery(job_ats_id=job_id, page_size=self.page_size, **kw)
        return self._pages("atsbridge_list_candidates", session, query, Candidate)

    def account_wide(self) -> bool:
        """Whether the plugin declares the account-wide candidate listing."""
        return Capability.ACCOUNT_CANDIDATES in self.info().capabilities

    def all_account_candidates(self, session: Any, **kw: Any) -> tuple[list[Candidate], int]:
        """Every page of the account-wide listing (``job_ats_id=None``): items and pages."""
        query = CandidateQuery(job_ats_id=None, page_size=self.page_size, **kw)
        return self._pages("atsbridge_list_candidates", session, query, Candidate)

    # -- secrets -----------------------------------------------------------------------------

    def secret_fields(self) -> list[str]:
        """Top-level config fields the schema marks secret (writeOnly or x-secret)."""
        schema = self.info().config_schema
        return sorted(
            name
            for name, prop in (schema.get("properties") or {}).items()
            if isinstance(prop, dict) and (prop.get("writeOnly") or prop.get("x-secret"))
        )

    def secret_values(self, sandbox: Sandbox) -> dict[str, str]:
        """label -> value of every secret the plugin handled (config fields, sent tokens)."""
        out: dict[str, str] = {}
        fields = self.secret_fields()
        for valid in (True, False):
            config = sandbox.connection_config(valid=valid)
            for name in fields:
                value = config.get(name)
                if isinstance(value, str) and len(value) >= 4:
                    out[f"config field {name!r}" + ("" if valid else " (bad credentials)")] = value
        sent = {e.auth_value for e in list(sandbox.request_log) if len(e.auth_value) >= 6}
        for n, value in enumerate(sorted(sent - set(out.values())), 1):
            out[f"credential #{n} sent in a request header"] = value
        return out
