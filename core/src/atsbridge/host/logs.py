"""Host logging: text or JSON lines, each record tagged with host, tenant, ATS and task.

The tags come from context variables the task runner sets around each run (worker threads
each have their own context), so any library or plugin logging inside a task is tagged
without knowing about it. The core's secret redactor is installed on every handler, after
this module's filter, so JSON output is redacted exactly like text.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from atsbridge.secrets import REDACTOR, install_redaction

_host: ContextVar[str | None] = ContextVar("atsbridge_host", default=None)
_tenant: ContextVar[str | None] = ContextVar("atsbridge_tenant", default=None)
_ats: ContextVar[str | None] = ContextVar("atsbridge_ats", default=None)
_task: ContextVar[str | None] = ContextVar("atsbridge_task", default=None)

# The host id is the same in every thread: a plain global, not a context variable.
_HOST_ID: list[str | None] = [None]


@contextmanager
def task_context(tenant: str, ats: str, task: str) -> Iterator[None]:
    tokens = (_tenant.set(tenant), _ats.set(ats), _task.set(task))
    try:
        yield
    finally:
        _task.reset(tokens[2])
        _ats.reset(tokens[1])
        _tenant.reset(tokens[0])


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.host = _host.get() or _HOST_ID[0]
        record.tenant = _tenant.get()
        record.ats = _ats.get()
        record.task = _task.get()
        return True


def _iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, host, tenant, ats, task."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "host": getattr(record, "host", None),
            "tenant": getattr(record, "tenant", None),
            "ats": getattr(record, "ats", None),
            "task": getattr(record, "task", None),
        }
        if record.exc_info or record.exc_text:
            text = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
            out["exc"] = REDACTOR.redact(text)
        return json.dumps(out, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        where = " ".join(
            str(v)
            for v in (
                f"{record.__dict__['tenant']}/{record.__dict__['ats']}"
                if record.__dict__.get("tenant")
                else None,
                getattr(record, "task", None),
            )
            if v
        )
        line = f"{_iso(record.created)} {record.levelname:<7} {record.name}"
        if where:
            line += f" [{where}]"
        line += f": {record.getMessage()}"
        if record.exc_info or record.exc_text:
            text = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
            line += "\n" + REDACTOR.redact(text)
        return line


_context_filter = ContextFilter()


def configure(log_format: str, level: int, host_id: str) -> None:
    """Point the root logger's handlers at the chosen format (stderr if none yet)."""
    if log_format not in ("text", "json"):
        raise ValueError(f"--log-format must be text or json, not {log_format!r}")
    _HOST_ID[0] = host_id
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.stderr))
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    for handler in root.handlers:
        handler.setFormatter(formatter)
        if _context_filter not in handler.filters:
            # Before the redactor: the redactor rewrites the message, tags are not secret.
            handler.filters.insert(0, _context_filter)
    install_redaction(root)
    root.setLevel(level)
    # APScheduler logs every job start/end at INFO: with thousands of connections that
    # drowns the host's own lines, which already say what ran.
    # httpx logs every request at INFO as well; the metrics count them instead.
    for name in ("apscheduler", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
