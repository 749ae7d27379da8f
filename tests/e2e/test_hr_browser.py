"""An HR manager hires an applicant, gives her a contract, approves the leave she asks for, runs the
month's payroll and finds the balanced entry in the ledger — and the employee sees only her own
payslip, in a real browser."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect
from sqlalchemy import select

from core.app import officium
from core.context import set_company
from core.services import companies
from core.testing import ADMIN_PASSWORD, make_user
from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import log_in
from tests.e2e.test_crm_browser import enable

EVE = "eve.adams@example.com"


def log_in_as(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def next_monday(after: dt.date) -> dt.date:
    return after + dt.timedelta(days=7 - after.weekday())


def add_colleague(ext, month_start: dt.date) -> None:
    """Someone else on the payroll, whose payslip Eve must never see."""
    from plugins.hr.models import Contract
    from plugins.hr.services import employees

    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, companies.first_company(session).id)
        other = employees.create_employee(session, {"name": "Oscar Other", "hire_date": month_start})
        session.add(
            Contract(
                company_id=other.company_id,
                employee_id=other.id,
                kind="permanent",
                start_date=month_start,
                wage="4100.00",
                wage_period="month",
            )
        )


def test_hire_contract_leave_payroll_and_self_service(page, live_server, make_app, database_url):
    today = dt.date.today()
    month_start = today.replace(day=1)
    leave_start = next_monday(today)
    leave_end = leave_start + dt.timedelta(days=2)  # Monday to Wednesday: 3 working days
    ext = officium(make_app(database_url))
    make_user(ext, EVE)

    log_in(page, live_server)
    enable(page, live_server, "HR")
    add_colleague(ext, month_start)
    nav = page.get_by_role("navigation", name="Main")

    # Recruitment: Eve applies, and the HR manager hires her.
    nav.get_by_role("link", name="Recruitment").click()
    page.get_by_role("link", name="New applicant").click()
    page.locator("#f-name").fill("Eve Adams")
    page.locator("#f-email").fill(EVE)
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_contain_text("Eve Adams")
    page.get_by_role("link", name="Hire").click()
    page.locator("#f-hire_date").fill(month_start.isoformat())
    page.get_by_role("button", name="Hire").click()
    expect(page.locator("#applicant-stage")).to_have_text("Hired")

    # Her contract: 3,000.00 a month from the first of the month.
    page.get_by_role("link", name="Create the contract").click()
    page.locator("#f-start_date").fill(month_start.isoformat())
    page.locator("#f-wage").fill("3000.00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#contracts")).to_contain_text("3,000.00")

    # Her login, so that she can use self-service.
    page.get_by_role("link", name="Edit").first.click()
    page.locator("#f-user_id").select_option(label=EVE)
    page.get_by_role("button", name="Save").click()
    expect(page.locator("h1")).to_contain_text("Eve Adams")
    screenshot(page, "hr-employee")

    # Everyone gets the year's default annual leave.
    page.goto(f"{live_server}/hr/leave/allocations?year={leave_start.year}")
    page.get_by_role("button", name="Allocate defaults").click()
    expect(page.get_by_role("status")).to_be_visible()
    log_out(page)

    # Eve asks for three days off.
    log_in_as(page, live_server, EVE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My HR").click()
    expect(page.locator("#my-file")).to_contain_text("Eve Adams")
    page.get_by_role("link", name="Request leave").click()
    page.locator("#f-leave_type_id").select_option(label="Annual leave")
    page.locator("#f-start_date").fill(leave_start.isoformat())
    page.locator("#f-end_date").fill(leave_end.isoformat())
    page.get_by_role("button", name="Submit", exact=True).click()
    expect(page.locator("#leave-state")).to_contain_text("Submitted")
    expect(page.locator("#leave-days")).to_contain_text("3")
    log_out(page)

    # The HR manager is told, and approves it.
    log_in(page, live_server)
    expect(page.locator(".topbar .messages .badge")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My HR").click()
    page.locator("#to-approve").get_by_role("link", name="Eve Adams").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#leave-state")).to_contain_text("Approved")

    # The month's payroll: computed, confirmed, posted as one balanced entry.
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Payroll").click()
    page.get_by_role("link", name="New payroll run").click()
    page.locator("#f-month").fill(month_start.strftime("%Y-%m"))
    page.get_by_role("button", name="Compute").click()
    expect(page.locator("#employee-count")).to_have_text("2")
    expect(page.locator("#total-gross")).to_contain_text("7,100.00")
    expect(page.locator("#total-net")).to_contain_text("5,112.00")  # 72% of gross
    screenshot(page, "hr-payroll-run")
    page.get_by_role("link", name="Confirm and post…").click()
    page.get_by_role("button", name="Confirm and post").click()
    expect(page.locator("#run-state")).to_contain_text("Confirmed")
    page.locator("#entry").get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("PAY/")
    totals = page.locator("tfoot td.num")
    expect(totals.nth(0)).to_have_text("7,952.00")  # gross 7,100.00 + employer 12% 852.00
    expect(totals.nth(1)).to_have_text("7,952.00")
    log_out(page)

    # Eve reads her payslip, and only hers.
    log_in_as(page, live_server, EVE)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My HR").click()
    payslips = page.locator("#my-payslips tbody tr")
    expect(payslips).to_have_count(1)
    payslips.get_by_role("link").click()
    expect(page.locator("#net")).to_have_text("2,160.00")
    expect(page.locator("#gross")).to_have_text("3,000.00")
    screenshot(page, "hr-payslip")

    from plugins.hr.models import Employee, Payslip

    with ext.db.session(read_only=True) as session:
        oscar = session.scalar(select(Payslip.id).join(Employee).where(Employee.number == "EMP-00001"))
    response = page.goto(f"{live_server}/hr/payslips/{oscar}")
    assert response is not None and response.status == 404
    response = page.goto(f"{live_server}/hr/employees")
    assert response is not None and response.status == 403
