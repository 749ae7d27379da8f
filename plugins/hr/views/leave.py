"""HR pages: leave — requests (list, form, detail and its actions, approvals), the team calendar,
leave types, public holidays and yearly allocations; and the leave dashboard widgets.

Who sees which request and who may decide it are the services' rules: the request pages are open
to every signed-in user and show what the service lets them see.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.plugin_api import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
    Widget,
    any_user,
    csv_response,
    get_session,
    has_permission,
    pages,
    require_permission,
)

from ..models import LEAVE_STATES, LeaveRequest
from ..services import leave as leave_service
from ..services.common import my_employee
from . import blueprint

PAGE_SIZE = 50
REQUEST_FIELDS = ("employee_id", "leave_type_id", "start_date", "end_date", "reason")
FLAGS = ("half_day_start", "half_day_end")
TYPE_FIELDS = ("code", "name", "default_days", "color")
TYPE_FLAGS = ("needs_allocation", "paid", "active")
MAX_IMPORT_BYTES = 200_000
STATE_LABELS = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "approved": _l("Approved"),
    "refused": _l("Refused"),
    "cancelled": _l("Cancelled"),
}
ACTION_DONE = {
    "submit": _l("Leave request submitted: the approver has been notified."),
    "approve": _l("Leave approved."),
    "refuse": _l("Leave refused."),
    "cancel": _l("Leave request cancelled."),
}


@blueprint.app_template_global("hr_leave_labels")
def hr_leave_labels() -> dict[str, Any]:
    return {"states": STATE_LABELS}


def _errors_of(exc: ValidationError | Conflict, default_field: str = "form") -> dict[str, list[str]]:
    return exc.fields or {default_field: [exc.message]}


def _this_year() -> int:
    return dt.date.today().year


def _year_arg() -> int:
    year = pages.int_arg(request.args.get("year"))
    return year if year is not None and 1900 <= year <= 9899 else _this_year()


# --- the request list -----------------------------------------------------------------------------


def _list_filters() -> dict[str, Any]:
    state = request.args.get("state", "")
    year = pages.int_arg(request.args.get("year"))
    show = request.args.get("show", "")
    return {
        "employee_id": pages.int_arg(request.args.get("employee_id")),
        "state": state if state in LEAVE_STATES else "",
        "year": year if year is not None and 1900 <= year <= 9899 else None,
        "show": show if show in ("mine", "to_approve") else "",
    }


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "employee_id": filters["employee_id"],
        "state": filters["state"] or None,
        "year": filters["year"],
        "mine": filters["show"] == "mine",
        "to_approve": filters["show"] == "to_approve",
    }


@blueprint.get("/leave")
@any_user
def leave_requests() -> Any:
    """Leave requests the user may see (HR: everyone's; others: their own and their reports'),
    latest first; filters by employee, state, year, "mine" and "to approve"; CSV of every match."""
    session = get_session()
    sort, descending = pages.sort_args(leave_service.LEAVE_SORTS, "start_date")
    filters = _list_filters()
    query = _query(filters)
    if request.args.get("format") == "csv":
        return csv_response(
            "leave-requests.csv",
            ["id", "employee", "leave_type", "start_date", "end_date", "half_day_start", "half_day_end",
             "days", "state", "reason", "decision_note"],
            _csv_rows(session, sort, descending, query),
        )  # fmt: skip
    page = leave_service.list_requests(
        session,
        sort=sort,
        descending=descending,
        after=pages.cursor_arg(leave_service.LEAVE_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    can_view = pages.actor_can("hr.view")
    return render_template(
        "hr/leave_requests.html",
        page=page,
        sort=sort,
        descending=descending,
        filters=filters,
        states=LEAVE_STATES,
        employees=leave_service.employee_choices(session) if can_view else [],
        can_view=can_view,
    )


def _csv_rows(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = leave_service.list_requests(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for item in page.items:
            yield [
                item.id,
                item.employee.name,
                item.leave_type.code,
                item.start_date.isoformat(),
                item.end_date.isoformat(),
                "yes" if item.half_day_start else "no",
                "yes" if item.half_day_end else "no",
                f"{item.days.normalize():f}",
                item.state,
                item.reason,
                item.decision_note,
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- the request form -----------------------------------------------------------------------------


def _posted_request() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in REQUEST_FIELDS}
    for key in FLAGS:
        data[key] = bool(request.form.get(key))
    return data


def _render_form(
    leave_request: LeaveRequest | None,
    data: dict[str, Any],
    errors: dict[str, list[str]],
    days: Any = None,
) -> Any:
    session = get_session()
    can_manage = pages.actor_can("hr.employee.manage")
    own = my_employee(session)
    balances = []
    if own is not None and leave_request is None:
        balances = leave_service.balances(session, own, _this_year())
    shown = (*REQUEST_FIELDS, *FLAGS, "days")
    return render_template(
        "hr/leave_form.html",
        leave_request=leave_request,
        data=data,
        errors=errors,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in shown],
        leave_types=leave_service.list_leave_types(session, active_only=True),
        employees=leave_service.employee_choices(session) if can_manage and leave_request is None else [],
        own=own,
        days=days,
        balances=balances,
    ), 422 if errors else 200


def _count_days(data: dict[str, Any]) -> tuple[Any, dict[str, list[str]]]:
    try:
        days = leave_service.working_days(
            get_session(), data["start_date"], data["end_date"], data["half_day_start"], data["half_day_end"]
        )
    except ValidationError as exc:
        return None, _errors_of(exc)
    return days, {}


@blueprint.route("/leave/new", methods=["GET", "POST"])
@any_user
def leave_new() -> Any:
    """Ask for leave: for oneself, or (HR) for any employee. "Count days" shows the working days
    without saving; "Save draft" keeps it to submit later; "Submit" sends it for approval."""
    session = get_session()
    if request.method == "GET":
        data: dict[str, Any] = {key: "" for key in REQUEST_FIELDS}
        data.update({key: False for key in FLAGS})
        data["employee_id"] = request.args.get("employee_id", "")
        return _render_form(None, data, {})
    data = _posted_request()
    action = request.form.get("action", "draft")
    if action == "count":
        days, errors = _count_days(data)
        return _render_form(None, data, errors, days)
    try:
        created = leave_service.create_request(session, {**data, "submit": action == "submit"})
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_form(None, data, _errors_of(exc))
    except PermissionDenied as exc:
        session.rollback()
        return _render_form(None, data, {"employee_id": [exc.message]})
    if action == "submit":
        flash(str(ACTION_DONE["submit"]), "success")
    else:
        flash(_("Draft saved: submit it when you are ready."), "success")
    return redirect(url_for("hr.leave_detail", request_id=created.id))


@blueprint.route("/leave/<int:request_id>/edit", methods=["GET", "POST"])
@any_user
def leave_edit(request_id: int) -> Any:
    """Change a draft."""
    session = get_session()
    leave_request = leave_service.get_request(session, request_id)
    if "edit" not in leave_service.available_actions(session, leave_request):
        flash(_("Only a draft can be changed, by the employee or HR."), "error")
        return redirect(url_for("hr.leave_detail", request_id=request_id))
    if request.method == "GET":
        data: dict[str, Any] = {
            "employee_id": str(leave_request.employee_id),
            "leave_type_id": str(leave_request.leave_type_id),
            "start_date": leave_request.start_date.isoformat(),
            "end_date": leave_request.end_date.isoformat(),
            "reason": leave_request.reason,
            "half_day_start": leave_request.half_day_start,
            "half_day_end": leave_request.half_day_end,
        }
        return _render_form(leave_request, data, {}, leave_request.days)
    data = _posted_request()
    data.pop("employee_id")
    action = request.form.get("action", "draft")
    if action == "count":
        days, errors = _count_days(data)
        return _render_form(leave_request, data, errors, days)
    try:
        leave_service.update_request(session, leave_request, data)
        if action == "submit":
            leave_service.submit_request(session, leave_request)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        return _render_form(leave_service.get_request(session, request_id), data, _errors_of(exc))
    flash(str(ACTION_DONE["submit"]) if action == "submit" else _("Draft saved."), "success")
    return redirect(url_for("hr.leave_detail", request_id=request_id))


# --- the request page and its actions --------------------------------------------------------------


def _render_detail(
    leave_request: LeaveRequest, errors: dict[str, list[str]] | None = None, note: str = ""
) -> Any:
    session = get_session()
    balance = None
    try:
        found = leave_service.balances(session, leave_request.employee, leave_request.start_date.year)
        balance = next((b for b in found if b.leave_type.id == leave_request.leave_type_id), None)
    except NotFound:
        balance = None
    return render_template(
        "hr/leave_detail.html",
        leave_request=leave_request,
        actions=leave_service.available_actions(session, leave_request),
        balance=balance,
        errors=errors or {},
        note=note,
    ), 422 if errors else 200


@blueprint.get("/leave/<int:request_id>")
@any_user
def leave_detail(request_id: int) -> Any:
    """A leave request, with the buttons the user may use (submit, approve, refuse, cancel)."""
    return _render_detail(leave_service.get_request(get_session(), request_id))


def _act(request_id: int, action: str) -> Any:
    session = get_session()
    leave_request = leave_service.get_request(session, request_id)
    note = request.form.get("note", "").strip()
    try:
        if action == "submit":
            leave_service.submit_request(session, leave_request)
        elif action == "approve":
            leave_service.approve_request(session, leave_request, note)
        elif action == "refuse":
            leave_service.refuse_request(session, leave_request, note)
        else:
            leave_service.cancel_request(session, leave_request)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(_("Nothing was done: %(problem)s", problem=exc.message), "error")
        return redirect(url_for("hr.leave_detail", request_id=request_id))
    except ValidationError as exc:
        session.rollback()
        return _render_detail(leave_service.get_request(session, request_id), _errors_of(exc, "note"), note)
    flash(str(ACTION_DONE[action]), "success")
    return redirect(url_for("hr.leave_detail", request_id=request_id))


@blueprint.post("/leave/<int:request_id>/submit")
@any_user
def leave_submit(request_id: int) -> Any:
    return _act(request_id, "submit")


@blueprint.post("/leave/<int:request_id>/approve")
@any_user
def leave_approve(request_id: int) -> Any:
    return _act(request_id, "approve")


@blueprint.post("/leave/<int:request_id>/refuse")
@any_user
def leave_refuse(request_id: int) -> Any:
    return _act(request_id, "refuse")


@blueprint.post("/leave/<int:request_id>/cancel")
@any_user
def leave_cancel(request_id: int) -> Any:
    return _act(request_id, "cancel")


@blueprint.get("/leave/approvals")
@any_user
def leave_approvals() -> Any:
    """Submitted requests waiting for this user's decision (as manager or approver)."""
    return render_template(
        "hr/leave_approvals.html", requests=leave_service.requests_to_approve(get_session())
    )


# --- team calendar --------------------------------------------------------------------------------


@blueprint.get("/leave/calendar")
@require_permission("hr.view")
def team_calendar() -> Any:
    """A month: one row per employee, a cell per day; approved and submitted leave marked."""
    session = get_session()
    today = dt.date.today()
    year = pages.int_arg(request.args.get("year"))
    month = pages.int_arg(request.args.get("month"))
    if year is None or not 1900 <= year <= 9899 or month is None or not 1 <= month <= 12:
        year, month = today.year, today.month
    department_id = pages.int_arg(request.args.get("department_id"))
    grid = leave_service.team_calendar(session, year, month, department_id)
    return render_template(
        "hr/leave_calendar.html",
        grid=grid,
        today=today,
        month_label=format_date(grid.first, "LLLL y"),
        day_names=[format_date(day.date, "EEEEEE") for day in grid.days],
        departments=leave_service.department_choices(session),
        leave_types=leave_service.list_leave_types(session),
    )


# --- leave types ----------------------------------------------------------------------------------


@blueprint.get("/leave/types")
@require_permission("hr.employee.manage")
def leave_types() -> Any:
    return render_template("hr/leave_types.html", leave_types=leave_service.list_leave_types(get_session()))


def _posted_type() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in TYPE_FIELDS}
    for key in TYPE_FLAGS:
        data[key] = bool(request.form.get(key))
    return data


def _render_type_form(leave_type: Any, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    shown = (*TYPE_FIELDS, *TYPE_FLAGS)
    return render_template(
        "hr/leave_type_form.html",
        leave_type=leave_type,
        data=data,
        errors=errors,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in shown],
    ), 422 if errors else 200


@blueprint.route("/leave/types/new", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def leave_type_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = _posted_type()
        data["active"] = True
        try:
            created = leave_service.create_leave_type(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_type_form(None, data, _errors_of(exc))
        flash(_("Leave type %(name)s created.", name=created.name), "success")
        return redirect(url_for("hr.leave_types"))
    data = {"code": "", "name": "", "default_days": "0", "color": "#2563eb"}
    data.update(needs_allocation=True, paid=True, active=True)
    return _render_type_form(None, data, {})


@blueprint.route("/leave/types/<int:leave_type_id>/edit", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def leave_type_edit(leave_type_id: int) -> Any:
    session = get_session()
    leave_type = leave_service.get_leave_type(session, leave_type_id)
    if request.method == "POST":
        data = _posted_type()
        try:
            leave_service.update_leave_type(session, leave_type, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_type_form(
                leave_service.get_leave_type(session, leave_type_id), data, _errors_of(exc)
            )
        flash(_("Leave type %(name)s saved.", name=leave_type.name), "success")
        return redirect(url_for("hr.leave_types"))
    data = {
        "code": leave_type.code,
        "name": leave_type.name,
        "default_days": pages.form_decimal(leave_type.default_days, 0),
        "color": leave_type.color,
        "needs_allocation": leave_type.needs_allocation,
        "paid": leave_type.paid,
        "active": leave_type.active,
    }
    return _render_type_form(leave_type, data, {})


# --- public holidays ------------------------------------------------------------------------------


def _render_holidays(
    year: int, data: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None
) -> Any:
    errors = errors or {}
    return render_template(
        "hr/leave_holidays.html",
        year=year,
        holidays=leave_service.list_holidays(get_session(), year),
        data=data or {"date": "", "name": ""},
        errors=errors,
        general_errors=[m for k, ms in errors.items() if k not in ("date", "name", "file") for m in ms],
    ), 422 if errors else 200


@blueprint.route("/holidays", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def holidays() -> Any:
    """Public holidays of a year (not working days, so never counted as leave); add one."""
    if request.method == "GET":
        return _render_holidays(_year_arg())
    session = get_session()
    data = {key: request.form.get(key, "").strip() for key in ("date", "name")}
    try:
        added = leave_service.add_holiday(session, data)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_holidays(_year_arg(), data, _errors_of(exc))
    flash(_("Public holiday %(name)s added.", name=added.name), "success")
    return redirect(url_for("hr.holidays", year=added.date.year))


@blueprint.post("/holidays/<int:holiday_id>/delete")
@require_permission("hr.employee.manage")
def holiday_delete(holiday_id: int) -> Any:
    session = get_session()
    found = leave_service.get_holiday(session, holiday_id)
    year, name = found.date.year, found.name
    leave_service.delete_holiday(session, found)
    session.commit()
    flash(_("Public holiday %(name)s deleted.", name=name), "success")
    return redirect(url_for("hr.holidays", year=year))


@blueprint.post("/holidays/import")
@require_permission("hr.employee.manage")
def holidays_import() -> Any:
    """Add holidays from a CSV file of ``date,name`` rows; one bad row imports nothing."""
    session = get_session()
    upload = request.files.get("file")
    raw = upload.read(MAX_IMPORT_BYTES + 1) if upload is not None else b""
    try:
        if not raw.strip():
            raise ValidationError("empty file", fields={"file": [_("Choose a CSV file of date,name rows.")]})
        if len(raw) > MAX_IMPORT_BYTES:
            raise ValidationError("too large", fields={"file": [_("is too large: split it")]})
        added = leave_service.import_holidays(session, raw)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        fields = exc.fields or {"file": [exc.message]}
        rows = [f"{key}: {'; '.join(messages)}" for key, messages in fields.items() if key != "file"]
        errors = {"file": fields.get("file", []) + ([_("Nothing was imported:")] + rows if rows else [])}
        return _render_holidays(_year_arg(), None, errors)
    flash(_("%(count)d public holidays imported.", count=len(added)), "success")
    return redirect(url_for("hr.holidays", year=added[0].date.year if added else _this_year()))


# --- allocations ----------------------------------------------------------------------------------


def _render_allocations(
    year: int, data: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None
) -> Any:
    session = get_session()
    errors = errors or {}
    shown = ("employee_id", "leave_type_id", "days")
    return render_template(
        "hr/leave_allocations.html",
        grid=leave_service.allocation_grid(session, year),
        data=data or {"employee_id": "", "leave_type_id": "", "days": ""},
        errors=errors,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in shown],
    ), 422 if errors else 200


@blueprint.route("/leave/allocations", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def allocations() -> Any:
    """Days each employee may take per allocation-limited leave type in a year; set one."""
    year = _year_arg()
    if request.method == "GET":
        return _render_allocations(year)
    session = get_session()
    data = {key: request.form.get(key, "").strip() for key in ("employee_id", "leave_type_id", "days")}
    year_value = request.form.get("year", "").strip() or str(year)
    try:
        leave_service.set_allocation(
            session, data["employee_id"], data["leave_type_id"], year_value, data["days"]
        )
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_allocations(year, data, _errors_of(exc))
    flash(_("Allocation saved."), "success")
    return redirect(url_for("hr.allocations", year=year_value))


@blueprint.post("/leave/allocations/defaults")
@require_permission("hr.employee.manage")
def allocations_defaults() -> Any:
    """Give every current employee each type's default days for the year, where they have none."""
    session = get_session()
    year_value = request.form.get("year", "").strip()
    try:
        created = leave_service.allocate_defaults(session, year_value)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        flash(_("Nothing was allocated: %(problem)s", problem=exc.message), "error")
        return redirect(url_for("hr.allocations"))
    flash(_("%(count)d allocations created with the default days.", count=created), "success")
    return redirect(url_for("hr.allocations", year=year_value))


# --- dashboard ------------------------------------------------------------------------------------


def widgets(user: Any) -> list[Widget]:
    """ "On leave today" for HR staff; "Leave to approve" for whoever has requests to decide."""
    session = get_session()
    found: list[Widget] = []
    to_approve = leave_service.count_to_approve(session)
    if to_approve:
        found.append(
            Widget(
                _("Leave to approve"),
                render_template("hr/leave_widget_approvals.html", count=to_approve),
                order=30,
            )
        )
    if has_permission(user, "hr.view"):
        today = dt.date.today()
        found.append(
            Widget(
                _("On leave today"),
                render_template(
                    "hr/leave_widget_today.html", requests=leave_service.on_leave(session, today), today=today
                ),
                order=31,
            )
        )
    return found
