"""Inbound ATS webhooks: per-connection receivers, the durable inbox, the targeted reads.

``endpoints`` sets receivers up and reports on them, ``inbox`` stores verified deliveries
before the ``/hooks`` route acknowledges them, ``processor`` claims stored deliveries and
re-reads just the job or person each event names (``reads``), and ``stretch`` lengthens a
connection's polling while its webhooks are healthy.
"""

from atsbridge.webhooks.endpoints import HookEndpoints, HookStatus, Receiver, SetupResult

__all__ = ["HookEndpoints", "HookStatus", "Receiver", "SetupResult"]
