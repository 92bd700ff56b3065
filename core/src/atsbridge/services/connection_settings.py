"""The known per-connection settings: their keys, what they do, and how a value is read.

A connection's ``settings`` is a small JSON object the services and the host read
(``default_country``, ``intervals.jobs``...). ``atsbridge connections settings`` changes it
through ``apply``: each key is validated here, so a typo or a bad value is refused when it
is set, not discovered by the host at its next run.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from atsbridge.countries import country_code
from atsbridge.errors import BadInput

__all__ = ["SettingSpec", "apply", "flatten", "known_keys", "specs"]


@attrs.frozen
class SettingSpec:
    """One known setting: dotted ``key``, a ``help`` line, and ``parse`` (text -> value)."""

    key: str
    help: str
    parse: Callable[[str], Any]


def _number(text: str, key: str, *, allow_zero: bool) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"--set {key}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        wanted = "0 or more" if allow_zero else "a positive number"
        raise BadInput(f"--set {key}: must be {wanted}, not {text!r}")
    return int(value) if value.is_integer() else value


def _minutes(key: str, *, allow_zero: bool = False) -> Callable[[str], Any]:
    return lambda text: _number(text, key, allow_zero=allow_zero)


def _whole(key: str, *, minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise BadInput(f"--set {key}: {text!r} is not a whole number") from None
        if value < minimum:
            raise BadInput(f"--set {key}: must be {minimum} or more, not {value}")
        return value

    return parse


def _country(text: str) -> str:
    code = country_code(text)
    if code is None:
        raise BadInput(f"--set default_country: {text!r} is not a country (use an ISO code: FR)")
    return code


def _specs() -> tuple[SettingSpec, ...]:
    # The host's task table is the one source of the interval keys (imported here, not at
    # module level, so the facade does not load the scheduler).
    from atsbridge.host.tasks import TASKS
    from atsbridge.services import fullpass

    found = [
        SettingSpec(
            "default_country",
            "country (ISO code) of phone numbers written without +, for do-not-source",
            _country,
        )
    ]
    for task in TASKS:
        found.append(
            SettingSpec(
                f"intervals.{task.name}",
                f"minutes between two runs: {task.help}"
                + (" (0: as soon as leads are due)" if task.polled else ""),
                _minutes(f"intervals.{task.name}", allow_zero=task.polled),
            )
        )
    for key, kind in fullpass.KEYS.items():
        found.append(
            SettingSpec(
                f"intervals.{key}",
                f"most minutes between two full {kind} passes",
                _minutes(f"intervals.{key}"),
            )
        )
    found += [
        SettingSpec(
            "cnts_sync_workers",
            "jobs whose pipelines are fetched at once in a candidate sync",
            _whole("cnts_sync_workers", minimum=1),
        ),
        SettingSpec(
            "cnts_sync_processes",
            "worker processes storing a large candidate sync (0: none)",
            _whole("cnts_sync_processes", minimum=0),
        ),
        SettingSpec(
            "cnts_refresh_minutes",
            "older form of intervals.candidates",
            _minutes("cnts_refresh_minutes"),
        ),
        SettingSpec(
            "cnts_reconcile_hours",
            "older form of intervals.candidates_full, in hours",
            _minutes("cnts_reconcile_hours"),
        ),
    ]
    return tuple(found)


@functools.cache
def specs() -> dict[str, SettingSpec]:
    """Every known setting by its dotted key, in the order ``--help`` lists them."""
    return {s.key: s for s in _specs()}


def known_keys() -> list[str]:
    return list(specs())


def _unknown(key: str, option: str) -> BadInput:
    return BadInput(
        f"{option} {key}: unknown setting (known: {', '.join(known_keys())}; "
        "see `atsbridge connections settings --help`)"
    )


def apply(
    settings: Mapping[str, Any], set_items: Iterable[str] = (), unset: Iterable[str] = ()
) -> dict[str, Any]:
    """``settings`` with ``KEY=VALUE`` items set and ``unset`` keys removed (a new dict).

    Raises ``BadInput`` naming the option and key for an unknown key or a bad value;
    nothing is applied then.
    """
    known = specs()
    out = copy.deepcopy(dict(settings))
    for key in unset:
        if key not in known:
            raise _unknown(key, "--unset")
        head, _, tail = key.partition(".")
        if not tail:
            out.pop(key, None)
        elif isinstance(out.get(head), dict):
            out[head].pop(tail, None)
            if not out[head]:
                del out[head]
    for item in set_items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise BadInput(f"--set: expected KEY=VALUE, got {item!r}")
        spec = known.get(key)
        if spec is None:
            raise _unknown(key, "--set")
        value = spec.parse(text.strip())
        head, _, tail = key.partition(".")
        if tail:
            section = out.get(head)
            if not isinstance(section, dict):
                section = out[head] = {}
            section[tail] = value
        else:
            out[key] = value
    return out


def flatten(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted key -> value, one level deep (``{"intervals": {"jobs": 15}}`` -> intervals.jobs)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, Mapping):
            for sub, inner in value.items():
                out[f"{key}.{sub}"] = inner
        else:
            out[key] = value
    return out
