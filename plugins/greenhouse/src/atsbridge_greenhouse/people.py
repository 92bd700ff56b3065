"""The people of a pipeline walk: what the session remembers, and the walk's cursor.

Harvest v3 applications carry no person (notes 1.5): each needs its candidate's row, read
by ``GET /v3/candidates?ids=`` at most 50 a call, two requests for every page of 100
applications. Two things make that cheaper without changing what a walk returns:

* **A full account-wide pass lists people first.** ``GET /v3/candidates?per_page=500``
  (no job filter, notes 1.3) costs one request per 500 people, a tenth of reading them by
  ids. Its pages come back to the core as empty pages of the same walk (the cursor says
  which phase it is in), so a pass stopped between them resumes where it was; the
  applications pages that follow take their people from what those pages listed.
* **An application seen unchanged is not read again.** The session remembers, for each
  application it returned, its ``last_activity_at``/``updated_at`` and the person it
  returned it with. An incremental listing that shows the application again with the same
  stamps (the sync's overlap window repeats the newest ones on every run) reuses that
  person. A person edited since without any activity on the application is not seen that
  way, but neither is it by any incremental listing (which would not show the application
  at all): the next full pass reads every person afresh.

What is remembered lives in this process only, bounded by ``REMEMBERED``: a fresh process
(a CLI run) reads the overlap's people once. Thread-safe: a connection's tasks share one
session and may list at the same time.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable

import attrs

from atsbridge_greenhouse import mapping as m

__all__ = ["REMEMBERED", "Cursor", "Remembered", "stamp_of"]

# The most people (and applications) a session remembers, oldest forgotten first: about
# 50 MB at a few hundred bytes each. A full pass of an account with more people stops
# listing people there, and reads the rest by ids as it meets them.
REMEMBERED = 100_000

PEOPLE = "people"
APPLICATIONS = "applications"

Stamp = tuple[object, object]


def stamp_of(app: m.GhApplication) -> Stamp:
    """What says an application changed: both of its dates, as listed."""
    return (app.last_activity_at, app.updated_at)


@attrs.frozen
class Cursor:
    """Where a walk is. A bare next-page URL (every walk but a full account-wide pass) is
    an applications cursor without a pass; a full account-wide pass names its phase and
    pass so that its applications pages know which remembered people it listed itself."""

    phase: str = APPLICATIONS
    pass_id: str | None = None
    listed: int = 0  # people listed so far in the people phase
    url: str | None = None  # next page of the phase; None: its first page

    @classmethod
    def start(cls) -> Cursor:
        return cls(PEOPLE, secrets.token_hex(6))

    @classmethod
    def parse(cls, text: str | None) -> Cursor | None:
        if text is None:
            return None
        head, _, rest = text.partition(" ")
        if head == PEOPLE:
            pass_id, listed, url = [*rest.split(" ", 2), "", ""][:3]
            if pass_id and listed.isdigit():
                return cls(PEOPLE, pass_id, int(listed), url or None)
        elif head == APPLICATIONS:
            pass_id, _, url = rest.partition(" ")
            if pass_id:
                return cls(APPLICATIONS, pass_id, 0, url or None)
        return cls(url=text)  # a next-page URL as it always was (checked where followed)

    def encode(self) -> str | None:
        if self.pass_id is None:
            return self.url
        if self.phase == PEOPLE:
            return f"{PEOPLE} {self.pass_id} {self.listed} {self.url or ''}".rstrip()
        return f"{APPLICATIONS} {self.pass_id} {self.url or ''}".rstrip()


class Remembered:
    """People read, and the application stamps they were returned with (see module)."""

    def __init__(self, limit: int = REMEMBERED):
        self.limit = limit
        self._lock = threading.Lock()
        # candidate id -> (person, id of the full pass that listed them, or None)
        self._people: OrderedDict[int, tuple[m.GhCandidate, str | None]] = OrderedDict()
        self._apps: OrderedDict[int, Stamp] = OrderedDict()  # application id -> stamp

    def __len__(self) -> int:
        return len(self._people)

    def _put(self, store: OrderedDict, key: int, value: object) -> None:
        store[key] = value
        store.move_to_end(key)
        while len(store) > self.limit:
            store.popitem(last=False)

    def listed(self, people: Iterable[m.GhCandidate], pass_id: str | None) -> None:
        """People just read (by a full pass's people phase, or by ids)."""
        with self._lock:
            for person in people:
                self._put(self._people, person.id, (person, pass_id))

    def reusable(
        self, apps: Iterable[m.GhApplication], pass_id: str | None, full: bool
    ) -> dict[int, m.GhCandidate]:
        """The people of ``apps`` that need no read: on a full pass, those its own people
        phase listed; on an incremental one, those whose every application on the page is
        unchanged since it was returned with them."""
        wanted: dict[int, bool] = {}
        with self._lock:
            for app in apps:
                known = self._people.get(app.candidate_id)
                if known is None:
                    ok = False
                elif full:
                    ok = pass_id is not None and known[1] == pass_id
                else:
                    ok = self._apps.get(app.id) == stamp_of(app)
                wanted[app.candidate_id] = wanted.get(app.candidate_id, True) and ok
            return {
                cid: self._people[cid][0]
                for cid, ok in wanted.items()
                if ok and cid in self._people
            }

    def returned(self, apps: Iterable[m.GhApplication], people: dict[int, m.GhCandidate]) -> None:
        """Applications returned with their person: an unchanged repeat reuses that person."""
        with self._lock:
            for app in apps:
                if app.candidate_id in people:
                    self._put(self._apps, app.id, stamp_of(app))
