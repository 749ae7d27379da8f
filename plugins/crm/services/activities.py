"""Activities: calls, meetings, emails and tasks on a deal, a lead or a contact."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    Contact,
    NotFound,
    actor_of,
    company_id_of,
    emit,
    require_permission,
    utcnow,
    validation,
)

from ..models import ACTIVITY_KINDS, Activity, Deal, Lead
from .deals import _user_id


def _record(session: Session, model: Any, value: Any, field: str, errors: dict[str, list[str]]) -> Any:
    if value in (None, ""):
        return None
    found_id = validation.parse_id(value)
    record = session.get(model, found_id) if found_id is not None and found_id < 2**62 else None
    if record is None or record.company_id != company_id_of(session):
        errors[field] = [f"no such {model.__name__.lower()}"]
    return record


@require_permission("crm.deal.manage")
def create_activity(session: Session, data: Mapping[str, Any]) -> Activity:
    """Plan an activity: ``kind`` (call, meeting, email, task), ``subject``, ``due_date``,
    ``assignee_id`` (default: the actor), and one of ``deal_id``, ``lead_id``, ``contact_id``."""
    errors: dict[str, list[str]] = {}
    kind = data.get("kind") or "task"
    if kind not in ACTIVITY_KINDS:
        errors["kind"] = [f"must be one of {', '.join(ACTIVITY_KINDS)}"]
    subject = validation.parse_text(data.get("subject"), "subject", errors, limit=200, required=True)
    notes = validation.parse_text(data.get("notes"), "notes", errors, limit=5000)
    due = validation.parse_date(data.get("due_date"), "due_date", errors, required=False)
    assignee = data.get("assignee_id", getattr(actor_of(session), "id", None))
    assignee_id = _user_id(session, assignee, "assignee_id", errors)
    deal = _record(session, Deal, data.get("deal_id"), "deal_id", errors)
    lead = _record(session, Lead, data.get("lead_id"), "lead_id", errors)
    contact = _record(session, Contact, data.get("contact_id"), "contact_id", errors)
    if not errors and not (deal or lead or contact):
        errors["deal_id"] = ["attach the activity to a deal, a lead or a contact"]
    validation.raise_if(errors, "invalid activity")
    activity = Activity(
        company_id=company_id_of(session),
        kind=kind,
        subject=subject,
        notes=notes,
        due_date=due,
        assignee_id=assignee_id,
        deal_id=deal.id if deal else None,
        lead_id=lead.id if lead else None,
        # An activity on a deal also shows on its customer's page.
        contact_id=contact.id
        if contact
        else (deal.contact_id if deal else lead.contact_id if lead else None),
    )
    session.add(activity)
    session.flush()
    emit(session, "crm.activity.created", {"id": activity.id, "kind": kind})
    return activity


@require_permission("crm.deal.manage")
def complete_activity(session: Session, activity: Activity, *, notes: str | None = None) -> Activity:
    """Mark an activity done (with what came of it); it then counts as the last interaction."""
    validation.lock_row(session, activity)
    if activity.done:
        raise Conflict("the activity is already done", fields={"done": ["already done"]})
    errors: dict[str, list[str]] = {}
    if notes is not None:
        activity.notes = validation.parse_text(notes, "notes", errors, limit=5000)
    validation.raise_if(errors, "invalid activity")
    activity.done, activity.done_at = True, utcnow()
    session.flush()
    emit(session, "crm.activity.done", {"id": activity.id})
    return activity


@require_permission("crm.view")
def get_activity(session: Session, activity_id: Any) -> Activity:
    found_id = validation.parse_id(activity_id)
    activity = session.get(Activity, found_id) if found_id is not None and found_id < 2**62 else None
    if activity is None or activity.company_id != company_id_of(session):
        raise NotFound(f"activity {activity_id} not found")
    return activity


@require_permission("crm.view")
def my_activities(session: Session, user_id: int | None, *, include_done: bool = False) -> list[Activity]:
    """A user's activities, the oldest due first (undated last); see :func:`is_overdue`."""
    stmt = select(Activity).where(
        Activity.company_id == company_id_of(session), Activity.assignee_id == user_id
    )
    if not include_done:
        stmt = stmt.where(Activity.done.is_(False))
    return list(session.scalars(stmt.order_by(Activity.due_date.is_(None), Activity.due_date, Activity.id)))


def is_overdue(activity: Activity, today: dt.date | None = None) -> bool:
    return (
        not activity.done and activity.due_date is not None and activity.due_date < (today or dt.date.today())
    )


@require_permission("crm.view")
def timeline(
    session: Session, *, deal_id: int | None = None, contact_id: int | None = None, limit: int = 50
) -> list[Activity]:
    """Activities of a deal, or of a contact (its own and its deals' and leads'), newest first."""
    stmt = select(Activity).where(Activity.company_id == company_id_of(session))
    if deal_id is not None:
        stmt = stmt.where(Activity.deal_id == deal_id)
    elif contact_id is not None:
        stmt = stmt.where(
            or_(
                Activity.contact_id == contact_id,
                Activity.deal_id.in_(select(Deal.id).where(Deal.contact_id == contact_id)),
                Activity.lead_id.in_(select(Lead.id).where(Lead.contact_id == contact_id)),
            )
        )
    return list(session.scalars(stmt.order_by(Activity.id.desc()).limit(limit)))
