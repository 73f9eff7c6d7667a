"""The JSON API under `/api/v1`: token authentication, validation with the data models, OpenAPI.

Each package declares its endpoints in its `api.py` with `api_blueprint` and `@operation`:

    bp = api_blueprint("targets_api", __name__, "/audiences")

    @operation(bp, "/", role=Role.ANALYST, summary="List audiences", response=list[AudienceRead])
    def list_audiences() -> list[Audience]:
        return services.list_audiences(session=get_session())

`operation` checks the role, validates the JSON body with the `body` model (the same SQLModel
data model the forms use) and passes it as `data`, serialises the result through `response`, and
records the operation; `/api/v1/openapi.json` is generated from those same models.

Authentication is a personal API token (`Authorization: Bearer …`), scoped to one territory and
to its owner's role there; the session cookie is ignored on the API, which is why the API needs
no CSRF token. Errors are JSON: `{"error": {"status", "message", "field", "fields"}}`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, request
from pydantic import BaseModel, TypeAdapter
from sqlmodel import select

from accounts.models import ApiToken, ApiTokenCreate, ApiTokenRead, Role
from accounts.tenancy import tenant_blueprint
from core.db import get_session
from core.errors import ValidationFailed
from core.forms import validate
from core.web import csrf

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class Operation:
    endpoint: str
    method: str
    summary: str
    role: Role
    body: type[BaseModel] | None
    response: Any
    status: int
    tag: str


OPERATIONS: list[Operation] = []


def api_blueprint(name: str, import_name: str, url_prefix: str) -> Blueprint:
    """A blueprint of JSON endpoints inside one territory: `/api/v1/t/<territory><url_prefix>`."""
    bp = tenant_blueprint(name, import_name, url_prefix, api=True)
    csrf.exempt(bp)
    return bp


def operation(
    bp: Blueprint,
    rule: str,
    *,
    role: Role,
    summary: str,
    method: str = "GET",
    body: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a JSON endpoint; see the module docstring."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        adapter = TypeAdapter(response) if response is not None else None

        @wraps(func)
        def view(**kwargs: Any) -> Any:
            if not g.role.allows(role):
                abort(403)
            if body is not None:
                payload = request.get_json(silent=True)
                if not isinstance(payload, dict):
                    raise ValidationFailed({"body": "JSON object expected"}, "The request body must be a JSON object.")
                kwargs["data"] = validate(body, payload)
            result = func(**kwargs)
            if adapter is None:
                return "", 204
            value = adapter.validate_python(result, from_attributes=True)
            return jsonify(adapter.dump_python(value, mode="json")), status

        view.required_role = role  # type: ignore[attr-defined]  # read by the isolation matrix
        bp.add_url_rule(rule, endpoint=func.__name__, view_func=view, methods=[method])
        OPERATIONS.append(Operation(
            endpoint=f"{bp.name}.{func.__name__}", method=method.lower(), summary=summary, role=role,
            body=body, response=response, status=status, tag=bp.name.removesuffix("_api"),
        ))
        return view

    return decorator


# --------------------------------------------------------------------------------------- OpenAPI

openapi_bp = Blueprint("openapi", __name__, url_prefix=API_PREFIX)


def _schema(model: Any, components: dict[str, Any]) -> dict[str, Any]:
    schema = TypeAdapter(model).json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    components.update(schema.pop("$defs", {}))
    return schema


def build_openapi() -> dict[str, Any]:
    """The OpenAPI 3.1 document, from the URL map and the operations' models."""
    components: dict[str, Any] = {
        "Error": {"type": "object", "properties": {"error": {"type": "object", "properties": {
            "status": {"type": "integer"}, "message": {"type": "string"},
            "field": {"type": ["string", "null"]},
            "fields": {"type": ["object", "null"], "additionalProperties": {"type": "string"}}}}}},
    }
    paths: dict[str, Any] = {}
    rules = {rule.endpoint: rule for rule in current_app.url_map.iter_rules()}
    for op in OPERATIONS:
        rule = rules[op.endpoint]
        path = rule.rule
        parameters = []
        for arg in sorted(rule.arguments):
            converter = rule._converters.get(arg)  # noqa: SLF001 - werkzeug exposes no public accessor
            kind = "integer" if type(converter).__name__ == "IntegerConverter" else "string"
            parameters.append({"name": arg, "in": "path", "required": True, "schema": {"type": kind}})
            path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
        entry: dict[str, Any] = {
            "summary": op.summary, "operationId": op.endpoint.replace(".", "_"), "tags": [op.tag],
            "parameters": parameters,
            "description": f"Role needed in the territory: {op.role.value}.",
            "responses": {
                "401": {"description": "Missing or invalid token"},
                "403": {"description": "Role too low"},
                "404": {"description": "Not found in this territory"},
                "422": {"description": "Invalid input",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }
        if op.response is None:
            entry["responses"][str(op.status if op.status != 200 else 204)] = {"description": "Done"}
        else:
            entry["responses"][str(op.status)] = {
                "description": "OK", "content": {"application/json": {"schema": _schema(op.response, components)}}}
        if op.body is not None:
            entry["requestBody"] = {"required": True,
                                    "content": {"application/json": {"schema": _schema(op.body, components)}}}
        paths.setdefault(path, {})[op.method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Rayonne API", "version": "1",
                 "description": "Place-branding campaigns per audience. Authenticate with a personal API "
                                "token: `Authorization: Bearer <token>`; a token opens one territory."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


@openapi_bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(build_openapi())


# ------------------------------------------------------------------------------ account endpoints

bp = api_blueprint("accounts_api", __name__, "/tokens")


@operation(bp, "/", role=Role.ANALYST, summary="List my API tokens in this territory", response=list[ApiTokenRead])
def list_tokens() -> list[ApiToken]:
    return list(get_session().exec(
        select(ApiToken).where(ApiToken.user_id == g.user.id, ApiToken.revoked_at.is_(None))
    ).all())


__all__ = ["API_PREFIX", "OPERATIONS", "ApiTokenCreate", "api_blueprint", "build_openapi", "operation"]
