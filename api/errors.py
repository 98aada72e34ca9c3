"""The API's edges: client disconnects, capped 422 bodies, ``HEAD`` on GET routes, JSON-only bodies.

``install(app)`` wires them; call it before the routers are included and before the metrics
middleware is added, so that what these answer (415, 499) is counted by route and status like
any other response.

* A client that disconnects mid-body is answered 499 (nginx's "client closed request"): no
  ERROR traceback is logged and ``/metrics`` counts ``status="499"``, not 500. Nobody receives
  the answer; it only names the outcome.
* A 422 lists at most :data:`MAX_ERRORS` problems, and each echoed ``input`` (and ``ctx`` value)
  is cut to :data:`MAX_INPUT_CHARS` characters, so 1 MB in is never 1 MB out.
* ``HEAD`` is answered wherever ``GET`` is: the GET response's status and headers, no body.
* A request with a body (POST, PUT, PATCH) to a route that takes one must say
  ``Content-Type: application/json`` (or ``application/*+json``); anything else is 415.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pydantic_core
from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from churn.api.records import MAX_ERRORS

CLIENT_CLOSED_REQUEST: Final = 499
MAX_INPUT_CHARS: Final = 200
"""An echoed input longer than this (as JSON) is cut, with its size said."""
MAX_MESSAGE_CHARS: Final = 500
BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})


def install(app: FastAPI) -> None:
    """Register the handlers, the JSON check and the HEAD middleware on ``app``.

    Call it before the routers are included (the JSON check is a dependency of every route
    included afterwards) and before the metrics middleware is added.
    """
    app.add_exception_handler(ClientDisconnect, client_disconnected)
    app.add_exception_handler(RequestValidationError, capped_validation_error)
    app.router.dependencies.append(Depends(json_bodies_only))  # routes included after this
    app.add_middleware(HeadAsGet)


async def client_disconnected(request: Request, exc: Exception) -> Response:
    """The client went away before its body arrived: 499, logged as nothing worse."""
    return Response(status_code=CLIENT_CLOSED_REQUEST)


async def capped_validation_error(request: Request, exc: Exception) -> Response:
    """422 with at most :data:`MAX_ERRORS` problems, their inputs cut short."""
    errors = list(exc.errors()) if isinstance(exc, RequestValidationError) else []
    shown = [capped(error) for error in errors[:MAX_ERRORS]]
    rest = errors[MAX_ERRORS:]
    if len(rest) == 1 and rest[0].get("type") == "too_many_errors":  # counted by the route
        shown.append(capped(rest[0]))
    elif rest:
        shown.append(
            {
                "type": "too_many_errors",
                "loc": ["body"],
                "msg": f"{len(rest)} more errors not shown",
                "input": None,
            }
        )
    return JSONResponse({"detail": shown}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def capped(error: Mapping[str, Any]) -> dict[str, Any]:
    """One validation error as JSON data, its ``input``, ``ctx`` values and ``msg`` cut short."""
    out: dict[str, Any] = {
        "type": str(error.get("type", "")),
        "loc": list(error.get("loc", ())),
        "msg": _cut(str(error.get("msg", "")), MAX_MESSAGE_CHARS),
        "input": short_value(error.get("input")),
    }
    ctx = error.get("ctx")
    if isinstance(ctx, Mapping):
        out["ctx"] = {str(key): short_value(value) for key, value in ctx.items()}
    return out


def short_value(value: Any) -> Any:
    """``value`` as JSON data if it is at most :data:`MAX_INPUT_CHARS` long, else cut text."""
    if isinstance(value, str):
        return _cut(value, MAX_INPUT_CHARS)
    text = pydantic_core.to_json(value, inf_nan_mode="strings", serialize_unknown=True)
    if len(text) <= MAX_INPUT_CHARS:
        return pydantic_core.from_json(text)
    return _cut(text.decode("utf-8", errors="replace"), MAX_INPUT_CHARS)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class HeadAsGet:
    """Answer ``HEAD`` as the GET route would, without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run a HEAD request as GET on a copy of the scope.

        The server keeps reading the original scope while it writes the answer: it must still
        say HEAD there, or the server expects ``Content-Length`` bytes of body and fails.
        """
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, headers_only)
        finally:  # the route found for GET, for the metrics outside; the method stays HEAD
            scope.update((key, value) for key, value in inner.items() if key != "method")


async def json_bodies_only(request: Request) -> None:
    """A dependency of every route: 415 for a body that does not say it is JSON.

    It runs after routing (so metrics count the 415 by its route) and before the endpoint
    reads the body.
    """
    if request.method not in BODY_METHODS:
        return
    found = _media_type(request.headers.get("content-type", ""))
    if found != "application/json" and not found.endswith("+json"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"Content-Type {found or 'missing'}: send the body as JSON with "
            "Content-Type: application/json",
        )


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()
