"""REST API v1 (JSON) with OpenAPI generated from the marshmallow schemas.

Bearer tokens authenticate every call but ``POST /auth/token``; each view
declares its permission (deny by default: undeclared means admin only). Errors
are ``{"error": {"code", "message", "fields"}}``. A POST with an
``Idempotency-Key`` header runs once; a retry gets the first response back.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from core.api.schemas import ErrorSchema
from core.app import get_session, officium
from core.context import set_actor
from core.errors import AuthenticationFailed, NotFound
from core.models import IdempotencyKey
from core.web.guards import check_declared_access, public

API_PREFIX = "/api/v1"
PUBLIC_ENDPOINTS = {"api_meta.openapi_json", "api_meta.docs", "api_meta.docs_asset", "api_auth.token"}


class OfficiumApi(Api):
    """flask-smorest's Api with Officium's error format (handled by core.web for the whole app)."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # core.web's handler covers API and UI alike; webargs' 400 and 422 also carry the field
        # messages, which that generic handler would drop (code-specific handlers take precedence).
        for code in (400, 422):
            self._app.register_error_handler(code, _request_error)


def _request_error(exc: HTTPException) -> Any:
    """A body or query string refused by the schemas: name every offending field."""
    from core.web import error_response

    data = getattr(exc, "data", None)
    messages = data.get("messages") if isinstance(data, dict) else None
    code = "validation_error" if exc.code == 422 else "bad_request"
    if not messages:
        return error_response(exc.code or 400, code, exc.description or exc.name)
    fields: dict[str, list[str]] = {}
    for location, errors in messages.items():
        _flatten_errors(errors, "body" if location == "json" else location, fields, top=True)
    name, texts = next(iter(fields.items()))
    return error_response(exc.code or 400, code, f"invalid request: {name}: {texts[0]}", fields)


def _flatten_errors(errors: Any, key: str, out: dict[str, list[str]], *, top: bool = False) -> None:
    """marshmallow's nested messages as ``{"lines.0.debit": [...]}``; schema-wide ones under the location."""
    if isinstance(errors, dict):
        for name, nested in errors.items():
            if name == "_schema":
                _flatten_errors(nested, key, out)
            else:
                _flatten_errors(nested, str(name) if top else f"{key}.{name}", out)
    elif isinstance(errors, list | tuple):
        out.setdefault(key, []).extend(str(m) for m in errors)
    else:
        out.setdefault(key, []).append(str(errors))


def init_app(app: Flask, csrf: CSRFProtect) -> OfficiumApi:
    app.config.setdefault("API_TITLE", "Officium")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", None)  # served below, filtered to enabled plugins
    api = OfficiumApi(app, spec_kwargs={"servers": [{"url": "/"}]})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearer": []}]
    app.extensions["officium_api"] = api
    app.extensions["officium_api_paths"] = {}

    from core.api import resources

    for blueprint in resources.BLUEPRINTS:
        api.register_blueprint(blueprint)
        csrf.exempt(blueprint)
    app.register_blueprint(meta)
    csrf.exempt(meta)
    app.before_request(_authenticate)
    app.after_request(_remember_idempotent_response)
    return api


def register_plugin_api(app: Flask, blueprint: Any, plugin_name: str) -> None:
    """Mount a plugin's flask-smorest blueprint; its paths are shown while the plugin is enabled."""
    api: OfficiumApi = app.extensions["officium_api"]
    before = set(api.spec.to_dict().get("paths", {}))
    api.register_blueprint(blueprint)
    app.extensions["csrf"].exempt(blueprint)
    after = set(api.spec.to_dict().get("paths", {}))
    for path in after - before:
        app.extensions["officium_api_paths"][path] = plugin_name


# --- authentication and idempotency ---------------------------------------------------------


def _authenticate() -> Response | None:
    if (
        not request.path.startswith("/api/")
        or request.endpoint in PUBLIC_ENDPOINTS
        or request.endpoint is None
    ):
        return None
    from core.services.users import authenticate_token

    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token gives one)")
    session = get_session()
    user = authenticate_token(session, token.strip())
    set_actor(session, user)
    g.officium_actor = user
    g.officium_token_prefix = token.strip()[:10]  # the prefix the user's token list shows
    check_declared_access()
    if any(isinstance(v, int) and not -(2**63) <= v < 2**63 for v in (request.view_args or {}).values()):
        # No row has such an id, and the database drivers refuse the parameter (a 500 otherwise).
        raise NotFound("no such object")
    if request.method == "POST" and request.headers.get("Idempotency-Key"):
        return _start_idempotent_request(user.id, request.headers["Idempotency-Key"])
    # Records the token's last use; the view's work starts a fresh transaction.
    session.commit()
    return None


def _start_idempotent_request(user_id: int, key: str) -> Response | None:
    from core.errors import Conflict, ValidationError

    if len(key) > 255:
        raise ValidationError(
            "Idempotency-Key is too long", fields={"Idempotency-Key": ["at most 255 characters"]}
        )
    session = get_session()
    session.add(IdempotencyKey(user_id=user_id, key=key, method=request.method, path=request.path))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        first = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        if first is None or first.status is None:
            raise Conflict("a request with this Idempotency-Key is still running") from None
        if first.path != request.path or first.method != request.method:
            raise ValidationError(
                "this Idempotency-Key was used for another request",
                fields={"Idempotency-Key": ["already used for " + first.path]},
            ) from None
        response = Response(first.body, status=first.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency_key = key
    return None


def _remember_idempotent_response(response: Response) -> Response:
    key = g.pop("idempotency_key", None)
    if key is None:
        return response
    session = get_session()
    session.rollback()  # anything the view left uncommitted is not part of the stored outcome
    user_id = g.officium_actor.id
    if 200 <= response.status_code < 300:
        row = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
        row.status = response.status_code
        row.body = response.get_data(as_text=True)
    else:  # a failed attempt may be retried with the same key
        session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        )
    session.commit()
    return response


# --- OpenAPI document and interactive docs -------------------------------------------------------

meta = Blueprint("api_meta", __name__, url_prefix=API_PREFIX)


@meta.get("/openapi.json")
@public
def openapi_json() -> Response:
    """OpenAPI 3 for every enabled route: core's plus enabled plugins'."""
    spec = copy.deepcopy(current_app.extensions["officium_api"].spec.to_dict())
    owners = current_app.extensions["officium_api_paths"]
    enabled = officium().plugins.enabled
    spec["paths"] = {p: ops for p, ops in spec.get("paths", {}).items() if owners.get(p) in (None, *enabled)}
    return current_app.response_class(json.dumps(spec, indent=1, default=str), mimetype="application/json")


@meta.get("/docs")
@public
def docs() -> str:
    return render_template("core/api_docs.html")


@meta.get("/docs/assets/<path:filename>")
@public
def docs_asset(filename: str) -> Response:
    from swagger_ui_bundle import swagger_ui_path

    if filename not in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        return jsonify(error={"code": "not_found", "message": "no such file", "fields": {}}), 404
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
