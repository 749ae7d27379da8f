"""The organisation: departments (a tree, each with a manager) and job positions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import Conflict, company_id_of, emit, require_permission, validation

from ..models import Department, Employee, Position
from .common import find_record, get_record

NAME_LIMIT = 100
DESCRIPTION_LIMIT = 10_000


# --- departments ----------------------------------------------------------------------------------


@require_permission("hr.view")
def get_department(session: Session, department_id: Any) -> Department:
    """A department of the company, else :class:`NotFound`."""
    return get_record(session, Department, department_id, "department")


@require_permission("hr.view")
def list_departments(session: Session, *, include_inactive: bool = False) -> list[Department]:
    """The company's departments by name (active ones only unless ``include_inactive``)."""
    stmt = select(Department).where(Department.company_id == company_id_of(session))
    if not include_inactive:
        stmt = stmt.where(Department.active.is_(True))
    return list(session.scalars(stmt.order_by(func.lower(Department.name), Department.id)))


def _unique_name(
    session: Session, model: type[Department] | type[Position], name: str, own_id: int | None
) -> bool:
    """Whether no other record of ``model`` in the company has ``name`` (case aside)."""
    # Compared here, not with SQL lower(): SQLite's leaves non-ASCII letters ("É") as they are.
    others = session.scalars(
        select(model.name).where(
            model.company_id == company_id_of(session), model.id != (own_id if own_id is not None else -1)
        )
    )
    return all(other.casefold() != name.casefold() for other in others)


def _check_parent(department: Department | None, parent: Department, errors: dict[str, list[str]]) -> None:
    """A parent must be another, active department that is not below this one."""
    if department is not None and department.id is not None:
        seen: set[int] = set()
        current: Department | None = parent
        while current is not None and current.id not in seen:
            if current.id == department.id:
                errors["parent_id"] = (
                    ["a department cannot be its own parent"]
                    if parent.id == department.id
                    else ["would make a loop: that department is below this one"]
                )
                return
            seen.add(current.id)
            current = current.parent
    if not parent.active and (department is None or department.parent_id != parent.id):
        errors["parent_id"] = ["that department is inactive"]


def _clean_department(
    session: Session, data: Mapping[str, Any], department: Department | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if department is None or "name" in data:
        name = validation.parse_text(data.get("name"), "name", errors, limit=NAME_LIMIT, required=True)
        if name and "name" not in errors and not _unique_name(session, Department, name, _id(department)):
            errors["name"] = ["another department has this name"]
        values["name"] = name
    if "parent_id" in data:
        parent = find_record(session, Department, data["parent_id"], "parent_id", errors, "department")
        if parent is not None:
            _check_parent(department, parent, errors)
        values["parent_id"] = parent.id if parent else None
    if "manager_id" in data:
        # No foreign key here (see the model): the rule that it is a current employee is this one.
        manager = find_record(session, Employee, data["manager_id"], "manager_id", errors, "employee")
        keeps = department is not None and manager is not None and department.manager_id == manager.id
        if manager is not None and manager.status == "terminated" and not keeps:
            errors["manager_id"] = ["that employee has left the company"]
        values["manager_id"] = manager.id if manager else None
    return values


def _id(record: Any) -> int | None:
    return getattr(record, "id", None)


@require_permission("hr.employee.manage")
def create_department(session: Session, data: Mapping[str, Any]) -> Department:
    """A department: ``name`` (unique in the company), optional ``parent_id`` (a department) and
    ``manager_id`` (an employee)."""
    errors: dict[str, list[str]] = {}
    values = _clean_department(session, data, None, errors)
    validation.raise_if(errors, "invalid department")
    department = Department(company_id=company_id_of(session), active=True, **values)
    session.add(department)
    session.flush()
    emit(session, "hr.department.created", {"id": department.id, "name": department.name})
    return department


@require_permission("hr.employee.manage")
def update_department(session: Session, department: Department, data: Mapping[str, Any]) -> Department:
    """Rename a department, move it under another one (never below itself) or change its manager."""
    validation.lock_row(session, department)
    errors: dict[str, list[str]] = {}
    values = _clean_department(session, data, department, errors)
    validation.raise_if(errors, "invalid department")
    for key, value in values.items():
        setattr(department, key, value)
    session.flush()
    emit(session, "hr.department.updated", {"id": department.id, "fields": sorted(values)})
    return department


def current_headcount(session: Session, department: Department) -> int:
    """Employees of the department who have not left."""
    return (
        session.scalar(
            select(func.count(Employee.id)).where(
                Employee.department_id == department.id, Employee.status != "terminated"
            )
        )
        or 0
    )


@require_permission("hr.employee.manage")
def deactivate_department(session: Session, department: Department) -> Department:
    """Retire a department: it keeps its history but takes no new employees or sub-departments.

    Refused (409) while current employees or active sub-departments are in it: move them first.
    """
    validation.lock_row(session, department)
    if not department.active:
        raise Conflict(f"department {department.name} is already inactive", fields={"active": ["inactive"]})
    people = current_headcount(session, department)
    if people:
        raise Conflict(
            f"{people} employee(s) are in {department.name}: move them to another department first",
            fields={"department": ["has employees"]},
        )
    children = session.scalar(
        select(func.count(Department.id)).where(
            Department.parent_id == department.id, Department.active.is_(True)
        )
    )
    if children:
        raise Conflict(
            f"{department.name} has {children} active sub-department(s): move or retire them first",
            fields={"department": ["has active sub-departments"]},
        )
    department.active = False
    session.flush()
    emit(session, "hr.department.deactivated", {"id": department.id})
    return department


@require_permission("hr.employee.manage")
def reactivate_department(session: Session, department: Department) -> Department:
    """Bring a retired department back (its parent must be active)."""
    validation.lock_row(session, department)
    if department.active:
        raise Conflict(f"department {department.name} is active", fields={"active": ["active"]})
    if department.parent is not None and not department.parent.active:
        raise Conflict(
            f"its parent {department.parent.name} is inactive: reactivate that one first",
            fields={"parent_id": ["is inactive"]},
        )
    department.active = True
    session.flush()
    emit(session, "hr.department.reactivated", {"id": department.id})
    return department


@dataclass
class DepartmentNode:
    """A department in the tree: its depth, manager, current headcount and sub-departments."""

    department: Department
    manager: Employee | None = None
    headcount: int = 0
    depth: int = 0
    children: list[DepartmentNode] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Headcount including every sub-department."""
        return self.headcount + sum(child.total for child in self.children)


@require_permission("hr.view")
def department_tree(session: Session, *, include_inactive: bool = False) -> list[DepartmentNode]:
    """The departments as trees (roots by name, children by name), each with its manager and its
    current headcount. A department whose parent is left out (inactive) shows as a root."""
    company_id = company_id_of(session)
    departments = list_departments(session, include_inactive=include_inactive)
    counts = dict(
        session.execute(
            select(Employee.department_id, func.count(Employee.id))
            .where(Employee.company_id == company_id, Employee.status != "terminated")
            .group_by(Employee.department_id)
        ).all()
    )
    manager_ids = {d.manager_id for d in departments if d.manager_id is not None}
    managers = (
        {
            e.id: e
            for e in session.scalars(
                select(Employee).where(Employee.company_id == company_id, Employee.id.in_(manager_ids))
            )
        }
        if manager_ids
        else {}
    )
    nodes = {
        d.id: DepartmentNode(d, managers.get(d.manager_id or 0), counts.get(d.id, 0)) for d in departments
    }
    roots: list[DepartmentNode] = []
    for department in departments:
        parent = nodes.get(department.parent_id) if department.parent_id else None
        (parent.children if parent is not None else roots).append(nodes[department.id])

    def set_depth(items: list[DepartmentNode], depth: int) -> None:
        for node in items:
            node.depth = depth
            set_depth(node.children, depth + 1)

    set_depth(roots, 0)
    return roots


def flatten(tree: list[DepartmentNode]) -> list[DepartmentNode]:
    """The nodes of ``tree`` in display order (each followed by its sub-departments)."""
    out: list[DepartmentNode] = []
    for node in tree:
        out.append(node)
        out.extend(flatten(node.children))
    return out


# --- positions ------------------------------------------------------------------------------------


@require_permission("hr.view")
def get_position(session: Session, position_id: Any) -> Position:
    """A position of the company, else :class:`NotFound`."""
    return get_record(session, Position, position_id, "position")


@require_permission("hr.view")
def list_positions(session: Session, *, department_id: int | None = None) -> list[Position]:
    """The company's positions by name (those of ``department_id`` only, when given)."""
    stmt = select(Position).where(Position.company_id == company_id_of(session))
    if department_id is not None:
        stmt = stmt.where(Position.department_id == department_id)
    return list(session.scalars(stmt.order_by(func.lower(Position.name), Position.id)))


def position_headcounts(session: Session) -> dict[int, int]:
    """Current employees per position id."""
    return dict(
        session.execute(
            select(Employee.position_id, func.count(Employee.id))
            .where(
                Employee.company_id == company_id_of(session),
                Employee.status != "terminated",
                Employee.position_id.is_not(None),
            )
            .group_by(Employee.position_id)
        ).all()
    )


def _clean_position(
    session: Session, data: Mapping[str, Any], position: Position | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if position is None or "name" in data:
        name = validation.parse_text(data.get("name"), "name", errors, limit=NAME_LIMIT, required=True)
        if name and "name" not in errors and not _unique_name(session, Position, name, _id(position)):
            errors["name"] = ["another position has this name"]
        values["name"] = name
    if "department_id" in data:
        department = find_record(session, Department, data["department_id"], "department_id", errors)
        keeps = position is not None and department is not None and position.department_id == department.id
        if department is not None and not department.active and not keeps:
            errors["department_id"] = ["that department is inactive"]
        values["department_id"] = department.id if department else None
    if "description" in data:
        values["description"] = validation.parse_text(
            data["description"], "description", errors, limit=DESCRIPTION_LIMIT
        )
    return values


@require_permission("hr.employee.manage")
def create_position(session: Session, data: Mapping[str, Any]) -> Position:
    """A job position: ``name`` (unique in the company), optional ``department_id``, ``description``."""
    errors: dict[str, list[str]] = {}
    values = _clean_position(session, data, None, errors)
    validation.raise_if(errors, "invalid position")
    position = Position(company_id=company_id_of(session), **values)
    session.add(position)
    session.flush()
    emit(session, "hr.position.created", {"id": position.id, "name": position.name})
    return position


@require_permission("hr.employee.manage")
def update_position(session: Session, position: Position, data: Mapping[str, Any]) -> Position:
    """Change the fields of a position given in ``data``."""
    validation.lock_row(session, position)
    errors: dict[str, list[str]] = {}
    values = _clean_position(session, data, position, errors)
    validation.raise_if(errors, "invalid position")
    for key, value in values.items():
        setattr(position, key, value)
    session.flush()
    emit(session, "hr.position.updated", {"id": position.id, "fields": sorted(values)})
    return position


__all__ = [
    "DepartmentNode",
    "create_department",
    "create_position",
    "current_headcount",
    "deactivate_department",
    "department_tree",
    "flatten",
    "get_department",
    "get_position",
    "list_departments",
    "list_positions",
    "position_headcounts",
    "reactivate_department",
    "update_department",
    "update_position",
]
