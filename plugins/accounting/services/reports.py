"""Financial reports, each one SQL aggregation over the ledger (or the open documents).

Signs follow each section's normal balance: assets and expenses are debit minus
credit; liabilities, equity and income are credit minus debit. So every figure
a reader sees is positive when the account is "normal".
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Date, and_, case, func, literal, or_, select, type_coerce, union_all
from sqlalchemy.orm import Session

from core.plugin_api import (
    Account,
    Company,
    Contact,
    JournalEntry,
    JournalLine,
    NotFound,
    ValidationError,
    company_id_of,
    granting,
    ledger,
    require_permission,
)

from ..models import CUSTOMER_KINDS, REFUND_KINDS, VENDOR_KINDS, Allocation, Invoice
from .common import CENT, ZERO, parse_date

DEBIT_NORMAL = ("asset", "expense")
POSTED = ("posted", "reversed")
AGED_BUCKETS = ("0-30", "31-60", "61-90", "90+")


def _normal(account_type: str, debit: Decimal, credit: Decimal) -> Decimal:
    return debit - credit if account_type in DEBIT_NORMAL else credit - debit


def _check_period(
    date_from: dt.date | None, date_to: dt.date | None, *, as_of: dt.date | None = None
) -> None:
    errors: dict[str, list[str]] = {}
    for field_name, value in (("date_from", date_from), ("date_to", date_to), ("as_of", as_of)):
        if value is not None:
            parse_date(value, field_name, errors)
    if not errors and date_from and date_to and date_from > date_to:
        errors["date_from"] = ["must not be after date_to"]
    if errors:
        raise ValidationError("invalid period", fields=errors)


def previous_period(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """The period just before: whole months shift by months (March -> February), else by days."""
    try:
        return _previous_period(date_from, date_to)
    except (ValueError, OverflowError):
        raise ValidationError(
            "the period is too long to compare",
            fields={"date_from": ["the previous period would start before year 1"]},
        ) from None


def _previous_period(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    last_day = calendar.monthrange(date_to.year, date_to.month)[1]
    if date_from.day == 1 and date_to.day == last_day:
        months = (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1
        start_index = date_from.year * 12 + date_from.month - 1 - months
        start = dt.date(start_index // 12, start_index % 12 + 1, 1)
        end = date_from - dt.timedelta(days=1)
        return start, end
    length = (date_to - date_from).days + 1
    end = date_from - dt.timedelta(days=1)
    return end - dt.timedelta(days=length - 1), end


def _balances(session: Session, date_from: dt.date | None, date_to: dt.date | None) -> dict[int, Any]:
    with granting(session, "ledger.view"):
        return {
            row.account_id: row
            for row in ledger.trial_balance(session, date_from=date_from, date_to=date_to).rows
        }


# --- trial balance and general ledger -------------------------------------------------------------------


@require_permission("accounting.report.view")
def trial_balance(
    session: Session, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Any:
    """The core trial balance (debit, credit, balance per account) for a period."""
    _check_period(date_from, date_to)
    with granting(session, "ledger.view"):
        return ledger.trial_balance(session, date_from=date_from, date_to=date_to)


@dataclass
class LedgerLine:
    date: dt.date
    number: str
    entry_id: int
    memo: str
    contact: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass
class GeneralLedger:
    account: Account
    date_from: dt.date | None
    date_to: dt.date | None
    opening: Decimal
    lines: list[LedgerLine]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def closing(self) -> Decimal:
        return self.opening + self.total_debit - self.total_credit


@require_permission("accounting.report.view")
def general_ledger(
    session: Session, account: str | int, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> GeneralLedger:
    """Every posted line of one account in a period, with the opening balance and a running balance
    (debit minus credit)."""
    _check_period(date_from, date_to)
    company_id = company_id_of(session)
    stmt = select(Account).where(Account.company_id == company_id)
    found = session.scalar(stmt.where(Account.code == str(account)))
    if (
        found is None
        and (isinstance(account, int) or (str(account).isascii() and str(account).isdigit()))
        and int(account) < 2**62
    ):
        found = session.scalar(stmt.where(Account.id == int(account)))
    if found is None:
        raise NotFound(f"account {account} not found")
    opening = ZERO
    if date_from is not None:
        debit, credit = session.execute(
            select(func.sum(JournalLine.debit), func.sum(JournalLine.credit))
            .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
            .where(
                JournalEntry.company_id == company_id,
                JournalEntry.state.in_(POSTED),
                JournalEntry.date < date_from,
                JournalLine.account_id == found.id,
            )
        ).one()
        opening = (debit or ZERO) - (credit or ZERO)
    conditions = [
        JournalEntry.company_id == company_id,
        JournalEntry.state.in_(POSTED),
        JournalLine.account_id == found.id,
    ]
    if date_from is not None:
        conditions.append(JournalEntry.date >= date_from)
    if date_to is not None:
        conditions.append(JournalEntry.date <= date_to)
    rows = session.execute(
        select(
            JournalEntry.date,
            JournalEntry.number,
            JournalEntry.id,
            JournalEntry.memo,
            JournalLine.memo.label("line_memo"),
            Contact.name,
            JournalLine.debit,
            JournalLine.credit,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .outerjoin(Contact, Contact.id == JournalLine.contact_id)
        .where(*conditions)
        .order_by(JournalEntry.date, JournalEntry.id, JournalLine.id)
    ).all()
    balance = opening
    lines = []
    for row in rows:
        balance += row.debit - row.credit
        lines.append(
            LedgerLine(
                row.date, row.number or "", row.id, row.line_memo or row.memo, row.name or "",
                row.debit, row.credit, balance,
            )
        )  # fmt: skip
    return GeneralLedger(found, date_from, date_to, opening, lines)


# --- profit and loss, balance sheet -------------------------------------------------------------------------


@dataclass
class ReportRow:
    code: str
    name: str
    amount: Decimal
    previous: Decimal
    account_id: int | None = None


@dataclass
class ReportSection:
    key: str
    title: str
    rows: list[ReportRow] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((row.amount for row in self.rows), ZERO)

    @property
    def previous_total(self) -> Decimal:
        return sum((row.previous for row in self.rows), ZERO)


@dataclass
class ProfitAndLoss:
    date_from: dt.date
    date_to: dt.date
    previous_from: dt.date
    previous_to: dt.date
    income: ReportSection
    expenses: ReportSection

    @property
    def net_profit(self) -> Decimal:
        return self.income.total - self.expenses.total

    @property
    def previous_net_profit(self) -> Decimal:
        return self.income.previous_total - self.expenses.previous_total


def _sections(
    current: dict[int, Any], previous: dict[int, Any], keys: dict[str, tuple[str, str]]
) -> dict[str, ReportSection]:
    """Group accounts by type into sections; an account appears when either period has a figure."""
    sections = {type_: ReportSection(key, title) for type_, (key, title) in keys.items()}
    for account_id in sorted(
        set(current) | set(previous), key=lambda i: (current.get(i) or previous[i]).code
    ):
        row = current.get(account_id) or previous[account_id]
        if row.type not in sections:
            continue
        now = current.get(account_id)
        before = previous.get(account_id)
        amount = _normal(row.type, now.debit, now.credit) if now else ZERO
        prior = _normal(row.type, before.debit, before.credit) if before else ZERO
        if amount or prior:
            sections[row.type].rows.append(ReportRow(row.code, row.name, amount, prior, account_id))
    return sections


@require_permission("accounting.report.view")
def profit_and_loss(session: Session, *, date_from: dt.date, date_to: dt.date) -> ProfitAndLoss:
    """Income and expenses per account for a period, next to the previous period of the same length."""
    _check_period(date_from, date_to)
    prev_from, prev_to = previous_period(date_from, date_to)
    sections = _sections(
        _balances(session, date_from, date_to),
        _balances(session, prev_from, prev_to),
        {"income": ("income", "Income"), "expense": ("expenses", "Expenses")},
    )
    return ProfitAndLoss(date_from, date_to, prev_from, prev_to, sections["income"], sections["expense"])


@dataclass
class BalanceSheet:
    date: dt.date
    previous_date: dt.date
    assets: ReportSection
    liabilities: ReportSection
    equity: ReportSection

    @property
    def liabilities_and_equity(self) -> Decimal:
        return self.liabilities.total + self.equity.total

    @property
    def previous_liabilities_and_equity(self) -> Decimal:
        return self.liabilities.previous_total + self.equity.previous_total

    @property
    def balanced(self) -> bool:
        return (
            self.assets.total == self.liabilities_and_equity
            and self.assets.previous_total == self.previous_liabilities_and_equity
        )


def _year_before(day: dt.date) -> dt.date:
    return (
        day.replace(year=day.year - 1)
        if (day.month, day.day) != (2, 29)
        else day.replace(year=day.year - 1, day=28)
    )


def _fiscal_year_start(company: Company, day: dt.date) -> dt.date:
    month = company.fiscal_year_start_month or 1
    year = day.year if day.month >= month else day.year - 1
    return dt.date(year, month, 1)


def _earnings(session: Session, date_from: dt.date | None, date_to: dt.date) -> Decimal:
    """Income minus expenses posted in a period: profit not yet closed into equity."""
    if date_from is not None and date_from > date_to:
        return ZERO
    total = ZERO
    for row in _balances(session, date_from, date_to).values():
        if row.type == "income":
            total += row.credit - row.debit
        elif row.type == "expense":
            total -= row.debit - row.credit
    return total


@require_permission("accounting.report.view")
def balance_sheet(session: Session, *, date_to: dt.date, date_from: dt.date | None = None) -> BalanceSheet:
    """Assets, liabilities and equity at ``date_to``, next to the end of the previous period.

    The previous column is the day before ``date_from`` (the end of the previous
    period), or a year earlier when no period start is given. Profit not yet
    closed into equity shows as current-year earnings (since the fiscal year
    start) and prior-year earnings, so the sheet balances without closing entries.
    """
    _check_period(date_from, date_to)
    previous_date = date_from - dt.timedelta(days=1) if date_from else _year_before(date_to)
    company = session.get(Company, company_id_of(session))
    sections = _sections(
        _balances(session, None, date_to),
        _balances(session, None, previous_date),
        {
            "asset": ("assets", "Assets"),
            "liability": ("liabilities", "Liabilities"),
            "equity": ("equity", "Equity"),
        },
    )
    equity = sections["equity"]
    now_start = _fiscal_year_start(company, date_to)
    before_start = _fiscal_year_start(company, previous_date)
    prior = (
        _earnings(session, None, now_start - dt.timedelta(days=1)),
        _earnings(session, None, before_start - dt.timedelta(days=1)),
    )
    current = (_earnings(session, now_start, date_to), _earnings(session, before_start, previous_date))
    if any(prior):
        equity.rows.append(ReportRow("", "Prior years' earnings", *prior))
    if any(current):
        equity.rows.append(ReportRow("", "Current year earnings", *current))
    return BalanceSheet(date_to, previous_date, sections["asset"], sections["liability"], equity)


# --- aged receivables and payables --------------------------------------------------------------------------


@dataclass
class AgedRow:
    contact_id: int
    contact: str
    buckets: list[Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.buckets, ZERO)


@dataclass
class AgedReport:
    side: str  # receivable | payable
    as_of: dt.date
    rows: list[AgedRow]

    @property
    def totals(self) -> list[Decimal]:
        return [sum((row.buckets[i] for row in self.rows), ZERO) for i in range(len(AGED_BUCKETS))]

    @property
    def total(self) -> Decimal:
        return sum(self.totals, ZERO)


def aged_statement(company_id: int, side: str, as_of: dt.date) -> Any:
    """The aged query: open amount per contact and bucket, in minor units, as of a date.

    What is open on a document as of ``as_of`` is its total less the allocations
    dated on or before it; age counts from the due date, and what is not yet due
    sits in the first bucket.
    """
    kinds = CUSTOMER_KINDS if side == "receivable" else VENDOR_KINDS
    units = lambda column: type_coerce(column, BigInteger)  # noqa: E731 - minor units, summed exactly
    settled_rows = union_all(
        select(Allocation.invoice_id.label("doc_id"), units(Allocation.amount).label("amount")).where(
            Allocation.company_id == company_id, Allocation.date <= as_of
        ),
        select(Allocation.credit_note_id.label("doc_id"), units(Allocation.amount).label("amount")).where(
            Allocation.company_id == company_id,
            Allocation.date <= as_of,
            Allocation.credit_note_id.is_not(None),
        ),
    ).subquery()
    settled = (
        select(settled_rows.c.doc_id, func.sum(settled_rows.c.amount).label("amount"))
        .group_by(settled_rows.c.doc_id)
        .subquery()
    )
    sign = case((Invoice.kind.in_(REFUND_KINDS), -1), else_=1)
    open_amount = (units(Invoice.total) - func.coalesce(settled.c.amount, 0)) * sign
    limits = [as_of - dt.timedelta(days=days) for days in (30, 60, 90)]
    due = Invoice.due_date
    buckets = [
        due >= type_coerce(literal(limits[0]), Date),
        and_(due < limits[0], due >= limits[1]),
        and_(due < limits[1], due >= limits[2]),
        due < limits[2],
    ]
    columns = [
        func.sum(case((condition, open_amount), else_=0)).label(f"b{i}")
        for i, condition in enumerate(buckets)
    ]
    return (
        select(Invoice.contact_id, *columns)
        .outerjoin(settled, settled.c.doc_id == Invoice.id)
        .where(
            Invoice.company_id == company_id,
            Invoice.kind.in_(kinds),
            Invoice.state != "draft",
            Invoice.date <= as_of,
            or_(settled.c.amount.is_(None), units(Invoice.total) != settled.c.amount),
        )
        .group_by(Invoice.contact_id)
    )


@require_permission("accounting.report.view")
def aged(session: Session, side: str = "receivable", *, as_of: dt.date | None = None) -> AgedReport:
    """Aged receivables (customers) or payables (vendors): open amounts per contact in 0-30, 31-60,
    61-90 and 90+ days past due; credit notes count negative."""
    if side not in ("receivable", "payable"):
        raise ValidationError("invalid side", fields={"side": ["must be receivable or payable"]})
    as_of = as_of or dt.date.today()
    _check_period(None, None, as_of=as_of)
    company_id = company_id_of(session)
    sums = aged_statement(company_id, side, as_of).subquery()
    stmt = (
        select(sums, Contact.name)
        .join(Contact, Contact.id == sums.c.contact_id)
        .order_by(Contact.name, Contact.id)
    )
    rows = []
    for row in session.execute(stmt):
        buckets = [(Decimal(int(getattr(row, f"b{i}") or 0)) / 100).quantize(CENT) for i in range(4)]
        if any(buckets):
            rows.append(AgedRow(row.contact_id, row.name, buckets))
    return AgedReport(side, as_of, rows)


# --- dashboard trend ---------------------------------------------------------------------------------------


@dataclass
class Trend:
    labels: list[str]
    income: list[Decimal]
    expenses: list[Decimal]

    @property
    def profit(self) -> list[Decimal]:
        return [i - e for i, e in zip(self.income, self.expenses, strict=True)]


@require_permission("accounting.report.view")
def monthly_trend(session: Session, *, months: int = 12, end: dt.date | None = None) -> Trend:
    """Income and expenses per calendar month for the last ``months`` months (SQL grouped by day)."""
    end = end or dt.date.today()
    _check_period(None, end)
    index = end.year * 12 + end.month - 1
    starts = [dt.date((index - k) // 12, (index - k) % 12 + 1, 1) for k in range(months - 1, -1, -1)]
    stmt = (
        select(
            JournalEntry.date,
            Account.type,
            func.sum(JournalLine.debit).label("debit"),
            func.sum(JournalLine.credit).label("credit"),
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(
            JournalEntry.company_id == company_id_of(session),
            JournalEntry.state.in_(POSTED),
            JournalEntry.date >= starts[0],
            JournalEntry.date <= end,
            Account.type.in_(("income", "expense")),
        )
        .group_by(JournalEntry.date, Account.type)
    )
    income: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    expenses: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    for row in session.execute(stmt):
        key = (row.date.year, row.date.month)
        if row.type == "income":
            income[key] += (row.credit or ZERO) - (row.debit or ZERO)
        else:
            expenses[key] += (row.debit or ZERO) - (row.credit or ZERO)
    keys = [(s.year, s.month) for s in starts]
    return Trend(
        [s.strftime("%b %y") for s in starts], [income[k] for k in keys], [expenses[k] for k in keys]
    )
