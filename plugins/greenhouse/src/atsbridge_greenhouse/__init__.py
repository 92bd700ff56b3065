"""atsbridge plugin for Greenhouse, Harvest API v3."""

__version__ = "0.1.0"
