"""The risk register: risks scored 1-5 for likelihood and impact, before (inherent) and after
treatment (residual), their reviews, and the 5x5 heat map.

The effective residual score is what the register, the heat map and the API report as a risk's
standing: the residual score (the inherent one while no residual is assessed), except when an
active control linked to the risk failed its latest test. The mitigation is then not working, and
the effective residual is the inherent score, flagged "control failing". The rule is written once,
as SQL (:func:`effective_levels`), so the list, its filters and the heat map always agree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    NotFound,
    Page,
    User,
    ValidationError,
    actor_of,
    company_id_of,
    emit,
    keyset_page,
    ledger,
    require_permission,
    users,
    validation,
)

from ..models import RISK_CATEGORIES, RISK_STATUSES, TREATMENTS, Control, ControlTest, Risk, control_risk
from .text import parse_text, search_text

T = TypeVar("T")
MAX_ID = validation.MAX_ID
NUMBER_KEY = "compliance.risk"
SCORE_RANGE = range(1, 6)
BASES = ("residual", "inherent")
RISK_SORTS = {
    "reference": Risk.reference,
    "title": Risk.title,
    "review_date": Risk.review_date,
}
TEXT_LIMITS = {"title": 200, "description": 10_000, "treatment_plan": 10_000}
SCORE_FIELDS = ("likelihood", "impact", "residual_likelihood", "residual_impact")


# --- records, users and levels -----------------------------------------------------------------


def get_record(session: Session, model: type[T], record_id: Any, label: str) -> T:
    """A record of ``model`` in the current company by id, else :class:`NotFound` (also for another
    company's record, so that ids reveal nothing about other companies)."""
    found_id = validation.parse_id(record_id)
    record = session.get(model, found_id) if found_id is not None else None
    if record is None or getattr(record, "company_id", None) != company_id_of(session):
        raise NotFound(f"{label} {record_id} not found")
    return record


def company_user_id(session: Session, value: Any, field: str, errors: dict[str, list[str]]) -> int | None:
    """An active user with access to the company, or None for "nobody"; anyone else is a field message."""
    if value in (None, ""):
        return None
    user_id = validation.parse_id(value)
    user = users.company_user(session, user_id) if user_id is not None else None
    if user is None:
        errors[field] = ["no such user in this company"]
        return None
    return user.id


def actor_id(session: Session) -> int | None:
    """The acting user's id; None for the system (command line, jobs)."""
    return getattr(actor_of(session), "id", None)


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names (the name, else the email) of the users ``ids``."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.name, User.email).where(User.id.in_(wanted)))
    return {user_id: name or email for user_id, name, email in rows}


def parse_score(value: Any, field: str, errors: dict[str, list[str]], *, required: bool) -> int | None:
    """A likelihood or impact: a whole number from 1 to 5 (a form's text or a JSON number)."""
    if value in (None, ""):
        if required:
            errors[field] = ["is required"]
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value) < 10:
        number = int(value.strip())
    else:
        errors[field] = ["must be a whole number from 1 to 5"]
        return None
    if number not in SCORE_RANGE:
        errors[field] = ["must be between 1 and 5"]
        return None
    return number


def score_band(score: int) -> str:
    """The band of a score (likelihood x impact): low 1-4, medium 5-9, high 10-16, critical 20-25."""
    if score <= 4:
        return "low"
    if score <= 9:
        return "medium"
    if score <= 16:
        return "high"
    return "critical"


# --- the effective residual rule ----------------------------------------------------------------


def latest_result(control_id: Any) -> Any:
    """The result of the latest test (by test date, then as recorded) of the control ``control_id``."""
    return (
        select(ControlTest.result)
        .where(ControlTest.control_id == control_id)
        .order_by(ControlTest.tested_on.desc(), ControlTest.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def control_failing() -> ColumnElement[bool]:
    """True for a risk with an active linked control whose latest test failed."""
    return exists(
        select(control_risk.c.control_id)
        .join(Control, Control.id == control_risk.c.control_id)
        .where(
            control_risk.c.risk_id == Risk.id,
            Control.active.is_(True),
            latest_result(Control.id) == "fail",
        )
    )


def effective_levels(basis: str = "residual") -> tuple[ColumnElement[int], ColumnElement[int]]:
    """The (likelihood, impact) that place a risk on the heat map for ``basis``.

    ``inherent``: as assessed before treatment. ``residual``: the effective residual — the residual
    levels once assessed, the inherent ones while not, or when a linked control is failing.
    """
    if basis == "inherent":
        return Risk.likelihood, Risk.impact
    assessed = and_(Risk.residual_likelihood.is_not(None), Risk.residual_impact.is_not(None))
    failing = control_failing()
    likelihood = case((failing, Risk.likelihood), (assessed, Risk.residual_likelihood), else_=Risk.likelihood)
    impact = case((failing, Risk.impact), (assessed, Risk.residual_impact), else_=Risk.impact)
    return likelihood, impact


@dataclass(frozen=True)
class RiskScores:
    """A risk's scores as the register shows them."""

    inherent: int
    residual: int | None  # as assessed; None while not assessed
    effective: int  # the effective residual (see the module's docstring)
    control_failing: bool

    @property
    def inherent_band(self) -> str:
        return score_band(self.inherent)

    @property
    def effective_band(self) -> str:
        return score_band(self.effective)


def residual_score(risk: Risk) -> int | None:
    if risk.residual_likelihood is None or risk.residual_impact is None:
        return None
    return risk.residual_likelihood * risk.residual_impact


def failing_risk_ids(session: Session, risk_ids: Iterable[int]) -> set[int]:
    """Which of ``risk_ids`` have an active linked control whose latest test failed."""
    ids = list(set(risk_ids))
    if not ids:
        return set()
    return set(session.scalars(select(Risk.id).where(Risk.id.in_(ids), control_failing())))


def scores_of(session: Session, risks: Iterable[Risk]) -> dict[int, RiskScores]:
    """The scores of each of ``risks`` by id (one query for the failing controls of them all)."""
    risks = list(risks)
    failing = failing_risk_ids(session, [r.id for r in risks])
    result = {}
    for risk in risks:
        residual = residual_score(risk)
        is_failing = risk.id in failing
        effective = risk.inherent_score if is_failing or residual is None else residual
        result[risk.id] = RiskScores(risk.inherent_score, residual, effective, is_failing)
    return result


# --- creating and changing risks ----------------------------------------------------------------


def _next_reference(session: Session) -> str:
    """RISK-0001, RISK-0002... per company, without gaps (the counter is taken back on rollback)."""
    number = ledger.allocate_numbers(session, company_id_of(session), NUMBER_KEY, 0)
    return f"RISK-{number:04d}"


def _clean(
    session: Session, data: Mapping[str, Any], risk: Risk | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    """The fields present in ``data`` (all of them for a new risk), checked."""
    new = risk is None
    values: dict[str, Any] = {}
    for key, limit in TEXT_LIMITS.items():
        if new or key in data:
            values[key] = parse_text(data.get(key), key, errors, limit=limit, required=key == "title")
    if new or "category" in data:
        category = data.get("category")
        if category not in RISK_CATEGORIES:
            errors["category"] = [f"must be one of {', '.join(RISK_CATEGORIES)}"]
        values["category"] = category
    if new or "treatment" in data:
        treatment = data.get("treatment") if data.get("treatment") not in (None, "") else "mitigate"
        if treatment not in TREATMENTS:
            errors["treatment"] = [f"must be one of {', '.join(TREATMENTS)}"]
        values["treatment"] = treatment
    if "owner_id" in data:
        values["owner_id"] = company_user_id(session, data["owner_id"], "owner_id", errors)
    if new or "likelihood" in data:
        values["likelihood"] = parse_score(data.get("likelihood"), "likelihood", errors, required=True)
    if new or "impact" in data:
        values["impact"] = parse_score(data.get("impact"), "impact", errors, required=True)
    for key in ("residual_likelihood", "residual_impact"):
        if key in data:
            values[key] = parse_score(data[key], key, errors, required=False)
    if "review_date" in data:
        values["review_date"] = validation.parse_date(
            data["review_date"], "review_date", errors, required=False
        )
    if "status" in data and data["status"] not in (None, ""):
        if data["status"] not in RISK_STATUSES:
            errors["status"] = [f"must be one of {', '.join(RISK_STATUSES)}"]
        else:
            values["status"] = data["status"]
    _check_residual(risk, values, errors)
    return values


def _check_residual(risk: Risk | None, values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """Residual likelihood and impact come together, and treatment does not make a risk worse."""
    if any(key in errors for key in SCORE_FIELDS):
        return

    def level(key: str) -> int | None:
        return values[key] if key in values else getattr(risk, key, None)

    residual_likelihood, residual_impact = level("residual_likelihood"), level("residual_impact")
    if (residual_likelihood is None) != (residual_impact is None):
        missing = "residual_impact" if residual_impact is None else "residual_likelihood"
        errors[missing] = ["give both residual likelihood and residual impact, or neither"]
        return
    if residual_likelihood is None or residual_impact is None:
        return
    inherent = (level("likelihood") or 0) * (level("impact") or 0)
    if residual_likelihood * residual_impact > inherent:
        errors["residual_impact"] = [
            f"the residual score ({residual_likelihood * residual_impact}) cannot exceed the inherent "
            f"score ({inherent}): treatment does not make a risk worse"
        ]


@require_permission("compliance.risk.manage")
def create_risk(session: Session, data: Mapping[str, Any]) -> Risk:
    """Add a risk to the register: ``title``, ``category``, ``likelihood`` and ``impact`` (1-5);
    optional ``description``, ``owner_id`` (a user of the company), ``residual_likelihood`` and
    ``residual_impact`` (1-5, both or neither), ``treatment`` (mitigate by default),
    ``treatment_plan`` and ``review_date``. Numbered RISK-0001... per company."""
    errors: dict[str, list[str]] = {}
    values = _clean(session, data, None, errors)
    validation.raise_if(errors, "invalid risk")
    risk = Risk(
        company_id=company_id_of(session), reference=_next_reference(session), status="open", **values
    )
    session.add(risk)
    session.flush()
    emit(session, "compliance.risk.created", {"id": risk.id, "reference": risk.reference})
    return risk


@require_permission("compliance.risk.manage")
def update_risk(session: Session, risk: Risk, data: Mapping[str, Any]) -> Risk:
    """Change the fields given in ``data`` (``status`` ``closed`` or ``open`` closes or reopens);
    a residual level set to None clears the residual assessment."""
    validation.lock_row(session, risk)
    errors: dict[str, list[str]] = {}
    values = _clean(session, data, risk, errors)
    validation.raise_if(errors, "invalid risk")
    for key, value in values.items():
        setattr(risk, key, value)
    session.flush()
    emit(session, "compliance.risk.updated", {"id": risk.id, "fields": sorted(values)})
    return risk


@require_permission("compliance.risk.manage")
def set_status(session: Session, risk: Risk, status: str) -> Risk:
    """Close a risk (it leaves the heat map and the overdue reviews) or reopen it."""
    if status not in RISK_STATUSES:
        raise ValidationError(
            "invalid status", fields={"status": [f"must be one of {', '.join(RISK_STATUSES)}"]}
        )
    return update_risk(session, risk, {"status": status})


@require_permission("compliance.risk.manage")
def delete_risk(session: Session, risk: Risk) -> None:
    """Remove a risk from the register (its links to controls go with it; the audit trail keeps it)."""
    emit(session, "compliance.risk.deleted", {"id": risk.id, "reference": risk.reference})
    session.delete(risk)
    session.flush()


# --- reading ------------------------------------------------------------------------------------


@require_permission("compliance.view")
def get_risk(session: Session, risk_id: Any) -> Risk:
    """A risk of the current company, else :class:`NotFound`."""
    return get_record(session, Risk, risk_id, "risk")


def risks_query(
    session: Session,
    *,
    q: str | None = None,
    category: str | None = None,
    owner_id: int | None = None,
    treatment: str | None = None,
    status: str | None = None,
    overdue: bool = False,
    basis: str = "residual",
    likelihood: int | None = None,
    impact: int | None = None,
    today: dt.date | None = None,
) -> Select:
    """The company's risks matching the filters; ``likelihood``/``impact`` pick a heat map cell of
    ``basis`` (a filter value outside its choices is a :class:`ValidationError` on that field)."""
    errors: dict[str, list[str]] = {}
    stmt = select(Risk).where(Risk.company_id == company_id_of(session))
    text = search_text(q)
    if text:
        stmt = stmt.where(
            Risk.reference.icontains(text, autoescape=True) | Risk.title.icontains(text, autoescape=True)
        )
    for field, value, choices in (
        ("category", category, RISK_CATEGORIES),
        ("treatment", treatment, TREATMENTS),
        ("status", status, RISK_STATUSES),
        ("basis", basis, BASES),
    ):
        if value is not None and value not in choices:
            errors[field] = [f"must be one of {', '.join(choices)}"]
    if likelihood is not None and likelihood not in SCORE_RANGE:
        errors["likelihood"] = ["must be between 1 and 5"]
    if impact is not None and impact not in SCORE_RANGE:
        errors["impact"] = ["must be between 1 and 5"]
    validation.raise_if(errors, "invalid filter")
    if category:
        stmt = stmt.where(Risk.category == category)
    if treatment:
        stmt = stmt.where(Risk.treatment == treatment)
    if status:
        stmt = stmt.where(Risk.status == status)
    if owner_id is not None:
        stmt = stmt.where(Risk.owner_id == owner_id)
    if overdue:
        stmt = stmt.where(Risk.status == "open", Risk.review_date < (today or dt.date.today()))
    if likelihood is not None or impact is not None:
        level_l, level_i = effective_levels(basis or "residual")
        if likelihood is not None:
            stmt = stmt.where(level_l == likelihood)
        if impact is not None:
            stmt = stmt.where(level_i == impact)
    return stmt


@require_permission("compliance.view")
def list_risks(
    session: Session,
    *,
    sort: str = "reference",
    descending: bool = False,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    **filters: Any,
) -> Page:
    """One page of risks by keyset (``sort``: reference, title or review_date); ``filters`` are
    :func:`risks_query`'s."""
    if sort not in RISK_SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(RISK_SORTS)}"]})
    return keyset_page(
        session,
        risks_query(session, **filters),
        column=RISK_SORTS[sort],
        id_column=Risk.id,
        descending=descending,
        after=after,
        limit=limit,
    )


@require_permission("compliance.view")
def heat_map(session: Session, basis: str = "residual") -> list[list[int]]:
    """Open risks counted on a 5x5 grid: ``cells[likelihood - 1][impact - 1]``.

    ``basis`` ``residual`` places each risk by its effective residual levels, ``inherent`` by the
    levels before treatment.
    """
    if basis not in BASES:
        raise ValidationError("invalid basis", fields={"basis": [f"must be one of {', '.join(BASES)}"]})
    level_l, level_i = effective_levels(basis)
    placed = (
        select(level_l.label("likelihood"), level_i.label("impact"))
        .where(Risk.company_id == company_id_of(session), Risk.status == "open")
        .subquery()
    )
    cells = [[0] * 5 for _ in SCORE_RANGE]
    rows = session.execute(
        select(placed.c.likelihood, placed.c.impact, func.count()).group_by(
            placed.c.likelihood, placed.c.impact
        )
    )
    for likelihood, impact, count in rows:
        if likelihood in SCORE_RANGE and impact in SCORE_RANGE:
            cells[likelihood - 1][impact - 1] = count
    return cells


@require_permission("compliance.view")
def overdue_reviews(
    session: Session, *, today: dt.date | None = None, limit: int = 10
) -> tuple[int, list[Risk]]:
    """Open risks whose review date has passed: how many, and the ``limit`` most overdue."""
    stmt = risks_query(session, overdue=True, today=today)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    first = list(session.scalars(stmt.order_by(Risk.review_date, Risk.id).limit(limit)))
    return total, first


def is_review_overdue(risk: Risk, today: dt.date | None = None) -> bool:
    """An open risk whose review date is before today."""
    return (
        risk.status == "open"
        and risk.review_date is not None
        and risk.review_date < (today or dt.date.today())
    )


@require_permission("compliance.view")
def search_risks(session: Session, query: str, limit: int = 10) -> list[Risk]:
    """Risks whose reference or title contains ``query``."""
    return list(
        session.scalars(risks_query(session, q=query[:200]).order_by(Risk.reference, Risk.id).limit(limit))
    )


@require_permission("compliance.view")
def risk_choices(session: Session, limit: int = 2000) -> list[Risk]:
    """The company's risks by reference, for a form that links controls to risks."""
    return list(
        session.scalars(
            select(Risk)
            .where(Risk.company_id == company_id_of(session))
            .order_by(Risk.reference, Risk.id)
            .limit(limit)
        )
    )


__all__ = [
    "BASES",
    "RISK_SORTS",
    "RiskScores",
    "create_risk",
    "delete_risk",
    "effective_levels",
    "failing_risk_ids",
    "get_risk",
    "heat_map",
    "is_review_overdue",
    "list_risks",
    "overdue_reviews",
    "parse_score",
    "risk_choices",
    "risks_query",
    "score_band",
    "scores_of",
    "search_risks",
    "set_status",
    "update_risk",
]
