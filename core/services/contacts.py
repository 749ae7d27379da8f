"""Contacts: the people and organisations every department shares."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core.context import company_id_of, manager_of
from core.db import utcnow
from core.errors import Conflict, NotFound, ValidationError
from core.events import emit
from core.models import Contact, ContactTag, JournalLine
from core.pagination import Page, keyset_page
from core.permissions import require_permission
from core.validation import parse_id

KINDS = ("person", "organization")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TAG_RE = re.compile(r"^[\w .&/+-]{1,50}$")
FIELD_LIMITS = {
    "name": 200,
    "email": 254,
    "phone": 50,
    "street": 200,
    "city": 100,
    "postal_code": 20,
    "notes": 10_000,
}
EDITABLE = (
    "kind",
    "name",
    "parent_id",
    "email",
    "phone",
    "street",
    "city",
    "postal_code",
    "country",
    "notes",
    "active",
    "tags",
    "custom",
)
SORTS = {"name": Contact.name, "email": Contact.email, "created_at": Contact.created_at, "id": Contact.id}


def _clean(
    session: Session,
    data: Mapping[str, Any],
    *,
    partial: bool,
    company_id: int,
    contact_id: int | None = None,
) -> dict[str, Any]:
    """Validate contact fields; returns the normalised values or raises with field messages."""
    unknown = sorted(set(data) - set(EDITABLE))
    errors: dict[str, list[str]] = {k: ["unknown field"] for k in unknown}
    out: dict[str, Any] = {}
    if "kind" in data or not partial:
        kind = data.get("kind", "person")
        if kind not in KINDS:
            errors["kind"] = ["must be 'person' or 'organization'"]
        out["kind"] = kind
    if "name" in data or not partial:
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            errors["name"] = ["is required"]
        else:
            out["name"] = name.strip()
    for key in FIELD_LIMITS:
        if key == "name" or key not in data:
            continue
        value = data[key]
        if value is None or value == "":
            out[key] = None
        elif not isinstance(value, str):
            errors[key] = ["must be text"]
        else:
            value = value.strip()
            out[key] = value or None
    for key, limit in FIELD_LIMITS.items():
        value = out.get(key)
        if isinstance(value, str) and len(value) > limit:
            errors[key] = [f"must be at most {limit} characters"]
    if out.get("email") and not EMAIL_RE.match(out["email"]):
        errors["email"] = ["is not a valid email address"]
    if "country" in data:
        country = data["country"]
        if country in (None, ""):
            out["country"] = None
        elif not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
            errors["country"] = ["must be a 2-letter ISO 3166 code"]
        else:
            out["country"] = country.upper()
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["must be true or false"]
        out["active"] = data["active"]
    if "parent_id" in data and data["parent_id"] is not None:
        parent_id = data["parent_id"]
        parent = session.get(Contact, parent_id) if parse_id(parent_id) == parent_id else None
        if parent is None or parent.company_id != company_id:
            errors["parent_id"] = ["no such contact"]
        elif parent.kind != "organization":
            errors["parent_id"] = ["must be an organization"]
        elif contact_id is not None and parent_id == contact_id:
            errors["parent_id"] = ["a contact cannot be its own parent"]
        out["parent_id"] = parent_id
    elif "parent_id" in data:
        out["parent_id"] = None
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
            errors["tags"] = ["must be a list of text tags"]
        else:
            cleaned = sorted({t.strip() for t in tags if t.strip()})
            bad = [t for t in cleaned if not TAG_RE.match(t)]
            if bad:
                errors["tags"] = [f"invalid tag {bad[0]!r} (letters, digits, spaces, .&/+-, at most 50)"]
            out["tags"] = cleaned
    if "custom" in data:
        if not isinstance(data["custom"], dict):
            errors["custom"] = ["must be an object"]
        out["custom"] = data["custom"]
    if errors:
        raise ValidationError("invalid contact", fields=errors)
    return out


@require_permission("contacts.create")
def create_contact(session: Session, **data: Any) -> Contact:
    """Create a person or organisation in the current company."""
    company_id = company_id_of(session)
    values = _clean(session, data, partial=False, company_id=company_id)
    tags = values.pop("tags", [])
    contact = Contact(company_id=company_id, custom=values.pop("custom", {}), **values)
    contact.tag_rows = [ContactTag(tag=t) for t in tags]
    session.add(contact)
    session.flush()
    emit(session, "contact.created", {"id": contact.id, "name": contact.name, "kind": contact.kind})
    return contact


@require_permission("contacts.create")
def create_contacts(
    session: Session, rows: Iterable[Mapping[str, Any]], *, chunk_size: int = 2000
) -> list[int]:
    """Bulk path for imports: validate every row, insert with executemany; returns the new ids.

    All or nothing: a bad row raises with its index in the message and the caller rolls back.
    """
    company_id = company_id_of(session)
    now = utcnow()
    ids: list[int] = []
    batch: list[dict[str, Any]] = []
    tag_batch: list[list[str]] = []

    def flush_batch() -> None:
        if not batch:
            return
        new_ids = session.scalars(
            insert(Contact).returning(Contact.id, sort_by_parameter_order=True), batch
        ).all()
        tag_rows = [
            {"contact_id": cid, "tag": tag}
            for cid, tags in zip(new_ids, tag_batch, strict=True)
            for tag in tags
        ]
        if tag_rows:
            session.execute(insert(ContactTag), tag_rows)
        for cid in new_ids:
            emit(session, "contact.created", {"id": cid})
        ids.extend(new_ids)
        batch.clear()
        tag_batch.clear()

    for index, row in enumerate(rows):
        try:
            values = _clean(session, row, partial=False, company_id=company_id)
        except ValidationError as exc:
            raise ValidationError(f"row {index + 1}: {exc.message}", fields=exc.fields) from exc
        tag_batch.append(values.pop("tags", []))
        record = dict.fromkeys(
            ("parent_id", "email", "phone", "street", "city", "postal_code", "country", "notes")
        )
        record.update(values)
        record.setdefault("active", True)
        record.update(company_id=company_id, custom=values.get("custom", {}), created_at=now, updated_at=now)
        batch.append(record)
        if len(batch) >= chunk_size:
            flush_batch()
    flush_batch()
    return ids


@require_permission("contacts.view")
def get_contact(session: Session, contact_id: int) -> Contact:
    """A contact of the current company, or NotFound (other companies' ids are not revealed)."""
    contact = session.get(Contact, contact_id) if parse_id(contact_id) == contact_id else None
    if contact is None or contact.company_id != company_id_of(session):
        raise NotFound(f"contact {contact_id} not found")
    return contact


@require_permission("contacts.edit")
def update_contact(session: Session, contact: Contact, **changes: Any) -> Contact:
    values = _clean(session, changes, partial=True, company_id=contact.company_id, contact_id=contact.id)
    tags = values.pop("tags", None)
    for key, value in values.items():
        setattr(contact, key, value)
    if tags is not None:
        contact.tag_rows = [ContactTag(tag=t) for t in tags]
    session.flush()
    emit(session, "contact.updated", {"id": contact.id, "fields": sorted(changes)})
    return contact


@require_permission("contacts.delete")
def delete_contact(session: Session, contact: Contact) -> None:
    """Delete a contact; refused while ledger lines point at it (merge or deactivate instead)."""
    used = session.scalar(
        select(func.count()).select_from(JournalLine).where(JournalLine.contact_id == contact.id)
    )
    if used:
        raise Conflict(f"{contact.name} has {used} ledger lines; deactivate or merge it instead")
    session.execute(update(Contact).where(Contact.parent_id == contact.id).values(parent_id=None))
    session.delete(contact)
    session.flush()
    emit(session, "contact.deleted", {"id": contact.id})


@require_permission("contacts.view")
def list_contacts(
    session: Session,
    *,
    q: str | None = None,
    kind: str | None = None,
    tag: str | None = None,
    active: bool | None = None,
    sort: str = "name",
    descending: bool = False,
    limit: int = 50,
    after: tuple[Any, int] | None = None,
) -> Page:
    """One page of contacts by keyset: ``after`` is the (sort value, id) of the previous page's last row.

    Fast at any depth: no OFFSET, the (company_id, name, id) index serves the default order.
    """
    if sort not in SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(SORTS)}"]})
    if kind is not None and kind not in KINDS:
        raise ValidationError("invalid kind", fields={"kind": ["must be 'person' or 'organization'"]})
    stmt: Select = select(Contact).where(Contact.company_id == company_id_of(session))
    stmt = _filter(stmt, q=q, kind=kind, tag=tag, active=active)
    return keyset_page(
        session,
        stmt,
        column=SORTS[sort],
        id_column=Contact.id,
        descending=descending,
        after=after,
        limit=limit,
    )


def _filter(stmt: Select, *, q: str | None, kind: str | None, tag: str | None, active: bool | None) -> Select:
    if q:
        # Literal search: % and _ typed by a user are not wildcards.
        text = q.strip()
        stmt = stmt.where(
            or_(Contact.name.icontains(text, autoescape=True), Contact.email.icontains(text, autoescape=True))
        )
    if kind:
        stmt = stmt.where(Contact.kind == kind)
    if tag:
        stmt = stmt.where(Contact.id.in_(select(ContactTag.contact_id).where(ContactTag.tag == tag)))
    if active is not None:
        stmt = stmt.where(Contact.active.is_(active))
    return stmt


@require_permission("contacts.view")
def search_contacts(session: Session, query: str, limit: int = 20) -> list[Contact]:
    """Contacts whose name or email contains ``query``, by name."""
    return list_contacts(session, q=query, limit=limit).items


@require_permission("contacts.merge")
def merge_contacts(session: Session, source: Contact, target: Contact) -> Contact:
    """Merge ``source`` into ``target``: every reference moves, then ``source`` is deleted.

    Core moves its own references (ledger lines, child contacts, tags); plugins
    move theirs in ``officium_contacts_merged``. Target's values win; empty ones
    are filled from source.
    """
    if source.id == target.id:
        raise ValidationError("cannot merge a contact into itself", fields={"target_id": ["same contact"]})
    if source.company_id != target.company_id:
        raise NotFound(f"contact {target.id} not found")
    # Ledger lines are immutable in content; the contact reference moves with its owner.
    session.execute(
        update(JournalLine).where(JournalLine.contact_id == source.id).values(contact_id=target.id)
    )
    session.execute(
        update(Contact)
        .where(Contact.parent_id == source.id, Contact.id != target.id)
        .values(parent_id=target.id)
    )
    if target.parent_id == source.id:
        target.parent_id = None
    for key in ("email", "phone", "street", "city", "postal_code", "country", "notes"):
        if not getattr(target, key) and getattr(source, key):
            setattr(target, key, getattr(source, key))
    target.custom = {**(source.custom or {}), **(target.custom or {})}
    merged_tags = sorted(set(target.tags) | set(source.tags))
    target.tag_rows = [ContactTag(tag=t) for t in merged_tags]
    session.flush()
    manager = manager_of(session)
    if manager is not None:
        for plugin in manager.enabled_plugins():
            manager.call_plugin(
                plugin.name,
                "officium_contacts_merged",
                source_id=source.id,
                target_id=target.id,
                session=session,
            )
    source_id = source.id
    session.delete(source)
    session.flush()
    emit(session, "contact.merged", {"id": target.id, "merged_id": source_id})
    return target
