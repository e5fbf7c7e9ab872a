"""Lists: every page is read (the continuation link followed), shown as a table for
people and as the items' JSON for scripts; the token goes along as a bearer token."""

from __future__ import annotations

import json

from tests.unit.cli import samples as s
from tests.unit.cli.conftest import TOKEN, Csp
from tests.unit.cli.scripted_api import ScriptedApi


def test_offers_follow_the_continuation_link_to_the_last_page(
    csp: Csp, ordering: ScriptedApi
) -> None:
    ordering.on(
        "GET",
        "/v1/offers",
        s.page(
            [s.offer("contoso-crm", "Contoso CRM"), s.offer("contoso-helpdesk", "Helpdesk")],
            "/v1/offers?size=2&continuationToken=second",
        ),
    )
    ordering.on(
        "GET",
        "/v1/offers?size=2&continuationToken=second",
        s.page([s.offer("fabrikam-backup", "Fabrikam Cloud Backup", plan="team")]),
    )

    result = csp("offers")

    assert result.exit_code == 0, result.output
    for expected in ("contoso-crm", "contoso-helpdesk", "fabrikam-backup", "team (Team)"):
        assert expected in result.stdout
    assert "P1M monthly: 10.00 USD" in result.stdout
    assert "monthly PT24H, annual P14D" in result.stdout
    queries = [c.query for c in ordering.calls_to("GET", "/v1/offers")]
    assert queries == [{}, {"size": "2", "continuationToken": "second"}]
    assert {c.authorization for c in ordering.calls} == {f"Bearer {TOKEN}"}


def test_json_gives_every_item_of_every_page(csp: Csp, ordering: ScriptedApi) -> None:
    first, second = s.customer(name="Adatum"), s.customer("c-2", "Fourth Coffee")
    ordering.on("GET", "/v1/customers", s.page([first], "/v1/customers?continuationToken=t"))
    ordering.on("GET", "/v1/customers?continuationToken=t", s.page([second]))

    result = csp("customers", "list", "--json")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [first, second]


def test_the_token_flag_wins_over_the_environment(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", "/v1/customers", s.page([]))

    assert csp("--token", "from-flag", "customers", "list").exit_code == 0
    assert csp("customers", "list", env={"CSP_TOKEN": None, "PARTNER_TOKEN": "pt"}).exit_code == 0

    assert [c.authorization for c in ordering.calls] == ["Bearer from-flag", "Bearer pt"]


def test_a_customer_is_added_with_its_domain(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("POST", "/v1/customers", s.customer())

    result = csp("customers", "add", "Adatum", "--domain", "adatum.example")

    assert result.exit_code == 0, result.output
    assert ordering.calls[0].body == {"companyName": "Adatum", "domain": "adatum.example"}
    assert s.CID in result.stdout
    assert "2026-11-23 10:00:00" in result.stdout


def test_ids_are_never_folded_off_a_terminal(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", f"/v1/customers/{s.CID}/subscriptions", s.page([s.active(quantity=3)]))

    result = csp("subscriptions", s.CID)

    assert result.exit_code == 0, result.output
    assert f"Subscriptions of customer {s.CID}" in result.stdout
    row = next(line for line in result.stdout.splitlines() if s.SID in line)
    assert "contoso-crm / standard" in row
    assert "active" in row
    assert "2026-12-22" in row


def test_subscriptions_of_every_customer_with_the_status_filter(
    csp: Csp, ordering: ScriptedApi
) -> None:
    ordering.on("GET", "/v1/customers", s.page([s.customer(), s.customer("c-2", "Fourth")]))
    ordering.on("GET", f"/v1/customers/{s.CID}/subscriptions", s.page([s.active()]))
    other = s.active(id="sub-2", customerId="c-2")
    ordering.on("GET", "/v1/customers/c-2/subscriptions", s.page([other]))

    result = csp("subscriptions", "--status", "active", "--json")

    assert result.exit_code == 0, result.output
    assert [sub["id"] for sub in json.loads(result.stdout)] == [s.SID, "sub-2"]
    listed = [c for c in ordering.calls if c.path.endswith("/subscriptions")]
    assert [c.query for c in listed] == [{"status": "active"}] * 2


def test_invoices_of_one_customer(csp: Csp, billing: ScriptedApi) -> None:
    billing.on(
        "GET",
        "/v1/invoices",
        s.page([s.invoice("CN-000001", "creditNote", "-50.00"), s.invoice("INV-000001")]),
    )

    result = csp("invoices", "--customer", s.CID)

    assert result.exit_code == 0, result.output
    assert billing.calls[0].query == {"customerId": s.CID}
    credit = next(line for line in result.stdout.splitlines() if "CN-000001" in line)
    assert "credit note" in credit
    assert "-50.00 USD" in credit
    assert "INV-000001" in result.stdout


def test_one_invoice_line_by_line(csp: Csp, billing: ScriptedApi) -> None:
    billing.on("GET", "/v1/invoices/id-INV-000001", s.invoice("INV-000001"))

    result = csp("invoice", "id-INV-000001")

    assert result.exit_code == 0, result.output
    assert "Invoice INV-000001" in result.stdout
    line = next(line for line in result.stdout.splitlines() if s.SID in line)
    assert "Contoso CRM / Standard" in line
    assert "2026-11-23 10:05:00 - 2026-12-23 10:05:00" in line


def test_names_are_shown_as_written_never_as_markup(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", "/v1/customers", s.page([s.customer(name="[bold]Adatum[/bold]")]))

    result = csp("customers", "list")

    assert result.exit_code == 0, result.output
    assert "[bold]Adatum[/bold]" in result.stdout


def test_every_customers_subscriptions_even_with_markup_in_a_name(
    csp: Csp, ordering: ScriptedApi
) -> None:
    ordering.on("GET", "/v1/customers", s.page([s.customer(name="[/oops] Adatum")]))
    ordering.on("GET", f"/v1/customers/{s.CID}/subscriptions", s.page([s.active()]))

    result = csp("subscriptions")

    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if s.SID in line)
    assert s.CID in row  # every customer's: the customer column is there
    assert "[/oops] Adatum" in result.stderr  # the progress display's last state
