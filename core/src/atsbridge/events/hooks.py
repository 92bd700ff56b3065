"""The plugins' event hooks, fed from the log: one source of truth for in-process observers.

A service that records an event keeps the public JSON ``record_event`` returned and, once
its transaction has committed, hands it to ``fire``: the hook argument is rebuilt from the
event's own data, so an observer plugin sees exactly what the feed and the webhooks carry.
Every domain event also goes to ``atsbridge_event`` (as a ``LoggedEvent``), so the types
without a typed hook (lead.failed, sync.finished, ...) reach observers too. Each observer is
called on its own: one failing neither starves the others of the event nor undoes what was
committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from atsbridge.events import types as t
from atsbridge.model import (
    CandidateStatus,
    CandidateStatusChanged,
    JobClosed,
    JobReopened,
    LeadExported,
    LoggedEvent,
    PushResult,
)
from atsbridge.plugins import PluginRegistry

__all__ = ["HOOKS", "fire", "hook_argument", "logged_event"]

log = logging.getLogger(__name__)


def _job_event(cls: type[Any]) -> Callable[[dict[str, Any]], Any]:
    def build(event: dict[str, Any]) -> Any:
        data = event["data"]
        return cls(
            tenant=event["tenant"],
            ats=data["ats"],
            ats_job_id=data["ats_job_id"],
            product_job_id=data["product_job_id"],
            status_raw=data["status_raw"],
        )

    return build


def _lead_exported(event: dict[str, Any]) -> LeadExported:
    data = event["data"]
    result = PushResult(
        candidate_id=data["candidate_id"],
        application_id=data.get("application_id"),
        already_existed=bool(data.get("already_existed")),
        unsupported=tuple(data.get("unsupported") or ()),
        status=CandidateStatus(data["status"]),
        stage=data.get("stage"),
    )
    return LeadExported(
        tenant=event["tenant"],
        ats=data["ats"],
        product_job_id=data["product_job_id"],
        lead_id=data["lead_id"],
        result=result,
    )


def _status_changed(event: dict[str, Any]) -> CandidateStatusChanged:
    data = event["data"]
    old = data.get("old_status")
    return CandidateStatusChanged(
        tenant=event["tenant"],
        ats=data["ats"],
        product_job_id=data["product_job_id"],
        lead_id=data["lead_id"],
        candidate_id=data["candidate_id"],
        old_status=CandidateStatus(old) if old else None,
        new_status=CandidateStatus(data["new_status"]),
        stage=data.get("stage"),
    )


HOOKS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    t.JOB_CLOSED: ("atsbridge_job_closed", _job_event(JobClosed)),
    t.JOB_REOPENED: ("atsbridge_job_reopened", _job_event(JobReopened)),
    t.LEAD_EXPORTED: ("atsbridge_lead_exported", _lead_exported),
    t.CANDIDATE_STATUS_CHANGED: ("atsbridge_candidate_status_changed", _status_changed),
}
"""Event type -> (hook name, builder of the hook's ``event`` argument from the event JSON)."""


def hook_argument(event: dict[str, Any]) -> tuple[str, Any] | None:
    """The hook an event goes to and its argument; None for a type without a hook."""
    entry = HOOKS.get(event["type"])
    if entry is None:
        return None
    name, build = entry
    return name, build(event)


def logged_event(event: dict[str, Any]) -> LoggedEvent:
    """The ``atsbridge_event`` argument: the event's public JSON as a ``LoggedEvent``."""
    return LoggedEvent(
        id=event["id"],
        type=event["type"],
        tenant=event["tenant"],
        created_at=event["created_at"],
        data=dict(event["data"]),
    )


def fire(registry: PluginRegistry, events: Iterable[dict[str, Any]]) -> None:
    """Call the plugins' hooks for committed ``events`` (public JSON, in log order): the
    type's own hook where it has one, then ``atsbridge_event``."""
    for event in events:
        if event["type"] not in t.DOMAIN_TYPES:
            continue  # a ping is the product's test, not the plugins' business
        calls = []
        found = hook_argument(event)
        if found is not None:
            calls.append(found)
        calls.append(("atsbridge_event", logged_event(event)))
        for name, argument in calls:
            for impl in getattr(registry.hook, name).get_hookimpls():
                try:
                    impl.function(event=argument)
                except Exception:
                    log.exception(
                        "the %s hook of %s failed for event %s",
                        name,
                        impl.plugin_name,
                        event["id"],
                    )
