"""The base URL as SmartRecruiters documents it (https://api.smartrecruiters.com)."""

from __future__ import annotations

import pytest
from atsbridge.errors import ConfigError
from atsbridge.model import JobQuery, SessionContext
from atsbridge_smartrecruiters import plugin


def _open(sandbox, base_url):
    config = {**sandbox.connection_config(), "base_url": base_url}
    return plugin.atsbridge_open_session(config=config, context=SessionContext())


@pytest.mark.parametrize("suffix", ["", "/"])
def test_documented_base_url_connects_with_or_without_a_trailing_slash(sandbox, suffix):
    session = _open(sandbox, sandbox.url + suffix)
    try:
        page = plugin.atsbridge_search_jobs(session=session, query=JobQuery(page_size=5))
    finally:
        session.close()
    assert len(page.items) == 5
    assert sandbox.request_log[0].path == "/jobs"  # the credential probe


def test_a_404_on_the_first_request_names_the_url_tried_and_the_base_expected(sandbox):
    with pytest.raises(ConfigError) as caught:
        _open(sandbox, f"{sandbox.url}/v1")
    message = str(caught.value)
    assert message.startswith("config.base_url: ")
    assert f"{sandbox.url}/v1/jobs answered HTTP 404" in message
    assert "expected https://api.smartrecruiters.com" in message
    assert "\n" not in message
