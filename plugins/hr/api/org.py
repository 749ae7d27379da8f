"""HR API: the organisation — employees, their contracts, departments, positions and the org chart.

Anyone signed in may read their own employee record and contracts; everyone else's need ``hr.view``
(without it they are 404, as if they did not exist). Wages are null unless the caller holds
``hr.payroll.view`` or is the employee.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.plugin_api import (
    any_user,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
)

from ..models import Contract, Department, Employee, Position
from ..schemas.org import (
    ContractCreateSchema,
    ContractPage,
    ContractPatchSchema,
    ContractSchema,
    DepartmentCreateSchema,
    DepartmentPage,
    DepartmentPatchSchema,
    DepartmentQuery,
    DepartmentSchema,
    EmployeeCreateSchema,
    EmployeePage,
    EmployeePatchSchema,
    EmployeeQuery,
    EmployeeSchema,
    OrgChartQuery,
    OrgChartSchema,
    PositionCreateSchema,
    PositionPage,
    PositionPatchSchema,
    PositionSchema,
    TerminateRequest,
)
from ..services import contracts, employees, org
from ..services.common import can
from . import blueprint

# --- employees ------------------------------------------------------------------------------------


def _employee(employee: Employee) -> dict[str, Any]:
    session = get_session()
    return {
        "id": employee.id,
        "number": employee.number,
        "name": employee.name,
        "email": employee.contact.email,
        "phone": employee.contact.phone,
        "contact_id": employee.contact_id,
        "user_id": employee.user_id,
        "department_id": employee.department_id,
        "department": employee.department.name if employee.department else None,
        "position_id": employee.position_id,
        "position": employee.position.name if employee.position else None,
        "manager_id": employee.manager_id,
        "manager_name": employee.manager.name if employee.manager else None,
        "job_title": employee.job_title,
        "hire_date": employee.hire_date,
        "termination_date": employee.termination_date,
        "status": employee.status,
        "emergency_name": employee.emergency_name,
        "emergency_phone": employee.emergency_phone,
        # HR's notes (a termination reason among them) are for HR staff.
        "notes": employee.notes if can(session, "hr.view") else None,
        "created_at": employee.created_at,
        "updated_at": employee.updated_at,
    }


@blueprint.route("/employees", methods=["GET"])
@blueprint.arguments(EmployeeQuery, location="query")
@blueprint.response(200, EmployeePage)
@require_permission("hr.view")
def employees_list(args: dict[str, Any]) -> dict[str, Any]:
    """Employees by keyset, by name (``sort``: name, number, hire_date; ``-`` for descending);
    ``q`` matches the name, number and job title; ``department_id`` and ``status`` (active,
    on_leave, terminated, or current: everyone but the terminated) filter."""
    sort, descending = api_sort(args["sort"], employees.EMPLOYEE_SORTS, "name")
    page = employees.list_employees(
        get_session(),
        q=args["q"],
        department_id=args["department_id"],
        status=args["status"],
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=employees.EMPLOYEE_SORTS[sort]),
        limit=args["limit"],
    )
    return api_page(page, _employee)


@blueprint.route("/employees", methods=["POST"])
@blueprint.arguments(EmployeeCreateSchema)
@blueprint.response(201, EmployeeSchema)
@require_permission("hr.employee.manage")
def employees_create(data: dict[str, Any]) -> dict[str, Any]:
    """Hire someone: an existing person contact (``contact_id``) or a new one (``name``, ``email``,
    ``phone``), from ``hire_date``; numbered EMP-00001... unless ``number`` is given."""
    employee = employees.create_employee(get_session(), data)
    api_commit()
    return _employee(employee)


@blueprint.route("/employees/<int:employee_id>", methods=["GET"])
@blueprint.response(200, EmployeeSchema)
@any_user
def employees_get(employee_id: int) -> dict[str, Any]:
    """An employee: anyone's with ``hr.view``, otherwise only the caller's own (others are 404)."""
    return _employee(employees.get_employee(get_session(), employee_id))


@blueprint.route("/employees/<int:employee_id>", methods=["PATCH"])
@blueprint.arguments(EmployeePatchSchema)
@blueprint.response(200, EmployeeSchema)
@require_permission("hr.employee.manage")
def employees_update(data: dict[str, Any], employee_id: int) -> dict[str, Any]:
    """Change the HR file (a manager that would make a loop is 422 on ``manager_id``)."""
    session = get_session()
    employee = employees.update_employee(session, employees.get_employee(session, employee_id), data)
    api_commit()
    return _employee(employee)


@blueprint.route("/employees/<int:employee_id>/terminate", methods=["POST"])
@blueprint.arguments(TerminateRequest)
@blueprint.response(200, EmployeeSchema)
@require_permission("hr.employee.manage")
def employees_terminate(data: dict[str, Any], employee_id: int) -> dict[str, Any]:
    """End the employment on ``date``: the running contract ends that day, later ones are deleted,
    and the employee's reports move up to their manager."""
    session = get_session()
    employee = employees.terminate_employee(
        session, employees.get_employee(session, employee_id), date=data["date"], reason=data["reason"]
    )
    api_commit()
    return _employee(employee)


# --- contracts ------------------------------------------------------------------------------------


def _contract(contract: Contract) -> dict[str, Any]:
    session = get_session()
    show_pay = contracts.can_see_wage(session, contract.employee)
    today = dt.date.today()
    return {
        "id": contract.id,
        "employee_id": contract.employee_id,
        "employee_name": contract.employee.name,
        "kind": contract.kind,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "wage": contract.wage if show_pay else None,
        "wage_period": contract.wage_period if show_pay else None,
        "hours_per_week": contract.hours_per_week,
        "notes": contract.notes,
        "running": contract.start_date <= today and (contract.end_date is None or contract.end_date >= today),
        "created_at": contract.created_at,
        "updated_at": contract.updated_at,
    }


@blueprint.route("/employees/<int:employee_id>/contracts", methods=["GET"])
@blueprint.response(200, ContractPage)
@any_user
def employee_contracts_list(employee_id: int) -> dict[str, Any]:
    """An employee's contracts, the latest first (the caller's own, or anyone's with ``hr.view``)."""
    session = get_session()
    items = contracts.contracts_of(session, employees.get_employee(session, employee_id))
    return {"items": [_contract(c) for c in items], "next_cursor": None}


@blueprint.route("/employees/<int:employee_id>/contracts", methods=["POST"])
@blueprint.arguments(ContractCreateSchema)
@blueprint.response(201, ContractSchema)
@require_permission("hr.employee.manage")
def employee_contracts_create(data: dict[str, Any], employee_id: int) -> dict[str, Any]:
    """A contract from ``start_date`` (not before the hire date) to ``end_date`` (null: open-ended;
    required for fixed_term), ``wage`` > 0 per ``wage_period``. One that shares a day with another
    contract of the employee is 422 on ``start_date``, naming the other's dates."""
    session = get_session()
    contract = contracts.create_contract(session, employees.get_employee(session, employee_id), data)
    api_commit()
    return _contract(contract)


@blueprint.route("/contracts/<int:contract_id>", methods=["GET"])
@blueprint.response(200, ContractSchema)
@any_user
def contracts_get(contract_id: int) -> dict[str, Any]:
    return _contract(contracts.get_contract(get_session(), contract_id))


@blueprint.route("/contracts/<int:contract_id>", methods=["PATCH"])
@blueprint.arguments(ContractPatchSchema)
@blueprint.response(200, ContractSchema)
@require_permission("hr.employee.manage")
def contracts_update(data: dict[str, Any], contract_id: int) -> dict[str, Any]:
    """Change a contract (to end one, set its ``end_date``); the rules of a new contract apply."""
    session = get_session()
    contract = contracts.update_contract(session, contracts.get_contract(session, contract_id), data)
    api_commit()
    return _contract(contract)


@blueprint.route("/contracts/<int:contract_id>", methods=["DELETE"])
@blueprint.response(204)
@require_permission("hr.employee.manage")
def contracts_delete(contract_id: int) -> None:
    """Delete a contract that has not started and was never paid; one that has started is 409 (end
    it instead)."""
    session = get_session()
    contracts.delete_contract(session, contracts.get_contract(session, contract_id))
    api_commit()


# --- departments ----------------------------------------------------------------------------------


def _department(department: Department, headcount: int | None = None) -> dict[str, Any]:
    session = get_session()
    manager = session.get(Employee, department.manager_id) if department.manager_id else None
    return {
        "id": department.id,
        "name": department.name,
        "parent_id": department.parent_id,
        "parent": department.parent.name if department.parent else None,
        "manager_id": department.manager_id,
        "manager_name": manager.name if manager is not None else None,
        "active": department.active,
        "headcount": org.current_headcount(session, department) if headcount is None else headcount,
    }


@blueprint.route("/departments", methods=["GET"])
@blueprint.arguments(DepartmentQuery, location="query")
@blueprint.response(200, DepartmentPage)
@require_permission("hr.view")
def departments_list(args: dict[str, Any]) -> dict[str, Any]:
    """Every department (the active ones unless ``include_inactive``), in tree order: each followed
    by its sub-departments."""
    nodes = org.flatten(org.department_tree(get_session(), include_inactive=args["include_inactive"]))
    return {"items": [_department(n.department, n.headcount) for n in nodes], "next_cursor": None}


@blueprint.route("/departments", methods=["POST"])
@blueprint.arguments(DepartmentCreateSchema)
@blueprint.response(201, DepartmentSchema)
@require_permission("hr.employee.manage")
def departments_create(data: dict[str, Any]) -> dict[str, Any]:
    """A department (``name`` unique in the company), under ``parent_id``, managed by ``manager_id``."""
    department = org.create_department(get_session(), data)
    api_commit()
    return _department(department)


@blueprint.route("/departments/<int:department_id>", methods=["GET"])
@blueprint.response(200, DepartmentSchema)
@require_permission("hr.view")
def departments_get(department_id: int) -> dict[str, Any]:
    return _department(org.get_department(get_session(), department_id))


@blueprint.route("/departments/<int:department_id>", methods=["PATCH"])
@blueprint.arguments(DepartmentPatchSchema)
@blueprint.response(200, DepartmentSchema)
@require_permission("hr.employee.manage")
def departments_update(data: dict[str, Any], department_id: int) -> dict[str, Any]:
    """Rename, move (a parent below the department is 422 on ``parent_id``), change the manager;
    ``active`` false retires it, true brings it back."""
    session = get_session()
    department = org.get_department(session, department_id)
    active = data.pop("active", None)
    if data:
        org.update_department(session, department, data)
    if active is False and department.active:
        org.deactivate_department(session, department)
    elif active is True and not department.active:
        org.reactivate_department(session, department)
    api_commit()
    return _department(department)


# --- positions ------------------------------------------------------------------------------------


def _position(position: Position, headcounts: dict[int, int]) -> dict[str, Any]:
    return {
        "id": position.id,
        "name": position.name,
        "department_id": position.department_id,
        "department": position.department.name if position.department else None,
        "description": position.description,
        "headcount": headcounts.get(position.id, 0),
    }


@blueprint.route("/positions", methods=["GET"])
@blueprint.response(200, PositionPage)
@require_permission("hr.view")
def positions_list() -> dict[str, Any]:
    """Every position, by name."""
    session = get_session()
    headcounts = org.position_headcounts(session)
    return {"items": [_position(p, headcounts) for p in org.list_positions(session)], "next_cursor": None}


@blueprint.route("/positions", methods=["POST"])
@blueprint.arguments(PositionCreateSchema)
@blueprint.response(201, PositionSchema)
@require_permission("hr.employee.manage")
def positions_create(data: dict[str, Any]) -> dict[str, Any]:
    """A job position (``name`` unique in the company), optionally in a department."""
    session = get_session()
    position = org.create_position(session, data)
    api_commit()
    return _position(position, org.position_headcounts(session))


@blueprint.route("/positions/<int:position_id>", methods=["PATCH"])
@blueprint.arguments(PositionPatchSchema)
@blueprint.response(200, PositionSchema)
@require_permission("hr.employee.manage")
def positions_update(data: dict[str, Any], position_id: int) -> dict[str, Any]:
    session = get_session()
    position = org.update_position(session, org.get_position(session, position_id), data)
    api_commit()
    return _position(position, org.position_headcounts(session))


# --- the org chart --------------------------------------------------------------------------------


def _node(node: employees.OrgNode) -> dict[str, Any]:
    e = node.employee
    return {
        "id": e.id,
        "number": e.number,
        "name": e.name,
        "job_title": e.job_title,
        "position": e.position.name if e.position else None,
        "department": e.department.name if e.department else None,
        "reports": [_node(child) for child in node.reports],
    }


@blueprint.route("/org-chart", methods=["GET"])
@blueprint.arguments(OrgChartQuery, location="query")
@blueprint.response(200, OrgChartSchema)
@require_permission("hr.view")
def org_chart_get(args: dict[str, Any]) -> dict[str, Any]:
    """Current employees as manager trees: the roots have no current manager, each node's
    ``reports`` are the people reporting to them. ``department_id`` cuts the trees to one department."""
    session = get_session()
    department_id = args["department_id"]
    if department_id is not None:
        department_id = org.get_department(session, department_id).id
    return {
        "items": [_node(n) for n in employees.org_chart(session, department_id=department_id)],
        "next_cursor": None,
    }
