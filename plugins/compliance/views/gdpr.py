"""Compliance pages: GDPR — a person's data exported as one JSON file, anonymized or deleted, and
the register of every request answered.

Every page needs ``compliance.gdpr``. The contact page shows a panel with the export link, the
erase form (a reason and a confirmation box; "Anonymize" or "Delete") and the past requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.plugin_api import (
    Conflict,
    Panel,
    ValidationError,
    csv_response,
    get_session,
    has_permission,
    pages,
    require_permission,
)

from ..models import GDPR_KINDS, GDPR_STATUSES
from ..services import gdpr as service
from . import blueprint

PERMISSION = "compliance.gdpr"
PAGE_SIZE = 50
KIND_LABELS = {"export": _l("Export"), "anonymize": _l("Anonymize"), "delete": _l("Delete")}
STATUS_LABELS = {"done": _l("Done"), "refused": _l("Refused")}
STATUS_BADGES = {"done": "state-posted", "refused": "status-broken"}
FORM_FIELDS = ("mode", "reason", "confirm")


@blueprint.app_template_global("compliance_gdpr_labels")
def compliance_gdpr_labels() -> dict[str, Any]:
    return {"kinds": KIND_LABELS, "statuses": STATUS_LABELS, "badges": STATUS_BADGES}


def widgets(user: Any) -> list[Any]:
    """No dashboard card: requests are rare and answered from the contact page."""
    return []


def search_results(query: str, user: Any) -> list[Any]:
    """Requests are found from their contact; nothing of their own in the global search."""
    return []


def _context(contact: Any) -> dict[str, Any]:
    """What the panel and the contact's GDPR page show: retention reasons and past requests."""
    session = get_session()
    found = service.requests_of(session, contact.id)
    _contact_names, user_names = service.names(session, found)
    return {
        "contact": contact,
        "retained": service.retention_reasons(session, contact),
        "requests": found,
        "user_names": user_names,
        "reason_limit": service.REASON_LIMIT,
    }


def contact_panel(contact: Any, user: Any) -> Panel | None:
    """The contact page's "Personal data (GDPR)" section, for ``compliance.gdpr`` holders."""
    if not has_permission(user, PERMISSION):
        return None
    html = render_template(
        "compliance/gdpr_panel.html", data={"mode": "", "reason": ""}, errors={}, **_context(contact)
    )
    return Panel(_("Personal data (GDPR)"), html, order=90)


# --- the register of requests ---------------------------------------------------------------------


def _filters() -> dict[str, Any]:
    kind = request.args.get("kind", "")
    status = request.args.get("status", "")
    return {
        "kind": kind if kind in GDPR_KINDS else "",
        "status": status if status in GDPR_STATUSES else "",
        "contact_id": pages.int_arg(request.args.get("contact_id")),
    }


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": filters["kind"] or None,
        "status": filters["status"] or None,
        "contact_id": filters["contact_id"],
    }


@blueprint.get("/gdpr")
@require_permission(PERMISSION)
def gdpr_requests() -> Any:
    """Every GDPR request answered (newest first): when, who, contact, kind, status, outcome; CSV."""
    session = get_session()
    sort, descending = pages.sort_args(service.SORTS, "requested_at")
    filters = _filters()
    query = _query(filters)
    if request.args.get("format") == "csv":
        return csv_response(
            "gdpr-requests.csv",
            ["id", "requested_at", "requested_by", "contact_id", "contact", "kind", "status", "reason",
             "outcome"],
            _csv_rows(session, sort, descending, query),
        )  # fmt: skip
    page = service.list_requests(
        session,
        sort=sort,
        descending=descending,
        after=pages.cursor_arg(service.SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    contact_names, user_names = service.names(session, page.items)
    return render_template(
        "compliance/gdpr_requests.html",
        page=page,
        sort=sort,
        descending=descending,
        filters=filters,
        kinds=GDPR_KINDS,
        statuses=GDPR_STATUSES,
        contact_names=contact_names,
        user_names=user_names,
    )


def _csv_rows(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = service.list_requests(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        contact_names, user_names = service.names(session, page.items)
        for item in page.items:
            row = service.as_dict(item, contact_names, user_names)
            yield [
                row["id"],
                row["requested_at"].isoformat() if row["requested_at"] else "",
                row["requested_by"] or "",
                row["contact_id"],
                row["contact"] or "",
                row["kind"],
                row["status"],
                row["reason"],
                " | ".join(row["outcome"]),
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- one contact: export and erasure --------------------------------------------------------------


def _render_contact(
    contact: Any, data: dict[str, Any], errors: dict[str, list[str]], refusal: str = "", status: int = 200
) -> Any:
    return render_template(
        "compliance/gdpr_contact.html",
        data=data,
        errors=errors,
        refusal=refusal,
        **_context(contact),
    ), status


@blueprint.get("/gdpr/contacts/<int:contact_id>")
@require_permission(PERMISSION)
def gdpr_contact(contact_id: int) -> Any:
    """A contact's personal data: the export, the erase form, what must be retained, past requests."""
    contact = service.find_contact(get_session(), contact_id)
    return _render_contact(contact, {"mode": "", "reason": ""}, {})


@blueprint.get("/gdpr/contacts/<int:contact_id>/export")
@require_permission(PERMISSION)
def gdpr_export(contact_id: int) -> Any:
    """Download everything held about the contact as one JSON file (the export is recorded)."""
    session = get_session()
    document = service.export_contact(session, contact_id)
    session.commit()
    body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{service.export_filename(document["contact_id"])}"'
        },
    )


@blueprint.post("/gdpr/contacts/<int:contact_id>/erase")
@require_permission(PERMISSION)
def gdpr_erase(contact_id: int) -> Any:
    """Anonymize or delete the contact (button ``mode``) with a reason, once the box is ticked.

    A refused deletion (records that must be retained) is recorded and shown again with its reasons.
    """
    session = get_session()
    contact = service.find_contact(session, contact_id)
    data = {
        "mode": request.form.get("mode", ""),
        "reason": request.form.get("reason", "").strip(),
        "confirm": bool(request.form.get("confirm")),
    }
    if not data["confirm"]:
        errors = {"confirm": [_("Tick the box to confirm: this cannot be undone.")]}
        if data["mode"] not in service.MODES:
            errors["mode"] = [_("Choose Anonymize or Delete.")]
        return _render_contact(contact, data, errors, status=422)
    try:
        answered = service.erase_contact(session, contact_id, mode=data["mode"], reason=data["reason"])
    except ValidationError as exc:
        session.rollback()
        contact = service.find_contact(session, contact_id)
        return _render_contact(contact, data, exc.fields or {"form": [exc.message]}, status=422)
    except Conflict as exc:
        session.rollback()
        contact = service.find_contact(session, contact_id)
        return _render_contact(contact, data, {"form": [exc.message]}, status=409)
    session.commit()
    if answered.status == "refused":
        contact = service.find_contact(session, contact_id)
        return _render_contact(contact, data, {}, refusal=service.refusal_message(answered), status=422)
    if answered.kind == "delete":
        flash(
            _("Contact #%(id)d and the records about them were deleted.", id=answered.contact_id), "success"
        )
        return redirect(url_for("compliance.gdpr_requests", contact_id=answered.contact_id))
    flash(_("The contact's personal data was anonymized."), "success")
    return redirect(url_for("compliance.gdpr_contact", contact_id=answered.contact_id))
