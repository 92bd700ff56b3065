"""The durable event log and signed webhook deliveries to the product.

Surface (agreed with the HTTP API; see each module for details):

* ``types``: the event type strings (``job.closed``, ... ``webhook.ping``).
* ``record(session, *, tenant, type, data, connection_id=None) -> str``: append an event in
  the caller's open transaction (same commit as the change), return its stable id
  (``evt_<ulid>``); ``record_event`` does the same and returns the public JSON, which the
  caller hands to ``hooks.fire`` after the commit so in-process plugins get the same event.
* ``EventLog(store)``: ``feed(tenants=, after=, limit=, types=)`` -> (events, next cursor),
  ``get(event_id, tenants=)``. Public event JSON: ``{"id", "type", "tenant",
  "created_at", "data"}``.
* ``WebhookEndpoints(store, clock, box)``: ``create`` (-> view, ``whsec_`` secret shown
  once), ``list``, ``get``, ``update``, ``delete``, ``ping``, ``replay``, ``health``.
* ``Deliverer`` / ``run_forever`` (``events.delivery``): sends due deliveries, Standard
  Webhooks signed, in order per endpoint, with retries and a claim lease per delivery.

The facade offers ``Atsbridge.events`` (an ``EventLog``) and ``Atsbridge.webhooks`` (a
``WebhookEndpoints``).
"""

from atsbridge.events import types
from atsbridge.events.endpoints import WebhookEndpoints
from atsbridge.events.log import EventLog, record, record_event

__all__ = ["EventLog", "WebhookEndpoints", "record", "record_event", "types"]
