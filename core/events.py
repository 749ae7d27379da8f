"""Domain events: emitted by services, delivered after the transaction commits.

``emit(session, "contact.created", {...})`` queues the event on the session;
when that session commits, each event goes to ``officium_event`` on enabled
plugins with a fresh session (committed after the handlers ran). A rolled back
transaction delivers nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from core.context import MANAGER, actor_id_of, company_id_of
from core.db import utcnow

log = logging.getLogger(__name__)
PENDING = "officium_pending_events"


@dataclass(frozen=True)
class Event:
    """Something that happened: ``name`` like ``entry.posted``, a JSON-able ``payload``."""

    name: str
    payload: dict[str, Any]
    company_id: int | None = None
    actor_id: int | None = None
    occurred_at: datetime = field(default_factory=utcnow)


def emit(session: Session, name: str, payload: dict[str, Any]) -> Event:
    """Queue a domain event; it is delivered only if the session's transaction commits."""
    try:
        company_id = payload.get("company_id") or company_id_of(session)
    except Exception:
        company_id = None
    event = Event(name=name, payload=payload, company_id=company_id, actor_id=actor_id_of(session))
    session.info.setdefault(PENDING, []).append(event)
    return event


def install(factory: sessionmaker) -> None:
    """Deliver events queued on sessions made by ``factory`` after they commit."""

    @sa_event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        events = session.info.pop(PENDING, None)
        manager = session.info.get(MANAGER)
        if not events or manager is None:
            return
        deliver(factory, manager, events, session.info)

    @sa_event.listens_for(factory, "after_rollback")
    def _after_rollback(session: Session) -> None:
        session.info.pop(PENDING, None)


def deliver(factory: sessionmaker, manager: Any, events: list[Event], info: dict) -> None:
    caller = manager.caller("officium_event")
    if not caller.get_hookimpls():
        return
    with factory() as handler_session:
        for key in ("officium_actor", "officium_company_id"):
            if key in info:
                handler_session.info[key] = info[key]
        for ev in events:
            caller(event=ev, session=handler_session)
        try:
            handler_session.commit()
        except Exception:
            log.exception("event handlers' changes could not be committed")
            handler_session.rollback()
