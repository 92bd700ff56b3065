"""Validate a connection config against its plugin's JSON Schema, reporting every problem.

Messages are written here rather than taken from jsonschema because jsonschema's quote the
offending value, and a value may be a secret. Each problem is one line: ``path: reason``.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import socket
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import SchemaError

from atsbridge import jsontext
from atsbridge.errors import AtsbridgeError, BadInput, ConfigError
from atsbridge.references import ReferencePolicy
from atsbridge.secrets import is_reference, resolve_leniently
from atsbridge.storable import tree_problems

PREFIX = "config"


def load_config(source: str | Path | IO[str]) -> Any:
    """Read a JSON config from a path, ``-`` (stdin) or an open text stream."""
    if isinstance(source, str) and source == "-":
        import sys

        source = sys.stdin
    try:
        if isinstance(source, str | Path):
            text = Path(source).read_text(encoding="utf-8-sig")
        else:
            text = source.read()
    except OSError as exc:
        raise BadInput(f"--config: cannot read {source}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise BadInput(f"--config: {source} is not UTF-8 text") from None
    return jsontext.loads(text, "--config")


def validate_config(
    schema: dict, config: Any, *, references: ReferencePolicy | None = None
) -> dict:
    """Return ``config`` with schema defaults filled in, or raise ``ConfigError``.

    ``$env``/``$file`` references are resolved (as far as ``references`` allows; default:
    the operator's settings) to check the values they point at, but the returned config
    keeps the references themselves.
    """
    if not isinstance(config, dict):
        raise ConfigError([f"{PREFIX}: must be a JSON object"])
    unstorable = tree_problems(config, PREFIX)
    if unstorable:
        raise ConfigError(sorted(set(unstorable)))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise AtsbridgeError(f"the plugin's config schema is invalid: {exc.message}") from None
    resolved, ref_problems = resolve_leniently(config, prefix=PREFIX, policy=references)
    with_defaults = apply_defaults(schema, config)
    resolved = apply_defaults(schema, resolved)
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    problems = describe_errors(validator, resolved, PREFIX)
    problems.extend(_url_problems(schema, resolved, PREFIX))
    # A field whose reference did not resolve is reported once, for that reason only.
    unresolved = {p.split(": ", 1)[0] for p in ref_problems}
    problems = ref_problems + [p for p in problems if p.split(": ", 1)[0] not in unresolved]
    if problems:
        raise ConfigError(sorted(set(problems)))
    return with_defaults


def apply_defaults(schema: dict, config: dict) -> dict:
    """A copy of ``config`` with missing properties that have a ``default`` filled in."""
    out = copy.deepcopy(config)

    def walk(node: dict, sub: dict) -> None:
        for name, prop in (sub.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            if name not in node and "default" in prop:
                node[name] = copy.deepcopy(prop["default"])
            if isinstance(node.get(name), dict) and not is_reference(node[name]):
                walk(node[name], prop)

    walk(out, schema)
    return out


def describe_errors(validator: Draft202012Validator, instance: Any, prefix: str) -> list[str]:
    """Every schema violation of ``instance`` as one ``path: reason`` line, values never quoted.

    Shared with other documents validated against a published schema (the lead document);
    ``prefix`` names the document's root in the paths (``config``, ``lead``).
    """
    problems: list[str] = []
    for error in validator.iter_errors(instance):
        problems.extend(_describe(error, prefix))
    return problems


def _path(parts: Any, prefix: str = PREFIX) -> str:
    out = prefix
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f".{p}"
    return out


def _describe(error: ValidationError, prefix: str = PREFIX) -> list[str]:
    where = _path(error.absolute_path, prefix)
    kind, arg = error.validator, error.validator_value
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if isinstance(custom, str) and kind not in ("required", "additionalProperties", "type"):
        # A schema may word its own constraint (e.g. a date pattern) for people to read.
        return [f"{where}: {custom}"]
    if kind == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        return [f"{where}.{name}: required" for name in arg if name not in instance]
    if kind == "additionalProperties":
        props = set((error.schema.get("properties") or {}).keys())  # type: ignore[union-attr]
        extras = sorted(set(error.instance) - props) if isinstance(error.instance, dict) else []
        return [f"{where}.{name}: unknown field" for name in extras] or [f"{where}: unknown field"]
    if kind == "type":
        types = arg if isinstance(arg, list) else [arg]
        return [f"{where}: must be {' or '.join(_article(t) for t in types)}"]
    messages = {
        "enum": lambda: "must be one of: " + ", ".join(json.dumps(v) for v in arg),
        "const": lambda: f"must be {json.dumps(arg)}",
        "minLength": lambda: f"must be at least {arg} characters",
        "maxLength": lambda: f"must be at most {arg} characters",
        "pattern": lambda: f"must match the pattern {arg}",
        "format": lambda: f"must be a valid {arg}",
        "minimum": lambda: f"must be at least {arg}",
        "maximum": lambda: f"must be at most {arg}",
        "exclusiveMinimum": lambda: f"must be greater than {arg}",
        "exclusiveMaximum": lambda: f"must be less than {arg}",
        "minItems": lambda: f"must have at least {arg} item{'' if arg == 1 else 's'}",
        "maxItems": lambda: f"must have at most {arg} item{'' if arg == 1 else 's'}",
        "uniqueItems": lambda: "must not repeat items",
        "anyOf": lambda: "does not match any allowed form",
        "oneOf": lambda: "must match exactly one allowed form",
        "not": lambda: "is not allowed",
    }
    make = messages.get(str(kind))
    return [f"{where}: {make() if make else f'is invalid ({kind})'}"]


def _article(json_type: str) -> str:
    return {
        "object": "an object",
        "array": "an array",
        "integer": "an integer",
        "string": "a string",
        "number": "a number",
        "boolean": "true or false",
        "null": "null",
    }.get(json_type, json_type)


def _is_url_field(name: str, prop: dict) -> bool:
    return name == "base_url" or name.endswith("_url") or prop.get("format") in ("uri", "url")


def _url_problems(schema: dict, config: dict, prefix: str) -> list[str]:
    problems: list[str] = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or name not in config:
            continue
        value, where = config[name], f"{prefix}.{name}"
        if isinstance(value, dict):
            problems.extend(_url_problems(prop, value, where))
        elif isinstance(value, str) and _is_url_field(name, prop):
            reason = url_problem(value)
            if reason:
                problems.append(f"{where}: {reason}")
        elif isinstance(value, str) and name == "host":
            reason = host_problem(value)
            if reason:
                problems.append(f"{where}: {reason}")
    return problems


def url_problem(url: str) -> str | None:
    """Why ``url`` may not be used to reach an ATS, or None when it is fine.

    Besides the form (absolute http(s); plain http only for loopback), the host may not be
    a private, link-local or otherwise non-public address (the cloud metadata service at
    169.254.169.254, 10.0.0.0/8, fc00::/7...) unless the operator allows private networks
    (``ALLOW_PRIVATE_SETTING``): a config would otherwise make this host call into its own
    network. Loopback stays allowed, for sandboxes.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "must be an absolute http(s) URL"
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "has a port out of range (1-65535)"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an absolute http(s) URL"
    if parts.scheme == "http" and not is_loopback(host):
        return "must be https (plain http only for loopback)"
    return address_problem(host)


def host_problem(value: str) -> str | None:
    """Why ``value`` is not a usable ``host[:port]`` (a config's bare host field), or None."""
    if not _HOST_RE.match(value):
        return "must be a host name or address, optionally with :port (no scheme or path)"
    try:
        port = urlsplit(f"//{value}").port
    except ValueError:
        return "has a port out of range (1-65535)"
    if port == 0:
        return "has a port out of range (1-65535)"
    host = urlsplit(f"//{value}").hostname or ""
    if ".." in host:
        return "must be a host name or address, optionally with :port (no scheme or path)"
    return address_problem(host)


ALLOW_PRIVATE_SETTING = "ATSBRIDGE_ALLOW_PRIVATE_NETWORKS"
# Names that reach a cloud provider's metadata service whatever the address checks say.
_METADATA_NAMES = frozenset({"metadata.google.internal", "metadata", "instance-data"})
_HOST_RE = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$"
)


def private_networks_allowed() -> bool:
    return os.environ.get(ALLOW_PRIVATE_SETTING, "").strip().lower() in ("1", "true", "yes")


def address_problem(host: str) -> str | None:
    """Why ``host`` may not be reached (a non-public address), or None.

    Only literal addresses are judged (in every spelling the resolver accepts, such as
    ``2852039166`` or ``0xa9.254.169.254``); names are not resolved here.
    """
    if is_loopback(host) or private_networks_allowed():
        return None
    name = host.lower().rstrip(".")
    if name in _METADATA_NAMES:
        return f"{host} is a cloud metadata service (set {ALLOW_PRIVATE_SETTING}=1 to allow)"
    address = _literal_address(name)
    if address is None:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address.is_loopback:
        return None
    if not address.is_global or address.is_multicast:
        kind = "link-local" if address.is_link_local else "private or reserved"
        return (
            f"{host} is a {kind} address, refused unless {ALLOW_PRIVATE_SETTING}=1 "
            "allows private networks"
        )
    return None


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    if not re.fullmatch(r"[0-9a-fA-Fx.]+", host) or not any(c.isdigit() for c in host):
        return None
    try:
        # The C resolver's legacy forms (one integer, hex or octal parts) are addresses too.
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
