"""Companies and their period locks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import company_id_of
from core.errors import NotFound, ValidationError
from core.events import emit
from core.models import Company
from core.permissions import require_permission


def create_company(
    session: Session,
    *,
    name: str,
    base_currency: str = "USD",
    locale: str = "en",
    fiscal_year_start_month: int = 1,
) -> Company:
    """Create a company; the first one is made by ``officium init``."""
    errors: dict[str, list[str]] = {}
    if not name or not name.strip():
        errors["name"] = ["is required"]
    if not (isinstance(base_currency, str) and len(base_currency) == 3 and base_currency.isalpha()):
        errors["base_currency"] = ["must be a 3-letter ISO 4217 code"]
    if not 1 <= int(fiscal_year_start_month) <= 12:
        errors["fiscal_year_start_month"] = ["must be between 1 and 12"]
    if errors:
        raise ValidationError("invalid company", fields=errors)
    company = Company(
        name=name.strip(),
        base_currency=base_currency.upper(),
        locale=locale,
        fiscal_year_start_month=int(fiscal_year_start_month),
    )
    session.add(company)
    session.flush()
    return company


def current_company(session: Session) -> Company:
    company = session.get(Company, company_id_of(session))
    if company is None:
        raise NotFound("company not found")
    return company


def first_company(session: Session) -> Company | None:
    return session.scalar(select(Company).order_by(Company.id).limit(1))


@require_permission("ledger.period.lock")
def set_lock_date(session: Session, lock_date: dt.date | None) -> Company:
    """Lock the books through ``lock_date`` (postings on or before it are refused)."""
    company = current_company(session)
    company.lock_date = lock_date
    session.flush()
    emit(
        session,
        "period.locked",
        {"company_id": company.id, "lock_date": lock_date.isoformat() if lock_date else None},
    )
    return company


def fiscal_year(company: Company, date: dt.date) -> int:
    """The fiscal year a date falls in, named by the calendar year it starts in."""
    return date.year if date.month >= company.fiscal_year_start_month else date.year - 1
