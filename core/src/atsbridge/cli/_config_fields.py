"""A plugin's config schema as people read it: a table of fields and an example config.

``plugins show`` prints these; ``--json`` keeps the raw JSON Schema beside them. Nested
objects are flattened to dotted names. "required" is ``yes``, ``no`` or the condition under
which the schema requires the field (its ``if``/``then``/``else``), e.g. ``if
auth_method=oauth2``.
"""

from __future__ import annotations

from typing import Any

import attrs
from jsonschema import Draft202012Validator

from atsbridge.secrets import dotted, secret_paths

__all__ = ["ConfigField", "config_fields", "example_config"]


@attrs.frozen
class ConfigField:
    name: str
    type: str
    required: str  # "yes", "no" or "if KEY=VALUE" / "unless KEY=VALUE"
    secret: bool
    description: str
    default: Any = None
    has_default: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "secret": self.secret,
            "description": self.description,
            "default": self.default,
        }


def _type_of(prop: dict) -> str:
    if "enum" in prop:
        return "one of " + " | ".join(str(v) for v in prop["enum"])
    kind = prop.get("type", "any")
    if isinstance(kind, list):
        kind = " | ".join(str(k) for k in kind)
    fmt = prop.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _condition(branch: dict) -> str:
    """``auth_method=oauth2`` for an ``if`` that tests constants; else the raw keys."""
    parts = []
    for key, sub in (branch.get("properties") or {}).items():
        if isinstance(sub, dict) and "const" in sub:
            parts.append(f"{key}={sub['const']}")
        elif isinstance(sub, dict) and "enum" in sub:
            parts.append(f"{key} in {'|'.join(str(v) for v in sub['enum'])}")
        else:
            parts.append(key)
    return " and ".join(parts) or "a condition holds"


def _conditional_required(node: dict) -> dict[str, str]:
    """Field name -> the condition under which ``node``'s if/then/else (or allOf) requires it."""
    found: dict[str, str] = {}
    branches = [node, *(b for b in node.get("allOf") or [] if isinstance(b, dict))]
    for branch in branches:
        test = branch.get("if")
        if not isinstance(test, dict):
            continue
        condition = _condition(test)
        for key, word in (("then", "if"), ("else", "unless")):
            for name in (branch.get(key) or {}).get("required") or []:
                found.setdefault(name, f"{word} {condition}")
    return found


def config_fields(schema: dict) -> list[ConfigField]:
    secrets = {dotted(p) for p in secret_paths(schema)}
    out: list[ConfigField] = []

    def walk(node: dict, prefix: str) -> None:
        required = set(node.get("required") or [])
        conditional = _conditional_required(node)
        for name, prop in (node.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            full = f"{prefix}{name}"
            if prop.get("type") == "object" and prop.get("properties") and full not in secrets:
                walk(prop, f"{full}.")
                continue
            out.append(
                ConfigField(
                    name=full,
                    type=_type_of(prop),
                    required="yes" if name in required else conditional.get(name, "no"),
                    secret=full in secrets,
                    description=" ".join(str(prop.get("description", "")).split()),
                    default=prop.get("default"),
                    has_default="default" in prop,
                )
            )

    walk(schema, "")
    return out


def _placeholder(field: ConfigField, prop: dict) -> Any:
    if "enum" in prop:
        return prop["enum"][0]
    kind = prop.get("type")
    if kind == "integer":
        return max(1, int(prop.get("minimum", 1)))
    if kind == "number":
        return float(prop.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "array":
        return []
    return f"<{field.name.rsplit('.', 1)[-1]}>"


def _needed_by_default(schema: dict) -> set[str]:
    """Top-level fields a config with every default applied must have: required ones and
    those an ``if``/``then``/``else`` requires given those defaults."""
    needed = set(schema.get("required") or [])
    defaults = {
        name: prop["default"]
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, dict) and "default" in prop
    }
    branches = [schema, *(b for b in schema.get("allOf") or [] if isinstance(b, dict))]
    for branch in branches:
        test = branch.get("if")
        if not isinstance(test, dict):
            continue
        holds = Draft202012Validator(test).is_valid(defaults)
        needed.update((branch.get("then" if holds else "else") or {}).get("required") or [])
    return needed


def example_config(schema: dict) -> dict[str, Any]:
    """A config naming every field needed with the defaults (see ``_needed_by_default``).

    A field with a default shows it; others a placeholder such as ``"<api_key>"``.
    ``schema.examples[0]`` wins when the plugin ships one.
    """
    examples = schema.get("examples")
    if isinstance(examples, list) and examples and isinstance(examples[0], dict):
        return dict(examples[0])
    needed = _needed_by_default(schema)
    config: dict[str, Any] = {}
    for field in config_fields(schema):
        top = field.name.split(".", 1)[0]
        if top not in needed or ("." in field.name and field.required != "yes"):
            continue
        node: Any = schema
        for part in field.name.split("."):
            node = (node.get("properties") or {}).get(part, {})
        value = field.default if field.has_default else _placeholder(field, node)
        target = config
        *parents, last = field.name.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value
    return config
