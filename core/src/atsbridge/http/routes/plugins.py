"""``/v1/plugins``: the installed ATS plugins, their config schema and setup steps."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from atsbridge.errors import NotFound
from atsbridge.http.deps import App, Reader
from atsbridge.http.schemas import PluginDetail, PluginPage

router = APIRouter(prefix="/v1/plugins", tags=["plugins"])


@router.get("", response_model=PluginPage, summary="List installed ATS plugins")
def list_plugins(app: App, _key: Reader) -> dict[str, Any]:
    items = []
    for status in app.plugin_statuses():
        info = status.info
        items.append(
            {
                "name": info.name if info else status.name,
                "display_name": info.display_name if info else None,
                "version": info.version if info else None,
                "api_version": info.api_version if info else None,
                "capabilities": sorted(c.value for c in info.capabilities) if info else [],
                "status": "ok" if status.ok else "failed",
                "reason": status.error,
            }
        )
    return {"items": items}


@router.get(
    "/{ats}",
    response_model=PluginDetail,
    summary="A plugin's capabilities, config schema and setup steps",
)
def get_plugin(app: App, _key: Reader, ats: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    plugin = app.registry.plugins.get(ats)
    if plugin is None:
        raise NotFound(f"no ATS plugin {ats!r} is installed")
    info = plugin.info
    return {
        "name": info.name,
        "display_name": info.display_name,
        "version": info.version,
        "api_version": info.api_version,
        "capabilities": sorted(c.value for c in info.capabilities),
        "requires_core": info.requires_core,
        "config_schema": info.config_schema,
        "setup_instructions": info.setup_instructions,
        "rate_limit": {
            "requests_per_second": info.rate_limit.requests_per_second,
            "burst": info.rate_limit.burst,
            "max_concurrency": info.rate_limit.max_concurrency,
        },
    }
