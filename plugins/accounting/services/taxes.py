"""Tax rates: percent, included in or added to the price, each posted to its own account."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import Account, Conflict, NotFound, company_id_of, emit, require_permission

from ..models import TAX_SCOPES, Tax
from .common import ZERO, cents, parse_decimal, parse_id, parse_text, raise_if


@dataclass(frozen=True)
class LineAmounts:
    subtotal: Decimal  # untaxed
    tax: Decimal
    total: Decimal


def compute_line(quantity: Decimal, unit_price: Decimal, tax: Tax | None) -> LineAmounts:
    """Amounts of one line, rounded per line to cents.

    Tax excluded: tax = subtotal * rate. Tax included: the price holds the tax,
    so subtotal = gross / (1 + rate) and tax = gross - subtotal, which keeps the
    gross the customer saw exactly.
    """
    gross = cents(quantity * unit_price)
    if tax is None or tax.rate == 0:
        return LineAmounts(gross, ZERO, gross)
    rate = tax.rate / Decimal(100)
    if tax.price_include:
        subtotal = cents(gross / (1 + rate))
        return LineAmounts(subtotal, gross - subtotal, gross)
    amount = cents(gross * rate)
    return LineAmounts(gross, amount, gross + amount)


def _clean(session: Session, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = parse_text(data.get("name"), "name", errors, limit=100, required=True)
    if not partial or "rate" in data:
        clean["rate"] = parse_decimal(data.get("rate"), "rate", errors, places=4, minimum=ZERO)
        if "rate" not in errors and clean["rate"] > 100:
            errors["rate"] = ["must be a percentage between 0 and 100"]
    if not partial or "price_include" in data:
        value = data.get("price_include", False)
        if not isinstance(value, bool):
            errors["price_include"] = ["must be true or false"]
        clean["price_include"] = bool(value)
    if not partial or "scope" in data:
        scope = data.get("scope", "sale")
        if scope not in TAX_SCOPES:
            errors["scope"] = [f"must be one of {', '.join(TAX_SCOPES)}"]
        clean["scope"] = scope
    if not partial or "account" in data:
        account = _account(session, data.get("account"))
        if account is None:
            errors["account"] = ["no such account"]
        else:
            clean["account_id"] = account.id
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["must be true or false"]
        clean["active"] = bool(data["active"])
    raise_if(errors, "invalid tax")
    return clean


def _account(session: Session, ref: Any) -> Account | None:
    stmt = select(Account).where(Account.company_id == company_id_of(session))
    account_id = parse_id(ref)
    if isinstance(ref, str) and ref.strip():
        by_code = session.scalar(stmt.where(Account.code == ref.strip()))
        if by_code is not None:
            return by_code
    if account_id is not None and account_id < 2**62:
        return session.scalar(stmt.where(Account.id == account_id))
    return None


def _refuse_duplicate(session: Session, name: str, tax_id: int | None = None) -> None:
    stmt = select(Tax.id).where(Tax.company_id == company_id_of(session), Tax.name == name)
    if tax_id is not None:
        stmt = stmt.where(Tax.id != tax_id)
    if session.scalar(stmt) is not None:
        raise Conflict(f"a tax named {name} exists", fields={"name": ["already in use"]})


@require_permission("accounting.settings")
def create_tax(session: Session, **data: Any) -> Tax:
    """Create a tax: ``name``, ``rate`` (percent), ``price_include``, ``scope``, ``account`` (code or id)."""
    clean = _clean(session, data)
    _refuse_duplicate(session, clean["name"])
    tax = Tax(company_id=company_id_of(session), **clean)
    session.add(tax)
    session.flush()
    emit(session, "accounting.tax.created", {"id": tax.id, "name": tax.name})
    return tax


@require_permission("accounting.settings")
def update_tax(session: Session, tax: Tax, **data: Any) -> Tax:
    """Change a tax; posted documents keep the amounts they were posted with."""
    clean = _clean(session, data, partial=True)
    if "name" in clean:
        _refuse_duplicate(session, clean["name"], tax.id)
    for key, value in clean.items():
        setattr(tax, key, value)
    session.flush()
    return tax


@require_permission("accounting.view")
def list_taxes(session: Session, *, scope: str | None = None, active: bool | None = None) -> list[Tax]:
    stmt = select(Tax).where(Tax.company_id == company_id_of(session))
    if scope is not None:
        stmt = stmt.where(Tax.scope == scope)
    if active is not None:
        stmt = stmt.where(Tax.active.is_(active))
    return list(session.scalars(stmt.order_by(Tax.name)))


@require_permission("accounting.view")
def get_tax(session: Session, tax_id: int) -> Tax:
    tax = session.get(Tax, tax_id) if isinstance(tax_id, int) and tax_id < 2**62 else None
    if tax is None or tax.company_id != company_id_of(session):
        raise NotFound(f"tax {tax_id} not found")
    return tax
