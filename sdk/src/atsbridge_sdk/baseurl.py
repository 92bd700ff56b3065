"""The one base-URL convention every plugin follows.

A connection's ``base_url`` is the API base **as the vendor documents it**, and the version
segment the documentation ends it with is optional: ``https://harvest.greenhouse.io/v3`` and
``https://harvest.greenhouse.io`` name the same Greenhouse API, ``https://api.lever.co/v1``
and ``https://api.lever.co`` the same Lever API. A customer-success person pastes whichever
the vendor's page shows, and the plugin appends the segments it needs itself.

``read_base_url`` validates the value (absolute http(s); plain http only for loopback),
strips the optional tail (a regex the plugin gives, e.g. ``/v3``) and keeps what the tail
matched. ``BaseUrl.first_request`` turns a 404 on the session's first request (the
credential probe) into a ``ConfigError`` naming the URL tried and the base URL expected,
instead of a bare "HTTP 404".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import attrs
from atsbridge.config import url_problem
from atsbridge.errors import AtsError, AuthError, ConfigError

__all__ = ["BaseUrl", "read_base_url"]


@attrs.frozen
class BaseUrl:
    """A configured API base: ``root`` without the optional tail, and what the tail held."""

    root: str  # scheme://host[:port][/path], no trailing slash, tail removed
    given: str  # the value as configured (or the default)
    documented: str  # the base URL the vendor documents, for messages
    tail: dict[str, str] = attrs.field(factory=dict)  # named groups the tail matched
    field: str = "base_url"

    def join(self, path: str) -> str:
        """``root`` followed by ``path`` (which starts with ``/``)."""
        return self.root + path

    def not_found(self, tried: str) -> ConfigError:
        """The error for a 404 on ``tried``: the base URL is not the API's."""
        return ConfigError(
            [
                f"config.{self.field}: {tried} answered HTTP 404, so {self.given!r} is not "
                f"the API's base URL; expected {self.documented} (as the vendor documents "
                "it; the version segment may be left out)"
            ]
        )

    @contextmanager
    def first_request(self, tried: str) -> Iterator[None]:
        """Around the session's first request to ``tried``: a 404 means a wrong base URL."""
        try:
            yield
        except AuthError:
            raise
        except AtsError as exc:
            if exc.status_code == 404:
                raise self.not_found(tried) from None
            raise


def read_base_url(
    value: object,
    *,
    default: str,
    documented: str | None = None,
    tail: str | None = None,
    field: str = "base_url",
) -> BaseUrl:
    """Read a configured base URL under the convention above.

    ``default`` is used when ``value`` is None or empty; ``documented`` (default: ``default``)
    is the spelling the vendor documents, named in error messages. ``tail`` is a regular
    expression for the optional end of the path (``r"/v3"``, or with named groups such as
    ``r"/Recruiting(?:/(?P<version>v\\d+\\.\\d))?"``); it is removed when present and its
    named groups are kept in ``BaseUrl.tail``.

    Raises ``ConfigError`` (one line naming ``config.<field>``) for a value that is not a
    string, not an absolute http(s) URL, plain http to a non-loopback host, or carries a
    query or fragment.
    """
    raw = default if value is None or value == "" else value
    if not isinstance(raw, str):
        raise ConfigError([f"config.{field}: must be a string URL"])
    given = raw.strip()
    reason = url_problem(given)
    if reason:
        raise ConfigError([f"config.{field}: {reason}"])
    if "?" in given or "#" in given:
        raise ConfigError([f"config.{field}: must not carry a query or fragment ({given!r})"])
    root = given.rstrip("/")
    groups: dict[str, str] = {}
    if tail:
        match = re.search(f"(?:{tail})$", root)
        if match:
            root = root[: match.start()]
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
    return BaseUrl(
        root=root, given=given, documented=documented or default, tail=groups, field=field
    )
