"""In-app notifications: short messages to one user, shown under "Messages" in the header.

Departments send them for things a person must act on or know about (a leave
request to approve, a decision); a user reads only their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.context import actor_of, company_id_of
from core.db import utcnow
from core.errors import NotFound, ValidationError
from core.models import Notification, User
from core.pagination import Page, keyset_page
from core.validation import parse_id

TITLE_LIMIT = 200
BODY_LIMIT = 2000


def _local_path(url: str) -> str:
    # A notification link stays inside the app: "/hr/leave/3", never "//evil" or "https://...".
    if not url:
        return ""
    if (
        not url.startswith("/")
        or url.startswith("//")
        or "\\" in url
        or len(url) > 500
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in url)
    ):
        raise ValidationError("invalid notification link", fields={"url": ["must be a path inside the app"]})
    return url


def notify(
    session: Session,
    user_ids: int | Iterable[int],
    title: str,
    *,
    body: str = "",
    url: str = "",
    source: str = "",
) -> list[Notification]:
    """Send ``title`` (and an optional ``body`` and in-app ``url``) to each user, in the current company.

    Part of the caller's transaction: if the business action rolls back, so do its messages.
    """
    ids = [user_ids] if isinstance(user_ids, int) else list(dict.fromkeys(user_ids))
    title = " ".join(str(title).split())[:TITLE_LIMIT]
    if not title:
        raise ValidationError("a notification needs a title", fields={"title": ["required"]})
    company_id = company_id_of(session)
    made = [
        Notification(
            company_id=company_id,
            user_id=user_id,
            title=title,
            body=str(body)[:BODY_LIMIT],
            url=_local_path(url),
            source=source[:50],
        )
        for user_id in ids
    ]
    session.add_all(made)
    session.flush()
    return made


def _me(session: Session) -> int:
    user = actor_of(session)
    if not isinstance(user, User):
        raise NotFound("notifications belong to a signed-in user")
    return user.id


def unread_count(session: Session) -> int:
    """How many of the acting user's messages in the current company are unread."""
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == _me(session),
                Notification.company_id == company_id_of(session),
                Notification.read_at.is_(None),
            )
        )
        or 0
    )


def my_notifications(
    session: Session, *, unread_only: bool = False, limit: int = 50, after: tuple[Any, int] | None = None
) -> Page:
    """The acting user's messages, newest first, a page at a time."""
    stmt = select(Notification).where(
        Notification.user_id == _me(session), Notification.company_id == company_id_of(session)
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return keyset_page(
        session,
        stmt,
        column=Notification.id,
        id_column=Notification.id,
        descending=True,
        after=after,
        limit=limit,
    )


def get_mine(session: Session, notification_id: int) -> Notification:
    """One of the acting user's messages; another user's is "not found"."""
    notification = (
        session.get(Notification, notification_id) if parse_id(notification_id) == notification_id else None
    )
    if (
        notification is None
        or notification.user_id != _me(session)
        or notification.company_id != company_id_of(session)
    ):
        raise NotFound(f"notification {notification_id} not found")
    return notification


def mark_read(session: Session, notification_id: int | None = None) -> int:
    """Mark one message (or, with no id, every message) of the acting user as read; returns how many."""
    if notification_id is not None:
        notification = get_mine(session, notification_id)
        if notification.read_at is None:
            notification.read_at = utcnow()
            session.flush()
            return 1
        return 0
    result = session.execute(
        update(Notification)
        .where(
            Notification.user_id == _me(session),
            Notification.company_id == company_id_of(session),
            Notification.read_at.is_(None),
        )
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
