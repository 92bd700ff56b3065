"""Task leases and the host registry on SQLite and PostgreSQL, with an injected clock."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from atsbridge.api import Atsbridge
from atsbridge.host.leases import HostError, Leases, Registry, SqliteHostLock, owner
from atsbridge.store import Store, TaskLease
from hoststub import stub_config, stub_registry

TTL = timedelta(seconds=30)


@pytest.fixture
def conn(app: Atsbridge) -> tuple[int, int]:
    app.connections.connect("acme", "stub", stub_config("a1"), check=False)
    with app.store.tenant("acme") as repo:
        row = repo.require_connection("stub")
        assert row.id is not None
        return repo.tenant_id, row.id


def _leases(store: Store, holder: str, clock) -> Leases:
    return Leases(store, holder, TTL, clock)


def test_one_holder_at_a_time_until_the_lease_expires(app, conn, clock) -> None:
    tenant_id, cid = conn
    a, b = _leases(app.store, "host-a", clock), _leases(app.store, "host-b", clock)
    claim = a.claim(tenant_id, cid, "jobs", due_before=None)
    assert claim is not None and claim.taken_from is None
    assert b.claim(tenant_id, cid, "jobs", due_before=None) is None
    clock.advance(seconds=29)
    assert b.claim(tenant_id, cid, "jobs", due_before=None) is None
    clock.advance(seconds=1)  # exactly at expiry: a dead holder's lease is free
    taken = b.claim(tenant_id, cid, "jobs", due_before=None)
    assert taken is not None and taken.taken_from == "host-a"
    # Other tasks of the same connection have their own lease.
    assert a.claim(tenant_id, cid, "links", due_before=None) is not None


def test_renewal_keeps_the_lease_and_reports_a_lost_one(app, conn, clock) -> None:
    tenant_id, cid = conn
    a, b = _leases(app.store, "host-a", clock), _leases(app.store, "host-b", clock)
    assert a.claim(tenant_id, cid, "jobs", due_before=None) is not None
    for _ in range(5):
        clock.advance(seconds=20)
        assert a.renew([(cid, "jobs")]) == set()
        assert b.claim(tenant_id, cid, "jobs", due_before=None) is None
    clock.advance(seconds=31)  # a missed renewal: b takes over, a learns it lost the lease
    assert b.claim(tenant_id, cid, "jobs", due_before=None) is not None
    assert a.renew([(cid, "jobs")]) == {(cid, "jobs")}


def test_release_records_the_run_and_the_due_check_uses_it(app, conn, clock) -> None:
    tenant_id, cid = conn
    a, b = _leases(app.store, "host-a", clock), _leases(app.store, "host-b", clock)
    claim = a.claim(tenant_id, cid, "jobs", due_before=clock.now)
    assert claim is not None and claim.last_run_at is None
    started = clock.now
    clock.advance(seconds=5)
    a.release(claim)
    # Every 10 minutes: not due 9 minutes after the start, due at 10.
    clock.advance(minutes=9)
    assert b.claim(tenant_id, cid, "jobs", due_before=clock.now - timedelta(minutes=10)) is None
    clock.advance(minutes=1)
    again = b.claim(tenant_id, cid, "jobs", due_before=clock.now - timedelta(minutes=10))
    assert again is not None and again.last_run_at == started
    b.release(again, ran=False)  # e.g. stopped before running: last run unchanged
    assert b.last_runs()[(cid, "jobs")] == started


def test_release_all_and_abandoned(app, conn, clock) -> None:
    tenant_id, cid = conn
    a, b = _leases(app.store, "host-a", clock), _leases(app.store, "host-b", clock)
    assert a.claim(tenant_id, cid, "jobs", due_before=None)
    assert a.claim(tenant_id, cid, "links", due_before=None)
    assert b.abandoned() == []
    clock.advance(seconds=31)
    assert sorted(b.abandoned()) == [(cid, "jobs", "host-a"), (cid, "links", "host-a")]
    a.release_all()
    assert b.abandoned() == []


def test_concurrent_claims_give_exactly_one_winner(app, conn, clock) -> None:
    tenant_id, cid = conn
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def race(name: str) -> None:
        barrier.wait()
        if _leases(app.store, name, clock).claim(tenant_id, cid, "jobs", due_before=None):
            winners.append(name)

    threads = [threading.Thread(target=race, args=(f"h{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1


@pytest.mark.postgres
def test_postgres_claim_skips_a_row_locked_by_another_claimer(pg_schema_url, stub, clock) -> None:
    from hoststub import stub_registry

    with Atsbridge(db=pg_schema_url, registry=stub_registry(stub)) as app:
        app.connections.connect("acme", "stub", stub_config("a1"), check=False)
        with app.store.tenant("acme") as repo:
            tenant_id, cid = repo.tenant_id, repo.require_connection("stub").id
        assert cid is not None
        leases = _leases(app.store, "host-a", clock)
        assert leases.claim(tenant_id, cid, "jobs", due_before=None) is not None
        leases.release_all()
        # Another host is in the middle of claiming (holds the row lock): we must not wait.
        with app.store.engine.connect() as other:
            tx = other.begin()
            other.execute(
                sa.select(TaskLease.__table__)
                .where(  # type: ignore[attr-defined]
                    sa.column("connection_id") == cid
                )
                .with_for_update()
            )
            done = threading.Event()
            result: list[object] = []

            def claim() -> None:
                result.append(
                    _leases(app.store, "host-b", clock).claim(
                        tenant_id, cid, "jobs", due_before=None
                    )
                )
                done.set()

            threading.Thread(target=claim).start()
            assert done.wait(5), "claim blocked on a locked row instead of skipping it"
            assert result == [None]
            tx.rollback()
        assert _leases(app.store, "host-b", clock).claim(tenant_id, cid, "jobs", due_before=None)


def test_registry_lists_live_hosts_and_refuses_a_duplicate_id(app, clock) -> None:
    a = Registry(app.store, "host-a", TTL, clock)
    b = Registry(app.store, "host-b", TTL, clock)
    a.register({})
    b.register({})
    assert a.heartbeat() == ["host-a", "host-b"]
    clock.advance(seconds=20)
    a.heartbeat()
    clock.advance(seconds=15)  # b silent for 35 s > TTL
    assert a.live() == ["host-a"]
    impostor = Registry(app.store, "host-a", TTL, clock)
    impostor.process = "elsewhere:1"
    with pytest.raises(HostError, match="already in use"):
        impostor.register({})
    clock.advance(seconds=31)  # the old host-a is dead: the id may be reused
    impostor.register({})


def test_rendezvous_owner_spreads_and_moves_little() -> None:
    tasks = [(cid, task) for cid in range(1, 601) for task in ("jobs", "links")]
    two = ["h1", "h2"]
    three = ["h1", "h2", "h3"]
    share2 = sum(owner(two, c, t) == "h1" for c, t in tasks) / len(tasks)
    assert 0.45 < share2 < 0.55
    moved = [(c, t) for c, t in tasks if owner(two, c, t) != owner(three, c, t)]
    # Adding a host moves about a third of the work, all of it to the new host.
    assert 0.28 < len(moved) / len(tasks) < 0.39
    assert all(owner(three, c, t) == "h3" for c, t in moved)
    # Every host computes the same owner whatever the order of its list.
    assert all(owner(list(reversed(three)), c, t) == owner(three, c, t) for c, t in tasks)


def test_sqlite_lock_admits_one_host_per_file(tmp_path) -> None:
    db = tmp_path / "one.db"
    first = SqliteHostLock(db)
    first.acquire()
    second = SqliteHostLock(db)
    with pytest.raises(HostError, match="SQLite mode runs one host"):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


def test_a_host_restarted_after_a_crash_may_reuse_its_id_at_once(app, clock) -> None:
    import socket
    import subprocess
    import sys

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    crashed = Registry(app.store, "host-a", TTL, clock)
    crashed.process = f"{socket.gethostname()}:{int(dead.stdout)}"  # that pid has exited
    crashed.register({})
    Registry(app.store, "host-a", TTL, clock).register({})  # no wait for the heartbeat to age


def test_a_drain_run_records_its_process_and_a_takeover_retires_it(db_url, stub, clock):
    from atsbridge.host import Host, HostConfig
    from atsbridge.host.leases import process_id
    from atsbridge.store import SyncRun
    from sqlmodel import select

    with Atsbridge(db=db_url, registry=stub_registry(stub), clock=clock) as app:
        app.connections.connect("acme", "stub", stub_config("a1"), check=False)
        (drain,) = app.sync.run("acme", "stub", ["leads"])
        with app.store.tenant("acme") as repo:
            assert repo.get(SyncRun, drain.id).host == process_id()  # as every kind records
            cid = repo.require_connection("stub").id
            tenant_id = repo.tenant_id

        # host-a (process deadbox:7) dies while draining; a manual drain elsewhere is alive.
        dead = Registry(app.store, "host-a", TTL, clock)
        dead.process = "deadbox:7"
        dead.register({})
        assert _leases(app.store, "host-a", clock).claim(tenant_id, cid, "leads", due_before=None)
        with app.store.tenant("acme") as repo:
            for host in ("deadbox:7", "livebox:9"):
                repo.add(
                    SyncRun(
                        connection_id=cid,
                        kind="leads",
                        started_at=clock(),
                        status="running",
                        progress={"scope": ""},
                        host=host,
                    )
                )
        clock.advance(seconds=31)
        host = Host(app, HostConfig(host_id="host-b", lease_seconds=TTL.total_seconds()))
        host.reconcile()
        claim = host._claim(host.connections[cid], "leads", force=True)
        assert claim is not None and claim.taken_from == "host-a"
        with app.store.tenant("acme") as repo:
            running = repo.all(select(SyncRun).where(SyncRun.kind == "leads"))
            by_host = {r.host: (r.status, r.errors) for r in running if r.id != drain.id}
        assert by_host == {
            "deadbox:7": ("interrupted", ["host deadbox:7 died; its lease expired"]),
            "livebox:9": ("running", []),
        }
