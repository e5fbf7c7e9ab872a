"""`csp subscriptions`, `csp show`, `csp set seats`, `csp cancel`: the partner's
subscriptions and the changes a partner makes to one (README, "Managing a subscription")."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from csp_cli.client import ApiClient, path
from csp_cli.connection import Connection, connection
from csp_cli.failures import ApiError, CliFailure, WaitRanOut
from csp_cli.formatting import (
    emit,
    emit_json,
    note,
    seats_text,
    status_text,
    subscription_details,
    subscriptions_table,
    timeline_table,
)
from csp_cli.options import CustomerId, Json, SubscriptionId, Timeout
from csp_cli.progress import Steps

set_app = typer.Typer(help="Change a subscription.", no_args_is_help=True)


def _subscription_path(customer_id: str, sid: str) -> str:
    return path("/v1/customers", customer_id, "subscriptions", sid)


def subscriptions(
    ctx: typer.Context,
    customer_id: Annotated[
        str | None,
        typer.Argument(help="Only this customer's (default: every customer of the partner)."),
    ] = None,
    status: Annotated[
        str | None, typer.Option(help="Only these: pending, active, suspended, deleted.")
    ] = None,
    json: Json = False,
) -> None:
    """The partner's subscriptions, oldest first."""
    ordering = connection(ctx).ordering()
    if customer_id is not None:
        found = list(_of_customer(ordering, customer_id, status))
    else:
        customers = list(ordering.items("/v1/customers"))
        found = []
        with Steps(total=len(customers)) as steps:
            for customer in customers:
                steps.now("reading subscriptions", customer["companyName"])
                found += _of_customer(ordering, customer["id"], status)
                steps.done()
    if json:
        emit_json(found)
    else:
        emit(subscriptions_table(found, of_customer=customer_id))


def _of_customer(ordering: ApiClient, customer_id: str, status: str | None) -> list[Any]:
    listed = path("/v1/customers", customer_id, "subscriptions")
    return list(ordering.items(listed, status=status))


def show(
    ctx: typer.Context,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    payloads: Annotated[
        bool, typer.Option("--payloads", help="Print each event's whole payload.")
    ] = False,
    json: Json = False,
) -> None:
    """One subscription and its event timeline.

    The timeline (every service's events of the subscription) comes from the ops
    dashboard; without it, the subscription alone and a line saying so.
    """
    found = connection(ctx)
    sub = found.ordering().get(_subscription_path(customer_id, subscription_id))
    events, unavailable = _timeline(found, subscription_id)
    if json:
        emit_json({"subscription": sub, "timeline": events, "timelineUnavailable": unavailable})
        return
    emit(subscription_details(sub))
    emit("")
    if events is None:
        emit(Text(f"no timeline: {unavailable}", style="yellow"))
    elif not events:
        emit("timeline: the dashboard has seen no event of this subscription yet")
    else:
        emit(timeline_table(events, payloads=payloads))


def _timeline(found: Connection, sid: str) -> tuple[list[Any] | None, str | None]:
    """The dashboard's events of the subscription (empty: it knows none), or None and
    why there is no timeline."""
    needs = "the timeline needs the ops dashboard"
    try:
        body = found.dashboard().get(path("/api/subscriptions", sid, "timeline"))
    except ApiError as error:
        if error.status == 404 and error.body.get("evicted") is not None:
            return None, error.message  # older than the dashboard's window: it says so
        if error.status == 404:
            return [], None
        return None, f"{needs}, and {error}"
    except CliFailure as error:
        return None, f"{needs}: {error}"
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list):
        return None, f"{needs}: {found.dashboard_url} answered no timeline (no `events` list)"
    return events, None


@set_app.command("seats")
def set_seats(
    ctx: typer.Context,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    quantity: Annotated[int, typer.Argument(min=1, help="The seats wanted.")],
    wait: Annotated[
        bool, typer.Option("--wait/--no-wait", help="Wait for the publisher's answer.")
    ] = False,
    timeout: Timeout = 60.0,
    json: Json = False,
) -> None:
    """Ask for a new number of seats: the publisher accepts or rejects it."""
    ordering = connection(ctx).ordering()
    where = _subscription_path(customer_id, subscription_id)
    sub = ordering.patch(where, {"quantity": quantity})
    pending = sub.get("pendingChange") or {}
    if pending.get("quantity") != quantity:  # already that many: nothing was asked
        _print(sub, json, f"already {quantity} seats: nothing changed")
        return
    operation = pending["operationId"]
    if not wait:
        _print(
            sub,
            json,
            f"asked the publisher for {quantity} seats (operation {operation}); it keeps "
            f"{sub['quantity']} until the answer (`--wait` waits for it)",
        )
        return
    with Steps(total=1) as steps:
        steps.now("waiting for the publisher's answer")
        polled = steps.poll(
            lambda: ordering.get(where),
            lambda s: not s.get("pendingChange"),
            lambda s: f"{seats_text(s)} seats",
            timeout=timeout,
        )
    sub = polled.value
    if not polled.reached:
        _print(sub, json, f"asked the publisher for {quantity} seats (operation {operation})")
        raise WaitRanOut(f"no answer from the publisher within {timeout:g} s")
    last = sub.get("lastChange") or {}
    if last.get("operationId") == operation and last.get("status") == "rejected":
        _print(sub, json, f"the publisher rejected {quantity} seats")
        reason = f": {last['reason']}" if last.get("reason") else ""
        raise CliFailure(f"the publisher rejected the change to {quantity} seats{reason}")
    _print(sub, json, f"accepted: {sub['quantity']} seats now")


def cancel(
    ctx: typer.Context,
    customer_id: CustomerId,
    subscription_id: SubscriptionId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    json: Json = False,
) -> None:
    """Cancel a subscription.

    Within the offer's cancellation window (or while pending) it ends now and is
    refunded; later it ends at the end of its term, nothing refunded.
    """
    ordering = connection(ctx).ordering()
    where = _subscription_path(customer_id, subscription_id)
    current = ordering.get(where)
    if current["status"] == "deleted":
        _print(current, json, "already cancelled: nothing changed")
        return
    if not yes:
        typer.confirm(
            f"Cancel {current['friendlyName']} ({subscription_id}, {current['status']}, "
            f"{current['quantity']} seats)?",
            abort=True,
        )
    sub = ordering.patch(where, {"status": "deleted"})
    if sub["status"] == "deleted":
        charged = current["status"] != "pending"
        refund = "its charges are reversed by a credit note" if charged else "nothing was charged"
        _print(sub, json, f"cancelled now: {refund}")
    else:
        _print(
            sub,
            json,
            f"cancellation scheduled: it stays {sub['status']} until its term ends "
            f"({sub.get('commitmentEndDate')}), auto-renew is off, nothing is refunded",
        )


def _print(sub: dict[str, Any], json: bool, outcome: str) -> None:
    """The outcome for people (with the subscription's state), or the subscription."""
    if json:
        emit_json(sub)
        note(outcome)
        return
    line = Text(f"{outcome}. {sub['id']}: {seats_text(sub)} seats, ")
    line.append_text(status_text(sub))
    emit(line)
