"""Errors a plugin raises and the core understands.

Each carries a one-line message that is safe to show a user: no secret ever goes into one
(the SDK client redacts credentials before it builds them). The CLI maps ``BadInput`` to exit
code 2 and every other ``AtsbridgeError`` to exit code 1.
"""

from __future__ import annotations


class AtsbridgeError(Exception):
    """Base of every error atsbridge raises on purpose."""


class BadInput(AtsbridgeError):
    """Input from a user (config, file, CLI argument, lead document) is wrong."""


class ConfigError(BadInput):
    """A connector config does not match the plugin's schema; ``problems`` has one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


class NotFound(BadInput):
    """A tenant, connection, job or lead named by the user does not exist."""


class Conflict(BadInput):
    """The operation contradicts stored state (e.g. an ATS job already linked)."""


class AtsError(AtsbridgeError):
    """The ATS answered, and refused: a 4xx the plugin cannot recover from."""

    def __init__(self, message: str, *, status_code: int | None = None):
        self.status_code = status_code
        super().__init__(message)


class AuthError(AtsError):
    """The ATS rejected the credentials (401/403, bad token grant, SOAP auth fault)."""


class AtsUnavailable(AtsbridgeError):
    """The ATS could not be reached or kept failing (network, 5xx, 429) after retries."""


class PayloadError(AtsbridgeError):
    """An ATS payload does not have the shape the plugin expects.

    Names the record and the field so a sync can skip or report it precisely.
    """

    def __init__(self, record: str, field: str, reason: str):
        self.record = record
        self.field = field
        self.reason = reason
        super().__init__(f"{record}: field {field}: {reason}")


class WebhookRefused(AtsbridgeError):
    """An inbound ATS delivery failed verification: bad, missing or stale signature.

    The ``/hooks`` receiver answers 401 and stores nothing. The message says which check
    failed and never quotes a secret or an expected signature.
    """


class PluginFailed(AtsbridgeError):
    """A plugin hook raised something other than an ``AtsbridgeError``: a plugin bug.

    The core wraps the original exception (kept as ``__cause__``) so one misbehaving plugin
    is reported in one line, with registered secrets redacted, instead of a traceback.
    """
