"""Options several commands share."""

from __future__ import annotations

from typing import Annotated

import typer

Json = Annotated[
    bool, typer.Option("--json", help="Print the API's JSON (for scripts) instead of a table.")
]
CustomerId = Annotated[str, typer.Argument(help="The customer's id (`csp customers list`).")]
SubscriptionId = Annotated[
    str, typer.Argument(help="The subscription's id (`csp subscriptions CUSTOMER_ID`).")
]
Timeout = Annotated[
    float,
    typer.Option("--timeout", min=0, help="How long to wait, in seconds.", show_default=True),
]
