"""atsbridge plugin for the Lever API v1."""

__version__ = "0.1.0"
