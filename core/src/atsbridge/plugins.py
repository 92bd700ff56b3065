"""Finding and loading ATS plugins from the ``atsbridge`` entry-point group.

We iterate the entry points ourselves instead of ``PluginManager.load_setuptools_entrypoints``
so that one broken plugin (import error, wrong hook signature, incompatible core version) is
reported with its reason and skipped while the others load.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import Any

import attrs
import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from atsbridge import __version__, hookspecs
from atsbridge.errors import NotFound
from atsbridge.model import PluginInfo

ENTRY_POINT_GROUP = "atsbridge"


@attrs.frozen
class PluginStatus:
    """One entry point's fate: loaded (``info`` set) or failed (``error`` set)."""

    name: str
    distribution: str | None
    info: PluginInfo | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class AtsPlugin:
    """One loaded ATS plugin: calls its hook implementations directly, never as a broadcast."""

    def __init__(self, info: PluginInfo, module: Any):
        self.info = info
        self.module = module

    @property
    def name(self) -> str:
        return self.info.name

    def call(self, hook: str, **kwargs: Any) -> Any:
        return getattr(self.module, hook)(**kwargs)

    def __repr__(self) -> str:
        return f"<AtsPlugin {self.info.name} {self.info.version}>"


def _names_from_env(var: str) -> set[str] | None:
    raw = os.environ.get(var, "").strip()
    if not raw:
        return None
    return {n.strip() for n in raw.split(",") if n.strip()}


class PluginRegistry:
    """The loaded plugins plus the pluggy manager that broadcasts event hooks."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.statuses: list[PluginStatus] = []
        self._plugins: dict[str, AtsPlugin] = {}

    @classmethod
    def discover(cls, entry_points_: Iterable[EntryPoint] | None = None) -> PluginRegistry:
        registry = cls()
        allow = _names_from_env("ATSBRIDGE_PLUGINS")
        deny = _names_from_env("ATSBRIDGE_DISABLE_PLUGINS") or set()
        eps = entry_points(group=ENTRY_POINT_GROUP) if entry_points_ is None else entry_points_
        for ep in sorted(eps, key=lambda e: e.name):
            if (allow is not None and ep.name not in allow) or ep.name in deny:
                continue
            registry._load_entry_point(ep)
        return registry

    def _load_entry_point(self, ep: EntryPoint) -> None:
        dist = ep.dist.name if ep.dist is not None else None
        try:
            module = ep.load()
        except Exception as exc:  # any import-time failure is the plugin's, not ours
            self._fail(ep.name, dist, f"import failed: {type(exc).__name__}: {exc}")
            return
        self.register(module, ep.name, dist)

    def register(self, module: Any, name: str, distribution: str | None = None) -> None:
        """Validate and register one plugin object (a module or any object with hooks)."""
        missing = [h for h in hookspecs.REQUIRED_HOOKS if not hasattr(module, h)]
        if missing:
            self._fail(name, distribution, f"missing hooks: {', '.join(missing)}")
            return
        try:
            info = module.atsbridge_plugin_info()
        except Exception as exc:
            self._fail(name, distribution, f"plugin_info failed: {type(exc).__name__}: {exc}")
            return
        if not isinstance(info, PluginInfo):
            self._fail(name, distribution, "atsbridge_plugin_info did not return a PluginInfo")
            return
        reason = _core_incompatibility(info.requires_core)
        if reason:
            self._fail(name, distribution, reason)
            return
        if info.name in self._plugins:
            self._fail(name, distribution, f"duplicate plugin name {info.name!r}")
            return
        try:
            self.pm.register(module, name=info.name)
        except pluggy.PluginValidationError as exc:
            self._fail(name, distribution, f"hook signature mismatch: {exc}")
            return
        except ValueError as exc:
            self._fail(name, distribution, str(exc))
            return
        self._plugins[info.name] = AtsPlugin(info, module)
        self.statuses.append(PluginStatus(name=name, distribution=distribution, info=info))

    def _fail(self, name: str, distribution: str | None, reason: str) -> None:
        self.statuses.append(PluginStatus(name=name, distribution=distribution, error=reason))

    @property
    def plugins(self) -> dict[str, AtsPlugin]:
        return dict(self._plugins)

    def get(self, name: str) -> AtsPlugin:
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(sorted(self._plugins)) or "none"
            raise NotFound(
                f"no ATS plugin named {name!r} is installed (installed: {known})"
            ) from None

    @property
    def hook(self) -> Any:
        """Broadcast caller for event hooks: ``registry.hook.atsbridge_job_closed(event=...)``."""
        return self.pm.hook


def _core_incompatibility(spec: str) -> str | None:
    try:
        specifier = SpecifierSet(spec)
    except InvalidSpecifier:
        return f"invalid requires_core specifier {spec!r}"
    if Version(__version__) not in specifier:
        return f"needs atsbridge core {spec}, this is {__version__}"
    return None
