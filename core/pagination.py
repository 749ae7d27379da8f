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

from sqlalchemy import Select, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from core.errors import ValidationError

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
        else:
            later = column < value if descending else column > value
            conditions = [later, (column == value) & id_after]
            if nullable:
                conditions.append(column.is_(None))
            stmt = stmt.where(or_(*conditions))
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


def decode_cursor(cursor: str | None) -> tuple[Any, int] | None:
    """The (value, id) in a cursor; a malformed one is a ValidationError on ``cursor``."""
    if not cursor:
        return None
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
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(
            "invalid cursor", fields={"cursor": ["is not a cursor from this list"]}
        ) from exc
