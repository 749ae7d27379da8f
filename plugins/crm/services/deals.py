"""Deals: create, edit, move through the stages; winning one tells the other departments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Company,
    Contact,
    NotFound,
    Page,
    actor_of,
    call_hook,
    company_id_of,
    emit,
    keyset_page,
    require_permission,
    users,
    validation,
)

from ..models import Deal, Pipeline, Stage
from .pipeline import default_pipeline

DEAL_SORTS = {
    "id": Deal.id,
    "title": Deal.title,
    "expected_revenue": Deal.expected_revenue,
    "expected_close": Deal.expected_close,
    "probability": Deal.probability,
}
STATES = ("open", "won", "lost")


def _user_id(session: Session, value: Any, field: str, errors: dict[str, list[str]]) -> int | None:
    """An active user with access to the company, or None for "nobody"."""
    if value in (None, ""):
        return None
    user_id = validation.parse_id(value)
    user = users.company_user(session, user_id) if user_id is not None and user_id < 2**62 else None
    if user is None:
        errors[field] = ["no such user"]
        return None
    return user.id


def _stage_of(session: Session, pipeline: Pipeline, value: Any, errors: dict[str, list[str]]) -> Stage | None:
    if value in (None, ""):
        if not pipeline.stages:
            errors["stage"] = [f"pipeline {pipeline.name} has no stages"]
            return None
        return pipeline.stages[0]
    stage_id = validation.parse_id(value)
    stage = next((s for s in pipeline.stages if s.id == stage_id), None)
    if stage is None and isinstance(value, str):
        stage = next((s for s in pipeline.stages if s.name.lower() == value.strip().lower()), None)
    if stage is None:
        errors["stage"] = ["unknown stage"]
    return stage


def _clean(session: Session, deal: Deal | None, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    creating = deal is None
    if creating or "title" in data:
        clean["title"] = validation.parse_text(data.get("title"), "title", errors, limit=200, required=True)
    if creating or "contact_id" in data:
        contact = validation.company_contact(session, data.get("contact_id"), "contact_id", errors)
        clean["contact_id"] = contact.id if contact else None
    if creating or "expected_revenue" in data:
        revenue = validation.parse_decimal(data.get("expected_revenue", "0"), "expected_revenue", errors)
        if "expected_revenue" not in errors and revenue < 0:
            errors["expected_revenue"] = ["must not be negative"]
        clean["expected_revenue"] = revenue
    if "probability" in data and data.get("probability") not in (None, ""):
        number = validation.parse_decimal(data.get("probability"), "probability", errors, places=0)
        if "probability" not in errors and not 0 <= number <= 100:
            errors["probability"] = ["must be between 0 and 100"]
        clean["probability"] = int(number) if "probability" not in errors else 0
    if creating or "expected_close" in data:
        clean["expected_close"] = validation.parse_date(
            data.get("expected_close"), "expected_close", errors, required=False
        )
    if creating or "owner_id" in data:
        owner = data.get("owner_id", getattr(actor_of(session), "id", None) if creating else None)
        clean["owner_id"] = _user_id(session, owner, "owner_id", errors)
    pipeline = deal.pipeline if deal is not None else None
    if creating:
        pipeline = _pipeline(session, data.get("pipeline_id"), errors)
        clean["pipeline_id"] = pipeline.id if pipeline else None
    if pipeline is not None and (creating or "stage" in data or "stage_id" in data):
        stage = _stage_of(session, pipeline, data.get("stage_id", data.get("stage")), errors)
        clean["stage"] = stage
    if "lost_reason" in data:
        clean["lost_reason"] = validation.parse_text(
            data.get("lost_reason"), "lost_reason", errors, limit=500
        )
    validation.raise_if(errors, "invalid deal")
    return clean


def _pipeline(session: Session, value: Any, errors: dict[str, list[str]]) -> Pipeline | None:
    if value in (None, ""):
        return default_pipeline(session)
    pipeline_id = validation.parse_id(value)
    pipeline = session.get(Pipeline, pipeline_id) if pipeline_id is not None and pipeline_id < 2**62 else None
    if pipeline is None or pipeline.company_id != company_id_of(session):
        errors["pipeline_id"] = ["no such pipeline"]
        return None
    return pipeline


@require_permission("crm.deal.manage")
def create_deal(session: Session, data: Mapping[str, Any]) -> Deal:
    """Create a deal: ``title``, ``contact_id``, ``expected_revenue`` (>= 0), ``probability``
    (0-100, default the stage's), ``expected_close``, ``owner_id`` (default: the actor), ``stage``."""
    clean = _clean(session, None, data)
    stage = clean.pop("stage")
    clean.pop("lost_reason", None)
    company = session.get(Company, company_id_of(session))
    deal = Deal(
        company_id=company.id, currency=company.base_currency, stage_id=stage.id, stage=stage, **clean
    )
    deal.probability = clean.get("probability", stage.probability)
    session.add(deal)
    session.flush()
    emit(session, "crm.deal.created", {"id": deal.id, "title": deal.title})
    if stage.kind != "open":
        _closed(session, deal, stage, data.get("lost_reason", ""))
    return deal


@require_permission("crm.deal.manage")
def update_deal(session: Session, deal: Deal, data: Mapping[str, Any]) -> Deal:
    """Change a deal's fields; a stage change goes through :func:`move_deal`'s rules."""
    validation.lock_row(session, deal)
    clean = _clean(session, deal, data)
    stage = clean.pop("stage", None)
    reason = clean.pop("lost_reason", None)
    for key, value in clean.items():
        setattr(deal, key, value)
    session.flush()
    if stage is not None and stage.id != deal.stage_id:
        move_deal(session, deal, stage.id, lost_reason=reason or "")
    elif reason is not None and deal.state == "lost":
        deal.lost_reason = reason
    return deal


@require_permission("crm.deal.manage")
def move_deal(session: Session, deal: Deal, stage_ref: Any, *, lost_reason: str = "") -> Deal:
    """Move a deal to another stage of its pipeline; the probability becomes the stage's.

    Lost needs a reason. Entering a won stage fires ``officium_deal_won`` (accounting, when
    enabled, drafts an invoice) inside this transaction.
    """
    validation.lock_row(session, deal)
    errors: dict[str, list[str]] = {}
    stage = _stage_of(session, deal.pipeline, stage_ref if stage_ref not in (None, "") else "?", errors)
    validation.raise_if(errors, "cannot move the deal")
    if stage.id == deal.stage_id:
        return deal
    reason = validation.parse_text(lost_reason, "lost_reason", errors, limit=500)
    if stage.kind == "lost" and not reason:
        errors["lost_reason"] = ["say why the deal was lost"]
    validation.raise_if(errors, "cannot move the deal")
    previous = deal.stage
    deal.stage_id, deal.stage = stage.id, stage
    deal.probability = stage.probability
    deal.lost_reason = reason if stage.kind == "lost" else ""
    deal.closed_on = None
    session.flush()
    emit(session, "crm.deal.moved", {"id": deal.id, "from": previous.name, "to": stage.name})
    if stage.kind != "open":
        _closed(session, deal, stage, reason)
    return deal


def _closed(session: Session, deal: Deal, stage: Stage, reason: str) -> None:
    if stage.kind == "lost" and not deal.lost_reason:
        if not reason:
            validation.raise_if({"lost_reason": ["say why the deal was lost"]}, "cannot lose the deal")
        deal.lost_reason = reason
    deal.closed_on = dt.date.today()
    session.flush()
    if stage.kind == "won":
        emit(session, "crm.deal.won", {"id": deal.id, "amount": str(deal.expected_revenue)})
        call_hook(session, "officium_deal_won", deal=deal, session=session)
    else:
        emit(session, "crm.deal.lost", {"id": deal.id, "reason": deal.lost_reason})


@require_permission("crm.view")
def get_deal(session: Session, deal_id: Any) -> Deal:
    found_id = validation.parse_id(deal_id)
    deal = session.get(Deal, found_id) if found_id is not None and found_id < 2**62 else None
    if deal is None or deal.company_id != company_id_of(session):
        raise NotFound(f"deal {deal_id} not found")
    return deal


@require_permission("crm.deal.manage")
def delete_deal(session: Session, deal: Deal) -> None:
    session.delete(deal)
    session.flush()


def deals_query(
    session: Session,
    *,
    q: str | None = None,
    state: str | None = None,
    stage_id: int | None = None,
    owner_id: int | None = None,
    contact_id: int | None = None,
) -> Select:
    stmt = select(Deal).where(Deal.company_id == company_id_of(session))
    if state is not None:
        if state not in STATES:
            validation.raise_if({"state": [f"must be one of {', '.join(STATES)}"]}, "invalid filter")
        stmt = stmt.where(Deal.stage_id.in_(select(Stage.id).where(Stage.kind == state)))
    if stage_id is not None:
        stmt = stmt.where(Deal.stage_id == stage_id)
    if owner_id is not None:
        stmt = stmt.where(Deal.owner_id == owner_id)
    if contact_id is not None:
        stmt = stmt.where(Deal.contact_id == contact_id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Deal.title).like(pattern),
                Deal.contact_id.in_(select(Contact.id).where(func.lower(Contact.name).like(pattern))),
            )
        )
    return stmt


@require_permission("crm.view")
def list_deals(
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
        deals_query(session, **filters),
        column=DEAL_SORTS[sort],
        id_column=Deal.id,
        descending=descending,
        after=after,
        limit=limit,
    )
