"""Authenticators: httpx ``Auth`` classes for the credential styles ATSs use.

OAuth2 authenticators fetch tokens ahead of expiry, refresh one at a time per connection
(single-flight: concurrent requests wait for the one refresh), retry a request once after a
401 with a fresh token, and hand a rotated refresh token to ``on_rotate`` so it is written
back to the connection's encrypted config.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable, Generator
from datetime import datetime
from typing import Any

import httpx
from atsbridge.errors import AtsUnavailable, AuthError

from atsbridge_sdk.bounded import bounded_transport, read_capped, request_deadline
from atsbridge_sdk.clock import SYSTEM_CLOCK, Clock
from atsbridge_sdk.http import refused_connection, refused_is_final
from atsbridge_sdk.redact import redact, register_secret


class ApiKeyHeader(httpx.Auth):
    """A static key in a header (``X-SmartToken: <key>``)."""

    def __init__(self, header: str, key: str, prefix: str = ""):
        register_secret(key)
        self._header = header
        self._value = f"{prefix}{key}"

    def __repr__(self) -> str:
        return f"ApiKeyHeader({self._header!r}, ***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._value
        yield request


class BasicAuth(httpx.Auth):
    """HTTP Basic; with an empty password this is the "API key as user" style."""

    def __init__(self, username: str, password: str = ""):
        register_secret(username, password)
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        register_secret(token)
        self._header = f"Basic {token}"

    def __repr__(self) -> str:
        return "BasicAuth(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._header
        yield request


class _OAuth2(httpx.Auth):
    """Shared token handling: expiry tracking, single-flight refresh, one retry on 401."""

    refresh_margin = 60.0  # refresh this many seconds before expiry
    token_attempts = 3
    max_token_bytes = 1024 * 1024
    token_deadline = 60.0  # one token request in all, connect to last byte

    def __init__(
        self,
        token_url: str,
        *,
        clock: Clock = SYSTEM_CLOCK,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ):
        self.token_url = token_url
        self.clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._token_http = httpx.Client(
            timeout=timeout, transport=transport if transport is not None else bounded_transport()
        )
        self.refreshes = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.token_url!r}, ***)"

    def close(self) -> None:
        self._token_http.close()

    # Subclasses say how to ask for a token.
    def _token_request(self) -> tuple[dict[str, str], dict[str, str]]:
        raise NotImplementedError

    def _on_token_response(self, payload: dict[str, Any]) -> None:
        """Hook for grants whose response carries more than the access token."""

    def token(self, *, stale: str | None = None) -> str:
        """A valid access token. ``stale`` is a token the server just refused."""
        with self._lock:
            fresh = self._token is not None and self.clock.monotonic() < self._expires_at
            if fresh and self._token != stale:
                return self._token  # type: ignore[return-value]
            self._fetch()
            return self._token  # type: ignore[return-value]

    def _fetch(self) -> None:
        form, headers = self._token_request()
        response = self._post_token_request(form, headers)
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code >= 400 or not isinstance(payload, dict):
            detail = ""
            if isinstance(payload, dict):
                detail = str(payload.get("error_description") or payload.get("error") or "")
            raise AuthError(
                redact(
                    f"token endpoint refused the credentials: HTTP {response.status_code} "
                    f"{detail}".strip()
                ),
                status_code=response.status_code,
            )
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise AuthError("token endpoint answered without an access_token")
        register_secret(access)
        self._token = access
        lifetime = self._lifetime(payload)
        # A short-lived token is refreshed at half its life, not re-fetched on every request.
        margin = min(self.refresh_margin, lifetime / 2)
        self._expires_at = self.clock.monotonic() + lifetime - margin
        self.refreshes += 1
        self._on_token_response(payload)

    def _post_token_request(self, form: dict[str, str], headers: dict[str, str]) -> httpx.Response:
        """POST the grant; a flaky token endpoint gets a few quick retries before giving up."""
        reason = ""
        for attempt in range(1, self.token_attempts + 1):
            try:
                # A token answer is small: a hostile endpoint may neither flood nor trickle.
                with (
                    request_deadline(self.token_deadline),
                    self._token_http.stream(
                        "POST", self.token_url, data=form, headers=headers
                    ) as response,
                ):
                    read_capped(response, self.max_token_bytes, what="token endpoint")
            except httpx.TransportError as exc:
                reason = type(exc).__name__
                if isinstance(exc, httpx.ConnectError) and refused_connection(exc):
                    reason = "connection refused"
                    if refused_is_final():
                        raise AtsUnavailable(
                            f"token endpoint {self.token_url}: {reason} after {attempt} attempt(s)"
                        ) from None
            else:
                if response.status_code < 500 and response.status_code != 429:
                    return response
                reason = f"HTTP {response.status_code}"
            if attempt < self.token_attempts:
                self.clock.sleep(0.2 * attempt)
        raise AtsUnavailable(
            f"token endpoint {self.token_url}: {reason} after {self.token_attempts} attempt(s)"
        )

    def _lifetime(self, payload: dict[str, Any]) -> float:
        expires_in = payload.get("expires_in")
        if isinstance(expires_in, int | float) and expires_in > 0:
            return float(expires_in)
        expires_at = payload.get("expires_at")
        if isinstance(expires_at, str):
            try:
                when = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
                remaining = (when - self.clock.now()).total_seconds()
                if remaining > 0:
                    return remaining
            except ValueError:
                pass
        return 3600.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request


class OAuth2ClientCredentials(_OAuth2):
    """Client-credentials grant. ``client_auth`` is ``basic`` (HTTP Basic) or ``body``."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        extra: dict[str, str] | None = None,
        client_auth: str = "basic",
        **kw: Any,
    ):
        super().__init__(token_url, **kw)
        register_secret(client_secret)
        self._client_id = client_id
        self._client_secret = client_secret
        self._extra = extra or {}
        self._client_auth = client_auth

    def _token_request(self) -> tuple[dict[str, str], dict[str, str]]:
        form = {"grant_type": "client_credentials", **self._extra}
        headers: dict[str, str] = {}
        if self._client_auth == "basic":
            raw = f"{self._client_id}:{self._client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        else:
            form.update(client_id=self._client_id, client_secret=self._client_secret)
        return form, headers


class OAuth2RefreshToken(_OAuth2):
    """Refresh-token grant; a rotated refresh token is kept and handed to ``on_rotate``."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        on_rotate: Callable[[str], None] | None = None,
        **kw: Any,
    ):
        super().__init__(token_url, **kw)
        register_secret(client_secret, refresh_token)
        self._client_id = client_id
        self._client_secret = client_secret
        self.refresh_token = refresh_token
        self._on_rotate = on_rotate

    def _token_request(self) -> tuple[dict[str, str], dict[str, str]]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.refresh_token,
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        return form, {}

    def _on_token_response(self, payload: dict[str, Any]) -> None:
        rotated = payload.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self.refresh_token:
            register_secret(rotated)
            self.refresh_token = rotated
            if self._on_rotate is not None:
                self._on_rotate(rotated)
