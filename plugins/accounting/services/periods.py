"""Fiscal years and period closing: the lock date, kept by the core ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import Company, JournalEntry, companies, company_id_of, granting, require_permission

from ..models import Invoice
from .common import parse_date, raise_if


@dataclass
class FiscalYear:
    name: str
    start: dt.date
    end: dt.date
    locked: bool  # entirely on or before the lock date
    drafts: int  # draft documents dated in the year


@require_permission("accounting.period.lock")
def lock_period(session: Session, lock_date: Any) -> Company:
    """Lock the books through ``lock_date`` (``None`` or "" clears it); the core then refuses
    postings dated on or before it."""
    errors: dict[str, list[str]] = {}
    day = parse_date(lock_date, "lock_date", errors, required=False)
    raise_if(errors, "invalid lock date")
    with granting(session, "ledger.period.lock"):
        return companies.set_lock_date(session, day)


@require_permission("accounting.view")
def fiscal_years(session: Session) -> list[FiscalYear]:
    """The fiscal years that hold entries or documents, newest first, with their lock status."""
    company = session.get(Company, company_id_of(session))
    entries = session.execute(
        select(func.min(JournalEntry.date), func.max(JournalEntry.date)).where(
            JournalEntry.company_id == company.id
        )
    ).one()
    documents = session.execute(
        select(func.min(Invoice.date), func.max(Invoice.date)).where(Invoice.company_id == company.id)
    ).one()
    days = [d for d in (*entries, *documents, dt.date.today()) if d is not None]
    years = []
    for year in range(
        companies.fiscal_year(company, min(days)), companies.fiscal_year(company, max(days)) + 1
    ):
        start = dt.date(year, company.fiscal_year_start_month, 1)
        end = dt.date(year + 1, company.fiscal_year_start_month, 1) - dt.timedelta(days=1)
        drafts = session.scalar(
            select(func.count())
            .select_from(Invoice)
            .where(
                Invoice.company_id == company.id, Invoice.state == "draft", Invoice.date.between(start, end)
            )
        )
        name = str(year) if company.fiscal_year_start_month == 1 else f"{year}/{str(year + 1)[2:]}"
        locked = company.lock_date is not None and company.lock_date >= end
        years.append(FiscalYear(name, start, end, locked, drafts or 0))
    return list(reversed(years))
