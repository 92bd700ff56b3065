"""``plugins show``: the config as a table of fields and an example; the raw schema under --json."""

from __future__ import annotations

import json

import pytest
from atsbridge.cli import cli
from atsbridge.cli._config_fields import config_fields, example_config
from atsbridge.cli._root import CliState
from atsbridge.config import validate_config
from atsbridge.errors import ConfigError
from atsbridge.plugins import PluginRegistry
from click.testing import CliRunner

PLUGINS = ["greenhouse", "lever", "smartrecruiters", "workday"]


@pytest.fixture(scope="module")
def installed() -> PluginRegistry:
    return PluginRegistry.discover()


@pytest.mark.parametrize("ats", PLUGINS)
def test_show_prints_a_field_table_and_an_example(installed: PluginRegistry, ats: str) -> None:
    schema = installed.get(ats).info.config_schema
    result = CliRunner().invoke(cli, ["plugins", "show", ats], obj=CliState(installed))
    assert result.exit_code == 0, result.output
    out = result.stdout
    header = next(line for line in out.splitlines() if "required" in line and "secret" in line)
    for column in ("name", "type", "required", "secret", "description", "default"):
        assert column in header
    for name in schema["properties"]:
        assert any(line.split("│")[1].strip() == name for line in out.splitlines() if "│" in line)
    assert '"$schema"' not in out  # the raw schema is for --json
    example = json.loads(out.split("Example config", 1)[1].split("\n", 1)[1].split("\n\n")[0])
    assert example == example_config(schema)


@pytest.mark.parametrize("ats", PLUGINS)
def test_example_config_has_what_validation_requires(installed: PluginRegistry, ats: str) -> None:
    schema = installed.get(ats).info.config_schema
    example = example_config(schema)
    try:
        validate_config(schema, example)
    except ConfigError as exc:  # a "<user_id>" placeholder may miss a pattern, never a field
        assert not [p for p in exc.problems if p.endswith(": required")], exc.problems
    for field in config_fields(schema):
        if field.required == "yes":
            assert field.name.split(".")[0] in example


def test_fields_say_required_secret_conditions_and_defaults(installed: PluginRegistry) -> None:
    fields = {f.name: f for f in config_fields(installed.get("lever").info.config_schema)}
    assert fields["api_key"].secret and fields["api_key"].required == "unless auth_method=oauth2"
    assert fields["client_secret"].required == "if auth_method=oauth2"
    assert fields["base_url"].default == "https://api.lever.co/v1"
    assert not fields["base_url"].secret and fields["base_url"].required == "no"
    assert fields["auth_method"].type == "one of api_key | oauth2"


def test_json_keeps_the_raw_schema(installed: PluginRegistry) -> None:
    result = CliRunner().invoke(
        cli, ["plugins", "show", "lever", "--json"], obj=CliState(installed)
    )
    data = json.loads(result.stdout)
    assert data["config_schema"] == installed.get("lever").info.config_schema
    names = [f["name"] for f in data["config_fields"]]
    assert names == list(data["config_schema"]["properties"])
    assert data["example_config"] == example_config(data["config_schema"])
