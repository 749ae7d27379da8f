"""Parsing and checking business input for services: one rule for core and every plugin.

Each ``parse_*`` reads one value, records a field message in ``errors`` when it
is wrong (and returns a neutral value), so a service can report every bad field
at once with :func:`raise_if`.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import company_id_of
from core.errors import ValidationError
from core.models import Contact

CENT = Decimal("0.01")
# Business dates stay well inside what date arithmetic (due dates, previous periods, ageing) can reach.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(9899, 12, 31)
ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("999999999999.99")


def cents(value: Decimal) -> Decimal:
    """Round half up to cents, the way tax authorities and customers expect."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_date(
    value: Any, field: str, errors: dict[str, list[str]], *, required: bool = True
) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    if value in (None, "") and not required:
        return None
    if not isinstance(value, dt.date):
        try:
            value = dt.date.fromisoformat(str(value).strip())
        except (TypeError, ValueError):
            errors[field] = ["must be a date (YYYY-MM-DD)"]
            return None
    if not DATE_MIN <= value <= DATE_MAX:
        errors[field] = [f"must be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"]
        return None
    return value


def parse_decimal(
    value: Any,
    field: str,
    errors: dict[str, list[str]],
    *,
    places: int = 2,
    minimum: Decimal | None = None,
    positive: bool = False,
    default: Decimal | None = None,
) -> Decimal:
    """A Decimal from a string, int or Decimal with at most ``places`` decimals; floats are refused."""
    if value in (None, "") and default is not None:
        return default
    if isinstance(value, bool | float) or value is None:
        errors[field] = ['must be a decimal number (send it as a string, e.g. "10.50")']
        return ZERO
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[field] = ["must be a decimal number"]
        return ZERO
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        errors[field] = ["is out of range"]
        return ZERO
    if number != number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
        errors[field] = [f"has more than {places} decimals"]
        return ZERO
    if positive and number <= 0:
        errors[field] = ["must be greater than zero"]
    elif minimum is not None and number < minimum:
        errors[field] = [f"must be at least {minimum}"]
    return number


def parse_text(
    value: Any, field: str, errors: dict[str, list[str]], *, limit: int, required: bool = False
) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        errors[field] = ["must be text"]
    elif required and not text:
        errors[field] = ["is required"]
    elif len(text) > limit:
        errors[field] = [f"must be at most {limit} characters"]
    elif "\x00" in text:
        # PostgreSQL cannot store it (SQLite would, silently): a field message on both.
        errors[field] = ["must not contain NUL characters"]
    return text


# Row ids are INTEGER columns: 32-bit on PostgreSQL. A larger number sent as an id cannot name a
# row, and sent to PostgreSQL it is an "integer out of range" error rather than "not found".
MAX_ID = 2**31 - 1


def parse_id(value: Any) -> int | None:
    """A row id from an int or a string of ASCII digits, else None (also for 0, negatives and
    numbers beyond :data:`MAX_ID`, which no row can have)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip()) if len(value.strip()) < 20 else 0
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def lock_row(session: Session, record: Any) -> None:
    """Take the row lock of ``record`` (until the transaction ends) and re-read it.

    For rules that read-then-write a document: two sessions that loaded the same
    draft or residual would otherwise both act on it. PostgreSQL waits on the
    lock; SQLite already runs one writer at a time.
    """
    model = type(record)
    session.execute(select(model.id).where(model.id == record.id).with_for_update())
    session.refresh(record)


def company_contact(session: Session, value: Any, field: str, errors: dict[str, list[str]]) -> Contact | None:
    """A contact of the current company by id, else a field message."""
    contact_id = parse_id(value)
    contact = session.get(Contact, contact_id) if contact_id is not None else None
    if contact is None or contact.company_id != company_id_of(session):
        errors[field] = ["no such contact"]
        return None
    return contact


def raise_if(errors: dict[str, list[str]], message: str) -> None:
    if errors:
        key, messages = next(iter(errors.items()))
        raise ValidationError(f"{message}: {key} {messages[0]}", fields=errors)
