"""The base URL as Lever documents it (https://api.lever.co/v1) or without /v1."""

from __future__ import annotations

import pytest
from atsbridge.errors import ConfigError
from atsbridge.model import JobQuery, SessionContext
from atsbridge_lever import plugin


def _open(sandbox, base_url):
    config = {**sandbox.connection_config(), "base_url": base_url}
    return plugin.atsbridge_open_session(config=config, context=SessionContext())


@pytest.mark.parametrize("suffix", ["/v1", "/v1/", "", "/"])
def test_base_url_with_or_without_the_version_segment_connects(sandbox, suffix):
    session = _open(sandbox, sandbox.url + suffix)
    try:
        page = plugin.atsbridge_search_jobs(session=session, query=JobQuery(page_size=5))
    finally:
        session.close()
    assert len(page.items) == 5
    assert sandbox.request_log[0].path == "/v1/postings"  # the credential probe
    assert all(r.status == 200 and r.path.startswith("/v1/") for r in sandbox.request_log)


def test_a_404_on_the_first_request_names_the_url_tried_and_the_base_expected(sandbox):
    with pytest.raises(ConfigError) as caught:
        _open(sandbox, f"{sandbox.url}/api")
    message = str(caught.value)
    assert message.startswith("config.base_url: ")
    assert f"{sandbox.url}/api/v1/postings answered HTTP 404" in message
    assert "expected https://api.lever.co/v1" in message
    assert "\n" not in message
