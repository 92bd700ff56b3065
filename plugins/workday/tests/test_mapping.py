"""Mapping from docs-shaped Workday documents (both element-name variants of notes 4.9)."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from atsbridge.errors import PayloadError
from atsbridge.model import (
    Attachment,
    CandidateStatus,
    Education,
    Experience,
    JobStatus,
    Lead,
    Location,
)
from atsbridge_workday import mapping, soap
from atsbridge_workday.soap import FaultKind, wd

DOCS = Path(__file__).parent / "docs"


def op(name: str) -> ET.Element:
    return soap.body_child(soap.parse((DOCS / name).read_bytes(), name), name)


def roundtrip(el: ET.Element) -> ET.Element:
    """Serialise and parse again, as the server would see the request."""
    return soap.body_child(soap.parse(soap.envelope(el), "request"), "request")


def path_text(el: ET.Element, path: str) -> str | None:
    found = el.find("/".join(wd(p) for p in path.split("/")))
    return None if found is None else found.text


# --- requisitions --------------------------------------------------------------------------


def test_requisitions_notes_shape():
    response = op("get_job_requisitions_notes.xml")
    assert mapping.page_info(response) == mapping.PageInfo(1, 2, 143)
    first, second = mapping.parse_requisitions(response)
    assert first.ats_id == first.reference == "R-00417"
    assert first.title == "Warehouse Lead"
    assert (first.status, first.status_raw) == (JobStatus.OPEN, "Open")
    assert first.description == "Run the night shift & the loading dock."
    (loc,) = first.locations
    assert loc == mapping.Location(
        city="Leeds", region="England", country_code="GB", raw="Leeds, England, GB"
    )
    assert (second.ats_id, second.status, second.status_raw) == (
        "R-00418",
        JobStatus.CLOSED,
        "Filled",
    )
    assert second.locations == () and second.description is None


def test_requisitions_wsdl_shape_fields_directly_under_data():
    response = op("get_job_requisitions_wsdl.xml")
    assert mapping.page_info(response) == mapping.PageInfo(1, 1, 3)
    frozen, closed, unknown = mapping.parse_requisitions(response)
    assert frozen.ats_id == "R-00501" and frozen.title == "Staff Data Engineer, Payments"
    assert frozen.status == JobStatus.ON_HOLD
    assert frozen.locations == (Location(city="Paris", country_code="FR", raw="Paris, FR"),)
    assert frozen.description is None  # empty element is absent, not ""
    assert closed.status == JobStatus.CLOSED
    assert closed.locations == (Location(raw="REMOTE"),)  # no Descriptor: the id is kept
    # An id only in the reference works too; an unknown status is held, not guessed.
    assert unknown.ats_id == "R-00503"
    assert (unknown.status, unknown.status_raw) == (JobStatus.ON_HOLD, "Pending_Approval")
    assert unknown.locations == (Location(raw="Headquarters"),)


@pytest.mark.parametrize(
    ("remove", "field"),
    [
        ("Job_Requisition_Status_Reference", "Job_Requisition_Status_Reference"),
        ("Job_Posting_Title", "Job_Posting_Title"),
        ("Job_Requisition_ID", "Job_Requisition_Reference.ID[Job_Requisition_ID|WID]"),
    ],
)
def test_requisition_missing_field_names_record_and_field(remove, field):
    response = op("get_job_requisitions_wsdl.xml")
    req = response.find(f"{wd('Response_Data')}/{wd('Job_Requisition')}")
    data = req.find(wd("Job_Requisition_Data"))
    data.remove(data.find(wd(remove)))
    req.remove(req.find(wd("Job_Requisition_Reference")))  # no WID to fall back on either
    with pytest.raises(PayloadError) as err:
        mapping.parse_requisition(req, 0)
    assert err.value.field == field
    assert "R-00501" in err.value.record or "#0" in err.value.record


def test_page_info_malformed_numbers_name_the_field():
    el = ET.fromstring(
        f'<x:R xmlns:x="{soap.WD}"><x:Response_Results><x:Page>one</x:Page>'
        "<x:Total_Pages>2</x:Total_Pages></x:Response_Results></x:R>"
    )
    with pytest.raises(PayloadError, match=r"Response_Results\.Page"):
        mapping.page_info(el)


def _results(results: str, records: int) -> ET.Element:
    data = "<x:Job_Requisition/>" * records
    return ET.fromstring(
        f'<x:R xmlns:x="{soap.WD}">{results}'
        + (f"<x:Response_Data>{data}</x:Response_Data>" if records else "")
        + "</x:R>"
    )


@pytest.mark.parametrize(
    ("results", "records", "expected"),
    [
        ("", 0, (3, 3)),  # no Response_Results on an empty result: the end
        ("<x:Response_Results/>", 0, (3, 3)),
        ("<x:Response_Results><x:Total_Pages>0</x:Total_Pages></x:Response_Results>", 0, (3, 3)),
        # Totals absent: a full page may have a successor, a short one is the last.
        ("<x:Response_Results><x:Page>3</x:Page></x:Response_Results>", 2, (3, 4)),
        ("<x:Response_Results><x:Page>3</x:Page></x:Response_Results>", 1, (3, 3)),
        # Total_Pages 0 beside records (or absent) is worked out from Total_Results.
        (
            "<x:Response_Results><x:Total_Results>9</x:Total_Results>"
            "<x:Total_Pages>0</x:Total_Pages></x:Response_Results>",
            2,
            (3, 5),
        ),
    ],
)
def test_page_info_without_totals(results, records, expected):
    info = mapping.page_info(_results(results, records), requested=3, count=2)
    assert (info.page, info.total_pages) == expected


# --- candidates ----------------------------------------------------------------------------


def test_candidates_notes_shape_with_legal_name_wrapper():
    records = mapping.parse_candidates(op("get_candidates_notes.xml"))
    maria, jonas = records
    assert (maria.first_name, maria.last_name) == ("Maria", "Okafor")
    cand = maria.for_job("R-00417")
    assert cand.ats_id == "C-000981" and cand.application_id == "JA-55012"
    assert cand.emails == ("maria.okafor@example.com",)
    assert cand.phones == ("+44 20 7946 0101",)
    assert cand.linkedin_url == "https://www.linkedin.com/in/maria-okafor-demo"
    assert (cand.status, cand.stage, cand.status_raw) == (
        CandidateStatus.IN_REVIEW,
        "SCREEN",
        "SCREEN",
    )
    assert cand.company == "Delta Freight"
    assert cand.updated_at == datetime(2026, 11, 20, 14, 3, tzinfo=timezone(timedelta(hours=-8)))
    other = maria.for_job("R-00100")
    assert (other.status, other.status_raw) == (CandidateStatus.REJECTED, "NOT_QUALIFIED")
    assert maria.for_job("R-99999") is None
    bare = jonas.for_job("R-00417")
    assert (bare.first_name, bare.last_name, bare.emails) == ("Jonas", "Keller", ())
    assert (bare.status, bare.stage, bare.application_id) == (CandidateStatus.NEW, None, None)


def test_candidates_wsdl_shape_flat_names_and_social_media():
    response = op("get_candidates_wsdl.xml")
    assert mapping.page_info(response) == mapping.PageInfo(3, 4, 7)
    priya, omar = mapping.parse_candidates(response)
    cand = priya.for_job("R-00501")
    assert (cand.ats_id, cand.first_name, cand.last_name) == ("C-001200", "Priya", "Raman")
    assert cand.emails == ("priya@example.org", "p.raman@example.net")
    assert cand.linkedin_url == "https://www.linkedin.com/in/priya-raman"
    assert cand.application_id == "JA-60001"  # reference beside Job_Applied_To_Data
    assert (cand.status, cand.stage, cand.status_raw) == (CandidateStatus.OFFERED, "Offer", "OFFER")
    withdrew = omar.for_job("R-00501")
    assert withdrew.status == CandidateStatus.WITHDRAWN
    assert withdrew.status_raw == "CANDIDATE_WITHDREW" and withdrew.updated_at is None


def test_candidate_without_id_is_a_payload_error_without_requisition_is_not():
    response = op("get_candidates_wsdl.xml")
    cand = response.find(f"{wd('Response_Data')}/{wd('Candidate')}")
    data = cand.find(wd("Candidate_Data"))
    ref = data.find(f".//{wd('Job_Requisition_Reference')}")
    ref.remove(ref.find(wd("ID")))
    # An application naming no requisition matches none; the record itself is fine.
    record = mapping.parse_candidate(cand, 0)
    assert record.for_job("R-00501") is None
    listed = record.listed("R-00501")
    assert (listed.ats_id, listed.status, listed.stage) == ("C-001200", CandidateStatus.NEW, None)
    data.remove(data.find(wd("Candidate_ID")))
    with pytest.raises(PayloadError, match="candidate #4: field Candidate_Reference"):
        mapping.parse_candidate(cand, 4)


WID = "8d3f0a6c21e94b7f9c05e1a2b3c4d5e6"


def test_references_carrying_only_a_wid():
    """An implementation may name a requisition, candidate or application's requisition by
    WID alone (the wd:type differs): the WID stands in and is sent back as a WID."""
    response = op("get_candidates_notes.xml")
    cand = response.find(f"{wd('Response_Data')}/{wd('Candidate')}")
    cref = cand.find(wd("Candidate_Reference"))
    for id_el in list(cref):
        cref.remove(id_el)
    soap.sub(cref, "ID", "c" * 32, type="WID")
    app_ref = cand.find(f".//{wd('Job_Requisition_Reference')}")
    app_ref.find(wd("ID")).set(wd("type"), "WID")
    app_ref.find(wd("ID")).text = WID
    (maria, _) = mapping.parse_candidates(response)
    assert maria.candidate_id == "c" * 32
    assert maria.for_job("R-00417") is None
    on_job = maria.for_job("R-00417", aliases={WID, "R-00417"})
    assert (on_job.ats_id, on_job.application_id) == ("c" * 32, "JA-55012")
    assert on_job.job_ats_id == "R-00417"
    req = ET.fromstring(
        f'<wd:Job_Requisition xmlns:wd="{soap.WD}"><wd:Job_Requisition_Reference>'
        f'<wd:ID wd:type="WID">{WID}</wd:ID></wd:Job_Requisition_Reference>'
        "<wd:Job_Requisition_Data><wd:Job_Posting_Title>Lead</wd:Job_Posting_Title>"
        '<wd:Job_Requisition_Status_Reference><wd:ID wd:type="Job_Requisition_Status_ID">'
        "Open</wd:ID></wd:Job_Requisition_Status_Reference></wd:Job_Requisition_Data>"
        "</wd:Job_Requisition>"
    )
    assert mapping.parse_requisition(req).ats_id == WID
    # Requests send a WID-shaped id as a WID, a business id with its own type.
    for request, path in (
        (mapping.get_job_requisitions_by_id("v45.2", [WID, "R-1"]), "Request_References"),
        (mapping.get_candidates("v45.2", page=1, count=5, job_id=WID), "Request_Criteria"),
    ):
        types = [(i.text, i.get(wd("type"))) for i in request.find(wd(path)).iter(wd("ID"))]
        assert (WID, "WID") in types
    lead = Lead(id="l", first_name="A", last_name="B", emails=("a@example.org",))
    existing = mapping.ExistingCandidate("c" * 32, "A", "B", ())
    put, _ = mapping.put_candidate("v45.2", WID, lead, existing)
    types = {(i.text, i.get(wd("type"))) for i in put.iter(wd("ID"))}
    assert {(WID, "WID"), ("c" * 32, "WID")} <= types
    assert ("R-1", "Job_Requisition_ID") in {
        (i.text, i.get(wd("type")))
        for i in mapping.get_job_requisitions_by_id("v45.2", ["R-1"]).iter(wd("ID"))
    }


def test_bad_timestamp_names_field():
    response = op("get_candidates_notes.xml")
    ts = response.find(f".//{wd('Status_Timestamp')}")
    ts.text = "yesterday"
    with pytest.raises(PayloadError, match=r"C-000981: field .*Status_Timestamp"):
        mapping.parse_candidates(response)


def test_put_candidate_response_ids():
    assert mapping.parse_put_candidate(op("put_candidate_response.xml")) == ("C-002000", None)


# --- faults --------------------------------------------------------------------------------


def test_validation_fault_names_xpath():
    fault = soap.parse_fault((DOCS / "fault_validation.xml").read_bytes())
    assert fault.kind == FaultKind.VALIDATION
    (err,) = fault.errors
    assert err.xpath.endswith("wd:Experience_Data[1]")
    assert (
        "Start_Year is required" in fault.describe() and "(at /wd:Put_Candidate" in fault.describe()
    )


def test_auth_fault_and_classification():
    fault = soap.parse_fault((DOCS / "fault_auth.xml").read_bytes())
    assert fault.kind == FaultKind.AUTH and fault.describe() == "invalid username or password"
    assert soap.SoapFault("SOAP-ENV:Server", "boom").kind == FaultKind.SERVER
    assert soap.SoapFault("SOAP-ENV:Client", "Request throttled").kind == FaultKind.THROTTLED
    invalid = soap.ValidationError("Invalid ID value. 'R-9' is not a valid ID value")
    assert soap.SoapFault("SOAP-ENV:Client.validationError", "", (invalid,)).kind == (
        FaultKind.NOT_FOUND
    )
    assert soap.parse_fault(b"<html>oops</html>") is None
    assert soap.parse_fault(b"not xml") is None


def test_hostile_xml_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    )
    with pytest.raises(PayloadError, match="refused unsafe XML"):
        soap.parse(bomb, "Get_Candidates response")
    with pytest.raises(PayloadError, match="not well-formed"):
        soap.parse(b"<a><b></a>", "Get_Candidates response")
    with pytest.raises(PayloadError, match="expected a SOAP envelope"):
        soap.body_child(soap.parse(b"<a/>", "x"), "x")


# --- requests ------------------------------------------------------------------------------


def test_get_job_requisitions_request():
    el = roundtrip(
        mapping.get_job_requisitions(
            "v45.2",
            page=3,
            count=25,
            status_id="Open",
            updated_from=datetime(2026, 11, 1, tzinfo=UTC),
            updated_through=datetime(2026, 11, 28, 1, 0, tzinfo=timezone(timedelta(hours=1))),
        )
    )
    assert el.tag == wd("Get_Job_Requisitions_Request") and el.get(wd("version")) == "v45.2"
    ids = soap.ref_ids(
        el.find(f"{wd('Request_Criteria')}/{wd('Job_Requisition_Status_Reference')}")
    )
    assert ids == {"Job_Requisition_Status_ID": "Open"}
    rng = "Request_Criteria/Transaction_Log_Criteria_Data/Transaction_Date_Range_Data"
    assert path_text(el, f"{rng}/Updated_From") == "2026-11-01T00:00:00Z"
    assert path_text(el, f"{rng}/Updated_Through") == "2026-11-28T00:00:00Z"
    assert path_text(el, "Response_Filter/Page") == "3"
    assert path_text(el, "Response_Filter/Count") == "25"
    plain = roundtrip(mapping.get_job_requisitions("v45.2", page=1, count=5000))
    assert plain.find(wd("Request_Criteria")) is None
    assert path_text(plain, "Response_Filter/Count") == "999"


def test_requisitions_by_id_request():
    el = roundtrip(mapping.get_job_requisitions_by_id("v45.2", ["R-1", "R-2"]))
    refs = el.find(wd("Request_References"))
    assert refs.get(wd("Skip_Non_Existing_Instances")) == "true"
    got = [soap.ref_ids(r) for r in refs.findall(wd("Job_Requisition_Reference"))]
    assert got == [{"Job_Requisition_ID": "R-1"}, {"Job_Requisition_ID": "R-2"}]


def test_get_candidates_request_by_job_and_by_email():
    el = roundtrip(mapping.get_candidates("v45.2", page=2, count=10, job_id="R-00417"))
    crit = el.find(wd("Request_Criteria"))
    assert soap.ref_ids(crit.find(wd("Job_Requisition_Reference"))) == {
        "Job_Requisition_ID": "R-00417"
    }
    assert crit.find(wd("Candidate_Email_Address")) is None
    by_mail = roundtrip(mapping.get_candidates("v45.2", page=1, count=10, email="a&b@x.org"))
    assert path_text(by_mail, "Request_Criteria/Candidate_Email_Address") == "a&b@x.org"


LEAD = Lead(
    id="lead-1",
    first_name="Ada <script>",
    last_name="Quinton & Co",
    emails=("ada@example.org", "ada@work.example"),
    phones=("+33 6 12 34 56 78",),
    linkedin_url="https://www.linkedin.com/in/ada-quinton/",
    headline="Staff Engineer",
    location=Location(city="Paris", country_code="FR"),
    educations=(
        Education("Université Paris Cité", "MSc", "Computer Science", "2012-09", "2014-06"),
        Education("Lycée Sans Dates"),
    ),
    experiences=(
        Experience("Globex", "Staff Engineer", "2019-01", None, True, "Payments platform"),
        Experience("Initech", "Engineer", "2015", "2018-12-31"),
        Experience("Hooli", None, "2014"),
    ),
    source="atsbridge",
    tags=("sourced",),
    attachments=(Attachment("cv.pdf", "application/pdf", b"%PDF-1.7\x00\xff"),),
)


def test_put_candidate_new_person_every_field_in_place():
    el, unsupported = mapping.put_candidate("v45.2", "R-00417", LEAD, stage="Review")
    el = roundtrip(el)
    assert el.get(wd("Add_Only")) == "true" and el.find(wd("Candidate_Reference")) is None
    data = el.find(wd("Candidate_Data"))
    assert path_text(data, "Name_Data/First_Name") == "Ada <script>"
    assert path_text(data, "Name_Data/Last_Name") == "Quinton & Co"
    assert path_text(data, "Contact_Data/Email_Address") == "ada@example.org"
    assert path_text(data, "Contact_Data/Phone_Number") == "+33 6 12 34 56 78"
    assert path_text(data, "Contact_Data/Website_Data/URL_Address") == LEAD.linkedin_url
    app = data.find(wd("Job_Application_Data"))
    applied = app.find(wd("Job_Applied_To_Data"))
    assert soap.ref_ids(applied.find(wd("Job_Requisition_Reference"))) == {
        "Job_Requisition_ID": "R-00417"
    }
    assert soap.ref_ids(applied.find(wd("Stage_Reference"))) == {"Recruiting_Stage_ID": "Review"}
    assert path_text(app, "Resume_Attachment_Data/Filename") == "cv.pdf"
    content = path_text(app, "Resume_Attachment_Data/File_Content")
    assert base64.b64decode(content) == b"%PDF-1.7\x00\xff"
    exps = app.findall(f"{wd('Resume_Data')}/{wd('Experience_Data')}")
    assert [[c.text for c in e] for e in exps] == [
        ["Globex", "Staff Engineer", "2019", "true"],
        ["Initech", "Engineer", "2015", "2018", "false"],
    ]
    assert [local_names(e) for e in exps][1] == [
        "Company_Name",
        "Title",
        "Start_Year",
        "End_Year",
        "Currently_Work_Here",
    ]
    edus = app.findall(f"{wd('Resume_Data')}/{wd('Education_Data')}")
    assert [[c.text for c in e] for e in edus] == [
        ["Université Paris Cité", "2012", "2014"],
        ["Lycée Sans Dates"],
    ]
    assert set(unsupported) == {
        "emails[1:]",
        "experiences[0].description",
        "experiences[2]",
        "educations[0].degree",
        "educations[0].field",
        "headline",
        "location",
        "source",
        "tags",
    }


def local_names(el: ET.Element) -> list[str]:
    return [soap.local(c.tag) for c in el]


def test_put_candidate_for_existing_person_adds_only_the_application():
    existing = mapping.ExistingCandidate("C-7", "Ada", "Quinton", ())
    minimal = Lead(id="l", first_name="A", last_name="Q", emails=("ada@example.org",))
    el, unsupported = mapping.put_candidate("v45.2", "R-9", minimal, existing)
    el = roundtrip(el)
    assert el.get(wd("Add_Only")) == "false"
    assert soap.ref_ids(el.find(wd("Candidate_Reference"))) == {"Candidate_ID": "C-7"}
    data = el.find(wd("Candidate_Data"))
    assert local_names(data) == ["Name_Data", "Job_Application_Data"]
    assert path_text(data, "Name_Data/First_Name") == "Ada"  # the stored name, not the lead's
    app = data.find(wd("Job_Application_Data"))
    assert local_names(app) == ["Job_Applied_To_Data"]  # no empty Resume_Data
    assert unsupported == ["source"]
    _, more = mapping.put_candidate("v45.2", "R-9", LEAD, existing)
    assert {"phones", "linkedin_url", "emails[1:]"} <= set(more)
