"""Shared fixtures of the accounting tests; modules mark themselves ``pytest.mark.plugins("accounting")``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from core.services import contacts
from plugins.accounting.models import Tax
from plugins.accounting.services import invoices


@pytest.fixture
def customer(session) -> int:
    """A customer contact (committed)."""
    contact = contacts.create_contact(
        session, kind="organization", name="Acme Corporation", email="ap@acme.example"
    )
    session.commit()
    return contact.id


@pytest.fixture
def vendor(session) -> int:
    contact = contacts.create_contact(session, kind="organization", name="Initech Supplies")
    session.commit()
    return contact.id


@pytest.fixture
def sales_tax(session) -> Tax:
    """The seeded 20% sales tax (excluded from prices, posted to 2100)."""
    return session.scalar(select(Tax).where(Tax.name == "Sales tax 20%"))


@pytest.fixture
def purchase_tax(session) -> Tax:
    return session.scalar(select(Tax).where(Tax.name == "Purchase tax 20%"))


@pytest.fixture
def make_invoice(session) -> Callable[..., Any]:
    """``make_invoice(contact_id, lines=[...], kind="out_invoice", date="2026-03-10", post=True)``."""

    def factory(contact_id: int, *, lines: list[dict] | None = None, post: bool = True, **data: Any) -> Any:
        lines = lines or [{"description": "Consulting", "quantity": "1", "unit_price": "100.00"}]
        invoice = invoices.create_invoice(session, {"contact_id": contact_id, "lines": lines, **data})
        if post:
            invoices.post_invoice(session, invoice)
        session.commit()
        return invoice

    return factory
