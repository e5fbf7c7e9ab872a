"""A stand-in HTTP service for the CLI's tests: each test says what the service answers
to which request (answers given in order, the last one repeated), and reads back what
the CLI sent. Served for real (uvicorn in a thread), so the CLI's HTTP client, paging
and error handling run as against the services."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from shared.messaging.embedded_broker import free_port
from tests.support.http_thread import serving


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None
    raw_path: str  # as sent, still percent-encoded


@dataclass
class Answer:
    status: int
    body: Any  # JSON, or a str sent as text/plain


def error(status: int, code: str, message: str, target: str | None = None) -> Answer:
    """An error as the services answer it (shared/http/errors.py)."""
    body: dict[str, Any] = {"code": code, "message": message}
    if target is not None:
        body["target"] = target
    return Answer(status, {"error": body})


@dataclass
class ScriptedApi:
    url: str = ""
    routes: dict[str, list[Answer]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: Answer | Any) -> None:
        """`path` may carry a query (`/v1/offers?continuationToken=2`): it then answers
        only a request with exactly that query."""
        self.routes[f"{method} {path}"] = [
            a if isinstance(a, Answer) else Answer(200, a) for a in answers
        ]

    def reset(self) -> None:
        self.routes.clear()
        self.calls.clear()

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [c for c in self.calls if (c.method, c.path) == (method, path)]

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{rest:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        async def answer(request: Request, rest: str) -> Response:
            raw = await request.body()
            query = request.url.query
            self.calls.append(
                Call(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    json.loads(raw) if raw else None,
                    request.headers.get("authorization"),
                    request.scope["raw_path"].decode(),
                )
            )
            key = f"{request.method} {request.url.path}"
            answers = self.routes.get(f"{key}?{query}") if query else None
            answers = answers or self.routes.get(key)
            if not answers:
                return JSONResponse(
                    {"error": {"code": "NotFound", "message": f"no script for {key}"}}, 404
                )
            found = answers.pop(0) if len(answers) > 1 else answers[0]
            if isinstance(found.body, str):
                return PlainTextResponse(found.body, found.status)
            return JSONResponse(found.body, found.status)

        return app


@contextmanager
def scripted(name: str) -> Iterator[ScriptedApi]:
    api = ScriptedApi()
    port = free_port()
    api.url = f"http://127.0.0.1:{port}"
    with serving(api.app(), port, name):
        yield api
