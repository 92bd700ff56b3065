"""What every service shares."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from atsbridge.plugins import PluginRegistry
from atsbridge.store import Store

if TYPE_CHECKING:
    from atsbridge.api import Atsbridge


class Service:
    def __init__(self, app: Atsbridge):
        self.app = app

    @property
    def store(self) -> Store:
        return self.app.store

    @property
    def registry(self) -> PluginRegistry:
        return self.app.registry

    def now(self) -> datetime:
        return self.app.clock()
