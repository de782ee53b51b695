"""The OpenAPI document, completed centrally: every operation's error responses, derived from the
route itself, with the one error envelope as their schema.

Routers declare their success responses and input rules (lengths, enums, patterns) as usual;
`install_openapi(app)` adds, for each operation:

* 400 (malformed request, Host not allowed), 503 (restarting, a service down) — everywhere;
* 401 and 403 when the route needs a role (read from its dependencies, as the route-auth test does);
* 404 and 409 when the operation takes parameters or a body (names and ids are resolved;
  a name can be ambiguous), 410 for reads of an addressed resource (content no longer stored);
* 413 when it takes a body (streamed limits), 422 when it takes parameters or a body;

and replaces FastAPI's own 422 schema by the envelope the API really sends. Responses a router
documents itself are kept.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from finlineage.api.auth import SECURITY_SCHEMES
from finlineage.api.introspection import iter_routes, required_role

ENVELOPE = "ErrorEnvelope"
ENVELOPE_SCHEMA: dict[str, Any] = {
    "title": ENVELOPE,
    "type": "object",
    "description": "Every error: a stable code, a message, the request id and optional details.",
    "required": ["error", "message", "request_id", "details"],
    "properties": {
        "error": {"type": "string", "description": "Stable error code, e.g. not_found."},
        "message": {"type": "string"},
        "request_id": {"type": "string", "description": "Also in the X-Request-ID header."},
        "details": {"description": "Structured details (validation errors, limits) or null."},
    },
}
BODY_METHODS = frozenset({"post", "put", "patch", "delete"})
CONVERTER = re.compile(r"\{(\w+):\w+\}")


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": HTTPStatus(status).phrase,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ENVELOPE}"}}},
    }


def _statuses(method: str, operation: dict[str, Any], role: str | None) -> set[int]:
    params = operation.get("parameters") or []
    has_path = any(p.get("in") == "path" for p in params)
    has_input = bool(params) or "requestBody" in operation
    found = {400, 503}
    if role is not None:
        found |= {401, 403}
    if has_input:
        found |= {404, 409, 422}
    if has_path and method == "get":
        found.add(410)
    if "requestBody" in operation or method in BODY_METHODS:
        found.add(413)
    return found


def complete(spec: dict[str, Any], roles: dict[tuple[str, str], str | None]) -> dict[str, Any]:
    """Add the error responses to every operation of `spec` (in place; returned for chaining)."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas[ENVELOPE] = ENVELOPE_SCHEMA
    spec["components"].setdefault("securitySchemes", {}).update(SECURITY_SCHEMES)
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses: dict[str, Any] = operation["responses"]
            role = roles.get((path, method))
            for status in sorted(_statuses(method, operation, role)):
                key = str(status)
                existing = responses.get(key)
                if existing is None or status == 422 or "content" not in existing:
                    merged = _error_response(status)
                    if existing and existing.get("description"):
                        merged["description"] = existing["description"]
                    responses[key] = merged
            if role is not None:
                operation.setdefault("security", [{"APIKeyHeader": []}, {"HTTPBearer": []}])
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for schema in schemas.values():
        _lax_booleans(schema)
    return spec


LAX_BOOLEAN: dict[str, Any] = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "enum": ["0", "1", "true", "false", "yes", "no", "on", "off", "t", "f", "y", "n"]},
    ]
}


def _lax_booleans(schema: Any) -> None:
    """JSON body booleans accept what the API accepts (pydantic reads 0/1 and yes/no as booleans):
    the document says so instead of claiming `true`/`false` only."""
    if isinstance(schema, dict):
        for key, value in list(schema.items()):
            if key == "properties" and isinstance(value, dict):
                for name, prop in list(value.items()):
                    if isinstance(prop, dict) and prop.get("type") == "boolean":
                        extra = {k: v for k, v in prop.items() if k != "type"}
                        value[name] = {**extra, **LAX_BOOLEAN}
                    else:
                        _lax_booleans(prop)
            else:
                _lax_booleans(value)
    elif isinstance(schema, list):
        for item in schema:
            _lax_booleans(item)


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` returns the completed document (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        roles: dict[tuple[str, str], str | None] = {}
        for path, original, effective in iter_routes(app.routes):
            if isinstance(original, APIRoute):
                role = required_role(getattr(effective, "dependant", None) or original.dependant)
                methods = getattr(effective, "methods", None) or original.methods or set()
                documented = CONVERTER.sub(r"{\1}", path)  # /{p:path} is documented as /{p}
                for method in methods:
                    roles[(documented, method.lower())] = role
        app.openapi_schema = complete(spec, roles)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
