"""Payroll: settings, payroll items, monthly runs with a payslip per employee, and posting to the ledger.

A run is computed in Python over rows loaded in bulk and inserted with executemany, so a
company of thousands is paid in seconds. For each employee with a contract in the month:

- gross: the monthly wage (an hourly wage times hours a week x 52 / 12, to cents half up),
  prorated by calendar days when the contract starts or ends inside the month
  (``wage x days covered / days in the month``, to cents half up), plus adjustments;
- each active payroll item in sequence: ``rate`` percent of gross (to cents half up) or a fixed
  amount. Deductions are withheld from the employee (net = gross - deductions); contributions
  are the employer's cost on top of gross. Both are owed to the item's payable account.

Confirming a run posts one balanced entry to the payroll journal (salaries and contributions
expensed, each payable credited, net wages owed to each employee's contact) and locks it.
A correction run, for a month whose regular run is confirmed, pays adjustments to chosen people.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    Contact,
    EntryInput,
    JournalEntry,
    LineInput,
    NotFound,
    Page,
    ValidationError,
    check_duty,
    company_id_of,
    emit,
    granting,
    keyset_page,
    ledger,
    notifications,
    require_permission,
    utcnow,
    validation,
)

from ..models import (
    PAYROLL_ITEM_KINDS,
    PAYROLL_ITEM_METHODS,
    PAYROLL_RUN_KINDS,
    Employee,
    PayrollItem,
    PayrollRun,
    PayrollSettings,
    Payslip,
    PayslipLine,
)
from .common import actor_id, can, get_record, is_self
from .contracts import contracts_for_month, month_bounds
from .setup import ensure_payroll_accounts, settings_of

ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
CHUNK = 500  # payslips inserted (and reported to ``progress``) at a time
ACCOUNT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,19}")
ITEM_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,19}")
SETTINGS_FIELDS = (
    "journal_code",
    "salary_expense_account",
    "contribution_expense_account",
    "net_payable_account",
)
MAX_ADJUSTMENT = Decimal("9999999999.99")
MAX_CORRECTION_EMPLOYEES = 10_000
# Line order on a payslip: basic pay, adjustments, then the items in their own sequence.
BASIC_SEQUENCE, ADJUSTMENT_SEQUENCE, ITEM_SEQUENCE = 0, 10, 100
RUN_SORTS = {"id": PayrollRun.id}
ProgressCallback = Callable[[int, int], None]


# --- settings -------------------------------------------------------------------------------------


@require_permission("hr.payroll.view")
def get_settings(session: Session) -> PayrollSettings:
    """Where payroll posts: the journal and the salary, contribution and net wages accounts."""
    return settings_of(session)


def _account_code(value: Any, key: str, errors: dict[str, list[str]]) -> str:
    code = validation.parse_text(value, key, errors, limit=20, required=True)
    if key not in errors and not ACCOUNT_CODE.fullmatch(code):
        errors[key] = ["must be an account code: letters, digits, '.', '-' or '_' (at most 20)"]
    return code


@require_permission("hr.payroll.run")
def update_settings(session: Session, data: Mapping[str, Any]) -> PayrollSettings:
    """Change the journal code and the accounts given in ``data``.

    Accounts and the journal that do not exist yet are created when a run is confirmed.
    """
    settings = settings_of(session)
    validation.lock_row(session, settings)
    errors: dict[str, list[str]] = {}
    values = {key: _account_code(data[key], key, errors) for key in SETTINGS_FIELDS if key in data}
    unknown = sorted(set(data) - set(SETTINGS_FIELDS))
    for key in unknown:
        errors[key] = ["unknown field"]
    if "journal_code" in values and "/" in values["journal_code"]:
        errors["journal_code"] = ["must not contain '/'"]
    validation.raise_if(errors, "invalid payroll settings")
    for key, value in values.items():
        setattr(settings, key, value)
    session.flush()
    emit(session, "hr.payroll.settings_updated", {"fields": sorted(values)})
    return settings


# --- payroll items --------------------------------------------------------------------------------


@require_permission("hr.payroll.view")
def list_items(session: Session, *, active_only: bool = False) -> list[PayrollItem]:
    """The company's payroll items in the order they apply (sequence, then code)."""
    stmt = select(PayrollItem).where(PayrollItem.company_id == company_id_of(session))
    if active_only:
        stmt = stmt.where(PayrollItem.active.is_(True))
    return list(session.scalars(stmt.order_by(PayrollItem.sequence, PayrollItem.code)))


@require_permission("hr.payroll.view")
def get_item(session: Session, item_id: Any) -> PayrollItem:
    return get_record(session, PayrollItem, item_id, "payroll item")


def _clean_item(
    session: Session, data: Mapping[str, Any], item: PayrollItem | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    """The item fields present in ``data``, validated (with the item's current values for the rest)."""
    allowed = {"code", "name", "kind", "method", "rate", "amount", "payable_account", "sequence", "active"}
    for key in sorted(set(data) - allowed):
        errors[key] = ["unknown field"]
    values: dict[str, Any] = {}
    if "code" in data or item is None:
        code = validation.parse_text(data.get("code"), "code", errors, limit=20, required=True)
        if "code" not in errors and not ITEM_CODE.fullmatch(code):
            errors["code"] = ["letters, digits, '_', '.' or '-' (at most 20)"]
        elif "code" not in errors and session.scalar(
            select(PayrollItem.id).where(
                PayrollItem.company_id == company_id_of(session),
                PayrollItem.code == code,
                PayrollItem.id != (item.id if item is not None else -1),
            )
        ):
            errors["code"] = ["another payroll item has this code"]
        values["code"] = code
    if "name" in data or item is None:
        values["name"] = validation.parse_text(data.get("name"), "name", errors, limit=100, required=True)
    for key, choices in (("kind", PAYROLL_ITEM_KINDS), ("method", PAYROLL_ITEM_METHODS)):
        if key in data or item is None:
            value = data.get(key) or (None if item is not None else choices[0])
            if value not in choices:
                errors[key] = [f"must be one of {', '.join(choices)}"]
            values[key] = value
    method = values.get("method", item.method if item is not None else "percent")
    if "rate" in data or (item is None and method == "percent"):
        rate = validation.parse_decimal(data.get("rate"), "rate", errors, places=4, default=ZERO)
        if "rate" not in errors and not ZERO <= rate <= HUNDRED:
            errors["rate"] = ["must be a percentage between 0 and 100"]
        values["rate"] = rate
    if "amount" in data or (item is None and method == "fixed"):
        amount = validation.parse_decimal(data.get("amount"), "amount", errors, default=ZERO)
        if "amount" not in errors and amount < 0:
            errors["amount"] = ["must not be negative"]
        values["amount"] = amount
    if "payable_account" in data or item is None:
        values["payable_account"] = _account_code(data.get("payable_account"), "payable_account", errors)
    if "sequence" in data:
        raw = data["sequence"]
        sequence = 0 if raw in (0, "0") else validation.parse_id(raw)  # parse_id: ids start at 1
        if sequence is None or sequence > 10_000:
            errors["sequence"] = ["must be a whole number from 0 to 10000"]
        values["sequence"] = sequence
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["must be true or false"]
        values["active"] = data["active"]
    return values


@require_permission("hr.payroll.run")
def create_item(session: Session, data: Mapping[str, Any]) -> PayrollItem:
    """A payroll item: ``code`` (unique), ``name``, ``kind`` deduction|contribution, ``method``
    percent (``rate``, 0-100 with up to 4 decimals) or fixed (``amount`` >= 0), the ``payable_account``
    it is owed to, and ``sequence`` (the order items apply in)."""
    errors: dict[str, list[str]] = {}
    values = _clean_item(session, data, None, errors)
    validation.raise_if(errors, "invalid payroll item")
    if values.get("sequence") is None:
        values.pop("sequence", None)
    item = PayrollItem(company_id=company_id_of(session), **values)
    session.add(item)
    session.flush()
    emit(session, "hr.payroll_item.created", {"id": item.id, "code": item.code})
    return item


@require_permission("hr.payroll.run")
def update_item(session: Session, item: PayrollItem, data: Mapping[str, Any]) -> PayrollItem:
    """Change the fields given in ``data``. Runs computed before keep their figures: a draft run
    takes the new rules when it is deleted and computed again."""
    validation.lock_row(session, item)
    errors: dict[str, list[str]] = {}
    values = _clean_item(session, data, item, errors)
    validation.raise_if(errors, "invalid payroll item")
    for key, value in values.items():
        setattr(item, key, value)
    session.flush()
    emit(session, "hr.payroll_item.updated", {"id": item.id, "fields": sorted(values)})
    return item


@require_permission("hr.payroll.run")
def deactivate_item(session: Session, item: PayrollItem) -> PayrollItem:
    """Stop applying an item to new runs (past payslips keep their lines)."""
    return update_item(session, item, {"active": False})


# --- computing ------------------------------------------------------------------------------------


def monthly_wage(wage: Decimal, wage_period: str, hours_per_week: Decimal) -> Decimal:
    """A month's pay: the wage itself, or an hourly wage x hours a week x 52 / 12 (to cents half up)."""
    if wage_period == "hour":
        return validation.cents(wage * hours_per_week * 52 / 12)
    return wage


def prorated(amount: Decimal, days: int, days_in_month: int) -> Decimal:
    """``amount`` for ``days`` of a month of ``days_in_month`` calendar days (to cents half up)."""
    if days >= days_in_month:
        return amount
    return validation.cents(amount * days / days_in_month)


def covered_days(start: dt.date, end: dt.date | None, first: dt.date, last: dt.date) -> int:
    """Calendar days of the contract ``start``..``end`` (open-ended: None) inside ``first``..``last``."""
    begin = max(start, first)
    finish = min(end, last) if end is not None else last
    return max((finish - begin).days + 1, 0)


@dataclass
class _Rule:
    """A payroll item as the computation needs it (plain values, no ORM access in the hot loop)."""

    kind: str
    code: str
    name: str
    method: str
    rate: Decimal
    amount: Decimal
    account: str
    sequence: int


@dataclass
class _Computed:
    employee_id: int
    contract_id: int | None
    lines: list[dict[str, Any]] = field(default_factory=list)
    gross: Decimal = ZERO
    deductions: Decimal = ZERO
    contributions: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.gross - self.deductions


def _rules(session: Session) -> list[_Rule]:
    items = session.scalars(
        select(PayrollItem)
        .where(PayrollItem.company_id == company_id_of(session), PayrollItem.active.is_(True))
        .order_by(PayrollItem.sequence, PayrollItem.code)
    )
    return [
        _Rule(i.kind, i.code, i.name, i.method, i.rate, i.amount, i.payable_account, i.sequence)
        for i in items
    ]


def _apply_rules(slip: _Computed, rules: Sequence[_Rule], *, fixed: bool) -> None:
    """Add the item lines for ``slip.gross`` and total them; ``fixed`` False skips fixed amounts
    (a correction run: the month's regular run took them already)."""
    deductions = contributions = ZERO
    for rule in rules:
        if rule.method == "percent":
            amount, rate = validation.cents(slip.gross * rule.rate / HUNDRED), rule.rate
        elif fixed:
            amount, rate = rule.amount, None
        else:
            continue
        if amount == 0:
            continue
        slip.lines.append(
            {
                "kind": rule.kind,
                "code": rule.code,
                "name": rule.name,
                "rate": rate,
                "amount": amount,
                "account": rule.account,
                "sequence": ITEM_SEQUENCE + rule.sequence,
            }
        )
        if rule.kind == "deduction":
            deductions += amount
        else:
            contributions += amount
    slip.deductions, slip.contributions = deductions, contributions


def _basic_name(days: int, days_in_month: int, start: dt.date, end: dt.date) -> str:
    if days >= days_in_month:
        return "Basic pay"
    return f"Basic pay ({start.isoformat()} to {end.isoformat()}, {days}/{days_in_month} days)"


def _compute_regular(session: Session, year: int, month: int, rules: Sequence[_Rule]) -> list[_Computed]:
    first, last = month_bounds(year, month)
    days_in_month = last.day
    slips: dict[int, _Computed] = {}
    for row in contracts_for_month(session, year, month):
        days = covered_days(row.start_date, row.end_date, first, last)
        if days == 0:
            continue
        slip = slips.get(row.employee_id)
        if slip is None:
            slip = slips[row.employee_id] = _Computed(row.employee_id, row.id)
        slip.contract_id = row.id  # the latest contract of the month
        amount = prorated(monthly_wage(row.wage, row.wage_period, row.hours_per_week), days, days_in_month)
        begin, finish = max(row.start_date, first), min(row.end_date or last, last)
        slip.lines.append(
            {
                "kind": "basic",
                "code": "BASIC",
                "name": _basic_name(days, days_in_month, begin, finish),
                "rate": None,
                "amount": amount,
                "account": "",
                "sequence": BASIC_SEQUENCE,
            }
        )
        slip.gross += amount
    for slip in slips.values():
        _apply_rules(slip, rules, fixed=True)
    return list(slips.values())


def parse_period(value: Any, errors: dict[str, list[str]], key: str = "month") -> tuple[int, int]:
    """``"YYYY-MM"`` as (year, month); a bad value becomes a field message (and (0, 0))."""
    text = value.strip() if isinstance(value, str) else ""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1900 <= int(match.group(1)) <= 9899 or not 1 <= int(match.group(2)) <= 12:
        errors[key] = ["must be a month (YYYY-MM)"]
        return 0, 0
    return int(match.group(1)), int(match.group(2))


def _period(year: Any, month: Any, errors: dict[str, list[str]]) -> tuple[int, int]:
    y, m = validation.parse_id(year), validation.parse_id(month)
    if y is None or m is None or not 1900 <= y <= 9899 or not 1 <= m <= 12:
        errors["month"] = ["must be a month (YYYY-MM)"]
        return 0, 0
    return y, m


def _employee_ids(session: Session, value: Any, errors: dict[str, list[str]]) -> list[int]:
    """The company's employees among ``value`` (ids), in number order; anything else a field message."""
    if value in (None, "") or (isinstance(value, list | tuple) and not value):
        errors["employee_ids"] = ["choose the employees a correction run pays"]
        return []
    if not isinstance(value, list | tuple) or len(value) > MAX_CORRECTION_EMPLOYEES:
        errors["employee_ids"] = [f"must be a list of at most {MAX_CORRECTION_EMPLOYEES} employee ids"]
        return []
    ids = [validation.parse_id(v) for v in value]
    if any(i is None for i in ids):  # parse_id: None also for a number no row id can be
        errors["employee_ids"] = ["must be employee ids"]
        return []
    wanted = set(ids)
    found = list(
        session.scalars(
            select(Employee.id)
            .where(Employee.company_id == company_id_of(session), Employee.id.in_(wanted))
            .order_by(Employee.number, Employee.id)
        )
    )
    if len(found) != len(wanted):
        missing = sorted(wanted - set(found))
        errors["employee_ids"] = [f"no such employee: {', '.join(str(i) for i in missing[:10])}"]
    return found


@require_permission("hr.payroll.run")
def correction_choices(session: Session, limit: int = 10_000) -> list[Employee]:
    """The employees a correction run can pay (everyone with a file), by number."""
    return list(
        session.scalars(
            select(Employee)
            .where(Employee.company_id == company_id_of(session))
            .order_by(Employee.number, Employee.id)
            .limit(limit)
        )
    )


def _insert_payslips(
    session: Session, run: PayrollRun, slips: list[_Computed], progress: ProgressCallback | None
) -> None:
    """Payslips and their lines with executemany, ``CHUNK`` at a time, reporting progress.

    The new payslips' ids are read back by employee (unique in a run): an INSERT ... RETURNING
    that keeps the rows' order runs one row at a time on SQLite.
    """
    total = len(slips)
    done = 0
    iterator = iter(slips)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        session.execute(
            insert(Payslip.__table__),
            [
                {
                    "company_id": run.company_id,
                    "run_id": run.id,
                    "employee_id": s.employee_id,
                    "contract_id": s.contract_id,
                    "gross": s.gross,
                    "total_deductions": s.deductions,
                    "total_contributions": s.contributions,
                    "net": s.net,
                }
                for s in chunk
            ],
        )
        ids = dict(
            session.execute(
                select(Payslip.employee_id, Payslip.id).where(
                    Payslip.run_id == run.id, Payslip.employee_id.in_([s.employee_id for s in chunk])
                )
            ).all()
        )
        lines = [{**line, "payslip_id": ids[s.employee_id]} for s in chunk for line in s.lines]
        if lines:
            session.execute(insert(PayslipLine.__table__), lines)
        done += len(chunk)
        if progress is not None:
            progress(done, total)


@require_permission("hr.payroll.run")
def create_run(
    session: Session,
    year: Any,
    month: Any,
    kind: str = "regular",
    payment_date: Any = None,
    employee_ids: Any = None,
    progress: ProgressCallback | None = None,
) -> PayrollRun:
    """Compute a draft run for a month.

    ``regular``: a payslip for each employee with a contract in the month; one regular run per
    month (a second one is a :class:`Conflict` on ``month``). ``correction``: for a month whose
    regular run is confirmed, empty payslips (gross 0) for ``employee_ids``, to which adjustments
    are then added. ``payment_date`` (the entry's date) defaults to the month's last day.
    ``progress(done, total)`` is called as payslips are stored.
    """
    errors: dict[str, list[str]] = {}
    year, month = _period(year, month, errors)
    if kind not in PAYROLL_RUN_KINDS:
        errors["kind"] = [f"must be one of {', '.join(PAYROLL_RUN_KINDS)}"]
    paid_on = validation.parse_date(payment_date, "payment_date", errors, required=False)
    ids: list[int] = []
    if kind == "correction":
        ids = _employee_ids(session, employee_ids, errors)
    elif employee_ids not in (None, "", [], ()):
        errors["employee_ids"] = ["only a correction run is for chosen employees"]
    validation.raise_if(errors, "invalid payroll run")
    period = f"{year:04d}-{month:02d}"
    # One run computed at a time per company: the settings row is the company's payroll lock.
    settings = settings_of(session)
    validation.lock_row(session, settings)
    company_id = company_id_of(session)
    regular = session.scalars(
        select(PayrollRun.state).where(
            PayrollRun.company_id == company_id,
            PayrollRun.year == year,
            PayrollRun.month == month,
            PayrollRun.kind == "regular",
        )
    ).all()
    rules = _rules(session)
    if kind == "regular":
        if regular:
            message = f"a payroll run for {period} already exists"
            raise Conflict(message, fields={"month": [message]})
        slips = _compute_regular(session, year, month, rules)
        if not slips:
            raise ValidationError(
                f"no employee has a contract in {period}", fields={"month": [f"no contract covers {period}"]}
            )
    else:
        if "confirmed" not in regular:
            message = f"a correction needs a confirmed regular run for {period}"
            raise ValidationError(message, fields={"month": [message]})
        slips = [_Computed(employee_id, None) for employee_id in ids]
    run = PayrollRun(
        company_id=company_id,
        year=year,
        month=month,
        kind=kind,
        state="draft",
        payment_date=paid_on or month_bounds(year, month)[1],
    )
    _set_totals(run, slips)
    session.add(run)
    session.flush()
    _insert_payslips(session, run, slips, progress)
    emit(
        session,
        "hr.payroll.computed",
        {
            "id": run.id,
            "period": period,
            "kind": kind,
            "employees": len(slips),
            "total_net": str(run.total_net),
        },
    )
    return run


def _set_totals(run: PayrollRun, slips: Iterable[_Computed]) -> None:
    gross = deductions = contributions = ZERO
    count = 0
    for slip in slips:
        gross += slip.gross
        deductions += slip.deductions
        contributions += slip.contributions
        count += 1
    run.total_gross, run.total_deductions = gross, deductions
    run.total_contributions, run.total_net = contributions, gross - deductions
    run.employee_count = count


def _refresh_run_totals(session: Session, run: PayrollRun) -> None:
    gross, deductions, contributions, net, count = session.execute(
        select(
            func.sum(Payslip.gross),
            func.sum(Payslip.total_deductions),
            func.sum(Payslip.total_contributions),
            func.sum(Payslip.net),
            func.count(Payslip.id),
        ).where(Payslip.run_id == run.id)
    ).one()
    run.total_gross, run.total_deductions = gross or ZERO, deductions or ZERO
    run.total_contributions, run.total_net = contributions or ZERO, net or ZERO
    run.employee_count = count or 0


# --- runs -----------------------------------------------------------------------------------------


@require_permission("hr.payroll.view")
def get_run(session: Session, run_id: Any) -> PayrollRun:
    return get_record(session, PayrollRun, run_id, "payroll run")


@require_permission("hr.payroll.view")
def list_runs(
    session: Session, *, limit: int = 50, after: tuple[Any, int] | None = None, year: int | None = None
) -> Page:
    """Runs, newest first, a page at a time."""
    stmt = select(PayrollRun).where(PayrollRun.company_id == company_id_of(session))
    if year is not None:
        stmt = stmt.where(PayrollRun.year == year)
    return keyset_page(
        session,
        stmt,
        column=PayrollRun.id,
        id_column=PayrollRun.id,
        descending=True,
        after=after,
        limit=limit,
    )


@require_permission("hr.payroll.view")
def run_payslips(
    session: Session, run: PayrollRun, *, limit: int = 100, after: tuple[Any, int] | None = None
) -> Page:
    """A run's payslips (with their employee) in employee number order, a page at a time."""
    stmt = select(Payslip).where(Payslip.run_id == run.id)
    return keyset_page(session, stmt, column=Payslip.id, id_column=Payslip.id, after=after, limit=limit)


@dataclass(frozen=True)
class PayslipRow:
    """A payslip as an export row: no ORM objects, so a run of thousands streams cheaply."""

    id: int
    number: str
    name: str
    gross: Decimal
    deductions: Decimal
    contributions: Decimal
    net: Decimal


@require_permission("hr.payroll.view")
def payslip_rows(session: Session, run: PayrollRun) -> Iterable[PayslipRow]:
    """Every payslip of a run, for exports, in employee number order."""
    stmt = (
        select(
            Payslip.id,
            Employee.number,
            Contact.name,
            Payslip.gross,
            Payslip.total_deductions,
            Payslip.total_contributions,
            Payslip.net,
        )
        .join(Employee, Employee.id == Payslip.employee_id)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(Payslip.run_id == run.id)
        .order_by(Payslip.id)
    )
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        yield PayslipRow(*row)


def _lock_draft(session: Session, run: PayrollRun, action: str) -> None:
    """Row-lock the run, then refuse anything but a draft (a confirmed run is locked)."""
    validation.lock_row(session, run)
    if run.state != "draft":
        raise Conflict(f"payroll run {run.period} is {run.state}: it cannot {action}")


@require_permission("hr.payroll.run")
def delete_run(session: Session, run: PayrollRun) -> None:
    """Delete a draft run and its payslips."""
    _lock_draft(session, run, "be deleted")
    run_id, period = run.id, run.period
    slips = select(Payslip.id).where(Payslip.run_id == run_id).scalar_subquery()
    session.execute(
        delete(PayslipLine)
        .where(PayslipLine.payslip_id.in_(slips))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Payslip).where(Payslip.run_id == run_id).execution_options(synchronize_session=False)
    )
    for loaded in list(session.identity_map.values()):
        if (isinstance(loaded, Payslip) and loaded.run_id == run_id) or loaded is run:
            session.expunge(loaded)
    session.execute(
        delete(PayrollRun).where(PayrollRun.id == run_id).execution_options(synchronize_session=False)
    )
    emit(session, "hr.payroll.deleted", {"id": run_id, "period": period})


def _entry_lines(session: Session, run: PayrollRun, settings: PayrollSettings) -> list[LineInput]:
    """The lines of the run's entry: expenses debited, each payable and each employee's net credited."""
    lines: list[LineInput] = []
    if run.total_gross:
        lines.append(LineInput(settings.salary_expense_account, debit=run.total_gross, memo="Gross pay"))
    if run.total_contributions:
        lines.append(
            LineInput(
                settings.contribution_expense_account,
                debit=run.total_contributions,
                memo="Employer contributions",
            )
        )
    owed: dict[str, Decimal] = defaultdict(Decimal)
    codes: dict[str, list[str]] = defaultdict(list)
    for account, code, amount in session.execute(
        select(PayslipLine.account, PayslipLine.code, func.sum(PayslipLine.amount))
        .join(Payslip, Payslip.id == PayslipLine.payslip_id)
        .where(Payslip.run_id == run.id, PayslipLine.kind.in_(("deduction", "contribution")))
        .group_by(PayslipLine.account, PayslipLine.code)
        .order_by(PayslipLine.account, func.min(PayslipLine.sequence), PayslipLine.code)
    ):
        owed[account] += amount
        codes[account].append(code)
    for account in sorted(owed):
        if owed[account]:
            lines.append(LineInput(account, credit=owed[account], memo=" + ".join(codes[account])))
    nets = session.execute(
        select(Payslip.net, Employee.contact_id, Employee.number)
        .join(Employee, Employee.id == Payslip.employee_id)
        .where(Payslip.run_id == run.id, Payslip.net != 0)
        .order_by(Payslip.id)
    )
    account = settings.net_payable_account
    for net, contact_id, number in nets:
        lines.append(LineInput(account, credit=net, contact_id=contact_id, memo=f"Net pay {number}"))
    return lines


def _check_nets(session: Session, run: PayrollRun) -> None:
    shown = 5
    negative = session.execute(
        select(Employee.number, Contact.name, Payslip.net)
        .join(Employee, Employee.id == Payslip.employee_id)
        .join(Contact, Contact.id == Employee.contact_id)
        .where(Payslip.run_id == run.id, Payslip.net < 0)
        .order_by(Payslip.id)
        .limit(shown + 1)
    ).all()
    if negative:
        people = [f"{number} {name} ({net})" for number, name, net in negative[:shown]]
        more = " and more" if len(negative) > shown else ""
        message = f"net pay is negative for {'; '.join(people)}{more}: adjust their payslips first"
        raise ValidationError(message, fields={"payslips": [message]})


@require_permission("hr.payroll.run")
def confirm_run(session: Session, run: PayrollRun) -> PayrollRun:
    """Post the run as one balanced entry in the payroll journal and lock it.

    Debits the salary expense (total gross) and the contribution expense (total contributions);
    credits each payable account what is withheld or contributed to it, and the net wages account
    each employee's net pay (on their contact). The payroll accounts and journal are created if
    missing. A locked ledger period or a negative net pay refuses the confirmation (nothing is
    stored). Employees with a login are told their payslip is available.
    """
    _lock_draft(session, run, "be confirmed again")
    _refresh_run_totals(session, run)
    _check_nets(session, run)
    if not run.total_gross and not run.total_contributions:
        message = "nothing to pay: every payslip of the run is zero"
        raise ValidationError(message, fields={"payslips": [message]})
    # Segregation of duties, judged on the run's total gross pay.
    suffix = " correction" if run.kind == "correction" else ""
    check_duty(
        session, "hr.payroll.confirm", run, amount=run.total_gross, label=f"payroll{suffix} run {run.period}"
    )
    settings = settings_of(session)
    used = set(
        session.scalars(
            select(PayslipLine.account)
            .join(Payslip, Payslip.id == PayslipLine.payslip_id)
            .where(Payslip.run_id == run.id, PayslipLine.account != "")
            .distinct()
        )
    )
    ensure_payroll_accounts(session, used)
    entry_input = EntryInput(
        journal=settings.journal_code,
        date=run.payment_date,
        memo=f"Payroll{suffix} {run.period}",
        lines=_entry_lines(session, run, settings),
        source_plugin="hr",
        source_ref=f"hr.payroll_run:{run.id}",
    )
    try:
        with granting(session, "ledger.entry.post", "ledger.view"):
            # The bulk path: the entry's thousands of lines go in with executemany.
            (entry_id,) = ledger.post_entries(session, [entry_input])
    except ValidationError as exc:
        fields = dict(exc.fields)
        if "date" in fields:
            fields["payment_date"] = fields.pop("date")
        reason = exc.message.removeprefix("entry 1: ")  # the only entry of the batch
        raise ValidationError(f"cannot post payroll {run.period}: {reason}", fields=fields) from exc
    number = session.scalar(select(JournalEntry.number).where(JournalEntry.id == entry_id))
    run.state = "confirmed"
    run.entry_id = entry_id
    run.confirmed_at = utcnow()
    run.confirmed_by_id = actor_id(session)
    session.flush()
    emit(
        session,
        "hr.payroll.confirmed",
        {
            "id": run.id,
            "period": run.period,
            "kind": run.kind,
            "entry_id": entry_id,
            "entry_number": number,
            "total_gross": str(run.total_gross),
            "total_net": str(run.total_net),
        },
    )
    _notify_employees(session, run)
    return run


def my_payslip_path(run_id: int) -> str:
    """The in-app link that takes an employee to their own payslip of a run."""
    return f"/hr/payroll/{run_id}/my-payslip"


def _notify_employees(session: Session, run: PayrollRun) -> None:
    user_ids = list(
        session.scalars(
            select(Employee.user_id)
            .join(Payslip, Payslip.employee_id == Employee.id)
            .where(Payslip.run_id == run.id, Employee.user_id.is_not(None))
        )
    )
    if user_ids:
        # One message for all: the link finds each reader's own payslip of the run.
        notifications.notify(
            session,
            user_ids,
            f"Your payslip for {run.period} is available",
            body=f"Payroll {'correction ' if run.kind == 'correction' else ''}{run.period}, "
            f"paid on {run.payment_date.isoformat()}.",
            url=my_payslip_path(run.id),
            source="hr",
        )


def entry_numbers(session: Session, runs: Iterable[PayrollRun]) -> dict[int, str]:
    """The numbers of the ledger entries confirmed runs posted, by entry id (one query)."""
    ids = [run.entry_id for run in runs if run.entry_id is not None]
    if not ids:
        return {}
    rows = session.execute(
        select(JournalEntry.id, JournalEntry.number).where(
            JournalEntry.id.in_(ids), JournalEntry.company_id == company_id_of(session)
        )
    )
    return {entry_id: number for entry_id, number in rows}


# --- payslips and adjustments ---------------------------------------------------------------------


def _visible(session: Session, payslip: Payslip) -> bool:
    if can(session, "hr.payroll.view"):
        return True
    return is_self(session, payslip.employee) and payslip.run.state == "confirmed"


def get_payslip(session: Session, payslip_id: Any) -> Payslip:
    """A payslip the actor may see: any with ``hr.payroll.view``; an employee their own once the
    run is confirmed. Anyone else's is "not found"."""
    payslip = get_record(session, Payslip, payslip_id, "payslip")
    if not _visible(session, payslip):
        raise NotFound(f"payslip {payslip_id} not found")
    return payslip


def payslips_for(session: Session, employee: Employee) -> list[Payslip]:
    """An employee's payslips, newest month first: every one with ``hr.payroll.view``, the
    confirmed ones for the employee themself; anyone else gets :class:`NotFound`."""
    if employee.company_id != company_id_of(session):
        raise NotFound(f"employee {employee.id} not found")
    stmt = (
        select(Payslip)
        .join(PayrollRun, PayrollRun.id == Payslip.run_id)
        .where(Payslip.employee_id == employee.id)
        .order_by(PayrollRun.year.desc(), PayrollRun.month.desc(), PayrollRun.id.desc())
    )
    if not can(session, "hr.payroll.view"):
        if not is_self(session, employee):
            raise NotFound(f"employee {employee.id} not found")
        stmt = stmt.where(PayrollRun.state == "confirmed")
    return list(session.scalars(stmt))


def employee_payslips(session: Session, employee_id: Any) -> tuple[Employee, list[Payslip]]:
    """An employee and their payslips by the rule of :func:`payslips_for` (unknown: :class:`NotFound`)."""
    employee = get_record(session, Employee, employee_id, "employee")
    return employee, payslips_for(session, employee)


def my_payslip_in(session: Session, run_id: Any) -> Payslip:
    """The acting user's own payslip in a run (the link of the "payslip available" message)."""
    run = get_record(session, PayrollRun, run_id, "payroll run")
    payslip = session.scalar(
        select(Payslip)
        .join(Employee, Employee.id == Payslip.employee_id)
        .where(Payslip.run_id == run.id, Employee.user_id == actor_id(session))
    )
    if payslip is None or actor_id(session) is None or not _visible(session, payslip):
        raise NotFound(f"no payslip of yours in payroll run {run_id}")
    return payslip


def _recompute(session: Session, payslip: Payslip) -> None:
    """Gross from basic pay and adjustments, then the items again; the run's totals follow."""
    run = payslip.run
    kept = [line for line in payslip.lines if line.kind in ("basic", "adjustment")]
    gross = sum((line.amount for line in kept), ZERO)
    slip = _Computed(payslip.employee_id, payslip.contract_id, gross=gross)
    _apply_rules(slip, _rules(session), fixed=run.kind == "regular")
    payslip.lines = kept + [PayslipLine(**line) for line in slip.lines]
    payslip.gross, payslip.total_deductions = slip.gross, slip.deductions
    payslip.total_contributions, payslip.net = slip.contributions, slip.net
    session.flush()
    _refresh_run_totals(session, run)
    session.flush()


@require_permission("hr.payroll.run")
def add_adjustment(session: Session, payslip: Payslip, name: Any, amount: Any) -> PayslipLine:
    """Add a bonus (positive ``amount``) or a reduction of gross (negative) to a draft payslip;
    its deductions and contributions are computed again."""
    _lock_draft(session, payslip.run, "be changed")
    session.refresh(payslip)
    errors: dict[str, list[str]] = {}
    label = validation.parse_text(name, "name", errors, limit=200, required=True)
    value = validation.parse_decimal(amount, "amount", errors)
    if "amount" not in errors:
        if value == 0:
            errors["amount"] = ["must not be zero"]
        elif abs(value) > MAX_ADJUSTMENT:
            errors["amount"] = [f"must be at most {MAX_ADJUSTMENT} either way"]
        elif payslip.gross + value < 0:
            errors["amount"] = [f"would make the gross pay negative (it is {payslip.gross})"]
    validation.raise_if(errors, "invalid adjustment")
    line = PayslipLine(kind="adjustment", code="ADJ", name=label, amount=value, sequence=ADJUSTMENT_SEQUENCE)
    payslip.lines.append(line)
    _recompute(session, payslip)
    emit(session, "hr.payslip.adjusted", {"id": payslip.id, "run_id": payslip.run_id, "amount": str(value)})
    return line


@require_permission("hr.payroll.run")
def remove_adjustment(session: Session, payslip: Payslip, line_id: Any) -> None:
    """Take an adjustment off a draft payslip; its deductions and contributions are computed again."""
    _lock_draft(session, payslip.run, "be changed")
    session.refresh(payslip)
    wanted = validation.parse_id(line_id)
    line = next((x for x in payslip.lines if x.id == wanted and x.kind == "adjustment"), None)
    if line is None:
        raise NotFound(f"adjustment {line_id} not found on payslip {payslip.id}")
    if payslip.gross - line.amount < 0:
        message = f"removing it would make the gross pay negative (it is {payslip.gross})"
        raise ValidationError(message, fields={"line_id": [message]})
    payslip.lines.remove(line)
    _recompute(session, payslip)
    emit(session, "hr.payslip.adjusted", {"id": payslip.id, "run_id": payslip.run_id, "removed": line.id})


def payslip_sections(payslip: Payslip) -> dict[str, list[PayslipLine]]:
    """A payslip's lines by kind: ``earnings`` (basic and adjustments), ``deductions``, ``contributions``."""
    sections: dict[str, list[PayslipLine]] = defaultdict(list)
    for line in payslip.lines:
        key = {"deduction": "deductions", "contribution": "contributions"}.get(line.kind, "earnings")
        sections[key].append(line)
    return {key: sections.get(key, []) for key in ("earnings", "deductions", "contributions")}


__all__ = [
    "add_adjustment",
    "confirm_run",
    "correction_choices",
    "create_item",
    "create_run",
    "deactivate_item",
    "delete_run",
    "employee_payslips",
    "entry_numbers",
    "get_item",
    "get_payslip",
    "get_run",
    "get_settings",
    "list_items",
    "list_runs",
    "month_bounds",
    "monthly_wage",
    "my_payslip_in",
    "parse_period",
    "payslip_rows",
    "payslip_sections",
    "payslips_for",
    "prorated",
    "remove_adjustment",
    "run_payslips",
    "update_item",
    "update_settings",
]
