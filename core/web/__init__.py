"""The web shell: login, CSRF, translations, security headers, error pages, the UI and the API.

Server-rendered Jinja2 with a little progressive JavaScript from package files;
no build step and no CDN, so it works offline.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from core.context import set_actor
from core.errors import OfficiumError, PermissionDenied
from core.web.ratelimit import LoginThrottle

log = logging.getLogger(__name__)

MAX_CONTENT_LENGTH = 2 * 1024 * 1024
SUPPORTED_LOCALES = ("en", "fr", "de")


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    """Install everything web on ``app`` (called by ``create_app``)."""
    # Flask's own defaults hold these keys (as None), so setdefault() would never apply ours.
    for key, value in (("MAX_CONTENT_LENGTH", MAX_CONTENT_LENGTH), ("SESSION_COOKIE_SAMESITE", "Lax")):
        if app.config.get(key) is None:
            app.config[key] = value
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("OFFICIUM_LOGIN_LIMIT", "10 per minute")
    app.config.setdefault("OFFICIUM_REDIS_URL", None)

    Babel(app, locale_selector=_select_locale)
    # Before CSRFProtect's hook: a refused form still gets its request id and CSP nonce.
    _install_request_hooks(app)
    # Forms are checked below for every path but /api/: the API authenticates with bearer
    # tokens (never cookies), so no route under /api/ needs or takes a CSRF token.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    csrf = CSRFProtect(app)

    @app.before_request
    def _csrf_for_forms() -> None:
        if app.config.get("WTF_CSRF_ENABLED", True) and not is_api_request():
            csrf.protect()

    login_manager = LoginManager(app)
    login_manager.login_view = "core.login"
    login_manager.login_message = None
    login_manager.user_loader(_load_user)
    app.extensions["officium_throttle"] = LoginThrottle.from_config(app.config)

    from core.web import charts, filters

    filters.init_app(app)
    app.jinja_env.globals["chart"] = charts

    from core.web.views import blueprint as ui

    app.register_blueprint(ui)
    from core.api import init_app as init_api

    init_api(app, csrf)
    _install_error_handlers(app)


def _select_locale() -> str | None:
    user = g.get("officium_actor")
    if user is not None and getattr(user, "locale", None):
        return user.locale
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or "en"


def _load_user(user_id: str) -> Any:
    from flask import session as cookie

    from core.app import get_session
    from core.models import User

    try:
        user = get_session().get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    # A password change or logout elsewhere bumps the generation: older cookies stop working.
    if user is None or not user.active or cookie.get("gen") != user.session_generation:
        return None
    set_actor(get_session(), user)
    g.officium_actor = user
    return user


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _request_context() -> None:
        g.request_id = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex[:16]
        g.csp_nonce = secrets.token_urlsafe(16)
        if not is_api_request() and current_user.is_authenticated:
            g.officium_actor = current_user._get_current_object()

    @app.after_request
    def _security_headers(response: Any) -> Any:
        nonce = g.get("csp_nonce", "")
        response.headers.setdefault(
            "Content-Security-Policy",
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Request-Id", g.get("request_id", ""))
        if request.is_secure:
            # Served over HTTPS (directly or through ProxyFix): cookies must say so.
            cookies = response.headers.getlist("Set-Cookie")
            if cookies:
                response.headers.remove("Set-Cookie")
                for cookie in cookies:
                    secure = cookie if "; secure" in cookie.lower() else f"{cookie}; Secure"
                    response.headers.add("Set-Cookie", secure)
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if current_user and getattr(current_user, "is_authenticated", False) and not is_api_request():
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def error_response(status: int, code: str, message: str, fields: dict | None = None) -> Any:
    """A JSON error for the API, an error page in the layout for the UI."""
    if is_api_request():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        return jsonify(body), status
    return render_template("core/error.html", status=status, message=message), status


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Any:
        return error_response(
            400,
            "csrf_failed",
            "The form expired or was not sent from this site; reload the page and try again.",
        )

    @app.errorhandler(PermissionDenied)
    def _forbidden(exc: PermissionDenied) -> Any:
        return error_response(403, exc.code, exc.message)

    @app.errorhandler(OfficiumError)
    def _officium_error(exc: OfficiumError) -> Any:
        return error_response(exc.status, exc.code, exc.message, exc.fields)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Any:
        response = error_response(exc.code or 500, _http_code(exc), exc.description or exc.name)
        if exc.code == 429 and exc.response is not None:
            return exc.response
        if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            body, status = response
            return body, status, {"Allow": ", ".join(exc.valid_methods)}
        return response

    @app.errorhandler(DataError)
    def _out_of_range(exc: DataError) -> Any:
        # A value the database cannot hold (a number or text beyond its column) that validation let
        # through: the user's input, so a 422; logged so the missing check gets added.
        _rollback()
        log.warning("value refused by the database on %s %s: %s", request.method, request.path, exc.orig)
        return error_response(422, "validation_error", "A value is out of range or too long.")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        if isinstance(exc, HTTPException):
            return _http(exc)
        _rollback()  # the error page reads the menu: not through a failed transaction
        error_id = g.get("request_id") or uuid.uuid4().hex[:16]
        log.exception("unexpected error %s on %s %s", error_id, request.method, request.path)
        return error_response(
            500, "internal_error", f"Something went wrong on our side. Error id: {error_id}"
        )


def _rollback() -> None:
    session = g.get("officium_session")
    if session is not None:
        session.rollback()


def _http_code(exc: HTTPException) -> str:
    return {
        400: "bad_request",
        401: "unauthorized",
        403: "permission_denied",
        404: "not_found",
        405: "method_not_allowed",
        409: "conflict",
        413: "too_large",
        415: "unsupported_media_type",
        422: "validation_error",
        429: "too_many_requests",
    }.get(exc.code or 500, "error")
