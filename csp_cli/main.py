"""The `csp` command: global options (where the services are, the token) and the
commands. An expected failure (an API's error answer, a service or the broker out of
reach, a missing token) is one `error:` line on stderr and a non-zero exit code
(`failures.py`), never a traceback."""

from __future__ import annotations

from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup

from csp_cli.commands import buying, catalog, customers, dead_letters, invoices, subscriptions
from csp_cli.connection import (
    BILLING_URL,
    DASHBOARD_URL,
    DEFAULT_TIMEOUT_S,
    ORDERING_URL,
    Connection,
)
from csp_cli.failures import CliFailure
from csp_cli.formatting import failure


class CspGroup(TyperGroup):
    """Every command runs inside this group's invoke: the one place failures become
    an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CliFailure as error:
            failure(str(error))
            ctx.exit(error.exit_code)
        finally:
            found = ctx.find_object(Connection)
            if found is not None:
                found.close()


app = typer.Typer(
    name="csp",
    cls=CspGroup,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # a bug's traceback must never print the token
    help="CSP Marketplace for partners and operators: offers, customers, purchases, "
    "subscriptions, invoices and dead letters.",
)


@app.callback()
def options(
    ctx: typer.Context,
    token: Annotated[
        str | None,
        typer.Option(
            envvar=["CSP_TOKEN", "PARTNER_TOKEN"],
            help="The API token (a partner user's JWT; `make run` prints one).",
            show_default=False,
            show_envvar=True,
        ),
    ] = None,
    ordering_url: Annotated[
        str, typer.Option(envvar="CSP_ORDERING_URL", help="The partner API (ordering).")
    ] = ORDERING_URL,
    billing_url: Annotated[
        str, typer.Option(envvar="CSP_BILLING_URL", help="Billing (invoices).")
    ] = BILLING_URL,
    dashboard_url: Annotated[
        str,
        typer.Option(
            envvar="CSP_DASHBOARD_URL", help="The ops dashboard (timelines, dead letters)."
        ),
    ] = DASHBOARD_URL,
    dashboard_token: Annotated[
        str | None,
        typer.Option(
            envvar="CSP_DASHBOARD_TOKEN",
            help="The dashboard's operator credential, where it asks for one (production): "
            "sent as a bearer token by `show` and `dead-letters`.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(envvar="CSP_HTTP_TIMEOUT", min=0.1, help="Seconds one HTTP request may take."),
    ] = DEFAULT_TIMEOUT_S,
) -> None:
    ctx.obj = Connection(
        token=token,
        ordering_url=ordering_url,
        billing_url=billing_url,
        dashboard_url=dashboard_url,
        dashboard_token=dashboard_token,
        timeout=timeout,
    )


app.command("offers")(catalog.offers)
app.add_typer(customers.app, name="customers")
app.command("buy")(buying.buy)
app.command("subscriptions")(subscriptions.subscriptions)
app.command("show")(subscriptions.show)
app.add_typer(subscriptions.set_app, name="set")
app.command("cancel")(subscriptions.cancel)
app.command("invoices")(invoices.invoices)
app.command("invoice")(invoices.invoice)
app.add_typer(dead_letters.app, name="dead-letters")
