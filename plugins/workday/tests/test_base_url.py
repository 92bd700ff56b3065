"""base_url as Workday documents it (.../ccx/service/{tenant}/Recruiting/v{NN.N}), version
optional, or the server root."""

from __future__ import annotations

import pytest
from atsbridge.errors import ConfigError
from atsbridge.model import JobQuery
from atsbridge_workday.sandbox import TENANT, VERSION

from .conftest import fast_client


def _config(sandbox, base_url, **extra):
    config = {**sandbox.connection_config(), "base_url": base_url, **extra}
    return config


@pytest.mark.parametrize(
    "suffix",
    ["", "/", f"/ccx/service/{TENANT}/Recruiting", f"/ccx/service/{TENANT}/Recruiting/{VERSION}"],
)
def test_base_url_as_documented_with_or_without_version_connects(notes_sandbox, suffix):
    client = fast_client(notes_sandbox, config=_config(notes_sandbox, notes_sandbox.url + suffix))
    try:
        page = client.search_jobs(JobQuery(page_size=5))
    finally:
        client.close()
    assert len(page.items) == 5
    service = f"/ccx/service/{TENANT}/Recruiting/{VERSION}"
    assert {r.path for r in notes_sandbox.request_log} == {service}


def test_the_version_in_the_base_url_is_the_one_used(notes_sandbox):
    config = _config(notes_sandbox, f"{notes_sandbox.url}/ccx/service/{TENANT}/Recruiting/v44.0")
    del config["api_version"]
    fast_client(notes_sandbox, config=config).close()
    assert [r.path for r in notes_sandbox.request_log] == [
        f"/ccx/service/{TENANT}/Recruiting/v44.0"
    ]


def test_a_version_in_the_base_url_contradicting_api_version_is_refused(notes_sandbox):
    config = _config(notes_sandbox, f"{notes_sandbox.url}/ccx/service/{TENANT}/Recruiting/v44.0")
    with pytest.raises(ConfigError, match=r"config\.base_url: names version v44\.0 but"):
        fast_client(notes_sandbox, config={**config, "api_version": VERSION})


def test_a_404_on_the_first_request_names_the_url_tried_and_the_base_expected(notes_sandbox):
    config = _config(notes_sandbox, f"{notes_sandbox.url}/workday")
    with pytest.raises(ConfigError) as caught:
        fast_client(notes_sandbox, config=config)
    message = str(caught.value)
    assert message.startswith("config.base_url: ")
    tried = f"{notes_sandbox.url}/workday/ccx/service/{TENANT}/Recruiting/{VERSION}"
    assert f"{tried} answered HTTP 404" in message
    assert (
        f"expected https://wd5-services1.myworkday.com/ccx/service/{TENANT}/Recruiting/" in message
    )
    assert "\n" not in message
