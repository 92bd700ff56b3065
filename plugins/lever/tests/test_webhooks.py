"""Lever webhooks: the in-body signature, staleness, event mapping, malformed bodies, the
re-read of the opportunity, and the sandbox pushing signed deliveries with the knobs."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime

import attrs
import pytest
from atsbridge.errors import PayloadError, WebhookRefused
from atsbridge.model import (
    CandidateStatus,
    Capability,
    JobStatus,
    SessionContext,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
)
from atsbridge_lever import plugin, sandbox_webhooks
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.sandbox import make_person
from atsbridge_sdk.sandbox.webhooks import PluginReceiver

TOKEN_A, TOKEN_B = "sig-token-a", "sig-token-b"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MS = int(NOW.timestamp() * 1000)
K = WebhookEventKind


def body(event="candidateStageChange", *, key=TOKEN_A, token="evt-tok", at=MS, data=None, **over):
    # The signature written out by hand, so the test states the scheme.
    signature = hmac.new(key.encode(), f"{token}{at}".encode(), hashlib.sha256).hexdigest()
    doc = {
        "event": event,
        "triggeredAt": at,
        "token": token,
        "signature": signature,
        "data": data if data is not None else {"opportunityId": "opp-1", "contactId": "ct-1"},
    }
    doc.update(over)
    return doc


def new_person(key: int):
    return attrs.evolve(make_person(random.Random(key), key, NOW), status="new")


def receive(doc, *, secrets=(TOKEN_A, TOKEN_B), now=NOW):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    req = WebhookRequest(headers={}, body=raw, received_at=now, secrets=secrets)
    return plugin.atsbridge_webhook_receive(request=req)


def test_a_good_signature_is_accepted_and_keyed_on_the_token():
    got = receive(body(token="tok-9"))
    assert got.delivery_id == "tok-9" and got.response_status == 200
    assert got.occurred_at == NOW
    assert got.events == (
        WebhookEvent(K.CANDIDATE, candidate_ats_id="ct-1", application_id="opp-1"),
    )


def test_each_configured_signature_token_is_tried():
    assert receive(body(key=TOKEN_B)).delivery_id == "evt-tok"


def test_the_body_is_not_signed_so_only_the_token_and_time_matter():
    # Documented Lever behaviour: the data is a hint, which is why the core re-reads.
    doc = body(data={"opportunityId": "other", "contactId": "ct-2"})
    assert receive(doc).events[0].candidate_ats_id == "ct-2"


@pytest.mark.parametrize(
    "doc, reason",
    [
        (body(key="not-a-token"), "does not match"),
        (body(token="tok", signature=body(token="other")["signature"]), "does not match"),
        (body(at=MS + 1, signature=body()["signature"]), "does not match"),
        ({k: v for k, v in body().items() if k != "signature"}, "without a signature"),
        ({k: v for k, v in body().items() if k != "token"}, "without a token"),
        (body(triggeredAt="1"), "integer triggeredAt"),
        (b"not json", "not JSON"),
        (b"[1]", "not a JSON object"),
    ],
)
def test_bad_or_missing_signature_is_refused(doc, reason):
    with pytest.raises(WebhookRefused, match=reason):
        receive(doc)


def test_no_token_configured_refuses():
    with pytest.raises(WebhookRefused, match="no webhook signature token"):
        receive(body(), secrets=())


def test_stale_and_future_events_are_refused():
    hour = 3600 * 1000
    assert receive(body(at=MS - hour + 1000)).delivery_id == "evt-tok"
    with pytest.raises(WebhookRefused, match="stale or replayed"):
        receive(body(at=MS - hour - 1000))
    with pytest.raises(WebhookRefused, match="future"):
        receive(body(at=MS + 6 * 60 * 1000))


@pytest.mark.parametrize(
    "event",
    [
        "applicationCreated",
        "candidateStageChange",
        "candidateArchiveChange",
        "candidateHired",
        "candidateDeleted",
    ],
)
def test_each_opportunity_event_is_a_candidate_re_read(event):
    assert receive(body(event)).events == (
        WebhookEvent(K.CANDIDATE, candidate_ats_id="ct-1", application_id="opp-1"),
    )


@pytest.mark.parametrize("event", ["contactCreated", "contactUpdated"])
def test_contact_events_re_read_the_person(event):
    got = receive(body(event, data={"contactId": "ct-7"}))
    assert got.events == (WebhookEvent(K.CANDIDATE, candidate_ats_id="ct-7"),)


@pytest.mark.parametrize("event", ["interviewCreated", "interviewUpdated", "somethingNew"])
def test_other_events_carry_nothing(event):
    assert receive(body(event)).events == ()


@pytest.mark.parametrize(
    "doc, field",
    [
        (body(event=None), "event"),
        (body(data=[]), "data"),
        (body(data={"opportunityId": "opp-1"}), "data.contactId"),
        (body(data={"contactId": 5.5}), "data.contactId"),
        (body(data={"contactId": "ct", "opportunityId": ""}), "data.opportunityId"),
    ],
)
def test_malformed_but_signed_body_is_a_payload_error_naming_the_field(doc, field):
    with pytest.raises(PayloadError) as info:
        receive(doc)
    assert info.value.field == field


def test_plugin_info_declares_webhooks_and_says_jobs_stay_polled():
    info = plugin.atsbridge_plugin_info()
    assert Capability.WEBHOOKS in info.capabilities
    assert "no posting (job) events" in info.webhook_setup
    assert (
        "Candidate stage change" in info.webhook_setup and "signature token" in info.webhook_setup
    )


# -- the re-read ---------------------------------------------------------------------------


@pytest.fixture
def session(sandbox):
    s = plugin.open_session(sandbox.connection_config(), SessionContext())
    yield s
    s.close()


def test_read_candidate_re_reads_the_opportunities_in_one_request(sandbox, session):
    posting = sandbox.jobs()[0].ats_id
    contact = sandbox.pipeline(posting)[0]
    plugin.atsbridge_read_candidate(session=session, candidate_ats_id=contact)  # warm caches
    sandbox.clear_log()
    found = plugin.atsbridge_read_candidate(session=session, candidate_ats_id=contact)
    assert {c.ats_id for c in found} == {contact}
    assert posting in {c.job_ats_id for c in found}
    assert {c.application_id for c in found} == {o["id"] for o in sandbox.opportunities_of(contact)}
    assert [r.path for r in sandbox.request_log] == ["/v1/opportunities"]
    assert "contact_id=" in sandbox.request_log[0].query


def test_read_candidate_of_a_deleted_contact_is_empty(sandbox, session):
    contact = sandbox.pipeline(sandbox.jobs()[0].ats_id)[0]
    sandbox.delete_person(contact)
    sandbox.clear_log()
    assert plugin.atsbridge_read_candidate(session=session, candidate_ats_id=contact) == ()
    assert len(sandbox.request_log) == 1


# -- the sandbox pushing -------------------------------------------------------------------


@pytest.fixture
def wired(sandbox):
    clock = FakeClock(wall=NOW)
    sandbox.webhooks.close()
    sandbox.webhooks = sandbox_webhooks.deliverer(clock=clock)
    with PluginReceiver(plugin.atsbridge_webhook_receive, (), clock=clock) as rx:
        target = sandbox.register_webhook(rx.url)
        rx.secrets = (target.secret,)
        yield sandbox, rx, clock, target
    sandbox.webhooks.close()


def test_world_changes_are_delivered_signed_and_accepted(wired):
    sandbox, rx, _, _ = wired
    posting = sandbox.jobs()[0].ats_id
    contact = sandbox.add_candidate(posting, new_person(901))
    sandbox.move_candidate(posting, contact, CandidateStatus.INTERVIEWING)
    sandbox.move_candidate(posting, contact, CandidateStatus.REJECTED)
    sandbox.delete_person(contact)
    sandbox.set_job_status(posting, JobStatus.CLOSED)  # no posting events in Lever
    attempts = sandbox.webhooks.pump()
    names = [json.loads(a.body)["event"] for a in attempts]
    assert names[0] == "applicationCreated" and names[-1] == "candidateDeleted"
    assert "candidateStageChange" in names and "candidateArchiveChange" in names
    assert all(a.status == 200 for a in attempts)
    assert {e.candidate_ats_id for e in rx.events()} == {contact}
    assert all(e.kind is K.CANDIDATE for e in rx.events())


def test_events_filter_and_a_second_webhook_has_its_own_token(sandbox):
    clock = FakeClock(wall=NOW)
    sandbox.webhooks.close()
    sandbox.webhooks = sandbox_webhooks.deliverer(clock=clock)
    with PluginReceiver(plugin.atsbridge_webhook_receive, (), clock=clock) as rx:
        created = sandbox.register_webhook(rx.url, {"applicationCreated"})
        hired = sandbox.register_webhook(rx.url, {"candidateHired"})
        assert created.secret != hired.secret
        rx.secrets = (created.secret,)  # only one token pasted so far
        posting = sandbox.jobs()[0].ats_id
        contact = sandbox.add_candidate(posting, new_person(902))
        sandbox.move_candidate(posting, contact, CandidateStatus.HIRED)
        statuses = {json.loads(a.body)["event"]: a.status for a in sandbox.webhooks.pump()}
    assert statuses == {"applicationCreated": 200, "candidateHired": 401}
    sandbox.webhooks.close()


def test_retries_keep_token_and_time_so_a_late_retry_is_stale(wired):
    sandbox, rx, clock, _ = wired
    rx.fail_next = 1
    posting = sandbox.jobs()[0].ats_id
    sandbox.add_candidate(posting, new_person(903))
    assert [a.status for a in sandbox.webhooks.pump()] == [500]
    clock.advance(60)
    retry = sandbox.webhooks.pump()
    assert [a.status for a in retry] == [200]
    first, second = sandbox.webhooks.attempts
    assert first.body == second.body  # same token, triggeredAt and signature
    rx.fail_next = 4  # the attempts at 0, 1, 6 and 36 minutes fail
    sandbox.add_candidate(posting, new_person(904))
    for minutes in (0, 1, 5, 30):
        clock.advance(minutes * 60)
        assert [a.status for a in sandbox.webhooks.pump()] == [500]
    clock.advance(120 * 60)
    assert [a.status for a in sandbox.webhooks.pump()] == [401]  # 156 min late: stale
    assert "stale" in rx.refused[-1]


def test_knobs_duplicate_bad_signature_out_of_order_and_replay(wired):
    sandbox, rx, clock, _ = wired
    posting = sandbox.jobs()[0].ats_id
    sandbox.webhooks.duplicate()
    contact = sandbox.add_candidate(posting, new_person(905))
    twice = sandbox.webhooks.pump()
    assert len(twice) == 2 and twice[0].body == twice[1].body
    assert [d.delivery_id for d in rx.deliveries] == [twice[0].delivery_id] * 2

    sandbox.webhooks.bad_signature()
    sandbox.move_candidate(posting, contact, CandidateStatus.INTERVIEWING)
    assert [a.status for a in sandbox.webhooks.pump()] == [401]

    sandbox.webhooks.out_of_order(2)
    sandbox.move_candidate(posting, contact, CandidateStatus.OFFERED)
    sandbox.move_candidate(posting, contact, CandidateStatus.HIRED)
    names = [json.loads(a.body)["event"] for a in sandbox.webhooks.pump()]
    assert names[0] == "candidateHired"

    clock.advance(2 * 3600)
    replay = sandbox.webhooks.replay(twice[0].delivery_id)
    assert replay.status == 401 and "stale" in rx.refused[-1]
