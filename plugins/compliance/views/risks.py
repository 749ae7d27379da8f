"""Compliance pages: the risk register with its 5x5 heat map, a risk's page and form; the heat map
and overdue reviews on the dashboard; risks in the global search."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.plugin_api import (
    SearchResult,
    ValidationError,
    Widget,
    csv_response,
    get_session,
    has_permission,
    pages,
    require_permission,
    users,
)

from ..models import CONTROL_FREQUENCIES, RISK_CATEGORIES, RISK_STATUSES, TREATMENTS, Risk
from ..services import controls as control_service
from ..services import risks as service
from . import blueprint

PAGE_SIZE = 50
VIEW = "compliance.view"
MANAGE = "compliance.risk.manage"
CATEGORY_LABELS = {
    "operational": _l("Operational"),
    "financial": _l("Financial"),
    "compliance": _l("Compliance"),
    "reputational": _l("Reputational"),
    "it": _l("IT"),
}
TREATMENT_LABELS = {
    "accept": _l("Accept"),
    "mitigate": _l("Mitigate"),
    "transfer": _l("Transfer"),
    "avoid": _l("Avoid"),
}
STATUS_LABELS = {"open": _l("Open"), "closed": _l("Closed")}
BAND_LABELS = {"low": _l("Low"), "medium": _l("Medium"), "high": _l("High"), "critical": _l("Critical")}
FREQUENCY_LABELS = {
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "semiannual": _l("Semiannual"),
    "annual": _l("Annual"),
}
RESULT_LABELS = {"pass": _l("Pass"), "fail": _l("Fail")}
BASIS_LABELS = {"residual": _l("Residual"), "inherent": _l("Inherent")}
STATUS_FILTERS = (*RISK_STATUSES, "all")
TEXT_FIELDS = ("title", "description", "treatment_plan", "category", "treatment")
RISK_FIELDS = (
    "title",
    "description",
    "category",
    "owner_id",
    "likelihood",
    "impact",
    "residual_likelihood",
    "residual_impact",
    "treatment",
    "treatment_plan",
    "review_date",
)
assert set(CATEGORY_LABELS) == set(RISK_CATEGORIES) and set(TREATMENT_LABELS) == set(TREATMENTS)
assert set(FREQUENCY_LABELS) == set(CONTROL_FREQUENCIES)


@blueprint.app_template_global("compliance_risk_labels")
def compliance_risk_labels() -> dict[str, Any]:
    """Labels of the risk register's and controls' codes, for their templates."""
    return {
        "categories": CATEGORY_LABELS,
        "treatments": TREATMENT_LABELS,
        "statuses": STATUS_LABELS,
        "bands": BAND_LABELS,
        "frequencies": FREQUENCY_LABELS,
        "results": RESULT_LABELS,
        "bases": BASIS_LABELS,
        "levels": range(1, 6),
    }


@blueprint.app_template_global("compliance_score_band")
def compliance_score_band(score: int) -> str:
    return service.score_band(score)


def _general_errors(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    """Messages of fields the form does not show next to an input."""
    shown = set(shown)
    return [f"{key}: {'; '.join(messages)}" for key, messages in errors.items() if key not in shown]


def user_options(session: Any, keep: Iterable[int | None] = ()) -> list[tuple[int, str]]:
    """The company's active users for a select, plus any already chosen one no longer among them."""
    options = [(u.id, u.name or u.email) for u in users.company_users(session, limit=1000)]
    known = {value for value, _label in options}
    missing = [i for i in keep if i is not None and i not in known]
    for user_id, name in service.user_names(session, missing).items():
        options.insert(0, (user_id, f"{name} ({_('inactive')})"))
    return options


# --- the register ---------------------------------------------------------------------------------


def _filters(session: Any) -> dict[str, Any]:
    """The list's filters from the query string; a value outside its choices is ignored."""
    args = request.args
    owner_id = pages.int_arg(args.get("owner_id"))
    likelihood, impact = pages.int_arg(args.get("likelihood")), pages.int_arg(args.get("impact"))
    status = args.get("status", "open")
    return {
        "q": args.get("q", "").strip()[:200],
        "category": args.get("category") if args.get("category") in RISK_CATEGORIES else "",
        "treatment": args.get("treatment") if args.get("treatment") in TREATMENTS else "",
        # An unknown owner matches nobody rather than everybody.
        "owner_id": owner_id
        if owner_id is not None and owner_id < 2**31
        else (-1 if args.get("owner_id") else None),
        "status": status if status in STATUS_FILTERS else "open",
        "overdue": args.get("overdue") == "1",
        "basis": args.get("basis") if args.get("basis") in service.BASES else "residual",
        "likelihood": likelihood if likelihood in range(1, 6) else None,
        "impact": impact if impact in range(1, 6) else None,
    }


def _query(filters: dict[str, Any]) -> dict[str, Any]:
    return {
        "q": filters["q"] or None,
        "category": filters["category"] or None,
        "treatment": filters["treatment"] or None,
        "owner_id": filters["owner_id"],
        "status": None if filters["status"] == "all" else filters["status"],
        "overdue": filters["overdue"],
        "basis": filters["basis"],
        "likelihood": filters["likelihood"],
        "impact": filters["impact"],
    }


def heat_rows(cells: list[list[int]]) -> list[dict[str, Any]]:
    """The heat map's rows for a template, likelihood 5 at the top, impact 1 to 5 left to right."""
    return [
        {
            "likelihood": likelihood,
            "cells": [
                {
                    "impact": impact,
                    "count": cells[likelihood - 1][impact - 1],
                    "score": likelihood * impact,
                    "band": service.score_band(likelihood * impact),
                }
                for impact in range(1, 6)
            ],
        }
        for likelihood in range(5, 0, -1)
    ]


@blueprint.get("/risks")
@require_permission(VIEW)
def risks() -> Any:
    """The register: filters, CSV export, and the heat map of open risks (residual or inherent)."""
    session = get_session()
    sort = request.args.get("sort", "reference")
    if sort not in service.RISK_SORTS:
        sort = "reference"
    descending = request.args.get("dir") == "desc"
    filters = _filters(session)
    query = _query(filters)
    if request.args.get("format") == "csv":
        return csv_response(
            "risks.csv",
            [
                "reference",
                "title",
                "category",
                "owner",
                "likelihood",
                "impact",
                "inherent_score",
                "residual_likelihood",
                "residual_impact",
                "residual_score",
                "effective_residual_score",
                "control_failing",
                "treatment",
                "review_date",
                "review_overdue",
                "status",
            ],
            _csv_rows(session, sort, descending, query),
        )
    page = service.list_risks(
        session,
        sort=sort,
        descending=descending,
        after=pages.cursor_arg(service.RISK_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    owners = user_options(
        session, [filters["owner_id"]] if filters["owner_id"] and filters["owner_id"] > 0 else []
    )
    return render_template(
        "compliance/risks.html",
        page=page,
        scores=service.scores_of(session, page.items),
        names=service.user_names(session, [r.owner_id for r in page.items]),
        sort=sort,
        descending=descending,
        filters=filters,
        owners=owners,
        filtered=any(
            request.args.get(key)
            for key in ("q", "category", "owner_id", "treatment", "status", "overdue", "likelihood", "impact")
        ),
        heat=heat_rows(service.heat_map(session, filters["basis"])),
        basis=filters["basis"],
        today=dt.date.today(),
        can_manage=pages.actor_can(MANAGE),
    )


def _csv_rows(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    today = dt.date.today()
    while True:
        page = service.list_risks(session, sort=sort, descending=descending, after=after, limit=500, **query)
        scores = service.scores_of(session, page.items)
        names = service.user_names(session, [r.owner_id for r in page.items])
        for r in page.items:
            s = scores[r.id]
            yield [
                r.reference,
                r.title,
                r.category,
                names.get(r.owner_id, "") if r.owner_id else "",
                r.likelihood,
                r.impact,
                s.inherent,
                r.residual_likelihood or "",
                r.residual_impact or "",
                s.residual if s.residual is not None else "",
                s.effective,
                "yes" if s.control_failing else "no",
                r.treatment,
                r.review_date.isoformat() if r.review_date else "",
                "yes" if service.is_review_overdue(r, today) else "no",
                r.status,
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- a risk ---------------------------------------------------------------------------------------


@blueprint.get("/risks/<int:risk_id>")
@require_permission(VIEW)
def risk_detail(risk_id: int) -> Any:
    """A risk: its assessment, treatment, review, the controls that mitigate it and their last test."""
    session = get_session()
    risk = service.get_risk(session, risk_id)
    linked = control_service.controls_of_risk(session, risk)
    owner = service.user_names(session, [risk.owner_id]).get(risk.owner_id) if risk.owner_id else None
    return render_template(
        "compliance/risk_detail.html",
        risk=risk,
        scores=service.scores_of(session, [risk])[risk.id],
        owner=owner,
        controls=linked,
        latest=control_service.latest_tests(session, [c.id for c in linked]),
        today=dt.date.today(),
        overdue=service.is_review_overdue(risk),
        can_manage=pages.actor_can(MANAGE),
        can_add_control=pages.actor_can("compliance.control.manage"),
    )


def _render_form(risk: Risk | None, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    keep = [pages.int_arg(data.get("owner_id"))] + ([risk.owner_id] if risk is not None else [])
    valid_keep = [i for i in keep if i is not None and i < 2**31]
    return render_template(
        "compliance/risk_form.html",
        risk=risk,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, RISK_FIELDS),
        owners=user_options(session, valid_keep),
    ), 422 if errors else 200


def _form_data() -> dict[str, str]:
    return {key: request.form.get(key, "").strip() for key in RISK_FIELDS}


def _payload(data: dict[str, str]) -> dict[str, Any]:
    """The form's values for the service: an empty level, owner or date is "none"."""
    return {key: value if value != "" or key in TEXT_FIELDS else None for key, value in data.items()}


@blueprint.route("/risks/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def risk_new() -> Any:
    """Add a risk: its category, owner, inherent and (optionally) residual levels, treatment, review."""
    session = get_session()
    if request.method == "POST":
        data = _form_data()
        try:
            risk = service.create_risk(session, _payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_form(None, data, exc.fields or {"form": [exc.message]})
        flash(_("Risk %(reference)s added to the register.", reference=risk.reference), "success")
        return redirect(url_for("compliance.risk_detail", risk_id=risk.id))
    data = {key: "" for key in RISK_FIELDS}
    data.update(category="operational", treatment="mitigate")
    return _render_form(None, data, {})


@blueprint.route("/risks/<int:risk_id>/edit", methods=["GET", "POST"])
@require_permission(MANAGE)
def risk_edit(risk_id: int) -> Any:
    """Re-assess a risk, change its owner, treatment or review date."""
    session = get_session()
    risk = service.get_risk(session, risk_id)
    if request.method == "POST":
        data = _form_data()
        try:
            service.update_risk(session, risk, _payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_form(
                service.get_risk(session, risk_id), data, exc.fields or {"form": [exc.message]}
            )
        flash(_("Risk %(reference)s saved.", reference=risk.reference), "success")
        return redirect(url_for("compliance.risk_detail", risk_id=risk.id))
    data = {
        "title": risk.title,
        "description": risk.description,
        "category": risk.category,
        "owner_id": str(risk.owner_id or ""),
        "likelihood": str(risk.likelihood),
        "impact": str(risk.impact),
        "residual_likelihood": str(risk.residual_likelihood or ""),
        "residual_impact": str(risk.residual_impact or ""),
        "treatment": risk.treatment,
        "treatment_plan": risk.treatment_plan,
        "review_date": risk.review_date.isoformat() if risk.review_date else "",
    }
    return _render_form(risk, data, {})


@blueprint.post("/risks/<int:risk_id>/<any(close, reopen):action>")
@require_permission(MANAGE)
def risk_status(risk_id: int, action: str) -> Any:
    """Close a risk (it leaves the heat map and the overdue reviews) or reopen it."""
    session = get_session()
    risk = service.get_risk(session, risk_id)
    try:
        service.set_status(session, risk, "closed" if action == "close" else "open")
        session.commit()
    except ValidationError as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        message = (
            _("Risk %(reference)s is closed.", reference=risk.reference)
            if action == "close"
            else _("Risk %(reference)s is open again.", reference=risk.reference)
        )
        flash(message, "success")
    return redirect(url_for("compliance.risk_detail", risk_id=risk_id))


# --- dashboard and search -------------------------------------------------------------------------


def widgets(user: Any) -> list[Widget]:
    """For ``compliance.view`` holders: the heat map of open risks (effective residual) and the
    risks whose review is overdue."""
    if not has_permission(user, VIEW):
        return []
    session = get_session()
    total, overdue = service.overdue_reviews(session, limit=5)
    return [
        Widget(
            _("Risk heat map"),
            render_template(
                "compliance/risk_widget_heatmap.html",
                heat=heat_rows(service.heat_map(session, "residual")),
                basis="residual",
            ),
            order=50,
        ),
        Widget(
            _("Overdue risk reviews"),
            render_template("compliance/risk_widget_reviews.html", total=total, risks=overdue),
            order=51,
        ),
    ]


def search_results(query: str, user: Any) -> list[SearchResult]:
    """Risks whose reference or title matches."""
    if not has_permission(user, VIEW):
        return []
    session = get_session()
    found = service.search_risks(session, query)
    scores = service.scores_of(session, found)
    return [
        SearchResult(
            title=f"{r.reference} {r.title}",
            url=url_for("compliance.risk_detail", risk_id=r.id),
            kind=_("Risk"),
            summary=" · ".join(
                [
                    str(CATEGORY_LABELS.get(r.category, r.category)),
                    _("residual %(score)d", score=scores[r.id].effective),
                    str(STATUS_LABELS.get(r.status, r.status)),
                ]
            ),
        )
        for r in found
    ]
