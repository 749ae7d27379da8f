"""Payments: money in or out through a bank or cash journal, allocated to open documents.

A customer payment (inbound) posts Dr bank / Cr receivable; a vendor payment
(outbound) posts Dr payable / Cr bank. Allocations settle invoices and bills
(fully or partly); unreconciling removes them and leaves the payment as an
unallocated credit of the contact, which can be allocated again. Cancelling a
payment reverses its entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    EntryInput,
    LineInput,
    NotFound,
    Page,
    actor_of,
    check_duty,
    company_id_of,
    emit,
    granting,
    keyset_page,
    post_entry,
    require_permission,
    reverse_entry,
)

from ..models import OPEN_STATES, Allocation, Invoice, Payment, StatementLine
from .common import (
    ZERO,
    bank_journal,
    company_contact,
    lock_row,
    parse_date,
    parse_decimal,
    parse_id,
    parse_text,
    raise_if,
    settings_of,
)
from .invoices import KIND_LABELS, refresh_settlement

PARTNER_TYPES = ("customer", "vendor")
DIRECTIONS = ("inbound", "outbound")
# Which documents a payment can settle, by (partner type, direction).
SETTLES = {
    ("customer", "inbound"): "out_invoice",
    ("customer", "outbound"): "out_refund",
    ("vendor", "outbound"): "in_invoice",
    ("vendor", "inbound"): "in_refund",
}
PAYMENT_SORTS = {"id": Payment.id, "date": Payment.date, "amount": Payment.amount}


def direction_for(kind: str) -> tuple[str, str]:
    """The (partner type, direction) of the payment that settles a document of ``kind``."""
    return next(key for key, value in SETTLES.items() if value == kind)


def _clean_allocations(
    session: Session,
    raw: Any,
    *,
    contact_id: int | None,
    kind: str | None,
    errors: dict[str, list[str]],
    budget: Decimal | None = None,
) -> list[tuple[Invoice, Decimal]]:
    """``[{"invoice_id": n, "amount": "10.00"}]``; the amount defaults to the document's residual
    (or to what is left of ``budget``, a payment's unallocated amount, when smaller)."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list | tuple):
        errors["allocations"] = ["must be a list"]
        return []
    company_id = company_id_of(session)
    result: list[tuple[Invoice, Decimal]] = []
    seen: set[int] = set()
    for index, item in enumerate(raw):
        prefix = f"allocations.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["must be an object"]
            continue
        invoice_id = parse_id(item.get("invoice_id"))
        invoice = session.get(Invoice, invoice_id) if invoice_id is not None and invoice_id < 2**62 else None
        if invoice is None or invoice.company_id != company_id:
            errors[f"{prefix}.invoice_id"] = ["no such invoice"]
            continue
        # Lock the document and read its residual afresh: two payments registered at the same
        # time must not both settle the same open amount.
        lock_row(session, invoice)
        if invoice.id in seen:
            errors[f"{prefix}.invoice_id"] = ["is listed twice"]
            continue
        seen.add(invoice.id)
        if invoice.state not in OPEN_STATES:
            errors[f"{prefix}.invoice_id"] = [f"{invoice.display_number} is {invoice.state}, not open"]
            continue
        if contact_id is not None and invoice.contact_id != contact_id:
            errors[f"{prefix}.invoice_id"] = [f"{invoice.number} belongs to another contact"]
            continue
        if kind is not None and invoice.kind != kind:
            errors[f"{prefix}.invoice_id"] = [f"{invoice.number} cannot be settled by this payment"]
            continue
        default = invoice.residual if budget is None else min(invoice.residual, budget)
        amount = parse_decimal(item.get("amount"), f"{prefix}.amount", errors, positive=True, default=default)
        if f"{prefix}.amount" in errors:
            continue
        if amount <= 0:
            errors[f"{prefix}.amount"] = ["nothing is left of the payment to allocate"]
            continue
        if amount > invoice.residual:
            errors[f"{prefix}.amount"] = [
                f"is more than what is left to pay on {invoice.number} ({invoice.residual})"
            ]
            continue
        result.append((invoice, amount))
        if budget is not None:
            budget -= amount
    return result


@require_permission("accounting.payment.manage")
def register_payment(session: Session, data: Mapping[str, Any]) -> Payment:
    """Record money received or paid and settle documents with it, in one transaction.

    ``data``: ``bank_journal`` (id or journal code), ``date``, and either
    ``allocations`` (``[{"invoice_id", "amount"?}]``, the contact and direction
    follow from the documents) or ``contact_id``, ``partner_type`` and
    ``direction`` for a payment on account. ``amount`` defaults to the sum of
    the allocations; a larger amount leaves the rest unallocated. Allocating
    more than a document's residual is refused.
    """
    errors: dict[str, list[str]] = {}
    journal = bank_journal(session, data.get("bank_journal"), "bank_journal", errors)
    date = parse_date(data.get("date") or dt.date.today(), "date", errors)
    reference = parse_text(data.get("reference"), "reference", errors, limit=100)
    raw_allocations = data.get("allocations")
    partner_type = data.get("partner_type")
    direction = data.get("direction")
    contact = None
    kind = None
    if raw_allocations:
        first = _first_invoice(session, raw_allocations)
        if first is not None:
            partner_type, direction = direction_for(first.kind)
            kind = first.kind
            contact = first.contact
    if contact is None:
        if partner_type not in PARTNER_TYPES:
            errors["partner_type"] = [f"must be one of {', '.join(PARTNER_TYPES)}"]
        if direction not in DIRECTIONS:
            errors["direction"] = [f"must be one of {', '.join(DIRECTIONS)}"]
        contact = company_contact(session, data.get("contact_id"), "contact_id", errors)
        if partner_type in PARTNER_TYPES and direction in DIRECTIONS:
            kind = SETTLES[(partner_type, direction)]
    allocations = _clean_allocations(
        session, raw_allocations, contact_id=contact.id if contact else None, kind=kind, errors=errors
    )
    allocated = sum((amount for _invoice, amount in allocations), ZERO)
    if data.get("amount") in (None, ""):
        amount = allocated
        if not allocations and not any(key.startswith("allocations") for key in errors):
            errors["amount"] = ["is required for a payment that settles no document"]
    else:
        amount = parse_decimal(data.get("amount"), "amount", errors, positive=True)
        if "amount" not in errors and amount < allocated:
            errors["amount"] = [f"is less than the allocated total {allocated}"]
    if not errors and amount <= 0:
        errors["amount"] = ["must be greater than zero"]
    raise_if(errors, "invalid payment")
    _check_duties(session, allocations)
    company_id = company_id_of(session)
    payment = Payment(
        company_id=company_id,
        partner_type=partner_type,
        direction=direction,
        contact_id=contact.id,
        date=date,
        amount=amount,
        bank_journal_id=journal.id,
        bank_journal=journal,
        reference=reference,
        state="posted",
        created_by_id=getattr(actor_of(session), "id", None),
    )
    session.add(payment)
    session.flush()
    payment.entry_id = _post(session, payment, contact.name).id
    _allocate(session, payment, allocations)
    emit(
        session,
        "accounting.payment.registered",
        {"id": payment.id, "amount": str(amount), "invoices": [i.id for i, _a in allocations]},
    )
    return payment


def _check_duties(session: Session, allocations: Sequence[tuple[Invoice, Decimal]]) -> None:
    """Segregation of duties: settling each document is judged on its own, for the amount allocated."""
    for invoice, amount in allocations:
        check_duty(
            session,
            "accounting.payment.register",
            invoice,
            amount=amount,
            label=f"{KIND_LABELS[invoice.kind].lower()} {invoice.display_number}",
        )


def _first_invoice(session: Session, raw: Any) -> Invoice | None:
    if not isinstance(raw, list | tuple) or not raw or not isinstance(raw[0], Mapping):
        return None
    invoice_id = parse_id(raw[0].get("invoice_id"))
    invoice = session.get(Invoice, invoice_id) if invoice_id is not None and invoice_id < 2**62 else None
    if invoice is None or invoice.company_id != company_id_of(session) or invoice.state == "draft":
        return None
    return invoice


def _post(session: Session, payment: Payment, contact_name: str) -> Any:
    settings = settings_of(session)
    partner_account = (
        settings.receivable_account_id if payment.partner_type == "customer" else settings.payable_account_id
    )
    bank_account = payment.bank_journal.account_id
    money_in = payment.direction == "inbound"
    memo = f"Payment {'from' if money_in else 'to'} {contact_name}" + (
        f" · {payment.reference}" if payment.reference else ""
    )
    lines = [
        LineInput(
            bank_account,
            debit=payment.amount if money_in else ZERO,
            credit=ZERO if money_in else payment.amount,
        ),
        LineInput(
            partner_account,
            debit=ZERO if money_in else payment.amount,
            credit=payment.amount if money_in else ZERO,
            contact_id=payment.contact_id,
        ),
    ]
    with granting(session, "ledger.entry.create", "ledger.entry.post"):
        return post_entry(
            session,
            EntryInput(
                journal=payment.bank_journal.journal_id,
                date=payment.date,
                memo=memo[:500],
                lines=lines,
                source_plugin="accounting",
                source_ref=f"payment:{payment.id}",
            ),
        )


def _allocate(session: Session, payment: Payment, allocations: Sequence[tuple[Invoice, Decimal]]) -> None:
    for invoice, amount in allocations:
        session.add(
            Allocation(
                company_id=payment.company_id,
                invoice_id=invoice.id,
                payment_id=payment.id,
                date=payment.date,
                amount=amount,
            )
        )
    session.flush()
    session.expire(payment, ["allocations"])
    refresh_settlement(session, [invoice for invoice, _amount in allocations])


@require_permission("accounting.payment.manage")
def allocate_payment(session: Session, payment: Payment, raw_allocations: Any) -> Payment:
    """Settle more documents with a payment's unallocated amount."""
    if payment.state != "posted":
        raise Conflict("a cancelled payment cannot be allocated", fields={"state": ["is cancelled"]})
    errors: dict[str, list[str]] = {}
    allocations = _clean_allocations(
        session,
        raw_allocations,
        contact_id=payment.contact_id,
        kind=SETTLES[(payment.partner_type, payment.direction)],
        errors=errors,
        budget=payment.unallocated,
    )
    if not allocations and not errors:
        errors["allocations"] = ["name at least one document"]
    total = sum((amount for _invoice, amount in allocations), ZERO)
    if not errors and total > payment.unallocated:
        errors["allocations"] = [f"total {total} is more than the unallocated {payment.unallocated}"]
    raise_if(errors, "invalid allocation")
    _check_duties(session, allocations)
    _allocate(session, payment, allocations)
    emit(session, "accounting.payment.allocated", {"id": payment.id})
    return payment


@require_permission("accounting.payment.manage")
def unreconcile_payment(session: Session, payment: Payment) -> list[Invoice]:
    """Remove the payment's allocations: its documents are open again, the payment stays posted."""
    invoices = [allocation.invoice for allocation in payment.allocations]
    if not invoices:
        raise Conflict("this payment settles nothing", fields={"allocations": ["there are none"]})
    for allocation in list(payment.allocations):
        session.delete(allocation)
    session.flush()
    session.expire(payment, ["allocations"])
    refresh_settlement(session, invoices)
    emit(session, "accounting.payment.unreconciled", {"id": payment.id, "invoices": [i.id for i in invoices]})
    return invoices


@require_permission("accounting.payment.manage")
def cancel_payment(session: Session, payment: Payment, *, date: dt.date | str | None = None) -> Payment:
    """Unreconcile and reverse the payment's ledger entry (e.g. a bounced cheque)."""
    if payment.state != "posted":
        raise Conflict("the payment is already cancelled", fields={"state": ["is cancelled"]})
    invoices = [allocation.invoice for allocation in payment.allocations]
    for allocation in list(payment.allocations):
        session.delete(allocation)
    session.flush()
    if payment.entry is not None:
        with granting(session, "ledger.entry.reverse", "ledger.entry.post", "ledger.entry.create"):
            reverse_entry(session, payment.entry, date=date or payment.date)
    payment.state = "cancelled"
    # A bank line matched to this payment waits again to be matched or booked.
    session.execute(
        update(StatementLine)
        .where(StatementLine.payment_id == payment.id)
        .values(state="open", payment_id=None)
        .execution_options(synchronize_session="fetch")
    )
    session.expire(payment, ["allocations"])
    refresh_settlement(session, invoices)
    emit(session, "accounting.payment.cancelled", {"id": payment.id})
    return payment


@require_permission("accounting.view")
def get_payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id) if isinstance(payment_id, int) and payment_id < 2**62 else None
    if payment is None or payment.company_id != company_id_of(session):
        raise NotFound(f"payment {payment_id} not found")
    return payment


@require_permission("accounting.view")
def list_payments(
    session: Session,
    *,
    sort: str = "date",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    contact_id: int | None = None,
    partner_type: str | None = None,
) -> Page:
    stmt = select(Payment).where(Payment.company_id == company_id_of(session))
    if contact_id is not None:
        stmt = stmt.where(Payment.contact_id == contact_id)
    if partner_type in PARTNER_TYPES:
        stmt = stmt.where(Payment.partner_type == partner_type)
    return keyset_page(
        session,
        stmt,
        column=PAYMENT_SORTS[sort],
        id_column=Payment.id,
        descending=descending,
        after=after,
        limit=limit,
    )


def payments_of(session: Session, invoice: Invoice) -> list[Allocation]:
    """What settled a document: payments and credit notes, oldest first."""
    return list(
        session.scalars(
            select(Allocation)
            .where(or_(Allocation.invoice_id == invoice.id, Allocation.credit_note_id == invoice.id))
            .order_by(Allocation.date, Allocation.id)
        )
    )
