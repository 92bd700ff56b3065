"""Paginators: how to ask for page N+1, for the paging styles ATSs use.

A paginator turns a cursor (None for the first page) into a request, and a response into
the next cursor (None after the last page). Cursors are plain strings so the core can
checkpoint them after every page and resume a killed sync exactly there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import attrs
import httpx
from atsbridge.errors import PayloadError

from atsbridge_sdk.http import HttpClient, json_body


@attrs.frozen
class PageRequest:
    method: str
    url: str
    params: Mapping[str, Any] | None = None
    content: bytes | None = None
    headers: Mapping[str, str] | None = None
    safe_to_retry: bool | None = None  # reads sent as POST (SOAP) are safe to repeat


class Paginator(Protocol):
    def request(self, cursor: str | None) -> PageRequest: ...
    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None: ...


def fetch_page(
    client: HttpClient, paginator: Paginator, cursor: str | None = None
) -> tuple[httpx.Response, str | None]:
    """Fetch the page at ``cursor``; return its response and the cursor of the next page."""
    req = paginator.request(cursor)
    kwargs: dict[str, Any] = {}
    if req.params is not None:
        kwargs["params"] = req.params
    if req.content is not None:
        kwargs["content"] = req.content
    if req.headers is not None:
        kwargs["headers"] = req.headers
    response = client.request(req.method, req.url, safe_to_retry=req.safe_to_retry, **kwargs)
    return response, paginator.next_cursor(response, cursor)


def iter_pages(
    client: HttpClient, paginator: Paginator, cursor: str | None = None
) -> Iterator[tuple[httpx.Response, str | None]]:
    """Lazily yield ``(response, next_cursor)`` from ``cursor`` (a checkpoint) to the end."""
    while True:
        response, cursor = fetch_page(client, paginator, cursor)
        yield response, cursor
        if cursor is None:
            return


def _json_object(response: httpx.Response, what: str) -> dict:
    try:
        body = json_body(response)
    except ValueError:
        raise PayloadError(what, "(body)", "response is not JSON") from None
    if not isinstance(body, dict):
        raise PayloadError(what, "(body)", f"expected an object, got {type(body).__name__}")
    return body


@attrs.frozen
class LinkHeaderPaginator:
    """``Link: <url>; rel="next"``; the next URL is followed exactly as given.

    Some APIs (Greenhouse Harvest v3) reject any parameter beside the cursor on follow-up
    requests, so filters go only on the first request.
    """

    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)

    def request(self, cursor: str | None) -> PageRequest:
        if cursor is None:
            return PageRequest("GET", self.path, dict(self.params))
        return PageRequest("GET", cursor)

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        link = response.links.get("next")
        return link.get("url") if link else None


@attrs.frozen
class OffsetTokenPaginator:
    """Body ``{data, hasNext, next}``; ``next`` goes back as the ``offset`` parameter."""

    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    token_param: str = "offset"
    next_key: str = "next"
    has_next_key: str = "hasNext"

    def request(self, cursor: str | None) -> PageRequest:
        params = dict(self.params)
        if cursor is not None:
            params[self.token_param] = cursor
        return PageRequest("GET", self.path, params)

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        body = _json_object(response, self.path)
        token = body.get(self.next_key)
        if not body.get(self.has_next_key) or not token:
            return None
        return str(token)


@attrs.frozen
class CursorPaginator:
    """An opaque next-page id in the body (``nextPageId``) sent back as a parameter."""

    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    cursor_param: str = "pageId"
    next_key: str = "nextPageId"
    items_key: str | None = "content"

    def request(self, cursor: str | None) -> PageRequest:
        params = dict(self.params)
        if cursor is not None:
            params[self.cursor_param] = cursor
        return PageRequest("GET", self.path, params)

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        body = _json_object(response, self.path)
        token = body.get(self.next_key)
        # An empty page with a next id would loop forever on a buggy server.
        if self.items_key is not None and not body.get(self.items_key):
            return None
        return str(token) if token else None


@attrs.frozen
class OffsetLimitPaginator:
    """Numeric ``offset``/``limit`` with a total count in the body (``totalFound``)."""

    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    limit: int = 100
    offset_param: str = "offset"
    limit_param: str = "limit"
    total_key: str = "totalFound"
    items_key: str = "content"

    def request(self, cursor: str | None) -> PageRequest:
        params = {**self.params, self.limit_param: self.limit, self.offset_param: int(cursor or 0)}
        return PageRequest("GET", self.path, params)

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        body = _json_object(response, self.path)
        items = body.get(self.items_key) or []
        offset = int(cursor or 0) + len(items)
        total = body.get(self.total_key)
        if not items or (isinstance(total, int) and offset >= total):
            return None
        return str(offset)


@attrs.frozen
class PageNumberPaginator:
    """``page``/``per_page`` numbers; stops on a short page or at a known page count."""

    path: str
    items: Callable[[httpx.Response], list]
    params: Mapping[str, Any] = attrs.field(factory=dict)
    per_page: int = 100
    page_param: str = "page"
    per_page_param: str = "per_page"
    first_page: int = 1
    total_pages: Callable[[httpx.Response], int | None] | None = None

    def request(self, cursor: str | None) -> PageRequest:
        page = int(cursor) if cursor is not None else self.first_page
        params = {**self.params, self.page_param: page, self.per_page_param: self.per_page}
        return PageRequest("GET", self.path, params)

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        page = int(cursor) if cursor is not None else self.first_page
        total = self.total_pages(response) if self.total_pages else None
        if total is not None:
            return str(page + 1) if page < total else None
        return str(page + 1) if len(self.items(response)) >= self.per_page else None


@attrs.frozen
class SoapPagePaginator:
    """SOAP paging: the page number goes into the envelope; the response says Total_Pages."""

    url: str
    envelope: Callable[[int], bytes]
    pages: Callable[[httpx.Response], tuple[int, int]]  # (this page, total pages)
    headers: Mapping[str, str] = attrs.field(
        factory=lambda: {"Content-Type": "text/xml; charset=utf-8"}
    )

    def request(self, cursor: str | None) -> PageRequest:
        page = int(cursor) if cursor is not None else 1
        return PageRequest(
            "POST", self.url, content=self.envelope(page), headers=self.headers, safe_to_retry=True
        )

    def next_cursor(self, response: httpx.Response, cursor: str | None) -> str | None:
        page, total = self.pages(response)
        return str(page + 1) if page < total else None
