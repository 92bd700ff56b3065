"""The webhook-delivery options shared by the two long-running commands (``serve``,
``host run``): either may send the product's webhooks, each delivery claimed by one sender."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["webhook_delivery_options"]

F = TypeVar("F", bound=Callable[..., Any])


def webhook_delivery_options(f: F) -> F:
    """Adds ``--deliver-webhooks/--no-deliver-webhooks`` and ``--webhook-claim-seconds``."""
    f = click.option(
        "--webhook-claim-seconds",
        type=click.FloatRange(min=0.1),
        default=120.0,
        show_default=True,
        help="How long a webhook delivery being sent is protected from other senders; past "
        "it (the sender presumed dead) it is sent again, with the same webhook-id.",
    )(f)
    return click.option(
        "--deliver-webhooks/--no-deliver-webhooks",
        default=True,
        show_default=True,
        help="Send the product's signed webhooks from this process (any number of processes "
        "may: each delivery is claimed by one).",
    )(f)
