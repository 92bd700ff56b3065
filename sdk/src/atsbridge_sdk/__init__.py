"""Building blocks for atsbridge ATS plugins."""

__version__ = "0.1.0"
