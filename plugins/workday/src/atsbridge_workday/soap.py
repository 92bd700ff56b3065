"""SOAP plumbing for Workday: envelopes built with ElementTree, responses read with defusedxml.

Requests are element trees serialised by the library (never concatenated strings), so
values are always escaped. Responses come from the network and are untrusted: they are
parsed with defusedxml, which refuses DTDs and entity expansion.
"""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import attrs
from atsbridge.errors import PayloadError
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as _safe_fromstring

WD = "urn:com.workday/bsvc"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD_TEXT = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
    "#PasswordText"
)
CONTENT_TYPE = "text/xml; charset=utf-8"

ET.register_namespace("env", ENV)
ET.register_namespace("wd", WD)
ET.register_namespace("wsse", WSSE)


def wd(name: str) -> str:
    """Qualified name in the Workday namespace."""
    return f"{{{WD}}}{name}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --- building ------------------------------------------------------------------------------


def sub(parent: ET.Element, name: str, text: str | None = None, **attrs_: str) -> ET.Element:
    """Append a ``wd:`` child; ``attrs_`` become ``wd:``-qualified attributes."""
    el = ET.SubElement(parent, wd(name), {wd(k): v for k, v in attrs_.items()})
    if text is not None:
        el.text = text
    return el


def reference(parent: ET.Element, name: str, id_type: str, value: str) -> ET.Element:
    """``<wd:NAME><wd:ID wd:type="ID_TYPE">VALUE</wd:ID></wd:NAME>``, Workday's reference shape."""
    ref = sub(parent, name)
    sub(ref, "ID", value, type=id_type)
    return ref


def envelope(
    body: ET.Element, *, username: str | None = None, password: str | None = None
) -> bytes:
    """Wrap an operation element in a SOAP 1.1 envelope, with a UsernameToken when given."""
    root = ET.Element(f"{{{ENV}}}Envelope")
    header = ET.SubElement(root, f"{{{ENV}}}Header")
    if username is not None:
        security = ET.SubElement(header, f"{{{WSSE}}}Security", {f"{{{ENV}}}mustUnderstand": "1"})
        token = ET.SubElement(security, f"{{{WSSE}}}UsernameToken")
        ET.SubElement(token, f"{{{WSSE}}}Username").text = username
        pw = ET.SubElement(token, f"{{{WSSE}}}Password", {"Type": PASSWORD_TEXT})
        pw.text = password or ""
    ET.SubElement(root, f"{{{ENV}}}Body").append(body)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# --- reading -------------------------------------------------------------------------------


def parse(content: bytes, what: str) -> ET.Element:
    """Parse an untrusted XML document; a malformed or hostile one is a ``PayloadError``."""
    try:
        return _safe_fromstring(content, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise PayloadError(what, "(body)", f"refused unsafe XML ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise PayloadError(what, "(body)", f"not well-formed XML ({exc})") from None


def body_child(root: ET.Element, what: str) -> ET.Element:
    """The operation element inside ``Envelope/Body``."""
    if root.tag != f"{{{ENV}}}Envelope":
        raise PayloadError(what, "Envelope", f"expected a SOAP envelope, got <{local(root.tag)}>")
    body = root.find(f"{{{ENV}}}Body")
    if body is None or len(body) == 0:
        raise PayloadError(what, "Body", "SOAP envelope has no body content")
    return body[0]


def child(el: ET.Element | None, *path: str) -> ET.Element | None:
    """Follow ``wd:`` children by name; None when any step is missing."""
    for name in path:
        if el is None:
            return None
        el = el.find(wd(name))
    return el


def children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else el.findall(wd(name))


def descendants(el: ET.Element | None, name: str) -> Iterator[ET.Element]:
    if el is not None:
        yield from el.iter(wd(name))


def text(el: ET.Element | None) -> str | None:
    """Stripped text of an element; empty text counts as absent."""
    if el is None or el.text is None:
        return None
    value = el.text.strip()
    return value or None


def ref_ids(ref: ET.Element | None) -> dict[str, str]:
    """``{type: value}`` of a reference's ``wd:ID`` children."""
    out: dict[str, str] = {}
    for id_el in children(ref, "ID"):
        id_type = id_el.get(wd("type")) or id_el.get("type") or ""
        value = text(id_el)
        if value is not None:
            out.setdefault(id_type, value)
    return out


def descriptor(ref: ET.Element | None) -> str | None:
    if ref is None:
        return None
    value = ref.get(wd("Descriptor")) or ref.get("Descriptor")
    return value.strip() if value and value.strip() else None


# --- faults --------------------------------------------------------------------------------


class FaultKind(enum.StrEnum):
    AUTH = "auth"
    VALIDATION = "validation"
    NOT_FOUND = "not_found"
    THROTTLED = "throttled"
    SERVER = "server"


@attrs.frozen
class ValidationError:
    message: str
    detail: str | None = None
    xpath: str | None = None


@attrs.frozen
class SoapFault:
    code: str
    message: str
    errors: tuple[ValidationError, ...] = ()

    @property
    def kind(self) -> FaultKind:
        return classify(self)

    def describe(self) -> str:
        """One line: the fault string, then each validation error with where it points."""
        parts = [self.message or self.code]
        for err in self.errors:
            piece = err.detail or err.message
            if err.xpath:
                piece += f" (at {err.xpath})"
            if piece not in parts:
                parts.append(piece)
        return "; ".join(p.replace("\n", " ") for p in parts if p)


_NOT_FOUND_MARKERS = ("not a valid id", "invalid id value", "no instance", "not found")
# Only ``...Client.authenticationError``-style codes are Workday's; an implementation may
# send a bare ``Client`` code and say it in words instead.
_AUTH_MARKERS = (
    "invalid username or password",
    "authentication failed",
    "not authenticated",
    "not authorized",
    "unauthorized",
)
_THROTTLE_MARKERS = ("throttl", "rate limit", "too many requests", "request limit")


def classify(fault: SoapFault) -> FaultKind:
    """Sort a fault by what the caller should do about it.

    Workday spells the category in ``faultcode`` (``SOAP-ENV:Client.validationError``,
    ``...Client.authenticationError``); throttling has no documented code, so its wording
    is matched instead.
    """
    code = fault.code.lower()
    words = " ".join([fault.message, *(e.message for e in fault.errors)]).lower()
    if "authentication" in code or "authorization" in code or "security" in code:
        return FaultKind.AUTH
    if any(m in fault.message.lower() for m in _AUTH_MARKERS):
        return FaultKind.AUTH
    if any(m in words for m in _THROTTLE_MARKERS):
        return FaultKind.THROTTLED
    if code.rsplit(":", 1)[-1].startswith("client"):
        if any(m in words for m in _NOT_FOUND_MARKERS):
            return FaultKind.NOT_FOUND
        return FaultKind.VALIDATION
    return FaultKind.SERVER


def parse_fault(content: bytes) -> SoapFault | None:
    """The SOAP fault in a response body, or None when the body is not a SOAP fault."""
    try:
        root = _safe_fromstring(content, forbid_dtd=True)
    except (ET.ParseError, DefusedXmlException):
        return None
    fault = root.find(f"{{{ENV}}}Body/{{{ENV}}}Fault")
    if fault is None:
        return None
    # SOAP 1.1 fault children are unqualified.
    code = text(fault.find("faultcode")) or ""
    message = text(fault.find("faultstring")) or ""
    errors: list[ValidationError] = []
    for err in descendants(fault.find("detail"), "Validation_Error"):
        errors.append(
            ValidationError(
                message=text(child(err, "Message")) or "",
                detail=text(child(err, "Detail_Message")),
                xpath=text(child(err, "Xpath")),
            )
        )
    return SoapFault(code, message, tuple(errors))


def fault_envelope(code: str, message: str, errors: tuple[ValidationError, ...] = ()) -> bytes:
    """A Workday-style SOAP fault document (used by the sandbox and by tests)."""
    root = ET.Element(f"{{{ENV}}}Envelope")
    body = ET.SubElement(root, f"{{{ENV}}}Body")
    fault = ET.SubElement(body, f"{{{ENV}}}Fault")
    ET.SubElement(fault, "faultcode").text = code
    ET.SubElement(fault, "faultstring").text = message
    if errors:
        detail = ET.SubElement(fault, "detail")
        vf = ET.SubElement(detail, wd("Validation_Fault"))
        for err in errors:
            ve = sub(vf, "Validation_Error")
            sub(ve, "Message", err.message)
            if err.detail is not None:
                sub(ve, "Detail_Message", err.detail)
            if err.xpath is not None:
                sub(ve, "Xpath", err.xpath)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
