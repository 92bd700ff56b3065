"""The host daemon: APScheduler drives every connection's tasks; leases keep them single.

Per connection and timed task (see ``tasks.TASKS``) there is one APScheduler interval job
(``max_instances=1``, ``coalesce=True``: missed runs collapse into one). Its first fire
is computed from the database (``task_leases.last_run_at`` + interval), so a restarted
host neither repeats work another host just did nor waits a whole interval for work that
is overdue. A fired job only *proposes* a run: the run happens when this host claims the
task's lease (see ``leases``), which also checks, in the same transaction, that the task is
still due. That is what makes several hosts safe, and a single host simple.

Besides the per-connection jobs, three housekeeping activities run on their own:

* reconcile (APScheduler job, every ``reconcile_seconds``): one cheap query notices added,
  changed or removed connections and adds, reschedules or removes their jobs;
* outbox poll (APScheduler job, every ``outbox_poll_seconds``): one indexed query finds
  connections with leads due and starts their drain at once;
* heartbeat (a plain thread, every third of a lease period, so a saturated worker pool can
  never starve it): renews this host's leases and registry row, refreshes the live-host
  list and starts the tasks whose lease a dead host abandoned.

Tasks run in a thread pool, each inside ``try``: a failing or slow connection only ever
occupies its own worker. A soft timeout and the stop request are checked after every
committed page (the sync runner's progress callback); ``stop()`` lets running tasks finish
or stop at their next checkpoint, releases the leases and unregisters the host.

The task timeout is also hard: a task stuck inside one page (an ATS that trickles its
answer, a hung call) never reaches a checkpoint, so the heartbeat's watchdog abandons it
once it is over the timeout. A thread cannot be killed, so abandoning means: its sync runs
are recorded as failed (timed out), which also makes the sync runner refuse any page it
would still commit; its lease is released; it no longer counts as running, so the next run
starts on schedule (a second instance of its timer job may run beside the stuck one); and
``/healthz`` reports it as stuck, naming it, until its thread returns.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import col, select

from atsbridge import __version__
from atsbridge.errors import AtsbridgeError, BadInput, Conflict
from atsbridge.events.delivery import DeliveryPolicy, DeliveryThread
from atsbridge.host import logs
from atsbridge.host.leases import (
    Claim,
    HostError,
    Leases,
    Registry,
    SqliteHostLock,
    owner,
    process_id,
)
from atsbridge.host.metrics import HostMetrics, MetricsServer
from atsbridge.host.tasks import TASKS, TASKS_BY_NAME, full_pass_overrides, intervals_for
from atsbridge.secrets import KEY_ENV, SEALED, unseal
from atsbridge.services.sync import KINDS, load_kinds
from atsbridge.store import Connection, LeadRow, SyncRun, Tenant

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge

log = logging.getLogger("atsbridge.host")


class HostStopping(BaseException):
    """Raised inside a task at its next checkpoint once the host is asked to stop.

    A BaseException so that services treat it like KeyboardInterrupt: the run is recorded
    as interrupted, its checkpoint kept, and nothing reports it as an ATS failure.
    """


class TaskTimeout(Exception):
    """The task ran longer than ``task_timeout_seconds``."""


@attrs.define(eq=False)
class _Live:
    """One task run in progress on this host, for the watchdog and ``/healthz``."""

    label: str
    task: str
    started: float  # time.monotonic()
    claim: Claim | None = None
    runs: set[int] = attrs.Factory(set)  # sync runs it has reported so far
    abandoned: bool = False


class LeaseLost(Exception):
    """This host stopped renewing the task's lease in time (stalled): another host may
    have taken the task, so this run stops at its next checkpoint."""


@attrs.define
class HostConfig:
    host_id: str | None = None  # default: hostname:pid
    workers: int = 8
    lease_seconds: float = 60.0
    reconcile_seconds: float = 30.0
    outbox_poll_seconds: float = 5.0
    intervals: dict[str, float] = attrs.Factory(dict)  # global overrides, minutes
    task_timeout_seconds: float | None = 3600.0
    shutdown_grace_seconds: float = 60.0
    # Never-run tasks start at a random moment within this window, not all at once.
    first_run_spread_seconds: float = 10.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    seed: int | None = None
    # Outbox knobs (None = the lead service's defaults): first retry delay after a failed
    # push, and how long a push claim protects a lead before another worker may retry it.
    lead_retry_seconds: float | None = None
    lead_claim_seconds: float | None = None
    # The product's signed webhooks: sent from a thread of the host (None: not here), which
    # looks for due deliveries this often when idle.
    webhook_poll_seconds: float | None = 1.0
    webhook_claim_seconds: float = 120.0


@attrs.define
class Scheduled:
    """One connection as the host schedules it."""

    connection_id: int
    tenant_id: int
    tenant: str
    ats: str
    updated_at: datetime
    intervals: dict[str, timedelta]

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.ats}"


@attrs.frozen
class ReconcileResult:
    added: list[int]
    removed: list[int]
    changed: list[int]


def _job_id(connection_id: int, task: str) -> str:
    return f"{connection_id}:{task}"


class Host:
    def __init__(self, app: Atsbridge, config: HostConfig | None = None):
        self.app = app
        self.config = config or HostConfig()
        self.host_id = self.config.host_id or process_id()
        self.clock: Callable[[], datetime] = app.clock
        ttl = timedelta(seconds=self.config.lease_seconds)
        self.leases = Leases(app.store, self.host_id, ttl, self.clock)
        self.registry = Registry(app.store, self.host_id, ttl, self.clock)
        self.metrics = HostMetrics(app.store, self.clock)
        self.connections: dict[int, Scheduled] = {}
        self.live_hosts: list[str] = [self.host_id]
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._running: set[tuple[int, str]] = set()
        self._held: dict[tuple[int, str], Claim] = {}
        self._lost: set[tuple[int, str]] = set()
        self._live: dict[tuple[int, str], _Live] = {}
        self._abandoned: list[_Live] = []  # timed out, their threads not returned yet
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._signature: tuple[Any, ...] | None = None
        self._warned: set[str] = set()
        self._sqlite_lock: SqliteHostLock | None = None
        self._heartbeat_thread: threading.Thread | None = None
        self._metrics_server: MetricsServer | None = None
        self._deliveries: DeliveryThread | None = None
        self.metrics_port: int | None = None
        self._last_heartbeat: datetime | None = None
        self.kinds = {spec.name for spec in load_kinds()} | set(KINDS)
        self.scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(self.config.workers),
                "housekeeping": ThreadPoolExecutor(2),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        app.on_http_event = self.metrics.on_http_event
        app.full_pass_overrides = full_pass_overrides(self.config.intervals)
        policy = app.leads.policy
        if self.config.lead_retry_seconds is not None:
            policy = attrs.evolve(
                policy, backoff_base=timedelta(seconds=self.config.lead_retry_seconds)
            )
        if self.config.lead_claim_seconds is not None:
            policy = attrs.evolve(policy, lease=timedelta(seconds=self.config.lead_claim_seconds))
        app.leads.policy = policy

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        store = self.app.store
        # Worker threads, heartbeat and housekeeping all write: see Store.sqlite_immediate.
        store.sqlite_immediate = True
        if store.dialect == "sqlite" and store.sqlite_file is not None:
            self._sqlite_lock = SqliteHostLock(store.sqlite_file)
            self._sqlite_lock.acquire()
        try:
            # The metrics port first: a port that cannot be had is an error before any task
            # is scheduled, not after some have run.
            if self.config.metrics_port is not None:
                self._metrics_server = MetricsServer(self.metrics, self.health)
                try:
                    self.metrics_port = self._metrics_server.start(
                        self.config.metrics_host, self.config.metrics_port
                    )
                except (OSError, OverflowError) as exc:
                    self._metrics_server = None
                    reason = getattr(exc, "strerror", None) or str(exc)
                    raise BadInput(
                        f"--metrics-port {self.config.metrics_port}: cannot listen on "
                        f"{self.config.metrics_host}: {reason}"
                    ) from None
            self._check_secrets()
            previous = self.registry.processes().get(self.host_id)
            self.registry.register(
                {"version": __version__, "dialect": store.dialect},
                exclusive=self._sqlite_lock is not None,
            )
            if previous and previous != self.registry.process:
                self._retire_runs_of(previous, None)  # our own previous life (restart)
            self.leases.release_all()
            self.live_hosts = self.registry.live()
            self._note_missing_kinds()
            self.reconcile()
            self.scheduler.add_job(
                self._safe(self.reconcile),
                "interval",
                seconds=self.config.reconcile_seconds,
                id="host:reconcile",
                executor="housekeeping",
            )
            self.scheduler.add_job(
                self._safe(self.poll_outbox),
                "interval",
                seconds=self.config.outbox_poll_seconds,
                id="host:outbox",
                executor="housekeeping",
                next_run_time=datetime.now(UTC),
            )
            self.scheduler.start()
            self._heartbeat_thread = threading.Thread(
                target=self._heartbeat_loop, name="atsbridge-heartbeat", daemon=True
            )
            self._heartbeat_thread.start()
            if self.config.webhook_poll_seconds is not None:
                self._deliveries = DeliveryThread(
                    self.app,
                    host_id=self.host_id,
                    interval=self.config.webhook_poll_seconds,
                    policy=DeliveryPolicy(
                        lease=timedelta(seconds=self.config.webhook_claim_seconds)
                    ),
                )
                self._deliveries.start()
        except BaseException:
            if self._deliveries is not None:
                self._deliveries.stop()
                self._deliveries = None
            if self._metrics_server is not None:
                self._metrics_server.stop()
                self._metrics_server = None
            self._release_sqlite_lock()
            raise
        log.info(
            "host %s started: %d connections, %d live hosts, %d workers%s",
            self.host_id,
            len(self.connections),
            len(self.live_hosts),
            self.config.workers,
            f", metrics on {self.config.metrics_host}:{self.metrics_port}"
            if self.metrics_port
            else "",
        )

    def stop(self) -> bool:
        """Stop taking work, let running tasks finish or checkpoint, give everything back.

        Returns False when tasks were still running after the grace period (their leases
        then expire and another host resumes them from their checkpoints).
        """
        if self._stopped.is_set():
            return True
        with self._lock:
            self._stopping.set()
        log.info("host %s stopping: waiting for %d running task(s)", self.host_id, self.running)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + self.config.shutdown_grace_seconds
        if self._deliveries is not None:
            # The delivery in flight finishes and is recorded; an unfinished one is resent
            # (same webhook-id) by whoever claims it after its lease.
            self._deliveries.stop(timeout=self.config.shutdown_grace_seconds)
        with self._idle:
            while self._running and time.monotonic() < deadline:
                self._idle.wait(timeout=0.1)
            clean = not self._running
        if self._heartbeat_thread is not None:
            self._heartbeat_thread.join(timeout=5)
        if self._metrics_server is not None:
            self._metrics_server.stop()
        try:
            if clean:
                self.leases.release_all()
            self.registry.unregister()
        except Exception as exc:  # the database may be what is going away
            log.warning("could not release leases on stop: %s", type(exc).__name__)
        self._release_sqlite_lock()
        self._stopped.set()
        log.info("host %s stopped%s", self.host_id, "" if clean else " (tasks still running)")
        return clean

    def _release_sqlite_lock(self) -> None:
        if self._sqlite_lock is not None:
            self._sqlite_lock.release()
            self._sqlite_lock = None

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    def health(self) -> tuple[bool, dict[str, Any]]:
        db_ok = True
        try:
            with self.app.store.system_session() as session:
                session.exec(select(sa.literal(1))).first()
        except Exception:
            db_ok = False
        stuck = self.stuck_tasks()
        ok = db_ok and self.scheduler.running and not self._stopping.is_set() and not stuck
        problems = [
            f"task {t['task']} of {t['connection']} running for {t['running_seconds']:.0f}s, "
            f"over the task timeout" + (" (abandoned)" if t["abandoned"] else "")
            for t in stuck
        ]
        return ok, {
            "status": "ok" if ok else "unhealthy",
            "problems": problems,
            "stuck_tasks": stuck,
            "host": self.host_id,
            "database": "ok" if db_ok else "unreachable",
            "scheduler": "running" if self.scheduler.running else "stopped",
            "stopping": self._stopping.is_set(),
            "connections": len(self.connections),
            "running_tasks": self.running,
            "live_hosts": self.live_hosts,
            "last_heartbeat": self._last_heartbeat.isoformat() if self._last_heartbeat else None,
        }

    def stuck_tasks(self) -> list[dict[str, Any]]:
        """Tasks over the task timeout: running still, or abandoned and not yet returned."""
        timeout = self.config.task_timeout_seconds
        now = time.monotonic()
        with self._lock:
            lives = [*self._live.values(), *self._abandoned]
        return [
            {
                "connection": live.label,
                "task": live.task,
                "running_seconds": round(now - live.started, 1),
                "abandoned": live.abandoned,
            }
            for live in lives
            if live.abandoned or (timeout and now - live.started > timeout)
        ]

    def _safe(self, fn: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            if self._stopping.is_set():
                return
            try:
                fn()
            except Exception:
                log.exception("%s failed", fn.__name__)

        run.__name__ = fn.__name__
        return run

    def _check_secrets(self) -> None:
        """Refuse to start when this host cannot decrypt the stored connection secrets."""
        with self.app.store.system_session() as session:
            rows = session.exec(
                select(Tenant.key, Connection.ats, Connection.config)
                .join(Tenant, col(Tenant.id) == Connection.tenant_id)
                .order_by(col(Connection.id))
                .limit(200)
            ).all()
        for tenant, ats, config in rows:
            if SEALED not in str(config):
                continue
            try:
                unseal(dict(config), self.app.secret_box)
            except AtsbridgeError as exc:
                raise HostError(
                    f"this host cannot decrypt the secrets of connection {tenant}/{ats} ({exc}). "
                    f"Every host sharing one database needs the same {KEY_ENV}: the key file "
                    f"is per machine, so set {KEY_ENV} to the key the other hosts use"
                ) from None
            return  # one sealed config proves the key; they all share it

    def _note_missing_kinds(self) -> None:
        for spec in TASKS:
            if spec.kind not in KINDS:
                log.warning(
                    "task %s not scheduled: sync kind %r is not registered (service missing)",
                    spec.name,
                    spec.kind,
                )

    # --- reconcile ---------------------------------------------------------------------------

    def _load_signature(self) -> tuple[Any, ...]:
        with self.app.store.system_session() as session:
            row = session.exec(
                select(
                    sa.func.count(col(Connection.id)),
                    sa.func.max(col(Connection.id)),
                    sa.func.max(Connection.updated_at),
                )
            ).one()
        return tuple(str(v) for v in row)

    def _load_connections(self) -> dict[int, Scheduled]:
        with self.app.store.system_session() as session:
            rows = session.exec(
                select(  # type: ignore[call-overload]
                    Connection.id,
                    Connection.tenant_id,
                    Tenant.key,
                    Connection.ats,
                    Connection.settings,
                    Connection.updated_at,
                ).join(Tenant, col(Tenant.id) == Connection.tenant_id)
            ).all()
        out: dict[int, Scheduled] = {}
        plugins = self.app.registry.plugins
        for cid, tenant_id, tenant, ats, settings, updated_at in rows:
            label = f"{tenant}/{ats}"
            if ats not in plugins:
                self._warn_once(f"plugin:{cid}", "%s not scheduled: no %s plugin", label, ats)
                continue
            intervals, problems = intervals_for(settings or {}, self.config.intervals)
            for problem in sorted(set(problems)):
                self._warn_once(f"{cid}:{updated_at}:{problem}", "%s: %s", label, problem)
            out[int(cid)] = Scheduled(int(cid), int(tenant_id), tenant, ats, updated_at, intervals)
        return out

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def reconcile(self) -> ReconcileResult:
        """Bring the scheduled jobs in line with the connections table."""
        signature = self._load_signature()
        if signature == self._signature:
            return ReconcileResult([], [], [])
        wanted = self._load_connections()
        last_runs = self.leases.last_runs()
        added, removed, changed = [], [], []
        for cid in sorted(set(self.connections) - set(wanted)):
            self._unschedule(cid)
            removed.append(cid)
        for cid, entry in sorted(wanted.items()):
            current = self.connections.get(cid)
            if current is None:
                self._schedule(entry, last_runs)
                added.append(cid)
            elif current.intervals != entry.intervals:
                self._unschedule(cid)
                self._schedule(entry, last_runs)
                changed.append(cid)
            else:
                self.connections[cid] = entry  # settings other than intervals may change
        self._signature = signature
        self.metrics.connections.set(len(self.connections))
        if added or removed or changed:
            log.info(
                "reconciled: %d added, %d removed, %d rescheduled (%d connections)",
                len(added),
                len(removed),
                len(changed),
                len(self.connections),
            )
        return ReconcileResult(added, removed, changed)

    def _schedule(self, entry: Scheduled, last_runs: dict[tuple[int, str], datetime]) -> None:
        self.connections[entry.connection_id] = entry
        now = datetime.now(UTC)
        for spec in TASKS:
            if spec.polled or spec.kind not in KINDS:
                continue
            every = entry.intervals[spec.name]
            last = last_runs.get((entry.connection_id, spec.name))
            spread = timedelta(
                seconds=self._rng.uniform(
                    0, min(self.config.first_run_spread_seconds, every.total_seconds())
                )
            )
            first = now + spread if last is None else max(last + every, now + spread)
            self.scheduler.add_job(
                self._run_job,
                IntervalTrigger(seconds=every.total_seconds(), start_date=first, timezone=UTC),
                args=(entry.connection_id, spec.name),
                id=_job_id(entry.connection_id, spec.name),
                name=f"{entry.label} {spec.name}",
                replace_existing=True,
                # One more than the usual one: an instance stuck past the task timeout is
                # abandoned and must not keep the task from its next runs.
                max_instances=2,
            )

    def _unschedule(self, cid: int) -> None:
        self.connections.pop(cid, None)
        for spec in TASKS:
            for job_id in (_job_id(cid, spec.name), _job_id(cid, spec.name) + ":now"):
                try:
                    self.scheduler.remove_job(job_id)
                except JobLookupError:
                    pass

    # --- triggering ----------------------------------------------------------------------------

    def trigger(self, cid: int, task: str) -> bool:
        """Run a connection's task as soon as a worker is free (still lease- and due-checked)."""
        if self._stopping.is_set() or cid not in self.connections:
            return False
        with self._lock:
            if (cid, task) in self._running:
                return False
        self.scheduler.add_job(
            self._run_job,
            args=(cid, task),
            id=_job_id(cid, task) + ":now",
            name=f"{self.connections[cid].label} {task} (now)",
            replace_existing=True,
        )
        return True

    def poll_outbox(self) -> list[int]:
        """Start the drain of every scheduled connection with leads due; returns their ids."""
        if "leads" not in KINDS:
            return []
        now = self.clock()
        due = sa.or_(
            sa.and_(
                col(LeadRow.state).in_(["pending", "failed"]), col(LeadRow.next_attempt_at) <= now
            ),
            sa.and_(col(LeadRow.state) == "exporting", col(LeadRow.claimed_until) <= now),
        )
        with self.app.store.system_session() as session:
            rows = session.exec(
                select(
                    LeadRow.connection_id,
                    sa.func.min(sa.func.coalesce(LeadRow.next_attempt_at, LeadRow.claimed_until)),
                )
                .where(due, col(LeadRow.connection_id).is_not(None))
                .group_by(col(LeadRow.connection_id))
            ).all()
        started = []
        stale = now - 2 * self.leases.ttl
        for cid, oldest in rows:
            if cid not in self.connections:
                continue
            mine = owner(self.live_hosts, int(cid), "leads") == self.host_id
            if isinstance(oldest, str):  # min() over SQLite text drops the type decorator
                oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
            overdue = oldest is not None and oldest <= stale
            if (mine or overdue) and self.trigger(int(cid), "leads"):
                started.append(int(cid))
        return started

    # --- heartbeat -------------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        period = max(0.05, self.config.lease_seconds / 3)
        while not self._stopped.is_set():
            try:
                self.heartbeat()
            except Exception as exc:
                log.warning("heartbeat failed: %s: %s", type(exc).__name__, exc)
            if self._stopped.wait(period):
                return
            if self._stopping.is_set() and not self._running:
                return

    def heartbeat(self) -> None:
        self.live_hosts = self.registry.heartbeat()
        self._last_heartbeat = self.clock()
        self.metrics.live_hosts.set(len(self.live_hosts))
        with self._lock:
            held = list(self._held)
        lost = self.leases.renew(held)
        with self._lock:
            self._lost |= lost & set(self._held)
        for cid, task in sorted(lost):
            log.warning("lost the lease of connection %s task %s while running it", cid, task)
        self.abandon_timed_out()
        if self._stopping.is_set():
            return
        for cid, task, holder in self.leases.abandoned():
            entry = self.connections.get(cid)
            if entry is None or task not in TASKS_BY_NAME:
                continue
            if owner(self.live_hosts, cid, task) == self.host_id:
                log.info("taking over %s %s abandoned by %s", entry.label, task, holder)
                self.trigger(cid, task)

    # --- the hard task timeout ---------------------------------------------------------------

    def abandon_timed_out(self) -> list[tuple[int, str]]:
        """Abandon the tasks over the timeout (plus a little grace, so that a task ending
        its page now stops at its checkpoint instead); returns their keys."""
        timeout = self.config.task_timeout_seconds
        if not timeout:
            return []
        limit = timeout + min(10.0, timeout / 10)
        now = time.monotonic()
        with self._idle:
            over = [(k, v) for k, v in self._live.items() if now - v.started > limit]
            for key, live in over:
                live.abandoned = True
                del self._live[key]
                self._running.discard(key)
                self._held.pop(key, None)
                self._lost.discard(key)
                self._abandoned.append(live)
            if over:
                self._idle.notify_all()
        for _key, live in over:
            self._abandon(live, timeout, now - live.started)
        return [key for key, _ in over]

    def _abandon(self, live: _Live, timeout: float, elapsed: float) -> None:
        message = (
            f"{live.task} timed out: still running after {elapsed:.0f}s (task timeout "
            f"{timeout:.0f}s) inside one ATS call; abandoned"
        )
        log.warning("%s %s", live.label, message)
        ats = live.label.rpartition("/")[2]
        self.metrics.running.dec()
        self.metrics.runs.labels(ats, live.task, "timed_out").inc()
        self.metrics.failures.labels(ats, live.task).inc()
        try:
            if live.runs:
                self._record_timeout(live.runs, message)
            if live.claim is not None:
                # ran=True: the next run waits its interval, not a hammering retry.
                self.leases.release(live.claim, ran=True)
        except Exception as exc:  # the heartbeat must go on
            log.warning("could not record the timeout of %s: %s", live.label, type(exc).__name__)

    def _record_timeout(self, run_ids: set[int], message: str) -> None:
        # A run no longer "running" is one the sync runner will not commit another page of
        # (its page update is conditional on the status): the stuck thread cannot write.
        now = self.clock()
        with self.app.store.system_session(immediate=True) as session:
            statement = select(SyncRun).where(
                col(SyncRun.id).in_(sorted(run_ids)), SyncRun.status == "running"
            )
            for run in session.exec(statement).all():
                run.status = "failed"
                run.ended_at = now
                run.errors = [*run.errors, message][-100:]
                run.progress = {**run.progress, "phase": "timed out"}
                session.add(run)

    # --- running a task --------------------------------------------------------------------------

    def _run_job(self, cid: int, task: str) -> None:
        # APScheduler's entry point: never let anything escape into the scheduler.
        try:
            self.run_task(cid, task)
        except BaseException:
            log.exception("task %s of connection %s crashed", task, cid)

    def run_task(self, cid: int, task: str, *, force: bool = False) -> str:
        """Claim and run one task of one connection; returns what happened.

        ``ran``/``failed``/``interrupted`` when it ran; ``not_due``, ``busy`` (running here or
        on another host), ``gone`` (connection removed) or ``stopping`` otherwise.
        """
        entry = self.connections.get(cid)
        spec = TASKS_BY_NAME[task]
        if entry is None or spec.kind not in KINDS:
            return "gone"
        with self._lock:
            # Checked under the lock stop() sets it with: a task either counts as running
            # (and stop waits for it) or sees the flag, never slips in between.
            if self._stopping.is_set():
                return "stopping"
            if (cid, task) in self._running:
                return "busy"
            self._running.add((cid, task))
            live = self._live[(cid, task)] = _Live(entry.label, task, time.monotonic())
        try:
            claim = self._claim(entry, task, force)
            if claim is None:
                return "not_due"
            with self._lock:
                live.claim = claim
                if not live.abandoned:
                    self._held[(cid, task)] = claim
            self.metrics.running.inc()
            try:
                return self._execute(entry, task, claim, live)
            finally:
                with self._lock:
                    if not live.abandoned:  # else the watchdog did all this already
                        self.metrics.running.dec()
                        self._held.pop((cid, task), None)
                        self._lost.discard((cid, task))
        finally:
            with self._idle:
                if live.abandoned:
                    # The key may belong to a newer run by now: leave it alone.
                    self._abandoned.remove(live)
                else:
                    self._live.pop((cid, task), None)
                    self._running.discard((cid, task))
                self._idle.notify_all()

    def _claim(self, entry: Scheduled, task: str, force: bool) -> Claim | None:
        now = self.clock()
        every = entry.intervals[task]
        if force:
            due_before = None
        elif owner(self.live_hosts, entry.connection_id, task) == self.host_id:
            # A timer fires a hair after the previous run started: allow a little slack.
            due_before = now - every + min(every / 10, timedelta(seconds=30))
        else:
            # Another live host owns it: step in only when it is clearly not doing it.
            due_before = now - every - 2 * self.leases.ttl
        claim = self.leases.claim(entry.tenant_id, entry.connection_id, task, due_before=due_before)
        if claim is not None and claim.taken_from is not None:
            processes = self.registry.processes()
            self._retire_runs_of(processes.get(claim.taken_from), entry.connection_id)
        return claim

    def _retire_runs_of(self, process: str | None, connection_id: int | None) -> None:
        """Mark the sync runs a dead host's process left 'running' (every kind records its
        process as the run's host, the outbox drain included) as interrupted; their
        checkpoints stay, so the next run resumes at once instead of waiting for them to
        look stale."""
        if not process:
            return
        now = self.clock()
        with self.app.store.system_session() as session:
            statement = select(SyncRun).where(SyncRun.status == "running", SyncRun.host == process)
            if connection_id is not None:
                statement = statement.where(SyncRun.connection_id == connection_id)
            for run in session.exec(statement).all():
                run.status = "interrupted"
                run.ended_at = now
                run.errors = [*run.errors, f"host {process} died; its lease expired"]
                run.progress = {**run.progress, "phase": "interrupted"}
                session.add(run)

    def _execute(self, entry: Scheduled, task: str, claim: Claim, live: _Live) -> str:
        spec = TASKS_BY_NAME[task]
        kind = KINDS[spec.kind]
        started = time.monotonic()
        timeout = self.config.task_timeout_seconds
        deadline = started + timeout if timeout else None

        def on_progress(report: Any) -> None:
            if getattr(report, "status", "") == "running" and isinstance(
                getattr(report, "id", None), int
            ):
                live.runs.add(report.id)
            if live.abandoned:
                raise TaskTimeout(f"{task} timed out (task timeout {timeout:.0f}s); abandoned")
            if getattr(report, "pages", 0) == 0:
                # Only stop after a page: the outbox drain reports once, after it has
                # finished (pages 0), and calling that "interrupted" would misreport it.
                return
            if self._stopping.is_set():
                raise HostStopping()
            if (entry.connection_id, task) in self._lost:
                raise LeaseLost(f"{task}: lease lost (host stalled); stopped at a checkpoint")
            if deadline is not None and time.monotonic() > deadline:
                raise TaskTimeout(f"{task} ran longer than {timeout:.0f}s; stopped at a checkpoint")

        outcome, ran, summary = "succeeded", True, ""
        with logs.task_context(entry.tenant, entry.ats, task):
            try:
                with self.app.open_session(entry.tenant, entry.ats) as session:
                    reports = kind.task(self.app, session, full=False, on_progress=on_progress)
                failed = [r for r in reports if r.status == "failed"]
                totals: dict[str, int] = {}
                for report in reports:
                    for key, value in report.counts.items():
                        totals[key] = totals.get(key, 0) + int(value)
                summary = ", ".join(f"{k} {v}" for k, v in totals.items() if v)
                if failed:
                    outcome = "failed"
                    summary += f"; {len(failed)} run(s) failed: {failed[0].errors[-1:]}"
            except HostStopping:
                outcome, ran = "interrupted", False
            except TaskTimeout as exc:
                outcome, summary = "timed_out", str(exc)
            except Conflict as exc:  # e.g. a manual `atsbridge sync` of the same data
                outcome, ran, summary = "busy", False, str(exc)
            except Exception as exc:
                outcome, summary = "failed", self._explain(exc)
            finally:
                try:
                    if not live.abandoned:  # else released already, maybe claimed anew
                        self.leases.release(claim, ran=ran)
                except Exception as exc:
                    log.warning("could not release the lease: %s", type(exc).__name__)
            elapsed = time.monotonic() - started
            if live.abandoned:
                # Counted and recorded when it was abandoned; only say how it ended.
                log.warning(
                    "%s, abandoned after the task timeout, returned after %.1fs: %s",
                    task,
                    elapsed,
                    outcome + (f": {summary}" if summary else ""),
                )
                return "timed_out"
            self.metrics.runs.labels(entry.ats, task, outcome).inc()
            self.metrics.duration.labels(entry.ats, task).observe(elapsed)
            level = logging.INFO
            if outcome in ("failed", "timed_out"):
                self.metrics.failures.labels(entry.ats, task).inc()
                level = logging.WARNING
            log.log(
                level, "%s %s in %.1fs%s", task, outcome, elapsed, f": {summary}" if summary else ""
            )
        return outcome

    @staticmethod
    def _explain(exc: BaseException) -> str:
        text = str(exc) if isinstance(exc, AtsbridgeError) else f"{type(exc).__name__}: {exc}"
        if "cannot decrypt stored secrets" in text:
            text += f" (hosts sharing a database need the same {KEY_ENV})"
        return text

    # --- running until told to stop -------------------------------------------------------------

    def wait(self, stop: threading.Event) -> None:
        """Block until ``stop`` is set (the CLI's signal handlers set it)."""
        while not stop.wait(0.5):
            pass
