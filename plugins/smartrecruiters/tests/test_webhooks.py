"""SmartRecruiters webhooks: the v1 signature, the handshake, event mapping, malformed
deliveries, the targeted read, the subscription API, and the sandbox pushing signed
deliveries with SmartRecruiters' retries and the test knobs."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from datetime import UTC, datetime

import pytest
from atsbridge.errors import AtsError, PayloadError, WebhookRefused
from atsbridge.model import (
    CandidateStatus,
    Capability,
    JobStatus,
    SessionContext,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
)
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.sandbox import make_person
from atsbridge_sdk.sandbox.webhooks import PluginReceiver
from atsbridge_smartrecruiters import plugin, sandbox_webhooks
from atsbridge_smartrecruiters.webhooks import SUBSCRIPTIONS_PATH, sign, verify_signature

SECRET = "whsec-demo-0123456789"
BODY = b'{"job_id":"2f6c1d84","candidate_id":"b41e0c2a"}'
NOW = 1_795_000_000.0
WHEN = datetime.fromtimestamp(NOW, UTC)
K = WebhookEventKind


def headers(signature: str, ts: str = str(int(NOW))) -> dict[str, str]:
    return {
        "smartrecruiters-timestamp": ts,
        "smartrecruiters-signature": signature,
        "Event-Id": "evt-1",
        "event-name": "application.status.updated",
        "event-version": "v1",
    }


def digest(message: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def test_signature_over_timestamp_body_and_event_headers():
    # Written out by hand so the test states the scheme rather than re-using the code's.
    ts = str(int(NOW))
    message = ts.encode() + b"." + BODY + b".evt-1.application.status.updated.v1."
    good = digest(message)
    assert verify_signature(SECRET, headers(f"v1={good}"), BODY, now=NOW)
    assert verify_signature(SECRET, headers(f"v1={'0' * 64};v1={good}"), BODY, now=NOW)
    assert not verify_signature(SECRET, headers(f"v1={good}"), BODY + b" ", now=NOW)
    assert not verify_signature("other-secret-xyz", headers(f"v1={good}"), BODY, now=NOW)
    assert not verify_signature(SECRET, headers(good), BODY, now=NOW)  # no v1= prefix


def test_stale_or_missing_timestamp_is_refused():
    ts = str(int(NOW - 3600))
    message = ts.encode() + b"." + BODY + b".evt-1.application.status.updated.v1."
    sig = f"v1={digest(message)}"
    assert not verify_signature(SECRET, headers(sig, ts), BODY, now=NOW)
    assert verify_signature(SECRET, headers(sig, ts), BODY, now=NOW, tolerance=7200)
    ms = str(int(NOW * 1000))
    message = ms.encode() + b"." + BODY + b".evt-1.application.status.updated.v1."
    assert verify_signature(SECRET, headers(f"v1={digest(message)}", ms), BODY, now=NOW)
    assert not verify_signature(SECRET, headers(sig, ""), BODY, now=NOW)


# -- the receive hook ------------------------------------------------------------------------


def delivery_request(
    name: str,
    body: object = None,
    *,
    event_id: str = "evt-1",
    link: str | None = None,
    ts: float = NOW,
    secrets: tuple[str, ...] = (SECRET,),
    signing: str = SECRET,
    received: float = NOW,
) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    h = {"event-id": event_id, "event-name": name, "event-version": "v1"}
    if link is not None:
        h["link"] = link
    stamp = str(int(ts * 1000))
    h["smartrecruiters-timestamp"] = stamp
    h["smartrecruiters-signature"] = f"v1={sign(signing, stamp, raw, h)}"
    return WebhookRequest(
        headers=h,
        body=raw,
        received_at=datetime.fromtimestamp(received, UTC),
        secrets=secrets,
    )


def receive(*args, **kw):
    return plugin.atsbridge_webhook_receive(request=delivery_request(*args, **kw))


def test_a_good_delivery_is_answered_202_and_keyed_on_event_id():
    got = receive("job.status.updated", {"job_id": "j1"}, event_id="e-42")
    assert (got.delivery_id, got.response_status) == ("e-42", 202)
    assert got.events == (WebhookEvent(K.JOB, job_ats_id="j1"),)
    assert got.occurred_at == WHEN


def test_the_old_key_still_verifies_during_a_rotation():
    got = receive("job.updated", {"job_id": "j1"}, signing="old", secrets=("new", "old"))
    assert got.events[0].job_ats_id == "j1"


@pytest.mark.parametrize(
    "kw, reason",
    [
        ({"signing": "not-the-key"}, "does not match"),
        ({"secrets": ()}, "no webhook secret"),
        ({"ts": NOW - 301}, "stale or replayed"),
        ({"ts": NOW + 301}, "stale or replayed"),
    ],
)
def test_bad_or_stale_signature_is_refused(kw, reason):
    with pytest.raises(WebhookRefused, match=reason):
        receive("job.updated", {"job_id": "j1"}, **kw)


@pytest.mark.parametrize(
    "drop, reason",
    [
        ("smartrecruiters-signature", "without a v1= signature"),
        ("smartrecruiters-timestamp", "without smartrecruiters-timestamp"),
    ],
)
def test_missing_signature_headers_are_refused(drop, reason):
    req = delivery_request("job.updated", {"job_id": "j1"})
    h = {k: v for k, v in req.headers.items() if k != drop}
    with pytest.raises(WebhookRefused, match=reason):
        plugin.atsbridge_webhook_receive(
            request=WebhookRequest(h, req.body, req.received_at, req.secrets)
        )


def test_a_changed_event_header_breaks_the_signature():
    req = delivery_request("job.updated", {"job_id": "j1"})
    h = {**req.headers, "event-name": "candidate.deleted"}
    with pytest.raises(WebhookRefused, match="does not match"):
        plugin.atsbridge_webhook_receive(
            request=WebhookRequest(h, req.body, req.received_at, req.secrets)
        )


def test_the_activation_handshake_is_echoed_with_200_and_no_events():
    req = WebhookRequest({"x-hook-secret": "abc123"}, b"", WHEN)
    got = plugin.atsbridge_webhook_receive(request=req)
    assert got.response_status == 200 and got.events == ()
    assert got.response_headers == {"X-Hook-Secret": "abc123"}


APP = WebhookEvent(K.CANDIDATE, job_ats_id="j1", candidate_ats_id="c1", application_id="c1:j1")
PERSON = WebhookEvent(K.CANDIDATE, candidate_ats_id="c1")


@pytest.mark.parametrize(
    "name, body, link, events",
    [
        ("job.created", {"job_id": "j1"}, None, [WebhookEvent(K.JOB, job_ats_id="j1")]),
        ("job.updated", {"jobId": "j1"}, None, [WebhookEvent(K.JOB, job_ats_id="j1")]),
        (
            "job.status.updated",
            {},
            "<https://api.smartrecruiters.com/jobs/j1>; rel=self",
            [WebhookEvent(K.JOB, job_ats_id="j1")],
        ),
        (
            "candidate.created",
            {"candidate_id": "c1"},
            None,
            [WebhookEvent(K.CANDIDATE, candidate_ats_id="c1")],
        ),
        (
            "candidate.updated",
            {"candidate_id": "c1"},
            None,
            [WebhookEvent(K.CANDIDATE, candidate_ats_id="c1")],
        ),
        (
            "candidate.deleted",
            {"candidate_id": "c1"},
            None,
            [WebhookEvent(K.CANDIDATE_DELETED, candidate_ats_id="c1")],
        ),
        ("application.created", {"job_id": "j1", "candidate_id": "c1"}, None, [APP]),
        (
            "application.status.updated",
            {},
            "<https://api.smartrecruiters.com/candidates/c1/jobs/j1>; rel=self",
            [APP],
        ),
        ("offer.created", {"offer_id": "o1"}, None, []),
        ("interview.updated", {}, None, []),
    ],
)
def test_each_event_maps_to_its_events(name, body, link, events):
    assert list(receive(name, body, link=link).events) == events


@pytest.mark.parametrize(
    "name, body, field",
    [
        ("job.updated", b"{not json", "(body)"),
        ("job.updated", b"[]", "(body)"),
        ("job.updated", {}, "job_id"),
        ("job.updated", {"job_id": 5}, "job_id"),
        ("application.created", {"job_id": "j1"}, "candidate_id"),
        ("candidate.deleted", {"candidate_id": ""}, "candidate_id"),
    ],
)
def test_malformed_delivery_is_a_payload_error_naming_the_field(name, body, field):
    with pytest.raises(PayloadError) as info:
        receive(name, body)
    assert info.value.field == field


def test_a_delivery_without_event_id_is_a_payload_error():
    req = delivery_request("job.updated", {"job_id": "j1"}, event_id="")
    with pytest.raises(PayloadError) as info:
        plugin.atsbridge_webhook_receive(request=req)
    assert info.value.field == "event-id (header)"


def test_plugin_info_declares_webhooks_and_says_setup_is_automatic():
    info = plugin.atsbridge_plugin_info()
    assert Capability.WEBHOOKS in info.capabilities
    assert "webhooks setup" in info.webhook_setup and "20 seconds" in info.webhook_setup


# -- the targeted read ---------------------------------------------------------------------


@pytest.fixture
def session(sandbox):
    s = plugin.atsbridge_open_session(config=sandbox.connection_config(), context=SessionContext())
    yield s
    s.close()


def test_read_candidate_returns_every_assignment_for_one_request(sandbox, session):
    jobs = [j.ats_id for j in sandbox.jobs()]
    # Seeded people with key % 5 == 0 sit on two jobs: find one.
    pid = next(
        p
        for j in jobs
        for p in sandbox.pipeline(j)
        if len(sandbox.person_record(p)["assignments"]) > 1
    )
    sandbox.clear_log()
    found = plugin.atsbridge_read_candidate(session=session, candidate_ats_id=pid)
    wanted = [a["job"]["id"] for a in sandbox.person_record(pid)["assignments"]]
    assert [c.job_ats_id for c in found] == wanted and {c.ats_id for c in found} == {pid}
    assert [(r.method, r.path) for r in sandbox.request_log] == [("GET", f"/candidates/{pid}")]


def test_read_candidate_of_a_deleted_person_is_empty(sandbox, session):
    pid = sandbox.pipeline(sandbox.jobs()[0].ats_id)[0]
    sandbox.delete_person(pid)
    sandbox.clear_log()
    assert plugin.atsbridge_read_candidate(session=session, candidate_ats_id=pid) == ()
    assert len(sandbox.request_log) == 1
    assert pid not in sandbox.pipeline(sandbox.jobs()[0].ats_id)


# -- subscription and the sandbox pushing --------------------------------------------------


@pytest.fixture
def wired(sandbox, session):
    """A fake-clock deliverer, a receiver running the plugin's hook, and a subscription
    made through the webhooks API by the subscribe hook."""
    clock = FakeClock(wall=WHEN)
    sandbox.webhooks.close()
    sandbox.webhooks = sandbox_webhooks.deliverer(clock=clock)
    with PluginReceiver(plugin.atsbridge_webhook_receive, (), clock=clock) as rx:
        sub = plugin.atsbridge_webhook_subscribe(session=session, callback_url=rx.url)
        rx.secrets = (sub.secret,)
        yield sandbox, rx, clock, sub
    sandbox.webhooks.close()


def test_subscribe_creates_activates_and_keys_a_subscription(sandbox, session):
    with PluginReceiver(plugin.atsbridge_webhook_receive, ()) as rx:
        sandbox.clear_log()
        sub = plugin.atsbridge_webhook_subscribe(session=session, callback_url=rx.url)
        calls = [(r.method, r.path.removeprefix(SUBSCRIPTIONS_PATH)) for r in sandbox.request_log]
        assert calls == [
            ("GET", ""),
            ("POST", ""),
            ("PUT", f"/{sub.external_id}/activation"),
            ("POST", f"/{sub.external_id}/secret-key"),
        ]
        # The handshake reached the receiver and was echoed.
        handshake = [h for h, _, status in rx.server.received if "x-hook-secret" in h]
        assert len(handshake) == 1 and rx.deliveries[0].events == ()
        stored = sandbox.subscriptions[sub.external_id]
        assert stored["status"] == "active" and stored["_keys"][0][0] == sub.secret
        assert "job.status.updated" in sub.events and "application.status.updated" in sub.events

        sandbox.clear_log()
        again = plugin.atsbridge_webhook_subscribe(session=session, callback_url=rx.url)
        assert again.external_id == sub.external_id and again.secret != sub.secret
        assert [r.method for r in sandbox.request_log] == ["GET", "PUT", "POST"]
        assert len(sandbox.subscriptions) == 1


def test_subscribe_fails_clearly_when_the_handshake_is_not_answered(session):
    with pytest.raises(AtsError, match="could not activate"):
        plugin.atsbridge_webhook_subscribe(session=session, callback_url="http://127.0.0.1:9/h")


def test_world_changes_are_delivered_signed_and_accepted(wired):
    sandbox, rx, _, _ = wired
    job = sandbox.jobs()[0].ats_id
    sandbox.set_job_status(job, JobStatus.CLOSED)
    pid = sandbox.add_candidate(job, make_person(random.Random(1), 901, WHEN))
    sandbox.move_candidate(job, pid, CandidateStatus.INTERVIEWING)
    sandbox.delete_person(pid)
    attempts = sandbox.webhooks.pump()
    assert [a.status for a in attempts] == [202] * 4
    app = WebhookEvent(
        K.CANDIDATE, job_ats_id=job, candidate_ats_id=pid, application_id=f"{pid}:{job}"
    )
    assert rx.events() == [
        WebhookEvent(K.JOB, job_ats_id=job),
        app,
        app,
        WebhookEvent(K.CANDIDATE_DELETED, candidate_ats_id=pid),
    ]
    assert attempts[0].headers["link"] == f"<{sandbox.url}/jobs/{job}>; rel=self"


def test_a_failed_delivery_is_retried_on_smartrecruiters_schedule(wired):
    sandbox, rx, clock, _ = wired
    rx.fail_next = 2
    sandbox.set_job_status(sandbox.jobs()[0].ats_id, JobStatus.CLOSED)
    assert [a.status for a in sandbox.webhooks.pump()] == [500]
    clock.advance(60)
    assert [a.status for a in sandbox.webhooks.pump()] == [500]
    clock.advance(179)
    assert sandbox.webhooks.pump() == []
    clock.advance(1)
    assert [(a.status, a.number) for a in sandbox.webhooks.pump()] == [(202, 3)]
    # Each attempt is signed afresh, so the late retry is not stale.
    stamps = {a.headers["smartrecruiters-timestamp"] for a in sandbox.webhooks.attempts}
    assert len(stamps) == 3


def test_after_a_key_rotation_both_keys_sign_until_the_old_one_expires(wired, session):
    sandbox, rx, clock, sub = wired
    rotated = plugin.atsbridge_webhook_subscribe(session=session, callback_url=rx.url)
    assert rotated.secret != sub.secret
    job = sandbox.jobs()[0].ats_id
    sandbox.set_job_status(job, JobStatus.CLOSED)
    attempt = sandbox.webhooks.pump()[0]
    assert attempt.headers["smartrecruiters-signature"].count("v1=") == 2
    assert attempt.status == 202  # the receiver knows only the old key yet
    sandbox.expire_old_keys()
    sandbox.set_job_status(job, JobStatus.OPEN)
    assert [a.status for a in sandbox.webhooks.pump()] == [401]
    rx.secrets = (rotated.secret,)
    clock.advance(60)
    assert [a.status for a in sandbox.webhooks.pump()] == [202]


def test_knobs_duplicate_bad_signature_and_stale_replay(wired):
    sandbox, rx, clock, _ = wired
    jobs = [j.ats_id for j in sandbox.jobs()[:2]]
    sandbox.webhooks.duplicate()
    sandbox.set_job_status(jobs[0], JobStatus.CLOSED)
    twice = sandbox.webhooks.pump()
    assert [a.status for a in twice] == [202, 202] and twice[0].delivery_id == twice[1].delivery_id

    sandbox.webhooks.bad_signature()
    sandbox.set_job_status(jobs[1], JobStatus.CLOSED)
    assert [a.status for a in sandbox.webhooks.pump()] == [401]
    assert rx.refused[-1] == "smartrecruiters-signature does not match"

    clock.advance(301)  # the old delivery's timestamp is now outside the window
    replay = sandbox.webhooks.replay(twice[0].delivery_id)
    assert replay.status == 401 and "stale" in rx.refused[-1]
    assert replay.body == twice[0].body
