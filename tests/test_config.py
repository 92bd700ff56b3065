"""Config validation: every problem, one line each, with its path; defaults; URL rules."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from atsbridge.config import load_config, url_problem, validate_config
from atsbridge.errors import BadInput, ConfigError
from fakeats import SCHEMA


def problems(config: object) -> list[str]:
    with pytest.raises(ConfigError) as exc:
        validate_config(SCHEMA, config)
    return exc.value.problems


def test_every_problem_is_reported_with_its_path() -> None:
    got = problems(
        {
            "api_key": "short",
            "base_url": "http://ats.example.com",
            "timeout": "soon",
            "region": "mars",
            "colour": "red",
        }
    )
    assert got == [
        "config.account: required",
        "config.api_key: must be at least 8 characters",
        "config.base_url: must be https (plain http only for loopback)",
        "config.colour: unknown field",
        'config.region: must be one of: "eu", "us"',
        "config.timeout: must be an integer",
    ]


def test_missing_everything() -> None:
    assert problems({}) == ["config.account: required", "config.api_key: required"]


def test_not_an_object() -> None:
    assert problems(["x"]) == ["config: must be a JSON object"]


def test_messages_never_quote_values() -> None:
    secret = "sekr"  # too short: the message must still not contain it
    (line,) = problems({"api_key": secret, "account": "a"})
    assert secret not in line


def test_defaults_are_applied() -> None:
    config = validate_config(SCHEMA, {"api_key": "0123456789", "account": "acme"})
    assert config == {
        "api_key": "0123456789",
        "account": "acme",
        "base_url": "https://api.fake.example",
        "timeout": 30,
    }


def test_references_are_checked_through_but_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "FAKE_")
    monkeypatch.setenv("FAKE_KEY", "short")
    assert problems({"api_key": {"$env": "FAKE_KEY"}, "account": "a"}) == [
        "config.api_key: must be at least 8 characters"
    ]
    monkeypatch.setenv("FAKE_KEY", "long-enough-key")
    config = validate_config(SCHEMA, {"api_key": {"$env": "FAKE_KEY"}, "account": "a"})
    assert config["api_key"] == {"$env": "FAKE_KEY"}


def test_unresolvable_reference_is_one_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATSBRIDGE_CONFIG_ENV_PREFIX", "NOT_")
    assert problems({"api_key": {"$env": "NOT_SET_X"}, "account": "a"}) == [
        "config.api_key: environment variable NOT_SET_X is not set"
    ]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://api.example.com/v1", None),
        ("http://127.0.0.1:8080", None),
        ("http://localhost:1234/x", None),
        ("http://[::1]:99", None),
        ("http://api.example.com", "must be https (plain http only for loopback)"),
        ("http://10.0.0.1", "must be https (plain http only for loopback)"),
        ("ftp://example.com", "must be an absolute http(s) URL"),
        ("/relative", "must be an absolute http(s) URL"),
        ("https://[bad", "must be an absolute http(s) URL"),
    ],
)
def test_url_rules(url: str, problem: str | None) -> None:
    assert url_problem(url) == problem


def test_load_config_from_file_and_stream(tmp_path: Path) -> None:
    f = tmp_path / "c.json"
    f.write_text('\ufeff{"a": 1}', encoding="utf-8")
    assert load_config(f) == {"a": 1}
    assert load_config(io.StringIO('{"b": 2}')) == {"b": 2}


def test_load_config_errors_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="--config: not valid JSON: Expecting value at line 1"):
        load_config(io.StringIO("nope"))
    with pytest.raises(BadInput, match=r"--config: cannot read .*missing\.json"):
        load_config(tmp_path / "missing.json")
