"""Accounting's shared pieces: its settings and bank journals; input rules come from core."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import ValidationError, company_id_of
from core.plugin_api import validation as _validation

from ..models import BankJournal, Settings

CENT = _validation.CENT
DATE_MIN = _validation.DATE_MIN
DATE_MAX = _validation.DATE_MAX
ZERO = _validation.ZERO
MAX_AMOUNT = _validation.MAX_AMOUNT
cents = _validation.cents
parse_date = _validation.parse_date
parse_decimal = _validation.parse_decimal
parse_text = _validation.parse_text
parse_id = _validation.parse_id
lock_row = _validation.lock_row
company_contact = _validation.company_contact
raise_if = _validation.raise_if


def settings_of(session: Session) -> Settings:
    """The company's accounting settings; seeded when the plugin is enabled."""
    found = session.get(Settings, company_id_of(session))
    if found is None:
        raise ValidationError(
            "accounting is not set up for this company: enable the accounting plugin",
            fields={"settings": ["missing"]},
        )
    return found


def bank_journal(
    session: Session, value: Any, field: str, errors: dict[str, list[str]]
) -> BankJournal | None:
    """A bank or cash journal of the company, by id or by its ledger journal's code."""
    company_id = company_id_of(session)
    stmt = select(BankJournal).where(BankJournal.company_id == company_id)
    found = None
    journal_id = parse_id(value)
    if journal_id is not None and journal_id < 2**62:
        found = session.scalar(stmt.where(BankJournal.id == journal_id))
    elif isinstance(value, str) and value.strip():
        found = next((b for b in session.scalars(stmt) if b.journal.code == value.strip()), None)
    if found is None:
        errors[field] = ["no such bank or cash journal"]
    return found


def list_bank_journals(session: Session) -> list[BankJournal]:
    return list(
        session.scalars(
            select(BankJournal)
            .where(BankJournal.company_id == company_id_of(session))
            .order_by(BankJournal.id)
        )
    )
