"""Services: the operations the facade (and so the CLI) offers, one module per area.

Each service subclasses ``Service`` and reaches the store, the plugins and plugin sessions
through ``self.app`` (an ``atsbridge.api.Atsbridge``). Add a module here and attach it to the
facade with one ``cached_property`` in ``atsbridge/api.py``.
"""

from atsbridge.services.base import Service

__all__ = ["Service"]
