"""Gapless invoice numbers under load: threads posting invoices at the same time on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.app import officium
from core.context import set_company
from core.models import JournalEntry, NumberSequence
from core.services import contacts
from core.services.companies import first_company
from plugins.accounting.models import Invoice
from plugins.accounting.services import invoices

pytestmark = pytest.mark.plugins("accounting")

THREADS = 8
PER_THREAD = 10  # committed by each thread; every sixth posting is rolled back on top of these


def post_in_turn(session: Session, worker: int, customer_id: int) -> list[tuple[str, Decimal]]:
    """Create and post invoices one transaction each; returns (number, total) of those committed."""
    committed: list[tuple[str, Decimal]] = []
    attempt = 0
    while len(committed) < PER_THREAD:
        price = f"{worker + 1}.{attempt:02d}"
        draft = invoices.create_invoice(
            session,
            {
                "contact_id": customer_id,
                "date": "2026-05-04",
                "reference": f"worker {worker} attempt {attempt}",
                "lines": [{"description": "Widget", "quantity": "1", "unit_price": price}],
            },
        )
        posted = invoices.post_invoice(session, draft)
        if attempt % 6 == 5:
            session.rollback()  # the number it held goes back to the next poster
        else:
            session.commit()
            committed.append((posted.number, Decimal(price)))
        attempt += 1
    return committed


def test_threads_posting_invoices_at_once_get_gapless_numbers(make_app: Callable, pg_database_url: str):
    ext = officium(make_app(pg_database_url))
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        company_id = first_company(session).id
        set_company(session, company_id)
        customer_id = contacts.create_contact(session, kind="organization", name="Acme").id
    assert ext.plugins.is_enabled("accounting")
    start = threading.Barrier(THREADS, timeout=60)
    results: dict[int, list[tuple[str, Decimal]]] = {}
    failures: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            with ext.db.session() as session:
                set_company(session, company_id)
                start.wait()
                results[number] = post_in_turn(session, number, customer_id)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a poster hung"
    assert failures == []

    total = THREADS * PER_THREAD
    committed = [row for rows in results.values() for row in rows]
    # Each thread saw its own numbers go up.
    for rows in results.values():
        assert [n for n, _t in rows] == sorted(n for n, _t in rows)
    with ext.db.session(read_only=True) as session:
        stored = session.execute(
            select(Invoice.number, Invoice.total, Invoice.state)
            .add_columns(JournalEntry.number, JournalEntry.source_ref, Invoice.id)
            .join(JournalEntry, JournalEntry.id == Invoice.entry_id)
            .order_by(Invoice.number)
        ).all()
        assert [row[0] for row in stored] == [f"INV/2026/{n:04d}" for n in range(1, total + 1)]
        assert sorted(row[3] for row in stored) == [f"SAL/2026/{n:06d}" for n in range(1, total + 1)]
        assert {(row[0], row[1]) for row in stored} == set(committed)
        assert {row[2] for row in stored} == {"posted"}
        assert all(row[4] == f"invoice:{row[5]}" for row in stored)
        # The rolled-back drafts left nothing behind.
        assert session.scalar(select(func.count()).select_from(Invoice)) == total
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == total
        counters = dict(session.execute(select(NumberSequence.key, NumberSequence.last_value)).all())
        assert counters["accounting:out_invoice"] == total
