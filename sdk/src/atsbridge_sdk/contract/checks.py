"""The standard contract checks. Each takes a ``Harness`` and raises ``ContractFailure``.

They are plain functions so the kit's own tests can run one against a broken plugin and
read its message; ``ContractSuite`` wraps each in a pytest test.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import jsonschema
from atsbridge.errors import AuthError
from atsbridge.model import (
    Attachment,
    CandidateQuery,
    CandidateStatus,
    Education,
    Experience,
    JobQuery,
    JobState,
    JobStatus,
    Lead,
    Location,
    PushResult,
)

from atsbridge_sdk.contract import account, control
from atsbridge_sdk.contract.harness import (
    Harness,
    NotApplicable,
    capture_logs,
    fail,
    job_matches_text,
    record_text,
    require_stamps_apart,
)
from atsbridge_sdk.contract.harness import few as _few
from atsbridge_sdk.contract.harness import open_jobs as _open_jobs
from atsbridge_sdk.sandbox.base import JobFacts, Sandbox
from atsbridge_sdk.sandbox.seed import BASE_TIME, make_person
from atsbridge_sdk.sandbox.server import Faults, TokenBucketLimit, WindowLimit

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _mask(text: str, secret: str) -> str:
    return text.replace(secret, "<SECRET>")


# --- describe -----------------------------------------------------------------------------


def check_plugin_info(h: Harness) -> None:
    """Config schema is valid JSON Schema, marks a secret, and setup steps exist."""
    info = h.info()
    schema = info.config_schema
    if not isinstance(schema, dict):
        raise fail(f"config_schema must be a dict, got {type(schema).__name__}")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise fail(f"config_schema is not valid JSON Schema at {where}: {exc.message}") from None
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        raise fail('config_schema must describe an object ("type": "object" with properties)')
    if not h.secret_fields():
        raise fail(
            "config_schema marks no field secret: mark credentials with "
            '"writeOnly": true or "x-secret": true so the core encrypts and masks them'
        )
    if not isinstance(info.setup_instructions, str) or not info.setup_instructions.strip():
        raise fail("setup_instructions are empty: tell the ATS admin how to create credentials")
    with h.sandbox() as sandbox:
        validator = jsonschema.Draft202012Validator(schema)
        for valid in (True, False):
            config = sandbox.connection_config(valid=valid)
            errors = sorted(validator.iter_errors(config), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or "(root)"
                raise fail(
                    f"sandbox.connection_config(valid={valid}) does not match config_schema "
                    f"at {where}: {errors[0].message}"
                )


# --- auth -------------------------------------------------------------------------------------


def check_bad_credentials(h: Harness) -> None:
    """Wrong credentials fail open_session with a clear AuthError; good ones open."""
    with h.sandbox() as sandbox:
        bad_secrets = [v for k, v in h.secret_values(sandbox).items() if "bad credentials" in k]
        try:
            session = h.open(sandbox, valid=False)
        except AuthError as exc:
            message = str(exc)
            if len(message.strip()) < 10 or "\n" in message.strip():
                raise fail(
                    f"the AuthError for bad credentials should be one clear line, got {message!r}"
                ) from None
            for secret in bad_secrets:
                if secret in message:
                    raise fail(
                        "the AuthError for bad credentials contains the credential: "
                        + _mask(message, secret)
                    ) from None
        except Exception as exc:
            raise fail(
                f"open_session with bad credentials raised {type(exc).__name__} ({exc}); "
                "it must raise atsbridge.errors.AuthError"
            ) from None
        else:
            close = getattr(session, "close", None)
            if callable(close):
                close()
            raise fail(
                "open_session accepted bad credentials: it must make one authenticated "
                "request and raise AuthError when the ATS refuses it"
            )
        with h.session(sandbox) as session:
            if not callable(getattr(session, "close", None)):
                raise fail("the session returned by open_session has no close() method")


# --- jobs ---------------------------------------------------------------------------------------


def check_job_search_pages_through_everything(h: Harness) -> None:
    """Paging through search_jobs returns every sandbox job, each once, fields filled."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        facts = {j.ats_id: j for j in sandbox.jobs()}
        if len(facts) <= h.page_size:
            raise fail(f"the sandbox has {len(facts)} jobs; seed more than page_size")
        jobs, pages = h.all_jobs(session)
        counts = Counter(j.ats_id for j in jobs)
        dupes = [i for i, n in counts.items() if n > 1]
        if dupes:
            raise fail(f"search_jobs returned jobs twice across pages: {_few(dupes)}")
        missing = set(facts) - set(counts)
        if missing:
            raise fail(
                f"paging through search_jobs (page_size={h.page_size}, {pages} pages) missed "
                f"{len(missing)} of {len(facts)} sandbox jobs: {_few(missing)}"
            )
        unknown = set(counts) - set(facts)
        if unknown:
            raise fail(f"search_jobs returned ids the sandbox does not have: {_few(unknown)}")
        if pages < 2:
            raise fail(
                f"search_jobs returned {len(jobs)} jobs in one page although "
                f"page_size={h.page_size}: JobQuery.page_size must be honoured"
            )
        for job in jobs:
            _check_job_fields(job, facts[job.ats_id])


def _check_job_fields(job: Any, fact: JobFacts) -> None:
    if job.title != fact.title:
        raise fail(f"job {job.ats_id}: title {job.title!r}, sandbox has {fact.title!r}")
    if job.status != fact.status:
        raise fail(f"job {job.ats_id}: status {job.status}, sandbox has {fact.status}")
    if fact.reference and job.reference != fact.reference:
        raise fail(f"job {job.ats_id}: reference {job.reference!r}, sandbox {fact.reference!r}")
    if fact.city:
        places = " ".join(loc.words() for loc in job.locations)
        if fact.city.casefold() not in places.casefold():
            raise fail(f"job {job.ats_id}: locations {places!r} do not name the city {fact.city!r}")


def check_job_search_finds_by_text(h: Harness) -> None:
    """A title word, a city and a partial reference each find the job (core filter applied)."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        target = _open_jobs(sandbox, 1)[0]
        title_word = max(target.title.replace(",", " ").split(), key=len)
        queries = {"title word": title_word}
        if target.city:
            queries["city"] = target.city
        if target.reference and len(target.reference) >= 3:
            ref = target.reference
            queries["partial reference"] = ref[1:-1] if len(ref) > 4 else ref[:-1]
        for what, text in queries.items():
            query = JobQuery(text=text, page_size=max(h.page_size, 25))
            jobs, _ = h.all_jobs(session, query)
            found = [j for j in jobs if job_matches_text(j, text)]
            if target.ats_id not in {j.ats_id for j in found}:
                returned = (
                    "it was not returned"
                    if target.ats_id not in {j.ats_id for j in jobs}
                    else "it was returned but its title/location/reference do not contain it"
                )
                raise fail(
                    f"search_jobs(text={text!r}) ({what}) does not find job {target.ats_id} "
                    f"{target.title!r}: {returned}"
                )


def check_job_search_honours_updated_since(h: Harness) -> None:
    """updated_since returns only jobs changed since then, in few requests."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        renamed, closed = _open_jobs(sandbox, 2)
        new_title = f"{renamed.title} Relaunched"
        sandbox.rename_job(renamed.ats_id, new_title)
        sandbox.set_job_status(closed.ats_id, JobStatus.CLOSED)
        after = {j.ats_id: j for j in sandbox.jobs()}
        changed = {renamed.ats_id, closed.ats_id}
        since = min(after[i].updated_at for i in changed) - timedelta(seconds=1)
        unchanged_max = max(j.updated_at for i, j in after.items() if i not in changed)
        if since <= unchanged_max:
            raise fail(
                "sandbox.rename_job/set_job_status must move updated_at at least 1 s past "
                "every other job's, so updated_since can be checked"
            )
        sandbox.clear_log()
        jobs, _ = h.all_jobs(session, JobQuery(updated_since=since, page_size=h.page_size))
        requests = len(sandbox.request_log)
        ids = {j.ats_id for j in jobs}
        if changed - ids:
            raise fail(
                f"search_jobs(updated_since={since.isoformat()}) missed changed jobs "
                f"{_few(changed - ids)}"
            )
        extra = ids - changed
        if extra:
            raise fail(
                f"search_jobs(updated_since={since.isoformat()}) returned {len(extra)} jobs "
                f"not updated since then ({_few(extra)}): updated_since must be sent to the "
                "ATS, not ignored"
            )
        by_id = {j.ats_id: j for j in jobs}
        if by_id[renamed.ats_id].title != new_title:
            raise fail(f"the renamed job came back titled {by_id[renamed.ats_id].title!r}")
        if by_id[closed.ats_id].status != JobStatus.CLOSED:
            raise fail(f"the closed job came back as {by_id[closed.ats_id].status}")
        if requests > 3:
            raise fail(
                f"an incremental search for 2 changed jobs made {requests} requests; "
                "expected one page (at most 3 requests)"
            )
        sandbox.clear_log()
        quiet_since = max(j.updated_at for j in after.values()) + timedelta(seconds=1)
        jobs, _ = h.all_jobs(session, JobQuery(updated_since=quiet_since, page_size=h.page_size))
        if jobs:
            raise fail(
                f"search_jobs(updated_since={quiet_since.isoformat()}) after the last change "
                f"returned {_few(j.ats_id for j in jobs)}"
            )
        if len(sandbox.request_log) > 2:
            raise fail(
                f"a run with no changes made {len(sandbox.request_log)} requests; expected 1"
            )


def check_job_status_reports_closed_jobs(h: Harness) -> None:
    """A job closed in the sandbox is reported closed; an unknown id as gone."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        closed, still_open = _open_jobs(sandbox, 2)
        sandbox.close_job(closed.ats_id)
        ids = [closed.ats_id, still_open.ats_id]
        if h.unknown_job_id is not None:
            ids.append(h.unknown_job_id)
        states = session_call(h, "atsbridge_job_statuses", session=session, job_ids=list(ids))
        if not isinstance(states, list) or not all(isinstance(s, JobState) for s in states):
            raise fail("atsbridge_job_statuses must return a list of JobState")
        by_id = {s.ats_id: s for s in states}
        if set(by_id) != set(ids):
            raise fail(
                f"job_statuses({ids}) answered for {sorted(by_id)}; expected one state per id"
            )
        if by_id[closed.ats_id].status != JobStatus.CLOSED:
            raise fail(
                f"job {closed.ats_id} was closed in the sandbox but job_statuses reports "
                f"{by_id[closed.ats_id].status.value} ({by_id[closed.ats_id].status_raw!r})"
            )
        if by_id[still_open.ats_id].status != JobStatus.OPEN:
            raise fail(f"open job {still_open.ats_id} reported {by_id[still_open.ats_id].status}")
        if h.unknown_job_id is not None:
            gone = by_id[h.unknown_job_id]
            if gone.exists or gone.status != JobStatus.CLOSED:
                raise fail(
                    f"unknown job {h.unknown_job_id} must be reported exists=False, closed; "
                    f"got exists={gone.exists}, {gone.status.value}"
                )


def session_call(h: Harness, hook: str, **kw: Any) -> Any:
    return getattr(h.plugin, hook)(**kw)


# --- candidates --------------------------------------------------------------------------------


def check_candidate_listing_returns_the_whole_pipeline(h: Harness) -> None:
    """Every person of a job's pipeline, every stage, across pages, each once."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        for fact in _open_jobs(sandbox, 2):
            expected = sandbox.pipeline(fact.ats_id)
            if len(expected) <= h.page_size:
                raise fail(
                    f"job {fact.ats_id} has {len(expected)} candidates; seed more than page_size"
                )
            rejected, hired = expected[0], expected[1]
            sandbox.move_candidate(fact.ats_id, rejected, CandidateStatus.REJECTED)
            sandbox.move_candidate(fact.ats_id, hired, CandidateStatus.HIRED)
            people, pages = h.all_candidates(session, fact.ats_id)
            counts = Counter(c.ats_id for c in people)
            dupes = [i for i, n in counts.items() if n > 1]
            if dupes:
                raise fail(f"list_candidates({fact.ats_id}) repeated candidates {_few(dupes)}")
            missing = set(expected) - set(counts)
            if missing:
                raise fail(
                    f"paging through list_candidates({fact.ats_id}) (page_size={h.page_size}, "
                    f"{pages} pages) missed {len(missing)} of {len(expected)} candidates: "
                    f"{_few(missing)}"
                )
            if set(counts) - set(expected):
                raise fail(
                    f"list_candidates({fact.ats_id}) returned people not in its pipeline: "
                    f"{_few(set(counts) - set(expected))}"
                )
            if pages < 2:
                raise fail("list_candidates ignored CandidateQuery.page_size (one page)")
            wrong_job = [c.ats_id for c in people if c.job_ats_id != fact.ats_id]
            if wrong_job:
                raise fail(f"candidates {_few(wrong_job)} do not carry job_ats_id {fact.ats_id}")
            by_id = {c.ats_id: c for c in people}
            for cid, status in (
                (rejected, CandidateStatus.REJECTED),
                (hired, CandidateStatus.HIRED),
            ):
                if by_id[cid].status != status:
                    raise fail(
                        f"candidate {cid} was moved to {status.value} in the sandbox but is "
                        f"listed as {by_id[cid].status.value}"
                    )


def check_candidate_listing_honours_updated_since(h: Harness) -> None:
    """updated_since returns only the moved and the added candidate."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        job = _open_jobs(sandbox, 1)[0]
        before, _ = h.all_candidates(session, job.ats_id)
        moved = next(
            (c for c in before if c.status != CandidateStatus.INTERVIEWING), before[0]
        ).ats_id
        sandbox.move_candidate(job.ats_id, moved, CandidateStatus.INTERVIEWING)
        person = make_person(random.Random(h.options.seed), 990_001, BASE_TIME)
        added = sandbox.add_candidate(job.ats_id, person)
        after, _ = h.all_candidates(session, job.ats_id)
        if added not in {c.ats_id for c in after}:
            raise fail(f"a candidate added to job {job.ats_id} ({added}) is not listed")
        missing_time = [c.ats_id for c in after if c.updated_at is None]
        if missing_time:
            raise fail(
                f"candidates {_few(missing_time)} have no updated_at: list_candidates must "
                "report it so incremental sync can be checked"
            )
        changed = {moved, added}
        stamps: dict[str, datetime] = {c.ats_id: c.updated_at for c in after}  # type: ignore[misc]
        since = min(stamps[i] for i in changed) - timedelta(seconds=1)
        require_stamps_apart(since, [t for i, t in stamps.items() if i not in changed])
        sandbox.clear_log()
        listed, _ = h.all_candidates(session, job.ats_id, updated_since=since)
        ids = {c.ats_id for c in listed}
        if changed - ids:
            raise fail(
                f"list_candidates(updated_since={since.isoformat()}) missed changed "
                f"candidates {_few(changed - ids)}"
            )
        if ids - changed:
            raise fail(
                f"list_candidates(updated_since={since.isoformat()}) returned "
                f"{len(ids - changed)} candidates not changed since then "
                f"({_few(ids - changed)}): updated_since must be sent to the ATS"
            )
        if len(sandbox.request_log) > 3:
            raise fail(
                f"an incremental listing of 2 changed candidates made "
                f"{len(sandbox.request_log)} requests; expected one page"
            )
        status = {c.ats_id: c.status for c in listed}[moved]
        if status != CandidateStatus.INTERVIEWING:
            raise fail(f"candidate {moved} moved to interviewing is listed as {status.value}")


# --- lead push ------------------------------------------------------------------------------------


def contract_lead(tag: str) -> Lead:
    return Lead(
        id=f"contract-{tag}",
        first_name="Ada",
        last_name=f"Contract{tag.title().replace('-', '')}",
        emails=(f"ada.contract.{tag}@example.net",),
        phones=("+33 6 12 34 56 78",),
        linkedin_url=f"https://www.linkedin.com/in/ada-contract-{tag}/",
        headline="Staff Engineer",
        location=Location(city="Paris", region="Île-de-France", country_code="FR"),
        educations=(Education("Université Paris Cité", "MSc", "Computer Science", "2012-09"),),
        experiences=(Experience("Globex", "Staff Engineer", "2019-01", current=True),),
        tags=("sourced",),
        attachments=(Attachment("ada-cv.pdf", "application/pdf", b"%PDF-1.4 contract kit"),),
    )


def _push(h: Harness, session: Any, job_id: str, lead: Lead, key: str) -> PushResult:
    result = h.plugin.atsbridge_push_lead(
        session=session, job_id=job_id, lead=lead, idempotency_key=key
    )
    if not isinstance(result, PushResult):
        raise fail(f"atsbridge_push_lead returned {type(result).__name__}, not PushResult")
    return result


def _assert_one_person(sandbox: Sandbox, lead: Lead, job_id: str, when: str) -> None:
    people = sandbox.people(lead.emails[0])
    if len(people) != 1:
        raise fail(
            f"{when}: the sandbox holds {len(people)} people with {lead.emails[0]}; "
            "expected exactly 1 (a replay with the same idempotency key must not duplicate)"
        )
    applications = people[0].job_ids.count(job_id)
    if applications != 1:
        raise fail(
            f"{when}: the person has {applications} applications on job {job_id}; expected 1"
        )


def check_lead_push_is_idempotent(h: Harness) -> None:
    """A push creates one person with one application; a replay creates nothing."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        job = _open_jobs(sandbox, 1)[0]
        lead = contract_lead("push")
        key = f"contract-kit:{job.ats_id}:{lead.id}"
        first = _push(h, session, job.ats_id, lead, key)
        if first.already_existed:
            raise fail("the first push of a new lead reported already_existed=True")
        _assert_one_person(sandbox, lead, job.ats_id, "after one push")
        person = sandbox.people(lead.emails[0])[0]
        if (person.first_name, person.last_name) != (lead.first_name, lead.last_name):
            raise fail(f"pushed person is named {person.first_name} {person.last_name}")
        again = _push(h, session, job.ats_id, lead, key)
        _assert_one_person(sandbox, lead, job.ats_id, "after replaying the push")
        if not again.already_existed:
            raise fail("replaying a push with the same idempotency key must report already_existed")
        if again.candidate_id != first.candidate_id:
            raise fail(
                f"the replay reported candidate {again.candidate_id}, the first push "
                f"{first.candidate_id}"
            )


def check_lead_push_replay_after_lost_response(h: Harness) -> None:
    """The first write's answer is lost (a timeout); the replay still creates no duplicate."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        job = _open_jobs(sandbox, 1)[0]
        lead = contract_lead("lost")
        key = f"contract-kit:{job.ats_id}:{lead.id}"
        sandbox.set_faults(Faults(lost_response_rate=1.0, methods=WRITE_METHODS, max_faults=1))
        try:
            _push(h, session, job.ats_id, lead, key)
        except AssertionError:
            raise
        except Exception:  # the timeout the core would see; it retries the push later
            pass
        sandbox.set_faults(Faults())
        lost = [r for r in sandbox.request_log if r.fault == "lost_response"]
        if not lost:
            raise fail("the push made no POST/PUT/PATCH request, so no answer could be lost")
        result = _push(h, session, job.ats_id, lead, key)
        _assert_one_person(sandbox, lead, job.ats_id, "after a lost answer and a replay")
        if not result.candidate_id:
            raise fail("the replayed push returned no candidate_id")


# --- faults and limits -------------------------------------------------------------------------


def _snapshot(h: Harness, session: Any, job_ids: list[str]) -> tuple[list, dict[str, list]]:
    jobs, _ = h.all_jobs(session)
    people = {j: sorted(h.all_candidates(session, j)[0], key=lambda c: c.ats_id) for j in job_ids}
    return sorted(jobs, key=lambda j: j.ats_id), people


def check_results_identical_under_faults(h: Harness) -> None:
    """With injected faults (5xx, 429, drops, truncation, slowness) results do not change."""
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        job_ids = [j.ats_id for j in _open_jobs(sandbox, 2)]
        clean_jobs, clean_people = _snapshot(h, session, job_ids)
        sandbox.set_faults(Faults.mixed(h.fault_rate, seed=h.fault_seed))
        sandbox.clear_log()
        try:
            faulty_jobs, faulty_people = _snapshot(h, session, job_ids)
        except AssertionError:
            raise
        except Exception as exc:
            injected = Counter(r.fault for r in sandbox.request_log if r.fault)
            raise fail(
                f"with {h.fault_rate:.0%} injected faults ({dict(injected)}) the plugin gave up: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        finally:
            sandbox.set_faults(Faults())
        injected = Counter(r.fault for r in sandbox.request_log if r.fault)
        if not injected:
            raise fail("no fault was injected; raise fault_rate or the number of requests")
        if faulty_jobs != clean_jobs:
            lost = {j.ats_id for j in clean_jobs} - {j.ats_id for j in faulty_jobs}
            raise fail(
                f"job search under faults ({dict(injected)}) differs from the fault-free run"
                + (f": missing {_few(lost)}" if lost else "")
            )
        for job_id in job_ids:
            if faulty_people[job_id] != clean_people[job_id]:
                raise fail(
                    f"candidates of job {job_id} under faults ({dict(injected)}) differ from "
                    "the fault-free run"
                )


def _requests_to_exceed(limit: TokenBucketLimit | WindowLimit) -> int:
    if isinstance(limit, TokenBucketLimit):
        return limit.burst + max(5, math.ceil(limit.rate / 2))
    return limit.limit + 5


def check_rate_limit_never_exceeded(h: Harness) -> None:
    """Paging a rate-limited sandbox with the plugin's own pacing causes no 429."""
    with h.sandbox() as probe:
        limit = probe.rate_limit
    if limit is None:
        raise fail(
            "the sandbox declares no rate_limit: set TokenBucketLimit/WindowLimit as the real "
            "ATS enforces it"
        )
    needed = h.rate_limit_requests or _requests_to_exceed(limit)
    with h.sandbox(rate_limited=True, jobs=needed + 1, candidates_per_job=1) as sandbox:
        if not sandbox.enforce_rate_limit:
            raise fail("the sandbox ignores SandboxOptions(rate_limited=True)")
        with h.session(sandbox, rate_limit=None) as session:
            sandbox.clear_log()
            query = JobQuery(page_size=1)
            # Stop as soon as enough requests went out: pacing makes each one cost time.
            for _ in range(needed + 1):
                page = h.plugin.atsbridge_search_jobs(session=session, query=query)
                if page.next_cursor is None or len(sandbox.request_log) >= needed:
                    break
                query = JobQuery(page_size=1, cursor=page.next_cursor)
        made = len(sandbox.request_log)
        if made < needed:
            raise fail(
                f"paging with page_size=1 made only {made} requests; the kit needs {needed} "
                "to go past the sandbox's burst (is JobQuery.page_size honoured?)"
            )
        if sandbox.rate_limit_violations:
            raise fail(
                f"the plugin exceeded the sandbox's rate limit {limit}: "
                f"{sandbox.rate_limit_violations} of {made} requests got 429; declare the "
                "ATS's limit (a little under it) in PluginInfo.rate_limit and use HttpClient"
            )


def check_retry_after_is_honoured(h: Harness) -> None:
    """After a 429 with Retry-After, the next request waits at least that long."""
    wait = h.retry_after_seconds
    with h.sandbox() as sandbox, h.session(sandbox) as session:
        expected = {j.ats_id for j in sandbox.jobs()}
        sandbox.set_faults(Faults(throttle_rate=1.0, retry_after=f"{wait:g}", max_faults=2))
        sandbox.clear_log()
        try:
            jobs, _ = h.all_jobs(session)
        except AssertionError:
            raise
        except Exception as exc:
            raise fail(
                f"a 429 with Retry-After: {wait:g} made search_jobs fail: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        finally:
            sandbox.set_faults(Faults())
        log = sorted(sandbox.request_log, key=lambda r: r.started)
        throttled = [i for i, r in enumerate(log) if r.fault == "throttle"]
        if not throttled:
            raise fail("no 429 was injected (the plugin made no request?)")
        for i in throttled:
            if i + 1 >= len(log):
                raise fail("after a 429 the plugin gave up instead of retrying")
            gap = log[i + 1].started - log[i].ended
            if gap < wait - 0.02:
                raise fail(
                    f"the plugin retried {gap:.3f} s after a 429 with Retry-After: {wait:g}; "
                    "it must wait the time the ATS asks for"
                )
        if {j.ats_id for j in jobs} != expected:
            raise fail("after 429s the job search did not return every job")


def check_no_secret_in_logs_or_errors(h: Harness) -> None:
    """No credential (config secret or sent token) in DEBUG logs, errors or reprs."""
    with h.sandbox() as sandbox:
        texts: list[tuple[str, str]] = []
        with capture_logs() as records:
            try:
                h.open(sandbox, valid=False)
            except Exception as exc:
                texts.append(("the bad-credentials error", f"{exc!r} {exc}"))
            with h.session(sandbox) as session:
                texts.append(("repr(session)", repr(session)))
                job = _open_jobs(sandbox, 1)[0]
                sandbox.set_faults(Faults(throttle_rate=1.0, retry_after="0.05", max_faults=1))
                h.plugin.atsbridge_search_jobs(session=session, query=JobQuery(page_size=2))
                sandbox.set_faults(Faults())
                h.plugin.atsbridge_list_candidates(
                    session=session,
                    query=CandidateQuery(job_ats_id=job.ats_id, page_size=h.page_size),
                )
                h.plugin.atsbridge_job_statuses(session=session, job_ids=[job.ats_id])
                lead = contract_lead("secrets")
                _push(h, session, job.ats_id, lead, f"contract-kit:{job.ats_id}:{lead.id}")
        secrets = h.secret_values(sandbox)
        texts += [
            (f"a log record from {r.name!r} ({r.levelname})", record_text(r)) for r in records
        ]
        for label, secret in secrets.items():
            for where, text in texts:
                if secret in text:
                    excerpt = _mask(text, secret)[:200]
                    raise fail(f"{label} appears in {where}: {excerpt!r}")


# Every check, in the order a plugin author fixes them.
ALL_CHECKS: dict[str, Callable[[Harness], None]] = {
    "plugin_info": check_plugin_info,
    "bad_credentials": check_bad_credentials,
    "job_search_pages": check_job_search_pages_through_everything,
    "job_search_text": check_job_search_finds_by_text,
    "job_search_updated_since": check_job_search_honours_updated_since,
    "job_status": check_job_status_reports_closed_jobs,
    "candidates_pipeline": check_candidate_listing_returns_the_whole_pipeline,
    "candidates_updated_since": check_candidate_listing_honours_updated_since,
    "lead_push_idempotent": check_lead_push_is_idempotent,
    "lead_push_lost_response": check_lead_push_replay_after_lost_response,
    "faults": check_results_identical_under_faults,
    "rate_limit": check_rate_limit_never_exceeded,
    "retry_after": check_retry_after_is_honoured,
    "no_secrets": check_no_secret_in_logs_or_errors,
    "sandbox_control": control.check_sandbox_control_api,
    # Only for plugins declaring Capability.ACCOUNT_CANDIDATES (others: not applicable).
    "account_candidates_pages": account.check_account_listing_returns_every_application,
    "account_candidates_updated_since": account.check_account_listing_honours_updated_since,
    "account_candidates_no_change": account.check_account_listing_no_change_costs_one_request,
}


def run_checks(h: Harness, names: Iterable[str] | None = None) -> dict[str, str | None]:
    """Run checks by name; map each to None (passed) or its failure message.

    A check that does not apply to the plugin (a capability it does not declare) is left
    out of the answer.
    """
    out: dict[str, str | None] = {}
    for name in names or ALL_CHECKS:
        try:
            ALL_CHECKS[name](h)
        except NotApplicable:
            continue
        except AssertionError as exc:
            out[name] = str(exc)
        else:
            out[name] = None
    return out
