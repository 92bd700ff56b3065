"""``atsbridge sandbox-ctl ...``: change a running sandbox's world from outside Python.

A sandbox (``atsbridge sandbox ATS``) serves a control API under ``/_sandbox/`` beside the
fake ATS (the SDK's ``atsbridge_sdk.sandbox.control``); these commands call it, so a person
can close a job in the "ATS" and watch the linked product job close after a sync:

    atsbridge sandbox lever --config-out lever.json &
    atsbridge sandbox-ctl jobs --config lever.json --status open
    atsbridge sandbox-ctl close JOB --config lever.json

The sandbox is found as ``connect`` finds it: from the config file it wrote (``--config``,
its ``base_url``), or by the URL it printed (``--url`` or ``ATSBRIDGE_SANDBOX_URL``). Only
loopback URLs are accepted (a sandbox listens nowhere else). Exit codes: 2 for bad input
(the argument named), 1 when the sandbox cannot be reached (the URL named).

The core does not import the SDK: this is plain HTTP (stdlib ``urllib``, no proxy).
"""

from __future__ import annotations

import ipaddress
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import click

from atsbridge.cli._output import console, echo_ids, emit_json, hint, table
from atsbridge.errors import AtsbridgeError, BadInput
from atsbridge.model import CandidateStatus, JobStatus

__all__ = ["PREFIX", "SandboxControl", "register"]

PREFIX = "/_sandbox"  # as atsbridge_sdk.sandbox.control serves it
MAX_ADD = 1000
TIMEOUT = 30.0
URL_ENV = "ATSBRIDGE_SANDBOX_URL"
# Server field -> the command-line argument a person typed it as.
_ARGUMENT = {
    "path.job_id": "JOB",
    "path.candidate_id": "CANDIDATE",
    "body.status": "STATUS",
    "body.count": "--count",
    "query.status": "--status",
}
F = TypeVar("F", bound=Callable[..., Any])


class SandboxControl:
    """A client of one sandbox's control API at ``origin`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, origin: str):
        self.origin = origin
        # No proxy, ever: the sandbox is on loopback and a proxy would be asked instead.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(
        self, method: str, *segments: str, body: dict | None = None, query: dict | None = None
    ) -> dict[str, Any]:
        """One operation; BadInput for a 4xx naming the argument, AtsbridgeError otherwise."""
        path = PREFIX + "/" + "/".join(quote(s, safe="") for s in segments)
        url = self.origin + path + (f"?{urlencode(query)}" if query else "")
        data = None if method == "GET" else json.dumps(body or {}).encode()
        request = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=TIMEOUT) as response:
                return self._json(url, response.read())
        except urllib.error.HTTPError as exc:
            raise self._refusal(url, exc.code, exc.read()) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AtsbridgeError(
                f"cannot reach the sandbox at {self.origin}: {reason} "
                "(is `atsbridge sandbox ATS` running there?)"
            ) from None

    def _json(self, url: str, raw: bytes) -> dict[str, Any]:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise AtsbridgeError(f"{url} did not answer as the sandbox control API does")
        return data

    def _refusal(self, url: str, status: int, raw: bytes) -> AtsbridgeError:
        try:
            problem = json.loads(raw)
            error = problem["errors"][0]
            field, message = str(error["field"]), str(error["message"])
        except (ValueError, KeyError, IndexError, TypeError):
            return AtsbridgeError(f"{url} answered HTTP {status}: not a sandbox control API")
        if field in ("path", "method"):  # an operation this server does not know
            return AtsbridgeError(
                f"{self.origin} does not serve this sandbox control operation "
                f"(HTTP {status}: {message})"
            )
        if status >= 500 or field.startswith("header."):
            return AtsbridgeError(f"{url} answered HTTP {status}: {field}: {message}")
        return BadInput(f"{_ARGUMENT.get(field, field)}: {message}")


def _loopback_origin(url: str, option: str) -> str:
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() == "localhost"
    if parts.scheme != "http" or not loopback:
        raise BadInput(
            f"{option}: {url!r} is not a loopback http URL (a sandbox listens on 127.0.0.1)"
        )
    try:
        port = parts.port
    except ValueError:
        raise BadInput(f"{option}: {url!r} has an invalid port") from None
    netloc = f"[{host}]" if ":" in host else host
    return f"http://{netloc}" + (f":{port}" if port else "")


def _origin_from_config(path: Path) -> str:
    try:
        config = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"--config: cannot read {path} as JSON: {exc}") from None
    base = config.get("base_url") if isinstance(config, dict) else None
    if not isinstance(base, str):
        raise BadInput(
            f"--config: {path} has no base_url: give the file `atsbridge sandbox "
            "--config-out` wrote, or --url"
        )
    return _loopback_origin(base, "--config")


def control_from(url: str | None, config: Path | None) -> SandboxControl:
    """The sandbox named by ``--url`` or ``--config`` (exactly one), or BadInput."""
    if url and config:
        raise BadInput("--url: give --url or --config, not both")
    if config is not None:
        return SandboxControl(_origin_from_config(config))
    if not url:
        raise BadInput(
            f"--url: which sandbox? --url URL (printed by `atsbridge sandbox`, or {URL_ENV}) "
            "or --config FILE (the config it wrote)"
        )
    return SandboxControl(_loopback_origin(url, "--url"))


def _target_options(f: F) -> F:
    """``--url``, ``--config`` and ``--json``, the same on every subcommand."""
    f = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")(f)
    f = click.option(
        "--config",
        "config",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="The connection config `atsbridge sandbox` wrote (its base_url names it).",
    )(f)
    return click.option(
        "--url",
        envvar=URL_ENV,
        metavar="URL",
        help=f"The sandbox's URL as `atsbridge sandbox` prints it [env {URL_ENV}].",
    )(f)


@click.group("sandbox-ctl")
def sandbox_ctl() -> None:
    """Change a running sandbox's world: close or reopen a job, move or add candidates.

    Talks to the control API every sandbox serves under /_sandbox/ (no ATS credentials
    needed; loopback only). Name the sandbox with --config FILE (what `atsbridge sandbox
    --config-out` wrote) or --url URL.
    """


def _job_statuses(raw: str | None) -> str | None:
    if raw is None:
        return None
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    known = {s.value for s in JobStatus}
    for name in names:
        if name not in known:
            raise BadInput(f"--status: unknown status {name!r}; one of {', '.join(sorted(known))}")
    return ",".join(names)


@sandbox_ctl.command("jobs")
@click.option("--status", help="Only these statuses (comma-separated: open,closed,draft,on_hold).")
@click.option("-q", "--ids", "ids_only", is_flag=True, help="Print only the job ids.")
@_target_options
def jobs_command(
    status: str | None, ids_only: bool, url: str | None, config: Path | None, as_json: bool
) -> None:
    """The sandbox's jobs with their status, as the ATS holds them now."""
    wanted = _job_statuses(status)
    data = control_from(url, config).call(
        "GET", "jobs", query={"status": wanted} if wanted else None
    )
    if as_json:
        emit_json(data)
        return
    if ids_only:
        echo_ids(job["id"] for job in data["jobs"])
        return
    t = table("id", "status", "title", "reference", "city", ids=("id", "reference"))
    for job in data["jobs"]:
        t.add_row(
            job["id"], job["status"], job["title"], job["reference"] or "-", job["city"] or "-"
        )
    console().print(t)


@sandbox_ctl.command("candidates")
@click.argument("job")
@click.option("-q", "--ids", "ids_only", is_flag=True, help="Print only the candidate ids.")
@_target_options
def candidates_command(
    job: str, ids_only: bool, url: str | None, config: Path | None, as_json: bool
) -> None:
    """JOB's status and its pipeline's candidate ids (every stage)."""
    data = control_from(url, config).call("GET", "jobs", job)
    if as_json:
        emit_json(data)
        return
    if not ids_only:
        facts = data["job"]
        click.echo(
            f"{data['ats']} job {facts['id']} ({facts['title']}): {facts['status']}, "
            f"{len(data['candidates'])} candidate(s)"
        )
    echo_ids(data["candidates"])


def _set_status(verb: str, done: str, state: str) -> Callable[..., None]:
    def command(job: str, url: str | None, config: Path | None, as_json: bool) -> None:
        data = control_from(url, config).call("POST", "jobs", job, verb)
        if as_json:
            emit_json(data)
            return
        facts = data["job"]
        if not data["changed"]:
            click.echo(f"{data['ats']} job {facts['id']} was already {facts['status']}")
            return
        click.echo(f"{done} {data['ats']} job {facts['id']} ({facts['title']}; was {data['was']})")
        hint(f"atsbridge sync TENANT {data['ats']} --links", "a linked product job follows")

    command.__doc__ = (
        f"{verb.capitalize()} JOB in the sandbox, as a recruiter would in the ATS.\n\n"
        f"Already {state}: nothing changes (not even its updated_at)."
    )
    return command


for _verb, _done, _state in (("close", "closed", "closed"), ("reopen", "reopened", "open")):
    _command = _set_status(_verb, _done, _state)
    sandbox_ctl.command(_verb)(_target_options(click.argument("job")(_command)))


@sandbox_ctl.command("move")
@click.argument("job")
@click.argument("candidate")
@click.argument("status", type=click.Choice([s.value for s in CandidateStatus]), metavar="STATUS")
@_target_options
def move_command(
    job: str, candidate: str, status: str, url: str | None, config: Path | None, as_json: bool
) -> None:
    """Move CANDIDATE in JOB's pipeline to STATUS (the stage the ATS uses for it).

    STATUS: new, in_review, interviewing, offered, hired, rejected or withdrawn.
    """
    data = control_from(url, config).call(
        "POST", "jobs", job, "candidates", candidate, "move", body={"status": status}
    )
    if as_json:
        emit_json(data)
        return
    click.echo(
        f"moved candidate {data['candidate_id']} on {data['ats']} job {data['job_id']} to {status}"
    )
    hint(f"atsbridge sync TENANT {data['ats']} --statuses", "an exported lead's status follows")


@sandbox_ctl.command("add")
@click.argument("job")
@click.option(
    "--count",
    type=click.IntRange(1, MAX_ADD),
    default=1,
    show_default=True,
    help=f"How many new people (at most {MAX_ADD:,}).",
)
@click.option(
    "--status",
    type=click.Choice([s.value for s in CandidateStatus]),
    default="new",
    show_default=True,
    help="Their status in the pipeline.",
)
@click.option("-q", "--ids", "ids_only", is_flag=True, help="Print only the new candidate ids.")
@_target_options
def add_command(
    job: str,
    count: int,
    status: str,
    ids_only: bool,
    url: str | None,
    config: Path | None,
    as_json: bool,
) -> None:
    """Add --count new people to JOB's pipeline (generated, like the seeded ones)."""
    data = control_from(url, config).call(
        "POST", "jobs", job, "candidates", body={"count": count, "status": status}
    )
    if as_json:
        emit_json(data)
        return
    if not ids_only:
        added = len(data["added"])
        click.echo(f"added {added} candidate(s) ({status}) to {data['ats']} job {data['job_id']}:")
    echo_ids(data["added"])
    if not ids_only:
        hint(
            f"atsbridge cnts sync TENANT {data['ats']} --job PRODUCT_JOB",
            "their do-not-source list",
        )


def register(root: click.Group) -> None:
    root.add_command(sandbox_ctl)
