"""Hypothesis: whatever Workday sends, the mapping returns models or raises PayloadError."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path

from atsbridge.errors import PayloadError
from atsbridge_workday import mapping, soap
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DOCS = Path(__file__).parent / "docs"
DOC_NAMES = [
    "get_job_requisitions_notes.xml",
    "get_job_requisitions_wsdl.xml",
    "get_candidates_notes.xml",
    "get_candidates_wsdl.xml",
    "put_candidate_response.xml",
]
NAMES = [
    "Response_Data",
    "Response_Results",
    "Page",
    "Total_Pages",
    "Job_Requisition",
    "Job_Requisition_Reference",
    "Job_Requisition_Data",
    "Job_Requisition_Detail_Data",
    "Job_Posting_Title",
    "Job_Requisition_Status_Reference",
    "Primary_Location_Reference",
    "Candidate",
    "Candidate_Reference",
    "Candidate_Data",
    "Candidate_ID",
    "Name_Data",
    "Legal_Name",
    "First_Name",
    "Contact_Data",
    "Email_Address",
    "Job_Application_Data",
    "Job_Applied_To_Data",
    "Stage_Reference",
    "Disposition_Reference",
    "Status_Timestamp",
    "ID",
]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def run_all(op: ET.Element) -> None:
    for fn in (
        mapping.page_info,
        mapping.parse_requisitions,
        mapping.parse_candidates,
        mapping.parse_put_candidate,
    ):
        try:
            result = fn(op)
        except PayloadError as exc:
            assert exc.record and exc.field and str(exc)
            continue
        if fn is mapping.parse_candidates:
            for rec in result:
                for app in rec.applications:
                    rec.for_job(app.job_id)


@st.composite
def trees(draw, depth=0):
    el = ET.Element(soap.wd(draw(st.sampled_from(NAMES))))
    if draw(st.booleans()):
        el.set(soap.wd(draw(st.sampled_from(["type", "Descriptor"]))), draw(st.text(max_size=8)))
    if depth < 3:
        for sub in draw(st.lists(trees(depth=depth + 1), max_size=4)):
            el.append(sub)
    if draw(st.booleans()):
        el.text = draw(st.text(max_size=12))
    return el


@settings(SETTINGS, max_examples=80)
@given(trees())
def test_random_trees_raise_only_payload_errors(tree):
    run_all(tree)


@st.composite
def mutated_docs(draw):
    name = draw(st.sampled_from(DOC_NAMES))
    op = soap.body_child(soap.parse((DOCS / name).read_bytes(), name), name)
    op = copy.deepcopy(op)
    elements = list(op.iter())
    for _ in range(draw(st.integers(1, 6))):
        target = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["text", "drop", "dup", "attr"]))
        if action == "text":
            target.text = draw(st.text(max_size=20))
        elif action == "attr":
            target.set(soap.wd("type"), draw(st.text(max_size=20)))
        else:
            parents = [p for p in elements if target in list(p)]
            if parents:
                if action == "drop":
                    parents[0].remove(target)
                else:
                    parents[0].append(copy.deepcopy(target))
    return op


@SETTINGS
@given(mutated_docs())
def test_mutated_docs_raise_only_payload_errors(op):
    run_all(op)


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_are_payload_errors_or_faults(body):
    try:
        soap.body_child(soap.parse(body, "response"), "response")
    except PayloadError:
        pass
    soap.parse_fault(body)  # never raises
