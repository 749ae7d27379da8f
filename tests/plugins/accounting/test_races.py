"""Two people acting on the same document at once, on PostgreSQL where sessions really overlap."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from core.app import officium
from core.context import set_company
from core.errors import Conflict, ValidationError
from core.models import JournalEntry
from core.services import contacts
from core.services.companies import first_company
from plugins.accounting.models import Invoice
from plugins.accounting.services import invoices, payments

pytestmark = pytest.mark.plugins("accounting")


def _setup(make_app: Callable, url: str, *, post: bool) -> tuple[object, int]:
    ext = officium(make_app(url))
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, first_company(session).id)
        customer = contacts.create_contact(session, kind="organization", name="Acme").id
        invoice = invoices.create_invoice(
            session,
            {
                "contact_id": customer,
                "date": "2026-03-10",
                "lines": [{"description": "Audit", "quantity": "1", "unit_price": "100.00"}],
            },
        )
        if post:
            invoices.post_invoice(session, invoice)
        return ext, invoice.id


def _both_at_once(ext: object, action: Callable) -> list[object]:
    """Two sessions load the document, then act together; returns each one's result or error."""
    start = threading.Barrier(2, timeout=30)
    outcomes: list[object] = []

    def worker() -> None:
        with ext.db.session() as session:
            ext.plugins.refresh(session)
            set_company(session, first_company(session).id)
            start.wait()
            try:
                action(session)
                session.commit()
                outcomes.append("ok")
            except (Conflict, ValidationError) as exc:
                session.rollback()
                outcomes.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_a_draft_posted_twice_at_once_is_posted_once(make_app, pg_database_url):
    ext, invoice_id = _setup(make_app, pg_database_url, post=False)

    outcomes = _both_at_once(ext, lambda s: invoices.post_invoice(s, s.get(Invoice, invoice_id)))

    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    refused = next(o for o in outcomes if o != "ok")
    assert isinstance(refused, Conflict) and "posted" in refused.message
    with ext.db.session(read_only=True) as session:
        assert session.get(Invoice, invoice_id).number == "INV/2026/0001"
        assert session.scalar(select(func.count()).select_from(JournalEntry)) == 1


def test_two_payments_of_the_whole_residual_at_once_settle_it_once(make_app, pg_database_url):
    ext, invoice_id = _setup(make_app, pg_database_url, post=True)

    outcomes = _both_at_once(
        ext,
        lambda s: payments.register_payment(
            s, {"bank_journal": "BNK", "date": "2026-03-20", "allocations": [{"invoice_id": invoice_id}]}
        ),
    )

    assert len(outcomes) == 2 and outcomes.count("ok") == 1
    refused = next(o for o in outcomes if o != "ok")
    assert isinstance(refused, ValidationError) and "allocations.0.invoice_id" in refused.fields
    with ext.db.session(read_only=True) as session:
        invoice = session.get(Invoice, invoice_id)
        assert (invoice.state, invoice.residual) == ("paid", 0)
