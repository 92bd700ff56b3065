"""The product HTTP API (``atsbridge serve``): FastAPI over the ``atsbridge.api`` facade.

Modules: ``app`` (``create_app``), ``routes`` (one per resource), ``deps`` (keys, scopes,
tenant visibility), ``keys`` (API keys), ``problems`` (RFC 9457 errors), ``paging``,
``idempotency``, ``context`` (request ids), ``server`` (uvicorn), ``openapi`` (the committed
spec). Importing this package imports nothing heavy; ``app`` needs FastAPI.
"""
