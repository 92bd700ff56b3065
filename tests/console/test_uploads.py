"""The upload stash: a previewed file is confirmable once, by its session, for a while."""

from __future__ import annotations

from atsbridge.console.uploads import UploadStash


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_held_file_is_taken_once_by_its_owner_only() -> None:
    stash = UploadStash()
    owner = stash.owner("csrf-a", "acme", "pj-1")
    token, path = stash.put(owner, b"email\nx@example.org\n", "people.csv", {"sheet": None})
    assert path.name == "people.csv" and path.read_bytes().startswith(b"email")
    assert stash.take(stash.owner("csrf-b", "acme", "pj-1"), token) is None  # another session
    assert stash.take(stash.owner("csrf-a", "acme", "pj-2"), token) is None  # another job
    held = stash.take(owner, token)
    assert held is not None and held.options == {"sheet": None}
    assert stash.take(owner, token) is None  # a second confirm finds nothing
    stash.discard(held)
    assert not path.exists()


def test_held_files_expire_and_are_bounded() -> None:
    clock = Clock()
    stash = UploadStash(held_seconds=60, max_held=2, clock=clock)
    owner = stash.owner("c", "t", "j")
    first, first_path = stash.put(owner, b"1", "a.csv", {})
    clock.now += 61
    assert stash.take(owner, first) is None and not first_path.exists()
    tokens = [stash.put(owner, bytes([i]), f"{i}.csv", {})[0] for i in range(3)]
    assert len(stash) == 2
    assert stash.take(owner, tokens[0]) is None  # the oldest made room
    assert stash.take(owner, tokens[2]) is not None


def test_a_dropped_file_is_gone() -> None:
    stash = UploadStash()
    owner = stash.owner("c", "t", "j")
    token, path = stash.put(owner, b"x", "x.csv", {})
    stash.drop(token)
    assert not path.exists() and stash.take(owner, token) is None
