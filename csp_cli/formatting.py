"""What the commands print: rich tables for people, plain JSON for scripts (`--json`).

Results go to stdout; progress, notes and errors to stderr, so a pipe gets only the
result. Off a terminal (a pipe, a file, CI) tables are laid out wide instead of at 80
columns, so ids are never folded; COLUMNS still wins where set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 250
_DETAIL_CHARS = 60


def console(*, stderr: bool = False) -> Console:
    found = Console(stderr=stderr)
    if not found.is_terminal and "COLUMNS" not in os.environ:
        return Console(stderr=stderr, width=PIPE_WIDTH)
    return found


def note(message: str | Text, *, style: str = "") -> None:
    """A line for the operator on stderr, never wrapped; plain text (it may quote an
    API's message or an event), styled as a whole."""
    text = message if isinstance(message, Text) else Text(message, style=style)
    console(stderr=True).print(text, soft_wrap=True, highlight=False)


def failure(message: str) -> None:
    """`error: <message>` on stderr: what an expected failure prints, one line."""
    note(Text.assemble(("error: ", "bold red"), message))


def emit(renderable: Table | Text | str) -> None:
    """A result on stdout; a string is plain text, one line however long."""
    if isinstance(renderable, str):
        renderable = Text(renderable)
    console().print(renderable, soft_wrap=isinstance(renderable, Text), highlight=False)


def emit_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def when(value: str | None) -> str:
    """`2026-11-23T12:00:01.5+00:00` -> `2026-11-23 12:00:01` (the APIs answer in UTC)."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return value


def _table(title: str | None, *columns: str, ids: Sequence[str] = ()) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD)
    for column in columns:
        # Ids are what people copy into the next command: never folded or cut. On a
        # narrow terminal the other columns wrap, each keeping its header's width.
        words = column.split()
        table.add_column(
            column,
            no_wrap=column in ids,
            overflow="fold",
            min_width=max(len(w) for w in words) if words else None,
        )
    return table


def _add(table: Table, *cells: str | Text) -> None:
    """A row of plain text: names and errors come from users and events, never markup."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


def _seats(plan: Mapping[str, Any]) -> str:
    return f"{plan['minQuantity']}-{plan['maxQuantity']}"


def offers_table(offers: Iterable[Mapping[str, Any]]) -> Table:
    table = _table(
        "Offers",
        "offer",
        "name",
        "publisher",
        "plan",
        "seats",
        "prices per seat",
        "cancellation window",
        ids=("offer", "plan"),
    )
    for offer in offers:
        window = offer.get("cancellationWindow") or {}
        windows = ", ".join(f"{cycle} {value}" for cycle, value in window.items())
        for plan in offer["plans"]:
            prices = "\n".join(
                f"{p['termDuration']} {p['billingCycle']}: {p['pricePerSeat']} {plan['currency']}"
                for p in plan["prices"]
            )
            _add(
                table,
                offer["offerId"],
                offer["name"],
                offer["publisherId"],
                f"{plan['planId']} ({plan['name']})",
                _seats(plan),
                prices,
                windows,
            )
    return table


def customers_table(customers: Iterable[Mapping[str, Any]]) -> Table:
    table = _table("Customers", "id", "company", "domain", "created (UTC)", ids=("id",))
    for customer in customers:
        _add(
            table,
            customer["id"],
            customer["companyName"],
            customer.get("domain") or "",
            when(customer.get("creationDate")),
        )
    return table


def status_text(subscription: Mapping[str, Any]) -> Text:
    status = subscription["status"]
    style = {"active": "green", "pending": "yellow", "suspended": "magenta", "deleted": "red"}
    text = Text(status, style=style.get(status, ""))
    if subscription.get("actionNeeded"):
        text.append(" (action needed)", style="yellow")
    return text


def seats_text(subscription: Mapping[str, Any]) -> str:
    pending = subscription.get("pendingChange") or {}
    seats = str(subscription["quantity"])
    if pending.get("quantity") is not None:
        seats += f" -> {pending['quantity']} asked"
    return seats


def subscriptions_table(
    subscriptions: Iterable[Mapping[str, Any]], *, of_customer: str | None = None
) -> Table:
    """With `of_customer`, one customer's: its id in the title, not on every row."""
    title = f"Subscriptions of customer {of_customer}" if of_customer else "Subscriptions"
    customer = () if of_customer else ("customer",)
    columns = ("id", *customer, "name", "offer / plan", "seats", "status", "term", "renew", "ends")
    table = _table(title, *columns, ids=("id", "customer"))
    for sub in subscriptions:
        _add(
            table,
            sub["id"],
            *(() if of_customer else (sub["customerId"],)),
            sub["friendlyName"],
            f"{sub['offerId']} / {sub['planId']}",
            seats_text(sub),
            status_text(sub),
            f"{sub['termDuration']} {sub['billingCycle']}",
            "on" if sub.get("autoRenewEnabled") else "off",
            sub.get("commitmentEndDate") or "",
        )
    return table


def subscription_details(sub: Mapping[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    last = sub.get("lastChange")
    rows: list[tuple[str, str | Text]] = [
        ("subscription", sub["id"]),
        ("customer", sub["customerId"]),
        ("order", sub["orderId"]),
        ("name", sub["friendlyName"]),
        ("offer / plan", f"{sub['offerId']} / {sub['planId']} ({sub['publisherId']})"),
        ("status", status_text(sub)),
        ("seats", seats_text(sub)),
        ("licenses assigned", str(sub.get("licensesAssigned", 0))),
        ("term", f"{sub['termDuration']}, billed {sub['billingCycle']}"),
        ("auto-renew", "on" if sub.get("autoRenewEnabled") else "off"),
        ("reseller (partnerId)", sub.get("partnerId") or "-"),
        ("created (UTC)", when(sub.get("creationDate"))),
        ("started (UTC)", when(sub.get("effectiveStartDate")) or "-"),
        ("commitment ends", sub.get("commitmentEndDate") or "-"),
        ("refundable until (UTC)", when(sub.get("refundableUntil")) or "-"),
        ("activation link", sub.get("activationLink") or "-"),
    ]
    if last:
        reason = f": {last['reason']}" if last.get("reason") else ""
        rows.append(
            (
                "last seat change",
                f"{last['quantity']} seats {last['status']}{reason} ({when(last['decidedAt'])})",
            )
        )
    for name, value in rows:
        _add(grid, name, value)
    return grid


def _compact(payload: Any) -> str:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False) if payload else ""
    return text if len(text) <= _DETAIL_CHARS else text[: _DETAIL_CHARS - 1] + "…"


def timeline_table(events: Sequence[Mapping[str, Any]], *, payloads: bool = False) -> Table:
    table = _table(
        f"Timeline ({len(events)} events, from the dashboard)",
        "#",
        "occurred (UTC)",
        "type",
        "topic",
        "at",
        "event id",
        "correlation id",
        "payload",
        ids=("event id", "correlation id"),
    )
    for number, event in enumerate(events, 1):
        payload = event.get("payload")
        _add(
            table,
            str(number),
            when(event.get("occurredAt")),
            event.get("type", ""),
            event.get("topic", ""),
            f"{event.get('partition')}:{event.get('offset')}",
            event.get("eventId", ""),
            event.get("correlationId") or "",
            json.dumps(payload, indent=1, ensure_ascii=False) if payloads else _compact(payload),
        )
    return table


def invoices_table(
    invoices: Iterable[Mapping[str, Any]], *, of_customer: str | None = None
) -> Table:
    """With `of_customer`, one customer's: its id in the title, not on every row."""
    title = "Invoices and credit notes" + (f" of customer {of_customer}" if of_customer else "")
    customer = () if of_customer else ("customer",)
    columns = ("number", "kind", "id", *customer, "issued (UTC)", "total", "lines")
    table = _table(title, *columns, ids=("number", "id", "customer"))
    for invoice in invoices:
        _add(
            table,
            invoice["number"],
            "credit note" if invoice["kind"] == "creditNote" else "invoice",
            invoice["id"],
            *(() if of_customer else (invoice["customerId"],)),
            when(invoice["issuedAt"]),
            Text(f"{invoice['total']} {invoice['currency']}", justify="right"),
            str(len(invoice.get("lineItems", []))),
        )
    return table


def invoice_lines(invoice: Mapping[str, Any]) -> Table:
    kind = "Credit note" if invoice["kind"] == "creditNote" else "Invoice"
    table = _table(
        f"{kind} {invoice['number']} · customer {invoice['customerId']} · "
        f"issued {when(invoice['issuedAt'])} · total {invoice['total']} {invoice['currency']}",
        "subscription",
        "description",
        "type",
        "seats",
        "unit price",
        "period (UTC)",
        "amount",
        ids=("subscription",),
    )
    for line in invoice.get("lineItems", []):
        _add(
            table,
            line["subscriptionId"],
            line["description"],
            line["type"],
            str(line["quantity"]),
            line["unitPrice"],
            f"{when(line['periodStart'])} - {when(line['periodEnd'])}",
            line["amount"],
        )
    return table


def dead_letters_table(letters: Iterable[Mapping[str, Any]], title: str = "Dead letters") -> Table:
    """The dashboard's dead letters; `id` is what `csp dead-letters replay` takes."""
    table = _table(
        title,
        "id",
        "dead-lettered (UTC)",
        "event id",
        "type",
        "subject",
        "consumer",
        "error",
        ids=("id", "event id"),
    )
    for letter in letters:
        _add(
            table,
            letter["id"],
            when(letter["time"]),
            letter.get("eventId") or "-",
            letter.get("type") or "-",
            letter.get("subject") or "-",
            letter.get("consumer") or "-",
            letter.get("error") or "",
        )
    return table
