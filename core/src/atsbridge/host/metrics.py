"""Prometheus metrics and the /healthz + /metrics HTTP endpoint of a host.

Counters are fed by the task runner (runs, failures, durations) and by the SDK HTTP
client's events (requests, 429s, retries), which reach us through
``SessionContext.on_event``. Gauges that describe the whole database (outbox depth, how
long since each task last ran anywhere) are computed when scraped, from one grouped query
each, so they are right on every host however the work is spread.

Labels are kept to ``ats`` and ``task`` on purpose: a tenant label would make 10,000
connections 10,000 time series per metric.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import sqlalchemy as sa
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlmodel import col, select

from atsbridge.store import LeadRow, Store, TaskLease

log = logging.getLogger(__name__)

OPEN_LEAD_STATES = ("pending", "failed", "exporting")


class HostMetrics:
    """One host's metrics in their own registry (several hosts can live in one test)."""

    def __init__(self, store: Store, clock: Callable[[], datetime]):
        self.registry = CollectorRegistry()
        r = self.registry
        self.runs = Counter(
            "atsbridge_task_runs", "Task runs by outcome", ["ats", "task", "outcome"], registry=r
        )
        self.failures = Counter(
            "atsbridge_task_failures", "Task runs that failed", ["ats", "task"], registry=r
        )
        self.duration = Histogram(
            "atsbridge_task_duration_seconds",
            "Task run duration",
            ["ats", "task"],
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
            registry=r,
        )
        self.requests = Counter(
            "atsbridge_http_requests", "HTTP responses from ATSs", ["ats", "code"], registry=r
        )
        self.throttled = Counter(
            "atsbridge_http_throttled", "HTTP 429 responses from ATSs", ["ats"], registry=r
        )
        self.retries = Counter(
            "atsbridge_http_retries", "HTTP requests retried", ["ats"], registry=r
        )
        self.running = Gauge("atsbridge_tasks_running", "Tasks running on this host", registry=r)
        self.connections = Gauge(
            "atsbridge_host_connections", "Connections scheduled on this host", registry=r
        )
        self.live_hosts = Gauge("atsbridge_live_hosts", "Hosts sharing the database", registry=r)
        r.register(_DatabaseCollector(store, clock))

    def on_http_event(self, tenant: str, ats: str, event: Any) -> None:
        kind = getattr(event, "kind", "")
        if kind == "response":
            status = getattr(event, "status", None)
            self.requests.labels(ats, str(status)).inc()
            if status == 429:
                self.throttled.labels(ats).inc()
        elif kind == "retry":
            self.retries.labels(ats).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _DatabaseCollector(Collector):
    """Outbox depth and per-task lag, read from the database at scrape time."""

    def __init__(self, store: Store, clock: Callable[[], datetime]):
        self.store = store
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "atsbridge_outbox_depth", "Leads waiting for export, by state", labels=["state"]
        )
        lag = GaugeMetricFamily(
            "atsbridge_task_lag_seconds",
            "Seconds since the least recently run connection last ran this task (any host)",
            labels=["task"],
        )
        try:
            with self.store.system_session() as session:
                counts = dict(
                    session.exec(
                        select(LeadRow.state, sa.func.count())
                        .where(col(LeadRow.state).in_(OPEN_LEAD_STATES))
                        .group_by(LeadRow.state)
                    ).all()
                )
                oldest = session.exec(
                    select(TaskLease.task, sa.func.min(TaskLease.last_run_at)).group_by(
                        TaskLease.task
                    )
                ).all()
        except Exception as exc:  # a scrape must answer even when the database does not
            log.warning("metrics: database unavailable: %s", type(exc).__name__)
            return
        for state in OPEN_LEAD_STATES:
            depth.add_metric([state], float(counts.get(state, 0)))
        now = self.clock()
        for task, last in oldest:
            if last is not None:
                if last.tzinfo is None:  # min() over SQLite text loses the type decorator
                    last = datetime.fromisoformat(str(last)).replace(tzinfo=now.tzinfo)
                lag.add_metric([str(task)], max(0.0, (now - last).total_seconds()))
        yield depth
        yield lag


class MetricsServer:
    """Serves ``/metrics`` (Prometheus text) and ``/healthz`` (JSON) on one port."""

    def __init__(self, metrics: HostMetrics, health: Callable[[], tuple[bool, dict]]):
        self.metrics = metrics
        self.health = health
        self._server: ThreadingHTTPServer | None = None

    def start(self, host: str, port: int) -> int:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    body, status, ctype = outer.metrics.render(), 200, CONTENT_TYPE_LATEST
                elif path == "/healthz":
                    ok, detail = outer.health()
                    body = json.dumps(detail, default=str).encode()
                    status, ctype = (200 if ok else 503), "application/json"
                else:
                    body, status, ctype = b"not found\n", 404, "text/plain"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="atsbridge-metrics",
            daemon=True,
        ).start()
        return int(self._server.server_address[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
