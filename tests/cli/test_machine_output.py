"""Machine output: errors as JSON under --json, Ctrl-C exits 130 with a hint to re-run."""

from __future__ import annotations

import json

import pytest
from atsbridge.errors import AtsError
from fakeats import FakeAts

from .conftest import GOOD


def test_errors_are_json_under_json(run) -> None:
    result = run("check", "nobody", "fakeats", "--json")
    assert result.exit_code == 2 and result.stdout == ""
    assert json.loads(result.stderr) == {
        "error": {
            "message": "no tenant 'nobody'",
            "exit_code": 2,
            "type": "NotFound",
            "problems": ["no tenant 'nobody'"],
        }
    }


def test_config_problems_are_one_json_object(run, config_file) -> None:
    result = run("connect", "acme", "fakeats", "--json", "--config", config_file({"api_key": "x"}))
    assert result.exit_code == 2
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "ConfigError"
    assert error["problems"] == [
        "config.account: required",
        "config.api_key: must be at least 8 characters",
    ]


def test_operational_failure_as_json_exits_1(run, config_file, fake: FakeAts) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    fake.failure = AtsError("forbidden: missing scope jobs:read", status_code=403)
    result = run("check", "acme", "fakeats", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stderr)["error"]["message"] == "forbidden: missing scope jobs:read"


def test_usage_errors_are_json_too(run) -> None:
    result = run("connections", "--json", "--bogus")
    assert result.exit_code == 2
    assert json.loads(result.stderr)["error"]["message"] == "No such option '--bogus'."


def test_without_json_errors_stay_one_line(run) -> None:
    result = run("check", "nobody", "fakeats")
    assert result.stderr == "error: no tenant 'nobody'\n"


@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_exits_130_and_says_re_run(run, config_file, fake: FakeAts, as_json) -> None:
    assert run("connect", "acme", "fakeats", "--config", config_file(GOOD)).exit_code == 0
    fake.failure = KeyboardInterrupt()
    result = run("sync", "acme", "fakeats", "--jobs", *(["--json"] if as_json else []))
    assert result.exit_code == 130, result.output
    if as_json:
        error = json.loads(result.stderr.strip().splitlines()[-1])["error"]
        assert error == {
            "message": "interrupted; re-run to resume",
            "exit_code": 130,
            "type": "interrupted",
            "problems": ["interrupted; re-run to resume"],
        }
    else:
        assert result.stderr.splitlines()[-1] == "error: interrupted; re-run to resume"
