"""Period locks: the company's lock date, changing it, and its history read from the audit trail.

The lock date is core's (``company.lock_date``; postings dated on or before it are refused). Every
change of it is an ``update`` row of the company in the trail, so the history needs no table of
its own and cannot be edited apart from the trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import AuditLog, Company, companies, require_permission, validation

HISTORY_LIMIT = 100


@dataclass(frozen=True)
class LockChange:
    """One change of the lock date: when, by whom (and how), from ``old`` to ``new`` (None: open)."""

    at: dt.datetime
    actor: str
    user_id: int | None
    via: str
    old: dt.date | None
    new: dt.date | None


def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@require_permission("compliance.view")
def current_lock_date(session: Session) -> dt.date | None:
    """The company's lock date (None: every period is open)."""
    return companies.current_company(session).lock_date


@require_permission("compliance.view")
def lock_history(session: Session, limit: int = HISTORY_LIMIT) -> list[LockChange]:
    """The company's lock date changes, newest first, from the audit trail."""
    company = companies.current_company(session)
    rows = session.scalars(
        select(AuditLog)
        .where(
            AuditLog.model == Company.__tablename__,
            AuditLog.record_id == str(company.id),
            AuditLog.action.in_(("create", "update")),
        )
        .order_by(AuditLog.seq.desc())
    )
    history: list[LockChange] = []
    for row in rows:
        changes = row.changes if isinstance(row.changes, dict) else {}
        pair = changes.get("lock_date")
        if not (isinstance(pair, list) and len(pair) == 2):
            continue
        history.append(LockChange(row.at, row.actor, row.user_id, row.via, _day(pair[0]), _day(pair[1])))
        if len(history) >= limit:
            break
    return history


@require_permission("ledger.period.lock")
def set_lock(session: Session, value: Any) -> Company:
    """Lock the books through ``value`` (an ISO date or a date); empty or None opens every period.

    A bad date is a :class:`ValidationError` on ``lock_date``; the change is written to the audit
    trail with the company's other changes when ``session`` commits.
    """
    errors: dict[str, list[str]] = {}
    day = validation.parse_date(value, "lock_date", errors, required=False)
    validation.raise_if(errors, "invalid lock date")
    return companies.set_lock_date(session, day)
