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


class AtHand:
    """A page source holding one page ready, as a worker or a prefetch left it."""

    def __init__(self, key: tuple[str, str | None, datetime | None], page: FetchedPage):
        self.key, self.page = key, page
        self.taken: list[tuple[str, str | None, datetime | None]] = []
        self.requested: list[tuple[str, str | None, datetime | None]] = []

    def request(self, scope, cursor, since) -> None:
        self.requested.append((scope, cursor, since))

    def at_hand(self, scope):
        return self.key if self.page is not None and self.key[0] == scope else None

    def take(self, scope, cursor, since) -> FetchedPage | None:
        if self.page is None or (scope, cursor, since) != self.key:
            return None
        self.taken.append(self.key)
        page, self.page = self.page, None
        return page


def _counting_transactions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    opened: list[str] = []
    real = SyncRunner._transaction

    def counted(self, tenant):  # type: ignore[no-untyped-def]
        opened.append(tenant)
        return real(self, tenant)

    monkeypatch.setattr(SyncRunner, "_transaction", counted)
    return opened


def _run_with(app, kind: Pages, ahead: AtHand, progress: list | None = None):
    with app.open_session("acme", "jobfake") as session:
        runner = SyncRunner(app.store, clock=app.clock)
        on_progress = progress.append if progress is not None else None
        return runner.run(session, kind, ahead=ahead, on_progress=on_progress)


def test_a_first_page_at_hand_is_stored_in_the_runs_first_transaction(
    app, monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = Pages()
    ahead = AtHand(("", None, None), FetchedPage(items=["item0"], next_cursor=None))
    opened = _counting_transactions(monkeypatch)
    progress: list = []
    report = _run_with(app, kind, ahead, progress)
    assert len(opened) == 1  # run record, page, checkpoint: one commit
    assert report.status == "succeeded" and report.pages == 1 and report.counts["added"] == 1
    assert kind.stored == ["item0"] and kind.fetched == []
    assert progress == [report]
    with app.open_session("acme", "jobfake") as session:
        runs = SyncRunner(app.store, clock=app.clock).runs(session.tenant, session.ats)
    assert [(r.status, r.pages) for r in runs] == [("succeeded", 1)]


def test_a_first_page_at_hand_asks_for_the_next_one_and_the_pass_goes_on(app) -> None:
    kind = Pages()
    ahead = AtHand(("", None, None), FetchedPage(items=["item0"], next_cursor="1"))
    report = _run_with(app, kind, ahead)
    assert ahead.requested[0] == ("", "1", None)  # asked while the first page was stored
    assert report.status == "succeeded" and report.pages == 4
    assert kind.stored == ["item0", "item1", "item2", "item3"]
    assert kind.fetched == ["1", "2", "3"]


def test_a_first_page_that_fails_to_store_leaves_a_failed_run_and_nothing_stored(app) -> None:
    kind = Pages()
    kind.fail_apply = "bad"
    ahead = AtHand(("", None, None), FetchedPage(items=["bad"], next_cursor="1"))
    with pytest.raises(RuntimeError, match="cannot store bad"):
        _run_with(app, kind, ahead)
    assert kind.stored == []
    with app.open_session("acme", "jobfake") as session:
        runs = SyncRunner(app.store, clock=app.clock).runs(session.tenant, session.ats)
    assert [(r.status, r.pages) for r in runs] == [("failed", 0)]
    assert "cannot store bad" in runs[0].errors[-1]
    again = Pages()
    _run(app, again)
    assert again.fetched == [None, "1", "2", "3"]  # the pass starts over: nothing was kept


def test_a_page_at_hand_for_another_start_is_left_and_the_pass_fetches_its_own(app) -> None:
    kind = Pages()
    ahead = AtHand(("", "5", None), FetchedPage(items=["item5"], next_cursor=None))
    report = _run_with(app, kind, ahead)
    assert ahead.taken == [] and ahead.requested[0] == ("", "1", None)
    assert report.status == "succeeded" and kind.fetched == [None, "1", "2", "3"]
