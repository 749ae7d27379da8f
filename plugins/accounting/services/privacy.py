"""What accounting holds about a person (a core contact), for GDPR export and erasure requests.

A contact's accounting records are its invoices, bills and credit notes (with their lines) and
its payments. Once posted they are bookkeeping records: the law requires keeping them as issued,
so a posted document or a registered payment (even cancelled: its entries stay in the ledger)
is a reason to refuse deleting the contact.

Erasing: anonymizing blanks the notes of draft documents (not issued yet, so not a record);
issued documents keep their lines, references, notes and amounts exactly as issued (they name
the contact through the contact record, which core anonymizes). Deleting (only possible when
nothing is posted) removes the draft documents. These functions do not check permissions: the
GDPR request service that calls the hooks has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import Contact

from ..models import CUSTOMER_KINDS, Invoice, Payment

RETENTION = "bookkeeping records are kept 10 years"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _invoices(session: Session, contact: Contact) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.company_id == contact.company_id, Invoice.contact_id == contact.id)
            .order_by(Invoice.date, Invoice.id)
        )
    )


def _payments(session: Session, contact: Contact) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.company_id == contact.company_id, Payment.contact_id == contact.id)
            .order_by(Payment.date, Payment.id)
        )
    )


def personal_data(session: Session, contact: Contact) -> dict[str, Any]:
    """Accounting's sections of the export: ``accounting_invoices`` (invoices, bills, credit notes,
    with their lines) and ``accounting_payments``."""
    return {
        "accounting_invoices": [
            {
                "id": invoice.id,
                "kind": invoice.kind,
                "number": invoice.number,
                "state": invoice.state,
                "date": _iso(invoice.date),
                "due_date": _iso(invoice.due_date),
                "reference": invoice.reference,
                "notes": invoice.notes,
                "currency": invoice.currency,
                "untaxed_amount": str(invoice.untaxed_amount),
                "tax_amount": str(invoice.tax_amount),
                "total": str(invoice.total),
                "residual": str(invoice.residual),
                "custom": dict(invoice.custom or {}),
                "lines": [
                    {
                        "description": line.description,
                        "quantity": str(line.quantity),
                        "unit_price": str(line.unit_price),
                        "subtotal": str(line.subtotal),
                        "tax_amount": str(line.tax_amount),
                        "total": str(line.total),
                    }
                    for line in invoice.lines
                ],
            }
            for invoice in _invoices(session, contact)
        ],
        "accounting_payments": [
            {
                "id": payment.id,
                "partner_type": payment.partner_type,
                "direction": payment.direction,
                "date": _iso(payment.date),
                "amount": str(payment.amount),
                "reference": payment.reference,
                "state": payment.state,
                "journal": payment.bank_journal.journal.code,
            }
            for payment in _payments(session, contact)
        ],
    }


def retained(session: Session, contact: Contact) -> list[str]:
    """Posted invoices, bills and credit notes, and registered payments, of the contact."""
    reasons: list[str] = []
    rows = session.execute(
        select(Invoice.kind, func.count())
        .where(
            Invoice.company_id == contact.company_id,
            Invoice.contact_id == contact.id,
            Invoice.state != "draft",
        )
        .group_by(Invoice.kind)
    ).all()
    customer = sum(n for kind, n in rows if kind in CUSTOMER_KINDS)
    vendor = sum(n for kind, n in rows if kind not in CUSTOMER_KINDS)
    if customer:
        reasons.append(f"{customer} posted customer invoices or credit notes ({RETENTION})")
    if vendor:
        reasons.append(f"{vendor} posted vendor bills or refunds ({RETENTION})")
    payments = session.scalar(
        select(func.count())
        .select_from(Payment)
        .where(Payment.company_id == contact.company_id, Payment.contact_id == contact.id)
    )
    if payments:
        reasons.append(f"{payments} registered payments ({RETENTION})")
    return reasons


def erase(session: Session, contact: Contact, *, anonymize: bool) -> list[str]:
    """Blank draft documents' notes, or delete the draft documents (nothing posted is touched)."""
    drafts = [invoice for invoice in _invoices(session, contact) if invoice.state == "draft"]
    if anonymize:
        noted = [invoice for invoice in drafts if invoice.notes]
        for invoice in noted:
            invoice.notes = ""
        session.flush()
        return [f"{len(noted)} draft invoices or bills: notes erased"] if noted else []
    for invoice in drafts:
        session.delete(invoice)
    session.flush()
    return [f"{len(drafts)} draft invoices or bills deleted"] if drafts else []
