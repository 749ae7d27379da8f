"""Who sees what, swept over every HR page and API read: an employee never reads a colleague's file,
pay, leave or training, and HR staff without payroll access never read a wage or a payslip amount.

Every GET route of HR is called with the ids of Mary's records (her contract, leave, payslip,
training) and ``employee_id`` filters naming her; a response may be a 403/404 or a page without any
of her private values in it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.testing import api_token, login, make_user
from plugins.hr.models import LeaveType, Payslip
from plugins.hr.services import employees, leave, payroll, training

from .test_garbage_input import _paths
from .test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("hr")

# Mary's pay: 4,321.00 a month; net 4,321.00 - 20% tax (864.20) - 8% social security (345.68).
PAY = ("4321.00", "4,321.00", "3111.12", "3,111.12", "864.20", "345.68", "518.52")
SECRETS = ("Dentist, private", "Notes only HR reads", "555-0199")
AREAS = ("org", "leave", "payroll", "training", "me")


@pytest.fixture
def marys(ext, session, people) -> dict[str, int]:
    """Mary's records: a contract, a confirmed payslip, leave with a private reason, a training. She
    reports to Bob, who has a login and no HR permission."""
    bob = employees.create_employee(
        session,
        {"name": "Bob Boss", "hire_date": "2025-01-06", "user_id": make_user(ext, "bob@example.com")},
    )
    employees.update_employee(
        session,
        employees.get_employee(session, people["mary"]),
        {"notes": "Notes only HR reads", "emergency_phone": "555-0199", "manager_id": bob.id},
    )
    contract = add_contract(session, people["mary"], "4321.00")
    add_contract(session, people["eve"], "3000.00")
    annual = session.scalar(select(LeaveType).where(LeaveType.code == "ANNUAL"))
    leave.set_allocation(session, people["mary"], annual.id, 2026, "25")
    request = leave.create_request(
        session,
        {"employee_id": people["mary"], "leave_type_id": annual.id, "start_date": "2026-03-02",
         "end_date": "2026-03-03", "reason": "Dentist, private", "submit": True},
    )  # fmt: skip
    run = payroll.create_run(session, 2026, 1)
    payroll.confirm_run(session, run)
    slip = session.scalar(
        select(Payslip).where(Payslip.run_id == run.id, Payslip.employee_id == people["mary"])
    )
    skill = training.create_skill(session, "Python")
    course = training.create_course(session, {"name": "Python 1"})
    sitting = training.create_session(session, course, {"date": "2026-04-13"})
    attendance = training.register(session, sitting, people["mary"])
    training.set_skill_level(session, employees.get_employee(session, people["mary"]), skill, 4)
    session.commit()
    ids = {
        "employee_id": people["mary"],
        "contract_id": contract.id,
        "department_id": people["engineering"],
        "position_id": 1,
        "request_id": request.id,
        "leave_type_id": annual.id,
        "holiday_id": 1,
        "run_id": run.id,
        "payslip_id": slip.id,
        "line_id": slip.lines[0].id,
        "item_id": 1,
        "opening_id": 1,
        "applicant_id": 1,
        "skill_id": skill.id,
        "course_id": course.id,
        "session_id": sitting.id,
        "attendance_id": attendance.id,
    }
    session.close()
    return ids


def _leaks(app: Any, client: Any, ids: dict[str, int], area: str, private: tuple[str, ...]) -> list[str]:
    """GET every HR page and API read of ``area`` at Mary's ids: what answers with her private values."""
    found = []
    query = {"employee_id": ids["employee_id"], "year": 2026, "month": 1, "format": "csv"}
    for prefix in ("hr.", "hr_api."):
        if prefix == "hr_api." and area == "me":
            continue
        for path, rule in _paths(app, prefix, area, ids):
            if "GET" not in rule.methods:
                continue
            for args in ({}, query):
                response = client.get(path, query_string=args)
                text = response.get_data(as_text=True)
                shown = [value for value in private if value in text]
                if response.status_code < 400 and shown:
                    found.append(f"GET {path} {args}: {response.status_code} shows {shown}")
    return found


class ApiAndPages:
    """One login for the pages and a token for the API, both as the same user."""

    def __init__(self, app: Any, email: str) -> None:
        self.pages = app.test_client()
        assert login(self.pages, email).status_code == 302
        self.headers = {"Authorization": f"Bearer {api_token(self.pages, email)}"}

    def get(self, path: str, **kwargs: Any) -> Any:
        if path.startswith("/api/"):
            return self.pages.get(path, headers=self.headers, **kwargs)
        return self.pages.get(path, **kwargs)


@pytest.mark.parametrize("area", AREAS)
def test_an_employee_reads_nothing_of_a_colleague(app, marys, area):
    eve = ApiAndPages(app, "eve@example.com")
    assert not _leaks(app, eve, marys, area, PAY + SECRETS)


@pytest.mark.parametrize("area", AREAS)
def test_hr_staff_without_payroll_access_read_no_pay(app, ext, make_client, marys, area):
    make_client("viewer@example.com", permissions=("hr.view", "hr.employee.manage", "hr.leave.approve"))
    viewer = ApiAndPages(app, "viewer@example.com")
    assert not _leaks(app, viewer, marys, area, PAY)


@pytest.mark.parametrize("area", AREAS)
def test_a_manager_reads_a_reports_leave_but_not_their_pay_or_file(app, marys, area):
    bob = ApiAndPages(app, "bob@example.com")
    assert not _leaks(app, bob, marys, area, PAY + SECRETS[1:])


def test_the_sweep_sees_what_payroll_staff_may_read(app, marys):
    """The same sweep as an HR manager finds Mary's wage and payslip: it would see a leak."""
    grace = ApiAndPages(app, "grace@example.com")
    assert _leaks(app, grace, marys, "org", PAY)
    assert _leaks(app, grace, marys, "payroll", PAY)
    assert _leaks(app, grace, marys, "leave", SECRETS[:1])
