"""An open plugin session for one stored connection, as services use it."""

from __future__ import annotations

from typing import Any

import attrs

from atsbridge.errors import AtsbridgeError, PluginFailed
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
    """

    tenant: str
    ats: str
    connection_id: int
    settings: dict
    plugin: AtsPlugin
    session: Any

    @property
    def label(self) -> str:
        return f"{self.tenant}/{self.ats}"

    def call(self, hook: str, **kwargs: Any) -> Any:
        return call_hook(self.plugin, hook, session=self.session, **kwargs)

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
