"""The Lever API v1 client: auth, paging and the endpoints the hooks need.

Everything goes through the SDK ``HttpClient`` (pacing under Lever's limit, retries,
redaction, error mapping); this module only knows Lever's paths, parameters and bodies.
Reads are paged with Lever's ``limit`` + ``offset`` token; writes carry ``perform_as``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

import attrs
import httpx
from atsbridge.errors import AtsError, ConfigError, PayloadError
from atsbridge.model import Attachment, RateLimit
from atsbridge_sdk.auth import BasicAuth, OAuth2RefreshToken
from atsbridge_sdk.baseurl import BaseUrl, read_base_url
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.http import HttpClient, HttpEvent, RateLimiter, RetryPolicy, json_body
from atsbridge_sdk.paginate import OffsetTokenPaginator, fetch_page, iter_pages

from atsbridge_lever import mapping, unconfirmed

log = logging.getLogger("atsbridge.lever")
API_VERSION = "/v1"
DEFAULT_BASE_URL = "https://api.lever.co/v1"
SANDBOX_BASE_URL = "https://api.sandbox.lever.co/v1"
DEFAULT_TOKEN_URL = "https://auth.lever.co/oauth/token"
MAX_PAGE = 100


def read_lever_base(value: object) -> BaseUrl:
    """``config.base_url`` as documented (``https://api.lever.co/v1``), ``/v1`` optional."""
    return read_base_url(value, default=DEFAULT_BASE_URL, tail=re.escape(API_VERSION))


@attrs.frozen
class LeverConfig:
    """A connection config, read once so every later use is typed and present."""

    auth_method: str
    base_url: str
    api_key: str | None = attrs.field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    token_url: str = DEFAULT_TOKEN_URL
    perform_as: str | None = None
    base: BaseUrl | None = attrs.field(default=None, repr=False, eq=False)  # as configured

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> LeverConfig:
        """Check what the hooks rely on; the core has already applied the JSON Schema."""
        if not isinstance(config, Mapping):
            raise ConfigError(["config: must be an object"])
        problems: list[str] = []

        def text(name: str, required: bool = False) -> str | None:
            value = config.get(name)
            if value is None or value == "":
                if required:
                    problems.append(f"config.{name}: required")
                return None
            if not isinstance(value, str):
                problems.append(f"config.{name}: must be a string")
                return None
            return value

        method = text("auth_method") or "api_key"
        if method not in ("api_key", "oauth2"):
            problems.append('config.auth_method: must be one of: "api_key", "oauth2"')
        oauth = method == "oauth2"
        try:
            base = read_lever_base(text("base_url"))
        except ConfigError as exc:
            problems.extend(exc.problems)
            base = read_lever_base(None)
        out = cls(
            auth_method=method,
            base_url=base.root + API_VERSION,
            base=base,
            api_key=text("api_key", required=not oauth),
            client_id=text("client_id", required=oauth),
            client_secret=text("client_secret", required=oauth),
            refresh_token=text("refresh_token", required=oauth),
            token_url=text("token_url") or DEFAULT_TOKEN_URL,
            perform_as=text("perform_as"),
        )
        if problems:
            raise ConfigError(problems)
        return out


def make_auth(
    config: LeverConfig,
    on_rotate: Callable[[str], None] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> httpx.Auth:
    if config.auth_method == "oauth2":
        assert config.client_id and config.client_secret and config.refresh_token
        return OAuth2RefreshToken(
            config.token_url,
            config.client_id,
            config.client_secret,
            config.refresh_token,
            on_rotate=on_rotate,
            clock=clock,
        )
    assert config.api_key
    # Lever: the API key is the Basic user name and the password is empty.
    return BasicAuth(config.api_key, "")


def _segment(value: str) -> str:
    return quote(value, safe="")


class LeverClient:
    """One connection's Lever API. Caches stage names and archive reasons per session."""

    def __init__(
        self,
        config: LeverConfig,
        *,
        on_rotate: Callable[[str], None] | None = None,
        on_event: Callable[[HttpEvent], None] | None = None,
        rate_limit: RateLimit | None = None,
        retry: RetryPolicy = RetryPolicy(),
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | None = None,
    ):
        self.config = config
        self.auth = make_auth(config, on_rotate, clock)
        self.http = HttpClient(
            config.base_url,
            auth=self.auth,
            rate_limit=rate_limit or unconfirmed.RATE_LIMIT,
            retry=retry,
            secrets=(config.api_key, config.client_secret, config.refresh_token),
            on_event=on_event,
            clock=clock,
            transport=transport,
        )
        # Lever caps opportunity creation separately (2/s); this keeps our creates under it
        # whatever else the connection is doing.
        self._create_pacer = RateLimiter(
            RateLimit(unconfirmed.APPLICATION_POSTS_PER_SECOND, 1, 1), clock
        )
        self._stages: dict[str, str] | None = None
        self._reasons: dict[str, mapping.ArchiveReason] | None = None
        self._single_posting_reads = True  # until GET /postings/{id} proves absent
        # Whether the key may see confidential postings and opportunities: decided by the
        # probe, and then every listing asks for all of them (Lever's default leaves them out).
        self.sees_confidential = False

    def close(self) -> None:
        self.http.close()

    # -- paging ------------------------------------------------------------------------------

    def page(
        self, path: str, params: Mapping[str, Any], cursor: str | None
    ) -> tuple[list[dict], str | None]:
        """One page of a Lever list: its items and the ``next`` token (None at the end)."""
        paginator = OffsetTokenPaginator(path, dict(params))
        response, next_token = fetch_page(self.http, paginator, cursor)
        return mapping.page_data(_json(response, f"GET {path}"), f"GET {path}"), next_token

    def all_items(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict]:
        paginator = OffsetTokenPaginator(path, {"limit": MAX_PAGE, **(params or {})})
        out: list[dict] = []
        for response, _ in iter_pages(self.http, paginator):
            out.extend(mapping.page_data(_json(response, f"GET {path}"), f"GET {path}"))
        return out

    # -- reads ---------------------------------------------------------------------------------

    def probe(self) -> None:
        """The cheapest authenticated read: one posting (a 404: a wrong base URL).

        It asks for every confidentiality first; a key refused that (403, or a 400 from an
        API that does not take ``all``) is proven with the default listing instead, and the
        session goes on without confidential records, saying so in a warning.
        """
        base = self.config.base or read_lever_base(self.config.base_url)
        with base.first_request(self.config.base_url + "/postings"):
            try:
                self.page("/postings", {"limit": 1, **unconfirmed.ALL_CONFIDENTIALITY}, None)
            except AtsError as exc:
                if exc.status_code not in unconfirmed.CONFIDENTIAL_REFUSALS:
                    raise
                self.page("/postings", {"limit": 1}, None)  # its AuthError says what to fix
                self.sees_confidential = False
                log.warning(
                    "%s: Lever refused confidential postings to this %s (HTTP %s): confidential "
                    "postings and their candidates are NOT synced, imported or on the "
                    "do-not-source list. %s",
                    self.config.base_url,
                    "OAuth2 app" if self.config.auth_method == "oauth2" else "API key",
                    exc.status_code,
                    unconfirmed.CONFIDENTIAL_HINT,
                )
            else:
                self.sees_confidential = True

    def visibility(self) -> dict[str, str]:
        """The listing parameter that includes confidential records, when the key may."""
        return dict(unconfirmed.ALL_CONFIDENTIALITY) if self.sees_confidential else {}

    def postings(
        self, params: Mapping[str, Any], cursor: str | None
    ) -> tuple[list[dict], str | None]:
        return self.page("/postings", {**params, **self.visibility()}, cursor)

    def postings_by_id(self, posting_ids: Iterable[str]) -> dict[str, dict]:
        """The postings among ``posting_ids`` that exist; absent ids are simply missing.

        Each is read with ``GET /postings/{id}``, which the notes do not list; an id that
        read does not settle is looked up in one scan of the documented ``GET /postings``
        (no filter: every state), so an API without the single read costs a scan, not a
        wrong "deleted" (``unconfirmed.SINGLE_POSTING_REFUSALS``).
        """
        wanted = list(dict.fromkeys(posting_ids))
        found: dict[str, dict] = {}
        unsettled: list[str] = []
        for posting_id in wanted:
            posting = self._single_posting(posting_id) if self._single_posting_reads else None
            if posting is None:
                unsettled.append(posting_id)
            else:
                found[posting_id] = posting
        if unsettled:
            scanned = self._scan_postings(set(unsettled))
            if scanned and self._single_posting_reads:
                log.warning("GET /postings/{id} misses postings the list holds; not using it")
                self._single_posting_reads = False
            found.update(scanned)
        return found

    def _single_posting(self, posting_id: str) -> dict | None:
        path = f"/postings/{_segment(posting_id)}"
        response = self.http.get(path, accept=unconfirmed.SINGLE_POSTING_REFUSALS)
        if response.status_code == 405:
            self._single_posting_reads = False
        if response.status_code >= 400:
            return None
        try:
            posting = mapping.single_data(_json(response, f"GET {path}"), f"GET {path}")
        except PayloadError:
            return None  # not the {"data": {...}} we expect: let the list settle it
        return posting if posting.get("id") == posting_id else None

    def _scan_postings(self, ids: set[str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        paginator = OffsetTokenPaginator("/postings", {"limit": MAX_PAGE, **self.visibility()})
        for response, _ in iter_pages(self.http, paginator):
            for posting in mapping.page_data(_json(response, "GET /postings"), "GET /postings"):
                if posting.get("id") in ids:
                    found[posting["id"]] = posting
            if len(found) == len(ids):
                break  # every id settled: the rest of the list is not needed
        return found

    def opportunities(
        self, params: Mapping[str, Any], cursor: str | None
    ) -> tuple[list[dict], str | None]:
        return self.page("/opportunities", {**params, **self.visibility()}, cursor)

    def stages(self, *, refresh: bool = False) -> dict[str, str]:
        if self._stages is None or refresh:
            self._stages = mapping.parse_stages(self.all_items("/stages"))
        return self._stages

    def archive_reasons(self, *, refresh: bool = False) -> dict[str, mapping.ArchiveReason]:
        if self._reasons is None or refresh:
            self._reasons = mapping.parse_archive_reasons(self.all_items("/archive_reasons"))
        return self._reasons

    def names_for(self, items: Iterable[dict]) -> tuple[dict[str, str], dict]:
        """Stage names and archive reasons covering ``items``, fetched only when needed.

        Each list is loaded once per session and reloaded once if a page names an id it
        does not know (an admin added a stage or reason meanwhile).
        """
        items = list(items)
        stage_ids = mapping.stage_ids_of(items)
        reason_ids = mapping.archive_reason_ids_of(items)
        stages: dict[str, str] = {}
        reasons: dict[str, mapping.ArchiveReason] = {}
        if stage_ids:
            stages = self.stages()
            if not stage_ids <= stages.keys():
                stages = self.stages(refresh=True)
        if reason_ids:
            reasons = self.archive_reasons()
            if not reason_ids <= reasons.keys():
                reasons = self.archive_reasons(refresh=True)
        return stages, reasons

    def opportunities_on_posting(self, emails: Iterable[str], posting_id: str) -> list[dict]:
        """Opportunities of anyone with one of ``emails`` on ``posting_id``, live or archived.

        A repeated ``email`` parameter is an OR in Lever; ``posting_id`` only matches live
        opportunities, so archived ones (rejected, hired) need ``archived_posting_id``.
        """
        emails = list(dict.fromkeys(emails))
        if not emails:
            return []
        found: list[dict] = []
        for key in ("posting_id", "archived_posting_id"):
            params = {"email": emails, key: posting_id, "expand": "stage", **self.visibility()}
            found.extend(self.all_items("/opportunities", params))
            if found:
                break
        return found

    def note_texts(self, opportunity_id: str) -> list[str] | None:
        """Texts of the opportunity's notes; None when they cannot be listed."""
        path = f"/opportunities/{_segment(opportunity_id)}/notes"
        try:
            items = self._unlisted_items(path)
            return None if items is None else mapping.note_texts(items)
        except PayloadError as exc:
            log.warning("%s is not the list we expect (%s)", path, exc)
            return None

    def file_names(self, opportunity_id: str) -> set[str] | None:
        """Names of the opportunity's files; None when they cannot be listed."""
        path = f"/opportunities/{_segment(opportunity_id)}/files"
        try:
            items = self._unlisted_items(path)
            return None if items is None else mapping.file_names(items)
        except PayloadError as exc:
            log.warning("%s is not the list we expect (%s)", path, exc)
            return None

    def _unlisted_items(self, path: str) -> list[dict] | None:
        """Every item of a list the notes do not show; None if it is refused."""
        out: list[dict] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": MAX_PAGE}
            if token is not None:
                params["offset"] = token
            response = self.http.get(path, params=params, accept=unconfirmed.UNLISTED_READ_REFUSALS)
            if response.status_code >= 400:
                log.warning("%s answered HTTP %s; doing without", path, response.status_code)
                return None
            body = _json(response, f"GET {path}")
            out.extend(mapping.page_data(body, f"GET {path}"))
            token = str(body["next"]) if body.get("hasNext") and body.get("next") else None
            if token is None:
                return out

    # -- writes (never retried by the client; the push is idempotent by look-up) ---------------

    def require_perform_as(self) -> dict[str, str]:
        if not self.config.perform_as:
            raise ConfigError(
                [
                    "config.perform_as: required to push leads (the id of the Lever user "
                    "new opportunities, notes and files are created as)"
                ]
            )
        return {"perform_as": self.config.perform_as}

    def create_opportunity(self, body: dict) -> dict:
        params = self.require_perform_as()
        self._create_pacer.acquire()
        try:
            response = self.http.post("/opportunities", params=params, json=body)
        finally:
            self._create_pacer.release()
        return mapping.single_data(_json(response, "POST /opportunities"), "POST /opportunities")

    def add_note(self, opportunity_id: str, text: str) -> None:
        path = f"/opportunities/{_segment(opportunity_id)}/notes"
        self.http.post(
            path, params=self.require_perform_as(), json={unconfirmed.NOTE_VALUE_KEY: text}
        )

    def upload_file(self, opportunity_id: str, attachment: Attachment) -> None:
        path = f"/opportunities/{_segment(opportunity_id)}/files"
        file = (attachment.filename, attachment.content, attachment.content_type)
        self.http.post(path, params=self.require_perform_as(), files={unconfirmed.FILE_FIELD: file})


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return json_body(response)
    except ValueError:
        raise PayloadError(what, "(body)", "response is not JSON") from None
