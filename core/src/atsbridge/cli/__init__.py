"""The ``atsbridge`` command line: a thin layer over ``atsbridge.api.Atsbridge``.

Adding commands: drop a module into this package (no leading underscore) that defines
``register(root: click.Group) -> None`` and adds its group or commands to ``root``. Modules
are found automatically, in name order; nothing else needs editing. Reach the facade with
``app_from(ctx)`` (or the ``pass_app`` decorator) and print with ``_output``'s helpers.
"""

from __future__ import annotations

import importlib
import pkgutil

from atsbridge.cli._root import cli, main

__all__ = ["cli", "main"]


def _register_command_modules() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(cli)


_register_command_modules()
