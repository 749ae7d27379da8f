"""Personal data held by core about a contact: what it is, what must be kept, and erasing it.

Core answers the personal-data hooks for the contact record itself (its fields, tags and custom
fields) and for the ledger lines that name it. Erasing runs last, after every plugin erased its
own records (see ``officium_erase_personal_data``). These functions do not check permissions:
the caller (the GDPR request service) has checked who may answer a data subject's request.

Posted ledger lines are bookkeeping records: they are never changed and keep their amounts and
memos; the contact they point at is anonymized instead of deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.context import granting
from core.models import Account, Contact, Journal, JournalEntry, JournalLine
from core.services import contacts as contact_service

RETENTION = "bookkeeping records are kept 10 years"


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def contact_data(session: Session, contact: Contact) -> dict[str, Any]:
    """The contact record as stored: every field, its tags and custom fields."""
    parent = contact.parent
    return {
        "id": contact.id,
        "kind": contact.kind,
        "name": contact.name,
        "parent": {"id": parent.id, "name": parent.name} if parent is not None else None,
        "email": contact.email,
        "phone": contact.phone,
        "street": contact.street,
        "city": contact.city,
        "postal_code": contact.postal_code,
        "country": contact.country,
        "notes": contact.notes,
        "active": contact.active,
        "tags": list(contact.tags),
        "custom": dict(contact.custom or {}),
        "created_at": _iso(contact.created_at),
        "updated_at": _iso(contact.updated_at),
    }


def ledger_lines(session: Session, contact: Contact) -> list[dict[str, Any]]:
    """Every ledger line naming the contact, with its entry's number, date and state."""
    rows = session.execute(
        select(
            JournalEntry.number,
            JournalEntry.date,
            JournalEntry.state,
            Journal.code.label("journal"),
            Account.code.label("account"),
            Account.name.label("account_name"),
            JournalLine.debit,
            JournalLine.credit,
            JournalLine.memo,
            JournalLine.currency,
            JournalLine.amount_currency,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Journal, Journal.id == JournalEntry.journal_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.contact_id == contact.id, JournalLine.company_id == contact.company_id)
        .order_by(JournalEntry.date, JournalEntry.id, JournalLine.id)
    ).all()
    return [
        {
            "entry": row.number,
            "date": _iso(row.date),
            "state": row.state,
            "journal": row.journal,
            "account": row.account,
            "account_name": row.account_name,
            "debit": str(row.debit),
            "credit": str(row.credit),
            "memo": row.memo,
            "currency": row.currency,
            "amount_currency": str(row.amount_currency),
        }
        for row in rows
    ]


def personal_data(session: Session, contact: Contact) -> dict[str, Any]:
    """Core's sections of a personal-data export: ``core_contact`` and ``core_ledger_lines``."""
    return {
        "core_contact": contact_data(session, contact),
        "core_ledger_lines": ledger_lines(session, contact),
    }


def _line_counts(session: Session, contact: Contact) -> tuple[int, int]:
    """(lines of posted or reversed entries, lines of draft entries) naming the contact."""
    rows = session.execute(
        select(JournalEntry.state, func.count())
        .select_from(JournalLine)
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalLine.contact_id == contact.id, JournalLine.company_id == contact.company_id)
        .group_by(JournalEntry.state)
    ).all()
    drafts = sum(count for state, count in rows if state == "draft")
    return sum(count for _state, count in rows) - drafts, drafts


def retained(session: Session, contact: Contact) -> list[str]:
    """Why the contact cannot be deleted: posted ledger lines name it."""
    posted, _drafts = _line_counts(session, contact)
    if not posted:
        return []
    noun = "ledger line" if posted == 1 else "ledger lines"
    return [f"{posted} posted {noun} ({RETENTION})"]


def anonymize_contact(session: Session, contact: Contact) -> list[str]:
    """Blank the contact: name becomes "Erased contact #<id>", email, phone, address and notes are
    cleared, tags removed and custom fields emptied. Ledger lines keep pointing at it."""
    contact.name = f"Erased contact #{contact.id}"
    for key in ("email", "phone", "street", "city", "postal_code", "country", "notes"):
        setattr(contact, key, None)
    contact.tag_rows = []
    contact.custom = {}
    session.flush()
    return [f"contact #{contact.id}: name, email, phone, address, notes, tags and custom fields erased"]


def delete_contact(session: Session, contact: Contact) -> list[str]:
    """Delete the contact (only when nothing must be retained): lines of draft entries stop naming
    it, then the contacts service deletes it."""
    contact_id = contact.id
    lines: list[str] = []
    _posted, drafts = _line_counts(session, contact)
    if drafts:
        drafts_of_company = select(JournalEntry.id).where(
            JournalEntry.company_id == contact.company_id, JournalEntry.state == "draft"
        )
        session.execute(
            update(JournalLine)
            .where(JournalLine.contact_id == contact_id, JournalLine.entry_id.in_(drafts_of_company))
            .values(contact_id=None)
            .execution_options(synchronize_session=False)
        )
        lines.append(f"{drafts} lines of draft journal entries no longer name the contact")
    with granting(session, "contacts.delete"):
        contact_service.delete_contact(session, contact)
    lines.append(f"contact #{contact_id} deleted")
    return lines
