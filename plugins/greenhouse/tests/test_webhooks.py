"""Greenhouse webhooks: signature, action mapping, malformed bodies, the targeted read, and
the sandbox delivering signed webhooks with Greenhouse's retries and the test knobs."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from atsbridge.errors import PayloadError, WebhookRefused
from atsbridge.model import (
    CandidateStatus,
    Capability,
    JobStatus,
    WebhookEvent,
    WebhookEventKind,
    WebhookRequest,
)
from atsbridge_greenhouse import plugin, sandbox_webhooks
from atsbridge_greenhouse.webhooks import sign
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.sandbox import make_person
from atsbridge_sdk.sandbox.webhooks import PluginReceiver

SECRET = "gh-webhook-secret"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
K = WebhookEventKind


def request(doc: object, *, secret: str = SECRET, event_id: str = "evt-1", **headers: str):
    body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    h = {"signature": sign(secret, body), "greenhouse-event-id": event_id}
    h.update({k.replace("_", "-"): v for k, v in headers.items()})
    return WebhookRequest(headers=h, body=body, received_at=NOW, secrets=(SECRET,))


def receive(doc: object, **kw):
    return plugin.atsbridge_webhook_receive(request=request(doc, **kw))


def app_payload(app_id=11, person=22, jobs=(33,)):
    return {
        "application": {
            "id": app_id,
            "candidate": {"id": person, "first_name": "Ada"},
            "jobs": [{"id": j, "name": "Dev"} for j in jobs],
        }
    }


# -- signature -----------------------------------------------------------------------------


def test_good_signature_is_accepted_and_keyed_on_the_event_id():
    delivery = receive({"action": "job_updated", "payload": {"job": {"id": 5}}}, event_id="e-9")
    assert delivery.delivery_id == "e-9"
    assert delivery.events == (WebhookEvent(K.JOB, job_ats_id="5"),)
    assert delivery.response_status == 200


def test_any_configured_secret_verifies():
    body = json.dumps({"action": "job_updated", "payload": {"job": {"id": 5}}}).encode()
    req = WebhookRequest(
        headers={"signature": sign("second", body), "greenhouse-event-id": "e"},
        body=body,
        received_at=NOW,
        secrets=("first", "second"),
    )
    assert plugin.atsbridge_webhook_receive(request=req).events[0].job_ats_id == "5"


@pytest.mark.parametrize(
    "headers, reason",
    [
        ({"greenhouse-event-id": "e"}, "without a Signature"),
        ({"signature": "sha256 " + "0" * 64, "greenhouse-event-id": "e"}, "does not match"),
        ({"signature": "sha1 abc", "greenhouse-event-id": "e"}, "not 'sha256 <hex>'"),
        ({"signature": "sha256", "greenhouse-event-id": "e"}, "not 'sha256 <hex>'"),
    ],
)
def test_bad_or_missing_signature_is_refused(headers, reason):
    body = b'{"action": "job_updated", "payload": {"job": {"id": 5}}}'
    req = WebhookRequest(headers=headers, body=body, received_at=NOW, secrets=(SECRET,))
    with pytest.raises(WebhookRefused, match=reason):
        plugin.atsbridge_webhook_receive(request=req)


def test_a_body_changed_after_signing_is_refused():
    body = b'{"action": "job_updated", "payload": {"job": {"id": 5}}}'
    req = WebhookRequest(
        headers={"signature": sign(SECRET, body), "greenhouse-event-id": "e"},
        body=body.replace(b"5", b"6"),
        received_at=NOW,
        secrets=(SECRET,),
    )
    with pytest.raises(WebhookRefused):
        plugin.atsbridge_webhook_receive(request=req)


def test_no_secret_configured_refuses_everything():
    body = b'{"action": "ping", "payload": {}}'
    req = WebhookRequest(headers={"signature": sign(SECRET, body)}, body=body, received_at=NOW)
    with pytest.raises(WebhookRefused, match="no webhook secret"):
        plugin.atsbridge_webhook_receive(request=req)


def test_a_delivery_without_event_id_is_refused():
    body = json.dumps({"action": "job_updated", "payload": {"job": {"id": 5}}}).encode()
    req = WebhookRequest(
        headers={"signature": sign(SECRET, body)}, body=body, received_at=NOW, secrets=(SECRET,)
    )
    with pytest.raises(WebhookRefused, match="Greenhouse-Event-ID"):
        plugin.atsbridge_webhook_receive(request=req)


def test_ping_is_answered_200_with_no_events():
    body = json.dumps({"action": "ping", "payload": {"web_hook_id": 1}}).encode()
    req = WebhookRequest(
        headers={"signature": sign(SECRET, body)}, body=body, received_at=NOW, secrets=(SECRET,)
    )
    delivery = plugin.atsbridge_webhook_receive(request=req)
    assert delivery.events == () and delivery.response_status == 200
    assert delivery.delivery_id.startswith("ping-")


# -- mapping -------------------------------------------------------------------------------

CANDIDATE_AT_33 = WebhookEvent(
    K.CANDIDATE, job_ats_id="33", candidate_ats_id="22", application_id="11"
)


@pytest.mark.parametrize(
    "action, payload, events",
    [
        (
            "job_created",
            {"job": {"id": 5, "status": "open"}},
            [WebhookEvent(K.JOB, job_ats_id="5")],
        ),
        (
            "job_updated",
            {"job": {"id": 5, "status": "closed"}},
            [WebhookEvent(K.JOB, job_ats_id="5")],
        ),
        ("job_deleted", {"job": {"id": 5, "name": "x"}}, [WebhookEvent(K.JOB, job_ats_id="5")]),
        ("job_post_created", {"id": 1, "job_id": 7}, [WebhookEvent(K.JOB, job_ats_id="7")]),
        ("job_post_updated", {"id": 1, "job_id": 7}, [WebhookEvent(K.JOB, job_ats_id="7")]),
        ("job_post_updated", {"id": 1}, []),  # a prospect post: no job
        (
            "job_post_deleted",
            {"job_post": {"id": 1, "job_id": 7}},
            [WebhookEvent(K.JOB, job_ats_id="7")],
        ),
        ("candidate_stage_change", app_payload(), [CANDIDATE_AT_33]),
        ("hire_candidate", app_payload(), [CANDIDATE_AT_33]),
        ("reject_candidate", app_payload(), [CANDIDATE_AT_33]),
        ("unreject_candidate", app_payload(), [CANDIDATE_AT_33]),
        ("new_candidate_application", app_payload(), [CANDIDATE_AT_33]),
        (
            "new_prospect_application",
            app_payload(jobs=(33, 34)),
            [
                CANDIDATE_AT_33,
                WebhookEvent(
                    K.CANDIDATE, job_ats_id="34", candidate_ats_id="22", application_id="11"
                ),
            ],
        ),
        (
            "new_prospect_application",
            app_payload(jobs=()),
            [WebhookEvent(K.CANDIDATE, candidate_ats_id="22", application_id="11")],
        ),
        (
            "update_candidate",
            {"candidate": {"id": 22}},
            [WebhookEvent(K.CANDIDATE, candidate_ats_id="22")],
        ),
        (
            "delete_candidate",
            {"person": {"id": 22, "deleted_application_ids": [11]}},
            [WebhookEvent(K.CANDIDATE_DELETED, candidate_ats_id="22")],
        ),
        (
            "merge_candidate",
            {"person": {"id": 22, "new_candidate_id": 99}},
            [WebhookEvent(K.CANDIDATE_MERGED, candidate_ats_id="22", merged_into="99")],
        ),
        ("interview_deleted", {"interview": {"id": 1}}, []),
    ],
)
def test_each_action_maps_to_its_events(action, payload, events):
    assert list(receive({"action": action, "payload": payload}).events) == events


@pytest.mark.parametrize(
    "body, field",
    [
        (b"not json", "(body)"),
        (b"[1, 2]", "(body)"),
        ({"payload": {}}, "action"),
        ({"action": "job_updated", "payload": []}, "payload"),
        ({"action": "job_updated", "payload": {"job": {}}}, "payload.job.id"),
        ({"action": "job_updated", "payload": {"job": {"id": True}}}, "payload.job.id"),
        ({"action": "job_updated", "payload": {"job": "5"}}, "payload.job"),
        (
            {"action": "hire_candidate", "payload": {"application": {"id": 1}}},
            "payload.application.candidate.id",
        ),
        (
            {
                "action": "hire_candidate",
                "payload": {"application": {"id": 1, "candidate": {"id": 2}, "jobs": {}}},
            },
            "payload.application.jobs",
        ),
        (
            {
                "action": "hire_candidate",
                "payload": {"application": {"id": 1, "candidate": {"id": 2}, "jobs": [3]}},
            },
            "payload.application.jobs[0]",
        ),
        (
            {"action": "merge_candidate", "payload": {"person": {"id": 2}}},
            "payload.person.new_candidate_id",
        ),
        ({"action": "delete_candidate", "payload": {"person": {}}}, "payload.person.id"),
    ],
)
def test_malformed_body_is_a_payload_error_naming_the_field(body, field):
    with pytest.raises(PayloadError) as info:
        receive(body)
    assert info.value.field == field


def test_plugin_info_declares_webhooks_with_admin_steps():
    info = plugin.atsbridge_plugin_info()
    assert Capability.WEBHOOKS in info.capabilities
    for needle in ("Dev Center", "Job Updated", "Candidate Stage Change", "Secret key"):
        assert needle in info.webhook_setup


# -- the targeted read ---------------------------------------------------------------------


def test_read_candidate_returns_each_application_for_two_requests(sandbox, connect):
    session = connect(sandbox)
    job = sandbox.jobs()[0].ats_id
    other = sandbox.jobs()[1].ats_id
    cid = sandbox.pipeline(job)[0]
    person = sandbox.candidates[int(cid)]
    sandbox._new_application(int(cid), int(other), sandbox._now())  # a second application
    sandbox.clear_log()
    found = plugin.atsbridge_read_candidate(session=session, candidate_ats_id=cid)
    assert sorted(c.job_ats_id for c in found) == sorted([job, other])
    assert {c.ats_id for c in found} == {cid}
    assert {c.first_name for c in found} == {person["first_name"]}
    paths = [r.path for r in sandbox.request_log]
    assert paths == ["/v3/applications", "/v3/candidates"]


def test_read_candidate_of_a_deleted_person_is_empty_for_one_request(sandbox, connect):
    session = connect(sandbox)
    cid = sandbox.pipeline(sandbox.jobs()[0].ats_id)[0]
    sandbox.delete_person(cid)
    sandbox.clear_log()
    assert plugin.atsbridge_read_candidate(session=session, candidate_ats_id=cid) == ()
    assert [r.path for r in sandbox.request_log] == ["/v3/applications"]
    assert plugin.atsbridge_read_candidate(session=session, candidate_ats_id="not-an-id") == ()


def test_read_candidate_after_a_merge_finds_the_survivor_on_both_jobs(sandbox, connect):
    session = connect(sandbox)
    jobs = [j.ats_id for j in sandbox.jobs()[:2]]
    loser, survivor = sandbox.pipeline(jobs[0])[0], sandbox.pipeline(jobs[1])[0]
    sandbox.merge_people(loser, survivor)
    assert plugin.atsbridge_read_candidate(session=session, candidate_ats_id=loser) == ()
    found = plugin.atsbridge_read_candidate(session=session, candidate_ats_id=survivor)
    assert {c.job_ats_id for c in found} >= set(jobs)


# -- the sandbox delivering ----------------------------------------------------------------


@pytest.fixture
def wired(sandbox):
    """The sandbox with a fake-clock deliverer and a receiver running the plugin's hook."""
    clock = FakeClock(wall=NOW)
    sandbox.webhooks.close()  # the real-clock one the sandbox started with
    sandbox.webhooks = sandbox_webhooks.deliverer(clock=clock)
    with PluginReceiver(plugin.atsbridge_webhook_receive, (SECRET,), clock=clock) as rx:
        target = sandbox.register_webhook(rx.url, SECRET)
        assert [d.events for d in rx.deliveries] == [()]  # the ping on save
        rx.deliveries.clear()
        yield sandbox, rx, clock, target
    sandbox.webhooks.close()


def test_registration_pings_and_a_failed_ping_leaves_the_webhook_disabled(wired):
    sandbox, rx, _, target = wired
    assert target.active and rx.server.received[0][2] == 200
    dead = sandbox.register_webhook("http://127.0.0.1:9/nothing", SECRET)
    assert dead.active is False
    with pytest.raises(ValueError, match="loopback"):
        sandbox.register_webhook("https://example.com/hook", SECRET)


def test_world_changes_are_delivered_signed_and_accepted(wired):
    sandbox, rx, _, _ = wired
    job = sandbox.jobs()[0].ats_id
    sandbox.set_job_status(job, JobStatus.CLOSED)
    cid = sandbox.add_candidate(job, make_person(random.Random(3), 901, NOW))
    sandbox.move_candidate(job, cid, CandidateStatus.REJECTED)
    sandbox.move_candidate(job, cid, CandidateStatus.INTERVIEWING)
    other = sandbox.pipeline(job)[0]
    sandbox.merge_people(other, cid)
    sandbox.delete_person(cid)
    attempts = sandbox.webhooks.pump()
    assert [a.status for a in attempts] == [200] * 6
    actions = [json.loads(a.body)["action"] for a in attempts]
    assert actions == [
        "job_updated",
        "new_candidate_application",
        "reject_candidate",
        "unreject_candidate",
        "merge_candidate",
        "delete_candidate",
    ]
    kinds = [e.kind for e in rx.events()]
    assert kinds == [
        K.JOB,
        K.CANDIDATE,
        K.CANDIDATE,
        K.CANDIDATE,
        K.CANDIDATE_MERGED,
        K.CANDIDATE_DELETED,
    ]
    assert rx.events()[0].job_ats_id == job
    assert rx.events()[1] == WebhookEvent(
        K.CANDIDATE,
        job_ats_id=job,
        candidate_ats_id=cid,
        application_id=rx.events()[1].application_id,
    )
    assert rx.events()[4].merged_into == cid
    assert len({d.delivery_id for d in rx.deliveries}) == 6


def test_events_filter_what_a_webhook_receives(sandbox):
    clock = FakeClock(wall=NOW)
    sandbox.webhooks.close()  # the real-clock one the sandbox started with
    sandbox.webhooks = sandbox_webhooks.deliverer(clock=clock)
    with PluginReceiver(plugin.atsbridge_webhook_receive, (SECRET,), clock=clock) as rx:
        sandbox.register_webhook(rx.url, SECRET, events={"job_updated"})
        job = sandbox.jobs()[0].ats_id
        sandbox.add_candidate(job, make_person(random.Random(3), 901, NOW))
        sandbox.set_job_status(job, JobStatus.CLOSED)
        sandbox.webhooks.pump()
    assert [e.kind for e in rx.events()] == [K.JOB]
    sandbox.webhooks.close()


def test_a_failed_delivery_is_retried_on_greenhouses_schedule(wired):
    sandbox, rx, clock, _ = wired
    rx.fail_next = 2
    sandbox.set_job_status(sandbox.jobs()[0].ats_id, JobStatus.CLOSED)
    assert [a.status for a in sandbox.webhooks.pump()] == [500]
    clock.advance(59)
    assert sandbox.webhooks.pump() == []  # the first retry is a minute later
    clock.advance(1)
    assert [a.status for a in sandbox.webhooks.pump()] == [500]
    clock.advance(15 * 60 - 1)
    assert sandbox.webhooks.pump() == []
    clock.advance(1)
    retry = sandbox.webhooks.pump()
    assert [(a.status, a.number) for a in retry] == [(200, 3)]
    ids = {a.delivery_id for a in sandbox.webhooks.attempts}
    assert len(ids) == 1 and [d.delivery_id for d in rx.deliveries] == list(ids)


def test_a_delivery_is_given_up_after_seven_attempts(wired):
    sandbox, rx, clock, _ = wired
    rx.fail_next = 100
    sandbox.set_job_status(sandbox.jobs()[0].ats_id, JobStatus.CLOSED)
    for _ in range(10):
        sandbox.webhooks.pump()
        clock.advance(480 * 60)
    assert len(sandbox.webhooks.attempts) == 7
    assert len(sandbox.webhooks.given_up) == 1


def test_knobs_duplicate_bad_signature_out_of_order_and_replay(wired):
    sandbox, rx, _, _ = wired
    jobs = [j.ats_id for j in sandbox.jobs()[:3]]
    sandbox.webhooks.duplicate()
    sandbox.set_job_status(jobs[0], JobStatus.CLOSED)
    twice = sandbox.webhooks.pump()
    assert len(twice) == 2 and twice[0].delivery_id == twice[1].delivery_id
    assert [d.delivery_id for d in rx.deliveries] == [twice[0].delivery_id] * 2

    sandbox.webhooks.bad_signature()
    sandbox.set_job_status(jobs[1], JobStatus.CLOSED)
    assert [a.status for a in sandbox.webhooks.pump()] == [401]
    assert rx.refused == ["Greenhouse Signature does not match the body"]

    sandbox.webhooks.out_of_order(2)
    sandbox.set_job_status(jobs[2], JobStatus.CLOSED)
    sandbox.set_job_status(jobs[2], JobStatus.OPEN)
    sent = [json.loads(a.body)["payload"]["job"]["status"] for a in sandbox.webhooks.pump()]
    assert sent == ["open", "closed"]

    replay = sandbox.webhooks.replay(twice[0].delivery_id)
    assert replay.body == twice[0].body and replay.headers == twice[0].headers
    assert replay.status == 200 and rx.deliveries[-1].delivery_id == twice[0].delivery_id
