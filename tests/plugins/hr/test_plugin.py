"""HR as a department a company switches on and off: set-up, menus, pages, API, data kept; the
employee-hired moment; self-service's "My HR" page."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.plugin_api import Account, Journal, Role, hookimpl
from core.testing import login, run_cli
from plugins.hr.models import Department, Employee, LeaveType, PayrollItem
from plugins.hr.services import employees
from tests.core.web_helpers import menu_labels, visible

pytestmark = pytest.mark.plugins("hr")


def test_enabling_hr_sets_up_leave_types_payroll_accounts_and_roles_once(ext, session, runner):
    assert set(session.scalars(select(LeaveType.code))) == {"ANNUAL", "SICK", "UNPAID"}
    assert set(session.scalars(select(PayrollItem.code))) == {"TAX", "SS_EE", "SS_ER"}
    assert {"2300", "2310", "2320", "6200", "6210"} <= set(session.scalars(select(Account.code)))
    assert "PAY" in set(session.scalars(select(Journal.code)))
    assert {"HR manager", "Payroll officer"} <= set(session.scalars(select(Role.name)))
    session.close()

    result = run_cli(runner, "hr", "setup")
    assert result.exit_code == 0 and "nothing to create" in result.output
    with ext.db.session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(LeaveType)) == 3


def test_disabling_hr_hides_its_pages_menus_and_api_and_keeps_its_data(ext, admin_client, admin_api, people):
    eve = people["eve"]
    assert "Employees" in menu_labels(admin_client.get("/"))
    assert admin_client.get(f"/hr/employees/{eve}").status_code == 200
    assert f"/hr/employees/{eve}" in admin_client.get("/search?q=Eve").get_data(as_text=True)

    assert ext.plugins.disable(ext.db, ["hr"]) == ["hr"]
    assert "Employees" not in menu_labels(admin_client.get("/"))
    assert admin_client.get(f"/hr/employees/{eve}").status_code == 404
    assert admin_client.get("/hr/me").status_code == 404
    assert admin_api.get(f"/api/v1/hr/employees/{eve}").status_code == 404
    assert f"/hr/employees/{eve}" not in admin_client.get("/search?q=Eve").get_data(as_text=True)
    with ext.db.session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(Employee)) == 2

    assert ext.plugins.enable(ext.db, ["hr"]) == ["hr"]
    assert "Eve Employee" in visible(admin_client.get(f"/hr/employees/{eve}"))


class HireWatcher:
    """A stand-in for another department that answers the employee-hired moment."""

    def __init__(self) -> None:
        self.hired: list[tuple[str, str]] = []

    @hookimpl
    def officium_employee_hired(self, employee, session):
        self.hired.append((employee.number, employee.contact.name))


def test_every_new_employee_is_announced_to_the_other_departments(ext, session):
    watcher = HireWatcher()
    ext.plugins.pm.register(watcher, name="hire-watcher")
    try:
        employees.create_employee(session, {"name": "Ada Lovelace", "hire_date": "2026-01-05"})
        session.commit()
    finally:
        ext.plugins.pm.unregister(name="hire-watcher")
    assert watcher.hired == [("EMP-00001", "Ada Lovelace")]


def test_a_failing_answer_to_the_hire_rolls_the_hire_back(ext, session):
    class Refuser:
        @hookimpl
        def officium_employee_hired(self, employee, session):
            raise RuntimeError("payroll system unreachable")

    ext.plugins.pm.register(Refuser(), name="refuser")
    try:
        with pytest.raises(RuntimeError):
            employees.create_employee(session, {"name": "Ada Lovelace", "hire_date": "2026-01-05"})
        session.rollback()
    finally:
        ext.plugins.pm.unregister(name="refuser")
    assert session.scalar(select(func.count()).select_from(Employee)) == 0


def test_terminating_a_manager_hands_their_people_and_department_to_their_own_manager(
    session, make_employee, engineering
):
    boss = make_employee(name="Boss")
    lead = make_employee(name="Lead", manager_id=boss.id)
    dev = make_employee(name="Dev", manager_id=lead.id)
    engineering.manager_id = lead.id
    session.commit()
    employees.terminate_employee(session, lead, date="2026-03-31", reason="moved abroad")
    session.commit()
    assert session.get(Employee, dev.id).manager_id == boss.id
    assert session.get(Department, engineering.id).manager_id == boss.id
    assert session.get(Employee, lead.id).status == "terminated"


# --- My HR (self-service) ---------------------------------------------------------------------------


def client_of(app, email: str):
    """A logged-in browser for a user the ``people`` fixture made."""
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def test_my_hr_shows_the_employee_their_own_file_and_no_approvals(app, people):
    eve = client_of(app, "eve@example.com")
    response = eve.get("/hr/me")
    assert response.status_code == 200
    text = visible(response)
    assert "Eve Employee" in text and "EMP-00002" in text
    assert "Mary Manager" in text  # her manager
    assert "My payslips" in text and "Leave balance" in text
    assert "Leave to approve" not in text
    assert "My HR" in menu_labels(eve.get("/"))
    assert "Employees" not in menu_labels(eve.get("/"))  # no hr.view: no staff pages


def test_a_user_without_an_employee_file_is_told_so(make_client):
    stranger = make_client("stranger@example.com")
    assert "My HR" not in menu_labels(stranger.get("/"))
    assert "You have no employee file" in visible(stranger.get("/hr/me"))
