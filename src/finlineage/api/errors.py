"""One error envelope for every failure: {"error", "message", "request_id", "details"}."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("finlineage.api")


class ApiError(Exception):
    """Raised by routers and services for an expected failure with a stable code."""

    def __init__(self, status_code: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, "not_found", f"{what} {ident!r} not found")


def request_id_of(request: Request) -> str:
    return str(getattr(request.state, "request_id", "") or request.headers.get("x-request-id", ""))


def envelope(request: Request, status: int, code: str, message: str, details: Any = None) -> JSONResponse:
    body = {"error": code, "message": message, "request_id": request_id_of(request), "details": details}
    # X-Request-ID itself is set on every response by RequestContextMiddleware.
    return JSONResponse(body, status_code=status)


def _code_for(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "error"


def _out_of_range(exc: BaseException | None) -> bool:
    """An integer too large for the store (SQLite's OverflowError, PostgreSQL's out-of-range data
    error), anywhere in the exception's chain."""
    seen = 0
    while exc is not None and seen < 8:
        if isinstance(exc, OverflowError):
            return True
        if type(exc).__name__ in ("NumericValueOutOfRange", "DataError") and "out of range" in str(exc):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
        seen += 1
    return False


def install_error_handlers(app: FastAPI, on_error: Any = None) -> None:
    """`on_error(request, status, code)` is called for every 5xx (used to emit `error` events)."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if exc.status_code >= 500 and on_error:
            on_error(request, exc.status_code, exc.code)
        return envelope(request, exc.status_code, exc.code, exc.message, exc.details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        message = detail if isinstance(detail, str) else _code_for(exc.status_code).replace("_", " ")
        details = None if isinstance(detail, str) else detail
        resp = envelope(request, exc.status_code, _code_for(exc.status_code), message, details)
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        return envelope(request, 422, "validation_error", "request validation failed", details)

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        if _out_of_range(exc):
            # an id or offset beyond what the store's integers hold: the input is wrong, not the server
            return envelope(request, 422, "validation_error", "a number in the request is out of range")
        if isinstance(exc, ValueError) and str(exc).startswith("invalid literal for int()"):
            # a request value taken for a number (e.g. Unicode digits such as '¹' pass str.isdigit()
            # but not int()): an input error; logged with its trace so the spot gets a real check
            log.warning("non-numeric request value (request_id=%s)", request_id_of(request), exc_info=exc)
            return envelope(request, 422, "validation_error", "a value in the request is not a valid number")
        # Never leak a stack trace to the client; it goes to the log with the request id.
        log.exception("unhandled error (request_id=%s)", request_id_of(request))
        if on_error:
            on_error(request, 500, "internal_error")
        response = envelope(request, 500, "internal_error", "internal server error")
        # Unhandled errors are answered by Starlette's outermost middleware, outside ours.
        response.headers["X-Request-ID"] = request_id_of(request)
        return response
