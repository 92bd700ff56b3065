"""The /v1 routers, one module per resource; ``ROUTERS`` in mounting order."""

from atsbridge.http.routes import (
    cnts,
    connections,
    console_sessions,
    events,
    hooks,
    jobs,
    leads,
    plugins,
)

ROUTERS = [
    plugins.router,
    connections.router,
    jobs.router,
    cnts.router,
    leads.router,
    events.router,
    console_sessions.router,
    hooks.router,
]

__all__ = ["ROUTERS"]
