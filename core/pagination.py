"""Keyset pagination shared by every list (UI and API): no OFFSET, fast at any depth.

A page is ordered by one sort column then the primary key; the cursor is the
(sort value, id) of the last row, sent to clients as an opaque base64 token.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, literal, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import ValidationError
from core.validation import MAX_ID

MAX_LIMIT = 500


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_after: tuple[Any, int] | None

    @property
    def next_cursor(self) -> str | None:
        return encode_cursor(self.next_after) if self.next_after else None


def keyset_page(
    session: Session,
    stmt: Select,
    *,
    column: InstrumentedAttribute,
    id_column: InstrumentedAttribute,
    descending: bool = False,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
) -> Page:
    """Run ``stmt`` for one page ordered by ``column`` then ``id_column`` (NULLs last)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    if after is not None:
        check_cursor(after, column)
    same_column = column is id_column
    nullable = bool(getattr(column, "nullable", False)) and not same_column
    if after is not None:
        value, last_id = after
        id_after = id_column < last_id if descending else id_column > last_id
        if same_column:
            stmt = stmt.where(id_after)
        elif value is None:
            # NULLs sort last: after a NULL only NULLs with a later id remain.
            stmt = stmt.where(column.is_(None), id_after)
        elif not nullable:
            # A row-value comparison lets SQLite and PostgreSQL seek the (column, id) index
            # straight to the page; the OR form below made deep pages scan from the start.
            # The bound value takes the column's type, so a Money cursor binds as minor units.
            key, bound = tuple_(column, id_column), tuple_(literal(value, column.type), last_id)
            stmt = stmt.where(key < bound if descending else key > bound)
        else:
            later = column < value if descending else column > value
            stmt = stmt.where(or_(later, (column == value) & id_after, column.is_(None)))
    # A NOT NULL column skips the NULLs-last term so that its index serves the order.
    order = [column.is_(None)] if nullable else []
    if same_column:
        order.append(id_column.desc() if descending else id_column)
    else:
        order += [column.desc(), id_column.desc()] if descending else [column, id_column]
    rows = session.scalars(stmt.order_by(*order).limit(limit + 1)).all()
    items = list(rows[:limit])
    next_after = None
    if len(rows) > limit:
        last = items[-1]
        next_after = (getattr(last, column.key), getattr(last, id_column.key))
    return Page(items, next_after)


def encode_cursor(after: tuple[Any, int]) -> str:
    value, last_id = after
    if isinstance(value, dt.datetime):
        payload = ["dt", value.isoformat(), last_id]
    elif isinstance(value, dt.date):
        payload = ["d", value.isoformat(), last_id]
    elif isinstance(value, Decimal):
        payload = ["n", str(value), last_id]
    else:
        payload = ["v", value, last_id]
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid_cursor() -> ValidationError:
    return ValidationError("invalid cursor", fields={"cursor": ["is not a cursor from this list"]})


_MAX_ID = 2**63  # a BIGINT value (amounts in minor units)


def check_cursor(after: tuple[Any, int], column: Any) -> None:
    """Refuse a cursor whose value cannot be one of ``column``'s: another sort's, or forged.

    Compared with the column it would reach the database as a wrong-typed or
    out-of-range parameter (an error there, a 500 here), or silently misorder.
    """
    value, last_id = after
    if not 0 < last_id <= MAX_ID:
        raise _invalid_cursor()
    if value is None:
        return
    # A TypeDecorator that names its Python type answers for itself (Money: Decimal), else its impl does.
    column_type = getattr(column, "type", None)
    expected = None
    for candidate in (column_type, getattr(column_type, "impl_instance", None)):
        try:
            expected = candidate.python_type
        except (AttributeError, NotImplementedError):
            continue
        if expected is not object:  # a TypeDecorator that says nothing answers ``object``
            break
    if expected in (None, object):
        return
    if expected is bool:
        ok = isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool) and -_MAX_ID <= value < _MAX_ID
    elif expected is dt.datetime:
        ok = isinstance(value, dt.datetime)
    elif expected is dt.date:
        ok = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    elif expected is Decimal:
        ok = isinstance(value, Decimal) and value.is_finite() and abs(value.adjusted()) < 100
    elif expected is str:
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise _invalid_cursor()


def decode_cursor(cursor: str | None, column: Any = None) -> tuple[Any, int] | None:
    """The (value, id) in a cursor; a malformed one is a ValidationError on ``cursor``.

    With ``column`` (the sort column) the value must also fit it: see :func:`check_cursor`.
    """
    if not cursor:
        return None
    after = _decode(cursor)
    if column is not None:
        check_cursor(after, column)
    return after


def _decode(cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, value, last_id = json.loads(raw)
        if not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValueError
        if kind == "dt":
            value = dt.datetime.fromisoformat(value)
        elif kind == "d":
            value = dt.date.fromisoformat(value)
        elif kind == "n":
            value = Decimal(value)
        elif kind != "v" or not (value is None or isinstance(value, str | int)):
            raise ValueError
        return value, last_id
    except (ValueError, TypeError, ArithmeticError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _invalid_cursor() from exc
