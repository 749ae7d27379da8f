"""What HR sets up when a company enables it: leave types, payroll items and accounts, roles."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import Account, Journal, company_id_of, granting, ledger, users

from ..models import LeaveType, PayrollItem, PayrollSettings

LEAVE_TYPES = [
    # code, name, needs an allocation, paid, default days a year, colour
    ("ANNUAL", "Annual leave", True, True, Decimal("25"), "#2563eb"),
    ("SICK", "Sick leave", False, True, Decimal("0"), "#dc2626"),
    ("UNPAID", "Unpaid leave", False, False, Decimal("0"), "#64748b"),
]
PAYROLL_ACCOUNTS = [
    ("6200", "Salaries and wages", "expense"),
    ("6210", "Employer social contributions", "expense"),
    ("2300", "Net wages payable", "liability"),
    ("2310", "Income tax withheld", "liability"),
    ("2320", "Social security payable", "liability"),
]
PAYROLL_ITEMS = [
    # code, name, kind, method, rate (percent), payable account, sequence
    ("TAX", "Income tax withholding", "deduction", "percent", Decimal("20"), "2310", 10),
    ("SS_EE", "Social security (employee)", "deduction", "percent", Decimal("8"), "2320", 20),
    ("SS_ER", "Social security (employer)", "contribution", "percent", Decimal("12"), "2320", 30),
]
PAYROLL_JOURNAL = ("PAY", "Payroll", "PAY")
ROLES = [
    (
        "HR manager",
        "Everything in HR: people, leave approval, payroll, recruitment",
        [
            "hr.view",
            "hr.employee.manage",
            "hr.leave.approve",
            "hr.payroll.run",
            "hr.payroll.view",
            "hr.recruitment.manage",
            "contacts.view",
        ],
    ),
    ("Payroll officer", "Runs and confirms payroll", ["hr.view", "hr.payroll.run", "hr.payroll.view"]),
]


def settings_of(session: Session) -> PayrollSettings:
    """The company's payroll settings, created with the defaults the first time."""
    company_id = company_id_of(session)
    settings = session.scalar(select(PayrollSettings).where(PayrollSettings.company_id == company_id))
    if settings is None:
        settings = PayrollSettings(company_id=company_id)
        session.add(settings)
        session.flush()
    return settings


def ensure_payroll_accounts(session: Session, codes: set[str] | None = None) -> list[str]:
    """Create the payroll journal and any of the settings' and items' accounts that do not exist.

    An account code HR does not know (set by an admin) is created as a liability when a
    payroll item owes to it, as an expense when it is one of the settings' expense accounts.
    """
    company_id = company_id_of(session)
    settings = settings_of(session)
    known = {code: (name, type_) for code, name, type_ in PAYROLL_ACCOUNTS}
    wanted: dict[str, str] = {
        settings.salary_expense_account: "expense",
        settings.contribution_expense_account: "expense",
        settings.net_payable_account: "liability",
    }
    for item in session.scalars(select(PayrollItem).where(PayrollItem.company_id == company_id)):
        wanted.setdefault(item.payable_account, "liability")
    for code in codes or set():
        wanted.setdefault(code, "liability")
    created: list[str] = []
    with granting(session, "ledger.account.manage", "ledger.view"):
        existing = set(session.scalars(select(Account.code).where(Account.company_id == company_id)))
        for code, type_ in wanted.items():
            if code and code not in existing:
                name, known_type = known.get(code, (f"Payroll {code}", type_))
                ledger.create_account(session, code=code, name=name, type=known_type)
                created.append(f"account {code}")
        journals = set(session.scalars(select(Journal.code).where(Journal.company_id == company_id)))
        if settings.journal_code not in journals:
            code, name, prefix = PAYROLL_JOURNAL
            if settings.journal_code == code:
                ledger.create_journal(session, code=code, name=name, prefix=prefix)
            else:
                ledger.create_journal(session, code=settings.journal_code, name="Payroll")
            created.append(f"journal {settings.journal_code}")
    return created


def install_defaults(session: Session) -> list[str]:
    """Idempotent: leave types, payroll items, settings, accounts and the HR roles, where missing."""
    company_id = company_id_of(session)
    created: list[str] = []
    leave_codes = set(session.scalars(select(LeaveType.code).where(LeaveType.company_id == company_id)))
    for code, name, needs_allocation, paid, days, color in LEAVE_TYPES:
        if code not in leave_codes:
            session.add(
                LeaveType(
                    company_id=company_id,
                    code=code,
                    name=name,
                    needs_allocation=needs_allocation,
                    paid=paid,
                    default_days=days,
                    color=color,
                )
            )
            created.append(f"leave type {code}")
    item_codes = set(session.scalars(select(PayrollItem.code).where(PayrollItem.company_id == company_id)))
    if not item_codes:
        for code, name, kind, method, rate, account, sequence in PAYROLL_ITEMS:
            session.add(
                PayrollItem(
                    company_id=company_id,
                    code=code,
                    name=name,
                    kind=kind,
                    method=method,
                    rate=rate,
                    payable_account=account,
                    sequence=sequence,
                )
            )
            created.append(f"payroll item {code}")
    session.flush()
    created += ensure_payroll_accounts(session)
    for name, description, codes in ROLES:
        users.ensure_role(session, name=name, permissions=codes, description=description)
    session.flush()
    return created
