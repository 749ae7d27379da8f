"""What CRM holds about a person (a core contact), for GDPR export and erasure requests.

A contact's CRM records are its leads (linked to it, or carrying its email address), the deals
where it is the customer, the activities on the contact, those deals or those leads, and the
quotes of those deals. CRM keeps nothing that a law requires to retain (quotes are offers, not
bookkeeping), so it never reports a retention.

Erasing: anonymizing blanks the leads' name, email, phone, notes, disqualification reason and
custom fields, and the notes of the activities; deals, quotes and their amounts stay (a deal's
title names a project, and its customer is the anonymized contact). Deleting removes the
leads, deals (with their quotes) and activities. These functions do not check permissions: the
GDPR request service that calls the hooks has.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session

from core.plugin_api import Contact

from .models import Activity, Deal, Lead, Quote


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _leads(contact: Contact) -> Select:
    """Leads linked to the contact, or carrying its email address (case-blind)."""
    match = Lead.contact_id == contact.id
    if contact.email:
        match = or_(match, func.lower(Lead.email) == contact.email.lower())
    return select(Lead).where(Lead.company_id == contact.company_id, match).order_by(Lead.id)


def _deals(contact: Contact) -> Select:
    return (
        select(Deal)
        .where(Deal.company_id == contact.company_id, Deal.contact_id == contact.id)
        .order_by(Deal.id)
    )


def _activities(contact: Contact, deal_ids: list[int], lead_ids: list[int]) -> Select:
    match = Activity.contact_id == contact.id
    if deal_ids:
        match = or_(match, Activity.deal_id.in_(deal_ids))
    if lead_ids:
        match = or_(match, Activity.lead_id.in_(lead_ids))
    return select(Activity).where(Activity.company_id == contact.company_id, match).order_by(Activity.id)


def _records(
    session: Session, contact: Contact
) -> tuple[list[Lead], list[Deal], list[Activity], list[Quote]]:
    leads = list(session.scalars(_leads(contact)))
    deals = list(session.scalars(_deals(contact)))
    deal_ids = [d.id for d in deals]
    activities = list(session.scalars(_activities(contact, deal_ids, [lead.id for lead in leads])))
    quotes = (
        list(
            session.scalars(
                select(Quote)
                .where(Quote.company_id == contact.company_id, Quote.deal_id.in_(deal_ids))
                .order_by(Quote.id)
            )
        )
        if deal_ids
        else []
    )
    return leads, deals, activities, quotes


def personal_data(session: Session, contact: Contact) -> dict[str, Any]:
    """CRM's sections of the export: ``crm_leads``, ``crm_deals``, ``crm_activities``, ``crm_quotes``."""
    leads, deals, activities, quotes = _records(session, contact)
    return {
        "crm_leads": [
            {
                "id": lead.id,
                "name": lead.name,
                "company_name": lead.company_name,
                "email": lead.email,
                "phone": lead.phone,
                "source": lead.source,
                "status": lead.status,
                "notes": lead.notes,
                "disqualify_reason": lead.disqualify_reason,
                "custom": dict(lead.custom or {}),
                "deal_id": lead.deal_id,
                "created_at": _iso(lead.created_at),
            }
            for lead in leads
        ],
        "crm_deals": [
            {
                "id": deal.id,
                "title": deal.title,
                "stage": deal.stage.name,
                "state": deal.state,
                "expected_revenue": str(deal.expected_revenue),
                "currency": deal.currency,
                "probability": deal.probability,
                "expected_close": _iso(deal.expected_close),
                "closed_on": _iso(deal.closed_on),
                "lost_reason": deal.lost_reason,
                "custom": dict(deal.custom or {}),
                "created_at": _iso(deal.created_at),
            }
            for deal in deals
        ],
        "crm_activities": [
            {
                "id": activity.id,
                "kind": activity.kind,
                "subject": activity.subject,
                "notes": activity.notes,
                "due_date": _iso(activity.due_date),
                "done": activity.done,
                "done_at": _iso(activity.done_at),
                "deal_id": activity.deal_id,
                "lead_id": activity.lead_id,
            }
            for activity in activities
        ],
        "crm_quotes": [
            {
                "id": quote.id,
                "number": quote.number,
                "deal_id": quote.deal_id,
                "state": quote.state,
                "date": _iso(quote.date),
                "valid_until": _iso(quote.valid_until),
                "notes": quote.notes,
                "currency": quote.currency,
                "total": str(quote.total),
                "lines": [
                    {
                        "description": line.description,
                        "quantity": str(line.quantity),
                        "unit_price": str(line.unit_price),
                        "discount": str(line.discount),
                        "total": str(line.total),
                    }
                    for line in quote.lines
                ],
            }
            for quote in quotes
        ],
    }


def erase(session: Session, contact: Contact, *, anonymize: bool) -> list[str]:
    """Anonymize or delete the contact's CRM records; one line per kind of record touched."""
    leads, deals, activities, quotes = _records(session, contact)
    done: list[str] = []
    if anonymize:
        for lead in leads:
            lead.name = f"Erased lead #{lead.id}"
            lead.email = None
            lead.phone = ""
            lead.notes = ""
            lead.disqualify_reason = ""
            lead.custom = {}
        noted = [a for a in activities if a.notes]
        for activity in noted:
            activity.notes = ""
        session.flush()
        if leads:
            done.append(f"{len(leads)} CRM leads: name, email, phone, notes and custom fields erased")
        if noted:
            done.append(f"{len(noted)} CRM activities: notes erased")
        return done
    # Leads of other contacts may point at these deals: they keep their lead, without the deal.
    deal_ids = [deal.id for deal in deals]
    if deal_ids:
        session.execute(
            update(Lead)
            .where(Lead.company_id == contact.company_id, Lead.deal_id.in_(deal_ids))
            .values(deal_id=None)
            .execution_options(synchronize_session=False)
        )
    # Children first, one flush each, so that no row is left pointing at a deleted one.
    for batch in (activities, quotes, leads, deals):
        for record in batch:
            session.delete(record)
        session.flush()
    for count, label in (
        (len(leads), "CRM leads"),
        (len(deals), "CRM deals"),
        (len(quotes), "CRM quotes"),
        (len(activities), "CRM activities"),
    ):
        if count:
            done.append(f"{count} {label} deleted")
    return done
