"""Fidelity of the fake Workday: raw SOAP over HTTP, as the real service is spoken to."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from atsbridge.model import SandboxOptions
from atsbridge_workday import mapping, soap
from atsbridge_workday.sandbox import ISU, PASSWORD, TENANT, VERSION, WorkdaySandbox
from atsbridge_workday.soap import FaultKind, sub, wd

PATH = f"/ccx/service/{TENANT}/Recruiting/{VERSION}"


def post(
    sb,
    op: ET.Element,
    *,
    user=ISU,
    password=PASSWORD,
    path=PATH,
    ctype=soap.CONTENT_TYPE,
    body: bytes | None = None,
    headers=None,
):
    content = body if body is not None else soap.envelope(op, username=user, password=password)
    return httpx.post(
        sb.url + path, content=content, headers={"Content-Type": ctype, **(headers or {})}
    )


def ok(response) -> ET.Element:
    assert response.status_code == 200, response.text
    return soap.body_child(soap.parse(response.content, "t"), "t")


def fault(response, status=500) -> soap.SoapFault:
    assert response.status_code == status, response.text
    found = soap.parse_fault(response.content)
    assert found is not None
    return found


def test_auth_is_ws_security_username_token(notes_sandbox):
    op = mapping.get_job_requisitions(VERSION, page=1, count=1)
    assert fault(post(notes_sandbox, op, password="nope")).kind == FaultKind.AUTH
    assert fault(post(notes_sandbox, op, user="isu_atsbridge")).kind == FaultKind.AUTH
    no_header = soap.envelope(op)
    assert fault(post(notes_sandbox, op, body=no_header)).kind == FaultKind.AUTH
    other_tenant = f"/ccx/service/other/Recruiting/{VERSION}"
    assert fault(post(notes_sandbox, op, path=other_tenant)).kind == FaultKind.AUTH
    assert ok(post(notes_sandbox, op)).tag == wd("Get_Job_Requisitions_Response")


def test_oauth_token_endpoint_and_bearer(notes_sandbox):
    sb = notes_sandbox
    url = f"{sb.url}/ccx/oauth2/{TENANT}/token"
    cfg = sb.connection_config(auth="oauth")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": cfg["refresh_token"],
        "client_id": cfg["client_id"],
        "client_secret": cfg["client_secret"],
    }
    bad = httpx.post(url, data={**form, "refresh_token": "x"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    assert httpx.post(url, data={**form, "client_secret": "x"}).status_code == 401
    token = httpx.post(url, data=form).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    op = mapping.get_job_requisitions(VERSION, page=1, count=1)
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert ok(post(sb, op, body=soap.envelope(op), headers=bearer)) is not None
    stale = {"Authorization": "Bearer stale"}
    assert fault(post(sb, op, body=soap.envelope(op), headers=stale)).kind == FaultKind.AUTH


def test_request_shape_is_enforced(notes_sandbox):
    sb = notes_sandbox
    op = mapping.get_job_requisitions(VERSION, page=1, count=1)
    assert "text/xml" in fault(post(sb, op, ctype="application/json")).message
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "a">]><x>&a;</x>'
    assert "Unable to parse" in fault(post(sb, op, body=bomb)).message  # no DTDs, ever
    unknown = ET.Element(wd("Get_Workers_Request"))
    assert "not supported" in fault(post(sb, unknown)).describe()
    too_many = mapping.get_job_requisitions(VERSION, page=1, count=10)
    too_many.find(f"{wd('Response_Filter')}/{wd('Count')}").text = "1000"
    f = fault(post(sb, too_many))
    assert f.kind == FaultKind.VALIDATION
    assert f.errors[0].xpath.endswith("wd:Response_Filter/wd:Count")


def test_paging_reports_totals_until_last_page(notes_sandbox):
    sb = notes_sandbox
    seen, page = [], 1
    while True:
        res = ok(post(sb, mapping.get_job_requisitions(VERSION, page=page, count=5)))
        info = mapping.page_info(res)
        assert (info.page, info.total_pages, info.total_results) == (page, 3, 12)
        seen += [j.ats_id for j in mapping.parse_requisitions(res)]
        if info.page == info.total_pages:
            break
        page += 1
    assert sorted(seen) == sorted(j.ats_id for j in sb.jobs())
    beyond = ok(post(sb, mapping.get_job_requisitions(VERSION, page=9, count=5)))
    assert mapping.parse_requisitions(beyond) == [] and mapping.page_info(beyond).page == 9


def test_request_references_and_skip_non_existing(notes_sandbox, monkeypatch):
    sb = notes_sandbox
    known = sb.jobs()[0].ats_id
    res = ok(post(sb, mapping.get_job_requisitions_by_id(VERSION, [known, "NOPE-1"])))
    assert [j.ats_id for j in mapping.parse_requisitions(res)] == [known]
    monkeypatch.setattr(mapping.U, "SKIP_NON_EXISTING", False)
    f = fault(post(sb, mapping.get_job_requisitions_by_id(VERSION, [known, "NOPE-1"])))
    assert f.kind == FaultKind.NOT_FOUND and "'NOPE-1'" in f.describe()


def test_transaction_log_range_filters(notes_sandbox):
    sb = notes_sandbox
    jobs = sorted(sb.jobs(), key=lambda j: j.updated_at)
    middle = jobs[6].updated_at
    op = mapping.get_job_requisitions(
        VERSION, page=1, count=100, updated_from=middle, updated_through=jobs[-1].updated_at
    )
    got = {j.ats_id for j in mapping.parse_requisitions(ok(post(sb, op)))}
    assert got == {j.ats_id for j in jobs if j.updated_at >= middle}
    op.find(f".//{wd('Updated_From')}").text = "last week"
    assert fault(post(sb, op)).kind == FaultKind.VALIDATION


def put_op(job_id: str, **change) -> ET.Element:
    from atsbridge.model import Experience, Lead

    lead = Lead(
        id="l",
        first_name="A",
        last_name="B",
        emails=("ab@example.org",),
        experiences=(Experience("Globex", "Eng", "2020"),),
    )
    op, _ = mapping.put_candidate(VERSION, job_id, lead, stage="Review")
    return op


def test_put_candidate_validations_name_the_xpath(notes_sandbox):
    sb = notes_sandbox
    open_job = next(j.ats_id for j in sb.jobs() if j.status.value == "open")
    op = put_op(open_job)
    op.find(f".//{wd('Stage_Reference')}").clear()
    f = fault(post(sb, op))
    assert f.kind == FaultKind.VALIDATION and f.errors[0].xpath.endswith("wd:Stage_Reference")
    # The tenant's own stage ids only: the default process's REVIEW is not one of them.
    op = put_op(open_job)
    op.find(f".//{wd('Stage_Reference')}/{wd('ID')}").text = "REVIEW"
    f = fault(post(sb, op))
    assert "'REVIEW' is not a valid ID value for type = 'Recruiting_Stage_ID'" in f.message
    assert f.errors[0].xpath.endswith("wd:Stage_Reference/wd:ID")
    sb.stage_required = True
    op = put_op(open_job)
    applied = op.find(f".//{wd('Job_Applied_To_Data')}")
    applied.remove(applied.find(wd("Stage_Reference")))
    f = fault(post(sb, op))
    assert f.errors[0].xpath.endswith("wd:Stage_Reference") and "required" in f.message
    sb.stage_required = False
    op = put_op(open_job)
    exp = op.find(f".//{wd('Experience_Data')}")
    exp.remove(exp.find(wd("Start_Year")))
    assert fault(post(sb, op)).errors[0].xpath.endswith("wd:Experience_Data[1]")
    op = put_op(open_job)
    att = sub(op.find(f".//{wd('Job_Application_Data')}"), "Resume_Attachment_Data")
    sub(att, "Filename", "cv.pdf")
    sub(att, "File_Content", "%%%not base64")
    assert fault(post(sb, op)).errors[0].xpath.endswith("wd:File_Content")
    closed = next(j.ats_id for j in sb.jobs() if j.status.value == "closed")
    assert "not open" in fault(post(sb, put_op(closed))).describe()
    assert fault(post(sb, put_op("NOPE-1"))).kind == FaultKind.NOT_FOUND
    # Add_Only on an existing candidate, then a second application to the same job.
    created = ok(post(sb, put_op(open_job)))
    cid, _ = mapping.parse_put_candidate(created)
    again = put_op(open_job)
    soap.reference(again, "Candidate_Reference", "Candidate_ID", cid)
    again.insert(0, again[-1])
    assert "already exists" in fault(post(sb, again)).describe()
    again.set(wd("Add_Only"), "false")
    assert "already has a job application" in fault(post(sb, again)).describe()
    assert len(sb.people(email="ab@example.org")) == 1


def test_put_candidate_stores_every_field(notes_sandbox):
    sb = notes_sandbox
    from atsbridge.model import Attachment, Education, Lead

    open_job = next(j.ats_id for j in sb.jobs() if j.status.value == "open")
    lead = Lead(
        id="l",
        first_name="Zoë",
        last_name="O'Neil",
        emails=("zoe@example.org",),
        phones=("+1 512 555 0100",),
        linkedin_url="https://www.linkedin.com/in/zoe",
        educations=(Education("MIT", start="2010", end="2014"),),
        attachments=(Attachment("cv.pdf", "application/pdf", b"\x00\x01PDF"),),
    )
    op, _ = mapping.put_candidate(VERSION, open_job, lead)
    cid, _ = mapping.parse_put_candidate(ok(post(sb, op)))
    person = sb.person(cid)
    assert (person.first_name, person.last_name) == ("Zoë", "O'Neil")
    assert person.phones == ["+1 512 555 0100"]
    assert person.educations == [
        {"School_Name": "MIT", "First_Year_Attended": "2010", "Last_Year_Attended": "2014"}
    ]
    assert person.attachments == [("cv.pdf", b"\x00\x01PDF")]
    assert [(a.req_id, a.stage) for a in person.applications] == [(open_job, "Review")]
    encoded = base64.b64encode(b"\x00\x01PDF").decode()
    assert encoded in soap.envelope(op).decode()


def test_rate_limit_is_enforced_with_retry_after():
    sb = WorkdaySandbox(SandboxOptions(seed=1, jobs=2, candidates_per_job=1))
    with sb, httpx.Client() as http, ThreadPoolExecutor(8) as pool:
        content = soap.envelope(
            mapping.get_job_requisitions(VERSION, page=1, count=1), username=ISU, password=PASSWORD
        )

        def send(_: int) -> httpx.Response:
            return http.post(
                sb.url + PATH, content=content, headers={"Content-Type": soap.CONTENT_TYPE}
            )

        responses = list(pool.map(send, range(24)))
        statuses = [r.status_code for r in responses]
        assert statuses.count(200) >= 10 and 429 in statuses
        limited = next(r for r in responses if r.status_code == 429)
        assert int(limited.headers["Retry-After"]) >= 1
        assert soap.parse_fault(limited.content) is not None
        assert sb.rate_limit_violations == statuses.count(429)


@pytest.mark.parametrize("shape", ["notes", "wsdl"])
def test_both_shapes_parse_to_the_same_records(shape):
    sb = WorkdaySandbox(
        SandboxOptions(seed=3, jobs=3, candidates_per_job=2, rate_limited=False), shape=shape
    )
    with sb:
        job = sb.jobs()[0]
        res = ok(post(sb, mapping.get_candidates(VERSION, page=1, count=50, job_id=job.ats_id)))
        records = mapping.parse_candidates(res)
        assert sorted(r.candidate_id for r in records) == sorted(sb.pipeline(job.ats_id))
        assert all(r.linkedin_url and r.emails and r.company for r in records)
