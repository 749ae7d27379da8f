"""``officium hr payroll ...``: compute (and confirm) a month from the shell, list the runs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.models import JournalEntry
from core.services import companies
from core.testing import run_cli
from plugins.hr.models import PayrollRun, Payslip

from .test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("hr")


def counts(session) -> tuple[int, int, int]:
    found = tuple(
        session.scalar(select(func.count()).select_from(m)) for m in (PayrollRun, Payslip, JournalEntry)
    )
    session.rollback()  # SQLite: release the read snapshot before the next command writes
    return found


@pytest.fixture
def paid(session, people):
    add_contract(session, people["eve"], "3000.00")
    add_contract(session, people["mary"], "4000.00")
    session.close()
    return people


def test_a_month_is_computed_then_confirmed_and_listed(runner, session, paid):
    assert run_cli(runner, "hr", "payroll", "list").output == "no payroll run yet\n"

    draft = run_cli(runner, "hr", "payroll", "run", "--month", "2026-10")
    assert draft.exit_code == 0, draft.output
    assert (
        "Payroll 2026-10: 2 employees, gross 7000.00, deductions 1960.00, net 5040.00, "
        "employer contributions 840.00"
    ) in draft.output
    assert "draft run #1: review it, then confirm it in the app or with --confirm" in draft.output
    assert counts(session) == (1, 2, 0)

    posted = run_cli(
        runner, "hr", "payroll", "run", "--month", "2026-11", "--confirm", "--payment-date", "2026-12-01"
    )
    assert posted.exit_code == 0, posted.output
    assert "confirmed: run #2 posted as entry PAY/2026/000001, dated 2026-12-01" in posted.output
    assert counts(session) == (2, 4, 1)

    listed = run_cli(runner, "hr", "payroll", "list")
    lines = listed.output.splitlines()
    assert lines[0].split() == ["id", "month", "kind", "state", "staff", "gross", "net", "entry"]
    assert lines[1].split() == [
        "2",
        "2026-11",
        "regular",
        "confirmed",
        "2",
        "7000.00",
        "5040.00",
        "PAY/2026/000001",
    ]
    assert lines[2].split() == ["1", "2026-10", "regular", "draft", "2", "7000.00", "5040.00"]


def test_mistakes_are_one_line_on_stderr_and_a_failing_exit(runner, session, paid):
    bad = run_cli(runner, "hr", "payroll", "run", "--month", "2026-13")
    assert bad.exit_code == 1
    assert bad.stderr == "Error: --month must be a month (YYYY-MM), not '2026-13'\n"
    bad_date = run_cli(runner, "hr", "payroll", "run", "--month", "2026-11", "--payment-date", "soon")
    assert bad_date.exit_code == 1 and "payment_date must be a date (YYYY-MM-DD)" in bad_date.stderr
    assert len(bad_date.stderr.strip().splitlines()) == 1
    assert counts(session) == (0, 0, 0)

    assert run_cli(runner, "hr", "payroll", "run", "--month", "2026-11").exit_code == 0
    again = run_cli(runner, "hr", "payroll", "run", "--month", "2026-11")
    assert again.exit_code == 1
    assert again.stderr.strip() == "Error: a payroll run for 2026-11 already exists"
    assert counts(session) == (1, 2, 0)


def test_a_refused_confirmation_keeps_nothing(runner, session, paid):
    companies.set_lock_date(session, dt.date(2026, 12, 31))
    session.commit()
    refused = run_cli(runner, "hr", "payroll", "run", "--month", "2026-11", "--confirm")
    assert refused.exit_code == 1
    assert "cannot post payroll 2026-11: the period is locked through 2026-12-31" in refused.stderr
    assert counts(session) == (0, 0, 0)
    # Paid in January, outside the locked period, it goes through.
    paid_later = run_cli(
        runner, "hr", "payroll", "run", "--month", "2026-11", "--confirm", "--payment-date", "2027-01-05"
    )
    assert paid_later.exit_code == 0, paid_later.output
    assert "posted as entry PAY/2027/000001" in paid_later.output
