"""The web shell. The full UI (login, dashboard, Apps page, contacts, ledger) builds on this."""

from __future__ import annotations

from flask import Flask, jsonify


def init_app(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():  # noqa: ANN202 - a view
        return jsonify(status="ok")
