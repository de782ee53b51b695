"""Errors the query layer raises for expected failures.

They carry an HTTP-like status and a stable code so the API maps them 1:1 to its error
envelope, but they import nothing from `api/` (imports point one way).
"""

from __future__ import annotations

from typing import Any


class QueryError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class GoneError(QueryError):
    status_code = 410
    code = "content_unavailable"


class NotFoundError(QueryError):
    status_code = 404
    code = "not_found"


class ConflictError(QueryError):
    status_code = 409
    code = "conflict"


class AmbiguousNameError(ConflictError):
    code = "ambiguous_name"


class InvalidQueryError(QueryError):
    status_code = 422
    code = "validation_error"


def not_found(what: str, ident: object) -> NotFoundError:
    return NotFoundError(f"{what} {ident!r} not found")
