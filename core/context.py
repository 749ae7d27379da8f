"""Who acts, in which company: carried on the SQLAlchemy session of a business action.

The web layer sets the logged-in user and current company on the request's
session; the CLI acts as the operator (all permissions). Services read them
from the session they are given, so UI, API and CLI behave identically.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationError

if TYPE_CHECKING:
    from core.plugins import PluginManager

ACTOR = "officium_actor"
COMPANY = "officium_company_id"
MANAGER = "officium_manager"


@dataclass(frozen=True)
class SystemActor:
    """The command line or a background job: trusted, holds every permission."""

    label: str = "cli"
    id: None = None
    email: str = ""

    def has_permission(self, code: str) -> bool:
        return True

    @property
    def is_authenticated(self) -> bool:
        return True


SYSTEM = SystemActor()


def set_actor(session: Session, actor: Any) -> None:
    session.info[ACTOR] = actor


def actor_of(session: Session) -> Any:
    """The user acting through ``session``; the system actor when none was set (CLI, jobs)."""
    return session.info.get(ACTOR, SYSTEM)


@dataclass(frozen=True)
class GrantedActor:
    """An actor who, for one business action, also holds ``extra`` permission codes."""

    actor: Any
    extra: frozenset[str]

    def has_permission(self, code: str) -> bool:
        return code in self.extra or bool(getattr(self.actor, "has_permission", lambda _c: False)(code))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.actor, name)


@contextmanager
def granting(session: Session, *codes: str) -> Iterator[None]:
    """Let the session's actor hold ``codes`` inside the block, then restore it.

    For a plugin service that has checked its own permission and then calls a
    core service on the user's behalf: posting an invoice
    (``accounting.invoice.post``) posts a ledger entry without the user also
    needing ``ledger.entry.post``. The actor's identity is unchanged, so
    entries and the audit trail still name the real user.
    """
    previous = session.info.get(ACTOR, SYSTEM)
    session.info[ACTOR] = GrantedActor(previous, frozenset(codes))
    try:
        yield
    finally:
        session.info[ACTOR] = previous


def actor_id_of(session: Session) -> int | None:
    return getattr(actor_of(session), "id", None)


def set_company(session: Session, company_id: int) -> None:
    session.info[COMPANY] = company_id


def company_id_of(session: Session) -> int:
    """The current company: the one set on the session, else the first one."""
    company_id = session.info.get(COMPANY)
    if company_id is None:
        from core.models import Company

        company_id = session.scalar(select(Company.id).order_by(Company.id).limit(1))
        if company_id is None:
            raise ValidationError("no company exists yet: run 'officium init' first")
        session.info[COMPANY] = company_id
    return company_id


def manager_of(session: Session) -> PluginManager | None:
    return session.info.get(MANAGER)
