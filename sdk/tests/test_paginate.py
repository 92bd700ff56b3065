"""Paginators: each style pages to the end, and resumes from a checkpointed cursor."""

from __future__ import annotations

import re

import httpx
import pytest
from atsbridge.errors import PayloadError
from atsbridge.model import RateLimit
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.http import HttpClient, json_body
from atsbridge_sdk.paginate import (
    CursorPaginator,
    LinkHeaderPaginator,
    OffsetLimitPaginator,
    OffsetTokenPaginator,
    PageNumberPaginator,
    SoapPagePaginator,
    fetch_page,
    iter_pages,
)

ITEMS = list(range(1, 12))  # 11 items, pages of 3 -> 4 pages
SIZE = 3


def chunk(start: int) -> list[int]:
    return ITEMS[start : start + SIZE]


def link_server(request: httpx.Request) -> httpx.Response:
    params = dict(request.url.params)
    if "cursor" in params and len(params) > 1:
        return httpx.Response(400, json={"message": "cursor must be the only parameter"})
    start = int(params.get("cursor", 0))
    headers = {}
    if start + SIZE < len(ITEMS):
        headers["Link"] = f'<https://ats.test/jobs?cursor={start + SIZE}>; rel="next"'
    return httpx.Response(200, json=chunk(start), headers=headers)


def offset_token_server(request: httpx.Request) -> httpx.Response:
    start = int(request.url.params.get("offset", "0").removeprefix("t"))
    more = start + SIZE < len(ITEMS)
    return httpx.Response(
        200, json={"data": chunk(start), "hasNext": more, "next": f"t{start + SIZE}"}
    )


def cursor_server(request: httpx.Request) -> httpx.Response:
    start = int(request.url.params.get("pageId", 0))
    nxt = str(start + SIZE) if start + SIZE < len(ITEMS) else None
    return httpx.Response(200, json={"content": chunk(start), "nextPageId": nxt})


def offset_limit_server(request: httpx.Request) -> httpx.Response:
    start = int(request.url.params["offset"])
    limit = int(request.url.params["limit"])
    return httpx.Response(
        200, json={"content": ITEMS[start : start + limit], "totalFound": len(ITEMS)}
    )


def page_number_server(request: httpx.Request) -> httpx.Response:
    page = int(request.url.params["page"])
    per = int(request.url.params["per_page"])
    return httpx.Response(200, json=ITEMS[(page - 1) * per : page * per])


def soap_server(request: httpx.Request) -> httpx.Response:
    page = int(re.search(rb"<Page>(\d+)</Page>", request.content).group(1))
    total = -(-len(ITEMS) // SIZE)
    items = "".join(f"<i>{i}</i>" for i in chunk((page - 1) * SIZE))
    return httpx.Response(
        200, text=f"<r><Page>{page}</Page><Total_Pages>{total}</Total_Pages>{items}</r>"
    )


def soap_items(response: httpx.Response) -> list[int]:
    return [int(x) for x in re.findall(r"<i>(\d+)</i>", response.text)]


def soap_pages(response: httpx.Response) -> tuple[int, int]:
    page = int(re.search(r"<Page>(\d+)</Page>", response.text).group(1))
    total = int(re.search(r"<Total_Pages>(\d+)</Total_Pages>", response.text).group(1))
    return page, total


STYLES = {
    "link": (
        link_server,
        LinkHeaderPaginator("/jobs", {"per_page": SIZE}),
        lambda r: r.json(),
    ),
    "offset_token": (
        offset_token_server,
        OffsetTokenPaginator("/postings"),
        lambda r: r.json()["data"],
    ),
    "cursor": (cursor_server, CursorPaginator("/jobs"), lambda r: r.json()["content"]),
    "offset_limit": (
        offset_limit_server,
        OffsetLimitPaginator("/jobs", limit=SIZE),
        lambda r: r.json()["content"],
    ),
    "page_number": (
        page_number_server,
        PageNumberPaginator("/jobs", items=lambda r: r.json(), per_page=SIZE),
        lambda r: r.json(),
    ),
    "soap": (
        soap_server,
        SoapPagePaginator("/ws", envelope=lambda p: f"<Page>{p}</Page>".encode(), pages=soap_pages),
        soap_items,
    ),
}


class Counting:
    def __init__(self, handler):
        self.handler = handler
        self.calls = 0

    def __call__(self, request):
        self.calls += 1
        return self.handler(request)


def client_for(server) -> HttpClient:
    return HttpClient(
        "https://ats.test",
        transport=httpx.MockTransport(server),
        clock=FakeClock(),
        rate_limit=RateLimit(requests_per_second=1000, burst=1000),
    )


@pytest.mark.parametrize("style", STYLES)
def test_pages_through_everything(style):
    handler, paginator, items = STYLES[style]
    server = Counting(handler)
    got = [i for response, _ in iter_pages(client_for(server), paginator) for i in items(response)]
    assert got == ITEMS
    assert server.calls == 4


@pytest.mark.parametrize("style", STYLES)
def test_resume_from_checkpoint_fetches_only_the_rest(style):
    handler, paginator, items = STYLES[style]
    client = client_for(handler)
    _, checkpoint = fetch_page(client, paginator, None)
    _, checkpoint = fetch_page(client, paginator, checkpoint)
    assert checkpoint is not None  # two pages done, a crash here, resume from the checkpoint

    server = Counting(handler)
    rest = [i for r, _ in iter_pages(client_for(server), paginator, checkpoint) for i in items(r)]
    assert rest == ITEMS[2 * SIZE :]
    assert server.calls == 2


def test_page_number_with_total_pages():
    paginator = PageNumberPaginator(
        "/jobs", items=lambda r: r.json(), per_page=SIZE, total_pages=lambda r: 2
    )
    pages = list(iter_pages(client_for(page_number_server), paginator))
    assert len(pages) == 2


def test_cursor_paginator_stops_on_an_empty_page_with_a_next_id():
    server = lambda r: httpx.Response(200, json={"content": [], "nextPageId": "again"})  # noqa: E731
    assert len(list(iter_pages(client_for(server), CursorPaginator("/jobs")))) == 1


def test_non_json_body_is_a_payload_error_naming_the_path():
    server = lambda r: httpx.Response(200, text="<html>")  # noqa: E731
    with pytest.raises(PayloadError, match="/postings: field \\(body\\): response is not JSON"):
        fetch_page(client_for(server), OffsetTokenPaginator("/postings"))
    server = lambda r: httpx.Response(200, json=[1])  # noqa: E731
    with pytest.raises(PayloadError, match="expected an object, got list"):
        fetch_page(client_for(server), OffsetTokenPaginator("/postings"))


def test_soap_reads_are_marked_safe_to_retry():
    calls = []

    def flaky(request):
        calls.append(1)
        return httpx.Response(503) if len(calls) == 1 else soap_server(request)

    paginator = SoapPagePaginator("/ws", envelope=lambda p: b"<Page>1</Page>", pages=soap_pages)
    response, _ = fetch_page(client_for(flaky), paginator)
    assert soap_items(response) == [1, 2, 3]
    assert len(calls) == 2


def test_a_page_body_is_decoded_once_for_paginator_and_mapper(monkeypatch):
    decodes = []
    real_json = httpx.Response.json

    def counting_json(self, **kwargs):
        decodes.append(self.request.url.path)
        return real_json(self, **kwargs)

    monkeypatch.setattr(httpx.Response, "json", counting_json)
    response = httpx.Response(
        200, json={"content": [{"id": 1}], "nextPageId": "p2"}, request=httpx.Request("GET", "/x")
    )
    assert CursorPaginator("/x").next_cursor(response, None) == "p2"
    assert json_body(response) is json_body(response)
    assert json_body(response)["content"] == [{"id": 1}]
    assert decodes == ["/x"]


def test_json_body_of_a_non_json_response_raises_every_time():
    response = httpx.Response(200, content=b"<html>", request=httpx.Request("GET", "/x"))
    for _ in range(2):
        with pytest.raises(ValueError):
            json_body(response)
