"""The host's per-connection tasks and how often each runs.

Each task runs one registered sync kind (``atsbridge.services.sync.KINDS``) for one
connection. A kind that is not registered (its service not installed yet) is simply not
scheduled, and the host says so once at start.

Intervals, in minutes, come from (first found):

1. the connection's settings: ``{"intervals": {"jobs": 15, "leads": 0.5}}``, or the older
   per-area keys listed in ``TaskSpec.legacy_setting`` (``cnts_refresh_minutes``);
2. the host's global overrides (``--interval jobs=15``, env ``ATSBRIDGE_INTERVALS``);
3. the defaults below.

Full passes are not tasks of their own: a kind with a periodic full pass (``jobs_full``,
``candidates_full``; see ``atsbridge.services.fullpass``) makes its own run a full one once
its last full pass is older than that interval, read from the same places (a day by
default). So they never run beside the incremental task, and a stopped full pass resumes.

The outbox drain is special: it is not a timer per connection but a host-wide poll of one
indexed query ("which connections have leads due?", every ``outbox_poll_seconds``), so a
lead the product enqueues is pushed within seconds and 10,000 idle connections cost one
query per poll rather than 10,000 wake-ups a minute. Its interval is the shortest time
between two drains of one connection (0 = whenever leads are due).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import attrs

from atsbridge.errors import BadInput
from atsbridge.services import fullpass


@attrs.frozen
class TaskSpec:
    name: str  # the task key in settings, leases and metrics
    kind: str  # the sync kind it runs
    default_minutes: float
    help: str
    legacy_setting: str | None = None
    polled: bool = False  # driven by the outbox poll instead of a timer


TASKS: tuple[TaskSpec, ...] = (
    TaskSpec("jobs", "jobs", 30, "job sync (the mirror that search and import use)"),
    TaskSpec("links", "links", 30, "job status of imported jobs (close propagation)"),
    TaskSpec(
        "candidates",
        "candidates",
        180,
        "do-not-source refresh from the linked jobs' pipelines",
        legacy_setting="cnts_refresh_minutes",
    ),
    TaskSpec("statuses", "statuses", 60, "status flow-back of exported leads (the funnel)"),
    TaskSpec("leads", "leads", 0, "outbox drain (lead export)", polled=True),
)
TASKS_BY_NAME: dict[str, TaskSpec] = {t.name: t for t in TASKS}
INTERVALS_ENV = "ATSBRIDGE_INTERVALS"


def _minutes(value: Any, where: str, *, allow_zero: bool) -> float:
    bad = not isinstance(value, int | float) or isinstance(value, bool)
    if bad or value < 0 or (value == 0 and not allow_zero):
        wanted = "0 or more" if allow_zero else "a positive number of"
        raise BadInput(f"{where}: must be {wanted} minutes, not {value!r}")
    return float(value)


def parse_overrides(items: Mapping[str, Any] | list[str] | str | None) -> dict[str, float]:
    """Global overrides from ``["jobs=15", ...]``, ``"jobs=15,leads=1"`` or a mapping."""
    if not items:
        return {}
    pairs: list[tuple[str, Any]]
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        parts = items.split(",") if isinstance(items, str) else items
        pairs = []
        for part in parts:
            name, sep, raw = part.strip().partition("=")
            if not sep:
                raise BadInput(f"--interval: expected TASK=MINUTES, got {part.strip()!r}")
            try:
                pairs.append((name.strip(), float(raw)))
            except ValueError:
                raise BadInput(f"--interval {name.strip()}: {raw!r} is not a number") from None
    out: dict[str, float] = {}
    for name, value in pairs:
        spec = TASKS_BY_NAME.get(name)
        if spec is None and name not in fullpass.KEYS:
            known = ", ".join([*TASKS_BY_NAME, *fullpass.KEYS])
            raise BadInput(f"--interval: unknown task {name!r} (known: {known})")
        polled = spec is not None and spec.polled
        out[name] = _minutes(value, f"--interval {name}", allow_zero=polled)
    return out


def full_pass_overrides(overrides: Mapping[str, float]) -> dict[str, float]:
    """The global full-pass intervals among the host's overrides (for the services)."""
    return {k: v for k, v in overrides.items() if k in fullpass.KEYS}


def overrides_from_env(env: Mapping[str, str] | None = None) -> dict[str, float]:
    raw = (os.environ if env is None else env).get(INTERVALS_ENV, "").strip()
    return parse_overrides(raw) if raw else {}


def interval(spec: TaskSpec, settings: Mapping[str, Any], overrides: Mapping[str, float]) -> float:
    """Minutes between two runs of ``spec`` for a connection with ``settings``.

    Bad settings raise ``BadInput`` naming the setting; the host logs it and falls back to
    the global value for that connection rather than not syncing it at all.
    """
    per_connection = settings.get("intervals")
    if per_connection is not None and not isinstance(per_connection, Mapping):
        raise BadInput(
            f"setting intervals must be an object of task: minutes, not {per_connection!r}"
        )
    if isinstance(per_connection, Mapping):
        unknown = sorted(set(per_connection) - set(TASKS_BY_NAME) - set(fullpass.KEYS))
        if unknown:
            raise BadInput(f"setting intervals.{unknown[0]}: unknown task")
        if spec.name in per_connection:
            return _minutes(
                per_connection[spec.name], f"setting intervals.{spec.name}", allow_zero=spec.polled
            )
    if spec.legacy_setting and settings.get(spec.legacy_setting) is not None:
        return _minutes(
            settings[spec.legacy_setting], f"setting {spec.legacy_setting}", allow_zero=False
        )
    if spec.name in overrides:
        return overrides[spec.name]
    return spec.default_minutes


def intervals_for(
    settings: Mapping[str, Any], overrides: Mapping[str, float]
) -> tuple[dict[str, timedelta], list[str]]:
    """Every task's interval for one connection, and the problems met (defaults used)."""
    out: dict[str, timedelta] = {}
    problems: list[str] = []
    for kind in fullpass.KEYS.values():
        try:  # the services use these; a bad one is worth a warning at once, not per run
            fullpass.interval(settings, kind)
        except BadInput as exc:
            problems.append(str(exc))
    for spec in TASKS:
        try:
            minutes = interval(spec, settings, overrides)
        except BadInput as exc:
            problems.append(str(exc))
            minutes = overrides.get(spec.name, spec.default_minutes)
        out[spec.name] = timedelta(minutes=minutes)
    return out, problems
