"""HR pages: the organisation — employees and their contracts, departments, positions, the org chart,
the HR settings hub; HR's dashboard widget, contact panel and search results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from core.plugin_api import (
    Conflict,
    Contact,
    Panel,
    SearchResult,
    ValidationError,
    Widget,
    any_user,
    charts,
    csv_response,
    get_session,
    has_permission,
    pages,
    require_permission,
    users,
    validation,
)

from ..models import CONTRACT_KINDS, EMPLOYEE_STATUSES, WAGE_PERIODS, Contract, Employee
from ..services import contracts as contract_service
from ..services import employees as employee_service
from ..services import org as org_service
from ..services.common import can_see_pay
from . import blueprint

PAGE_SIZE = 50
STATUS_LABELS = {"active": _l("Active"), "on_leave": _l("On leave"), "terminated": _l("Terminated")}
STATUS_BADGES = {"active": "state-posted", "on_leave": "state-draft", "terminated": "state-reversed"}
KIND_LABELS = {"permanent": _l("Permanent"), "fixed_term": _l("Fixed-term"), "contractor": _l("Contractor")}
PERIOD_LABELS = {"month": _l("per month"), "hour": _l("per hour")}
# The list's status filter: "current" (everyone but the terminated) unless the user picks another.
STATUS_FILTERS = ("current", *EMPLOYEE_STATUSES, "all")


@blueprint.app_template_global("hr_org_labels")
def hr_org_labels() -> dict[str, Any]:
    return {
        "statuses": STATUS_LABELS,
        "status_badges": STATUS_BADGES,
        "kinds": KIND_LABELS,
        "periods": PERIOD_LABELS,
    }


@blueprint.app_template_global("hr_url_if_any")
def hr_url_if_any(endpoint: str, **values: Any) -> str | None:
    """A link to a page that may not exist (an area of HR not installed in this version)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


_actor_can = pages.actor_can
_int_arg = pages.int_arg


def _general_errors(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    """Messages of fields the form does not show next to an input."""
    shown = set(shown)
    return [f"{key}: {'; '.join(messages)}" for key, messages in errors.items() if key not in shown]


def _flash_error(exc: ValidationError | Conflict) -> None:
    flash(exc.message, "error")


def _current_people(session: Any) -> list[Employee]:
    """Employees who have not left, by name: the managers a form offers."""
    return list(
        session.scalars(
            employee_service.employees_query(session, status="current").order_by(Contact.name, Employee.id)
        )
    )


# --- employees: list ------------------------------------------------------------------------------


def _list_filters(session: Any) -> dict[str, Any]:
    status = request.args.get("status", "current")
    department_id = _int_arg(request.args.get("department_id"))
    departments = org_service.list_departments(session, include_inactive=True)
    known = {d.id for d in departments}
    return {
        "q": request.args.get("q", "").strip()[:200],
        "status": status if status in STATUS_FILTERS else "current",
        # An unknown department matches nobody rather than everybody.
        "department_id": department_id
        if department_id in known
        else (-1 if request.args.get("department_id") else None),
        "departments": departments,
    }


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "q": filters["q"] or None,
        "department_id": filters["department_id"],
        "status": None if filters["status"] == "all" else filters["status"],
    }


@blueprint.get("/employees")
@require_permission("hr.view")
def employees() -> Any:
    """Employees by name, number or hire date; search, department and status filters; CSV export."""
    session = get_session()
    sort = request.args.get("sort", "name")
    if sort not in employee_service.EMPLOYEE_SORTS:
        sort = "name"
    descending = request.args.get("dir") == "desc"
    filters = _list_filters(session)
    query = _query(filters)
    if request.args.get("format") == "csv":
        return csv_response(
            "employees.csv",
            [
                "number",
                "name",
                "email",
                "phone",
                "department",
                "position",
                "job_title",
                "manager",
                "hire_date",
                "termination_date",
                "status",
            ],
            _csv_employees(session, sort, descending, query),
        )
    page = employee_service.list_employees(
        session,
        sort=sort,
        descending=descending,
        after=pages.cursor_arg(employee_service.EMPLOYEE_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    return render_template(
        "hr/org_employees.html",
        page=page,
        sort=sort,
        descending=descending,
        filters=filters,
        filtered=any(request.args.get(key) for key in ("q", "department_id", "status")),
        can_manage=_actor_can("hr.employee.manage"),
    )


def _csv_employees(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = employee_service.list_employees(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for e in page.items:
            yield [
                e.number,
                e.name,
                e.contact.email or "",
                e.contact.phone or "",
                e.department.name if e.department else "",
                e.position.name if e.position else "",
                e.job_title,
                e.manager.name if e.manager else "",
                e.hire_date.isoformat(),
                e.termination_date.isoformat() if e.termination_date else "",
                e.status,
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- employees: forms -----------------------------------------------------------------------------

NEW_FIELDS = ("contact_id", "name", "email", "phone", "number")
HR_FIELDS = (
    "hire_date",
    "department_id",
    "position_id",
    "manager_id",
    "user_id",
    "job_title",
    "emergency_name",
    "emergency_phone",
    "notes",
)


def _render_employee_form(
    employee: Employee | None, data: dict[str, str], errors: dict[str, list[str]]
) -> Any:
    session = get_session()
    # Only an id a row can have is looked up (a larger one is a database error on PostgreSQL).
    keep = validation.parse_id(data.get("contact_id"))
    persons = [c for c in pages.contact_choices(session, keep) if c.kind == "person"]
    options = {
        "persons": [(c.id, f"{c.name} ({c.email})" if c.email else c.name) for c in persons],
        "departments": _keep(
            [(d.id, d.name) for d in org_service.list_departments(session)],
            employee.department if employee else None,
        ),
        "positions": [(p.id, p.name) for p in org_service.list_positions(session)],
        "people": _keep(
            [
                (p.id, f"{p.name} ({p.number})")
                for p in _current_people(session)
                if employee is None or p.id != employee.id
            ],
            employee.manager if employee else None,
        ),
        "users": [(u.id, u.name or u.email) for u in users.company_users(session, limit=500)],
    }
    linked = employee.user if employee is not None else None
    if linked is not None and all(value != linked.id for value, _label in options["users"]):
        options["users"].insert(0, (linked.id, f"{linked.name or linked.email} ({_('inactive')})"))
    return render_template(
        "hr/org_employee_form.html",
        employee=employee,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*NEW_FIELDS, *HR_FIELDS, "status")),
        options=options,
    ), 422 if errors else 200


def _keep(options: list[tuple[int, str]], current: Any) -> list[tuple[int, str]]:
    """The options plus the record already chosen, even when it no longer qualifies (inactive, left)."""
    if current is not None and all(value != current.id for value, _label in options):
        options.insert(0, (current.id, current.name))
    return options


@blueprint.route("/employees/new", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def employee_new() -> Any:
    """Hire someone: a new person (name, email, phone) or an existing person contact."""
    session = get_session()
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in (*NEW_FIELDS, *HR_FIELDS)}
        payload = {key: value for key, value in data.items() if key not in NEW_FIELDS or value}
        if data["contact_id"]:  # an existing person: the name, email and phone are theirs
            for key in ("name", "email", "phone"):
                payload.pop(key, None)
        try:
            employee = employee_service.create_employee(session, payload)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_employee_form(None, data, exc.fields or {"form": [exc.message]})
        flash(_("%(name)s is hired as %(number)s.", name=employee.name, number=employee.number), "success")
        return redirect(url_for("hr.employee_detail", employee_id=employee.id))
    data = {key: "" for key in (*NEW_FIELDS, *HR_FIELDS)}
    data["hire_date"] = dt.date.today().isoformat()
    data["contact_id"] = request.args.get("contact_id", "")
    data["department_id"] = request.args.get("department_id", "")
    return _render_employee_form(None, data, {})


@blueprint.route("/employees/<int:employee_id>/edit", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def employee_edit(employee_id: int) -> Any:
    """The HR file of an employee (the person's name, email and phone are on their contact)."""
    session = get_session()
    employee = employee_service.get_employee(session, employee_id)
    fields = HR_FIELDS if employee.status == "terminated" else (*HR_FIELDS, "status")
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in fields}
        try:
            employee_service.update_employee(session, employee, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            employee = employee_service.get_employee(session, employee_id)
            return _render_employee_form(employee, data, exc.fields or {"form": [exc.message]})
        flash(_("%(name)s's file is saved.", name=employee.name), "success")
        return redirect(url_for("hr.employee_detail", employee_id=employee.id))
    data = {
        "hire_date": employee.hire_date.isoformat(),
        "department_id": str(employee.department_id or ""),
        "position_id": str(employee.position_id or ""),
        "manager_id": str(employee.manager_id or ""),
        "user_id": str(employee.user_id or ""),
        "job_title": employee.job_title,
        "emergency_name": employee.emergency_name,
        "emergency_phone": employee.emergency_phone,
        "notes": employee.notes,
        "status": employee.status,
    }
    return _render_employee_form(employee, data, {})


# --- employees: the file ----------------------------------------------------------------------------


@blueprint.get("/employees/<int:employee_id>")
@any_user
def employee_detail(employee_id: int) -> Any:
    """An employee's file: HR staff see anyone's, an employee their own (others' are "not found")."""
    session = get_session()
    employee = employee_service.get_employee(session, employee_id)
    hr_staff = _actor_can("hr.view")
    reports = list(
        session.scalars(
            employee_service.employees_query(session, status="current")
            .where(Employee.manager_id == employee.id)
            .order_by(Contact.name, Employee.id)
        )
    )
    today = dt.date.today()
    return render_template(
        "hr/org_employee_detail.html",
        employee=employee,
        reports=reports,
        contracts=contract_service.contracts_of(session, employee),
        current_contract=contract_service.active_contract(session, employee, today),
        show_pay=can_see_pay(session, employee),
        hr_staff=hr_staff,
        can_manage=_actor_can("hr.employee.manage"),
        can_see_contact=_actor_can("contacts.view"),
        today=today,
        leave_url=hr_url_if_any("hr.leave_requests", employee_id=employee.id),
        payslips_url=hr_url_if_any("hr.employee_payslips", employee_id=employee.id),
    )


@blueprint.route("/employees/<int:employee_id>/terminate", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def employee_terminate(employee_id: int) -> Any:
    """End the employment on a date: the running contract ends then, the people they managed move
    up to their manager."""
    session = get_session()
    employee = employee_service.get_employee(session, employee_id)
    data = {"date": dt.date.today().isoformat(), "reason": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in ("date", "reason")}
        if len(data["reason"]) > 500:
            errors["reason"] = [_("must be at most 500 characters")]
        else:
            try:
                employee_service.terminate_employee(
                    session, employee, date=data["date"], reason=data["reason"]
                )
                session.commit()
            except ValidationError as exc:
                session.rollback()
                errors = exc.fields or {"form": [exc.message]}
                employee = employee_service.get_employee(session, employee_id)
            else:
                flash(
                    _(
                        "%(name)s's employment ends on %(date)s.",
                        name=employee.name,
                        date=format_date(employee.termination_date, format="medium"),
                    ),
                    "success",
                )
                return redirect(url_for("hr.employee_detail", employee_id=employee.id))
    elif employee.status == "terminated":
        flash(_("%(name)s has already left.", name=employee.name), "error")
        return redirect(url_for("hr.employee_detail", employee_id=employee.id))
    return render_template(
        "hr/org_employee_terminate.html",
        employee=employee,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, ("date", "reason")),
        running=contract_service.active_contract(session, employee, dt.date.today()),
    ), 422 if errors else 200


# --- contracts --------------------------------------------------------------------------------------

CONTRACT_FIELDS = ("kind", "start_date", "end_date", "wage", "wage_period", "hours_per_week", "notes")
PAY_FIELDS = ("wage", "wage_period")


def _render_contract_form(
    employee: Employee, contract: Contract | None, data: dict[str, str], errors: dict[str, list[str]]
) -> Any:
    session = get_session()
    show_pay = contract is None or can_see_pay(session, employee)
    return render_template(
        "hr/org_contract_form.html",
        employee=employee,
        contract=contract,
        data=data,
        errors=errors,
        general_errors=_general_errors(
            errors, CONTRACT_FIELDS if show_pay else set(CONTRACT_FIELDS) - set(PAY_FIELDS)
        ),
        show_pay=show_pay,
        kinds=CONTRACT_KINDS,
        periods=WAGE_PERIODS,
    ), 422 if errors else 200


@blueprint.route("/employees/<int:employee_id>/contracts/new", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def contract_new(employee_id: int) -> Any:
    """A contract for an employee: kind, dates (no end: open-ended), wage, hours."""
    session = get_session()
    employee = employee_service.get_employee(session, employee_id)
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in CONTRACT_FIELDS}
        try:
            contract_service.create_contract(session, employee, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            employee = employee_service.get_employee(session, employee_id)
            return _render_contract_form(employee, None, data, exc.fields or {"form": [exc.message]})
        flash(_("Contract saved for %(name)s.", name=employee.name), "success")
        return redirect(url_for("hr.employee_detail", employee_id=employee.id))
    latest = contract_service.contracts_of(session, employee)
    start = employee.hire_date
    if latest and latest[0].end_date is not None:
        start = latest[0].end_date + dt.timedelta(days=1)
    data = {
        "kind": "permanent",
        "start_date": start.isoformat(),
        "end_date": "",
        "wage": "",
        "wage_period": "month",
        "hours_per_week": "40",
        "notes": "",
    }
    return _render_contract_form(employee, None, data, {})


@blueprint.route("/contracts/<int:contract_id>/edit", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def contract_edit(contract_id: int) -> Any:
    """Change a contract (its wage only for those who may see it)."""
    session = get_session()
    contract = contract_service.get_contract(session, contract_id)
    show_pay = can_see_pay(session, contract.employee)
    fields = CONTRACT_FIELDS if show_pay else tuple(k for k in CONTRACT_FIELDS if k not in PAY_FIELDS)
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in fields}
        try:
            contract_service.update_contract(session, contract, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            contract = contract_service.get_contract(session, contract_id)
            return _render_contract_form(
                contract.employee, contract, data, exc.fields or {"form": [exc.message]}
            )
        flash(_("Contract saved."), "success")
        return redirect(url_for("hr.employee_detail", employee_id=contract.employee_id))
    data = {
        "kind": contract.kind,
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat() if contract.end_date else "",
        "wage": pages.form_decimal(contract.wage) if show_pay else "",
        "wage_period": contract.wage_period,
        "hours_per_week": pages.form_decimal(contract.hours_per_week),
        "notes": contract.notes,
    }
    return _render_contract_form(contract.employee, contract, data, {})


@blueprint.post("/contracts/<int:contract_id>/delete")
@require_permission("hr.employee.manage")
def contract_delete(contract_id: int) -> Any:
    """Delete a contract that has not started (one that has is ended instead)."""
    session = get_session()
    contract = contract_service.get_contract(session, contract_id)
    employee_id = contract.employee_id
    try:
        contract_service.delete_contract(session, contract)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(_("Contract deleted."), "success")
    return redirect(url_for("hr.employee_detail", employee_id=employee_id))


# --- departments ------------------------------------------------------------------------------------

DEPARTMENT_FIELDS = ("name", "parent_id", "manager_id")


@blueprint.get("/departments")
@require_permission("hr.view")
def departments() -> Any:
    """The department tree with each one's manager and headcount (``inactive=1`` shows retired ones)."""
    session = get_session()
    include_inactive = request.args.get("inactive") == "1"
    tree = org_service.department_tree(session, include_inactive=include_inactive)
    return render_template(
        "hr/org_departments.html",
        nodes=org_service.flatten(tree),
        include_inactive=include_inactive,
        can_manage=_actor_can("hr.employee.manage"),
    )


def _render_department_form(department: Any, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    parents = [
        (d.id, d.name)
        for d in org_service.list_departments(session)
        if department is None or d.id != department.id
    ]
    people = [(p.id, f"{p.name} ({p.number})") for p in _current_people(session)]
    if department is not None:
        _keep(parents, department.parent)
        if department.manager_id is not None and all(v != department.manager_id for v, _label in people):
            manager = session.get(Employee, department.manager_id)
            if manager is not None and manager.company_id == department.company_id:
                people.insert(0, (manager.id, manager.name))
    return render_template(
        "hr/org_department_form.html",
        department=department,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, DEPARTMENT_FIELDS),
        parents=parents,
        people=people,
    ), 422 if errors else 200


@blueprint.route("/departments/new", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def department_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in DEPARTMENT_FIELDS}
        try:
            department = org_service.create_department(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_department_form(None, data, exc.fields or {"form": [exc.message]})
        flash(_("Department “%(name)s” created.", name=department.name), "success")
        return redirect(url_for("hr.departments"))
    data = {key: "" for key in DEPARTMENT_FIELDS}
    data["parent_id"] = request.args.get("parent_id", "")
    return _render_department_form(None, data, {})


@blueprint.route("/departments/<int:department_id>/edit", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def department_edit(department_id: int) -> Any:
    session = get_session()
    department = org_service.get_department(session, department_id)
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in DEPARTMENT_FIELDS}
        try:
            org_service.update_department(session, department, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            department = org_service.get_department(session, department_id)
            return _render_department_form(department, data, exc.fields or {"form": [exc.message]})
        flash(_("Department “%(name)s” saved.", name=department.name), "success")
        return redirect(url_for("hr.departments"))
    data = {
        "name": department.name,
        "parent_id": str(department.parent_id or ""),
        "manager_id": str(department.manager_id or ""),
    }
    return _render_department_form(department, data, {})


@blueprint.post("/departments/<int:department_id>/<any(deactivate, reactivate):action>")
@require_permission("hr.employee.manage")
def department_active(department_id: int, action: str) -> Any:
    """Retire a department with nobody in it, or bring a retired one back."""
    session = get_session()
    department = org_service.get_department(session, department_id)
    change = (
        org_service.deactivate_department if action == "deactivate" else org_service.reactivate_department
    )
    try:
        change(session, department)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        message = (
            _("Department “%(name)s” is retired.", name=department.name)
            if action == "deactivate"
            else _("Department “%(name)s” is active again.", name=department.name)
        )
        flash(message, "success")
    return redirect(url_for("hr.departments", inactive="1" if action == "reactivate" else None))


# --- positions --------------------------------------------------------------------------------------

POSITION_FIELDS = ("name", "department_id", "description")


@blueprint.get("/positions")
@require_permission("hr.view")
def positions() -> Any:
    """Job positions with their department and how many people hold each."""
    session = get_session()
    return render_template(
        "hr/org_positions.html",
        positions=org_service.list_positions(session),
        headcounts=org_service.position_headcounts(session),
        can_manage=_actor_can("hr.employee.manage"),
    )


def _render_position_form(position: Any, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    departments = [(d.id, d.name) for d in org_service.list_departments(session)]
    if position is not None:
        _keep(departments, position.department)
    return render_template(
        "hr/org_position_form.html",
        position=position,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, POSITION_FIELDS),
        departments=departments,
    ), 422 if errors else 200


@blueprint.route("/positions/new", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def position_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in POSITION_FIELDS}
        try:
            position = org_service.create_position(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_position_form(None, data, exc.fields or {"form": [exc.message]})
        flash(_("Position “%(name)s” created.", name=position.name), "success")
        return redirect(url_for("hr.positions"))
    data = {key: "" for key in POSITION_FIELDS}
    data["department_id"] = request.args.get("department_id", "")
    return _render_position_form(None, data, {})


@blueprint.route("/positions/<int:position_id>/edit", methods=["GET", "POST"])
@require_permission("hr.employee.manage")
def position_edit(position_id: int) -> Any:
    session = get_session()
    position = org_service.get_position(session, position_id)
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in POSITION_FIELDS}
        try:
            org_service.update_position(session, position, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            position = org_service.get_position(session, position_id)
            return _render_position_form(position, data, exc.fields or {"form": [exc.message]})
        flash(_("Position “%(name)s” saved.", name=position.name), "success")
        return redirect(url_for("hr.positions"))
    data = {
        "name": position.name,
        "department_id": str(position.department_id or ""),
        "description": position.description,
    }
    return _render_position_form(position, data, {})


# --- org chart and settings -------------------------------------------------------------------------


@blueprint.get("/org-chart")
@require_permission("hr.view")
def org_chart() -> Any:
    """Who reports to whom, as a tree (``department_id`` cuts it to one department)."""
    session = get_session()
    departments = org_service.list_departments(session, include_inactive=True)
    department_id = _int_arg(request.args.get("department_id"))
    department = next((d for d in departments if d.id == department_id), None)
    if department is None and request.args.get("department_id"):
        flash(_("No such department: showing everyone."), "error")
    roots = employee_service.org_chart(session, department_id=department.id if department else None)
    return render_template(
        "hr/org_chart.html",
        roots=roots,
        departments=departments,
        department=department,
        count=_count_nodes(roots),
    )


def _count_nodes(nodes: list[Any]) -> int:
    return sum(1 + _count_nodes(node.reports) for node in nodes)


SETTINGS_LINKS = [
    ("hr.positions", _l("Positions"), _l("Job positions and the department each belongs to.")),
    ("hr.departments", _l("Departments"), _l("The department tree and each department's manager.")),
    ("hr.leave_types", _l("Leave types"), _l("Annual, sick, unpaid leave: allocations and colours.")),
    ("hr.holidays", _l("Holidays"), _l("Public holidays, never counted as leave days.")),
    (
        "hr.payroll_settings",
        _l("Payroll settings"),
        _l("The payroll journal, accounts, deductions and employer contributions."),
    ),
]


@blueprint.get("/settings")
@require_permission("hr.employee.manage")
def settings() -> Any:
    """HR settings: links to the pages that set HR up."""
    links = [
        {"label": label, "help": text, "url": hr_url_if_any(endpoint), "endpoint": endpoint}
        for endpoint, label, text in SETTINGS_LINKS
    ]
    return render_template("hr/org_settings.html", links=links)


# --- dashboard, contact page, search ----------------------------------------------------------------


def widgets(user: Any) -> list[Widget]:
    """Headcount by department (a bar chart) for HR staff."""
    if not has_permission(user, "hr.view"):
        return []
    session = get_session()
    rows = employee_service.headcount_by_department(session)
    labels = [_("No department") if name == "No department" else name for name, _n in rows]
    chart = charts.bar(labels, [n for _name, n in rows], title=_("Headcount by department")) if rows else None
    return [
        Widget(
            _("Headcount by department"),
            render_template(
                "hr/org_widget_headcount.html",
                chart=chart,
                rows=list(zip(labels, [n for _name, n in rows], strict=True)),
                total=sum(n for _name, n in rows),
            ),
            order=40,
        )
    ]


def contact_panel(contact: Any) -> Panel | None:
    """The employee file summary of a contact who is an employee."""
    session = get_session()
    employee = session.scalar(
        employee_service.employees_query(session).where(Employee.contact_id == contact.id)
    )
    if employee is None:
        return None
    return Panel(
        _("Employee file"),
        render_template("hr/org_contact_panel.html", employee=employee),
        order=40,
    )


def search_results(query: str) -> list[SearchResult]:
    """Employees whose name, number or job title matches."""
    session = get_session()
    found = session.scalars(
        employee_service.employees_query(session, q=query[:200]).order_by(Contact.name, Employee.id).limit(10)
    )
    results = []
    for e in found:
        summary = " · ".join(
            part
            for part in (
                e.number,
                e.job_title or (e.position.name if e.position else ""),
                e.department.name if e.department else "",
                str(STATUS_LABELS.get(e.status, e.status)) if e.status != "active" else "",
            )
            if part
        )
        results.append(
            SearchResult(
                title=e.name,
                url=url_for("hr.employee_detail", employee_id=e.id),
                kind="Employee",
                summary=summary,
            )
        )
    return results
