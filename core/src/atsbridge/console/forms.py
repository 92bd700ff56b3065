"""A connect form generated from a plugin's config JSON Schema, and the config it posts.

Each top-level property becomes one labelled field: a password input for a secret
(``writeOnly``), a select for an ``enum``, a checkbox for a boolean, a number input for
numbers; ``description`` (or ``title``) is the field's help. Nested objects are offered as
a JSON text area, validated by the same schema check as the API's connect.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
from starlette.datastructures import FormData

__all__ = ["Field", "config_from_form", "field_errors", "fields_of"]


@attrs.frozen
class Field:
    name: str
    label: str
    widget: str  # text | password | number | checkbox | select | json
    required: bool
    help: str
    choices: tuple[str, ...] = ()
    default: str = ""


def _is_secret(prop: dict[str, Any]) -> bool:
    return bool(prop.get("writeOnly") or prop.get("x-secret") or prop.get("format") == "password")


def _widget(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in prop:
        return "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind in ("object", "array"):
        return "json"
    return "password" if _is_secret(prop) else "text"


def fields_of(schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required", ()))
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict):
            continue
        default = prop.get("default")
        out.append(
            Field(
                name=name,
                label=str(prop.get("title") or name.replace("_", " ").capitalize()),
                widget=_widget(prop),
                required=name in required,
                help=str(prop.get("description") or ""),
                choices=tuple(str(c) for c in prop.get("enum", ())),
                default="" if default is None else str(default),
            )
        )
    return out


def config_from_form(schema: dict[str, Any], form: FormData) -> tuple[dict[str, Any], dict]:
    """The config a posted form means, and per-field errors found before the schema check.

    An empty optional field is left out (so the plugin's default applies); typed values are
    converted, and a value that does not convert is reported on its field.
    """
    config: dict[str, Any] = {}
    errors: dict[str, str] = {}
    props = schema.get("properties") or {}
    for field in fields_of(schema):
        raw = form.get(field.name)
        text = raw if isinstance(raw, str) else ""
        if field.widget == "checkbox":
            config[field.name] = text == "on"
            continue
        if text == "":
            continue
        if field.widget == "number":
            kind = props[field.name].get("type")
            try:
                config[field.name] = int(text) if kind == "integer" else float(text)
            except ValueError:
                errors[field.name] = "must be a number"
        elif field.widget == "json":
            try:
                config[field.name] = json.loads(text)
            except ValueError:
                errors[field.name] = "must be JSON"
        else:
            config[field.name] = text
    return config, errors


def field_errors(problems: list[str]) -> tuple[dict[str, str], list[str]]:
    """Split ``config.<field>: message`` problems into per-field errors and the rest."""
    fields: dict[str, str] = {}
    rest: list[str] = []
    for problem in problems:
        where, sep, message = problem.partition(": ")
        parts = where.split(".")
        if sep and len(parts) >= 2 and parts[0] == "config":
            name = parts[1].split("[")[0]
            fields.setdefault(name, message if len(parts) == 2 else f"{where}: {message}")
        else:
            rest.append(problem)
    return fields, rest
