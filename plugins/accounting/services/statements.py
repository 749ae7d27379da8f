"""Bank statement import from CSV, matching suggestions, and reconciling lines.

A statement line is money that moved on the bank account. Matching it to an
open invoice or bill registers the payment (dated as the line, through the
statement's journal); booking it posts it against any account (bank charges,
interest). Until then it waits, unposted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Account,
    Conflict,
    EntryInput,
    LineInput,
    NotFound,
    ValidationError,
    actor_of,
    company_id_of,
    emit,
    granting,
    post_entry,
    require_permission,
)

from ..models import OPEN_STATES, Invoice, Statement, StatementLine
from .common import ZERO, bank_journal, lock_row, parse_date, parse_decimal, parse_text, raise_if
from .payments import register_payment

MAX_ROWS = 10_000
MAX_BYTES = 5_000_000
HEADER_WORDS = {"date", "description", "amount", "label", "memo"}


@require_permission("accounting.payment.manage")
def import_statement(
    session: Session, *, bank_journal_ref: Any, content: str | bytes, name: str = ""
) -> Statement:
    """Import ``date,description,amount`` rows (a header row is optional) into a bank journal.

    Every row is checked first; a file with any bad row is refused whole, with
    the row numbers in the field errors (``rows.3.amount``), and nothing is stored.
    """
    errors: dict[str, list[str]] = {}
    journal = bank_journal(session, bank_journal_ref, "bank_journal", errors)
    if isinstance(content, bytes):
        if len(content) > MAX_BYTES:
            raise ValidationError(
                "file too large", fields={"file": [f"must be at most {MAX_BYTES // 1_000_000} MB"]}
            )
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("not UTF-8", fields={"file": ["must be a UTF-8 CSV file"]}) from None
    if not isinstance(content, str) or not content.strip():
        errors["file"] = ["is empty: expected rows of date,description,amount"]
        raise_if(errors, "invalid statement")
    title = parse_text(name, "name", errors, limit=200) or f"Statement {dt.date.today().isoformat()}"
    rows = list(csv.reader(io.StringIO(content.replace("\x00", ""))))
    if rows and {cell.strip().lower() for cell in rows[0]} & HEADER_WORDS:
        rows = rows[1:]
        offset = 2
    else:
        offset = 1
    if len(rows) > MAX_ROWS:
        errors["file"] = [f"at most {MAX_ROWS} rows per statement"]
    parsed: list[tuple[dt.date, str, Decimal]] = []
    for index, row in enumerate(rows[:MAX_ROWS]):
        if not any(cell.strip() for cell in row):
            continue
        prefix = f"rows.{index + offset}"
        if len(row) != 3:
            errors[prefix] = ["expected 3 columns: date, description, amount"]
            continue
        date = parse_date(row[0], f"{prefix}.date", errors)
        description = parse_text(row[1], f"{prefix}.description", errors, limit=500, required=True)
        amount = parse_decimal(
            row[2].replace(",", "") if row[2].count(".") else row[2], f"{prefix}.amount", errors
        )
        if f"{prefix}.amount" not in errors and amount == 0:
            errors[f"{prefix}.amount"] = ["must not be zero"]
        if date is not None and description and f"{prefix}.amount" not in errors:
            parsed.append((date, description, amount))
    if not parsed and not errors:
        errors["file"] = ["has no rows"]
    raise_if(errors, "invalid statement")
    company_id = company_id_of(session)
    statement = Statement(
        company_id=company_id,
        bank_journal_id=journal.id,
        name=title,
        imported_by_id=getattr(actor_of(session), "id", None),
    )
    statement.lines = [
        StatementLine(company_id=company_id, date=date, description=text, amount=amount)
        for date, text, amount in parsed
    ]
    session.add(statement)
    session.flush()
    emit(session, "accounting.statement.imported", {"id": statement.id, "lines": len(parsed)})
    return statement


@dataclass
class Suggestion:
    invoice: Invoice
    reason: str  # "reference" or "amount"


@require_permission("accounting.view")
def suggestions(session: Session, line: StatementLine, limit: int = 5) -> list[Suggestion]:
    """Open documents this line may settle: a document number or reference found in the
    description first, then documents whose residual equals the amount."""
    if line.state != "open":
        return []
    kinds = ("out_invoice", "in_refund") if line.amount > 0 else ("in_invoice", "out_refund")
    base = select(Invoice).where(
        Invoice.company_id == line.company_id, Invoice.kind.in_(kinds), Invoice.state.in_(OPEN_STATES)
    )
    found: list[Suggestion] = []
    tokens = {t.upper() for t in re.findall(r"[A-Za-z0-9][A-Za-z0-9/_-]{2,}", line.description)}
    if tokens:
        by_reference = session.scalars(
            base.where(
                func.upper(Invoice.number).in_(tokens) | (func.upper(Invoice.reference).in_(tokens))
            ).limit(limit)
        ).all()
        found.extend(Suggestion(invoice, "reference") for invoice in by_reference)
    seen = {s.invoice.id for s in found}
    by_amount = session.scalars(
        base.where(Invoice.residual == abs(line.amount)).order_by(Invoice.due_date, Invoice.id).limit(limit)
    ).all()
    found.extend(Suggestion(invoice, "amount") for invoice in by_amount if invoice.id not in seen)
    return found[:limit]


def _open_line(session: Session, line_id: int) -> StatementLine:
    line = session.get(StatementLine, line_id) if isinstance(line_id, int) and line_id < 2**62 else None
    if line is None or line.company_id != company_id_of(session):
        raise NotFound(f"statement line {line_id} not found")
    lock_row(session, line)  # two people reconciling the same line: one wins
    if line.state != "open":
        raise Conflict(f"this line is already {line.state}", fields={"state": [f"is {line.state}"]})
    return line


@require_permission("accounting.payment.manage")
def match_line(session: Session, line_id: int, invoice_id: Any) -> StatementLine:
    """Register the line's money as a payment of one open document (up to its residual)."""
    line = _open_line(session, line_id)
    invoice = session.get(Invoice, invoice_id) if isinstance(invoice_id, int) and invoice_id < 2**62 else None
    if invoice is None or invoice.company_id != line.company_id:
        raise ValidationError("no such invoice", fields={"invoice_id": ["no such invoice"]})
    incoming = line.amount > 0
    if (invoice.kind in ("out_invoice", "in_refund")) != incoming:
        raise ValidationError(
            "direction mismatch",
            fields={"invoice_id": ["money in settles invoices; money out settles bills"]},
        )
    amount = abs(line.amount)
    if amount > invoice.residual:
        raise ValidationError(
            "amount too large",
            fields={"invoice_id": [f"{invoice.number} has only {invoice.residual} left to pay"]},
        )
    payment = register_payment(
        session,
        {
            "bank_journal": line.statement.bank_journal_id,
            "date": line.date,
            "reference": line.description[:100],
            "allocations": [{"invoice_id": invoice.id, "amount": str(amount)}],
        },
    )
    line.state = "matched"
    line.payment_id = payment.id
    session.flush()
    return line


@require_permission("accounting.payment.manage")
def book_line(session: Session, line_id: int, account_ref: Any, memo: str = "") -> StatementLine:
    """Post the line against an account (bank charges, interest, owner's drawings...)."""
    line = _open_line(session, line_id)
    errors: dict[str, list[str]] = {}
    stmt = select(Account).where(Account.company_id == line.company_id)
    account = session.scalar(stmt.where(Account.code == str(account_ref).strip())) if account_ref else None
    if account is None:
        errors["account"] = ["unknown account"]
    text = parse_text(memo, "memo", errors, limit=500) or line.description
    raise_if(errors, "cannot book the line")
    bank = line.statement.bank_journal
    amount = abs(line.amount)
    money_in = line.amount > 0
    with granting(session, "ledger.entry.create", "ledger.entry.post"):
        entry = post_entry(
            session,
            EntryInput(
                journal=bank.journal_id,
                date=line.date,
                memo=text,
                lines=[
                    LineInput(
                        bank.account_id,
                        debit=amount if money_in else ZERO,
                        credit=ZERO if money_in else amount,
                    ),
                    LineInput(
                        account.id, debit=ZERO if money_in else amount, credit=amount if money_in else ZERO
                    ),
                ],
                source_plugin="accounting",
                source_ref=f"statement-line:{line.id}",
            ),
        )
    line.state = "booked"
    line.entry_id = entry.id
    session.flush()
    return line


@require_permission("accounting.view")
def get_statement(session: Session, statement_id: int) -> Statement:
    found = (
        session.get(Statement, statement_id)
        if isinstance(statement_id, int) and statement_id < 2**62
        else None
    )
    if found is None or found.company_id != company_id_of(session):
        raise NotFound(f"statement {statement_id} not found")
    return found


@require_permission("accounting.view")
def list_statements(session: Session) -> list[Statement]:
    return list(
        session.scalars(
            select(Statement)
            .where(Statement.company_id == company_id_of(session))
            .order_by(Statement.id.desc())
        )
    )
