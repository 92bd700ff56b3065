"""Configs may not point atsbridge at its own network, nor move a stored secret to a new host.

#20 item 10: private, link-local and metadata addresses are refused as base and token URLs
(and as Workday's ``host``) unless ATSBRIDGE_ALLOW_PRIVATE_NETWORKS allows them; loopback
stays allowed for sandboxes. A re-connect that changes where the config sends credentials
must be given the secrets again instead of reusing the stored ones.
"""

from __future__ import annotations

import json

import pytest
from atsbridge.cli import cli
from atsbridge.cli._root import CliState
from atsbridge.config import ALLOW_PRIVATE_SETTING, host_problem, url_problem
from atsbridge.errors import ConfigError
from atsbridge.plugins import PluginRegistry
from atsbridge.secrets import MASK
from click.testing import CliRunner, Result
from fakeats import GOOD_KEY, FakeAts

GOOD = {"api_key": GOOD_KEY, "account": "acme-co"}


@pytest.fixture
def run(registry: PluginRegistry, db_url: str):
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, *args], obj=CliState(registry))

    return invoke


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1",
        "https://192.168.1.1:8443",
        "https://172.16.5.4",
        "https://100.64.0.1",
        "https://0.0.0.0",
        "https://[fc00::1]",
        "https://[fd12:3456::1]",
        "https://[fe80::1]",
        "https://[::ffff:169.254.169.254]",
        "https://2852039166",  # 169.254.169.254 as one integer, which the resolver accepts
        "https://0xa9.254.169.254",
        "https://metadata.google.internal",
    ],
)
def test_non_public_targets_are_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_SETTING, raising=False)
    reason = url_problem(url)
    assert reason is not None and ALLOW_PRIVATE_SETTING in reason
    monkeypatch.setenv(ALLOW_PRIVATE_SETTING, "1")
    assert url_problem(url) is None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://localhost:9", "http://[::1]:80", "https://1.1.1.1"]
)
def test_loopback_and_public_stay_allowed(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_SETTING, raising=False)
    assert url_problem(url) is None


def test_port_out_of_range_is_named() -> None:
    assert url_problem("https://api.example.com:99999") == "has a port out of range (1-65535)"


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1:99999", "has a port out of range (1-65535)"),
        ("api.example.com:0", "has a port out of range (1-65535)"),
        ("a..example.com", "must be a host name or address"),
        ("example.com/ccx", "must be a host name or address"),
        ("https://example.com", "must be a host name or address"),
        ("169.254.169.254", "is a link-local address"),
    ],
)
def test_host_syntax_and_address(host: str, reason: str, monkeypatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_SETTING, raising=False)
    assert reason in (host_problem(host) or "")


def test_workday_host_and_tenant_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    from atsbridge_workday.client import WorkdayConfig

    monkeypatch.delenv(ALLOW_PRIVATE_SETTING, raising=False)
    base = {"auth_type": "isu", "username": "isu", "password": "s3cret-Password!"}
    for config, field in [
        ({"host": "169.254.169.254", "tenant": "acme1"}, "config.host: 169.254.169.254 is a"),
        ({"host": "127.0.0.1:99999", "tenant": "acme1"}, "config.host: has a port out of range"),
        ({"host": "wd5.myworkday.com", "tenant": ".."}, "config.tenant: must match"),
        ({"host": "wd5.myworkday.com", "tenant": "a/../b"}, "config.tenant: must match"),
        (
            {"host": "wd5.myworkday.com", "tenant": "acme1", "token_url": "https://10.0.0.1/t"},
            "config.token_url: 10.0.0.1 is a private",
        ),
    ]:
        with pytest.raises(ConfigError) as caught:
            WorkdayConfig.from_dict({**base, **config})
        assert any(p.startswith(field) for p in caught.value.problems), caught.value.problems
    ok = WorkdayConfig.from_dict(
        {**base, "host": "wd5-services1.myworkday.com", "tenant": "acme_1"}
    )
    assert ok.tenant == "acme_1"


def test_connect_refuses_a_metadata_base_url(run, config_file, fake: FakeAts, monkeypatch) -> None:
    monkeypatch.delenv(ALLOW_PRIVATE_SETTING, raising=False)
    bad = {**GOOD, "base_url": "https://169.254.169.254"}
    result = run("connect", "acme", "fakeats", "--config", config_file(bad))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: config.base_url: 169.254.169.254 is a link-local")
    assert fake.sessions == []


@pytest.mark.parametrize("secret", ["mask", "omitted"])
def test_changed_host_needs_the_secret_again(run, config_file, fake: FakeAts, secret) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    moved: dict = {"base_url": "https://evil.example.net"}
    if secret == "mask":
        moved["api_key"] = MASK
    result = run("connect", "acme", "fakeats", "--config", config_file(moved, "moved.json"))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: config.api_key: must be given again because config.base_url changed "
        "(the stored secret is not sent to a new host)\n"
    )
    assert len(fake.sessions) == 1  # the new host was never called with the stored key
    shown = json.loads(run("connections", "--json").stdout)
    assert shown[0]["config"]["base_url"] == "https://api.fake.example"
    # Typing the secret again is what moves the connection.
    again = {**moved, "api_key": GOOD_KEY}
    result = run("connect", "acme", "fakeats", "--config", config_file(again, "again.json"))
    assert result.exit_code == 0, result.output
    assert fake.sessions[-1].config["base_url"] == "https://evil.example.net"


def test_same_host_keeps_the_stored_secret(run, config_file, fake: FakeAts) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    same = {"base_url": "https://api.fake.example/", "api_key": MASK, "timeout": 5}
    result = run("connect", "acme", "fakeats", "--config", config_file(same, "same.json"))
    assert result.exit_code == 0, result.output
    assert fake.sessions[-1].config["api_key"] == GOOD_KEY
