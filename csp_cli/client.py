"""HTTP to one service: the bearer token, the API's error body turned into one line, and
lists walked page by page (`links.next.uri`, relative to the service's root, until a
page has no `links`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from csp_cli.failures import ApiError, CliFailure, Unreachable

_TEXT_LIMIT = 200  # of a non-JSON error body quoted in the message


class ApiClient:
    def __init__(
        self,
        service: str,
        base_url: str,
        token: str | None,
        *,
        timeout: float,
        hint: str = "",
        credential: str = "--token / CSP_TOKEN",
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.hint = hint  # how to point the CLI elsewhere, for "cannot reach"
        self.credential = credential  # where the token comes from, for a 401
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=_present(params))

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body)

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, json=body)

    def items(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list, following the continuation link page after page."""
        page = self.get(path, **params)
        while True:
            yield from page.get("items", [])
            following = (page.get("links") or {}).get("next")
            if not following:
                return
            page = self.request("GET", following["uri"])  # the filters and size are in it

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TimeoutException:
            raise Unreachable(
                f"{self.service} at {self.base_url} did not answer within {self.timeout:g} s"
            ) from None
        except httpx.TransportError as error:
            raise Unreachable(
                f"cannot reach {self.service} at {self.base_url} ({_reason(error)}); "
                f"is it running?{self.hint}"
            ) from None
        if response.is_error:
            raise api_error(self.service, response, self.credential)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliFailure(
                f"{self.service} answered {response.status_code} with no JSON "
                f"({_clip(response.text)!r}): is {self.base_url} really {self.service}?"
            ) from None


def path(root: str, *segments: str) -> str:
    """`/v1/customers` + ids typed by the operator, each one path segment whatever it
    holds (a `/` or `?` in an id must not reach another endpoint)."""
    return "/".join([root, *(quote(segment, safe="") for segment in segments)])


def api_error(
    service: str, response: httpx.Response, credential: str = "--token / CSP_TOKEN"
) -> ApiError:
    """The API's `{"error": {"code", "message", "target"}}`, or what the body says."""
    status = response.status_code
    try:
        body = response.json()
        error = body.get("error")
    except (ValueError, AttributeError):
        body, error = None, None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        code = str(error.get("code") or response.reason_phrase)
        target = error.get("target") if isinstance(error.get("target"), str) else None
        message = error["message"]
    else:
        code = response.reason_phrase or "Error"
        message = _clip(response.text) or "no message"
        target = None
    if status == 401:
        message += f" (check {credential})"
    extra = body if isinstance(body, dict) else None
    return ApiError(service, status, code.replace(" ", ""), message, target, extra)


def _present(params: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in params.items() if value is not None}


def _reason(error: httpx.TransportError) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0]


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"
