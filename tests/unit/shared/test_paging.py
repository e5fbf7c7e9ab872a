"""Paging helpers: the continuation token, `links.next`, in-memory pages."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.requests import Request

from shared.errors import RuleBroken
from shared.http.paging import (
    TOKEN_PARAM,
    BoundPage,
    PageLinks,
    binding,
    decode_token,
    encode_token,
    next_uri,
)
from shared.service_layer import PageRequest, page_of

SUBS = binding("subscriptions", partner="p1", customer="c1", status=None)


def request(path: str, query: str) -> Request:
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 8001),
        "path": path,
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8001")],
    }
    return Request(scope)


def b64(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("position", [0, 1, 17, 2**63 - 1])
def test_a_token_reads_back_its_position_for_the_same_list(position: int) -> None:
    token = encode_token(SUBS, position)
    assert decode_token(token, SUBS) == position
    assert token.isascii() and "=" not in token and "+" not in token and "/" not in token


def test_a_token_is_base64url_of_a_small_json() -> None:
    token = encode_token(SUBS, 42)
    payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    assert set(payload) == {"v", "a", "c"} and (payload["v"], payload["a"]) == (1, 42)


@pytest.mark.parametrize(
    "other",
    [
        binding("orders", partner="p1", customer="c1", status=None),  # another list
        binding("subscriptions", partner="p1", customer="c1", status="active"),  # filter
        binding("subscriptions", partner="p1", customer="c2", status=None),  # customer
        binding("subscriptions", partner="p2", customer="c1", status=None),  # caller
    ],
)
def test_a_token_of_another_list_filter_or_caller_is_refused(other: str) -> None:
    with pytest.raises(RuleBroken) as refused:
        decode_token(encode_token(SUBS, 3), other)
    assert refused.value.target == TOKEN_PARAM


def good_payload() -> dict[str, object]:
    token = encode_token(SUBS, 3)
    return dict(json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))))


@pytest.mark.parametrize(
    "token",
    [
        "garbage!",
        "x",
        "====",
        "%%%",
        "a" * 1000,
        b64([1, 2, 3]),
        b64("text"),
        b64({"v": 1, "a": 3}),
        b64({**good_payload(), "a": 4}),  # the position altered
        b64({**good_payload(), "a": -1}),
        b64({**good_payload(), "a": True}),
        b64({**good_payload(), "a": "3"}),
        b64({**good_payload(), "a": 10**30}),
        b64({**good_payload(), "v": 2}),
        b64({**good_payload(), "v": True}),
        b64({**good_payload(), "c": 5}),
        b64({**good_payload(), "extra": 1}),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
        encode_token(SUBS, 3)[:-2],  # truncated
        encode_token(SUBS, 3) + "A",
    ],
)
def test_a_malformed_or_altered_token_is_a_bad_request_naming_it(token: str) -> None:
    with pytest.raises(RuleBroken) as refused:
        decode_token(token, SUBS)
    assert refused.value.target == TOKEN_PARAM


def test_the_parameter_named_is_the_one_given() -> None:
    with pytest.raises(RuleBroken) as refused:
        decode_token("nope", SUBS, param="$skipToken")
    assert refused.value.target == "$skipToken" and "$skipToken" in refused.value.message


def test_next_link_keeps_the_filters_and_size_and_replaces_the_token() -> None:
    old = encode_token(SUBS, 1)
    here = request("/v1/customers/c1/subscriptions", f"status=active&{TOKEN_PARAM}={old}&size=9")
    links = BoundPage(SUBS, PageRequest(2, 1), here).links(7)
    assert isinstance(links, PageLinks) and links.next.method == "GET"
    path, query = links.next.uri.split("?")
    assert path == "/v1/customers/c1/subscriptions"
    assert query == f"status=active&size=2&{TOKEN_PARAM}={encode_token(SUBS, 7)}"
    assert BoundPage(SUBS, PageRequest(2, 1), here).links(None) is None


def test_an_absolute_next_uri_keeps_the_scheme_host_and_other_parameters() -> None:
    here = request("/api/saas/subscriptions/", "api-version=2018-08-31")
    uri = next_uri(here, "TOKEN", absolute=True)
    expected = "http://127.0.0.1:8001/api/saas/subscriptions/?api-version=2018-08-31"
    assert uri == f"{expected}&{TOKEN_PARAM}=TOKEN"


@pytest.mark.parametrize(
    "after, size, items, following",
    [
        (None, 2, [0, 1], 2),
        (2, 2, [2, 3], 4),
        (4, 2, [4], None),
        (None, 5, [0, 1, 2, 3, 4], None),
        (None, 9, [0, 1, 2, 3, 4], None),
        (9, 2, [], None),
    ],
)
def test_page_of_cuts_a_list_held_in_memory(
    after: int | None, size: int, items: list[int], following: int | None
) -> None:
    found = page_of(list(range(5)), PageRequest(size, after))
    assert (found.items, found.next) == (items, following)


def test_a_page_request_holds_at_least_one_item() -> None:
    with pytest.raises(ValueError):
        PageRequest(0)


def test_the_next_uri_encodes_the_path_it_was_handed_decoded() -> None:
    here = request("/v1/customers/a b%/orders", "size=1")
    assert next_uri(here, "T").startswith("/v1/customers/a%20b%25/orders?")
    assert next_uri(here, "T", absolute=True).startswith(
        "http://127.0.0.1:8001/v1/customers/a%20b%25/"
    )
