"""A sync process killed with SIGKILL mid-run: the rerun resumes at the next page at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from atsbridge.api import Atsbridge
from atsbridge.plugins import PluginRegistry
from atsbridge.store import Job as JobRow
from jobfake import CONFIG, JobFake
from sqlmodel import select

HERE = Path(__file__).resolve().parent
PAGE = 5

CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {here!r})
    from atsbridge.api import Atsbridge
    from atsbridge.plugins import PluginRegistry
    from jobfake import JobFake

    ats = JobFake()
    for i in range(20):
        ats.add(f"K{{i:02d}}", f"Job {{i}}")
    def hang(number):
        if number == 3:  # pages 1 and 2 are committed; wait here to be killed
            print("ready", flush=True)
            time.sleep(60)
    ats.on_call = hang
    registry = PluginRegistry()
    registry.register(ats, "jobfake")
    with Atsbridge(db={db!r}, registry=registry) as app:
        with app.open_session("acme", "jobfake") as session:
            app.jobs.sync_session(session, page_size={page})
    """
)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_sigkilled_sync_is_resumed_by_the_next_run(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'kill.db'}"
    ats = JobFake()
    for i in range(20):  # the same jobs the child serves (same names, same ticking times)
        ats.add(f"K{i:02d}", f"Job {i}")
    registry = PluginRegistry()
    registry.register(ats, "jobfake")
    with Atsbridge(db=db, registry=registry) as app:
        app.connections.connect("acme", "jobfake", dict(CONFIG))
    script = CHILD.format(here=str(HERE), db=db, page=PAGE)
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    with Atsbridge(db=db, registry=registry) as app:
        [killed] = app.sync.runs("acme", "jobfake")
        assert killed.status == "running" and killed.pages == 2  # nobody recorded its death
        started = time.monotonic()
        with app.open_session("acme", "jobfake") as session:
            report = app.jobs.sync_session(session, page_size=PAGE)
        assert time.monotonic() - started < 5  # no waiting for the dead run's heartbeat
        assert [q.cursor for q in ats.calls] == ["10", "15"]
        assert report.status == "succeeded" and report.progress["resumed_after_pages"] == 2
        runs = {r.id: r for r in app.sync.runs("acme", "jobfake")}
        assert runs[killed.id].status == "interrupted"
        with app.store.tenant("acme") as repo:
            assert len(repo.all(select(JobRow))) == 20
