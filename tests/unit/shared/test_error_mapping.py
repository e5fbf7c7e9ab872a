"""One error shape for every API: the shared vocabulary mapped to HTTP in one place."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from shared.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    RuleBroken,
    Unauthorized,
    Unavailable,
)
from shared.http.errors import field_path, install_error_handlers


class NewCustomer(BaseModel):
    companyName: str  # noqa: N815 - the wire name


class SeatLimitExceeded(RuleBroken):
    """A service's own, more specific rule: still a 400."""


def app_raising(problem: Exception | None = None) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/fails")
    async def fails() -> None:
        assert problem is not None
        raise problem

    @app.post("/customers")
    async def create(customer: NewCustomer) -> dict[str, str]:
        return {"companyName": customer.companyName}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.mark.parametrize(
    ("problem", "status", "code"),
    [
        (RuleBroken("quantity must be at least 1", "lineItems[0].quantity"), 400, "BadRequest"),
        (Unauthorized("invalid bearer token", "Authorization"), 401, "Unauthorized"),
        (Forbidden("not your customer", "customerId"), 403, "Forbidden"),
        (NotFound("no such cart", "cartId"), 404, "NotFound"),
        (Conflict("the cart was checked out already", "cartId"), 409, "Conflict"),
        (
            Unavailable("the token issuer cannot be reached", "Authorization"),
            503,
            "ServiceUnavailable",
        ),
        (SeatLimitExceeded("at most 300 seats", "quantity"), 400, "BadRequest"),
        (Problem("something expected went wrong", "request"), 400, "BadRequest"),
    ],
    ids=[
        "rule-broken",
        "unauthorized",
        "forbidden",
        "not-found",
        "conflict",
        "unavailable",
        "subclass",
        "base",
    ],
)
async def test_each_problem_becomes_its_status_and_code_with_its_target(
    problem: Problem, status: int, code: str
) -> None:
    async with client(app_raising(problem)) as api:
        answer = await api.get("/fails")

    assert answer.status_code == status
    assert answer.json() == {
        "error": {"code": code, "message": problem.message, "target": problem.target}
    }
    assert ("www-authenticate" in answer.headers) == (status == 401)


async def test_a_problem_without_a_target_has_no_target_field() -> None:
    async with client(app_raising(NotFound("no such order"))) as api:
        answer = await api.get("/fails")
    assert answer.json() == {"error": {"code": "NotFound", "message": "no such order"}}


async def test_an_unexpected_exception_is_a_500_that_reveals_nothing() -> None:
    async with client(app_raising(KeyError("secret internals"))) as api:
        answer = await api.get("/fails")
    assert answer.status_code == 500
    assert answer.json() == {"error": {"code": "InternalError", "message": "internal error"}}


async def test_an_unknown_route_is_a_404_in_the_same_shape() -> None:
    async with client(app_raising()) as api:
        answer = await api.get("/nowhere")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "NotFound"


@pytest.mark.parametrize(
    ("body", "target", "says"),
    [
        (b"{bad", "body", "not valid JSON"),
        (b"", "body", "Field required"),
        (b"[]", "body", "valid dictionary"),
        (b'{"companyName": 5}', "companyName", "valid string"),
    ],
)
async def test_malformed_bodies_are_400s_naming_the_body_or_field(
    body: bytes, target: str, says: str
) -> None:
    async with client(app_raising()) as api:
        answer = await api.post(
            "/customers", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "BadRequest"
    assert answer.json()["error"]["target"] == target
    assert says in answer.json()["error"]["message"]


def test_field_paths_name_the_offending_field() -> None:
    assert field_path(("body", "lineItems", 0, "quantity")) == "lineItems[0].quantity"
    assert field_path(("query", "status")) == "status"
