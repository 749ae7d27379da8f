"""Quotes: priced lines with discounts on a deal; accepting one wins the deal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Company,
    Conflict,
    NotFound,
    companies,
    company_id_of,
    emit,
    ledger,
    require_permission,
    validation,
)

from ..models import Deal, Quote, QuoteLine
from .deals import move_deal

CENT = Decimal("0.01")
MAX_TOTAL = Decimal("9999999999.99")
MAX_LINES = 500


def line_amounts(quantity: Decimal, unit_price: Decimal, discount: Decimal) -> tuple[Decimal, Decimal]:
    """(gross, total) of a line: ``gross = quantity x price``, ``total = gross x (1 - discount%)``,
    each rounded half up to cents."""
    gross = (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
    total = (quantity * unit_price * (100 - discount) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return gross, total


def _clean_lines(raw: Any, errors: dict[str, list[str]]) -> list[QuoteLine]:
    if not isinstance(raw, list | tuple) or not raw:
        errors["lines"] = ["a quote needs at least one line"]
        return []
    lines: list[QuoteLine] = []
    if len(raw) > MAX_LINES:
        errors["lines"] = [f"at most {MAX_LINES} lines"]
        return []
    for index, item in enumerate(raw):
        prefix = f"lines.{index}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["must be an object"]
            continue
        description = validation.parse_text(item.get("description"), f"{prefix}.description", errors,
                                            limit=500, required=True)  # fmt: skip
        quantity = validation.parse_decimal(item.get("quantity", "1"), f"{prefix}.quantity", errors, places=4)
        if f"{prefix}.quantity" not in errors and quantity <= 0:
            errors[f"{prefix}.quantity"] = ["must be greater than zero"]
        price = validation.parse_decimal(item.get("unit_price"), f"{prefix}.unit_price", errors, places=4)
        if f"{prefix}.unit_price" not in errors and price < 0:
            errors[f"{prefix}.unit_price"] = ["must not be negative"]
        discount = validation.parse_decimal(item.get("discount") or "0", f"{prefix}.discount", errors)
        if f"{prefix}.discount" not in errors and not 0 <= discount <= 100:
            errors[f"{prefix}.discount"] = ["must be a percentage between 0 and 100"]
        if any(key.startswith(prefix) for key in errors):
            continue
        gross, total = line_amounts(quantity, price, discount)
        if total > MAX_TOTAL:
            errors[f"{prefix}.unit_price"] = [f"the line total must be at most {MAX_TOTAL}"]
            continue
        lines.append(QuoteLine(sequence=index, description=description, quantity=quantity, unit_price=price,
                               discount=discount, gross=gross, total=total))  # fmt: skip
    return lines


def _apply(quote: Quote, lines: list[QuoteLine], errors: dict[str, list[str]]) -> None:
    subtotal = sum((line.gross for line in lines), Decimal("0.00"))
    total = sum((line.total for line in lines), Decimal("0.00"))
    if total > MAX_TOTAL:
        errors["lines"] = [f"the total must be at most {MAX_TOTAL}"]
        return
    quote.lines = lines
    quote.subtotal, quote.total, quote.discount_amount = subtotal, total, subtotal - total


@require_permission("crm.deal.manage")
def create_quote(session: Session, deal: Deal, data: Mapping[str, Any]) -> Quote:
    """A draft quote on an open deal, numbered ``QUO/<year>/0001`` per company and year."""
    if deal.state != "open":
        raise Conflict(f"the deal is {deal.state}", fields={"deal_id": [f"is {deal.state}"]})
    errors: dict[str, list[str]] = {}
    date = validation.parse_date(data.get("date") or dt.date.today(), "date", errors)
    valid_until = validation.parse_date(data.get("valid_until"), "valid_until", errors, required=False)
    if date and valid_until and valid_until < date:
        errors["valid_until"] = ["must not be before the quote date"]
    notes = validation.parse_text(data.get("notes"), "notes", errors, limit=5000)
    lines = _clean_lines(data.get("lines"), errors)
    validation.raise_if(errors, "invalid quote")
    company = session.get(Company, company_id_of(session))
    year = companies.fiscal_year(company, date)
    number = ledger.allocate_numbers(session, company.id, "crm:quote", year)
    quote = Quote(
        company_id=company.id, deal_id=deal.id, deal=deal, number=f"QUO/{year}/{number:04d}", state="draft",
        date=date, valid_until=valid_until, notes=notes, currency=deal.currency,
    )  # fmt: skip
    _apply(quote, lines, errors)
    validation.raise_if(errors, "invalid quote")
    session.add(quote)
    session.flush()
    emit(session, "crm.quote.created", {"id": quote.id, "number": quote.number})
    return quote


@require_permission("crm.deal.manage")
def update_quote(session: Session, quote: Quote, data: Mapping[str, Any]) -> Quote:
    """Change a draft quote's lines, dates or notes."""
    validation.lock_row(session, quote)
    if quote.state != "draft":
        raise Conflict(f"quote {quote.number} is {quote.state}", fields={"state": [f"is {quote.state}"]})
    errors: dict[str, list[str]] = {}
    if "valid_until" in data:
        quote.valid_until = validation.parse_date(
            data.get("valid_until"), "valid_until", errors, required=False
        )
    if "notes" in data:
        quote.notes = validation.parse_text(data.get("notes"), "notes", errors, limit=5000)
    if "lines" in data:
        lines = _clean_lines(data.get("lines"), errors)
        if not errors:
            _apply(quote, lines, errors)
    validation.raise_if(errors, "invalid quote")
    session.flush()
    return quote


def _set_state(session: Session, quote: Quote, state: str, allowed_from: tuple[str, ...]) -> Quote:
    validation.lock_row(session, quote)
    if quote.state not in allowed_from:
        raise Conflict(
            f"quote {quote.number} is {quote.state}",
            fields={"state": [f"is {quote.state}, cannot become {state}"]},
        )
    quote.state = state
    session.flush()
    emit(session, f"crm.quote.{state}", {"id": quote.id, "number": quote.number})
    return quote


@require_permission("crm.deal.manage")
def send_quote(session: Session, quote: Quote) -> Quote:
    return _set_state(session, quote, "sent", ("draft",))


@require_permission("crm.deal.manage")
def decline_quote(session: Session, quote: Quote) -> Quote:
    return _set_state(session, quote, "declined", ("draft", "sent"))


@require_permission("crm.deal.manage")
def accept_quote(session: Session, quote: Quote) -> Quote:
    """The customer said yes: the deal takes the quote's total and moves to the pipeline's won stage;
    the deal's other open quotes are declined. Refused once the deal is won or lost."""
    deal = quote.deal
    validation.lock_row(session, deal)
    if deal.state != "open":
        raise Conflict(f"the deal is already {deal.state}", fields={"deal_id": [f"is {deal.state}"]})
    won = next((s for s in deal.pipeline.stages if s.kind == "won"), None)
    if won is None:
        raise Conflict("the pipeline has no won stage", fields={"stage": ["no won stage"]})
    _set_state(session, quote, "accepted", ("draft", "sent"))
    for other in quotes_of(session, deal):
        if other.id != quote.id and other.state in ("draft", "sent"):
            other.state = "declined"
    deal.expected_revenue = quote.total
    move_deal(session, deal, won.id)
    return quote


@require_permission("crm.view")
def get_quote(session: Session, quote_id: Any) -> Quote:
    found_id = validation.parse_id(quote_id)
    quote = session.get(Quote, found_id) if found_id is not None and found_id < 2**62 else None
    if quote is None or quote.company_id != company_id_of(session):
        raise NotFound(f"quote {quote_id} not found")
    return quote


@require_permission("crm.view")
def quotes_of(session: Session, deal: Deal) -> list[Quote]:
    return list(session.scalars(select(Quote).where(Quote.deal_id == deal.id).order_by(Quote.id)))
