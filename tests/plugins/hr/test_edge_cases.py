"""Edge cases a user met, each as they met it: a crash, a value the database refused, a
colleague's pay read by linking one's own login to their file, a payslip losing its contract, an
employee not told their leave was cancelled; and payroll confirmed twice at once posts once."""

from __future__ import annotations

import html
import re
import threading

import pytest
from sqlalchemy import select

from core.context import set_company
from core.errors import Conflict
from core.models import JournalEntry, Notification, User
from plugins.hr.models import Contract, Employee, LeaveType, PayrollRun, Payslip
from plugins.hr.services import leave, payroll
from plugins.hr.views import payroll as payroll_views
from tests.core.web_helpers import count, fetch, field_error, submit, visible

from .test_leave_services import acting, allocate, ask, messages_of
from .test_payroll_services import add_contract
from .test_payroll_views import client_for, compute, confirm

pytestmark = pytest.mark.plugins("hr")


def test_an_automatic_employee_number_skips_one_given_by_hand(admin_api, people):
    # Mary and Eve are EMP-00001 and EMP-00002; the next automatic number was taken by hand.
    given = admin_api.post(
        "/api/v1/hr/employees", json={"name": "Gia", "hire_date": "2025-01-06", "number": "EMP-00003"}
    )
    assert (given.status_code, given.json["number"]) == (201, "EMP-00003")
    hired = admin_api.post("/api/v1/hr/employees", json={"name": "Hal", "hire_date": "2025-01-06"})
    assert (hired.status_code, hired.json["number"]) == (201, "EMP-00004")


def test_a_leave_type_code_that_grows_when_capitalised_is_refused(admin_api, ext, people):
    before = count(ext, LeaveType)
    response = admin_api.post("/api/v1/hr/leave-types", json={"code": "ß" * 20, "name": "Eszett"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"code": ["letters, digits, - and _ only (e.g. ANNUAL)"]}
    assert count(ext, LeaveType) == before
    made = admin_api.post("/api/v1/hr/leave-types", json={"code": "study-2", "name": "Study"})
    assert (made.status_code, made.json["code"]) == (201, "STUDY-2")


def test_a_name_taken_with_an_accented_capital_is_a_field_message(app, admin_api, ext, people):
    hr = client_for(app, "grace@example.com")
    assert submit(hr, "/hr/departments/new", {"name": "Économie"}).status_code == 302
    again = submit(hr, "/hr/departments/new", {"name": "économie"})
    assert again.status_code == 422
    assert field_error(again, "name") == "another department has this name"
    for path, field in (("positions", "name"), ("skills", "name"), ("courses", "name")):
        assert admin_api.post(f"/api/v1/hr/{path}", json={field: "Öffentlichkeit"}).status_code == 201
        refused = admin_api.post(f"/api/v1/hr/{path}", json={field: "Öffentlichkeit"})
        assert refused.status_code == 422, path
        assert refused.json["error"]["fields"] == {field: [f"another {path[:-1]} has this name"]}


def test_a_payroll_run_longer_than_a_page_is_shown_a_page_at_a_time(app, ext, session, people, monkeypatch):
    add_contract(session, people["eve"], "3000.00")
    add_contract(session, people["mary"], "4000.00")
    session.close()
    run_id = compute(ext)
    monkeypatch.setattr(payroll_views, "PAYSLIP_PAGE", 1)
    hr = client_for(app, "grace@example.com")
    first = hr.get(f"/hr/payroll/{run_id}")
    assert first.status_code == 200
    assert "Mary Manager" in visible(first) and "Eve Employee" not in visible(first)
    link = re.search(r'<a href="([^"]+)" rel="next">', first.text)
    assert link and link.group(1).startswith(f"/hr/payroll/{run_id}?cursor=")
    following = hr.get(html.unescape(link.group(1)))
    assert following.status_code == 200
    assert "Eve Employee" in visible(following) and "Mary Manager" not in visible(following)
    assert f'href="/hr/payroll/{run_id}"' in following.text  # back to the first page


def test_the_hiring_form_with_a_contact_id_no_row_can_have_says_so(app, ext, people):
    hr = client_for(app, "grace@example.com")
    before = count(ext, Employee)
    response = submit(hr, "/hr/employees/new", {"contact_id": str(2**31), "hire_date": "2026-01-05"})
    assert response.status_code == 422
    assert field_error(response, "contact_id") == "no such contact"
    assert count(ext, Employee) == before


def test_an_hr_clerk_cannot_link_their_own_login_to_read_a_colleagues_pay(
    app, ext, session, make_client, people
):
    add_contract(session, people["mary"], "4321.00")
    session.close()
    clerk = make_client("clerk@example.com", permissions=("hr.view", "hr.employee.manage"))
    form = f"/hr/employees/{people['mary']}/edit"
    assert "4,321.00" not in visible(clerk.get(f"/hr/employees/{people['mary']}"))
    own = fetch(ext, User, User.email == "clerk@example.com").id
    response = submit(clerk, form, {"hire_date": "2025-01-06", "user_id": str(own), "status": "active"})
    assert response.status_code == 422
    assert "cannot link your own login" in field_error(response, "user_id")
    assert fetch(ext, Employee, Employee.id == people["mary"]).user_id == people["mary_user"]
    assert "4,321.00" not in visible(clerk.get(f"/hr/employees/{people['mary']}"))
    # Linking someone else's login stays HR's job.
    other = submit(
        clerk, form, {"hire_date": "2025-01-06", "user_id": str(people["hr_user"]), "status": "active"}
    )
    assert other.status_code == 302
    assert fetch(ext, Employee, Employee.id == people["mary"]).user_id == people["hr_user"]


def test_the_employee_is_told_when_someone_else_cancels_their_leave(session, people):
    allocate(session, people["eve"], "20")
    approved = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    submitted = ask(session, people["eve_user"], "2030-04-01", "2030-04-02")
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, approved))
    session.commit()
    before = len(messages_of(session, people["eve_user"]))
    with acting(session, people["hr_user"]):
        leave.cancel_request(session, leave.get_request(session, approved))
        leave.cancel_request(session, leave.get_request(session, submitted))
    session.commit()
    told = messages_of(session, people["eve_user"])[before:]
    assert told == [
        "Leave cancelled: Annual leave, 2030-03-04 to 2030-03-05 (2 days)",
        "Leave cancelled: Annual leave, 2030-04-01 to 2030-04-02 (2 days)",
    ]
    assert messages_of(session, people["mary_user"])[-1] == "Leave cancelled: Eve Employee"
    assert messages_of(session, people["hr_user"]) == []  # who cancelled is not told
    # Eve cancelling her own request tells her nothing.
    third = ask(session, people["eve_user"], "2030-05-06", "2030-05-06")
    with acting(session, people["eve_user"]):
        leave.cancel_request(session, leave.get_request(session, third))
    session.commit()
    assert messages_of(session, people["eve_user"])[before:] == told
    link = session.scalars(select(Notification.url).where(Notification.user_id == people["eve_user"])).all()
    assert link[-1] == f"/hr/leave/{submitted}"


def test_two_confirmations_at_once_post_the_run_once(ext, session, people):
    add_contract(session, people["eve"], "3000.00")
    session.close()
    run_id = compute(ext)
    company_id = fetch(ext, PayrollRun, PayrollRun.id == run_id).company_id
    # PostgreSQL: both read the draft, then race to confirm it. SQLite: writers queue on its lock, so
    # the second one reads the run only once the first has committed.
    read_first = ext.db.engine.dialect.name == "postgresql"
    start = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def confirm() -> None:
        try:
            with ext.db.session() as own:
                set_company(own, company_id)
                run = own.get(PayrollRun, run_id) if read_first else None
                start.wait()
                try:
                    payroll.confirm_run(own, run or own.get(PayrollRun, run_id))
                    own.commit()
                    outcomes.append("confirmed")
                except Conflict:
                    own.rollback()
                    outcomes.append("conflict")
        except BaseException as exc:  # reported below
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["confirmed", "conflict"]
    assert count(ext, JournalEntry, JournalEntry.source_ref == f"hr.payroll_run:{run_id}") == 1
    assert fetch(ext, PayrollRun, PayrollRun.id == run_id).state == "confirmed"


def test_terminating_before_a_paid_contract_starts_keeps_the_payslips_contract(app, ext, session, people):
    contract_id = add_contract(session, people["eve"], "3000.00", start="2026-12-01").id
    session.close()
    run_id = compute(ext, 2026, 12)
    confirm(ext, run_id)
    hr = client_for(app, "grace@example.com")
    refused = submit(hr, f"/hr/employees/{people['eve']}/terminate", {"date": "2026-11-20", "reason": ""})
    assert refused.status_code == 422
    assert field_error(refused, "date").startswith(
        "payslips were computed on the contract starting 2026-12-01"
    )
    assert fetch(ext, Employee, Employee.id == people["eve"]).status == "active"
    assert count(ext, Contract, Contract.id == contract_id) == 1
    assert fetch(ext, Payslip, Payslip.run_id == run_id).contract_id == contract_id
    ended = submit(hr, f"/hr/employees/{people['eve']}/terminate", {"date": "2026-12-31", "reason": ""})
    assert ended.status_code == 302
    assert fetch(ext, Contract, Contract.id == contract_id).end_date.isoformat() == "2026-12-31"
