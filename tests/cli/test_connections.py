"""connect (merge, changes), connections settings, check/disconnect --json, confirmation."""

from __future__ import annotations

import json

import pytest
from atsbridge.api import Atsbridge
from atsbridge.cli import connections as connections_cli
from fakeats import GOOD_KEY, FakeAts

from .conftest import GOOD


@pytest.fixture
def connected(run, config_file) -> None:
    base = {**GOOD, "base_url": "http://127.0.0.1:9/sandbox", "timeout": 7}
    result = run("connect", "acme", "fakeats", "--config", config_file(base))
    assert result.exit_code == 0, result.output


def _stored(run) -> dict:
    result = run("connections", "--json")
    (row,) = json.loads(result.stdout)
    return row["config"]


def test_partial_reconnect_merges_and_lists_the_changes(run, config_file, connected, fake) -> None:
    result = run("connect", "acme", "fakeats", "--config", config_file({"account": "acme-2"}))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "updated acme/fakeats: authenticated and stored",
        '  account: "acme-co" -> "acme-2"',
    ]
    config = _stored(run)
    assert config["base_url"] == "http://127.0.0.1:9/sandbox" and config["timeout"] == 7
    assert fake.sessions[-1].config["api_key"] == GOOD_KEY


def test_changed_secret_is_named_never_shown(run, config_file, connected) -> None:
    new_key = "fake-key-NEW-99999"
    result = run(
        "connect", "acme", "fakeats", "--no-check", "--config", config_file({"api_key": new_key})
    )
    assert result.exit_code == 0, result.output
    assert "  api_key: changed (secret)" in result.stdout
    assert new_key not in result.output and GOOD_KEY not in result.output
    as_json = run(
        "connect",
        "acme",
        "fakeats",
        "--no-check",
        "--json",
        "--config",
        config_file({"api_key": GOOD_KEY}),
    )
    changes = json.loads(as_json.stdout)["changes"]
    assert changes == [{"field": "api_key", "action": "changed", "secret": True}]
    assert GOOD_KEY not in as_json.stdout


def test_replace_drops_what_the_config_leaves_out(run, config_file, connected) -> None:
    result = run("connect", "acme", "fakeats", "--replace", "--config", config_file(GOOD))
    assert result.exit_code == 0, result.output
    assert '  base_url: "http://127.0.0.1:9/sandbox" -> "https://api.fake.example"' in result.stdout
    assert _stored(run)["base_url"] == "https://api.fake.example"
    assert _stored(run)["timeout"] == 30


def test_reconnect_with_the_same_config_says_unchanged(run, config_file, connected) -> None:
    result = run("connect", "acme", "fakeats", "--config", config_file({}))
    assert result.stdout.splitlines()[1:] == ["  config unchanged"]


def test_connect_hints_the_next_command(run, config_file) -> None:
    result = run("connect", "acme", "fakeats", "--config", config_file(GOOD))
    assert result.stderr == "next: atsbridge sync acme fakeats --jobs  (mirror its jobs)\n"
    quiet = run("connect", "acme", "fakeats", "--json", "--config", config_file(GOOD))
    assert quiet.stderr == ""


# --- settings ------------------------------------------------------------------------------


def test_settings_set_show_unset(run, connected) -> None:
    result = run(
        "connections",
        "settings",
        "acme",
        "fakeats",
        "--set",
        "default_country=uk",
        "--set",
        "intervals.jobs=15",
        "--set",
        "intervals.leads=0",
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "default_country": "GB",
        "intervals": {"jobs": 15, "leads": 0},
    }
    shown = run("connections", "settings", "acme", "fakeats")
    assert "intervals.jobs" in shown.stdout and '"GB"' in shown.stdout
    result = run(
        "connections",
        "settings",
        "acme",
        "fakeats",
        "--unset",
        "intervals.jobs",
        "--unset",
        "intervals.leads",
        "--json",
    )
    assert json.loads(result.stdout) == {"default_country": "GB"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--set", "intervals.job=5"],
            "error: --set intervals.job: unknown setting (known: default_country, intervals.jobs,",
        ),
        (
            ["--set", "intervals.jobs=-1"],
            "error: --set intervals.jobs: must be a positive number, not '-1'",
        ),
        (
            ["--set", "intervals.jobs=0"],
            "error: --set intervals.jobs: must be a positive number, not '0'",
        ),
        (["--set", "intervals.jobs=soon"], "error: --set intervals.jobs: 'soon' is not a number"),
        (
            ["--set", "default_country=Atlantis"],
            "error: --set default_country: 'Atlantis' is not a country",
        ),
        (
            ["--set", "cnts_sync_workers=1.5"],
            "error: --set cnts_sync_workers: '1.5' is not a whole number",
        ),
        (["--set", "default_country"], "error: --set: expected KEY=VALUE, got 'default_country'"),
        (["--unset", "colour"], "error: --unset colour: unknown setting"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(run, connected, args, message) -> None:
    assert (
        run("connections", "settings", "acme", "fakeats", "--set", "intervals.links=9").exit_code
        == 0
    )
    result = run("connections", "settings", "acme", "fakeats", "--set", "intervals.jobs=3", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
    assert len(result.stderr.splitlines()) == 1
    shown = run("connections", "settings", "acme", "fakeats", "--json")
    assert json.loads(shown.stdout) == {"intervals": {"links": 9}}


def test_settings_help_lists_the_known_keys(run) -> None:
    result = run("connections", "settings", "--help")
    for key in (
        "default_country",
        "intervals.jobs",
        "intervals.candidates_full",
        "cnts_sync_workers",
    ):
        assert f"  {key}: " in result.stdout


def test_settings_are_what_the_services_read(run, connected, registry, db) -> None:
    run("connections", "settings", "acme", "fakeats", "--set", "default_country=FR")
    with Atsbridge(db=db, registry=registry) as app, app.open_session("acme", "fakeats") as s:
        assert s.settings == {"default_country": "FR"}


def test_settings_of_an_unknown_connection(run) -> None:
    result = run("connections", "settings", "nobody", "fakeats")
    assert (result.exit_code, result.stderr) == (2, "error: no tenant 'nobody'\n")


# --- check / disconnect ------------------------------------------------------------------


def test_check_json(run, connected) -> None:
    result = run("check", "acme", "fakeats", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is True and data["tenant"] == "acme" and data["checked_at"]


def test_disconnect_without_terminal_needs_yes(run, connected, monkeypatch) -> None:
    monkeypatch.setattr(connections_cli, "_interactive", lambda: False)
    result = run("disconnect", "acme", "fakeats")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: disconnect acme/fakeats: would delete 0 mirrored jobs, 0 imported job links, "
        "0 do-not-source entries from the ATS, 0 sync runs; pass --yes to confirm "
        "(no terminal to ask on)\n"
    )
    assert len(json.loads(run("connections", "--json").stdout)) == 1


def test_disconnect_asks_and_lists_what_it_deletes(run, connected, monkeypatch) -> None:
    monkeypatch.setattr(connections_cli, "_interactive", lambda: True)
    run("sync", "acme", "fakeats", "--jobs")
    declined = run("disconnect", "acme", "fakeats", input="n\n")
    assert declined.exit_code == 1
    assert "This deletes the acme/fakeats connection and, from it:" in declined.stdout
    assert "       1 mirrored jobs" in declined.stdout
    assert "       1 sync runs" in declined.stdout
    assert "Disconnect acme/fakeats? [y/N]" in declined.stdout
    assert declined.stderr == "error: aborted\n"
    assert len(json.loads(run("connections", "--json").stdout)) == 1
    accepted = run("disconnect", "acme", "fakeats", input="y\n")
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.splitlines()[-1] == (
        "disconnected acme/fakeats: deleted 1 mirrored jobs, 0 imported job links, "
        "0 do-not-source entries from the ATS, 1 sync runs"
    )
    assert json.loads(run("connections", "--json").stdout) == []


def test_disconnect_yes_json_keeps_other_connections_and_the_tenant(
    run, config_file, registry, db
) -> None:
    other = FakeAts("otherats")
    registry.register(other, "otherats", "atsbridge-otherats")
    for ats in ("fakeats", "otherats"):
        assert run("connect", "acme", ats, "--config", config_file(GOOD)).exit_code == 0
    result = run("disconnect", "acme", "fakeats", "--yes", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["disconnected"] is True and data["deleted"]["mirrored jobs"] == 0
    assert [r["ats"] for r in json.loads(run("connections", "--json").stdout)] == ["otherats"]
    assert run("check", "acme", "otherats").exit_code == 0
    assert run("disconnect", "acme", "otherats", "--yes").exit_code == 0
    with Atsbridge(db=db, registry=registry) as app:
        assert app.store.tenant_keys() == ["acme"]  # the tenant (its leads, lists) stays


def test_disconnect_json_without_yes_is_refused(run, connected) -> None:
    result = run("disconnect", "acme", "fakeats", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["exit_code"] == 2 and "pass --yes to confirm" in error["message"]
