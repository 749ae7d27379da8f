"""Payroll pages: an HR manager computes, adjusts and confirms a month; employees read their own
payslips and nobody else's; settings and items; bad input and locked runs."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from core.models import Account, JournalEntry, Notification
from core.services import companies
from core.testing import login
from plugins.hr.models import PayrollItem, PayrollRun, PayrollSettings, Payslip, PayslipLine
from plugins.hr.services import payroll
from tests.core.web_helpers import (
    count,
    csv_rows,
    fetch,
    field_error,
    flashes,
    page,
    redirect_path,
    submit,
    system_session,
    table_column,
    visible,
)

from .test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("hr")

D = Decimal


@pytest.fixture
def paid(session, people) -> dict[str, Any]:
    """Eve on 3,000.00 and Mary on 4,000.00 a month (contracts since 2025)."""
    add_contract(session, people["eve"], "3000.00")
    add_contract(session, people["mary"], "4000.00")
    session.close()
    return people


def client_for(app, email: str) -> Any:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def compute(ext, year: int = 2026, month: int = 11, **kwargs: Any) -> int:
    with system_session(ext) as session:
        return payroll.create_run(session, year, month, **kwargs).id


def confirm(ext, run_id: int) -> None:
    with system_session(ext) as session:
        payroll.confirm_run(session, session.get(PayrollRun, run_id))


def slip_id(ext, run_id: int, employee_id: int) -> int:
    return fetch(ext, Payslip, Payslip.run_id == run_id, Payslip.employee_id == employee_id).id


# --- the HR manager's month -------------------------------------------------------------------------


def test_an_hr_manager_computes_adjusts_and_confirms_the_month(app, ext, paid):
    hr = client_for(app, "grace@example.com")
    assert "No payroll run yet" in visible(hr.get("/hr/payroll"))

    response = submit(hr, "/hr/payroll/new", {"month": "2026-11", "kind": "regular", "payment_date": ""})
    run = fetch(ext, PayrollRun)
    assert redirect_path(response) == f"/hr/payroll/{run.id}"
    shown = hr.get(f"/hr/payroll/{run.id}")
    assert "Payroll 2026-11 computed for 2 employees" in flashes(shown)[0]
    text = visible(shown)
    assert "Payroll 2026-11 Draft" in text
    assert re.search(
        r"Gross pay 7,000\.00 Deductions 1,960\.00 Net pay 5,040\.00 Employer contributions 840\.00", text
    )
    assert table_column(shown, 1) == ["Mary Manager", "Eve Employee"]
    assert table_column(shown, 5) == ["2,880.00", "2,160.00"]

    eve_slip = slip_id(ext, run.id, paid["eve"])
    adjusted = submit(
        hr,
        f"/hr/payslips/{eve_slip}/adjust",
        {"name": "Year-end bonus", "amount": "500.00"},
        form_page=f"/hr/payslips/{eve_slip}",
    )
    assert redirect_path(adjusted) == f"/hr/payslips/{eve_slip}"
    slip_page = visible(hr.get(f"/hr/payslips/{eve_slip}"))
    assert "Year-end bonus 500.00" in slip_page
    assert "Gross pay 3,500.00" in slip_page and "Net pay 2,520.00" in slip_page
    assert "Draft — not yet confirmed" in slip_page
    assert fetch(ext, PayrollRun).total_net == D("5400.00")

    confirm_page = hr.get(f"/hr/payroll/{run.id}/confirm")
    assert "Confirming posts one entry to the PAY journal" in visible(confirm_page)
    posted = submit(hr, f"/hr/payroll/{run.id}/confirm")
    assert redirect_path(posted) == f"/hr/payroll/{run.id}"
    after = hr.get(f"/hr/payroll/{run.id}")
    assert flashes(after) == ["Payroll 2026-11 confirmed and posted as PAY/2026/000001."]
    assert "Payroll 2026-11 Confirmed" in visible(after) and "Ledger entry PAY/2026/000001" in visible(after)
    assert "Confirm and post" not in visible(after) and "Delete draft" not in visible(after)
    entry = fetch(ext, JournalEntry)
    assert (entry.number, entry.memo, entry.state) == ("PAY/2026/000001", "Payroll 2026-11", "posted")

    runs = hr.get("/hr/payroll")
    assert table_column(runs, 0) == ["2026-11"] and table_column(runs, 9) == ["PAY/2026/000001"]


def test_an_administrator_follows_the_link_to_the_ledger_entry(app, ext, admin_client, paid):
    run_id = compute(ext)
    confirm(ext, run_id)
    entry_id = fetch(ext, JournalEntry).id
    body = page(admin_client.get(f"/hr/payroll/{run_id}"))
    assert f'href="/ledger/entries/{entry_id}"' in body or f"/entries/{entry_id}" in body
    entry_page = visible(admin_client.get(re.search(r'href="([^"]*/entries/\d+)"', body).group(1)))
    assert "PAY/2026/000001" in entry_page and "Net pay EMP-00002" in entry_page


def test_the_run_exports_its_payslips_as_csv(app, ext, paid):
    run_id = compute(ext)
    hr = client_for(app, "grace@example.com")
    rows = csv_rows(hr.get(f"/hr/payroll/{run_id}?format=csv"))
    assert rows == [
        ["number", "employee", "gross", "deductions", "contributions", "net"],
        ["EMP-00001", "Mary Manager", "4000.00", "1120.00", "480.00", "2880.00"],
        ["EMP-00002", "Eve Employee", "3000.00", "840.00", "360.00", "2160.00"],
    ]


def test_bad_input_on_the_new_run_form_is_shown_by_its_field(app, ext, paid):
    hr = client_for(app, "grace@example.com")
    for month in ("2026-13", "nope", ""):
        response = submit(hr, "/hr/payroll/new", {"month": month, "kind": "regular"})
        assert response.status_code == 422
        assert field_error(response, "month") == "must be a month (YYYY-MM)"
    response = submit(
        hr, "/hr/payroll/new", {"month": "2026-11", "kind": "regular", "payment_date": "2026-02-30"}
    )
    assert (
        response.status_code == 422 and field_error(response, "payment_date") == "must be a date (YYYY-MM-DD)"
    )
    response = submit(
        hr, "/hr/payroll/new", {"month": "2026-11", "kind": "correction", "employee_ids": [str(paid["eve"])]}
    )
    assert response.status_code == 422
    assert field_error(response, "month") == "a correction needs a confirmed regular run for 2026-11"
    assert count(ext, PayrollRun) == 0

    assert redirect_path(submit(hr, "/hr/payroll/new", {"month": "2026-11", "kind": "regular"}))
    before = (count(ext, PayrollRun), count(ext, Payslip), count(ext, PayslipLine))
    again = submit(hr, "/hr/payroll/new", {"month": "2026-11", "kind": "regular"})
    assert again.status_code == 409
    assert field_error(again, "month") == "a payroll run for 2026-11 already exists"
    assert (count(ext, PayrollRun), count(ext, Payslip), count(ext, PayslipLine)) == before


def test_a_correction_run_from_the_form(app, ext, paid):
    confirm(ext, compute(ext))
    hr = client_for(app, "grace@example.com")
    missing = submit(hr, "/hr/payroll/new", {"month": "2026-11", "kind": "correction"})
    assert missing.status_code == 422
    assert field_error(missing, "employee_ids") == "choose the employees a correction run pays"
    response = submit(
        hr, "/hr/payroll/new", {"month": "2026-11", "kind": "correction", "employee_ids": [str(paid["eve"])]}
    )
    run = fetch(ext, PayrollRun, PayrollRun.kind == "correction")
    assert redirect_path(response) == f"/hr/payroll/{run.id}"
    assert "Payroll 2026-11 · correction" in visible(hr.get(f"/hr/payroll/{run.id}"))
    assert table_column(hr.get(f"/hr/payroll/{run.id}"), 2) == ["0.00"]


def test_an_adjustment_with_bad_input_is_shown_on_the_payslip(app, ext, paid):
    run_id = compute(ext)
    eve_slip = slip_id(ext, run_id, paid["eve"])
    hr = client_for(app, "grace@example.com")
    path = f"/hr/payslips/{eve_slip}"
    for amount, message in (
        ("abc", "must be a decimal number"),
        ("0", "must not be zero"),
        ("1.234", "has more than 2 decimals"),
    ):
        response = submit(hr, f"{path}/adjust", {"name": "Bonus", "amount": amount}, form_page=path)
        assert response.status_code == 422
        assert field_error(response, "amount") == message
    response = submit(hr, f"{path}/adjust", {"name": "", "amount": "10.00"}, form_page=path)
    assert field_error(response, "name") == "is required"
    response = submit(hr, f"{path}/adjust", {"name": "Too much", "amount": "-3000.01"}, form_page=path)
    assert field_error(response, "amount") == "would make the gross pay negative (it is 3000.00)"
    assert count(ext, PayslipLine, PayslipLine.kind == "adjustment") == 0

    submit(hr, f"{path}/adjust", {"name": "Bonus", "amount": "100.00"}, form_page=path)
    line = fetch(ext, PayslipLine, PayslipLine.kind == "adjustment")
    removed = submit(hr, f"{path}/adjust", {"remove": str(line.id)}, form_page=path)
    assert redirect_path(removed) == path
    assert count(ext, PayslipLine, PayslipLine.kind == "adjustment") == 0
    assert fetch(ext, Payslip, Payslip.id == eve_slip).gross == D("3000.00")


def test_a_confirmed_run_is_locked_in_the_ui(app, ext, paid):
    run_id = compute(ext)
    eve_slip = slip_id(ext, run_id, paid["eve"])
    hr = client_for(app, "grace@example.com")
    token_page = hr.get(f"/hr/payslips/{eve_slip}")  # the adjustment form, while it is a draft
    token = re.search(r'name="csrf_token" value="([^"]+)"', page(token_page)).group(1)
    confirm(ext, run_id)

    adjusted = hr.post(
        f"/hr/payslips/{eve_slip}/adjust", data={"name": "Late", "amount": "10.00", "csrf_token": token}
    )
    assert redirect_path(adjusted) == f"/hr/payslips/{eve_slip}"
    assert flashes(hr.get(f"/hr/payslips/{eve_slip}")) == [
        "payroll run 2026-11 is confirmed: it cannot be changed"
    ]
    deleted = hr.post(f"/hr/payroll/{run_id}/delete", data={"csrf_token": token})
    assert redirect_path(deleted) == f"/hr/payroll/{run_id}"
    assert flashes(hr.get(f"/hr/payroll/{run_id}")) == [
        "payroll run 2026-11 is confirmed: it cannot be deleted"
    ]
    again = hr.post(f"/hr/payroll/{run_id}/confirm", data={"csrf_token": token})
    assert redirect_path(again) == f"/hr/payroll/{run_id}"
    assert flashes(hr.get(f"/hr/payroll/{run_id}")) == ["Payroll 2026-11 is already confirmed."]
    assert "Add an adjustment" not in visible(hr.get(f"/hr/payslips/{eve_slip}"))
    assert count(ext, JournalEntry) == 1 and count(ext, PayslipLine, PayslipLine.kind == "adjustment") == 0


def test_a_draft_run_is_deleted_from_its_page(app, ext, paid):
    run_id = compute(ext)
    hr = client_for(app, "grace@example.com")
    response = submit(hr, f"/hr/payroll/{run_id}/delete", form_page=f"/hr/payroll/{run_id}")
    assert redirect_path(response) == "/hr/payroll"
    assert flashes(hr.get("/hr/payroll")) == ["Draft payroll 2026-11 deleted."]
    assert (count(ext, PayrollRun), count(ext, Payslip)) == (0, 0)


def test_a_locked_ledger_period_refuses_confirmation_and_changes_nothing(app, ext, paid):
    run_id = compute(ext)
    with system_session(ext) as session:
        companies.set_lock_date(session, dt.date(2026, 12, 31))
    hr = client_for(app, "grace@example.com")
    response = submit(hr, f"/hr/payroll/{run_id}/confirm")
    assert response.status_code == 422
    assert "cannot post payroll 2026-11: the period is locked through 2026-12-31" in visible(response)
    run = fetch(ext, PayrollRun)
    assert (run.state, run.entry_id) == ("draft", None)
    assert count(ext, JournalEntry) == 0 and count(ext, Notification) == 0


def test_a_negative_net_pay_is_refused_naming_the_employee(app, ext, paid):
    with system_session(ext) as session:
        payroll.create_item(
            session,
            {
                "code": "LOAN",
                "name": "Loan",
                "method": "fixed",
                "amount": "2500.00",
                "payable_account": "2330",
            },
        )
    run_id = compute(ext)
    hr = client_for(app, "grace@example.com")
    response = submit(hr, f"/hr/payroll/{run_id}/confirm")
    assert response.status_code == 422
    assert "net pay is negative for EMP-00002 Eve Employee (-340.00)" in visible(response)
    assert count(ext, JournalEntry) == 0


# --- self-service ---------------------------------------------------------------------------------


def test_an_employee_reads_their_own_payslip_and_nobody_elses(app, ext, paid):
    run_id = compute(ext)
    eve_slip, mary_slip = slip_id(ext, run_id, paid["eve"]), slip_id(ext, run_id, paid["mary"])
    eve = client_for(app, "eve@example.com")
    assert eve.get(f"/hr/payslips/{eve_slip}").status_code == 404  # a draft is not hers to see yet
    assert "No payslip yet" in visible(eve.get(f"/hr/employees/{paid['eve']}/payslips"))

    confirm(ext, run_id)
    message = fetch(ext, Notification, Notification.user_id == paid["eve_user"])
    assert message.title == "Your payslip for 2026-11 is available"
    assert redirect_path(eve.get(message.url)) == f"/hr/payslips/{eve_slip}"

    own = eve.get(f"/hr/payslips/{eve_slip}")
    assert own.status_code == 200
    text = visible(own)
    assert "Test Company" in text and "Payslip 2026-11" in text and "Eve Employee" in text
    assert "Basic pay 3,000.00" in text and "Income tax withholding 20 % −600.00" in text
    assert "Net pay 2,160.00" in text and "Social security (employer) 12 % 360.00" in text
    assert 'id="print-button"' in page(own) and "hr/assets/print.css" in page(own)
    assert "Add an adjustment" not in text and "Draft" not in text

    listed = eve.get(f"/hr/employees/{paid['eve']}/payslips")
    assert table_column(listed, 0) == ["2026-11"] and table_column(listed, 6) == ["2,160.00"]

    assert eve.get(f"/hr/payslips/{mary_slip}").status_code == 404
    assert eve.get(f"/hr/employees/{paid['mary']}/payslips").status_code == 404
    assert eve.get(f"/hr/payslips/{eve_slip + 1000}").status_code == 404
    assert eve.get("/hr/payslips/99999999999999999999999").status_code == 404
    assert eve.get("/hr/payslips/10000000000").status_code == 404
    assert eve.get("/hr/employees/10000000000/payslips").status_code == 404
    assert eve.get("/hr/payroll/10000000000/my-payslip").status_code == 404
    assert eve.get("/hr/payroll").status_code == 403
    assert eve.get(f"/hr/payroll/{run_id}").status_code == 403
    mary = client_for(app, "mary@example.com")
    assert mary.get(message.url).status_code == 302  # the same message link finds Mary's own
    assert redirect_path(mary.get(message.url)) == f"/hr/payslips/{mary_slip}"


def test_hr_staff_without_payroll_view_see_no_payslip(app, ext, make_client, paid):
    run_id = compute(ext)
    confirm(ext, run_id)
    clerk = make_client("clerk@example.com", permissions=("hr.view", "hr.employee.manage"))
    eve_slip = slip_id(ext, run_id, paid["eve"])
    assert clerk.get(f"/hr/payslips/{eve_slip}").status_code == 404
    assert clerk.get(f"/hr/employees/{paid['eve']}/payslips").status_code == 404
    assert clerk.get("/hr/payroll").status_code == 403
    assert clerk.get(f"/hr/payroll/{run_id}?format=csv").status_code == 403
    assert clerk.get("/hr/payroll/settings").status_code == 403
    assert clerk.get(f"/hr/payroll/{run_id}/my-payslip").status_code == 404


def test_the_payroll_forms_refuse_a_missing_csrf_token(app, ext, paid):
    hr = client_for(app, "grace@example.com")
    assert hr.post("/hr/payroll/new", data={"month": "2026-11"}).status_code == 400
    assert count(ext, PayrollRun) == 0


# --- settings and items -------------------------------------------------------------------------------


def test_payroll_settings_are_changed_and_new_accounts_created_on_confirm(app, ext, paid):
    hr = client_for(app, "grace@example.com")
    form = hr.get("/hr/payroll/settings")
    assert "TAX" in table_column(form, 0) and "20 %" in table_column(form, 3)
    fields = {"journal_code": "PAY", "contribution_expense_account": "6210"}
    bad = submit(
        hr, "/hr/payroll/settings", {**fields, "salary_expense_account": "62 00", "net_payable_account": ""}
    )
    assert bad.status_code == 422
    assert field_error(bad, "salary_expense_account").startswith("must be an account code")
    assert field_error(bad, "net_payable_account") == "is required"
    assert fetch(ext, PayrollSettings).salary_expense_account == "6200"

    saved = submit(
        hr,
        "/hr/payroll/settings",
        {**fields, "salary_expense_account": "6299", "net_payable_account": "2300"},
    )
    assert redirect_path(saved) == "/hr/payroll/settings"
    assert fetch(ext, PayrollSettings).salary_expense_account == "6299"
    assert count(ext, Account, Account.code == "6299") == 0
    run_id = compute(ext)
    submit(hr, f"/hr/payroll/{run_id}/confirm")
    assert fetch(ext, Account, Account.code == "6299").type == "expense"


def test_payroll_items_are_created_and_edited_from_forms(app, ext, paid):
    hr = client_for(app, "grace@example.com")
    base = {
        "code": "PENS",
        "name": "Pension",
        "kind": "contribution",
        "method": "percent",
        "rate": "2.5",
        "amount": "",
        "payable_account": "2330",
        "sequence": "40",
        "active": "on",
    }
    for change, key, message in (
        ({"rate": "101"}, "rate", "must be a percentage between 0 and 100"),
        ({"rate": "2.123456"}, "rate", "has more than 4 decimals"),
        ({"code": "TAX"}, "code", "another payroll item has this code"),
        ({"payable_account": ""}, "payable_account", "is required"),
        ({"method": "fixed", "amount": "-1.00"}, "amount", "must not be negative"),
    ):
        response = submit(hr, "/hr/payroll/items/new", {**base, **change})
        assert response.status_code == 422 and field_error(response, key) == message, change
    assert count(ext, PayrollItem) == 3

    assert redirect_path(submit(hr, "/hr/payroll/items/new", base)) == "/hr/payroll/settings"
    item = fetch(ext, PayrollItem, PayrollItem.code == "PENS")
    assert (item.kind, item.rate, item.sequence, item.active) == ("contribution", D("2.5000"), 40, True)
    path = f"/hr/payroll/items/{item.id}/edit"
    assert 'value="2.5"' in page(hr.get(path))
    edited = submit(hr, path, {**base, "method": "fixed", "rate": "", "amount": "15.00", "active": ""})
    assert redirect_path(edited) == "/hr/payroll/settings"
    item = fetch(ext, PayrollItem, PayrollItem.code == "PENS")
    assert (item.method, item.amount, item.active) == ("fixed", D("15.00"), False)
    assert hr.get("/hr/payroll/items/999999/edit").status_code == 404

    run_id = compute(ext)
    assert count(ext, Payslip, Payslip.run_id == run_id) == 2
    assert count(ext, PayslipLine, PayslipLine.code == "PENS") == 0  # inactive: not applied
