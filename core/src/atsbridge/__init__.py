"""atsbridge: connect a candidate-sourcing product to customers' Applicant Tracking Systems."""

__version__ = "0.1.0"
