"""Expected failures are one `error:` line on stderr and a non-zero exit, never a
traceback: the API's own error message, a bad token, a service out of reach, no token."""

from __future__ import annotations

from click.testing import Result

from tests.unit.cli import samples as s
from tests.unit.cli.conftest import Csp
from tests.unit.cli.scripted_api import Answer, ScriptedApi, error


def one_error_line(result: Result) -> str:
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_the_apis_error_message_and_target_are_printed(csp: Csp, ordering: ScriptedApi) -> None:
    message = "quantity 900 is outside the plan's 1-500"
    ordering.on(
        "POST",
        f"/v1/customers/{s.CID}/carts",
        error(400, "BadRequest", message, "lineItems[0].quantity"),
    )

    result = csp("buy", s.CID, "contoso-crm", "--plan", "standard", "--seats", "900")

    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"ordering answered 400 BadRequest: {message}" in line
    assert "(target: lineItems[0].quantity)" in line
    assert ordering.calls_to("POST", f"/v1/customers/{s.CID}/carts/{s.CART}/checkout") == []


def test_a_refused_token_says_so_and_where_the_token_comes_from(
    csp: Csp, ordering: ScriptedApi
) -> None:
    ordering.on("GET", "/v1/offers", error(401, "Unauthorized", "the token has expired"))

    result = csp("offers")

    assert result.exit_code == 1
    line = one_error_line(result)
    assert "401 Unauthorized: the token has expired (check --token / CSP_TOKEN)" in line


def test_an_error_body_that_is_not_the_apis_is_quoted(csp: Csp, billing: ScriptedApi) -> None:
    billing.on("GET", "/v1/invoices", Answer(502, "Bad gateway\nupstream down"))

    result = csp("invoices")

    assert result.exit_code == 1
    assert "billing answered 502 BadGateway: Bad gateway upstream down" in one_error_line(result)


def test_an_unreachable_service_is_one_line_naming_it_and_the_option(
    csp: Csp, nothing_listens: str
) -> None:
    result = csp("customers", "list", env={"CSP_ORDERING_URL": nothing_listens})

    assert result.exit_code == 1
    line = one_error_line(result)
    assert f"cannot reach ordering at {nothing_listens}" in line
    assert "--ordering-url / CSP_ORDERING_URL" in line


def test_billing_out_of_reach_names_billing(csp: Csp, nothing_listens: str) -> None:
    result = csp("--billing-url", nothing_listens, "invoices")

    assert result.exit_code == 1
    assert f"cannot reach billing at {nothing_listens}" in one_error_line(result)


def test_no_token_is_a_usage_error_before_any_request(csp: Csp, ordering: ScriptedApi) -> None:
    result = csp("offers", env={"CSP_TOKEN": None})

    assert result.exit_code == 2
    assert "no API token: pass --token or set CSP_TOKEN" in one_error_line(result)
    assert ordering.calls == []


def test_a_url_that_is_no_api_is_named(csp: Csp, ordering: ScriptedApi) -> None:
    ordering.on("GET", "/v1/offers", Answer(200, "<html>hello</html>"))

    result = csp("offers")

    assert result.exit_code == 1
    assert "is http://127.0.0.1:" in one_error_line(result)
    assert "really ordering?" in result.stderr


def test_ids_typed_by_the_operator_stay_one_path_segment(csp: Csp, ordering: ScriptedApi) -> None:
    result = csp("show", "../../offers?x=", s.SID)

    assert result.exit_code == 1
    assert [c.raw_path for c in ordering.calls] == [
        f"/v1/customers/..%2F..%2Foffers%3Fx%3D/subscriptions/{s.SID}"
    ]
