"""read_base_url: the one base-URL convention (documented base, version segment optional)."""

from __future__ import annotations

import pytest
from atsbridge.errors import AtsError, AuthError, ConfigError
from atsbridge_sdk.baseurl import read_base_url

GH = {"default": "https://harvest.greenhouse.io/v3", "tail": "/v3"}


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://harvest.greenhouse.io/v3",
        "https://harvest.greenhouse.io/v3/",
        "https://harvest.greenhouse.io",
        " https://harvest.greenhouse.io/ ",
    ],
)
def test_with_or_without_the_version_segment_is_one_root(value):
    assert read_base_url(value, **GH).root == "https://harvest.greenhouse.io"


def test_a_prefix_path_is_kept_and_only_a_trailing_tail_is_removed():
    base = read_base_url("http://127.0.0.1:8080/proxy/v3", **GH)
    assert base.root == "http://127.0.0.1:8080/proxy"
    assert read_base_url("https://h.example/v3x", **GH).root == "https://h.example/v3x"
    assert read_base_url("https://h.example/v3/jobs", **GH).root == "https://h.example/v3/jobs"


def test_named_groups_of_the_tail_are_kept():
    tail = r"/Recruiting(?:/(?P<version>v\d+\.\d))?"
    with_version = read_base_url(
        "https://wd.example/Recruiting/v42.0", default="https://x", tail=tail
    )
    assert (with_version.root, with_version.tail) == ("https://wd.example", {"version": "v42.0"})
    without = read_base_url("https://wd.example/Recruiting", default="https://x", tail=tail)
    assert (without.root, without.tail) == ("https://wd.example", {})


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (42, "config.base_url: must be a string URL"),
        ("harvest.greenhouse.io", "config.base_url: must be an absolute http(s) URL"),
        ("http://harvest.greenhouse.io", "config.base_url: must be https"),
        ("https://harvest.greenhouse.io/v3?x=1", "config.base_url: must not carry a query"),
    ],
)
def test_bad_values_are_one_line_config_errors(value, reason):
    with pytest.raises(ConfigError) as caught:
        read_base_url(value, **GH)
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_a_404_on_the_first_request_becomes_a_config_error_naming_both_urls():
    base = read_base_url("https://harvest.greenhouse.io/api", **GH)
    with pytest.raises(ConfigError) as caught, base.first_request(base.join("/v3/jobs")):
        raise AtsError("GET /v3/jobs: HTTP 404: not found", status_code=404)
    assert str(caught.value) == (
        "config.base_url: https://harvest.greenhouse.io/api/v3/jobs answered HTTP 404, so "
        "'https://harvest.greenhouse.io/api' is not the API's base URL; expected "
        "https://harvest.greenhouse.io/v3 (as the vendor documents it; the version segment "
        "may be left out)"
    )


@pytest.mark.parametrize(
    "error",
    [AtsError("HTTP 422", status_code=422), AuthError("HTTP 404?", status_code=404)],
)
def test_other_errors_pass_through_the_first_request(error):
    base = read_base_url(None, **GH)
    with pytest.raises(type(error)) as caught, base.first_request("https://x/v3/jobs"):
        raise error
    assert caught.value is error
