"""Risk register API: risks (``/risks``) and the heat map (``/risks/heatmap``).

Reading needs ``compliance.view``; adding, changing and deleting need ``compliance.risk.manage``.
A risk's ``effective_residual_score`` is its residual score, or its inherent score while an active
linked control's latest test failed (``control_failing``).
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import api_commit, api_sort, decode_cursor, get_session, require_permission

from ..models import Risk
from ..schemas.risks import (
    HeatMapQuery,
    HeatMapSchema,
    RiskCreateSchema,
    RiskPage,
    RiskPatchSchema,
    RiskQuery,
    RiskSchema,
)
from ..services import risks
from . import blueprint


def _dump_all(items: list[Risk]) -> list[dict[str, Any]]:
    session = get_session()
    scores = risks.scores_of(session, items)
    names = risks.user_names(session, [r.owner_id for r in items])
    return [
        {
            "id": risk.id,
            "reference": risk.reference,
            "title": risk.title,
            "description": risk.description,
            "category": risk.category,
            "owner_id": risk.owner_id,
            "owner_name": names.get(risk.owner_id) if risk.owner_id else None,
            "likelihood": risk.likelihood,
            "impact": risk.impact,
            "inherent_score": scores[risk.id].inherent,
            "inherent_band": scores[risk.id].inherent_band,
            "residual_likelihood": risk.residual_likelihood,
            "residual_impact": risk.residual_impact,
            "residual_score": scores[risk.id].residual,
            "effective_residual_score": scores[risk.id].effective,
            "effective_residual_band": scores[risk.id].effective_band,
            "control_failing": scores[risk.id].control_failing,
            "treatment": risk.treatment,
            "treatment_plan": risk.treatment_plan,
            "review_date": risk.review_date,
            "review_overdue": risks.is_review_overdue(risk),
            "status": risk.status,
            "control_ids": sorted(c.id for c in risk.controls),
            "custom": dict(risk.custom or {}),
            "created_at": risk.created_at,
            "updated_at": risk.updated_at,
        }
        for risk in items
    ]


def _dump(risk: Risk) -> dict[str, Any]:
    return _dump_all([risk])[0]


@blueprint.route("/risks", methods=["GET"])
@require_permission("compliance.view")
@blueprint.arguments(RiskQuery, location="query")
@blueprint.response(200, RiskPage)
def risks_list(args: dict[str, Any]) -> dict[str, Any]:
    """Risks by keyset, by reference (``sort``: reference, title, review_date; ``-`` for descending).
    Filters: ``q`` (reference, title), ``category``, ``owner_id``, ``treatment``, ``status``,
    ``overdue`` (open risks past their review date), a heat map cell (``likelihood``, ``impact``
    on ``basis``)."""
    sort, descending = api_sort(args.pop("sort"), risks.RISK_SORTS, "reference")
    session = get_session()
    after = decode_cursor(args.pop("cursor"), column=risks.RISK_SORTS[sort])
    limit = args.pop("limit")
    page = risks.list_risks(session, sort=sort, descending=descending, after=after, limit=limit, **args)
    return {"items": _dump_all(page.items), "next_cursor": page.next_cursor}


@blueprint.route("/risks", methods=["POST"])
@require_permission("compliance.risk.manage")
@blueprint.arguments(RiskCreateSchema)
@blueprint.response(201, RiskSchema)
def risks_create(data: dict[str, Any]) -> dict[str, Any]:
    """Add a risk: ``title``, ``category``, ``likelihood`` and ``impact`` (1-5), optional residual
    levels (1-5, both or neither, not above the inherent score), owner, treatment, review date."""
    risk = risks.create_risk(get_session(), data)
    api_commit()
    return _dump(risk)


@blueprint.route("/risks/heatmap", methods=["GET"])
@require_permission("compliance.view")
@blueprint.arguments(HeatMapQuery, location="query")
@blueprint.response(200, HeatMapSchema)
def risks_heatmap(args: dict[str, Any]) -> dict[str, Any]:
    """Open risks counted on the 5x5 grid: ``cells[likelihood - 1][impact - 1]``; ``basis``
    residual (the default: effective residual levels) or inherent."""
    return {"basis": args["basis"], "cells": risks.heat_map(get_session(), args["basis"])}


@blueprint.route("/risks/<int:risk_id>", methods=["GET"])
@require_permission("compliance.view")
@blueprint.response(200, RiskSchema)
def risks_get(risk_id: int) -> dict[str, Any]:
    """A risk with its scores and linked controls."""
    return _dump(risks.get_risk(get_session(), risk_id))


@blueprint.route("/risks/<int:risk_id>", methods=["PATCH"])
@require_permission("compliance.risk.manage")
@blueprint.arguments(RiskPatchSchema)
@blueprint.response(200, RiskSchema)
def risks_update(data: dict[str, Any], risk_id: int) -> dict[str, Any]:
    """Change a risk (``status`` closed or open closes or reopens it)."""
    session = get_session()
    risk = risks.update_risk(session, risks.get_risk(session, risk_id), data)
    api_commit()
    return _dump(risk)


@blueprint.route("/risks/<int:risk_id>", methods=["DELETE"])
@require_permission("compliance.risk.manage")
@blueprint.response(204)
def risks_delete(risk_id: int) -> None:
    """Remove a risk from the register (its links to controls go with it)."""
    session = get_session()
    risks.delete_risk(session, risks.get_risk(session, risk_id))
    api_commit()
