"""A kind with ``prefetch = True`` has its next page requested while the current one is stored.

The runner's cursor still only advances in a page's transaction, so a failure anywhere
resumes at the first page not committed, and no request is left running once ``run`` returns.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from atsbridge.errors import AtsUnavailable
from atsbridge.services.sync import DEFAULT_OVERLAP, FetchedPage, PageOutcome, SyncRunner
from atsbridge.store import SyncCheckpoint
from sqlmodel import select

WAIT = 5.0  # seconds; only ever reached when the behaviour under test is missing
SEEN_UP_TO = datetime(2026, 10, 1, tzinfo=UTC)


class Pages:
    """Four pages of one item each; cursors "1".."3"; records what was fetched and stored."""

    name = "prefetched"
    prefetch = True

    def __init__(self) -> None:
        self.fetched: list[str | None] = []
        self.stored: list[str] = []
        self.in_flight = 0
        self.fail_fetch: str | None = None  # cursor whose request fails
        self.fail_apply: str | None = None  # item whose apply fails
        self.on_apply = lambda item: None
        self.on_fetch = lambda cursor: None

    def fetch(self, session, scope, cursor, since) -> FetchedPage:
        self.fetched.append(cursor)
        self.in_flight += 1
        try:
            self.on_fetch(cursor)
            if cursor is not None and cursor == self.fail_fetch:
                raise AtsUnavailable("the ATS is down")
            n = int(cursor or 0)
            return FetchedPage(items=[f"item{n}"], next_cursor=str(n + 1) if n < 3 else None)
        finally:
            self.in_flight -= 1

    def apply(self, repo, connection_id, scope, page, now) -> PageOutcome:
        item = page.items[0]
        self.on_apply(item)
        if item == self.fail_apply:
            raise RuntimeError(f"cannot store {item}")
        self.stored.append(item)
        return PageOutcome(added=1, high_water=SEEN_UP_TO)

    def finish(self, repo, connection_id, scope, info, now) -> PageOutcome:
        return PageOutcome()

    def after_commit(self) -> None:
        pass


def _cursor(app) -> str | None:
    with app.store.tenant("acme") as repo:
        row = repo.first(select(SyncCheckpoint).where(SyncCheckpoint.kind == Pages.name))
        return row.cursor if row else None


def _run(app, kind: Pages):
    with app.open_session("acme", "jobfake") as session:
        return SyncRunner(app.store, clock=app.clock).run(session, kind)


def test_the_next_page_is_requested_while_the_current_one_is_stored(app) -> None:
    kind = Pages()
    requested: dict[str, threading.Event] = {c: threading.Event() for c in ("1", "2", "3")}
    kind.on_fetch = lambda cursor: cursor and requested[cursor].set()

    def wait_for_the_next_request(item: str) -> None:
        following = str(int(item.removeprefix("item")) + 1)
        if following in requested:
            # Only a prefetching runner can have asked for it while this page is stored.
            assert requested[following].wait(WAIT), f"page {following} was not prefetched"

    kind.on_apply = wait_for_the_next_request
    report = _run(app, kind)
    assert report.status == "succeeded" and report.pages == 4
    assert kind.fetched == [None, "1", "2", "3"]  # one request per page, none twice
    assert kind.stored == ["item0", "item1", "item2", "item3"]


def test_a_failed_page_waits_for_the_request_in_flight_and_resumes_there(app) -> None:
    kind = Pages()
    kind.fail_apply = "item1"
    release = threading.Event()
    kind.on_fetch = lambda cursor: cursor == "2" and release.wait(WAIT)
    kind.on_apply = lambda item: item == "item1" and threading.Timer(0.2, release.set).start()
    with pytest.raises(RuntimeError, match="cannot store item1"):
        _run(app, kind)
    assert kind.in_flight == 0  # run() returned only once the prefetch had finished
    assert kind.stored == ["item0"] and _cursor(app) is not None

    again = Pages()
    report = _run(app, again)
    assert again.fetched == ["1", "2", "3"]  # resumed at the first page not stored
    assert report.status == "succeeded" and report.progress["resumed_after_pages"] == 1


def test_a_failed_prefetch_fails_the_run_after_the_page_before_it_is_stored(app) -> None:
    kind = Pages()
    kind.fail_fetch = "2"
    with pytest.raises(AtsUnavailable):
        _run(app, kind)
    assert kind.stored == ["item0", "item1"]
    with app.open_session("acme", "jobfake") as session:
        run = SyncRunner(app.store, clock=app.clock).runs(session.tenant, session.ats)[0]
    assert run.status == "failed" and run.pages == 2

    again = Pages()
    _run(app, again)
    assert again.fetched == ["2", "3"]


def test_kinds_without_prefetch_fetch_in_turn(app) -> None:
    kind = Pages()
    kind.prefetch = False  # type: ignore[misc]
    order: list[str] = []
    kind.on_fetch = lambda cursor: order.append(f"fetch {cursor}")
    kind.on_apply = lambda item: order.append(f"apply {item}")
    _run(app, kind)
    assert order == [
        "fetch None",
        "apply item0",
        "fetch 1",
        "apply item1",
        "fetch 2",
        "apply item2",
        "fetch 3",
        "apply item3",
    ]


def test_since_is_passed_to_every_prefetched_request(app) -> None:
    first = Pages()
    _run(app, first)
    seen: list[datetime | None] = []
    kind = Pages()
    real = kind.fetch
    kind.fetch = lambda s, scope, cursor, since: seen.append(since) or real(s, scope, cursor, since)  # type: ignore[method-assign]
    _run(app, kind)
    assert seen == [SEEN_UP_TO - DEFAULT_OVERLAP] * 4
