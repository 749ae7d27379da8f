"""GDPR requests: a person's data exported, anonymized or deleted, and every request on record.

Core and every enabled plugin say what they hold about a contact (``officium_personal_data``),
what they must keep (``officium_personal_data_retained``) and erase it
(``officium_erase_personal_data``); this module asks them and records the answer as a
:class:`~plugins.compliance.models.GdprRequest`, in the same transaction as the work.

- Export: one document ``{"contact_id", "generated_at", "generated_by", "sections"}``; a
  section per answering part of the product (``core``, ``crm``, ...), holding that part's keys
  without their prefix (an answer's keys start with its name: ``crm_leads`` is ``crm``'s
  ``leads``).
- Anonymize: always possible; the records stay, their personal fields are blanked.
- Delete: refused when anything must be retained (the request is then recorded as ``refused``
  with the reasons, and nothing else changes); otherwise every record about the person goes.

The audit trail is not rewritten: it is the legal record of what happened (and rewriting an old
row would break its hash chain).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, false, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    Contact,
    Page,
    User,
    ValidationError,
    actor_of,
    call_hook_by_plugin,
    company_id_of,
    contacts,
    granting,
    keyset_page,
    require_permission,
    utcnow,
    validation,
)

from ..models import GDPR_KINDS, GDPR_STATUSES, GdprRequest
from .text import parse_text

PERMISSION = "compliance.gdpr"
MODES = ("anonymize", "delete")
REASON_LIMIT = 500
SORTS = {"requested_at": GdprRequest.requested_at, "id": GdprRequest.id}
RETAIN_MESSAGE = "must be retained: anonymize instead"


# --- the contact and the hooks ------------------------------------------------------------------


def find_contact(session: Session, contact_id: Any) -> Contact:
    """A contact of the current company (answering for a person includes seeing their record)."""
    with granting(session, "contacts.view"):
        return contacts.get_contact(session, contact_id)


def _lines(results: Iterable[Any]) -> list[str]:
    """The hooks' list answers flattened into text lines (None answers dropped)."""
    lines: list[str] = []
    for result in results:
        if result is None:
            continue
        items = result if isinstance(result, list | tuple) else [result]
        lines.extend(str(item) for item in items if item not in (None, ""))
    return lines


def _json_safe(value: Any) -> Any:
    """Round-trip through JSON so that dates or decimals a plugin left in are text."""
    return json.loads(json.dumps(value, default=str))


def gather(session: Session, contact: Contact) -> dict[str, dict[str, Any]]:
    """Core's and every enabled plugin's answer, one section per plugin (``"core"`` for core).

    A key that repeats the plugin's name (``crm_leads`` from crm) is shortened to ``leads``.
    """
    sections: dict[str, dict[str, Any]] = {}
    answers = call_hook_by_plugin(session, "officium_personal_data", contact=contact, session=session)
    for owner, answer in answers.items():
        if not isinstance(answer, dict):
            continue
        for key, value in answer.items():
            name = str(key).removeprefix(f"{owner}_")
            sections.setdefault(owner, {})[name] = _json_safe(value)
    return dict(sorted(sections.items()))


def retention_reasons(session: Session, contact: Contact) -> list[str]:
    """Why the contact's records must be kept (empty: the contact may be deleted).

    Unguarded: a plugin that fails to answer stops the erasure rather than counting as "nothing kept".
    """
    answers = call_hook_by_plugin(
        session, "officium_personal_data_retained", unguarded=True, contact=contact, session=session
    )
    return _lines(list(answers.values()))


def _actor_label(session: Session) -> str:
    actor = actor_of(session)
    return getattr(actor, "email", "") or getattr(actor, "label", "") or "system"


def _record(
    session: Session, contact_id: int, kind: str, status: str, reason: str, outcome: list[str]
) -> GdprRequest:
    request = GdprRequest(
        company_id=company_id_of(session),
        contact_id=contact_id,
        kind=kind,
        status=status,
        reason=reason,
        outcome=outcome,
        requested_by_id=getattr(actor_of(session), "id", None),
        requested_at=utcnow(),
    )
    session.add(request)
    session.flush()
    return request


def _reason(value: Any, errors: dict[str, list[str]], *, required: bool) -> str:
    text = parse_text(value, "reason", errors, limit=REASON_LIMIT, required=required)
    if "\x00" in text:
        errors["reason"] = ["must not contain NUL characters"]
    return text


# --- export -----------------------------------------------------------------------------------


@require_permission(PERMISSION)
def export_contact(session: Session, contact_id: Any, *, reason: Any = "") -> dict[str, Any]:
    """Everything held about the contact, as one JSON-able document; the export is recorded.

    ``{"contact_id", "generated_at", "generated_by", "sections": {"core": {...}, "crm": {...}}}``.
    """
    errors: dict[str, list[str]] = {}
    text = _reason(reason, errors, required=False)
    contact = find_contact(session, contact_id)
    validation.raise_if(errors, "invalid export")
    sections = gather(session, contact)
    generated_at = utcnow()
    _record(
        session,
        contact.id,
        "export",
        "done",
        text,
        [f"exported sections: {', '.join(sections) or 'none'}"],
    )
    return {
        "contact_id": contact.id,
        "generated_at": generated_at.isoformat(),
        "generated_by": _actor_label(session),
        "sections": sections,
    }


# --- erasure ----------------------------------------------------------------------------------


@require_permission(PERMISSION)
def erase_contact(session: Session, contact_id: Any, *, mode: Any, reason: Any) -> GdprRequest:
    """Anonymize or delete everything held about the contact, in the caller's transaction.

    ``mode`` is ``anonymize`` or ``delete``; ``reason`` (required) says what the person asked and
    how. A delete that something must retain is not done: the returned request is ``refused``,
    its ``outcome`` holds the reasons, and nothing else was changed. Bad input raises
    :class:`ValidationError` before anything is touched.
    """
    errors: dict[str, list[str]] = {}
    if mode not in MODES:
        errors["mode"] = ["must be 'anonymize' or 'delete'"]
    text = _reason(reason, errors, required=True)
    contact = find_contact(session, contact_id)
    validation.raise_if(errors, "invalid erasure request")
    # Two officers answering the same person at once: the second waits, then sees the first's work.
    validation.lock_row(session, contact)
    target_id = contact.id
    if mode == "delete":
        reasons = retention_reasons(session, contact)
        if reasons:
            return _record(session, target_id, "delete", "refused", text, [*reasons, RETAIN_MESSAGE])
    try:
        # A savepoint: a record that still points at a deleted contact undoes the whole erasure.
        with session.begin_nested():
            # Unguarded: a plugin that fails must not leave its data behind an erasure marked done.
            done = _lines(
                list(
                    call_hook_by_plugin(
                        session,
                        "officium_erase_personal_data",
                        unguarded=True,
                        contact=contact,
                        session=session,
                        anonymize=mode == "anonymize",
                    ).values()
                )
            )
    except IntegrityError as exc:
        raise Conflict(
            f"contact {target_id}: some records still refer to the person, so nothing was erased; "
            "anonymize instead"
        ) from exc
    return _record(session, target_id, str(mode), "done", text, done)


def refusal_message(request: GdprRequest) -> str:
    """The one-line message of a refused deletion: its reasons, then what to do instead."""
    reasons = [line for line in request.outcome or [] if line != RETAIN_MESSAGE]
    return f"{'; '.join(reasons)} {RETAIN_MESSAGE}" if reasons else RETAIN_MESSAGE


# --- the requests on record -----------------------------------------------------------------------


def _requests_query(
    session: Session, *, contact_id: int | None, kind: str | None, status: str | None
) -> Select:
    stmt = select(GdprRequest).where(GdprRequest.company_id == company_id_of(session))
    errors: dict[str, list[str]] = {}
    if kind is not None and kind not in GDPR_KINDS:
        errors["kind"] = [f"must be one of {', '.join(GDPR_KINDS)}"]
    if status is not None and status not in GDPR_STATUSES:
        errors["status"] = [f"must be one of {', '.join(GDPR_STATUSES)}"]
    validation.raise_if(errors, "invalid filter")
    if contact_id is not None:
        # An id no row can have (beyond INTEGER) matches nothing rather than reaching the database.
        number = validation.parse_id(contact_id)
        stmt = stmt.where(GdprRequest.contact_id == number if number is not None else false())
    if kind is not None:
        stmt = stmt.where(GdprRequest.kind == kind)
    if status is not None:
        stmt = stmt.where(GdprRequest.status == status)
    return stmt


@require_permission(PERMISSION)
def list_requests(
    session: Session,
    *,
    contact_id: int | None = None,
    kind: str | None = None,
    status: str | None = None,
    sort: str = "requested_at",
    descending: bool = True,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
) -> Page:
    """One page of the company's GDPR requests (newest first by default), filtered."""
    if sort not in SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(SORTS)}"]})
    return keyset_page(
        session,
        _requests_query(session, contact_id=contact_id, kind=kind, status=status),
        column=SORTS[sort],
        id_column=GdprRequest.id,
        descending=descending,
        after=after,
        limit=limit,
    )


@require_permission(PERMISSION)
def requests_of(session: Session, contact_id: int, limit: int = 20) -> list[GdprRequest]:
    """The latest requests about one contact."""
    stmt = _requests_query(session, contact_id=contact_id, kind=None, status=None)
    return list(
        session.scalars(stmt.order_by(GdprRequest.requested_at.desc(), GdprRequest.id.desc()).limit(limit))
    )


def names(session: Session, requests: Iterable[GdprRequest]) -> tuple[dict[int, str], dict[int, str]]:
    """(contact names, requester emails) by id, for showing requests; deleted contacts are absent."""
    requests = list(requests)
    contact_ids = {r.contact_id for r in requests}
    user_ids = {r.requested_by_id for r in requests if r.requested_by_id is not None}
    contact_names: dict[int, str] = {}
    if contact_ids:
        contact_names = dict(
            session.execute(
                select(Contact.id, Contact.name).where(
                    Contact.company_id == company_id_of(session), Contact.id.in_(contact_ids)
                )
            ).all()
        )
    user_names: dict[int, str] = {}
    if user_ids:
        user_names = dict(session.execute(select(User.id, User.email).where(User.id.in_(user_ids))).all())
    return contact_names, user_names


def as_dict(
    request: GdprRequest, contact_names: dict[int, str], user_names: dict[int, str]
) -> dict[str, Any]:
    """A request as the API and the CSV show it."""
    return {
        "id": request.id,
        "contact_id": request.contact_id,
        "contact": contact_names.get(request.contact_id),
        "kind": request.kind,
        "status": request.status,
        "reason": request.reason,
        "outcome": list(request.outcome or []),
        "requested_by_id": request.requested_by_id,
        "requested_by": user_names.get(request.requested_by_id) if request.requested_by_id else None,
        "requested_at": request.requested_at,
    }


# --- hooks: what compliance itself holds about a contact --------------------------------------------


def personal_data(contact: Any, session: Session) -> dict[str, Any]:
    """The GDPR requests recorded about the contact (``compliance_gdpr_requests``)."""
    found = session.scalars(
        select(GdprRequest)
        .where(GdprRequest.company_id == contact.company_id, GdprRequest.contact_id == contact.id)
        .order_by(GdprRequest.requested_at, GdprRequest.id)
    )
    return {
        "compliance_gdpr_requests": [
            {
                "kind": request.kind,
                "status": request.status,
                "reason": request.reason,
                "outcome": list(request.outcome or []),
                "requested_at": request.requested_at.isoformat() if request.requested_at else None,
            }
            for request in found
        ]
    }


def contacts_merged(source_id: int, target_id: int, session: Session) -> None:
    """Requests about the merged-away contact are now about the one it was merged into."""
    session.execute(
        update(GdprRequest)
        .where(GdprRequest.company_id == company_id_of(session), GdprRequest.contact_id == source_id)
        .values(contact_id=target_id)
        .execution_options(synchronize_session=False)
    )


def export_filename(contact_id: int, when: dt.datetime | None = None) -> str:
    """``personal-data-contact-12-2026-03-01.json``."""
    day = (when or utcnow()).date().isoformat()
    return f"personal-data-contact-{contact_id}-{day}.json"
