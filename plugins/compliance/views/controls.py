"""Compliance pages: controls, a control's page with its test history, recording a test with its
evidence file, and the evidence download; overdue and failing controls on the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from core.plugin_api import (
    Conflict,
    NotFound,
    SearchResult,
    ValidationError,
    Widget,
    csv_response,
    get_session,
    has_permission,
    pages,
    require_permission,
)

from ..models import CONTROL_FREQUENCIES, Control
from ..services import controls as service
from ..services import risks as risk_service
from . import blueprint
from .risks import FREQUENCY_LABELS, _general_errors, user_options

PAGE_SIZE = 50
VIEW = "compliance.view"
MANAGE = "compliance.control.manage"
CONTROL_FIELDS = ("name", "description", "owner_id", "frequency", "next_test_date")
TEST_FIELDS = ("tested_on", "tester_id", "result", "evidence_note")
ACTIVE_FILTERS = ("active", "inactive", "all")
RESULT_FILTERS = ("pass", "fail", "untested")
# The test form carries the file (10 MB at most) and its fields: the request may be larger than
# the site-wide limit, up to this, so that a file over 10 MB gets a form message.
TEST_FORM_ENDPOINTS = frozenset({"compliance.control_test_new"})
TEST_REQUEST_LIMIT = 2 * service.MAX_EVIDENCE_BYTES


def upload_folder() -> Path:
    """Where evidence files are kept: ``<instance>/uploads/compliance``."""
    return Path(current_app.instance_path) / "uploads" / "compliance"


class EvidenceRequestTooLarge(RequestEntityTooLarge):
    """A test form whose upload is far beyond the evidence size limit (refused before it is read)."""


@blueprint.url_value_preprocessor
def _evidence_upload_limit(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    # Runs before any before_request hook (the CSRF check reads the form with the request's limit).
    if endpoint not in TEST_FORM_ENDPOINTS or request.method != "POST":
        return
    request.max_content_length = max(TEST_REQUEST_LIMIT, request.max_content_length or 0)
    if request.content_length is not None and request.content_length > request.max_content_length:
        raise EvidenceRequestTooLarge()


@blueprint.errorhandler(EvidenceRequestTooLarge)
def _evidence_too_large(_exc: EvidenceRequestTooLarge) -> Any:
    """The form again with the file's message (what was typed is lost: the request was not read)."""
    if not current_user.is_authenticated or not current_user.has_permission(MANAGE):
        return render_template("core/error.html", status=413, message=_("The request is too large.")), 413
    session = get_session()
    try:
        control = service.get_control(session, (request.view_args or {}).get("control_id"))
    except NotFound as exc:
        return render_template("core/error.html", status=404, message=exc.message), 404
    errors = {
        "evidence_file": [_("is larger than %(mb)d MB", mb=service.MAX_EVIDENCE_BYTES // (1024 * 1024))]
    }
    response, _status = _render_test_form(control, _blank_test(), errors)
    return response, 413


# --- the list -------------------------------------------------------------------------------------


def _filters() -> dict[str, Any]:
    args = request.args
    owner_id = pages.int_arg(args.get("owner_id"))
    active = args.get("active", "active")
    return {
        "q": args.get("q", "").strip()[:200],
        "owner_id": owner_id
        if owner_id is not None and owner_id < 2**31
        else (-1 if args.get("owner_id") else None),
        "frequency": args.get("frequency") if args.get("frequency") in CONTROL_FREQUENCIES else "",
        "active": active if active in ACTIVE_FILTERS else "active",
        "overdue": args.get("overdue") == "1",
        "result": args.get("result") if args.get("result") in RESULT_FILTERS else "",
    }


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "q": filters["q"] or None,
        "owner_id": filters["owner_id"],
        "frequency": filters["frequency"] or None,
        "active": {"active": True, "inactive": False}.get(filters["active"]),
        "overdue": filters["overdue"],
        "result": filters["result"] or None,
    }


@blueprint.get("/controls")
@require_permission(VIEW)
def controls() -> Any:
    """Controls with their next test (overdue ones highlighted), linked risks and last result."""
    session = get_session()
    sort = request.args.get("sort", "reference")
    if sort not in service.CONTROL_SORTS:
        sort = "reference"
    descending = request.args.get("dir") == "desc"
    filters = _filters()
    query = _query(filters)
    if request.args.get("format") == "csv":
        return csv_response(
            "controls.csv",
            [
                "reference",
                "name",
                "owner",
                "frequency",
                "next_test_date",
                "test_overdue",
                "risks",
                "last_result",
                "last_tested_on",
                "active",
            ],
            _csv_rows(session, sort, descending, query),
        )
    page = service.list_controls(
        session,
        sort=sort,
        descending=descending,
        after=pages.cursor_arg(service.CONTROL_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    keep = [filters["owner_id"]] if filters["owner_id"] and filters["owner_id"] > 0 else []
    return render_template(
        "compliance/controls.html",
        page=page,
        latest=service.latest_tests(session, [c.id for c in page.items]),
        names=risk_service.user_names(session, [c.owner_id for c in page.items]),
        sort=sort,
        descending=descending,
        filters=filters,
        owners=user_options(session, keep),
        filtered=any(
            request.args.get(key) for key in ("q", "owner_id", "frequency", "active", "overdue", "result")
        ),
        today=dt.date.today(),
        can_manage=pages.actor_can(MANAGE),
    )


def _csv_rows(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    today = dt.date.today()
    while True:
        page = service.list_controls(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        latest = service.latest_tests(session, [c.id for c in page.items])
        names = risk_service.user_names(session, [c.owner_id for c in page.items])
        for c in page.items:
            last = latest.get(c.id)
            yield [
                c.reference,
                c.name,
                names.get(c.owner_id, "") if c.owner_id else "",
                c.frequency,
                c.next_test_date.isoformat() if c.next_test_date else "",
                "yes" if service.is_test_overdue(c, today) else "no",
                " ".join(sorted(r.reference for r in c.risks)),
                last.result if last else "",
                last.tested_on.isoformat() if last else "",
                "yes" if c.active else "no",
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- a control ------------------------------------------------------------------------------------


@blueprint.get("/controls/<int:control_id>")
@require_permission(VIEW)
def control_detail(control_id: int) -> Any:
    """A control: its schedule, the risks it mitigates and its test history with evidence."""
    session = get_session()
    control = service.get_control(session, control_id)
    tests = service.tests_of(session, control)
    names = risk_service.user_names(session, [control.owner_id, *(t.tester_id for t in tests)])
    return render_template(
        "compliance/control_detail.html",
        control=control,
        tests=tests,
        names=names,
        risks=sorted(control.risks, key=lambda r: (r.reference, r.id)),
        scores=risk_service.scores_of(session, control.risks),
        overdue=service.is_test_overdue(control),
        can_manage=pages.actor_can(MANAGE),
    )


def _render_form(control: Control | None, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    keep = [pages.int_arg(data.get("owner_id"))] + ([control.owner_id] if control is not None else [])
    return render_template(
        "compliance/control_form.html",
        control=control,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*CONTROL_FIELDS, "risk_ids")),
        owners=user_options(session, [i for i in keep if i is not None and i < 2**31]),
        risk_choices=risk_service.risk_choices(session),
        frequencies=[(f, FREQUENCY_LABELS[f]) for f in CONTROL_FREQUENCIES],
    ), 422 if errors else 200


def _form_data() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in CONTROL_FIELDS}
    data["risk_ids"] = [value for value in request.form.getlist("risk_ids") if value.strip()][:1000]
    return data


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (value if value != "" or key in ("name", "description", "frequency") else None)
        for key, value in data.items()
    }


@blueprint.route("/controls/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def control_new() -> Any:
    """Define a control: its owner, frequency, first test date and the risks it mitigates."""
    session = get_session()
    if request.method == "POST":
        data = _form_data()
        try:
            control = service.create_control(session, _payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_form(None, data, exc.fields or {"form": [exc.message]})
        flash(_("Control %(reference)s defined.", reference=control.reference), "success")
        return redirect(url_for("compliance.control_detail", control_id=control.id))
    data: dict[str, Any] = {key: "" for key in CONTROL_FIELDS}
    data["frequency"] = "quarterly"
    data["risk_ids"] = [request.args["risk_id"]] if pages.int_arg(request.args.get("risk_id")) else []
    return _render_form(None, data, {})


@blueprint.route("/controls/<int:control_id>/edit", methods=["GET", "POST"])
@require_permission(MANAGE)
def control_edit(control_id: int) -> Any:
    """Change a control, its schedule or the risks it mitigates."""
    session = get_session()
    control = service.get_control(session, control_id)
    if request.method == "POST":
        data = _form_data()
        try:
            service.update_control(session, control, _payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            control = service.get_control(session, control_id)
            return _render_form(control, data, exc.fields or {"form": [exc.message]})
        flash(_("Control %(reference)s saved.", reference=control.reference), "success")
        return redirect(url_for("compliance.control_detail", control_id=control.id))
    data = {
        "name": control.name,
        "description": control.description,
        "owner_id": str(control.owner_id or ""),
        "frequency": control.frequency,
        "next_test_date": control.next_test_date.isoformat() if control.next_test_date else "",
        "risk_ids": [str(r.id) for r in control.risks],
    }
    return _render_form(control, data, {})


@blueprint.post("/controls/<int:control_id>/<any(deactivate, reactivate):action>")
@require_permission(MANAGE)
def control_active(control_id: int, action: str) -> Any:
    """Retire a control (it no longer counts for its risks, and is not due) or bring it back."""
    session = get_session()
    control = service.get_control(session, control_id)
    try:
        service.update_control(session, control, {"active": action == "reactivate"})
        session.commit()
    except ValidationError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        message = (
            _("Control %(reference)s is active again.", reference=control.reference)
            if action == "reactivate"
            else _("Control %(reference)s is retired.", reference=control.reference)
        )
        flash(message, "success")
    return redirect(url_for("compliance.control_detail", control_id=control_id))


# --- tests ----------------------------------------------------------------------------------------


def _blank_test() -> dict[str, str]:
    actor = current_user._get_current_object() if current_user.is_authenticated else None
    return {
        "tested_on": dt.date.today().isoformat(),
        "tester_id": str(getattr(actor, "id", "") or ""),
        "result": "",
        "evidence_note": "",
    }


def _render_test_form(control: Control, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    keep = [pages.int_arg(data.get("tester_id"))]
    return render_template(
        "compliance/control_test_form.html",
        control=control,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*TEST_FIELDS, "evidence_file")),
        testers=user_options(session, [i for i in keep if i is not None and i < 2**31]),
        max_mb=service.MAX_EVIDENCE_BYTES // (1024 * 1024),
    ), 422 if errors else 200


def _upload() -> service.EvidenceUpload | None:
    file = request.files.get("evidence_file")
    if file is None or not file.filename:
        return None
    # Read at most one byte past the limit: enough to know the file is too large.
    content = file.stream.read(service.MAX_EVIDENCE_BYTES + 1)
    return service.EvidenceUpload(file.filename, file.mimetype or "", content)


@blueprint.route("/controls/<int:control_id>/tests/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def control_test_new(control_id: int) -> Any:
    """Record a test: date, tester (me by default), pass or fail, an evidence note and file."""
    session = get_session()
    control = service.get_control(session, control_id)
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in TEST_FIELDS}
        folder = upload_folder()
        test = None
        try:
            test = service.record_test(session, control, data, evidence=_upload(), folder=folder)
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            service.discard_evidence(folder, test)
            control = service.get_control(session, control_id)
            return _render_test_form(control, data, exc.fields or {"form": [exc.message]})
        except Exception:
            session.rollback()
            service.discard_evidence(folder, test)
            raise
        flash(
            _(
                "Test of %(reference)s recorded: %(result)s. Next test due on %(date)s.",
                reference=control.reference,
                result=_("pass") if test.result == "pass" else _("fail"),
                date=control.next_test_date.isoformat() if control.next_test_date else "—",
            ),
            "success",
        )
        return redirect(url_for("compliance.control_detail", control_id=control.id))
    if not control.active:
        flash(
            _(
                "Control %(reference)s is inactive: reactivate it to record a test.",
                reference=control.reference,
            ),
            "error",
        )
        return redirect(url_for("compliance.control_detail", control_id=control.id))
    return _render_test_form(control, _blank_test(), {})


@blueprint.get("/control-tests/<int:test_id>/evidence")
@require_permission(VIEW)
def control_test_evidence(test_id: int) -> Any:
    """A test's evidence file, as a download under its uploaded name (never shown inline)."""
    session = get_session()
    test = service.get_test(session, test_id)
    path = service.evidence_file(session, test, upload_folder())
    response = send_file(
        path,
        mimetype=test.evidence_content_type or "application/octet-stream",
        as_attachment=True,
        download_name=test.evidence_filename or "evidence",
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- dashboard and search -------------------------------------------------------------------------


def widgets(user: Any) -> list[Widget]:
    """For ``compliance.view`` holders: controls whose next test is overdue, and failing controls."""
    if not has_permission(user, VIEW):
        return []
    session = get_session()
    overdue_total, overdue = service.overdue_controls(session, limit=5)
    failing_total, failing = service.failing_controls(session, limit=5)

    def card(title: str, kind: str, total: int, items: list[Control], order: int) -> Widget:
        html = render_template(
            "compliance/control_widget.html",
            kind=kind,
            total=total,
            controls=items,
            latest=service.latest_tests(session, [c.id for c in items]),
        )
        return Widget(title, html, order=order)

    return [
        card(_("Control tests overdue"), "overdue", overdue_total, overdue, 52),
        card(_("Failing controls"), "failing", failing_total, failing, 53),
    ]


def search_results(query: str, user: Any) -> list[SearchResult]:
    """Controls whose reference or name matches."""
    if not has_permission(user, VIEW):
        return []
    session = get_session()
    return [
        SearchResult(
            title=f"{c.reference} {c.name}",
            url=url_for("compliance.control_detail", control_id=c.id),
            kind=_("Control"),
            summary=str(FREQUENCY_LABELS.get(c.frequency, c.frequency)),
        )
        for c in service.search_controls(session, query)
    ]
