"""Pipeline sync into do-not-source lists, driven by an in-process fake ATS (tests/cntsfake)."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from atsbridge.api import Atsbridge
from atsbridge.errors import AtsError, AtsUnavailable
from atsbridge.model import CandidateStatus
from atsbridge.services import cnts as cnts_module
from atsbridge.services.cnts import CntsService, Person, reconcile_interval, refresh_interval
from atsbridge.store import SyncRun
from cntsfake import Clock, PipelineAts, connect, link


def listed(cnts: CntsService, tenant: str, job: str, source: str | None = "ats") -> set[str]:
    entries = cnts.list_entries(tenant, job, source=source, limit=10_000).entries
    return {e.ats_candidate_id or "" for e in entries}


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cnts_module, "PAGE_SIZE", 3)


def test_initial_then_incremental_then_removal(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock, small_pages: None
) -> None:
    connect(app, "acme")
    link(app, "acme", "P1", "J1")
    link(app, "acme", "P2", "J2")
    for i in range(8):
        pipe.put("J1", f"c{i}", status=CandidateStatus.REJECTED if i % 3 else CandidateStatus.HIRED)
        clock.advance(minutes=10)  # apart by more than the runner's 5-minute overlap
    pipe.put("J2", "d1")

    reports = cnts.sync("acme", "pipeats")
    assert [r.status for r in reports] == ["succeeded", "succeeded"]
    assert listed(cnts, "acme", "P1") == set(pipe.pipelines["J1"])
    assert listed(cnts, "acme", "P2") == {"d1"}
    assert all(q.updated_since is None for q in pipe.queries)
    assert len([q for q in pipe.queries if q.job_ats_id == "J1"]) == 3  # 8 people, pages of 3

    # Incremental: a new person and an edited one; only changes since the high-water mark.
    clock.advance(hours=3)
    pipe.queries.clear()
    pipe.put("J1", "c_new", emails=("new.person@example.org",))
    pipe.put("J1", "c0", emails=("changed@example.org",))
    cnts.sync("acme", "pipeats")
    j1 = [q for q in pipe.queries if q.job_ats_id == "J1"]
    assert len(j1) == 1 and j1[0].updated_since is not None
    assert listed(cnts, "acme", "P1") == set(pipe.pipelines["J1"])
    assert cnts.check("acme", "P1", Person(emails=["CHANGED@example.org"])).rule == "email"
    assert not cnts.check("acme", "P1", Person(emails=["c0@example.org"])).excluded

    # Removal: invisible to an incremental listing, gone after the reconciliation pass.
    pipe.remove("J1", "c3")
    clock.advance(hours=3)
    cnts.sync("acme", "pipeats")
    assert "c3" in listed(cnts, "acme", "P1")
    clock.advance(hours=24)
    pipe.queries.clear()
    reports = cnts.sync("acme", "pipeats")
    assert all(q.updated_since is None for q in pipe.queries)
    assert listed(cnts, "acme", "P1") == set(pipe.pipelines["J1"]) and "c3" not in listed(
        cnts, "acme", "P1"
    )
    assert {r.scope: r.counts["removed"] for r in reports} == {"J1": 1, "J2": 0}


def test_forced_full_run_removes_at_once_and_keeps_file_entries(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock, tmp_path
) -> None:
    connect(app, "acme")
    link(app, "acme", "P1", "J1")
    pipe.put("J1", "a")
    pipe.put("J1", "b")
    cnts.sync("acme", "pipeats")
    f = tmp_path / "people.csv"
    f.write_text("Email\nb@example.org\nfile.only@example.org\n")
    assert cnts.import_file("acme", "P1", f).added == 2
    pipe.remove("J1", "b")
    clock.advance(minutes=10)
    cnts.sync("acme", "pipeats", full=True)
    assert listed(cnts, "acme", "P1") == {"a"}
    # The file's copy of b stays: removal only ever touches what the ATS put there.
    assert cnts.check("acme", "P1", Person(emails=["b@example.org"])).matches[0].source == "file"
    assert len(cnts.list_entries("acme", "P1", source="file").entries) == 2


def test_reconcile_interval_is_a_connection_setting(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock
) -> None:
    connect(app, "acme", cnts_reconcile_hours=1, cnts_refresh_minutes=30)
    link(app, "acme", "P1", "J1")
    pipe.put("J1", "a")
    pipe.put("J1", "b")
    cnts.sync("acme", "pipeats")
    pipe.remove("J1", "a")
    clock.advance(minutes=61)
    cnts.sync("acme", "pipeats")
    assert listed(cnts, "acme", "P1") == {"b"}
    settings = app.connections.get("acme", "pipeats").settings
    assert refresh_interval(settings).total_seconds() == 30 * 60
    assert refresh_interval({}).total_seconds() == 3 * 3600


def test_the_full_pass_interval_reads_like_the_job_mirrors(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock
) -> None:
    connect(app, "acme", intervals={"candidates_full": 30}, cnts_reconcile_hours=5)
    link(app, "acme", "P1", "J1")
    pipe.put("J1", "a")
    pipe.put("J1", "b")
    cnts.sync("acme", "pipeats")
    pipe.remove("J1", "a")
    clock.advance(minutes=29)
    (report,) = cnts.sync("acme", "pipeats")
    assert report.progress["mode"] == "incremental" and listed(cnts, "acme", "P1") == {"a", "b"}
    clock.advance(minutes=2)  # intervals.candidates_full wins over cnts_reconcile_hours
    (report,) = cnts.sync("acme", "pipeats")
    assert report.progress["mode"] == "full" and listed(cnts, "acme", "P1") == {"b"}
    assert reconcile_interval({}, {"candidates_full": 90}) == timedelta(minutes=90)
    assert reconcile_interval({"cnts_reconcile_hours": 2}, {"candidates_full": 90}) == (
        timedelta(hours=2)
    )


def test_a_stopped_reconciliation_resumes_instead_of_starting_over(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock, small_pages: None
) -> None:
    connect(app, "acme")
    link(app, "acme", "P1", "J1")
    for i in range(7):
        pipe.put("J1", f"c{i}")
        clock.advance(seconds=1)
    cnts.sync("acme", "pipeats")
    clock.advance(hours=25)
    original = pipe.atsbridge_list_candidates
    calls = 0

    def second_page_fails(session, query):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise AtsError("stopped at a checkpoint")
        return original(session, query)

    pipe.atsbridge_list_candidates = second_page_fails  # type: ignore[method-assign]
    (report,) = cnts.sync("acme", "pipeats")
    assert report.status == "failed" and report.pages == 1
    pipe.queries.clear()
    clock.advance(minutes=1)
    (report,) = cnts.sync("acme", "pipeats")
    assert [q.cursor for q in pipe.queries] == ["3", "6"]  # not from the first page again
    assert [q.updated_since for q in pipe.queries] == [None, None]  # still the full pass
    assert report.progress["mode"] == "full" and report.status == "succeeded"
    (report,) = cnts.sync("acme", "pipeats")
    assert report.progress["mode"] == "incremental"


def test_killed_first_pass_resumes_and_still_reconciles(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock, small_pages: None
) -> None:
    connect(app, "acme")
    link(app, "acme", "P1", "J1")
    for i in range(7):
        pipe.put("J1", f"c{i}")
        clock.advance(seconds=1)
    calls = 0
    original = pipe.atsbridge_list_candidates

    def flaky(session, query):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise AtsUnavailable("down")
        return original(session, query)

    pipe.atsbridge_list_candidates = flaky  # type: ignore[method-assign]
    with pytest.raises(AtsUnavailable):
        cnts.sync("acme", "pipeats")
    assert len(listed(cnts, "acme", "P1")) == 3  # the first page was committed
    clock.advance(minutes=5)
    cnts.sync("acme", "pipeats")
    assert listed(cnts, "acme", "P1") == set(pipe.pipelines["J1"])
    # The resumed pass was still the full one: it removes what the ATS dropped meanwhile.
    pipe.remove("J1", "c6")
    clock.advance(hours=25)
    cnts.sync("acme", "pipeats")
    assert listed(cnts, "acme", "P1") == set(pipe.pipelines["J1"])


def test_a_failing_job_does_not_stop_the_others(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts
) -> None:
    connect(app, "acme")
    link(app, "acme", "P1", "J1")
    link(app, "acme", "P2", "J2")
    pipe.put("J1", "a")
    pipe.put("J2", "b")
    pipe.fail_jobs["J1"] = AtsError("job J1 not found", status_code=404)
    reports = cnts.sync("acme", "pipeats")
    assert [(r.scope, r.status) for r in reports] == [("J1", "failed"), ("J2", "succeeded")]
    assert reports[0].errors == ["job J1 not found"]
    assert listed(cnts, "acme", "P2") == {"b"}
    with app.store.tenant("acme") as repo:
        failed = repo.all(repo.select(SyncRun).where(SyncRun.status == "failed"))
    assert [r.errors for r in failed] == [["job J1 not found"]]


def test_connection_wide_failure_stops_the_task(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts
) -> None:
    connect(app, "acme")
    link(app, "acme", "P1", "J1")
    link(app, "acme", "P2", "J2")
    pipe.fail_jobs["J1"] = AtsUnavailable("ATS down")
    with pytest.raises(AtsUnavailable):
        cnts.sync("acme", "pipeats")
    assert len([q for q in pipe.queries if q.job_ats_id == "J2"]) == 0


def test_identifiers_of_ats_candidates_all_match(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts
) -> None:
    connect(app, "acme", default_country="FR")
    link(app, "acme", "P1", "J1")
    pipe.put(
        "J1",
        "x",
        first_name="Léa",
        last_name="Dubois",
        emails=("lea@example.org", "L.E.A+work@gmail.com", "not-an-email"),
        phones=("06 12 34 56 78",),
        linkedin_url="https://fr.linkedin.com/in/Lea-Dubois/",
        company="Globex SA",
        city="Paris",
    )
    reports = cnts.sync("acme", "pipeats")
    assert any("not-an-email" in e for e in reports[0].errors)
    for person, rule in [
        (Person(emails=["lea@gmail.com"]), "email"),
        (Person(emails=["LEA@example.org"]), "email"),
        (Person(phones=["+33 6 12 34 56 78"]), "phone"),
        (Person(linkedin="linkedin.com/in/lea-dubois"), "linkedin"),
        (Person(name="LEA DUBOIS", company="globex"), "name+company"),
        (Person(name="lea dubois", city="PARIS"), "name+city"),
    ]:
        result = cnts.check("acme", "P1", person)
        assert (result.excluded, result.rule) == (True, rule), person
        assert result.matches[0].ats_candidate_id == "x"
    assert not cnts.check("acme", "P1", Person(name="Lea Dubois")).excluded
    assert not cnts.check("acme", "P1", Person(name="Lea Dubois", company="Initech")).excluded


def test_closed_links_are_not_synced_and_tenants_never_mix(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts
) -> None:
    connect(app, "acme")
    connect(app, "globex")
    link(app, "acme", "P1", "J1")
    link(app, "globex", "P1", "J2")
    pipe.put("J1", "a", emails=("shared@example.org",))
    pipe.put("J2", "b")
    cnts.sync("acme", "pipeats")
    assert listed(cnts, "acme", "P1") == {"a"}
    assert listed(cnts, "globex", "P1") == set()
    assert not cnts.check("globex", "P1", Person(emails=["shared@example.org"])).excluded
    cnts.sync("globex", "pipeats")
    assert listed(cnts, "globex", "P1") == {"b"}
    assert cnts.list_entries("globex", "P1", search="shared").total == 0


def test_parallel_workers_give_the_same_lists(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock, small_pages: None
) -> None:
    connect(app, "acme", cnts_sync_workers=3)
    for j in range(6):
        link(app, "acme", f"P{j}", f"J{j}")
        for i in range(j + 2):
            pipe.put(f"J{j}", f"c{j}-{i}")
    pipe.fail_jobs["J4"] = AtsError("job J4 not found", status_code=404)
    reports = cnts.sync("acme", "pipeats")
    assert [(r.scope, r.status) for r in reports] == [
        (f"J{j}", "failed" if j == 4 else "succeeded") for j in range(6)
    ]
    for j in range(6):
        expected = set() if j == 4 else set(pipe.pipelines[f"J{j}"])
        assert listed(cnts, "acme", f"P{j}") == expected


def test_parallel_workers_stop_on_a_connection_failure(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts
) -> None:
    connect(app, "acme", cnts_sync_workers=2)
    for j in range(8):
        link(app, "acme", f"P{j}", f"J{j}")
    pipe.fail_jobs["J0"] = AtsUnavailable("ATS down")
    pipe.fail_jobs["J1"] = AtsUnavailable("ATS down")
    with pytest.raises(AtsUnavailable):
        cnts.sync("acme", "pipeats")
    assert len({q.job_ats_id for q in pipe.queries}) < 8


def test_second_emails_and_phones_match_list_and_leave_with_their_person(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, clock: Clock
) -> None:
    from atsbridge.store.tables import CntsKey

    def extra_keys() -> set[tuple[str, str]]:
        with app.store.tenant("acme") as repo:
            return {(k.kind, k.value) for k in repo.all(repo.select(CntsKey))}

    connect(app, "acme", default_country="FR")
    link(app, "acme", "P1", "J1")
    pipe.put(
        "J1",
        "x",
        emails=("first@example.org", "second@example.org", "third@example.org"),
        phones=("+33 6 12 34 56 78", "+33 7 98 76 54 32"),
        linkedin_url="https://www.linkedin.com/in/x-person",
    )
    pipe.put("J1", "y", emails=("only@example.org",), phones=("+33 6 00 00 00 01",))
    cnts.sync("acme", "pipeats")
    # The first of each kind lives on the entry row; only the others are extra keys.
    assert extra_keys() == {
        ("email", "second@example.org"),
        ("email", "third@example.org"),
        ("phone", "+33798765432"),
    }
    for person, rule in [
        (Person(emails=["FIRST@example.org"]), "email"),
        (Person(emails=["third@example.org"]), "email"),
        (Person(phones=["07 98 76 54 32"]), "phone"),
        (Person(phones=["+33612345678"]), "phone"),
        (Person(linkedin="linkedin.com/in/X-Person/"), "linkedin"),
    ]:
        result = cnts.check("acme", "P1", person)
        assert (result.rule, [m.ats_candidate_id for m in result.matches]) == (rule, ["x"])
    (entry,) = [e for e in cnts.list_entries("acme", "P1").entries if e.ats_candidate_id == "x"]
    assert entry.emails == ("first@example.org", "second@example.org", "third@example.org")
    assert entry.phones == ("+33612345678", "+33798765432")
    assert entry.linkedin == "linkedin.com/in/x-person"
    for text in ("third@", "98765", "x-person", "first@example"):
        found = cnts.list_entries("acme", "P1", search=text).entries
        assert [e.ats_candidate_id for e in found] == ["x"], text

    # An edit rewrites the extra keys; a removal at the full pass takes them along.
    clock.advance(hours=1)
    pipe.put("J1", "x", emails=("second@example.org",), phones=())
    cnts.sync("acme", "pipeats")
    assert extra_keys() == set()
    assert cnts.check("acme", "P1", Person(emails=["second@example.org"])).excluded
    assert not cnts.check("acme", "P1", Person(emails=["third@example.org"])).excluded
    assert not cnts.check("acme", "P1", Person(phones=["+33798765432"])).excluded
    pipe.put("J1", "x", emails=("a@example.org", "b@example.org"))
    clock.advance(hours=1)
    cnts.sync("acme", "pipeats")
    assert extra_keys() == {("email", "b@example.org")}
    pipe.remove("J1", "x")
    clock.advance(days=2)
    cnts.sync("acme", "pipeats")
    assert listed(cnts, "acme", "P1") == {"y"}
    assert extra_keys() == set()


def test_each_next_jobs_first_page_is_fetched_ahead_and_a_wrong_guess_is_dropped(
    app: Atsbridge, cnts: CntsService, pipe: PipelineAts, monkeypatch: pytest.MonkeyPatch
) -> None:
    from atsbridge.services.sync import SyncRunner

    connect(app, "acme")
    for j in range(4):
        link(app, "acme", f"P{j}", f"J{j}")
        pipe.put(f"J{j}", f"c{j}")
    cnts.sync("acme", "pipeats")
    # Fetched ahead with the guessed start, and used: one request per job, none wasted.
    assert [q.job_ats_id for q in pipe.queries] == ["J0", "J1", "J2", "J3"]

    pipe.queries.clear()
    real = SyncRunner.pass_starts

    def wrong_guess(self, session, kind, plans):  # type: ignore[no-untyped-def]
        return {scope: (scope, "7", None) for scope in real(self, session, kind, plans)}

    monkeypatch.setattr(SyncRunner, "pass_starts", wrong_guess)
    for j in range(4):
        pipe.put(f"J{j}", f"d{j}")
    cnts.sync("acme", "pipeats", full=True)
    for j in range(4):
        assert listed(cnts, "acme", f"P{j}") == {f"c{j}", f"d{j}"}
    # J1..J3 were each asked once at the guessed cursor (thrown away), then from the start.
    guessed = [q.job_ats_id for q in pipe.queries if q.cursor == "7"]
    assert guessed == ["J1", "J2", "J3"]
    assert [q.job_ats_id for q in pipe.queries if q.cursor is None] == ["J0", "J1", "J2", "J3"]


def test_the_heap_alive_before_a_sync_is_kept_out_of_collections_while_it_runs(
    app: Atsbridge, pipe: PipelineAts
) -> None:
    connect(app, "acme")
    for j in range(3):
        link(app, "acme", f"P{j}", f"J{j}")
        pipe.put(f"J{j}", f"c{j}")
    before = gc.get_freeze_count()
    frozen: list[int] = []
    with app.open_session("acme", "pipeats") as session:
        cnts_module.sync_candidates(
            app, session, on_progress=lambda report: frozen.append(gc.get_freeze_count())
        )
    assert frozen and min(frozen) > 0  # the collector skipped what was alive at the start
    assert gc.get_freeze_count() == before == 0  # and collects it again afterwards
