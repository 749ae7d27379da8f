"""Accounting's hot paths: posting invoices, and aged receivables over many open invoices.

Each benchmark enables the accounting plugin on the fresh database first (its
migrations and the seeded chart of accounts are not timed) and compares with
the same rows written, or the same query run, with raw SQLAlchemy Core.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from bench.registry import Result, benchmark
from core.models import Account, Contact, Journal, JournalEntry, JournalLine

START = dt.date(2026, 1, 1)
CONTACTS = 500
CHUNK = 2000


def _enable_accounting(ctx: Any) -> None:
    """Load the plugin (the bench app starts with none) and enable it: migrate and seed."""
    ctx.ext.plugins.load_entry_points(only=["accounting"])
    ctx.ext.plugins.enable(ctx.db, ["accounting"])


def _customers(ctx: Any, count: int) -> list[int]:
    from core.services.contacts import create_contacts

    with ctx.session() as session:
        create_contacts(
            session,
            ({"kind": "organization", "name": f"Customer {i:05d}"} for i in range(count)),
        )
        session.commit()
        return list(session.scalars(select(Contact.id).order_by(Contact.id)))


def _invoice_lines(i: int, tax_id: int) -> list[dict[str, Any]]:
    """Two lines: a taxed one whose quantity varies, an untaxed one whose price varies."""
    return [
        {"description": "Consulting", "quantity": str(i % 5 + 1), "unit_price": "100.00", "tax": tax_id},
        {"description": "Travel", "quantity": "1", "unit_price": f"{i % 90 + 10}.50"},
    ]


@benchmark("accounting_invoices_post", n=20_000, quick_n=1_000)
def invoices_post(ctx: Any, n: int) -> list[Result]:
    """Create and post N two-line customer invoices (one taxed line), one transaction per invoice,
    through services.invoices vs raw Core inserts of the same rows, also one transaction per invoice."""
    from plugins.accounting.models import Invoice, InvoiceLine, Settings, Tax
    from plugins.accounting.services import invoices

    _enable_accounting(ctx)
    customers = _customers(ctx, CONTACTS)
    with ctx.session() as session:
        tax = session.scalar(select(Tax).where(Tax.name == "Sales tax 20%"))
        tax_id, tax_account_id, rate = tax.id, tax.account_id, tax.rate / 100
        settings = session.get(Settings, ctx.company_id)
        receivable_id, income_id = settings.receivable_account_id, settings.income_account_id
        journal = session.get(Journal, settings.sales_journal_id)
        journal_id, prefix, term_id = journal.id, journal.prefix, settings.default_payment_term_id

    with ctx.session() as session:
        tenth = max(n // 10, 1)
        marks: list[float] = []
        started = time.perf_counter()
        for i in range(n):
            if i in (tenth, n - tenth):
                marks.append(time.perf_counter())
            draft = invoices.create_invoice(
                session,
                {
                    "contact_id": customers[i % CONTACTS],
                    "date": START + dt.timedelta(days=i % 360),
                    "lines": _invoice_lines(i, tax_id),
                },
            )
            invoices.post_invoice(session, draft)
            session.commit()
            session.expunge_all()  # a request's session starts empty; keeps memory flat
        ours = time.perf_counter() - started
        first_tenth, last_tenth = marks[0] - started, started + ours - marks[-1]
        last = session.scalar(select(Invoice.number).order_by(Invoice.id.desc()).limit(1))
        assert last == f"INV/2026/{n:04d}", last

    # The same rows with raw Core: entry, its four lines, the invoice, its two lines.
    started = time.perf_counter()
    for i in range(n):
        date = START + dt.timedelta(days=i % 360)
        quantity = Decimal(i % 5 + 1)
        taxed = quantity * Decimal("100.00")
        tax_amount = (taxed * rate).quantize(Decimal("0.01"))
        travel = Decimal(f"{i % 90 + 10}.50")
        untaxed = taxed + travel
        total = untaxed + tax_amount
        contact_id = customers[i % CONTACTS]
        number = f"RAW/2026/{i + 1:05d}"
        now = dt.datetime.now(dt.UTC)
        with ctx.db.engine.begin() as conn:
            entry_id = conn.execute(
                insert(JournalEntry).returning(JournalEntry.id),
                {
                    "company_id": ctx.company_id,
                    "journal_id": journal_id,
                    "number": f"{prefix}/RAW/{i + 1:06d}",
                    "date": date,
                    "memo": f"Invoice {number}",
                    "state": "posted",
                    "currency": "USD",
                    "source_plugin": "accounting",
                    "source_ref": f"raw:{i}",
                    "created_at": now,
                    "updated_at": now,
                    "posted_at": now,
                },
            ).scalar_one()
            conn.execute(
                insert(JournalLine),
                [
                    _raw_line(ctx, entry_id, receivable_id, total, Decimal(0), contact_id),
                    _raw_line(ctx, entry_id, income_id, Decimal(0), taxed),
                    _raw_line(ctx, entry_id, income_id, Decimal(0), travel),
                    _raw_line(ctx, entry_id, tax_account_id, Decimal(0), tax_amount),
                ],
            )
            invoice_id = conn.execute(
                insert(Invoice).returning(Invoice.id),
                {
                    "company_id": ctx.company_id,
                    "kind": "out_invoice",
                    "number": number,
                    "state": "posted",
                    "contact_id": contact_id,
                    "date": date,
                    "due_date": date + dt.timedelta(days=30),
                    "payment_term_id": term_id,
                    "reference": "",
                    "notes": "",
                    "currency": "USD",
                    "untaxed_amount": untaxed,
                    "tax_amount": tax_amount,
                    "total": total,
                    "residual": total,
                    "entry_id": entry_id,
                    "custom": {},
                    "posted_at": now,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            conn.execute(
                insert(InvoiceLine),
                [
                    {
                        "invoice_id": invoice_id,
                        "sequence": 0,
                        "description": "Consulting",
                        "quantity": quantity,
                        "unit_price": Decimal("100.00"),
                        "tax_id": tax_id,
                        "account_id": income_id,
                        "subtotal": taxed,
                        "tax_amount": tax_amount,
                        "total": taxed + tax_amount,
                    },
                    {
                        "invoice_id": invoice_id,
                        "sequence": 1,
                        "description": "Travel",
                        "quantity": Decimal(1),
                        "unit_price": travel,
                        "tax_id": None,
                        "account_id": income_id,
                        "subtotal": travel,
                        "tax_amount": Decimal(0),
                        "total": travel,
                    },
                ],
            )
    baseline = time.perf_counter() - started
    return [
        Result(
            "accounting_invoices_post",
            n,
            ours,
            baseline,
            {
                "per_invoice_ms": round(ours / n * 1000, 2),
                # Does posting slow down as the tables grow? Mean of the first and the last tenth.
                "first_tenth_ms": round(first_tenth / tenth * 1000, 2),
                "last_tenth_ms": round(last_tenth / tenth * 1000, 2),
                "tx": "one per invoice",
            },
        )
    ]


def _raw_line(
    ctx: Any, entry_id: int, account_id: int, debit: Decimal, credit: Decimal, contact_id: int | None = None
) -> dict[str, Any]:
    return {
        "entry_id": entry_id,
        "company_id": ctx.company_id,
        "account_id": account_id,
        "contact_id": contact_id,
        "debit": debit,
        "credit": credit,
        "memo": "",
        "currency": "USD",
        "amount_currency": debit - credit,
        "rate": Decimal(1),
    }


def _median_seconds(call: Any, runs: int = 5) -> float:
    """The median of a few timed runs: one run of a 0.1 s query is at the mercy of the scheduler."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


@benchmark("accounting_aged_receivables", n=100_000, quick_n=5_000)
def aged_receivables(ctx: Any, n: int) -> list[Result]:
    """Aged receivables over N open posted invoices (every fourth partly paid) of 500 customers:
    services.reports.aged vs its aggregate query (reports.aged_statement) run directly; median of 5."""
    from plugins.accounting.models import Allocation, BankJournal, Invoice, Payment
    from plugins.accounting.services import reports

    _enable_accounting(ctx)
    customers = _customers(ctx, CONTACTS)
    with ctx.session() as session:
        bank_id = session.scalar(
            select(BankJournal.id)
            .join(Journal, Journal.id == BankJournal.journal_id)
            .where(Journal.code == "BNK")
        )
        assert session.scalar(select(Account.id).where(Account.code == "1200")) is not None
    as_of = dt.date(2026, 12, 31)
    expected = Decimal("0.00")
    now = dt.datetime.now(dt.UTC)
    # Setup (not timed): the invoices, and a payment with its allocation for every fourth one.
    with ctx.db.engine.begin() as conn:
        for first in range(0, n, CHUNK):
            count = min(CHUNK, n - first)
            rows = []
            for i in range(first, first + count):
                date = START + dt.timedelta(days=i % 330)
                total = Decimal((i % 4999 + 1) * 2) + Decimal("0.50")  # half of it is exact in cents
                rows.append(
                    {
                        "company_id": ctx.company_id,
                        "kind": "out_invoice",
                        "number": f"INV/2026/{i + 1:06d}",
                        "state": "partial" if i % 4 == 0 else "posted",
                        "contact_id": customers[i % CONTACTS],
                        "date": date,
                        "due_date": date + dt.timedelta(days=(0, 15, 30, 60)[i % 4]),
                        "reference": "",
                        "notes": "",
                        "currency": "USD",
                        "untaxed_amount": total,
                        "tax_amount": Decimal(0),
                        "total": total,
                        "residual": total / 2 if i % 4 == 0 else total,
                        "custom": {},
                        "posted_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                expected += total / 2 if i % 4 == 0 else total
            ids = list(
                conn.execute(
                    insert(Invoice).returning(Invoice.id, sort_by_parameter_order=True), rows
                ).scalars()
            )
            partly = [
                (invoice_id, row)
                for invoice_id, row in zip(ids, rows, strict=True)
                if row["state"] == "partial"
            ]
            payment_ids = list(
                conn.execute(
                    insert(Payment).returning(Payment.id, sort_by_parameter_order=True),
                    [
                        {
                            "company_id": ctx.company_id,
                            "partner_type": "customer",
                            "direction": "inbound",
                            "contact_id": row["contact_id"],
                            "date": row["date"] + dt.timedelta(days=5),
                            "amount": row["total"] - row["residual"],
                            "bank_journal_id": bank_id,
                            "reference": "",
                            "state": "posted",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for _id, row in partly
                    ],
                ).scalars()
            )
            conn.execute(
                insert(Allocation),
                [
                    {
                        "company_id": ctx.company_id,
                        "invoice_id": invoice_id,
                        "payment_id": payment_id,
                        "date": row["date"] + dt.timedelta(days=5),
                        "amount": row["total"] - row["residual"],
                    }
                    for (invoice_id, row), payment_id in zip(partly, payment_ids, strict=True)
                ],
            )
    if ctx.db.engine.dialect.name == "postgresql":
        with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")  # as autovacuum would have by now on a live server
    else:
        with ctx.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")

    with ctx.session() as session:
        reports.aged(session, "receivable", as_of=as_of)  # warm the statement and page caches
        ours = _median_seconds(lambda: reports.aged(session, "receivable", as_of=as_of))
        report = reports.aged(session, "receivable", as_of=as_of)
        assert report.total == expected, (report.total, expected)
        assert len(report.rows) == CONTACTS
    raw = reports.aged_statement(ctx.company_id, "receivable", as_of)
    with ctx.db.engine.connect() as conn:
        conn.execute(raw).all()
        baseline = _median_seconds(lambda: conn.execute(raw).all())
    return [
        Result(
            "accounting_aged_receivables",
            n,
            ours,
            baseline,
            {"contacts": CONTACTS, "buckets": "/".join(str(t) for t in report.totals)},
        )
    ]
