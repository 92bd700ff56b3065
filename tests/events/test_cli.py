"""``atsbridge events`` and ``atsbridge webhooks``: every command, --json on each, exit 2
with a one-line reason on bad input."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.events import record, types
from atsbridge.events.delivery import Deliverer
from click.testing import CliRunner, Result
from evclock import SteppingClock
from receiver import Receiver

Run = Callable[..., Result]


@pytest.fixture
def run(app: Atsbridge) -> Run:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), obj=CliState(app=app))

    return invoke


def _json(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _log(app: Atsbridge, tenant: str, n: int) -> list[str]:
    with app.store.tenant(tenant) as repo:
        return [record(repo, tenant=tenant, type=types.JOB_CLOSED, data={"i": i}) for i in range(n)]


def test_events_list_pages_filters_and_scopes(app: Atsbridge, run: Run) -> None:
    acme = _log(app, "acme", 3)
    globex = _log(app, "globex", 1)
    with app.store.tenant("acme") as repo:
        record(repo, tenant="acme", type=types.SYNC_FINISHED, data={})
    page = _json(
        run("events", "list", "--tenant", "acme", "--type", "job.closed", "--limit", "2", "--json")
    )
    assert isinstance(page, dict)
    assert [e["id"] for e in page["items"]] == acme[:2] and page["next_cursor"]
    rest = _json(
        run(
            "events",
            "list",
            "--tenant",
            "acme",
            "--type",
            "job.closed",
            "--after",
            page["next_cursor"],
            "--json",
        )
    )
    assert isinstance(rest, dict)
    assert [e["id"] for e in rest["items"]] == acme[2:] and rest["next_cursor"] is None
    every = _json(run("events", "list", "--json"))
    assert isinstance(every, dict) and len(every["items"]) == 5
    human = run("events", "list", "--tenant", "globex")
    assert human.exit_code == 0 and globex[0] in human.stdout and acme[0] not in human.stdout
    assert f"--after {globex[0]}" in human.stderr
    shown = _json(run("events", "show", acme[0], "--json"))
    assert isinstance(shown, dict) and shown["type"] == "job.closed"
    assert run("events", "show", acme[0]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("events", "list", "--after", "zzz"), "after"),
        (("events", "list", "--type", "job.exploded"), "job.exploded"),
        (("events", "list", "--tenant", "nobody"), "nobody"),
        (("events", "list", "--limit", "0"), "limit"),
        (("events", "show", "evt_nothing"), "evt_nothing"),
        (("webhooks", "create", "--url", "ftp://x"), "url"),
        (("webhooks", "create", "--url", "http://127.0.0.1:9/h", "--tenant", "nobody"), "nobody"),
        (("webhooks", "create", "--url", "http://127.0.0.1:9/h", "--type", "nope"), "nope"),
        (("webhooks", "delete", "ep_missing"), "ep_missing"),
        (("webhooks", "ping", "ep_missing"), "ep_missing"),
        (("webhooks", "replay", "ep_missing"), "ep_missing"),
        (("webhooks", "health", "ep_missing"), "ep_missing"),
        (("webhooks", "enable", "ep_missing"), "ep_missing"),
    ],
)
def test_bad_input_exits_2_naming_it(run: Run, args: tuple[str, ...], says: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert says in result.output


def test_webhooks_create_ping_replay_health_delete(
    app: Atsbridge, run: Run, clock: SteppingClock
) -> None:
    receiver = Receiver(now=lambda: clock.now.timestamp()).start()
    deliverer = Deliverer(app.store, clock, app.secret_box)
    try:
        made = _json(
            run(
                "webhooks",
                "create",
                "--url",
                receiver.url,
                "--tenant",
                "acme",
                "--type",
                "job.closed",
                "--json",
            )
        )
        assert isinstance(made, dict) and made["secret"].startswith("whsec_")
        receiver.secret = made["secret"]
        endpoint = made["id"]
        human = run("webhooks", "create", "--url", receiver.url)
        assert human.exit_code == 0 and human.stdout.startswith("whsec_")
        listed = _json(run("webhooks", "list", "--tenant", "acme", "--json"))
        assert isinstance(listed, list) and [v["id"] for v in listed] == [endpoint]
        assert "secret" not in listed[0]
        assert endpoint in run("webhooks", "list").stdout

        ids = _log(app, "acme", 2)
        pinged = _json(run("webhooks", "ping", endpoint, "--json"))
        assert isinstance(pinged, dict) and pinged["event_id"].startswith("evt_")
        assert deliverer.deliver_due(host_id="cli") >= 3
        assert receiver.ids()[:3] == [*ids, pinged["event_id"]]
        health = _json(run("webhooks", "health", endpoint, "--json"))
        assert isinstance(health, dict) and health["delivered"] == 3 and health["backlog"] == 0
        assert "backlog: 0" in run("webhooks", "health", endpoint).stdout

        replayed = _json(run("webhooks", "replay", endpoint, "--after", ids[0], "--json"))
        assert replayed == {"id": endpoint, "queued": 1}
        deliverer.deliver_due(host_id="cli")
        assert receiver.ids().count(ids[1]) == 2  # the same webhook-id again

        off = _json(run("webhooks", "enable", endpoint, "--off", "--json"))
        assert isinstance(off, dict) and off["enabled"] is False
        assert run("webhooks", "ping", endpoint).exit_code == 2  # disabled: a conflict
        assert run("webhooks", "enable", endpoint).exit_code == 0
        assert _json(run("webhooks", "delete", endpoint, "--json")) == {
            "id": endpoint,
            "deleted": True,
        }
        assert run("webhooks", "health", endpoint).exit_code == 2
    finally:
        deliverer.close()
        receiver.stop()
