"""The lead document: the JSON the product hands over for export, its schema and its checks.

The schema is the public contract (``atsbridge leads schema`` prints it): exactly the names
of the architecture's lead document, nothing more, so a typo in a field name is an error
naming that field rather than data silently lost. Problems are reported one per line with
their path (``lead.educations[0].start: ...``), never quoting a value, like configs are.

The resume travels either beside the document (``--resume FILE``) or as the one
``attachments`` entry (``filename``, ``content_type``, base64 ``content``). Its type is checked
against its bytes as well as its name, since ATSs reject (or worse, store unreadable) files
whose content does not match what they were told.
"""

from __future__ import annotations

import base64
import binascii
import copy
from datetime import date
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from atsbridge import jsontext, storable
from atsbridge.config import describe_errors
from atsbridge.errors import BadInput, ConfigError
from atsbridge.model import Attachment, Education, Experience, Lead, Location

PREFIX = "lead"
RESUME_MAX_BYTES = 10 * 1024 * 1024  # UNCONFIRMED: the smallest limit among the ATSs we know
MAX_ATTACHMENTS = 1

# Resume types by extension: (content type, how to recognise the bytes).
RESUME_TYPES: dict[str, str] = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".rtf": "application/rtf",
    ".txt": "text/plain",
}
# Other spellings of the same types that clients send; normalised to the ones above.
CONTENT_TYPE_ALIASES = {"text/rtf": "application/rtf"}
CONTENT_TYPES = sorted({*RESUME_TYPES.values(), *CONTENT_TYPE_ALIASES})

_DATE = r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"
_DATE_MESSAGE = "must be a date YYYY, YYYY-MM or YYYY-MM-DD"


class LeadDocumentError(ConfigError):
    """The lead document breaks its schema; ``problems`` has one ``path: reason`` line each."""


def _text(max_length: int, *, nullable: bool = True, min_length: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ["string", "null"] if nullable else "string"}
    if min_length:
        out["minLength"] = min_length
    out["maxLength"] = max_length
    return out


def _date() -> dict[str, Any]:
    return {"type": ["string", "null"], "pattern": _DATE, "x-message": _DATE_MESSAGE}


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _strings(max_items: int, item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "maxItems": max_items, "uniqueItems": True, "items": item}


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://atsbridge.dev/schemas/lead-document.json",
    "title": "atsbridge lead document",
    "description": "A lead the product exports to the ATS job it is linked to. "
    "The idempotency key is derived from tenant + product job + id.",
    **_object(
        {
            "id": {**_text(255, nullable=False, min_length=1), "description": "product lead id"},
            "first_name": _text(255, nullable=False, min_length=1),
            "last_name": _text(255, nullable=False, min_length=1),
            "emails": {
                **_strings(20, {"type": "string", "format": "email", "maxLength": 320}),
                # Every plugin looks the person up by email before creating them: without
                # one, a replayed push could not be recognised (exactly-once needs it).
                "minItems": 1,
            },
            "phones": _strings(20, {"type": "string", "minLength": 1, "maxLength": 50}),
            "linkedin_url": {
                "type": ["string", "null"],
                "maxLength": 500,
                "pattern": r"^https?://([A-Za-z0-9-]+\.)*linkedin\.com/",
                "x-message": "must be a linkedin.com URL (http or https)",
            },
            "headline": _text(500),
            "location": {
                **_object(
                    {
                        "city": _text(255),
                        "region": _text(255),
                        "country_code": {
                            "type": ["string", "null"],
                            "pattern": "^[A-Z]{2}$",
                            "x-message": "must be an ISO 3166-1 alpha-2 code in capitals",
                        },
                    },
                    [],
                ),
                "type": ["object", "null"],
            },
            "educations": {
                "type": "array",
                "maxItems": 50,
                "items": _object(
                    {
                        "school": _text(255, nullable=False, min_length=1),
                        "degree": _text(255),
                        "field": _text(255),
                        "start": _date(),
                        "end": _date(),
                    },
                    ["school"],
                ),
            },
            "experiences": {
                "type": "array",
                "maxItems": 50,
                "items": _object(
                    {
                        "company": _text(255, nullable=False, min_length=1),
                        "title": _text(255),
                        "start": _date(),
                        "end": _date(),
                        "current": {"type": "boolean"},
                        "description": _text(10_000),
                    },
                    ["company"],
                ),
            },
            "source": {**_text(100, nullable=False, min_length=1), "default": "atsbridge"},
            "tags": _strings(50, {"type": "string", "minLength": 1, "maxLength": 100}),
            "attachments": {
                "type": "array",
                "maxItems": MAX_ATTACHMENTS,
                "description": "the resume (PDF, DOC, DOCX, RTF or TXT), base64 encoded",
                "items": _object(
                    {
                        "filename": _text(255, nullable=False, min_length=1),
                        "content_type": {"enum": CONTENT_TYPES},
                        "content": {"type": "string", "contentEncoding": "base64"},
                    },
                    ["filename", "content_type", "content"],
                ),
            },
        },
        ["id", "first_name", "last_name", "emails"],
    ),
}

# The contract's own example (shared/ARCHITECTURE.md), published in the schema and used by
# the demo and the tests, so all three show the same document.
EXAMPLE: dict[str, Any] = {
    "id": "lead-123",
    "first_name": "Ada",
    "last_name": "Quinton",
    "emails": ["ada@example.org"],
    "phones": ["+33 6 12 34 56 78"],
    "linkedin_url": "https://www.linkedin.com/in/ada-quinton/",
    "headline": "Staff Engineer",
    "location": {"city": "Paris", "region": "Ile-de-France", "country_code": "FR"},
    "educations": [
        {
            "school": "Université Paris Cité",
            "degree": "MSc",
            "field": "Computer Science",
            "start": "2012-09",
            "end": "2014-06",
        }
    ],
    "experiences": [
        {
            "company": "Globex",
            "title": "Staff Engineer",
            "start": "2019-01",
            "end": None,
            "current": True,
            "description": "Payments platform",
        }
    ],
    "source": "atsbridge",
    "tags": ["sourced"],
}
SCHEMA["examples"] = [EXAMPLE]

_VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())


def schema() -> dict[str, Any]:
    """The published JSON Schema of the lead document (a copy: callers may change it)."""
    return copy.deepcopy(SCHEMA)


def load(source: str | Path) -> Any:
    """Read a lead document from a JSON file (``-`` reads stdin)."""
    try:
        if str(source) == "-":
            import sys

            text = sys.stdin.read()
        else:
            text = Path(source).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"LEAD.json: cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"LEAD.json: {source} is not UTF-8 text") from None
    return jsontext.loads(text, "LEAD.json")


def resume_from_file(path: str | Path) -> Attachment:
    """The ``--resume FILE`` attachment: type from the extension, checked against the bytes."""
    file = Path(path)
    content_type = RESUME_TYPES.get(file.suffix.lower())
    if content_type is None:
        kinds = ", ".join(e[1:].upper() for e in RESUME_TYPES)
        raise BadInput(f"--resume: {file.name} is not a resume type we take ({kinds})")
    try:
        size = file.stat().st_size
        if size > RESUME_MAX_BYTES:
            raise BadInput(_too_big("--resume", size))
        content = file.read_bytes()
    except OSError as exc:
        raise BadInput(f"--resume: cannot read {file}: {exc.strerror}") from None
    problem = resume_problem(content_type, content)
    if problem:
        raise BadInput(f"--resume: {problem}")
    return Attachment(filename=file.name, content_type=content_type, content=content)


def _too_big(where: str, size: int) -> str:
    return f"{where}: the resume is {size} bytes, more than the {RESUME_MAX_BYTES} allowed"


def resume_problem(content_type: str, content: bytes) -> str | None:
    """Why ``content`` is not a resume of ``content_type``, or None when it is one."""
    content_type = CONTENT_TYPE_ALIASES.get(content_type, content_type)
    if not content:
        return "the resume is empty"
    if len(content) > RESUME_MAX_BYTES:
        return f"the resume is {len(content)} bytes, more than the {RESUME_MAX_BYTES} allowed"
    head = content[:8]
    looks = {
        "application/pdf": head.startswith(b"%PDF-"),
        # DOC is an OLE2 compound file; DOCX a zip package.
        "application/msword": head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
        RESUME_TYPES[".docx"]: head.startswith(b"PK\x03\x04"),
        "application/rtf": content.lstrip()[:5] == b"{\\rtf",
        "text/plain": _is_text(content),
    }
    if content_type not in looks:
        return f"content type {content_type} is not a resume type we take"
    if not looks[content_type]:
        name = {v: k[1:].upper() for k, v in RESUME_TYPES.items()}[content_type]
        return f"the content is not a {name} file"
    return None


def _is_text(content: bytes) -> bool:
    if b"\x00" in content:
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def validate(document: Any, resume: Attachment | None = None) -> tuple[dict[str, Any], Lead]:
    """Check a lead document; return it as stored (no attachment bytes) and as a ``Lead``.

    ``resume`` is the ``--resume`` file, if any. Raises ``LeadDocumentError`` listing every
    problem, one per line.
    """
    jsontext.check_depth(document, "lead")  # the schema validation below recurses
    if not isinstance(document, dict):
        raise LeadDocumentError([f"{PREFIX}: must be a JSON object"])
    unstorable = storable.tree_problems(document, PREFIX)
    if unstorable:
        # Checked first: such text breaks every later export and listing of the tenant.
        raise LeadDocumentError(sorted(set(unstorable)))
    problems = describe_errors(_VALIDATOR, document, PREFIX)
    attachments: list[Attachment] = []
    if not problems:
        attachments, problems = _attachments(document.get("attachments") or [])
        problems += _semantic_problems(document)
    if not problems and resume is not None and attachments:
        problems = [f"{PREFIX}.attachments: the resume is given twice (--resume and attachments)"]
    if problems:
        raise LeadDocumentError(sorted(set(problems)))
    if resume is not None:
        attachments = [resume]
    stored = {k: copy.deepcopy(v) for k, v in document.items() if k != "attachments"}
    stored.setdefault("source", SCHEMA["properties"]["source"]["default"])
    return stored, to_lead(stored, attachments[0] if attachments else None)


def _semantic_problems(document: dict[str, Any]) -> list[str]:
    """What the schema cannot say: real calendar dates, and no end before its start."""
    problems: list[str] = []
    for kind in ("educations", "experiences"):
        for i, entry in enumerate(document.get(kind) or []):
            where = f"{PREFIX}.{kind}[{i}]"
            real = True
            for name in ("start", "end"):
                value = entry.get(name)
                if isinstance(value, str) and len(value) == 10:
                    try:
                        date.fromisoformat(value)
                    except ValueError:
                        problems.append(f"{where}.{name}: is not a real calendar date")
                        real = False
            start, end = entry.get("start"), entry.get("end")
            if real and isinstance(start, str) and isinstance(end, str):
                # Compare on the shared precision: "2019" vs "2019-06" is not an inversion.
                n = min(len(start), len(end))
                if end[:n] < start[:n]:
                    problems.append(f"{where}.end: is before start")
            if kind == "experiences" and entry.get("current") and entry.get("end"):
                problems.append(f"{where}.end: must be null when current is true")
    return problems


def _attachments(items: list[dict[str, Any]]) -> tuple[list[Attachment], list[str]]:
    out: list[Attachment] = []
    problems: list[str] = []
    for i, item in enumerate(items):
        where = f"{PREFIX}.attachments[{i}]"
        raw = item["content"]
        # Reject oversized payloads before decoding them (base64 is 4/3 of the bytes).
        if len(raw) > (RESUME_MAX_BYTES * 4) // 3 + 4:
            problems.append(
                f"{where}.content: the resume is larger than the {RESUME_MAX_BYTES} bytes allowed"
            )
            continue
        try:
            content = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{where}.content: is not valid base64")
            continue
        content_type = CONTENT_TYPE_ALIASES.get(item["content_type"], item["content_type"])
        problem = resume_problem(content_type, content)
        if problem:
            problems.append(f"{where}.content: {problem}")
            continue
        expected = RESUME_TYPES.get(Path(item["filename"]).suffix.lower())
        if expected is not None and expected != content_type:
            problems.append(f"{where}.filename: its extension does not match content_type")
            continue
        out.append(Attachment(item["filename"], content_type, content))
    return out, problems


def to_lead(stored: dict[str, Any], resume: Attachment | None) -> Lead:
    """Build the ``Lead`` a plugin receives from a validated, stored document."""
    loc = stored.get("location")
    return Lead(
        id=stored["id"],
        first_name=stored["first_name"],
        last_name=stored["last_name"],
        emails=stored.get("emails") or (),
        phones=stored.get("phones") or (),
        linkedin_url=stored.get("linkedin_url"),
        headline=stored.get("headline"),
        location=Location(
            city=loc.get("city"), region=loc.get("region"), country_code=loc.get("country_code")
        )
        if loc
        else None,
        educations=[Education(**e) for e in stored.get("educations") or ()],
        experiences=[
            Experience(**{**e, "current": bool(e.get("current", False))})
            for e in stored.get("experiences") or ()
        ],
        source=stored.get("source") or "atsbridge",
        tags=stored.get("tags") or (),
        attachments=(resume,) if resume is not None else (),
    )
