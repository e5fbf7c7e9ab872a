"""`csp customers list|add`: the calling partner's customers."""

from __future__ import annotations

from typing import Annotated

import typer

from csp_cli.connection import connection
from csp_cli.formatting import customers_table, emit, emit_json
from csp_cli.options import Json

app = typer.Typer(help="The partner's customers.", no_args_is_help=True)


@app.command("list")
def list_customers(ctx: typer.Context, json: Json = False) -> None:
    """The partner's customers, oldest first."""
    found = list(connection(ctx).ordering().items("/v1/customers"))
    if json:
        emit_json(found)
    else:
        emit(customers_table(found))


@app.command("add")
def add_customer(
    ctx: typer.Context,
    company_name: Annotated[str, typer.Argument(help="The customer's company name.")],
    domain: Annotated[str | None, typer.Option(help="The customer's domain.")] = None,
    json: Json = False,
) -> None:
    """Create a customer (GlobalAdmin or AdminAgent)."""
    body = {"companyName": company_name, **({"domain": domain} if domain else {})}
    customer = connection(ctx).ordering().post("/v1/customers", body)
    if json:
        emit_json(customer)
    else:
        emit(customers_table([customer]))
