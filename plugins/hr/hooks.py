"""HR's hook implementations: what it brings to the platform."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from core.plugin_api import (
    Conflict,
    MenuItem,
    Panel,
    SearchResult,
    Widget,
    company_id_of,
    get_session,
    has_permission,
    hookimpl,
)

from .models import Applicant, Employee

PERMISSIONS = [
    ("hr.view", "See employees, departments, the org chart, leave, training and the team calendar"),
    (
        "hr.employee.manage",
        "Manage employees, departments, contracts, leave types, holidays, training",
    ),
    ("hr.leave.approve", "Approve or refuse anyone's leave request (HR manager)"),
    ("hr.payroll.run", "Compute, adjust and confirm payroll runs; payroll settings"),
    ("hr.payroll.view", "See salaries, contracts' wages and every payslip"),
    ("hr.recruitment.manage", "Manage job openings and applicants; hire"),
]


@hookimpl
def officium_permissions() -> list[tuple[str, str]]:
    return PERMISSIONS


@hookimpl
def officium_blueprints() -> list[Any]:
    from .api import blueprint as api_blueprint
    from .views import blueprint

    return [blueprint, api_blueprint]


@hookimpl
def officium_cli(cli: Any) -> None:
    from .cli import hr

    cli.add_command(hr)


@hookimpl
def officium_extensible_models() -> list[Any]:
    return [Employee, Applicant]


@hookimpl
def officium_plugin_enabled(session: Any) -> None:
    """Leave types (annual, sick, unpaid), payroll items, payroll accounts and journal, HR roles."""
    from .services.setup import install_defaults

    install_defaults(session)


@hookimpl
def officium_menu_items(user: Any) -> list[MenuItem]:
    items = [
        MenuItem("Employees", "hr.employees", "hr.view", order=40, section="HR"),
        MenuItem("Org chart", "hr.org_chart", "hr.view", order=41, section="HR"),
        MenuItem("Departments", "hr.departments", "hr.view", order=42, section="HR"),
        MenuItem("Leave", "hr.leave_requests", "hr.view", order=43, section="HR"),
        MenuItem("Team calendar", "hr.team_calendar", "hr.view", order=44, section="HR"),
        MenuItem("Payroll", "hr.payroll_runs", "hr.payroll.view", order=45, section="HR"),
        MenuItem("Recruitment", "hr.applicants", "hr.recruitment.manage", order=46, section="HR"),
        MenuItem("Training", "hr.courses", "hr.view", order=47, section="HR"),
        MenuItem("Skills matrix", "hr.skills_matrix", "hr.view", order=48, section="HR"),
        MenuItem("HR settings", "hr.settings", "hr.employee.manage", order=49, section="HR"),
    ]
    if _has_employee_file(user) or has_permission(user, "hr.leave.approve"):
        # Self-service: an employee's own file, leave and payslips, and the requests they approve.
        items.insert(0, MenuItem("My HR", "hr.me", None, order=39, section="HR"))
    return items


def _has_employee_file(user: Any) -> bool:
    session = get_session()
    return (
        session.scalar(
            select(Employee.id).where(
                Employee.company_id == company_id_of(session), Employee.user_id == getattr(user, "id", None)
            )
        )
        is not None
    )


@hookimpl
def officium_dashboard_widgets(user: Any) -> list[Widget]:
    from .views import dashboard_widgets

    return dashboard_widgets(user)


@hookimpl
def officium_contact_panels(contact: Any, user: Any) -> list[Panel]:
    if not has_permission(user, "hr.view"):
        return []
    from .views import contact_panel

    panel = contact_panel(contact)
    return [panel] if panel is not None else []


@hookimpl
def officium_search(query: str, user: Any) -> list[SearchResult]:
    if not has_permission(user, "hr.view") or len(query) < 2:
        return []
    from .views import search_results

    return search_results(query)


@hookimpl
def officium_contacts_merged(source_id: int, target_id: int, session: Any) -> None:
    files = set(
        session.scalars(select(Employee.contact_id).where(Employee.contact_id.in_((source_id, target_id))))
    )
    if files == {source_id, target_id}:
        # One person, one employee file: merging two files (contracts, payslips) is HR's call.
        raise Conflict("both contacts have an employee file; terminate or relink one of them first")
    session.execute(
        update(Employee)
        .where(Employee.contact_id == source_id)
        .values(contact_id=target_id)
        .execution_options(synchronize_session=False)
    )


DUTY_ACTIONS = [
    ("hr.payroll.confirm", "Confirm a payroll run (posts it to the ledger)"),
    ("hr.leave.approve", "Approve a leave request"),
]


@hookimpl
def officium_duty_actions() -> list[tuple[str, str]]:
    """The actions segregation-of-duties rules may name; the services check them before acting."""
    return DUTY_ACTIONS


@hookimpl
def officium_personal_data(contact: Any, session: Any) -> dict[str, Any]:
    """The person's employee file (contracts, leave, payslips summary...) and job applications."""
    from .services.privacy import personal_data

    return personal_data(session, contact)


@hookimpl
def officium_personal_data_retained(contact: Any, session: Any) -> list[str]:
    """An employee with contracts or payslips: employment and payroll records are kept."""
    from .services.privacy import retained

    return retained(session, contact)


@hookimpl
def officium_erase_personal_data(contact: Any, session: Any, anonymize: bool) -> list[str]:
    """Blank the employee file's personal fields and the applications, or delete them."""
    from .services.privacy import erase

    return erase(session, contact, anonymize=anonymize)
