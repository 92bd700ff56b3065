"""``create_plugin``: write a new, complete ATS plugin that passes the contract kit.

The plugin's code is the SDK's reference example (``atsbridge_sdk.contract.example``) renamed,
so a fresh scaffold is exactly what the kit's own tests run against; only packaging, README
and tests come from templates.
"""

from __future__ import annotations

import re
import string
from importlib import resources
from pathlib import Path

from atsbridge.errors import BadInput

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
CODE_FILES = (
    "__init__.py",
    "client.py",
    "mapping.py",
    "plugin.py",
    "sandbox.py",
    "config.schema.json",
    "setup.md",
)


def _names(name: str) -> dict[str, str]:
    words = name.split("_")
    display = " ".join(w.capitalize() for w in words)
    return {
        "name": name,
        "dist": name.replace("_", "-"),
        "camel": "".join(w.capitalize() for w in words),
        "display": f"{display} ATS",
    }


def _rename(text: str, names: dict[str, str]) -> str:
    text = text.replace("Example ATS", names["display"])
    text = re.sub(r"\bExample(?=[A-Z])", names["camel"], text)
    text = text.replace('NAME = "example"', f'NAME = "{names["name"]}"')
    text = text.replace('name = "example"', f'name = "{names["name"]}"')
    text = text.replace('f"example-{options.seed}"', f'f"{names["name"]}-{{options.seed}}"')
    text = text.replace("example-ats.invalid", f"{names['dist']}.invalid")
    return text


def _third_party_sdk(text: str) -> str:
    """Merge the SDK imports into the third-party block.

    Inside the SDK, ``atsbridge_sdk`` is first-party and isort keeps it in its own block;
    in a plugin it is third-party, next to ``atsbridge``.
    """
    lines = text.split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        follows_import = out and (out[-1].startswith("from atsbridge") or out[-1] == ")")
        next_is_sdk = i + 1 < len(lines) and lines[i + 1].startswith("from atsbridge_sdk")
        if line == "" and follows_import and next_is_sdk:
            continue
        out.append(line)
    return "\n".join(out)


def _module_doc(names: dict[str, str]) -> str:
    return (
        f'"""atsbridge plugin for {names["display"]}.\n\n'
        "Generated from the SDK's reference example: replace the fake API in client.py,\n"
        'mapping.py and sandbox.py with the real one, keeping the contract kit green.\n"""\n'
    )


def create_plugin(name: str, dest_dir: str | Path) -> Path:
    """Write plugin ``name`` into ``dest_dir/name`` and return that directory.

    ``name`` is the ATS key (``bamboohr``, ``acme_hire``): lower-case letters, digits and
    single underscores, starting with a letter.
    """
    if not NAME_PATTERN.match(name) or len(name) > 40:
        raise BadInput(
            f"plugin name {name!r}: use lower-case letters, digits and single underscores, "
            "starting with a letter (e.g. acme_hire)"
        )
    root = Path(dest_dir) / name
    if root.exists() and any(root.iterdir()):
        raise BadInput(f"{root} already exists and is not empty; choose another --dir")
    names = _names(name)
    package = root / "src" / f"atsbridge_{name}"
    package.mkdir(parents=True)
    (root / "tests").mkdir()

    example = resources.files("atsbridge_sdk.contract.example")
    for filename in CODE_FILES:
        text = example.joinpath(filename).read_text("utf-8")
        if filename == "__init__.py":
            text = _module_doc(names)
        elif filename.endswith(".py"):
            text = _third_party_sdk(_rename(text, names))
        else:
            text = _rename(text, names)
        (package / filename).write_text(text, "utf-8")
    (package / "py.typed").write_text("", "utf-8")

    templates = resources.files("atsbridge_sdk.scaffold").joinpath("template")
    for template, target in (
        ("pyproject.toml.tmpl", root / "pyproject.toml"),
        ("README.md.tmpl", root / "README.md"),
        ("test_contract.py.tmpl", root / "tests" / "test_contract.py"),
        ("test_mapping.py.tmpl", root / "tests" / "test_mapping.py"),
    ):
        source = string.Template(templates.joinpath(template).read_text("utf-8"))
        target.write_text(source.substitute(names), "utf-8")
    return root
