"""The inbound-webhook part of the plugin contract: models, error, hook signatures."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import attrs
import pytest
from atsbridge import hookspecs
from atsbridge.errors import AtsbridgeError, WebhookRefused
from atsbridge.hookspecs import hookimpl
from atsbridge.model import (
    Capability,
    PluginInfo,
    WebhookDelivery,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
    WebhookSubscription,
)
from atsbridge.plugins import PluginRegistry
from fakeats import FakeAts

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_request_copies_headers_and_hides_body_and_secrets_from_repr() -> None:
    headers = {"signature": "sha256 ab"}
    request = WebhookRequest(
        headers=headers, body=b'{"x": 1}', received_at=NOW, secrets=["s3cret-value"]
    )
    headers["signature"] = "changed"
    assert request.headers == {"signature": "sha256 ab"}
    assert request.secrets == ("s3cret-value",)
    assert "s3cret-value" not in repr(request) and '{"x": 1}' not in repr(request)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        request.body = b""  # type: ignore[misc]


def test_delivery_defaults_are_a_plain_200_ping() -> None:
    ping = WebhookDelivery(delivery_id="d1")
    assert (ping.events, ping.response_status, dict(ping.response_headers)) == ((), 200, {})
    merged = WebhookEvent(
        kind=WebhookEventKind.CANDIDATE_MERGED, candidate_ats_id="c1", merged_into="c2"
    )
    delivery = WebhookDelivery(delivery_id="d2", events=[merged], response_status=202)
    assert delivery.events == (merged,) and WebhookEventKind("candidate_merged") is merged.kind
    assert "k3y" not in repr(WebhookSubscription(secret="k3y", external_id="sub-1"))


def test_refusal_is_an_atsbridge_error() -> None:
    assert issubclass(WebhookRefused, AtsbridgeError)


def test_capability_and_setup_steps_field() -> None:
    assert Capability("webhooks") is Capability.WEBHOOKS
    info = FakeAts().atsbridge_plugin_info()
    assert info.webhook_setup == ""
    with_steps = attrs.evolve(info, webhook_setup="Tick *Job updated*.")
    assert isinstance(with_steps, PluginInfo) and with_steps.webhook_setup.startswith("Tick")


def test_webhook_hooks_are_optional_ats_hooks_with_full_docstrings() -> None:
    for name in hookspecs.WEBHOOK_HOOKS:
        assert name not in hookspecs.REQUIRED_HOOKS
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        for part in ("Returns", "Raises", "Called by", "Threads"):
            assert part in doc, f"{name}'s docstring lacks {part}"
    params = {
        n: list(inspect.signature(getattr(hookspecs, n)).parameters)
        for n in hookspecs.WEBHOOK_HOOKS
    }
    assert params == {
        "atsbridge_webhook_receive": ["request"],
        "atsbridge_webhook_subscribe": ["session", "callback_url"],
        "atsbridge_read_candidate": ["session", "candidate_ats_id"],
    }


class _Pushing(FakeAts):
    @hookimpl
    def atsbridge_webhook_receive(self, request: WebhookRequest) -> WebhookDelivery:
        if request.secrets != ("k",):
            raise WebhookRefused("signature does not match")
        return WebhookDelivery(delivery_id="d1")

    @hookimpl
    def atsbridge_read_candidate(self, session: object, candidate_ats_id: str) -> tuple:
        return ()


class _WrongSignature(FakeAts):
    @hookimpl
    def atsbridge_webhook_receive(self, request: object, secret: str) -> None:
        return None


def test_a_plugin_implementing_the_hooks_registers_and_a_wrong_signature_does_not() -> None:
    registry = PluginRegistry()
    registry.register(_Pushing("pushing"), name="pushing")
    registry.register(_WrongSignature("wrong"), name="wrong")
    assert "pushing" in registry.plugins and "wrong" not in registry.plugins
    failure = next(s for s in registry.statuses if s.name == "wrong")
    assert failure.error and "signature mismatch" in failure.error
    request = WebhookRequest(headers={}, body=b"", received_at=NOW, secrets=("bad",))
    with pytest.raises(WebhookRefused):
        registry.get("pushing").call("atsbridge_webhook_receive", request=request)
