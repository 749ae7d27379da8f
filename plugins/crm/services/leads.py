"""Leads: capture (form, web-to-lead, CSV import), qualify into a contact and a deal, disqualify."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    Contact,
    NotFound,
    Page,
    ValidationError,
    actor_of,
    company_id_of,
    contacts,
    emit,
    granting,
    keyset_page,
    require_permission,
    validation,
)

from ..models import LEAD_SOURCES, LEAD_STATUSES, Lead
from .deals import _user_id, create_deal

LEAD_SORTS = {"id": Lead.id, "name": Lead.name, "created_at": Lead.created_at, "status": Lead.status}
IMPORT_COLUMNS = ("name", "company_name", "email", "phone", "source", "notes")
MAX_IMPORT_ROWS = 5_000


def _clean(session: Session, data: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = validation.parse_text(data.get("name"), "name", errors, limit=200, required=True)
    if not partial or "company_name" in data:
        clean["company_name"] = validation.parse_text(
            data.get("company_name"), "company_name", errors, limit=200
        )
    if not partial or "email" in data:
        email = validation.parse_text(data.get("email"), "email", errors, limit=254)
        if email and ("@" not in email or email.startswith("@") or email.endswith("@") or " " in email):
            errors["email"] = ["is not a valid email address"]
        clean["email"] = email.lower() or None
    if not partial or "phone" in data:
        clean["phone"] = validation.parse_text(data.get("phone"), "phone", errors, limit=50)
    if not partial or "source" in data:
        source = data.get("source") or "other"
        if source not in LEAD_SOURCES:
            errors["source"] = [f"must be one of {', '.join(LEAD_SOURCES)}"]
        clean["source"] = source
    if not partial or "notes" in data:
        clean["notes"] = validation.parse_text(data.get("notes"), "notes", errors, limit=5000)
    if "status" in data:
        if data["status"] not in ("new", "contacted"):
            errors["status"] = ["must be new or contacted (qualify or disqualify to close a lead)"]
        clean["status"] = data["status"]
    if "owner_id" in data or not partial:
        owner = data.get("owner_id", getattr(actor_of(session), "id", None) if not partial else None)
        clean["owner_id"] = _user_id(session, owner, "owner_id", errors)
    validation.raise_if(errors, "invalid lead")
    return clean


@require_permission("crm.lead.manage")
def create_lead(session: Session, data: Mapping[str, Any]) -> Lead:
    """Create a lead: ``name``, ``company_name``, ``email``, ``phone``, ``source``, ``notes``, owner."""
    lead = Lead(company_id=company_id_of(session), **{"status": "new", **_clean(session, data)})
    session.add(lead)
    session.flush()
    emit(session, "crm.lead.created", {"id": lead.id, "source": lead.source})
    return lead


@require_permission("crm.lead.manage")
def update_lead(session: Session, lead: Lead, data: Mapping[str, Any]) -> Lead:
    _refuse_closed(lead)
    for key, value in _clean(session, data, partial=True).items():
        setattr(lead, key, value)
    session.flush()
    return lead


def _refuse_closed(lead: Lead) -> None:
    if lead.status in ("qualified", "disqualified"):
        raise Conflict(f"the lead is {lead.status}", fields={"status": [f"is {lead.status}"]})


@require_permission("crm.view")
def get_lead(session: Session, lead_id: Any) -> Lead:
    found_id = validation.parse_id(lead_id)
    lead = session.get(Lead, found_id) if found_id is not None and found_id < 2**62 else None
    if lead is None or lead.company_id != company_id_of(session):
        raise NotFound(f"lead {lead_id} not found")
    return lead


@require_permission("crm.view")
def matching_contacts(session: Session, lead: Lead) -> list[Contact]:
    """Contacts a lead may already be: same email (case-insensitive), offered before creating one."""
    if not lead.email:
        return []
    return list(
        session.scalars(
            select(Contact)
            .where(Contact.company_id == lead.company_id, func.lower(Contact.email) == lead.email.lower())
            .order_by(Contact.id)
        )
    )


@require_permission("crm.lead.manage")
def qualify_lead(
    session: Session,
    lead: Lead,
    *,
    contact_id: Any = None,
    create_contact: bool = False,
    deal: Mapping[str, Any] | None = None,
) -> Lead:
    """Turn a lead into a contact and a deal, in one transaction.

    ``contact_id`` links an existing contact (e.g. the email match offered by
    :func:`matching_contacts`); otherwise ``create_contact=True`` creates one from
    the lead. When the lead's email matches a contact and neither is given, it is
    refused with the matches, so a duplicate is never created by accident.
    A new contact is a person; when the lead names a company, the person is
    filed under that organization (found by name or created) and the deal's
    customer is the organization. ``deal`` holds the deal's fields (title
    defaults to the lead's company or name).
    """
    validation.lock_row(session, lead)
    _refuse_closed(lead)
    errors: dict[str, list[str]] = {}
    contact = None
    if contact_id not in (None, ""):
        contact = validation.company_contact(session, contact_id, "contact_id", errors)
    elif not create_contact:
        matches = matching_contacts(session, lead)
        if matches:
            names = ", ".join(f"{c.name} (#{c.id})" for c in matches[:5])
            errors["contact_id"] = [
                f"{lead.email} already belongs to {names}: link one, or create a new contact"
            ]
    validation.raise_if(errors, "cannot qualify the lead")
    customer = contact
    if contact is None:
        with granting(session, "contacts.create"):
            if lead.company_name:
                organization = _organization(session, lead.company_name)
                contact = contacts.create_contact(
                    session, kind="person", name=lead.name, email=lead.email or "", phone=lead.phone,
                    parent_id=organization.id,
                )  # fmt: skip
                customer = organization  # the company buys (and is invoiced); the person is its contact
            else:
                contact = customer = contacts.create_contact(
                    session, kind="person", name=lead.name, email=lead.email or "", phone=lead.phone
                )
    deal_data = {"title": lead.company_name or lead.name, "owner_id": lead.owner_id, **(deal or {})}
    # Qualifying is a lead manager's action: the deal it opens needs no deal permission of its own.
    with granting(session, "crm.deal.manage"):
        new_deal = create_deal(session, {**deal_data, "contact_id": customer.id})
    lead.status, lead.contact_id, lead.deal_id = "qualified", contact.id, new_deal.id
    session.flush()
    emit(session, "crm.lead.qualified", {"id": lead.id, "contact_id": contact.id, "deal_id": new_deal.id})
    return lead


def _organization(session: Session, name: str) -> Contact:
    found = session.scalar(
        select(Contact)
        .where(
            Contact.company_id == company_id_of(session),
            Contact.kind == "organization",
            func.lower(Contact.name) == name.lower(),
        )
        .limit(1)
    )
    return found or contacts.create_contact(session, kind="organization", name=name)


@require_permission("crm.lead.manage")
def disqualify_lead(session: Session, lead: Lead, reason: Any) -> Lead:
    """Close a lead that will not buy; the reason is required."""
    validation.lock_row(session, lead)
    _refuse_closed(lead)
    errors: dict[str, list[str]] = {}
    text = validation.parse_text(reason, "reason", errors, limit=500, required=True)
    validation.raise_if(errors, "cannot disqualify the lead")
    lead.status, lead.disqualify_reason = "disqualified", text
    session.flush()
    emit(session, "crm.lead.disqualified", {"id": lead.id})
    return lead


def leads_query(
    session: Session, *, q: str | None = None, status: str | None = None, owner_id: int | None = None
) -> Select:
    stmt = select(Lead).where(Lead.company_id == company_id_of(session))
    if status is not None:
        if status not in LEAD_STATUSES:
            validation.raise_if({"status": [f"must be one of {', '.join(LEAD_STATUSES)}"]}, "invalid filter")
        stmt = stmt.where(Lead.status == status)
    if owner_id is not None:
        stmt = stmt.where(Lead.owner_id == owner_id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Lead.name).like(pattern),
                func.lower(Lead.company_name).like(pattern),
                func.lower(Lead.email).like(pattern),
            )
        )
    return stmt


@require_permission("crm.view")
def list_leads(
    session: Session,
    *,
    sort: str = "id",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    return keyset_page(
        session,
        leads_query(session, **filters),
        column=LEAD_SORTS[sort],
        id_column=Lead.id,
        descending=descending,
        after=after,
        limit=limit,
    )


# --- web-to-lead -------------------------------------------------------------------------------------


def web_lead(session: Session, data: Mapping[str, Any]) -> Lead | None:
    """A lead from the public form. A filled honeypot field means a bot: nothing is stored and
    ``None`` is returned (the caller answers as if it worked, so the bot learns nothing)."""
    if str(data.get("website") or "").strip():
        return None
    fields = {key: data.get(key) for key in ("name", "company_name", "email", "phone", "notes")}
    errors: dict[str, list[str]] = {}
    if not (fields.get("email") or fields.get("phone")):
        errors["email"] = ["give an email or a phone number so we can answer"]
    validation.raise_if(errors, "invalid request")
    with granting(session, "crm.lead.manage"):
        return create_lead(session, {**fields, "source": "web", "owner_id": None})


# --- CSV import -----------------------------------------------------------------------------------------


@dataclass
class ImportPreview:
    """What an import would do: the valid rows, and the errors per row number (1 = first data row)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.errors)


@require_permission("crm.lead.manage")
def preview_import(session: Session, content: str | bytes) -> ImportPreview:
    """Check a CSV of leads (header row naming columns among ``name, company_name, email, phone,
    source, notes``) without storing anything."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError("not UTF-8", fields={"file": ["must be a UTF-8 CSV file"]}) from None
    try:
        rows = list(csv.reader(io.StringIO(str(content).replace("\x00", ""), newline="")))
    except csv.Error as exc:  # e.g. a cell beyond the csv module's field size limit
        raise ValidationError(
            "unreadable CSV", fields={"file": [f"is not a readable CSV file: {exc}"]}
        ) from None
    if not rows:
        raise ValidationError("empty file", fields={"file": ["is empty"]})
    header = [cell.strip().lower() for cell in rows[0]]
    unknown = [h for h in header if h not in IMPORT_COLUMNS]
    if "name" not in header or unknown:
        message = f"unknown columns: {', '.join(unknown)}" if unknown else "a 'name' column is required"
        raise ValidationError(
            "bad header", fields={"file": [f"{message} (columns: {', '.join(IMPORT_COLUMNS)})"]}
        )
    if len(rows) - 1 > MAX_IMPORT_ROWS:
        raise ValidationError("too many rows", fields={"file": [f"at most {MAX_IMPORT_ROWS} rows"]})
    preview = ImportPreview(header=header)
    for number, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            preview.errors[number] = {"row": [f"has {len(row)} columns, the header has {len(header)}"]}
            continue
        data = dict(zip(header, (cell.strip() for cell in row), strict=True))
        try:
            _clean(session, {**data, "owner_id": None})
        except ValidationError as exc:
            preview.errors[number] = exc.fields
            continue
        preview.rows.append(data)
    return preview


@require_permission("crm.lead.manage")
def import_leads(session: Session, content: str | bytes, *, skip_invalid: bool) -> list[Lead]:
    """Import the rows :func:`preview_import` accepted, all in one transaction.

    With invalid rows present, ``skip_invalid=False`` imports nothing (a ValidationError with
    every row's errors); ``skip_invalid=True`` imports the valid rows the preview showed.
    """
    preview = preview_import(session, content)
    if preview.errors and not skip_invalid:
        fields = {
            f"rows.{number}.{key}": messages
            for number, row_errors in preview.errors.items()
            for key, messages in row_errors.items()
        }
        raise ValidationError(f"{len(preview.errors)} of {preview.total} rows are invalid", fields=fields)
    owner = getattr(actor_of(session), "id", None)
    leads = [create_lead(session, {**row, "owner_id": owner}) for row in preview.rows]
    emit(session, "crm.leads.imported", {"count": len(leads)})
    return leads
