"""Pipelines and stages, the default pipeline, and the board."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import Session

from core.plugin_api import Conflict, NotFound, company_id_of, require_permission, users, validation

from ..models import STAGE_KINDS, Deal, Pipeline, Stage

DEFAULT_STAGES = [
    ("New", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]
SALES_ROLE = "Salesperson"
CENT = Decimal("0.01")


def install_defaults(session: Session) -> None:
    """The default pipeline and its six stages (once), and a Salesperson role."""
    company_id = company_id_of(session)
    exists = session.scalar(select(Pipeline.id).where(Pipeline.company_id == company_id))
    if exists is None:
        pipeline = Pipeline(company_id=company_id, name="Sales", is_default=True)
        pipeline.stages = [
            Stage(company_id=company_id, name=name, sequence=index, probability=probability, kind=kind)
            for index, (name, probability, kind) in enumerate(DEFAULT_STAGES)
        ]
        session.add(pipeline)
        session.flush()
    users.ensure_role(
        session,
        name=SALES_ROLE,
        permissions=["crm.view", "crm.lead.manage", "crm.deal.manage", "contacts.view", "contacts.create"],
        description="Leads, deals, activities and quotes",
    )


@require_permission("crm.view")
def default_pipeline(session: Session) -> Pipeline:
    company_id = company_id_of(session)
    pipeline = session.scalar(
        select(Pipeline)
        .where(Pipeline.company_id == company_id)
        .order_by(Pipeline.is_default.desc(), Pipeline.id)
        .limit(1)
    )
    if pipeline is None:
        raise NotFound("no pipeline: enable the CRM plugin")
    return pipeline


@require_permission("crm.view")
def get_pipeline(session: Session, pipeline_id: Any = None) -> Pipeline:
    if pipeline_id in (None, ""):
        return default_pipeline(session)
    found_id = validation.parse_id(pipeline_id)
    pipeline = session.get(Pipeline, found_id) if found_id is not None and found_id < 2**62 else None
    if pipeline is None or pipeline.company_id != company_id_of(session):
        raise NotFound(f"pipeline {pipeline_id} not found")
    return pipeline


@require_permission("crm.view")
def list_pipelines(session: Session) -> list[Pipeline]:
    return list(
        session.scalars(
            select(Pipeline).where(Pipeline.company_id == company_id_of(session)).order_by(Pipeline.id)
        )
    )


@require_permission("crm.view")
def get_stage(session: Session, stage_id: Any) -> Stage:
    found_id = validation.parse_id(stage_id)
    stage = session.get(Stage, found_id) if found_id is not None and found_id < 2**62 else None
    if stage is None or stage.company_id != company_id_of(session):
        raise NotFound(f"stage {stage_id} not found")
    return stage


def _clean_stage(data: dict[str, Any], errors: dict[str, list[str]], *, partial: bool) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    if not partial or "name" in data:
        clean["name"] = validation.parse_text(data.get("name"), "name", errors, limit=100, required=True)
    if not partial or "probability" in data:
        clean["probability"] = _probability(data.get("probability", 0), errors)
    if not partial or "kind" in data:
        kind = data.get("kind", "open")
        if kind not in STAGE_KINDS:
            errors["kind"] = [f"must be one of {', '.join(STAGE_KINDS)}"]
        clean["kind"] = kind
    if "sequence" in data:
        sequence = validation.parse_id(data["sequence"])
        if sequence is None or not 0 <= sequence <= 10_000:
            errors["sequence"] = ["must be a whole number from 0 to 10000"]
        clean["sequence"] = sequence or 0
    return clean


def _probability(value: Any, errors: dict[str, list[str]]) -> int:
    number = validation.parse_decimal(value, "probability", errors, places=0)
    if "probability" not in errors and not 0 <= number <= 100:
        errors["probability"] = ["must be between 0 and 100"]
    return int(number) if "probability" not in errors else 0


@require_permission("crm.settings")
def create_stage(session: Session, pipeline: Pipeline, **data: Any) -> Stage:
    """Add a stage at the end of a pipeline (``name``, ``probability`` %, ``kind`` open/won/lost)."""
    errors: dict[str, list[str]] = {}
    clean = _clean_stage(data, errors, partial=False)
    validation.raise_if(errors, "invalid stage")
    if any(s.name.lower() == clean["name"].lower() for s in pipeline.stages):
        raise Conflict(f"a stage named {clean['name']} exists", fields={"name": ["already in use"]})
    clean.setdefault("sequence", max((s.sequence for s in pipeline.stages), default=-1) + 1)
    stage = Stage(company_id=pipeline.company_id, pipeline_id=pipeline.id, **clean)
    session.add(stage)
    session.flush()
    session.expire(pipeline, ["stages"])
    return stage


@require_permission("crm.settings")
def update_stage(session: Session, stage: Stage, **data: Any) -> Stage:
    errors: dict[str, list[str]] = {}
    clean = _clean_stage(data, errors, partial=True)
    validation.raise_if(errors, "invalid stage")
    name = clean.get("name", "").lower()
    if name and any(s.id != stage.id and s.name.lower() == name for s in stage.pipeline.stages):
        raise Conflict(f"a stage named {clean['name']} exists", fields={"name": ["already in use"]})
    if clean.get("kind", stage.kind) != stage.kind:
        if _deal_count(session, stage):
            raise Conflict(
                f"deals are in stage {stage.name}: move them before changing whether it is open, won or lost",
                fields={"kind": ["the stage has deals"]},
            )
        _keep_every_kind(stage.pipeline, without=stage, adding=clean["kind"])
    for key, value in clean.items():
        setattr(stage, key, value)
    session.flush()
    return stage


@require_permission("crm.settings")
def delete_stage(session: Session, stage: Stage) -> None:
    """Delete a stage no deal is in; a pipeline keeps at least one open, one won and one lost stage."""
    used = _deal_count(session, stage)
    if used:
        raise Conflict(
            f"{used} deal(s) are in stage {stage.name}: move them first",
            fields={"stage": ["has deals"]},
        )
    _keep_every_kind(stage.pipeline, without=stage)
    session.delete(stage)
    session.flush()


def _deal_count(session: Session, stage: Stage) -> int:
    return session.scalar(select(func.count()).select_from(Deal).where(Deal.stage_id == stage.id)) or 0


def _keep_every_kind(pipeline: Pipeline, *, without: Stage, adding: str | None = None) -> None:
    """Refuse a change that would leave the pipeline without an open, a won or a lost stage."""
    kinds = [s.kind for s in pipeline.stages if s.id != without.id] + ([adding] if adding else [])
    missing = [kind for kind in STAGE_KINDS if kind not in kinds]
    if missing:
        raise Conflict(
            f"a pipeline needs at least one {missing[0]} stage",
            fields={"kind": [f"the pipeline would have no {missing[0]} stage"]},
        )


# --- the board ----------------------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    deals: list[Deal] = field(default_factory=list)
    count: int = 0
    total: Decimal = Decimal("0.00")
    weighted: Decimal = Decimal("0.00")


@require_permission("crm.view")
def board(
    session: Session, pipeline: Pipeline, *, owner_id: int | None = None, limit: int = 100
) -> list[Column]:
    """A column per stage: its count and totals (SQL sums over every deal in it) and its most
    valuable ``limit`` deals."""
    columns = {stage.id: Column(stage) for stage in pipeline.stages}
    scope = [Deal.company_id == pipeline.company_id, Deal.pipeline_id == pipeline.id]
    if owner_id is not None:
        scope.append(Deal.owner_id == owner_id)
    units = type_coerce(Deal.expected_revenue, BigInteger)  # minor units: exact sums
    sums = session.execute(
        select(Deal.stage_id, func.count(), func.sum(units), func.sum(units * Deal.probability))
        .where(*scope)
        .group_by(Deal.stage_id)
    )
    for stage_id, count, total, weighted in sums:
        column = columns.get(stage_id)
        if column is not None:
            column.count = count
            column.total = (Decimal(total or 0) / 100).quantize(CENT)
            column.weighted = (Decimal(weighted or 0) / 10_000).quantize(CENT, rounding=ROUND_HALF_UP)
    for column in columns.values():
        if column.count:
            column.deals = list(
                session.scalars(
                    select(Deal)
                    .where(*scope, Deal.stage_id == column.stage.id)
                    .order_by(Deal.expected_revenue.desc(), Deal.id)
                    .limit(limit)
                )
            )
    return list(columns.values())
