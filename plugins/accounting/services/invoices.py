"""Customer invoices, vendor bills and credit notes: draft, post to the ledger, settle, credit.

Posting numbers the document gaplessly per kind and fiscal year (``INV/2026/0001``,
``BILL/2026/0001``, ``RINV/...``, ``RBILL/...``) and posts one balanced entry
through the core ledger service; from then on the document is immutable and is
corrected by a credit note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Company,
    Conflict,
    Contact,
    EntryInput,
    LineInput,
    NotFound,
    Page,
    ValidationError,
    actor_of,
    check_duty,
    companies,
    company_id_of,
    emit,
    granting,
    keyset_page,
    ledger,
    post_entry,
    require_permission,
    utcnow,
)

from ..models import (
    CUSTOMER_KINDS,
    INVOICE_KINDS,
    INVOICE_STATES,
    OPEN_STATES,
    REFUND_KINDS,
    Allocation,
    Invoice,
    InvoiceLine,
    PaymentTerm,
    Tax,
)
from .common import (
    ZERO,
    company_contact,
    lock_row,
    parse_date,
    parse_decimal,
    parse_id,
    parse_text,
    raise_if,
    settings_of,
)
from .taxes import compute_line

NUMBER_PREFIXES = {"out_invoice": "INV", "in_invoice": "BILL", "out_refund": "RINV", "in_refund": "RBILL"}
KIND_LABELS = {
    "out_invoice": "Invoice",
    "in_invoice": "Bill",
    "out_refund": "Credit note",
    "in_refund": "Vendor credit note",
}
REFUND_OF = {"out_invoice": "out_refund", "in_invoice": "in_refund"}
MAX_LINES = 500
MAX_TOTAL = Decimal("9999999999.99")  # well inside the ledger's range, whatever the taxes
INVOICE_SORTS = {
    "id": Invoice.id,
    "date": Invoice.date,
    "due_date": Invoice.due_date,
    "number": Invoice.number,
    "total": Invoice.total,
    "residual": Invoice.residual,
}


def _sign(kind: str) -> int:
    """+1 when the partner line is a debit (they owe us), -1 when it is a credit (we owe them)."""
    return 1 if kind in ("out_invoice", "in_refund") else -1


# --- input ----------------------------------------------------------------------------------------


@dataclass
class _CleanLine:
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax: Tax | None
    account_id: int


def _clean_lines(
    session: Session, kind: str, raw_lines: Any, errors: dict[str, list[str]]
) -> list[_CleanLine]:
    from core.plugin_api import Account

    if not isinstance(raw_lines, list | tuple):
        errors["lines"] = ["must be a list of lines"]
        return []
    if len(raw_lines) > MAX_LINES:
        errors["lines"] = [f"at most {MAX_LINES} lines"]
        return []
    company_id = company_id_of(session)
    settings = settings_of(session)
    default_account = settings.income_account_id if kind in CUSTOMER_KINDS else settings.expense_account_id
    tax_scope = "sale" if kind in CUSTOMER_KINDS else "purchase"
    taxes = {t.id: t for t in session.scalars(select(Tax).where(Tax.company_id == company_id))}
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.company_id == company_id))}
    by_code = {a.code: a for a in accounts.values()}
    lines: list[_CleanLine] = []
    for index, raw in enumerate(raw_lines):
        prefix = f"lines.{index}"
        if not isinstance(raw, Mapping):
            errors[prefix] = ["must be an object"]
            continue
        unknown = set(raw) - {
            "description",
            "quantity",
            "unit_price",
            "tax",
            "tax_id",
            "account",
            "account_id",
        }
        for key in sorted(map(str, unknown)):
            errors[f"{prefix}.{key}"] = ["unknown field"]
        description = parse_text(
            raw.get("description"), f"{prefix}.description", errors, limit=500, required=True
        )
        quantity = parse_decimal(raw.get("quantity", "1"), f"{prefix}.quantity", errors, places=4)
        if f"{prefix}.quantity" not in errors and quantity <= 0:
            errors[f"{prefix}.quantity"] = ["must be greater than zero"]
        unit_price = parse_decimal(raw.get("unit_price"), f"{prefix}.unit_price", errors, places=4)
        tax = None
        tax_ref = raw.get("tax_id", raw.get("tax"))
        if tax_ref not in (None, ""):
            tax_id = parse_id(tax_ref)
            tax = taxes.get(tax_id) if tax_id is not None else None
            if tax is None and isinstance(tax_ref, str):
                tax = next((t for t in taxes.values() if t.name == tax_ref.strip()), None)
            if tax is None:
                errors[f"{prefix}.tax"] = ["unknown tax"]
            elif not tax.active:
                errors[f"{prefix}.tax"] = [f"tax {tax.name} is inactive"]
            elif tax.scope != tax_scope:
                errors[f"{prefix}.tax"] = [f"tax {tax.name} is a {tax.scope} tax; use a {tax_scope} tax"]
        account_ref = raw.get("account_id", raw.get("account"))
        account = accounts.get(default_account)
        if account_ref not in (None, ""):
            account = by_code.get(account_ref.strip()) if isinstance(account_ref, str) else None
            if account is None:
                account_id = parse_id(account_ref)
                account = accounts.get(account_id) if account_id is not None else None
            if account is None:
                errors[f"{prefix}.account"] = ["unknown account"]
            elif not account.active:
                errors[f"{prefix}.account"] = [f"account {account.code} is inactive"]
        lines.append(_CleanLine(description, quantity, unit_price, tax, account.id if account else 0))
    if lines and not errors:
        # Refused here, a total beyond the ledger's range would otherwise fail in the database.
        totals = [compute_line(line.quantity, line.unit_price, line.tax).total for line in lines]
        for index, total in enumerate(totals):
            if abs(total) > MAX_TOTAL:
                errors[f"lines.{index}.unit_price"] = [f"the line total must be at most {MAX_TOTAL}"]
        if not errors and abs(sum(totals, ZERO)) > MAX_TOTAL:
            errors["lines"] = [f"the total must be at most {MAX_TOTAL}"]
    return lines


def _clean_header(session: Session, data: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    contact = company_contact(session, data.get("contact_id"), "contact_id", errors)
    clean["contact_id"] = contact.id if contact else None
    date = parse_date(data.get("date") or dt.date.today(), "date", errors)
    clean["date"] = date
    term = None
    term_ref = data.get("payment_term_id")
    if term_ref not in (None, ""):
        term_id = parse_id(term_ref)
        term = session.get(PaymentTerm, term_id) if term_id is not None and term_id < 2**62 else None
        if term is None or term.company_id != company_id_of(session):
            errors["payment_term_id"] = ["no such payment term"]
            term = None
    clean["payment_term_id"] = term.id if term else None
    due = parse_date(data.get("due_date"), "due_date", errors, required=False)
    if due is None and date is not None and "due_date" not in errors:
        due = date + dt.timedelta(days=term.days if term else 0)
    if due is not None and date is not None and due < date:
        errors["due_date"] = ["must not be before the invoice date"]
    clean["due_date"] = due
    clean["reference"] = parse_text(data.get("reference"), "reference", errors, limit=100)
    clean["notes"] = parse_text(data.get("notes"), "notes", errors, limit=5000)
    return clean


def _recompute(invoice: Invoice) -> None:
    """Line and document amounts from quantities, prices and the taxes' current rates."""
    untaxed = tax_total = ZERO
    for line in invoice.lines:
        amounts = compute_line(line.quantity, line.unit_price, line.tax)
        line.subtotal, line.tax_amount, line.total = amounts.subtotal, amounts.tax, amounts.total
        untaxed += amounts.subtotal
        tax_total += amounts.tax
    invoice.untaxed_amount, invoice.tax_amount = untaxed, tax_total
    invoice.total = invoice.residual = untaxed + tax_total


def _apply_lines(invoice: Invoice, lines: Sequence[_CleanLine]) -> None:
    invoice.lines = []
    untaxed = tax_total = ZERO
    for index, line in enumerate(lines):
        amounts = compute_line(line.quantity, line.unit_price, line.tax)
        invoice.lines.append(
            InvoiceLine(
                sequence=index,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax_id=line.tax.id if line.tax else None,
                tax=line.tax,
                account_id=line.account_id,
                subtotal=amounts.subtotal,
                tax_amount=amounts.tax,
                total=amounts.total,
            )
        )
        untaxed += amounts.subtotal
        tax_total += amounts.tax
    invoice.untaxed_amount = untaxed
    invoice.tax_amount = tax_total
    invoice.total = untaxed + tax_total
    invoice.residual = invoice.total


# --- drafts -----------------------------------------------------------------------------------------


@require_permission("accounting.invoice.manage")
def create_invoice(session: Session, data: Mapping[str, Any]) -> Invoice:
    """Create a draft: ``kind``, ``contact_id``, ``date``, ``due_date`` or ``payment_term_id``, ``lines``.

    Each line has ``description``, ``quantity`` (> 0), ``unit_price``, optional
    ``tax`` (id or name) and ``account`` (code or id; the default income or
    expense account otherwise).
    """
    errors: dict[str, list[str]] = {}
    kind = data.get("kind", "out_invoice")
    if kind not in INVOICE_KINDS:
        errors["kind"] = [f"must be one of {', '.join(INVOICE_KINDS)}"]
        kind = "out_invoice"
    if data.get("payment_term_id") in (None, "") and not data.get("due_date"):
        data = {**data, "payment_term_id": settings_of(session).default_payment_term_id}
    header = _clean_header(session, data, errors)
    lines = _clean_lines(session, kind, data.get("lines", []), errors)
    origin = data.get("origin")
    if origin is not None and (not isinstance(origin, str) or len(origin) > 100):
        errors["origin"] = ["must be text of at most 100 characters"]
    raise_if(errors, "invalid invoice")
    company = session.get(Company, company_id_of(session))
    invoice = Invoice(
        company_id=company.id,
        kind=kind,
        state="draft",
        currency=company.base_currency,
        origin=origin,
        created_by_id=getattr(actor_of(session), "id", None),
        **header,
    )
    _apply_lines(invoice, lines)
    session.add(invoice)
    session.flush()
    emit(session, "accounting.invoice.created", {"id": invoice.id, "kind": kind})
    return invoice


@require_permission("accounting.invoice.manage")
def update_invoice(session: Session, invoice: Invoice, data: Mapping[str, Any]) -> Invoice:
    """Change a draft's header and (if given) lines; a posted document is refused (credit it instead)."""
    _lock(session, invoice)
    _refuse_unless_draft(invoice, "edited")
    errors: dict[str, list[str]] = {}
    current = {
        "contact_id": invoice.contact_id,
        "date": invoice.date,
        "due_date": invoice.due_date if "date" not in data and "payment_term_id" not in data else None,
        "payment_term_id": invoice.payment_term_id,
        "reference": invoice.reference,
        "notes": invoice.notes,
    }
    header = _clean_header(session, {**current, **data}, errors)
    if invoice.refund_of_id is not None and header.get("contact_id") not in (None, invoice.contact_id):
        errors["contact_id"] = ["a credit note keeps the contact of the document it credits"]
    lines = _clean_lines(session, invoice.kind, data["lines"], errors) if "lines" in data else None
    raise_if(errors, "invalid invoice")
    for key, value in header.items():
        setattr(invoice, key, value)
    if lines is not None:
        _apply_lines(invoice, lines)
    session.flush()
    return invoice


@require_permission("accounting.invoice.manage")
def delete_invoice(session: Session, invoice: Invoice) -> None:
    """Delete a draft; posted documents keep their number and are credited instead."""
    _lock(session, invoice)
    _refuse_unless_draft(invoice, "deleted")
    session.delete(invoice)
    session.flush()


def _lock(session: Session, invoice: Invoice) -> None:
    """Re-read the document under a row lock, so two users (or a double click) cannot both act on
    the draft they loaded: the second waits, then sees it posted (PostgreSQL; SQLite serialises
    writers anyway)."""
    if invoice.id is not None:
        lock_row(session, invoice)


def _refuse_unless_draft(invoice: Invoice, action: str) -> None:
    if invoice.state != "draft":
        raise Conflict(
            f"{invoice.display_number} is {invoice.state} and cannot be {action}; credit it instead",
            fields={"state": [f"is {invoice.state}: only drafts can be {action}"]},
        )


# --- posting ------------------------------------------------------------------------------------------


@require_permission("accounting.invoice.post")
def post_invoice(session: Session, invoice: Invoice) -> Invoice:
    """Number the document and post its balanced entry to the ledger; then it is immutable.

    Refused with a field error when it has no lines, a zero or negative total,
    an inactive tax or account, or a date in a locked period. A credit note
    made from a document settles what is still open on it.
    """
    _lock(session, invoice)
    _refuse_unless_draft(invoice, "posted")
    if invoice.refund_of_id is None:
        _recompute(invoice)  # a tax rate may have changed since the draft was saved
    errors: dict[str, list[str]] = {}
    if not invoice.lines:
        errors["lines"] = ["an invoice needs at least one line"]
    elif invoice.total <= 0:
        errors["lines"] = ["the total must be greater than zero"]
    for index, line in enumerate(invoice.lines):
        if line.quantity <= 0:
            errors[f"lines.{index}.quantity"] = ["must be greater than zero"]
        # A credit note reverses the original's taxes even if they were retired since.
        if line.tax is not None and not line.tax.active and invoice.refund_of_id is None:
            errors[f"lines.{index}.tax"] = [f"tax {line.tax.name} is inactive"]
    if invoice.total > MAX_TOTAL:
        errors["lines"] = [f"the total must be at most {MAX_TOTAL}"]
    if invoice.refund_of is not None and invoice.refund_of.contact_id != invoice.contact_id:
        errors["contact_id"] = ["a credit note keeps the contact of the document it credits"]
    raise_if(errors, f"cannot post {invoice.display_number}")
    company = session.get(Company, invoice.company_id)
    settings = settings_of(session)
    year = companies.fiscal_year(company, invoice.date)
    # The core refuses a locked date too, but checking first keeps the number sequence untouched.
    if company.lock_date is not None and invoice.date <= company.lock_date:
        raise ValidationError(
            f"the period is locked through {company.lock_date.isoformat()}",
            fields={"date": [f"is in a locked period (locked through {company.lock_date.isoformat()})"]},
        )
    duty = "accounting.invoice.post" if invoice.kind in CUSTOMER_KINDS else "accounting.bill.post"
    session.flush()  # the draft's id names it in the check
    check_duty(
        session,
        duty,
        invoice,
        amount=invoice.total,
        label=f"draft {KIND_LABELS[invoice.kind].lower()} #{invoice.id}",
    )
    number = ledger.allocate_numbers(session, company.id, f"accounting:{invoice.kind}", year)
    invoice.number = f"{NUMBER_PREFIXES[invoice.kind]}/{year}/{number:04d}"
    with granting(session, "ledger.entry.create", "ledger.entry.post"):
        entry = post_entry(session, _entry_for(invoice, settings))
    invoice.entry_id = entry.id
    invoice.state = "posted"
    invoice.posted_at = utcnow()
    invoice.residual = invoice.total
    session.flush()
    if invoice.refund_of_id is not None:
        origin = session.get(Invoice, invoice.refund_of_id)
        if origin is not None and origin.state in OPEN_STATES:
            amount = min(origin.residual, invoice.total)
            session.add(
                Allocation(
                    company_id=company.id,
                    invoice_id=origin.id,
                    credit_note_id=invoice.id,
                    date=invoice.date,
                    amount=amount,
                )
            )
            session.flush()
            refresh_settlement(session, [origin, invoice])
    emit(
        session,
        "accounting.invoice.posted",
        {"id": invoice.id, "number": invoice.number, "kind": invoice.kind, "total": str(invoice.total)},
    )
    return invoice


def _entry_for(invoice: Invoice, settings: Any) -> EntryInput:
    """The balanced entry of a document: partner line against income/expense lines and tax lines."""
    sign = _sign(invoice.kind)
    customer = invoice.kind in CUSTOMER_KINDS
    partner_account = settings.receivable_account_id if customer else settings.payable_account_id
    journal = settings.sales_journal_id if customer else settings.purchase_journal_id
    label = f"{KIND_LABELS[invoice.kind]} {invoice.number}"

    def line(account_id: int, amount: Decimal, memo: str, contact: bool = False) -> LineInput:
        # ``amount`` is signed: positive = debit.
        return LineInput(
            account=account_id,
            debit=amount if amount > 0 else ZERO,
            credit=-amount if amount < 0 else ZERO,
            contact_id=invoice.contact_id if contact else None,
            memo=memo[:500],
        )

    lines = [line(partner_account, sign * invoice.total, label, contact=True)]
    for item in invoice.lines:
        if item.subtotal:
            lines.append(line(item.account_id, -sign * item.subtotal, item.description))
    tax_totals: dict[int, tuple[str, Decimal]] = {}
    for item in invoice.lines:
        if item.tax is not None and item.tax_amount:
            name, amount = tax_totals.get(item.tax.account_id, (item.tax.name, ZERO))
            tax_totals[item.tax.account_id] = (name, amount + item.tax_amount)
    for account_id, (name, amount) in tax_totals.items():
        lines.append(line(account_id, -sign * amount, name))
    return EntryInput(
        journal=journal,
        date=invoice.date,
        memo=f"{label} · {invoice.contact.name}"[:500],
        lines=lines,
        source_plugin="accounting",
        source_ref=f"invoice:{invoice.id}",
    )


def draft_invoice_for_deal(session: Session, deal: Any) -> Invoice | None:
    """Answer to ``officium_deal_won``: a draft invoice for the deal's customer and amount.

    Reads ``deal.id``, ``deal.title``, ``deal.contact_id`` and
    ``deal.expected_revenue``. Idempotent per deal (origin ``crm.deal:<id>``);
    the invoice is a draft for an accountant to review, so it is made on the
    system's behalf whoever won the deal.
    """
    origin = f"crm.deal:{deal.id}"
    exists = session.scalar(
        select(Invoice.id).where(Invoice.company_id == company_id_of(session), Invoice.origin == origin)
    )
    if exists is not None or not getattr(deal, "contact_id", None):
        return None
    amount = Decimal(str(getattr(deal, "expected_revenue", None) or "0"))
    if amount <= 0:
        return None
    with granting(session, "accounting.invoice.manage"):
        return create_invoice(
            session,
            {
                "kind": "out_invoice",
                "contact_id": deal.contact_id,
                "date": dt.date.today(),
                "origin": origin,
                "notes": f"Won deal: {getattr(deal, 'title', '')}"[:5000],
                "lines": [
                    {
                        "description": (getattr(deal, "title", "") or "Deal")[:500],
                        "quantity": "1",
                        "unit_price": str(amount),
                    }
                ],
            },
        )


@require_permission("accounting.invoice.manage")
def create_credit_note(
    session: Session, invoice: Invoice, *, date: dt.date | str | None = None, reason: str = ""
) -> Invoice:
    """Draft a credit note that reverses a posted invoice or bill line for line.

    Posting it settles what is still open on the original; anything beyond that
    stays as a credit the customer or vendor can be refunded.
    """
    if invoice.kind not in REFUND_OF:
        raise Conflict("a credit note cannot be credited", fields={"kind": ["is already a credit note"]})
    if invoice.state == "draft":
        raise Conflict(
            f"{invoice.display_number} is a draft: edit or delete it instead",
            fields={"state": ["is draft: only posted documents are credited"]},
        )
    errors: dict[str, list[str]] = {}
    day = parse_date(date or dt.date.today(), "date", errors)
    text = parse_text(reason, "reason", errors, limit=500)
    raise_if(errors, "invalid credit note")
    credit = Invoice(
        company_id=invoice.company_id,
        kind=REFUND_OF[invoice.kind],
        state="draft",
        contact_id=invoice.contact_id,
        date=day,
        due_date=day,
        reference=invoice.number or "",
        notes=text or f"Credit note for {invoice.number}",
        currency=invoice.currency,
        refund_of_id=invoice.id,
        created_by_id=getattr(actor_of(session), "id", None),
    )
    # The original's amounts, not a recomputation: a rate changed since must not leak in.
    credit.lines = [
        InvoiceLine(
            sequence=item.sequence,
            description=item.description,
            quantity=item.quantity,
            unit_price=item.unit_price,
            tax_id=item.tax_id,
            account_id=item.account_id,
            subtotal=item.subtotal,
            tax_amount=item.tax_amount,
            total=item.total,
        )
        for item in invoice.lines
    ]
    credit.untaxed_amount, credit.tax_amount = invoice.untaxed_amount, invoice.tax_amount
    credit.total = credit.residual = invoice.total
    session.add(credit)
    session.flush()
    emit(
        session, "accounting.invoice.created", {"id": credit.id, "kind": credit.kind, "refund_of": invoice.id}
    )
    return credit


APPLIES_TO = {"out_refund": "out_invoice", "in_refund": "in_invoice"}


@require_permission("accounting.payment.manage")
def apply_credit_note(session: Session, credit: Invoice, invoice_id: Any, amount: Any = None) -> Allocation:
    """Settle an open invoice (or bill) with what is left of an open credit note of the same contact.

    ``amount`` defaults to the smaller of the two residuals; more than either is refused.
    """
    errors: dict[str, list[str]] = {}
    if credit.kind not in APPLIES_TO:
        raise Conflict("only a credit note can be applied", fields={"kind": ["is not a credit note"]})
    lock_row(session, credit)
    if credit.state not in OPEN_STATES:
        raise Conflict(
            f"{credit.display_number} is {credit.state}, not open", fields={"state": [f"is {credit.state}"]}
        )
    target_id = parse_id(invoice_id)
    target = session.get(Invoice, target_id) if target_id is not None and target_id < 2**62 else None
    if target is None or target.company_id != credit.company_id:
        raise ValidationError("no such invoice", fields={"invoice_id": ["no such invoice"]})
    lock_row(session, target)
    if target.kind != APPLIES_TO[credit.kind] or target.contact_id != credit.contact_id:
        errors["invoice_id"] = ["must be an open document of the same contact and side"]
    elif target.state not in OPEN_STATES:
        errors["invoice_id"] = [f"{target.display_number} is {target.state}, not open"]
    else:
        room = min(credit.residual, target.residual)
        value = parse_decimal(amount, "amount", errors, positive=True, default=room)
        if "amount" not in errors and value > room:
            errors["amount"] = [f"is more than can be settled ({room})"]
    raise_if(errors, "cannot apply the credit note")
    allocation = Allocation(
        company_id=credit.company_id,
        invoice_id=target.id,
        credit_note_id=credit.id,
        date=max(credit.date, target.date),
        amount=value,
    )
    session.add(allocation)
    refresh_settlement(session, [target, credit])
    emit(
        session,
        "accounting.credit_note.applied",
        {"id": credit.id, "invoice_id": target.id, "amount": str(value)},
    )
    return allocation


# --- settlement --------------------------------------------------------------------------------------------


def refresh_settlement(session: Session, invoices: Sequence[Invoice]) -> None:
    """Recompute residual and state from the allocations: posted, partial, paid."""
    session.flush()
    for invoice in invoices:
        if invoice.state == "draft":
            continue
        rows = session.execute(
            select(Allocation.amount, Allocation.payment_id).where(
                or_(Allocation.invoice_id == invoice.id, Allocation.credit_note_id == invoice.id)
            )
        ).all()
        settled = sum((amount for amount, _payment in rows), ZERO)
        if settled > invoice.total:  # a safety net under the row locks taken when allocating
            raise Conflict(
                f"{invoice.display_number} would be settled beyond its total",
                fields={"allocations": [f"more than the {invoice.total} of {invoice.display_number}"]},
            )
        invoice.residual = invoice.total - settled
        if invoice.residual == invoice.total:
            invoice.state = "posted"
        elif invoice.residual > 0:
            invoice.state = "partial"
        elif invoice.kind not in REFUND_KINDS and rows and all(payment is None for _a, payment in rows):
            invoice.state = "credited"  # settled by credit notes alone
        else:
            invoice.state = "paid"
    session.flush()


# --- reading ------------------------------------------------------------------------------------------


@require_permission("accounting.view")
def get_invoice(session: Session, invoice_id: int) -> Invoice:
    invoice = session.get(Invoice, invoice_id) if isinstance(invoice_id, int) and invoice_id < 2**62 else None
    if invoice is None or invoice.company_id != company_id_of(session):
        raise NotFound(f"invoice {invoice_id} not found")
    return invoice


def invoices_query(
    session: Session,
    *,
    kinds: Sequence[str] = INVOICE_KINDS,
    state: str | None = None,
    contact_id: int | None = None,
    q: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    open_only: bool = False,
) -> Select:
    stmt = select(Invoice).where(Invoice.company_id == company_id_of(session), Invoice.kind.in_(kinds))
    if state is not None:
        if state not in INVOICE_STATES:
            raise ValidationError(
                "invalid state", fields={"state": [f"must be one of {', '.join(INVOICE_STATES)}"]}
            )
        stmt = stmt.where(Invoice.state == state)
    if open_only:
        stmt = stmt.where(Invoice.state.in_(OPEN_STATES))
    if contact_id is not None:
        stmt = stmt.where(Invoice.contact_id == contact_id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Invoice.number).like(pattern),
                func.lower(Invoice.reference).like(pattern),
                Invoice.contact_id.in_(
                    select(Contact.id).where(
                        Contact.company_id == company_id_of(session), func.lower(Contact.name).like(pattern)
                    )
                ),
            )
        )
    if date_from is not None:
        stmt = stmt.where(Invoice.date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Invoice.date <= date_to)
    return stmt


@require_permission("accounting.view")
def list_invoices(
    session: Session,
    *,
    sort: str = "date",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    """One keyset page of documents, newest first by default."""
    column = INVOICE_SORTS[sort]
    return keyset_page(
        session,
        invoices_query(session, **filters),
        column=column,
        id_column=Invoice.id,
        descending=descending,
        after=after,
        limit=limit,
    )
