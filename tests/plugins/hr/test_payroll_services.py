"""Payroll services: a month's run computed per contract, adjusted, confirmed to the ledger and locked;
corrections, the settings and items, and who may see a payslip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import SYSTEM, company_id_of, set_actor
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.models import Account, Journal, JournalEntry, Notification, User
from core.services import companies
from plugins.hr.models import Contract, Employee, PayrollItem, PayrollRun, Payslip, PayslipLine
from plugins.hr.services import employees, payroll

pytestmark = pytest.mark.plugins("hr")

D = Decimal


def add_contract(
    session,
    employee_id: int,
    wage: str,
    start: str = "2025-01-06",
    end: str | None = None,
    period: str = "month",
    hours: str = "40",
) -> Contract:
    contract = Contract(
        company_id=company_id_of(session),
        employee_id=employee_id,
        start_date=dt.date.fromisoformat(start),
        end_date=dt.date.fromisoformat(end) if end else None,
        wage=D(wage),
        wage_period=period,
        hours_per_week=D(hours),
    )
    session.add(contract)
    session.commit()
    return contract


def slip_of(session, run: PayrollRun, employee_id: int) -> Payslip:
    return session.scalars(
        select(Payslip).where(Payslip.run_id == run.id, Payslip.employee_id == employee_id)
    ).one()


def lines_of(slip: Payslip) -> list[tuple[str, str, Decimal, str]]:
    return [(line.kind, line.code, line.amount, line.account) for line in slip.lines]


def entry_lines(entry: JournalEntry) -> list[tuple[str, Decimal, Decimal]]:
    return [(line.account.code, line.debit, line.credit) for line in entry.lines]


def count(session, model: Any) -> int:
    return session.scalar(select(func.count()).select_from(model))


def act_as(session, user_id: int | None) -> None:
    set_actor(session, session.get(User, user_id) if user_id is not None else SYSTEM)


@pytest.fixture
def eve_paid(session, people) -> dict[str, Any]:
    """Eve on 3,000.00 a month since January 2025; Mary on 4,000.00 (both have a login)."""
    add_contract(session, people["eve"], "3000.00")
    add_contract(session, people["mary"], "4000.00")
    return people


# --- the worked example -------------------------------------------------------------------------------


def test_a_monthly_run_computes_the_payslip_and_posts_one_balanced_entry(session, make_employee):
    ada = make_employee(name="Ada Lovelace")
    add_contract(session, ada.id, "3000.00")

    run = payroll.create_run(session, 2026, 11)
    session.commit()
    slip = slip_of(session, run, ada.id)
    assert (slip.gross, slip.total_deductions, slip.net, slip.total_contributions) == (
        D("3000.00"),
        D("840.00"),
        D("2160.00"),
        D("360.00"),
    )
    assert lines_of(slip) == [
        ("basic", "BASIC", D("3000.00"), ""),
        ("deduction", "TAX", D("600.00"), "2310"),
        ("deduction", "SS_EE", D("240.00"), "2320"),
        ("contribution", "SS_ER", D("360.00"), "2320"),
    ]
    assert (run.state, run.kind, run.period, run.payment_date) == (
        "draft",
        "regular",
        "2026-11",
        dt.date(2026, 11, 30),
    )
    assert (run.total_gross, run.total_deductions, run.total_net, run.total_contributions) == (
        D("3000.00"),
        D("840.00"),
        D("2160.00"),
        D("360.00"),
    )
    assert run.employee_count == 1

    payroll.confirm_run(session, run)
    session.commit()
    entry = session.get(JournalEntry, run.entry_id)
    assert entry.state == "posted"
    assert entry.number == "PAY/2026/000001"
    assert entry.journal.code == "PAY"
    assert entry.date == dt.date(2026, 11, 30)
    assert entry.memo == "Payroll 2026-11"
    assert (entry.source_plugin, entry.source_ref) == ("hr", f"hr.payroll_run:{run.id}")
    assert entry_lines(entry) == [
        ("6200", D("3000.00"), D("0.00")),
        ("6210", D("360.00"), D("0.00")),
        ("2310", D("0.00"), D("600.00")),
        ("2320", D("0.00"), D("600.00")),
        ("2300", D("0.00"), D("2160.00")),
    ]
    assert sum(line.debit for line in entry.lines) == sum(line.credit for line in entry.lines) == D("3360.00")
    assert [line.memo for line in entry.lines[:4]] == [
        "Gross pay",
        "Employer contributions",
        "TAX",
        "SS_EE + SS_ER",
    ]
    net_line = entry.lines[-1]
    assert net_line.contact_id == ada.contact_id
    assert net_line.memo == f"Net pay {ada.number}"
    assert run.state == "confirmed" and run.confirmed_at is not None and run.confirmed_by_id is None


def test_net_wages_are_credited_to_each_employee_contact(session, eve_paid):
    run = payroll.create_run(session, 2026, 11, payment_date="2026-12-01")
    payroll.confirm_run(session, run)
    session.commit()
    entry = session.get(JournalEntry, run.entry_id)
    assert entry.date == dt.date(2026, 12, 1)
    nets = {line.contact_id: line.credit for line in entry.lines if line.account.code == "2300"}
    mary, eve = session.get(Employee, eve_paid["mary"]), session.get(Employee, eve_paid["eve"])
    assert nets == {mary.contact_id: D("2880.00"), eve.contact_id: D("2160.00")}
    assert entry_lines(entry)[:2] == [("6200", D("7000.00"), D("0.00")), ("6210", D("840.00"), D("0.00"))]


# --- proration and hourly wages -----------------------------------------------------------------------


def test_a_contract_starting_mid_month_is_prorated_by_calendar_days(session, make_employee):
    late = make_employee(name="Late Starter", hire_date="2026-11-12")
    add_contract(session, late.id, "2500.00", start="2026-11-12")
    run = payroll.create_run(session, "2026", "11")
    slip = slip_of(session, run, late.id)
    # 19 of November's 30 days: 2500 x 19 / 30 = 1583.333... -> 1583.33
    assert slip.lines[0].amount == D("1583.33")
    assert slip.lines[0].name == "Basic pay (2026-11-12 to 2026-11-30, 19/30 days)"
    assert [(line.code, line.amount) for line in slip.lines[1:]] == [
        ("TAX", D("316.67")),  # 316.666 half up
        ("SS_EE", D("126.67")),  # 126.6664
        ("SS_ER", D("190.00")),  # 189.9996
    ]
    assert (slip.gross, slip.total_deductions, slip.net, slip.total_contributions) == (
        D("1583.33"),
        D("443.34"),
        D("1139.99"),
        D("190.00"),
    )


def test_a_contract_ending_mid_month_and_the_next_one_make_one_payslip(session, make_employee):
    ada = make_employee(name="Ada")
    add_contract(session, ada.id, "3000.00", start="2025-01-06", end="2026-02-10")
    add_contract(session, ada.id, "3600.00", start="2026-02-11")
    run = payroll.create_run(session, 2026, 2)
    slip = slip_of(session, run, ada.id)
    # February 2026 has 28 days: 3000 x 10 / 28 = 1071.43; 3600 x 18 / 28 = 2314.29
    assert [(line.kind, line.amount) for line in slip.lines if line.kind == "basic"] == [
        ("basic", D("1071.43")),
        ("basic", D("2314.29")),
    ]
    assert slip.gross == D("3385.72")
    assert slip.contract_id == session.scalars(select(Contract.id).order_by(Contract.id.desc())).first()


def test_an_hourly_wage_is_paid_for_hours_a_week_times_52_over_12(session, make_employee):
    hourly = make_employee(name="Hourly Harry")
    add_contract(session, hourly.id, "17.35", period="hour", hours="38")
    part = make_employee(name="Part Month Pat", hire_date="2026-11-21")
    add_contract(session, part.id, "25.50", start="2026-11-21", period="hour", hours="37.5")
    run = payroll.create_run(session, 2026, 11)
    harry = slip_of(session, run, hourly.id)
    # 17.35 x 38 x 52 / 12 = 2856.9666... -> 2856.97
    assert harry.gross == D("2856.97")
    assert (harry.total_deductions, harry.net, harry.total_contributions) == (
        D("799.95"),
        D("2057.02"),
        D("342.84"),
    )
    pat = slip_of(session, run, part.id)
    # 25.50 x 37.5 x 52 / 12 = 4143.75 a month; 10 of 30 days = 1381.25
    assert pat.gross == D("1381.25")
    assert run.total_gross == D("4238.22")


def test_who_is_paid_in_a_month(session, make_employee):
    gone = make_employee(name="Gone Before")
    add_contract(session, gone.id, "1000.00", start="2025-01-06")
    employees.terminate_employee(session, gone, date="2026-10-15")
    leaving = make_employee(name="Leaving Mid Month")
    add_contract(session, leaving.id, "3000.00")
    employees.terminate_employee(session, leaving, date="2026-11-15")
    make_employee(name="No Contract")
    future = make_employee(name="Starts In December", hire_date="2026-12-01")
    add_contract(session, future.id, "2000.00", start="2026-12-01")
    session.commit()

    run = payroll.create_run(session, 2026, 11)
    paid = session.scalars(select(Payslip.employee_id).where(Payslip.run_id == run.id)).all()
    assert paid == [leaving.id]
    assert slip_of(session, run, leaving.id).gross == D("1500.00")  # 15 of 30 days


def test_progress_is_reported_as_payslips_are_stored(session, make_employee):
    for i in range(3):
        add_contract(session, make_employee(name=f"Person {i}").id, "1000.00")
    calls: list[tuple[int, int]] = []
    payroll.create_run(session, 2026, 11, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 3)]


# --- one regular run a month ------------------------------------------------------------------------


def test_a_second_regular_run_for_the_month_is_refused_and_nothing_is_stored(session, eve_paid):
    first = payroll.create_run(session, 2026, 11)
    session.commit()
    before = (count(session, PayrollRun), count(session, Payslip), count(session, PayslipLine))
    with pytest.raises(Conflict, match="a payroll run for 2026-11 already exists") as refused:
        payroll.create_run(session, 2026, 11)
    assert refused.value.fields == {"month": ["a payroll run for 2026-11 already exists"]}
    session.rollback()
    assert (count(session, PayrollRun), count(session, Payslip), count(session, PayslipLine)) == before

    payroll.confirm_run(session, first)
    session.commit()
    with pytest.raises(Conflict, match="already exists"):
        payroll.create_run(session, 2026, 11)
    session.rollback()
    assert count(session, PayrollRun) == 1
    # Another month is fine.
    assert payroll.create_run(session, 2026, 12).employee_count == 2


def test_bad_run_input_is_reported_by_field(session, eve_paid):
    with pytest.raises(ValidationError) as refused:
        payroll.create_run(session, 2026, 13, kind="bonus", payment_date="2026-02-30")
    assert set(refused.value.fields) == {"month", "kind", "payment_date"}
    with pytest.raises(ValidationError) as refused:
        payroll.create_run(session, 2026, 11, employee_ids=[eve_paid["eve"]])
    assert "employee_ids" in refused.value.fields
    with pytest.raises(ValidationError, match="no employee has a contract in 1990-01") as refused:
        payroll.create_run(session, 1990, 1)
    assert refused.value.fields == {"month": ["no contract covers 1990-01"]}
    assert payroll.parse_period("2026-11", {}) == (2026, 11)
    errors: dict[str, list[str]] = {}
    assert payroll.parse_period("2026-1", errors) == (0, 0) and errors == {
        "month": ["must be a month (YYYY-MM)"]
    }
    session.rollback()
    assert count(session, PayrollRun) == 0


# --- adjustments and the lock ---------------------------------------------------------------------


def test_an_adjustment_recomputes_the_payslip_and_the_run(session, eve_paid):
    run = payroll.create_run(session, 2026, 11)
    slip = slip_of(session, run, eve_paid["eve"])
    bonus = payroll.add_adjustment(session, slip, "Year-end bonus", "500.00")
    session.commit()
    assert (slip.gross, slip.total_deductions, slip.net, slip.total_contributions) == (
        D("3500.00"),
        D("980.00"),
        D("2520.00"),
        D("420.00"),
    )
    assert [line.kind for line in slip.lines] == [
        "basic",
        "adjustment",
        "deduction",
        "deduction",
        "contribution",
    ]
    assert (run.total_gross, run.total_net) == (D("7500.00"), D("5400.00"))

    payroll.add_adjustment(session, slip, "Unpaid day", "-100.00")
    assert slip.gross == D("3400.00")
    with pytest.raises(ValidationError, match="would make the gross pay negative"):
        payroll.add_adjustment(session, slip, "Too much", "-3400.01")
    for amount, message in (("0", "must not be zero"), ("1.005", "more than 2 decimals"), ("x", "decimal")):
        with pytest.raises(ValidationError, match=message):
            payroll.add_adjustment(session, slip, "Bad", amount)
    with pytest.raises(ValidationError, match="name"):
        payroll.add_adjustment(session, slip, "", "10.00")
    session.rollback()  # the unpaid day goes too

    payroll.remove_adjustment(session, slip, bonus.id)
    session.commit()
    assert (slip.gross, slip.net) == (D("3000.00"), D("2160.00"))
    assert [line.kind for line in slip.lines] == ["basic", "deduction", "deduction", "contribution"]
    assert (run.total_gross, run.total_net) == (D("7000.00"), D("5040.00"))
    with pytest.raises(NotFound):
        payroll.remove_adjustment(session, slip, slip.lines[0].id)  # the basic pay is no adjustment


def test_a_confirmed_run_is_locked(session, eve_paid):
    run = payroll.create_run(session, 2026, 11)
    slip = slip_of(session, run, eve_paid["eve"])
    adjustment = payroll.add_adjustment(session, slip, "Bonus", "100.00")
    payroll.confirm_run(session, run)
    session.commit()
    entries = count(session, JournalEntry)
    with pytest.raises(Conflict, match="confirmed"):
        payroll.add_adjustment(session, slip, "Late bonus", "50.00")
    with pytest.raises(Conflict, match="confirmed"):
        payroll.remove_adjustment(session, slip, adjustment.id)
    with pytest.raises(Conflict, match="confirmed"):
        payroll.delete_run(session, run)
    with pytest.raises(Conflict, match="confirmed"):
        payroll.confirm_run(session, run)
    session.rollback()
    assert count(session, JournalEntry) == entries
    assert slip_of(session, run, eve_paid["eve"]).gross == D("3100.00")


def test_a_draft_run_can_be_deleted_with_its_payslips(session, eve_paid):
    run = payroll.create_run(session, 2026, 11)
    payroll.add_adjustment(session, slip_of(session, run, eve_paid["eve"]), "Bonus", "100.00")
    session.commit()
    payroll.delete_run(session, run)
    session.commit()
    assert (count(session, PayrollRun), count(session, Payslip), count(session, PayslipLine)) == (0, 0, 0)
    assert payroll.create_run(session, 2026, 11).employee_count == 2  # the month is free again


def test_a_negative_net_pay_refuses_confirmation_naming_the_employee(session, eve_paid):
    payroll.create_item(
        session,
        {
            "code": "LOAN",
            "name": "Loan repayment",
            "kind": "deduction",
            "method": "fixed",
            "amount": "2500.00",
            "payable_account": "2330",
            "sequence": 40,
        },
    )
    run = payroll.create_run(session, 2026, 11)
    session.commit()
    eve = session.get(Employee, eve_paid["eve"])
    assert slip_of(session, run, eve.id).net == D("-340.00")  # 3000.00 - 840.00 - 2500.00
    with pytest.raises(ValidationError) as refused:
        payroll.confirm_run(session, run)
    assert refused.value.message == (
        f"net pay is negative for {eve.number} Eve Employee (-340.00): adjust their payslips first"
    )
    assert "payslips" in refused.value.fields
    session.rollback()
    assert run.state == "draft" and count(session, JournalEntry) == 0


# --- corrections ------------------------------------------------------------------------------------


def test_a_correction_run_pays_adjustments_to_chosen_employees(session, eve_paid):
    with pytest.raises(ValidationError, match="needs a confirmed regular run for 2026-11"):
        payroll.create_run(session, 2026, 11, kind="correction", employee_ids=[eve_paid["eve"]])
    regular = payroll.create_run(session, 2026, 11)
    with pytest.raises(ValidationError, match="needs a confirmed regular run"):
        payroll.create_run(session, 2026, 11, kind="correction", employee_ids=[eve_paid["eve"]])
    payroll.confirm_run(session, regular)
    session.commit()
    for bad in (None, [], ["x"], [10**12], "1"):
        with pytest.raises(ValidationError) as refused:
            payroll.create_run(session, 2026, 11, kind="correction", employee_ids=bad)
        assert "employee_ids" in refused.value.fields
    payroll.create_item(
        session,
        {
            "code": "UNION",
            "name": "Union fee",
            "method": "fixed",
            "amount": "10.00",
            "payable_account": "2330",
        },
    )

    correction = payroll.create_run(
        session, 2026, 11, kind="correction", employee_ids=[str(eve_paid["eve"])], payment_date="2026-12-10"
    )
    session.commit()
    slip = slip_of(session, correction, eve_paid["eve"])
    assert (correction.employee_count, slip.gross, slip.net, slip.lines) == (1, D("0.00"), D("0.00"), [])
    payroll.add_adjustment(session, slip, "Overtime October", "500.00")
    session.commit()
    # Percent items only: the fixed union fee was taken by the regular run.
    assert [(line.code, line.amount) for line in slip.lines] == [
        ("ADJ", D("500.00")),
        ("TAX", D("100.00")),
        ("SS_EE", D("40.00")),
        ("SS_ER", D("60.00")),
    ]
    payroll.confirm_run(session, correction)
    session.commit()
    entry = session.get(JournalEntry, correction.entry_id)
    assert (entry.number, entry.memo, entry.date) == (
        "PAY/2026/000002",
        "Payroll correction 2026-11",
        dt.date(2026, 12, 10),
    )
    assert entry_lines(entry) == [
        ("6200", D("500.00"), D("0.00")),
        ("6210", D("60.00"), D("0.00")),
        ("2310", D("0.00"), D("100.00")),
        ("2320", D("0.00"), D("100.00")),
        ("2300", D("0.00"), D("360.00")),
    ]
    # A second correction for the same month is allowed.
    assert (
        payroll.create_run(session, 2026, 11, kind="correction", employee_ids=[eve_paid["mary"]]).kind
        == "correction"
    )


def test_a_correction_with_nothing_to_pay_cannot_be_confirmed(session, eve_paid):
    payroll.confirm_run(session, payroll.create_run(session, 2026, 11))
    correction = payroll.create_run(session, 2026, 11, kind="correction", employee_ids=[eve_paid["eve"]])
    session.commit()
    with pytest.raises(ValidationError, match="nothing to pay"):
        payroll.confirm_run(session, correction)


# --- the ledger side --------------------------------------------------------------------------------


def test_accounts_and_journal_named_in_the_settings_are_created_when_missing(session, eve_paid):
    payroll.update_settings(
        session, {"salary_expense_account": "6299", "net_payable_account": "2399", "journal_code": "WAGES"}
    )
    payroll.create_item(
        session,
        {"code": "PENS", "name": "Pension", "kind": "contribution", "rate": "2.5", "payable_account": "2398"},
    )
    run = payroll.create_run(session, 2026, 11)
    session.commit()
    assert session.scalar(select(Account).where(Account.code == "6299")) is None
    payroll.confirm_run(session, run)
    session.commit()
    types = dict(
        session.execute(
            select(Account.code, Account.type).where(Account.code.in_(["6299", "2399", "2398"]))
        ).all()
    )
    assert types == {"6299": "expense", "2399": "liability", "2398": "liability"}
    assert session.scalar(select(Journal.code).where(Journal.code == "WAGES")) == "WAGES"
    entry = session.get(JournalEntry, run.entry_id)
    assert entry.journal.code == "WAGES" and entry.number == "WAGES/2026/000001"
    codes = [code for code, _debit, _credit in entry_lines(entry)]
    assert codes == ["6299", "6210", "2310", "2320", "2398", "2399", "2399"]
    assert ("2398", D("0.00"), D("175.00")) in entry_lines(entry)  # 2.5% of 7000.00


def test_a_locked_ledger_period_refuses_confirmation_and_changes_nothing(session, eve_paid):
    run = payroll.create_run(session, 2026, 11)
    companies.set_lock_date(session, dt.date(2026, 11, 30))
    session.commit()
    with pytest.raises(ValidationError, match="cannot post payroll 2026-11: the period is locked") as refused:
        payroll.confirm_run(session, run)
    assert "payment_date" in refused.value.fields
    session.rollback()
    assert run.state == "draft" and run.entry_id is None
    assert count(session, JournalEntry) == 0
    assert count(session, Notification) == 0
    # Paying in December, after the locked period, goes through.
    late = payroll.create_run(session, 2026, 10, payment_date="2026-12-01")
    payroll.confirm_run(session, late)
    session.commit()
    assert count(session, JournalEntry) == 1


def test_employees_with_a_login_are_told_their_payslip_is_available(session, eve_paid):
    outsider = employees.create_employee(session, {"name": "No Login", "hire_date": "2025-01-06"})
    add_contract(session, outsider.id, "1000.00")
    run = payroll.create_run(session, 2026, 11)
    payroll.confirm_run(session, run)
    session.commit()
    messages = session.scalars(select(Notification).order_by(Notification.user_id)).all()
    assert [m.user_id for m in messages] == sorted([eve_paid["mary_user"], eve_paid["eve_user"]])
    assert {(m.title, m.url, m.source) for m in messages} == {
        ("Your payslip for 2026-11 is available", f"/hr/payroll/{run.id}/my-payslip", "hr")
    }


# --- who sees a payslip -------------------------------------------------------------------------------


def test_an_employee_sees_only_their_own_confirmed_payslips(session, ext, eve_paid):
    viewer = ext  # noqa: F841 - the users come from the people fixture
    run = payroll.create_run(session, 2026, 11)
    session.commit()
    eve_slip, mary_slip = slip_of(session, run, eve_paid["eve"]), slip_of(session, run, eve_paid["mary"])
    eve = session.get(Employee, eve_paid["eve"])
    mary = session.get(Employee, eve_paid["mary"])

    act_as(session, eve_paid["eve_user"])
    with pytest.raises(NotFound):
        payroll.get_payslip(session, eve_slip.id)  # a draft
    assert payroll.payslips_for(session, eve) == []
    with pytest.raises(NotFound):
        payroll.my_payslip_in(session, run.id)

    act_as(session, None)
    payroll.confirm_run(session, run)
    session.commit()
    act_as(session, eve_paid["eve_user"])
    assert payroll.get_payslip(session, eve_slip.id).net == D("2160.00")
    assert payroll.payslips_for(session, eve) == [eve_slip]
    assert payroll.my_payslip_in(session, run.id) == eve_slip
    with pytest.raises(NotFound):
        payroll.get_payslip(session, mary_slip.id)
    with pytest.raises(NotFound):
        payroll.payslips_for(session, mary)
    for bad in ("x", -1, 10**30, ""):
        with pytest.raises(NotFound):
            payroll.get_payslip(session, bad)
    with pytest.raises(PermissionDenied):
        payroll.get_run(session, run.id)
    with pytest.raises(PermissionDenied):
        payroll.add_adjustment(session, eve_slip, "Me", "1000.00")

    act_as(session, eve_paid["hr_user"])  # an HR manager sees every payslip
    assert payroll.get_payslip(session, mary_slip.id).net == D("2880.00")
    assert payroll.payslips_for(session, mary) == [mary_slip]


def test_hr_staff_without_payroll_view_see_no_payslip(session, ext, eve_paid):
    from core.testing import make_user

    session.commit()
    clerk_id = make_user(ext, "clerk@example.com", permissions=("hr.view", "hr.employee.manage"))
    run = payroll.create_run(session, 2026, 11)
    payroll.confirm_run(session, run)
    session.commit()
    slip = slip_of(session, run, eve_paid["eve"])
    act_as(session, clerk_id)
    with pytest.raises(NotFound):
        payroll.get_payslip(session, slip.id)
    with pytest.raises(NotFound):
        payroll.payslips_for(session, session.get(Employee, eve_paid["eve"]))
    with pytest.raises(PermissionDenied):
        payroll.list_runs(session)


# --- settings and items -------------------------------------------------------------------------------


def test_settings_take_short_account_codes(session):
    settings = payroll.get_settings(session)
    assert (settings.journal_code, settings.salary_expense_account, settings.net_payable_account) == (
        "PAY",
        "6200",
        "2300",
    )
    with pytest.raises(ValidationError) as refused:
        payroll.update_settings(
            session,
            {
                "journal_code": "PA/Y",
                "salary_expense_account": "62 00",
                "net_payable_account": "",
                "contribution_expense_account": "x" * 21,
                "colour": "red",
            },
        )
    assert set(refused.value.fields) == {
        "journal_code",
        "salary_expense_account",
        "net_payable_account",
        "contribution_expense_account",
        "colour",
    }
    session.rollback()
    assert (
        payroll.update_settings(
            session, {"contribution_expense_account": " 6215 "}
        ).contribution_expense_account
        == "6215"
    )


def test_payroll_items_are_validated(session):
    with pytest.raises(ValidationError) as refused:
        payroll.create_item(
            session,
            {"code": "TAX", "name": "", "kind": "bonus", "method": "percent", "rate": "100.5"},
        )
    assert set(refused.value.fields) == {"code", "name", "kind", "rate", "payable_account"}
    assert refused.value.fields["code"] == ["another payroll item has this code"]
    for data, key in (
        ({"rate": "1.00001"}, "rate"),
        ({"rate": "-1"}, "rate"),
        ({"method": "fixed", "amount": "-5.00"}, "amount"),
        ({"method": "fixed", "amount": "5.001"}, "amount"),
        ({"payable_account": "23 10"}, "payable_account"),
        ({"sequence": "-3"}, "sequence"),
        ({"active": "yes"}, "active"),
    ):
        with pytest.raises(ValidationError) as refused:
            payroll.create_item(session, {"code": "NEW", "name": "New", "payable_account": "2330", **data})
        assert set(refused.value.fields) == {key}, data
    item = payroll.create_item(
        session,
        {
            "code": "PENS",
            "name": "Pension",
            "kind": "contribution",
            "rate": "2.5125",
            "payable_account": "2330",
        },
    )
    assert (item.method, item.rate, item.active, item.sequence) == ("percent", D("2.5125"), True, 10)
    payroll.update_item(session, item, {"method": "fixed", "amount": "12.50", "sequence": 50})
    assert (item.method, item.amount, item.sequence) == ("fixed", D("12.50"), 50)
    assert payroll.update_item(session, item, {"sequence": "0"}).sequence == 0
    payroll.deactivate_item(session, item)
    assert item.active is False
    assert [i.code for i in payroll.list_items(session, active_only=True)] == ["TAX", "SS_EE", "SS_ER"]
    session.commit()
    assert count(session, PayrollItem) == 4


def test_an_inactive_item_is_not_applied(session, eve_paid):
    tax = session.scalar(select(PayrollItem).where(PayrollItem.code == "TAX"))
    payroll.deactivate_item(session, tax)
    run = payroll.create_run(session, 2026, 11)
    assert [line.code for line in slip_of(session, run, eve_paid["eve"]).lines] == ["BASIC", "SS_EE", "SS_ER"]
    assert run.total_net == D("6440.00")
