"""Resume file names are sanitised before they reach an ATS: no path (``../``), no NUL or
CR/LF (a multipart header injection), no direction overrides; the extension is kept."""

from __future__ import annotations

import base64
import copy
import sys
from pathlib import Path

import pytest
from atsbridge import leaddoc
from atsbridge.api import Atsbridge
from atsbridge.model import Attachment, safe_filename
from atsbridge.plugins import PluginRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "leads"))
from leadfake import CONFIG, LeadFake

PDF = b"%PDF-1.4\n% a tiny resume\n"


class RecordingFake(LeadFake):
    """The lead fake, remembering the attachment names each push carried."""

    def __init__(self) -> None:
        super().__init__()
        self.filenames: list[str] = []

    def atsbridge_push_lead(self, session, job_id, lead, idempotency_key):  # type: ignore[no-untyped-def]
        self.filenames.extend(a.filename for a in lead.attachments)
        return super().atsbridge_push_lead(session, job_id, lead, idempotency_key)


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        ("../../etc/cv.pdf", "cv.pdf"),
        ("..\\..\\Windows\\cv.pdf", "cv.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("cv\r\nContent-Type: text/html\r\n.pdf", "html.pdf"),  # "/" ends a path part
        ("\u202efdp.exe.pdf", "fdp.exe.pdf"),
        ("../..", "resume"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
    ],
)
def test_safe_filename(given: str, sent: str) -> None:
    assert safe_filename(given) == sent
    assert Attachment(given, "application/pdf", PDF).filename == sent


def test_a_hostile_resume_name_is_sent_sanitised(db_url: str) -> None:
    fake = RecordingFake()
    registry = PluginRegistry()
    registry.register(fake, "leadfake")
    assert registry.statuses[-1].ok, registry.statuses[-1].error
    with Atsbridge(db=db_url, registry=registry) as app:
        app.connections.connect("acme", "leadfake", dict(CONFIG))
        app.jobs.sync("acme", "leadfake")
        app.jobs.import_job("acme", "leadfake", "J1", "pj-1")
        doc = copy.deepcopy(leaddoc.EXAMPLE)
        doc["id"] = "lead-evil"
        doc["attachments"] = [
            {
                "filename": "../../../etc/passwd\r\nX-Evil: 1\r\n.pdf",
                "content_type": "application/pdf",
                "content": base64.b64encode(PDF).decode(),
            }
        ]
        outcome = app.leads.push("acme", "pj-1", doc)
        assert outcome.lead.state == "exported", outcome
        app.session_pool.close()
    assert fake.filenames == ["passwdX-Evil: 1.pdf"]
    assert all("/" not in n and "\r" not in n and "\n" not in n for n in fake.filenames)
