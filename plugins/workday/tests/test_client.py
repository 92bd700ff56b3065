"""The client against scripted responses: envelopes, auth headers, fault handling, retries."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest
from atsbridge.errors import AtsError, AtsUnavailable, AuthError, ConfigError
from atsbridge.model import CandidateQuery, CandidateStatus, JobQuery, Lead
from atsbridge_sdk.clock import FakeClock
from atsbridge_sdk.http import RetryPolicy
from atsbridge_workday import soap
from atsbridge_workday.client import WorkdayClient, WorkdayConfig
from atsbridge_workday.soap import ENV, WSSE, wd

DOCS = Path(__file__).parent / "docs"
ISU_CONFIG = {
    "host": "wd5-services1.myworkday.com",
    "tenant": "acme1",
    "api_version": "v45.2",
    "auth_type": "isu",
    "username": "isu_ats",
    "password": "s3cret-Password!",
}


class Script:
    """A MockTransport handler answering from a list, recording what it was sent."""

    def __init__(self, *responses: tuple[int, bytes] | tuple[int, bytes, dict]):
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body, *rest = (
            self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        )
        headers = {"Content-Type": "text/xml; charset=utf-8", **(rest[0] if rest else {})}
        return httpx.Response(status, content=body, headers=headers)


def make(script: Script, config: dict = ISU_CONFIG, **kw) -> WorkdayClient:
    kw.setdefault("retry", RetryPolicy(max_attempts=3, base_delay=0.01))
    return WorkdayClient(
        WorkdayConfig.from_dict(config),
        transport=httpx.MockTransport(script),
        clock=FakeClock(),
        **kw,
    )


def doc(name: str) -> bytes:
    return (DOCS / name).read_bytes()


def server_fault() -> bytes:
    return soap.fault_envelope("SOAP-ENV:Server", "Internal error occurred")


def test_isu_request_is_a_soap_envelope_with_username_token():
    script = Script((200, doc("get_job_requisitions_notes.xml")))
    page = make(script).search_jobs(JobQuery(page_size=100))
    assert page.next_cursor == "2" and len(page.items) == 2
    (request,) = script.requests
    assert request.method == "POST"
    assert request.url == "https://wd5-services1.myworkday.com/ccx/service/acme1/Recruiting/v45.2"
    assert request.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(request.content)
    token = root.find(f"{{{ENV}}}Header/{{{WSSE}}}Security/{{{WSSE}}}UsernameToken")
    assert token.find(f"{{{WSSE}}}Username").text == "isu_ats@acme1"  # @tenant added
    password = token.find(f"{{{WSSE}}}Password")
    assert password.get("Type").endswith("#PasswordText")
    assert password.text == ISU_CONFIG["password"]
    assert "Authorization" not in request.headers
    op = root.find(f"{{{ENV}}}Body")[0]
    assert op.tag == wd("Get_Job_Requisitions_Request") and op.get(wd("version")) == "v45.2"


def test_oauth_sends_bearer_and_no_security_header():
    token_calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ccx/oauth2/acme1/token":
            token_calls.append(dict(httpx.QueryParams(request.content.decode())))
            return httpx.Response(
                200,
                json={
                    "access_token": "tok-123456",
                    "expires_in": 3600,
                    "refresh_token": "rotated-refresh-1",
                },
            )
        assert request.headers["Authorization"] == "Bearer tok-123456"
        assert b"Security" not in request.content
        return httpx.Response(
            200, content=doc("get_job_requisitions_wsdl.xml"), headers={"Content-Type": "text/xml"}
        )

    saved = []
    config = {
        **ISU_CONFIG,
        "auth_type": "oauth2_refresh_token",
        "client_id": "cid",
        "client_secret": "csecret-1",
        "refresh_token": "refresh-1",
    }
    del config["username"], config["password"]
    client = WorkdayClient(
        WorkdayConfig.from_dict(config),
        transport=httpx.MockTransport(handler),
        save_secrets=saved.append,
    )
    assert len(client.search_jobs(JobQuery()).items) == 3
    assert token_calls == [
        {
            "grant_type": "refresh_token",
            "refresh_token": "refresh-1",
            "client_id": "cid",
            "client_secret": "csecret-1",
        }
    ]
    assert saved == [{"refresh_token": "rotated-refresh-1"}]


def test_validation_fault_on_read_is_not_retried_and_names_xpath():
    script = Script((500, doc("fault_validation.xml")))
    with pytest.raises(AtsError) as err:
        make(script).search_jobs(JobQuery())
    assert len(script.requests) == 1
    assert err.value.status_code == 400 and "Experience_Data[1]" in str(err.value)
    assert not isinstance(err.value, AtsUnavailable | AuthError)


def test_auth_fault_is_auth_error_without_the_password():
    script = Script((500, doc("fault_auth.xml")))
    with pytest.raises(AuthError) as err:
        make(script).check_credentials()
    assert len(script.requests) == 1
    assert "invalid username or password" in str(err.value)
    assert ISU_CONFIG["password"] not in str(err.value)


def test_server_fault_on_read_is_retried():
    script = Script(
        (500, server_fault()), (503, b"busy"), (200, doc("get_job_requisitions_wsdl.xml"))
    )
    assert len(make(script).search_jobs(JobQuery()).items) == 3
    assert len(script.requests) == 3
    always = Script((500, server_fault()))
    with pytest.raises(AtsUnavailable):
        make(always).search_jobs(JobQuery())
    assert len(always.requests) == 3


def test_throttle_fault_is_retried_like_a_429():
    throttled = soap.fault_envelope("SOAP-ENV:Client", "Request throttled: too many requests")
    script = Script(
        (500, throttled, {"Retry-After": "1"}), (200, doc("get_job_requisitions_wsdl.xml"))
    )
    clock = FakeClock()
    client = WorkdayClient(
        WorkdayConfig.from_dict(ISU_CONFIG), transport=httpx.MockTransport(script), clock=clock
    )
    assert len(client.search_jobs(JobQuery()).items) == 3
    assert 1.0 in clock.sleeps


def test_put_candidate_is_never_retried_and_server_fault_is_unavailable():
    no_match = (
        b'<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        b'xmlns:wd="urn:com.workday/bsvc"><env:Body><wd:Get_Candidates_Response>'
        b"<wd:Response_Results><wd:Total_Results>0</wd:Total_Results>"
        b"<wd:Total_Pages>0</wd:Total_Pages><wd:Page>1</wd:Page></wd:Response_Results>"
        b"</wd:Get_Candidates_Response></env:Body></env:Envelope>"
    )
    script = Script((200, no_match), (500, server_fault()))
    lead = Lead(id="l", first_name="A", last_name="B", emails=("a@example.org",))
    with pytest.raises(AtsUnavailable, match="server fault"):
        make(script).push_lead("R-1", lead)
    ops = [
        soap.local(ET.fromstring(r.content).find(f"{{{ENV}}}Body")[0].tag) for r in script.requests
    ]
    assert ops == ["Get_Candidates_Request", "Put_Candidate_Request"]

    dropped = Script((200, no_match))

    def drop(request: httpx.Request) -> httpx.Response:
        if b"Put_Candidate_Request" in request.content:
            dropped.requests.append(request)
            raise httpx.ReadTimeout("lost", request=request)
        return dropped(request)

    client = WorkdayClient(
        WorkdayConfig.from_dict(ISU_CONFIG), transport=httpx.MockTransport(drop), clock=FakeClock()
    )
    with pytest.raises(AtsUnavailable):
        client.push_lead("R-1", lead)
    puts = [r for r in dropped.requests if b"Put_Candidate_Request" in r.content]
    assert len(puts) == 1


def test_put_validation_fault_is_a_clear_ats_error():
    script = Script((500, doc("fault_validation.xml")))
    lead = Lead(id="l", first_name="A", last_name="B")  # no email: straight to Put_Candidate
    with pytest.raises(AtsError, match=r"refused Put_Candidate: .*Start_Year.*\(at /wd:Put"):
        make(script).push_lead("R-1", lead)


def test_non_soap_404_names_tenant_and_version():
    script = Script((404, b"<html>Not Found</html>"))
    with pytest.raises(
        ConfigError, match=r"/ccx/service/acme1/Recruiting/v45\.2 answered HTTP 404"
    ):
        make(script).check_credentials()


def test_malformed_response_is_a_payload_error():
    from atsbridge.errors import PayloadError

    script = Script((200, b"<html>maintenance</html>"))
    with pytest.raises(PayloadError, match="Get_Job_Requisitions response"):
        make(script).search_jobs(JobQuery())


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"api_version": "45.2"}, "config.api_version"),
        ({"password": None}, "config.password"),
        ({"base_url": "http://workday.example.com"}, "config.base_url"),
        ({"auth_type": "oauth2_refresh_token"}, "config.client_id"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_config_is_reported_by_field(change, problem):
    config = {**ISU_CONFIG, **change}
    config = {k: v for k, v in config.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        WorkdayConfig.from_dict(config)
    assert problem in str(err.value)
    assert ISU_CONFIG["password"] not in str(err.value)


def test_config_urls():
    cfg = WorkdayConfig.from_dict({**ISU_CONFIG, "base_url": "http://127.0.0.1:8080/"})
    assert cfg.base == "http://127.0.0.1:8080"
    assert cfg.oauth_token_url == "http://127.0.0.1:8080/ccx/oauth2/acme1/token"
    plain = WorkdayConfig.from_dict(ISU_CONFIG)
    assert plain.oauth_token_url == "https://wd5-services1.myworkday.com/ccx/oauth2/acme1/token"
    assert "s3cret" not in repr(plain)


def test_listed_candidate_without_application_data_is_kept():
    """Get_Candidates by requisition returning someone with no Job_Application_Data (an
    optional element): the person stays in the pipeline, status unknown (new)."""
    body = (
        f'<env:Envelope xmlns:env="{ENV}" xmlns:wd="{soap.WD}"><env:Body>'
        '<wd:Get_Candidates_Response wd:version="v45.2"><wd:Response_Data><wd:Candidate>'
        '<wd:Candidate_Reference><wd:ID wd:type="Candidate_ID">C-1</wd:ID>'
        "</wd:Candidate_Reference><wd:Candidate_Data><wd:Name_Data>"
        "<wd:First_Name>Ana</wd:First_Name><wd:Last_Name>Lima</wd:Last_Name></wd:Name_Data>"
        "</wd:Candidate_Data></wd:Candidate></wd:Response_Data>"
        "</wd:Get_Candidates_Response></env:Body></env:Envelope>"
    ).encode()
    empty = (
        f'<env:Envelope xmlns:env="{ENV}" xmlns:wd="{soap.WD}"><env:Body>'
        '<wd:Get_Job_Requisitions_Response wd:version="v45.2"/></env:Body></env:Envelope>'
    ).encode()
    script = Script((200, body), (200, empty))
    client = make(script)
    page = client.list_candidates(CandidateQuery("R-1"))
    ((cand,), nxt) = (page.items, page.next_cursor)
    assert (cand.ats_id, cand.job_ats_id, cand.status, cand.stage) == (
        "C-1",
        "R-1",
        CandidateStatus.NEW,
        None,
    )
    assert (cand.first_name, cand.application_id, nxt) == ("Ana", None, None)
    assert len(script.requests) == 1  # no application to match: no alias look-up


@pytest.mark.parametrize(
    ("status", "code", "message", "error"),
    [
        (200, "SOAP-ENV:Client.authenticationError", "invalid username or password", AuthError),
        (200, "SOAP-ENV:Server", "Internal error occurred", AtsUnavailable),
        (200, "SOAP-ENV:Client.validationError", "Page must be at least 1", AtsError),
        (500, "SOAP-ENV:Client", "Invalid username or password", AuthError),
        (400, "env:Client", "Not authorized to use this web service", AuthError),
    ],
)
def test_faults_however_they_arrive(status, code, message, error):
    """A fault in a 200 is a fault (never an empty page); auth faults are known by wording
    too, and whatever status carried them."""
    script = Script((status, soap.fault_envelope(code, message)))
    client = make(script)
    with pytest.raises(error) as err:
        client.search_jobs(JobQuery())
    assert error is AuthError or not isinstance(err.value, AuthError)
    assert message in str(err.value)
    assert len(script.requests) == 1  # none of these is worth repeating
