"""`csp invoices`, `csp invoice`: billing's invoices and credit notes."""

from __future__ import annotations

from typing import Annotated

import typer

from csp_cli.client import path
from csp_cli.connection import connection
from csp_cli.formatting import emit, emit_json, invoice_lines, invoices_table
from csp_cli.options import Json


def invoices(
    ctx: typer.Context,
    customer: Annotated[str | None, typer.Option(help="Only this customer's.")] = None,
    json: Json = False,
) -> None:
    """Invoices and credit notes, newest first."""
    found = list(connection(ctx).billing().items("/v1/invoices", customerId=customer))
    if json:
        emit_json(found)
    else:
        emit(invoices_table(found, of_customer=customer))


def invoice(
    ctx: typer.Context,
    invoice_id: Annotated[str, typer.Argument(help="The invoice's id (`csp invoices`).")],
    json: Json = False,
) -> None:
    """One invoice or credit note, line by line."""
    found = connection(ctx).billing().get(path("/v1/invoices", invoice_id))
    if json:
        emit_json(found)
    else:
        emit(invoice_lines(found))
