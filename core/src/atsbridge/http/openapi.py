"""The OpenAPI 3.1 document of the API, committed beside this module as ``openapi.json``.

Regenerate it after changing a route or a schema (a test fails while they differ)::

    .venv/bin/python -m atsbridge.http.openapi          # rewrite openapi.json
    .venv/bin/python -m atsbridge.http.openapi --check  # exit 1 when it is stale
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["SPEC_FILE", "current", "main", "render"]

SPEC_FILE = Path(__file__).with_name("openapi.json")


def current() -> dict[str, Any]:
    """The document the code serves at /openapi.json (no database is opened)."""
    from atsbridge.api import Atsbridge
    from atsbridge.http.app import create_app
    from atsbridge.plugins import PluginRegistry

    app = Atsbridge(db="sqlite://", registry=PluginRegistry())
    spec: dict[str, Any] = create_app(app).openapi()
    return spec


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = render(current())
    if "--check" in args:
        if not SPEC_FILE.exists() or SPEC_FILE.read_text(encoding="utf-8") != text:
            print(
                f"{SPEC_FILE} is stale: run .venv/bin/python -m atsbridge.http.openapi",
                file=sys.stderr,
            )
            return 1
        return 0
    SPEC_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {SPEC_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
