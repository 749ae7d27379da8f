"""HR's hot path: a month's payroll run for a whole company, computed and then confirmed (posted).

The benchmark enables the HR plugin on the fresh database and seeds the employees and their
contracts with bulk inserts (not timed); it then times ``payroll.create_run`` (compute and store
the payslips) and ``payroll.confirm_run`` (one ledger entry with a net wages line per employee)
separately, each in its own transaction, against the same rows computed in the same way and
written with raw SQLAlchemy Core statements.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select

from bench.registry import Result, benchmark
from core.models import Account, Journal, JournalEntry, JournalLine

YEAR, MONTH = 2026, 11
FIRST, LAST = dt.date(YEAR, MONTH, 1), dt.date(YEAR, MONTH, 30)
CHUNK = 2000
CENT = Decimal("0.01")


def _enable_hr(ctx: Any) -> None:
    """Load the plugin (the bench app starts with none) and enable it: migrate and seed."""
    ctx.ext.plugins.load_entry_points(only=["hr"])
    ctx.ext.plugins.enable(ctx.db, ["hr"])


def _seed(ctx: Any, n: int) -> None:
    """``n`` employees, each a person contact with one contract: mostly monthly wages, one in twenty
    paid by the hour, one in twenty starting in the middle of the month (prorated)."""
    from core.services.contacts import create_contacts
    from plugins.hr.models import Contract, Employee

    with ctx.session() as session:
        contact_ids = create_contacts(
            session, ({"kind": "person", "name": f"Employee {i:06d}"} for i in range(n))
        )
        session.commit()
    now = dt.datetime.now(dt.UTC)
    with ctx.db.engine.begin() as conn:
        for first in range(0, n, CHUNK):
            rows = range(first, min(first + CHUNK, n))
            employee_ids = (
                conn.execute(
                    insert(Employee).returning(Employee.id, sort_by_parameter_order=True),
                    [
                        {
                            "company_id": ctx.company_id,
                            "number": f"EMP-{i + 1:06d}",
                            "contact_id": contact_ids[i],
                            "hire_date": dt.date(2024, 1, 1),
                            "status": "active",
                            "custom": {},
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in rows
                    ],
                )
                .scalars()
                .all()
            )
            conn.execute(
                insert(Contract),
                [
                    {
                        "company_id": ctx.company_id,
                        "employee_id": employee_id,
                        "kind": "permanent",
                        "start_date": dt.date(YEAR, MONTH, 16) if i % 20 == 7 else dt.date(2024, 1, 1),
                        "end_date": None,
                        "wage": Decimal("21.75")
                        if i % 20 == 3
                        else Decimal(2000 + (i % 300) * 10) + Decimal("0.50"),
                        "wage_period": "hour" if i % 20 == 3 else "month",
                        "hours_per_week": Decimal("37.5") if i % 20 == 3 else Decimal("40"),
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, employee_id in zip(rows, employee_ids, strict=True)
                ],
            )


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _raw_run(ctx: Any) -> tuple[float, float, Decimal]:
    """The same run with raw Core: read the contracts and items, compute, insert run, payslips and
    lines; then the entry and its lines. Returns (compute seconds, post seconds, total net)."""
    from plugins.hr.models import Contract, Employee, PayrollItem, PayrollRun, Payslip, PayslipLine

    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    with ctx.db.engine.begin() as conn:
        items = conn.execute(
            select(
                PayrollItem.kind,
                PayrollItem.code,
                PayrollItem.name,
                PayrollItem.rate,
                PayrollItem.payable_account,
                PayrollItem.sequence,
            )
            .where(PayrollItem.company_id == ctx.company_id, PayrollItem.active.is_(True))
            .order_by(PayrollItem.sequence)
        ).all()
        contracts = conn.execute(
            select(
                Contract.id,
                Contract.employee_id,
                Contract.start_date,
                Contract.wage,
                Contract.wage_period,
                Contract.hours_per_week,
            )
            .join(Employee, Employee.id == Contract.employee_id)
            .where(Contract.company_id == ctx.company_id, Contract.start_date <= LAST)
            .order_by(Employee.number)
        ).all()
        slips = []
        for contract in contracts:
            wage = contract.wage
            if contract.wage_period == "hour":
                wage = _cents(wage * contract.hours_per_week * 52 / 12)
            days = (LAST - max(contract.start_date, FIRST)).days + 1
            gross = wage if days == 30 else _cents(wage * days / 30)
            lines = [
                {
                    "kind": "basic",
                    "code": "BASIC",
                    "name": "Basic pay",
                    "rate": None,
                    "amount": gross,
                    "account": "",
                    "sequence": 0,
                }
            ]
            deductions = contributions = Decimal("0.00")
            for item in items:
                amount = _cents(gross * item.rate / 100)
                lines.append(
                    {
                        "kind": item.kind,
                        "code": item.code,
                        "name": item.name,
                        "rate": item.rate,
                        "amount": amount,
                        "account": item.payable_account,
                        "sequence": 100 + item.sequence,
                    }
                )
                if item.kind == "deduction":
                    deductions += amount
                else:
                    contributions += amount
            slips.append((contract, gross, deductions, contributions, lines))
        run_id = conn.execute(
            insert(PayrollRun).returning(PayrollRun.id),
            {
                "company_id": ctx.company_id,
                "year": YEAR,
                "month": MONTH + 1,
                "kind": "regular",
                "state": "draft",
                "payment_date": LAST,
                "employee_count": len(slips),
                "note": "",
                "created_at": now,
                "updated_at": now,
                "total_gross": sum(s[1] for s in slips),
                "total_deductions": sum(s[2] for s in slips),
                "total_contributions": sum(s[3] for s in slips),
                "total_net": sum(s[1] - s[2] for s in slips),
            },
        ).scalar_one()
        for first in range(0, len(slips), 500):
            chunk = slips[first : first + 500]
            conn.execute(
                insert(Payslip.__table__),
                [
                    {
                        "company_id": ctx.company_id,
                        "run_id": run_id,
                        "employee_id": c.employee_id,
                        "contract_id": c.id,
                        "gross": g,
                        "total_deductions": d,
                        "total_contributions": k,
                        "net": g - d,
                    }
                    for c, g, d, k, _lines in chunk
                ],
            )
            ids = dict(
                conn.execute(
                    select(Payslip.employee_id, Payslip.id).where(
                        Payslip.run_id == run_id, Payslip.employee_id.in_([s[0].employee_id for s in chunk])
                    )
                ).all()
            )
            conn.execute(
                insert(PayslipLine.__table__),
                [{**line, "payslip_id": ids[s[0].employee_id]} for s in chunk for line in s[4]],
            )
    compute = time.perf_counter() - started

    started = time.perf_counter()
    with ctx.db.engine.begin() as conn:
        accounts = dict(
            conn.execute(select(Account.code, Account.id).where(Account.company_id == ctx.company_id)).all()
        )
        journal_id = conn.execute(select(Journal.id).where(Journal.code == "PAY")).scalar_one()
        contacts = dict(conn.execute(select(Employee.id, Employee.contact_id)).all())
        gross = sum(s[1] for s in slips)
        contributions = sum(s[3] for s in slips)
        owed: dict[str, Decimal] = {}
        for s in slips:
            for line in s[4][1:]:
                owed[line["account"]] = owed.get(line["account"], Decimal("0.00")) + line["amount"]
        entry_id = conn.execute(
            insert(JournalEntry).returning(JournalEntry.id),
            {
                "company_id": ctx.company_id,
                "journal_id": journal_id,
                "number": "RAW/2026/000001",
                "date": LAST,
                "memo": "Payroll raw",
                "state": "posted",
                "currency": "USD",
                "source_plugin": "hr",
                "source_ref": f"raw:{run_id}",
                "created_at": now,
                "updated_at": now,
                "posted_at": now,
            },
        ).scalar_one()

        def line(
            account: str, debit: Decimal, credit: Decimal, contact_id: int | None = None
        ) -> dict[str, Any]:
            return {
                "entry_id": entry_id,
                "company_id": ctx.company_id,
                "account_id": accounts[account],
                "contact_id": contact_id,
                "debit": debit,
                "credit": credit,
                "memo": "",
                "currency": "USD",
                "amount_currency": debit - credit,
                "rate": Decimal(1),
            }

        zero = Decimal("0.00")
        rows = [line("6200", gross, zero), line("6210", contributions, zero)]
        rows += [line(account, zero, amount) for account, amount in sorted(owed.items())]
        rows += [line("2300", zero, g - d, contacts[c.employee_id]) for c, g, d, _k, _l in slips]
        conn.execute(insert(JournalLine), rows)
    return compute, time.perf_counter() - started, sum(s[1] - s[2] for s in slips)


@benchmark("hr_payroll_run", n=5_000, quick_n=500)
def payroll_run(ctx: Any, n: int) -> list[Result]:
    """A month's payroll for N employees (one contract each, 3 payroll items): ``create_run`` computes
    and stores the payslips, ``confirm_run`` posts one entry with a net line per employee; each vs
    the same rows written with raw Core."""
    from plugins.hr.models import PayrollRun
    from plugins.hr.services import payroll

    _enable_hr(ctx)
    _seed(ctx, n)

    with ctx.session() as session:
        started = time.perf_counter()
        run = payroll.create_run(session, YEAR, MONTH)
        session.commit()
        compute = time.perf_counter() - started
        run_id = run.id
    with ctx.session() as session:
        run = session.get(PayrollRun, run_id)
        started = time.perf_counter()
        payroll.confirm_run(session, run)
        session.commit()
        confirm = time.perf_counter() - started
        assert run.employee_count == n, run.employee_count
        entry = session.get(JournalEntry, run.entry_id)
        assert entry.state == "posted" and len(entry.lines) == n + 4, len(entry.lines)
        total_net = run.total_net

    raw_compute, raw_post, raw_net = _raw_run(ctx)
    assert raw_net == total_net, (raw_net, total_net)
    extra = {"employees": n, "total_net": str(total_net)}
    return [
        Result(
            "hr_payroll_compute",
            n,
            compute,
            raw_compute,
            {**extra, "per_1000_ms": round(compute / n * 1e6, 1)},
        ),
        Result("hr_payroll_confirm", n, confirm, raw_post, {**extra, "entry_lines": n + 4}),
    ]
