"""CONTRIBUTING.md's hook reference stays in step with core/src/atsbridge/hookspecs.py."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from atsbridge import hookspecs

GUIDE = Path(__file__).resolve().parents[2] / "CONTRIBUTING.md"


def _specs() -> dict[str, list[str]]:
    return {
        name: list(inspect.signature(fn).parameters)
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, f"{hookspecs.PROJECT}_spec")
    }


def _documented() -> dict[str, list[str]]:
    text = GUIDE.read_text("utf-8")
    reference = text.split("## Hook reference", 1)[1]
    out = {}
    for name, params in re.findall(r"^### `(atsbridge_\w+)\(([^)]*)\)`", reference, re.M):
        out[name] = [p.strip() for p in params.split(",") if p.strip()]
    return out


def test_every_hook_is_documented_with_its_parameters():
    specs, documented = _specs(), _documented()
    assert len(specs) >= 11
    for name, params in specs.items():
        assert name in documented, f"CONTRIBUTING.md hook reference lacks {name}"
        assert documented[name] == params, (
            f"CONTRIBUTING.md documents {name}({', '.join(documented[name])}), "
            f"hookspecs.py declares {name}({', '.join(params)})"
        )


def test_no_documented_hook_is_unknown():
    unknown = set(_documented()) - set(_specs())
    assert not unknown, f"CONTRIBUTING.md documents hooks hookspecs.py lacks: {sorted(unknown)}"


def test_the_contract_checks_table_names_real_tests():
    from atsbridge_sdk.contract import ContractSuite

    text = GUIDE.read_text("utf-8")
    tests = {n for n in dir(ContractSuite) if n.startswith("test_")}
    listed = set(re.findall(r"^\| `(test_\w+)` \|", text, re.M))
    assert listed == tests
