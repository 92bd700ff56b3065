"""Dependency floors keep out releases with public advisories; constraints.txt pins the rest."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# Distribution -> first release without the advisory named in issue 20 item 12.
FIXED = {
    "cryptography": Version("44.0.1"),
    "h11": Version("0.16"),
    "setuptools": Version("78.1.1"),
}


def _pyprojects() -> list[Path]:
    found = [ROOT / "core" / "pyproject.toml", ROOT / "sdk" / "pyproject.toml"]
    return found + sorted((ROOT / "plugins").glob("*/pyproject.toml"))


def _requirements() -> list[tuple[str, Requirement]]:
    """Every requirement the workspace declares, with where it is declared."""
    out: list[tuple[str, Requirement]] = []
    for path in _pyprojects():
        data = tomllib.loads(path.read_text())
        where = str(path.relative_to(ROOT))
        out += [(where, Requirement(r)) for r in data["build-system"]["requires"]]
        out += [(where, Requirement(r)) for r in data["project"]["dependencies"]]
        for extra in data["project"].get("optional-dependencies", {}).values():
            out += [(where, Requirement(r)) for r in extra]
    for line in (ROOT / "requirements-dev.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            out.append(("requirements-dev.txt", Requirement(line)))
    template = ROOT / "sdk/src/atsbridge_sdk/scaffold/template/pyproject.toml.tmpl"
    for line in template.read_text().splitlines():
        if line.startswith("requires = "):
            for r in tomllib.loads(line)["requires"]:
                out.append((str(template.relative_to(ROOT)), Requirement(r)))
    return out


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = Version(version.strip())
    return pins


def _lowest_admitted(spec: SpecifierSet) -> Version | None:
    floors = [Version(s.version) for s in spec if s.operator in {">=", "==", "~="}]
    return min(floors) if floors else None


@pytest.mark.parametrize("name", sorted(FIXED))
def test_every_declaration_of_an_advised_dependency_has_a_fixed_floor(name: str) -> None:
    declared = [(w, r) for w, r in _requirements() if canonicalize_name(r.name) == name]
    assert declared, f"{name} is not declared anywhere; its floor cannot be enforced"
    for where, req in declared:
        lowest = _lowest_admitted(req.specifier)
        assert lowest is not None and lowest >= FIXED[name], f"{where}: {req}"


def test_constraints_pin_fixed_versions_that_satisfy_every_declared_requirement() -> None:
    pins = _pins()
    for name, fixed in FIXED.items():
        assert pins[name] >= fixed, name
    for where, req in _requirements():
        name = canonicalize_name(req.name)
        if name.startswith("atsbridge"):
            continue  # the workspace's own distributions are installed editable
        assert name in pins, (
            f"{where}: {req.name} has no pinned version in constraints.txt (after dev.py "
            "setup: .venv/bin/pip freeze --all --exclude-editable, minus pip and atsbridge*)"
        )
        assert req.specifier.contains(pins[name], prereleases=True), f"{where}: {req}"


def test_dev_setup_installs_from_the_constraints_file() -> None:
    dev = (ROOT / "dev.py").read_text()
    assert '"-c", str(CONSTRAINTS)' in dev
    assert 'CONSTRAINTS = ROOT / "constraints.txt"' in dev


# Distributions only the tests use: declaring one as a runtime dependency installs it on
# every customer's machine (openpyxl was, after the core's own xlsx reader replaced it).
TEST_ONLY = ("openpyxl", "schemathesis", "playwright")


def _runtime(path: Path) -> set[str]:
    data = tomllib.loads(path.read_text())
    return {canonicalize_name(Requirement(r).name) for r in data["project"]["dependencies"]}


@pytest.mark.parametrize("name", TEST_ONLY)
def test_test_only_tools_are_dev_requirements_not_runtime_ones(name: str) -> None:
    for path in _pyprojects():
        assert name not in _runtime(path), f"{path.relative_to(ROOT)} declares {name}"
    dev = {canonicalize_name(r.name) for w, r in _requirements() if w == "requirements-dev.txt"}
    assert name in dev, f"requirements-dev.txt does not declare {name}"
    for src in sorted(ROOT.glob("*/src")) + sorted(ROOT.glob("plugins/*/src")):
        for module in src.rglob("*.py"):
            text = module.read_text()
            assert f"import {name}" not in text and f"from {name}" not in text, module
