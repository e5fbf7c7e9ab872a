"""`csp offers`: the catalog as partners see it."""

from __future__ import annotations

import typer

from csp_cli.connection import connection
from csp_cli.formatting import emit, emit_json, offers_table
from csp_cli.options import Json


def offers(ctx: typer.Context, json: Json = False) -> None:
    """The offers, their plans and prices per seat."""
    found = list(connection(ctx).ordering().items("/v1/offers"))
    if json:
        emit_json(found)
    else:
        emit(offers_table(found))
