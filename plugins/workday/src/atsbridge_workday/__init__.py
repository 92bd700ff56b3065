"""atsbridge plugin for Workday Recruiting, over the SOAP Recruiting web service."""

__version__ = "0.1.0"
