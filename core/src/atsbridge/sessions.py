"""An open plugin session for one stored connection, as services use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from atsbridge.errors import AtsbridgeError, AuthError, PluginFailed
from atsbridge.plugins import AtsPlugin
from atsbridge.secrets import REDACTOR


def call_hook(plugin: AtsPlugin, hook: str, **kwargs: Any) -> Any:
    """Call one plugin's hook; anything but an ``AtsbridgeError`` becomes ``PluginFailed``."""
    try:
        return plugin.call(hook, **kwargs)
    except AtsbridgeError:
        raise
    except Exception as exc:
        detail = REDACTOR.redact(f"{type(exc).__name__}: {exc}")
        raise PluginFailed(f"{plugin.name} plugin failed in {hook}: {detail}") from exc


@attrs.define
class PluginSession:
    """A plugin's session plus the stored connection it belongs to.

    ``call("atsbridge_search_jobs", query=...)`` passes the session to the hook. Close it
    (or use ``Atsbridge.open_session`` as a context manager, which does).
    ``on_auth_error`` is told when a hook raised ``AuthError`` (the session pool then
    stops handing this session out, so the next task proves the credentials again).
    """

    tenant: str
    ats: str
    connection_id: int
    settings: dict
    plugin: AtsPlugin
    session: Any
    on_auth_error: Callable[[], None] | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.ats}"

    def call(self, hook: str, **kwargs: Any) -> Any:
        try:
            return call_hook(self.plugin, hook, session=self.session, **kwargs)
        except AuthError:
            if self.on_auth_error is not None:
                self.on_auth_error()
            raise

    def close(self) -> None:
        close = getattr(self.session, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # closing must never hide the real outcome
                import logging

                logging.getLogger(__name__).warning(
                    "closing the %s session failed: %s", self.label, type(exc).__name__
                )
