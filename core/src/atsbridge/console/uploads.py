"""Files the console previewed (a dry run) and keeps until the user confirms the import.

The preview and the import must read the same bytes, and a browser without JavaScript
cannot send a file twice without the user choosing it again, so the server keeps the
upload between the two requests: on disk in a private temporary directory, under a random
token, bound to the console session and the product job it was previewed for, for a few
minutes. Only ``MAX_HELD`` files are held at once (the oldest goes first), so the disk used
is bounded by ``MAX_HELD`` x the upload limit.

The files live in this process: behind a load balancer without sticky sessions a confirm
can reach a server that does not hold the file. It is then answered as an expired preview
(the user uploads the file again), never imported from anything else.
"""

from __future__ import annotations

import hashlib
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

__all__ = ["HELD_SECONDS", "MAX_HELD", "Held", "UploadStash"]

HELD_SECONDS = 15 * 60
MAX_HELD = 8


@attrs.frozen
class Held:
    """One previewed file: where it is, its name as uploaded, and the preview's options."""

    path: Path
    file_name: str
    options: dict[str, Any]
    owner: str
    expires: float


class UploadStash:
    """Previewed uploads by token (see the module). Threads: safe (one lock)."""

    def __init__(
        self,
        *,
        held_seconds: float = HELD_SECONDS,
        max_held: int = MAX_HELD,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._dir = tempfile.TemporaryDirectory(prefix="atsbridge-console-uploads-")
        self._held: OrderedDict[str, Held] = OrderedDict()
        self._lock = threading.Lock()
        self._seconds = held_seconds
        self._max = max_held
        self._clock = clock

    @staticmethod
    def owner(session_csrf: str, tenant: str, product_job_id: str) -> str:
        """Who may confirm: this console session, for this tenant's product job."""
        text = "\x1f".join((session_csrf, tenant, product_job_id))
        return hashlib.sha256(text.encode()).hexdigest()

    def put(
        self, owner: str, data: bytes, file_name: str, options: dict[str, Any]
    ) -> tuple[str, Path]:
        """Hold ``data`` for ``owner``; returns the token its confirm form carries and the
        file's path (for the preview's own read)."""
        token = secrets.token_urlsafe(18)
        # The file keeps its name (its extension tells CSV from XLSX) in a directory of its own.
        folder = Path(self._dir.name) / token
        folder.mkdir()
        path = folder / file_name
        path.write_bytes(data)
        with self._lock:
            self._expire()
            while len(self._held) >= self._max:
                _, oldest = self._held.popitem(last=False)
                _remove(oldest)
            self._held[token] = Held(
                path, file_name, dict(options), owner, self._clock() + self._seconds
            )
        return token, path

    def take(self, owner: str, token: str) -> Held | None:
        """The file held under ``token`` for ``owner``, no longer held (a second confirm of
        the same preview finds nothing); None when unknown, expired or not theirs. The
        caller imports it, then ``discard``s it."""
        with self._lock:
            self._expire()
            held = self._held.get(token)
            if held is None or not secrets.compare_digest(held.owner, owner):
                return None
            del self._held[token]
        return held

    @staticmethod
    def discard(held: Held) -> None:
        """Delete a taken file."""
        _remove(held)

    def drop(self, token: str) -> None:
        """Forget a held file (its preview failed: it must not be confirmable)."""
        with self._lock:
            held = self._held.pop(token, None)
        if held is not None:
            _remove(held)

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._held)

    def _expire(self) -> None:
        now = self._clock()
        for token in [t for t, h in self._held.items() if h.expires <= now]:
            _remove(self._held.pop(token))


def _remove(held: Held) -> None:
    held.path.unlink(missing_ok=True)
    try:
        held.path.parent.rmdir()
    except OSError:
        pass  # the directory goes with the stash's own when the process ends
