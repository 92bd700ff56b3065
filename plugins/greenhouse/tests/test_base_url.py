"""The base URL as Greenhouse documents it (https://harvest.greenhouse.io/v3) or without /v3."""

from __future__ import annotations

import pytest
from atsbridge.errors import ConfigError
from atsbridge.model import JobQuery
from atsbridge_greenhouse import plugin


@pytest.mark.parametrize("suffix", ["/v3", "/v3/", "", "/"])
def test_base_url_with_or_without_the_version_segment_connects(sandbox, connect, suffix):
    session = connect(sandbox, base_url=sandbox.url + suffix)
    page = plugin.atsbridge_search_jobs(session=session, query=JobQuery(page_size=5))
    assert len(page.items) == 5
    api = [r for r in sandbox.request_log if r.path != "/token"]
    assert api[0].path == "/v3/jobs"  # the credential probe
    assert all(r.status == 200 and r.path.startswith("/v3/") for r in api)


def test_a_404_on_the_first_request_names_the_url_tried_and_the_base_expected(sandbox, connect):
    with pytest.raises(ConfigError) as caught:
        connect(sandbox, base_url=f"{sandbox.url}/harvest/v3")
    message = str(caught.value)
    assert message.startswith("config.base_url: ")
    assert f"{sandbox.url}/harvest/v3/jobs answered HTTP 404" in message
    assert "expected https://harvest.greenhouse.io/v3" in message
    assert "\n" not in message
