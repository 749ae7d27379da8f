"""Compliance pages: the audit log browser (filters, CSV, the chain's status and "Verify now"),
a record's history panel on detail pages, and the audit trail's dashboard card."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from core.plugin_api import (
    AuditLog,
    Page,
    Panel,
    SearchResult,
    ValidationError,
    Widget,
    csv_response,
    declared_actions,
    get_session,
    has_permission,
    pages,
    require_permission,
    validation,
)

from ..services import audit_log
from . import blueprint

PAGE_SIZE = 50
CSV_HEADER = [
    "seq",
    "at",
    "actor",
    "user_id",
    "via",
    "token",
    "ip",
    "request_id",
    "model",
    "record_id",
    "action",
    "changes",
]


def _when(value: Any) -> str:
    return format_datetime(value, "medium") if value is not None else ""


def _row_display(session: Any) -> dict[str, Any]:
    """What the audit templates use to show a row."""
    descriptions = declared_actions(session)
    return {
        "when": _when,
        "changes_of": audit_log.changes_of,
        "model_label": audit_log.model_label,
        "action_label": lambda action: audit_log.action_label(action, descriptions),
        "via_labels": audit_log.VIA_LABELS,
    }


# --- the browser ------------------------------------------------------------------------------------


@blueprint.get("/audit-log", endpoint="audit_log")
@require_permission("compliance.audit.view")
def audit_log_page() -> Any:
    """The trail the company sees, newest first, with filters (user, record type, record id,
    dates, action, channel); ``format=csv`` downloads every matching row."""
    session = get_session()
    raw = {key: request.args.get(key, "").strip() for key in audit_log.FILTER_KEYS}
    errors: dict[str, list[str]] = {}
    filters = None
    try:
        filters = audit_log.parse_filters(raw)
    except ValidationError as exc:
        errors = exc.fields or {"form": [exc.message]}
    if filters is not None and request.args.get("format") == "csv":
        rows = audit_log.iter_rows(session, filters)
        return csv_response("audit-log.csv", CSV_HEADER, _csv_rows(session, rows))
    last = audit_log.last_verification(session)
    page = None
    if filters is not None:
        page = audit_log.list_rows(session, filters, after=pages.cursor_arg(AuditLog.seq), limit=PAGE_SIZE)
    return render_template(
        "compliance/audit_log.html",
        page=page,
        raw=raw,
        errors=errors,
        filtered=filters is not None and filters.active,
        users=audit_log.user_choices(session),
        models=audit_log.model_choices(session),
        actions=audit_log.action_choices(session),
        vias=audit_log.VIAS,
        last=last,
        broken_url=_row_url(last.seq) if last is not None and not last.ok and last.seq else None,
        **_row_display(session),
    ), 422 if errors else 200


def _row_url(seq: int) -> str:
    """The browser's page that starts at row ``seq`` of the chain."""
    cursor = Page([], (seq, validation.MAX_ID)).next_cursor
    return url_for("compliance.audit_log", cursor=cursor, _anchor=f"seq-{seq}")


def _csv_rows(session: Any, rows: Iterator[AuditLog]) -> Iterator[list[Any]]:
    try:
        for row in rows:
            changes = row.changes if isinstance(row.changes, dict) else {}
            yield [
                row.seq,
                row.at.isoformat() if row.at else "",
                row.actor,
                row.user_id if row.user_id is not None else "",
                row.via,
                row.token or "",
                row.ip or "",
                row.request_id or "",
                row.model,
                row.record_id,
                row.action,
                json.dumps(changes, ensure_ascii=False, sort_keys=True),
            ]
    finally:
        # The download outlives the request: give its database connection back as soon as it ends.
        session.close()


@blueprint.post("/audit-log/verify")
@require_permission("compliance.audit.view")
def audit_verify() -> Any:
    """Walk the hash chain now; the verdict is written to the trail and shown on the browser."""
    session = get_session()
    verification = audit_log.verify_chain(session)
    session.commit()
    if verification.ok:
        flash(_("The audit trail is intact: %(rows)s rows checked.", rows=verification.rows), "success")
    else:
        flash(_("The audit trail is broken: %(problem)s.", problem=verification.problem), "error")
    return redirect(url_for("compliance.audit_log"))


# --- what other pages show --------------------------------------------------------------------------


def history_panel(record: Any, user: Any) -> Panel | None:
    """The record's last trail rows the company sees, with a link to its full history."""
    session = get_session()
    rows = audit_log.record_history(session, record)
    if not rows:
        return None
    full = url_for("compliance.audit_log", model=rows[0].model, record_id=rows[0].record_id)
    html = render_template("compliance/audit_panel.html", rows=rows, full_url=full, **_row_display(session))
    return Panel(title=_("History"), html=html, order=900)


def widgets(user: Any) -> list[Widget]:
    """The audit trail card: the last verification, for users who may browse the trail."""
    if not has_permission(user, "compliance.audit.view"):
        return []
    session = get_session()
    last = audit_log.last_verification(session)
    html = render_template("compliance/audit_widget.html", last=last, when=_when)
    return [Widget(title=_("Audit trail"), html=html, order=90)]


def search_results(query: str, user: Any) -> list[SearchResult]:
    return []
