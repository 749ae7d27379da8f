"""Schemas of the risk register's API: risks and the heat map.

Shapes and types only: the rules (levels from 1 to 5, residual levels given together and never
above the inherent score, an owner who is a user of the company) are the services', and come back
as the same field errors as in the UI. Bodies refuse unknown fields (:class:`Strict`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, validate

from core.plugin_api import ListQuery, Strict

from ..models import RISK_CATEGORIES, RISK_STATUSES, TREATMENTS

MAX_ID = 2**62
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)
BANDS = "low (1-4), medium (5-9), high (10-16), critical (20-25)"


class AsciiInteger(fields.Integer):
    """An integer whose text form (a query string's) is ASCII digits only."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


def Id(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    """A row id: a positive integer any database can hold (``strict``: a JSON number, not text)."""
    return AsciiInteger(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def Day(**kwargs: Any) -> fields.Date:
    """An ISO date (YYYY-MM-DD) between 1900 and 9899."""
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY), **kwargs)


def Text(limit: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(max=limit), **kwargs)


def Level(**kwargs: Any) -> fields.Integer:
    """A likelihood or impact level, 1 to 5 (checked by the service, like the form's)."""
    metadata = {"description": "1 (lowest) to 5 (highest)", "minimum": 1, "maximum": 5}
    return AsciiInteger(strict=True, metadata=metadata, **kwargs)


class RiskPatchSchema(Strict):
    """A risk's fields, each optional; ``null`` residual levels clear the residual assessment."""

    title = Text(200)
    description = Text(10_000)
    category = fields.String(validate=validate.OneOf(RISK_CATEGORIES))
    owner_id = Id(allow_none=True, metadata={"description": "a user of the company"})
    likelihood = Level()
    impact = Level()
    residual_likelihood = Level(allow_none=True)
    residual_impact = Level(allow_none=True)
    treatment = fields.String(validate=validate.OneOf(TREATMENTS))
    treatment_plan = Text(10_000)
    review_date = Day(allow_none=True)
    status = fields.String(
        validate=validate.OneOf(RISK_STATUSES), metadata={"description": "closed closes, open reopens"}
    )


class RiskCreateSchema(RiskPatchSchema):
    """A new risk: numbered RISK-0001... per company."""

    title = Text(200, required=True)
    category = fields.String(required=True, validate=validate.OneOf(RISK_CATEGORIES))
    likelihood = Level(required=True)
    impact = Level(required=True)
    status = fields.String(dump_only=True)


class RiskSchema(Strict):
    id = fields.Integer()
    reference = fields.String()
    title = fields.String()
    description = fields.String()
    category = fields.String(metadata={"description": ", ".join(RISK_CATEGORIES)})
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    likelihood = fields.Integer()
    impact = fields.Integer()
    inherent_score = fields.Integer(metadata={"description": "likelihood x impact"})
    inherent_band = fields.String(metadata={"description": BANDS})
    residual_likelihood = fields.Integer(allow_none=True)
    residual_impact = fields.Integer(allow_none=True)
    residual_score = fields.Integer(allow_none=True, metadata={"description": "as assessed; null until then"})
    effective_residual_score = fields.Integer(
        metadata={
            "description": "the residual score (the inherent one until assessed); the inherent score "
            "while an active linked control's latest test failed"
        }
    )
    effective_residual_band = fields.String(metadata={"description": BANDS})
    control_failing = fields.Boolean()
    treatment = fields.String(metadata={"description": ", ".join(TREATMENTS)})
    treatment_plan = fields.String()
    review_date = fields.Date(allow_none=True)
    review_overdue = fields.Boolean(metadata={"description": "open, and the review date has passed"})
    status = fields.String(metadata={"description": ", ".join(RISK_STATUSES)})
    control_ids = fields.List(fields.Integer())
    custom = fields.Dict(
        keys=fields.String(), dump_only=True, metadata={"description": "custom fields (read-only)"}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RiskQuery(ListQuery):
    """``q`` matches the reference and title; ``likelihood`` and ``impact`` pick a heat map cell of
    ``basis`` (residual: the effective residual levels)."""

    category = fields.String(load_default=None, validate=validate.OneOf(RISK_CATEGORIES))
    owner_id = Id(load_default=None, strict=False)
    treatment = fields.String(load_default=None, validate=validate.OneOf(TREATMENTS))
    status = fields.String(load_default=None, validate=validate.OneOf(RISK_STATUSES))
    overdue = fields.Boolean(
        load_default=False, metadata={"description": "only open risks past their review date"}
    )
    basis = fields.String(load_default="residual", validate=validate.OneOf(("residual", "inherent")))
    likelihood = AsciiInteger(load_default=None, validate=validate.Range(1, 5))
    impact = AsciiInteger(load_default=None, validate=validate.Range(1, 5))


class RiskPage(Strict):
    items = fields.List(fields.Nested(RiskSchema))
    next_cursor = fields.String(allow_none=True)


class HeatMapQuery(Strict):
    basis = fields.String(load_default="residual", validate=validate.OneOf(("residual", "inherent")))


class HeatMapSchema(Strict):
    basis = fields.String(metadata={"description": "residual (effective residual levels) or inherent"})
    cells = fields.List(
        fields.List(fields.Integer()),
        metadata={"description": "open risks: 5 rows (likelihood 1..5) of 5 counts (impact 1..5)"},
    )
