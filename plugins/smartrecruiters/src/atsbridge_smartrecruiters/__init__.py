"""atsbridge plugin for the SmartRecruiters Customer API."""

__version__ = "0.1.0"
