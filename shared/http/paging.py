"""Paging of list answers: `?size=N`, an opaque continuation token and `links.next`.

Every list of the partner and billing APIs takes `?size=N` (1 to 500, default 100; else
a 400 naming `size`) and `?continuationToken=`. A page answers `{"totalCount", "items",
..., "links": {"next": {"uri", "method": "GET"}}}`: `totalCount` counts this page's
items, and `links.next` is there only while more remain. Its uri is relative to the
service's root and repeats the request's filters and size with the next token. The
publisher's list names its next page the spec's way (`@nextLink`, absolute, built with
`next_uri(..., absolute=True)`).

The token is base64url (no padding) of the compact JSON `{"v": 1, "a": <position>,
"c": <check>}`: `a` is the query's position (`shared.service_layer.paging`), and `c` the
first 16 hex digits of SHA-256 over the list's binding (its name, the caller and every
filter, see `bind`) and `a`. So a token only works for the list, filters and caller it
came from: another list's, another filter's, or an altered one is a 400 naming the token
parameter, never a page of something else, and never a 500. The check is no secret:
forging one only moves the caller inside a list it may read anyway (reads are
authorized by the query, not by the token). An empty token is no token (first page).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import Query, Request
from pydantic import BeforeValidator, SerializerFunctionWrapHandler, model_serializer
from pydantic_core import PydanticCustomError

from shared.errors import RuleBroken
from shared.events.envelope import CamelModel
from shared.service_layer.paging import DEFAULT_PAGE_SIZE, PageRequest

MAX_PAGE_SIZE = 500
SIZE_PARAM = "size"
TOKEN_PARAM = "continuationToken"
_VERSION = 1
MAX_TOKEN_CHARS = 256  # ours are under 100; longer is no token of ours
_MAX_POSITION = 2**63 - 1  # SQLite's integers


class Link(CamelModel):
    uri: str
    method: Literal["GET"] = "GET"


class PageLinks(CamelModel):
    next: Link


class ListBody(CamelModel):
    """Base of a list answer: subclasses declare `total_count`, `items` (and more) and
    `links: PageLinks | None = None`, which is left out of the body on the last page."""

    @model_serializer(mode="wrap")
    def _without_absent_links(self, handler: SerializerFunctionWrapHandler) -> Any:
        body = handler(self)
        if isinstance(body, dict) and "links" in body and body["links"] is None:
            del body["links"]
        return body


# --- the token


def binding(list_name: str, **scope: str | None) -> str:
    """What a token is bound to: the list and everything that selects its items."""
    return json.dumps({"list": list_name, **scope}, sort_keys=True, separators=(",", ":"))


def _check(bound_to: str, position: int) -> str:
    return hashlib.sha256(f"{bound_to}\n{position}".encode()).hexdigest()[:16]


def encode_token(bound_to: str, position: int) -> str:
    payload = {"v": _VERSION, "a": position, "c": _check(bound_to, position)}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_token(token: str, bound_to: str, param: str = TOKEN_PARAM) -> int:
    """The position in `token`; RuleBroken naming `param` unless it is a token of this list."""
    try:
        if len(token) > MAX_TOKEN_CHARS:
            raise ValueError("too long")
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        payload = json.loads(raw)
        if not isinstance(payload, dict) or set(payload) != {"v", "a", "c"}:
            raise ValueError("not a token")
        position, check = payload["a"], payload["c"]
        if (
            type(payload["v"]) is not int
            or payload["v"] != _VERSION
            or type(position) is not int
            or not 0 <= position <= _MAX_POSITION
            or not isinstance(check, str)
        ):
            raise ValueError("not a token")
    except (ValueError, TypeError, KeyError, binascii.Error, RecursionError):
        raise RuleBroken(f"{param} is not a continuation token of this API", param) from None
    if check != _check(bound_to, position):
        raise RuleBroken(
            f"{param} belongs to another list, filter or caller, or was altered;"
            " start again from the first page",
            param,
        )
    return position


# --- the request's paging parameters and the next page's link


def next_uri(request: Request, token: str, *, absolute: bool = False, **replace: Any) -> str:
    """This request's uri with the next token (and `replace`d parameters), every other
    query parameter (filters, api-version) kept; relative to the root unless `absolute`."""
    dropped = {TOKEN_PARAM, *replace}
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in dropped]
    params += [*replace.items(), (TOKEN_PARAM, token)]
    query = urlencode(params)
    path = quote(request.url.path)  # Starlette hands it over decoded
    if absolute:
        return str(request.url.replace(path=path, query=query))
    return f"{path}?{query}"


@dataclass(frozen=True)
class BoundPage:
    """The page a request asks for, in the list it names."""

    bound_to: str
    page: PageRequest
    request: Request

    def links(self, next_position: int | None) -> PageLinks | None:
        """`links.next` while more remain, None on the last page."""
        if next_position is None:
            return None
        token = encode_token(self.bound_to, next_position)
        uri = next_uri(self.request, token, **{SIZE_PARAM: str(self.page.size)})
        return PageLinks(next=Link(uri=uri))


@dataclass(frozen=True)
class PageParams:
    size: int
    token: str | None
    request: Request

    def bind(self, list_name: str, **scope: str | None) -> BoundPage:
        """Read the token for this list: `scope` is the caller and every filter."""
        bound_to = binding(list_name, **scope)
        after = decode_token(self.token, bound_to) if self.token else None
        return BoundPage(bound_to, PageRequest(self.size, after), self.request)


def _whole_number(value: Any) -> Any:
    """`?size=` as written: digits only (pydantic alone would take "2.0" for 2)."""
    if isinstance(value, str) and not re.fullmatch(r"-?[0-9]{1,9}", value):
        raise PydanticCustomError(
            "int_parsing", f"Input should be a whole number from 1 to {MAX_PAGE_SIZE}"
        )
    return value


def page_params(
    request: Request,
    size: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"Items per page (default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}).",
        ),
        BeforeValidator(_whole_number),
    ] = DEFAULT_PAGE_SIZE,
    continuation_token: Annotated[
        str | None,
        Query(
            alias=TOKEN_PARAM,
            max_length=MAX_TOKEN_CHARS,
            description="Opaque; from the previous page's `links.next` (first page without).",
        ),
    ] = None,
) -> PageParams:
    """A route's paging parameters (`Depends(page_params)`); FastAPI answers a bad
    `size` with the shared 400 naming it."""
    return PageParams(size, continuation_token, request)
