"""Schemas of the policies API: policies, their versions and assignments, acknowledgements.

Shapes and types only; the rules (a unique title, a known owner, an effective date that does not go
backwards, a role or a user) are the services' and come back as the same field errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, validate

from core.plugin_api import ListQuery, Strict

from ..models import POLICY_FORMATS
from ..services.policies import ACK_STATUSES

# Row ids are 32-bit integers: a larger one would be refused by PostgreSQL (a 500, not a 404).
MAX_ID = 2**31 - 1
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)
VERSION_STATUSES = ("effective", "upcoming", "superseded")


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


# --- policies ----------------------------------------------------------------------------------------


class PolicyPatchSchema(Strict):
    title = Text(200)
    summary = Text(5_000)
    owner_id = Id(allow_none=True, metadata={"description": "a user of the company"})
    active = fields.Boolean(metadata={"description": "false archives the policy: nobody is asked"})


class PolicyCreateSchema(Strict):
    title = Text(200, required=True)
    summary = Text(5_000)
    owner_id = Id(allow_none=True, metadata={"description": "a user of the company"})


class PolicySchema(Strict):
    id = fields.Integer()
    title = fields.String()
    summary = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner = fields.String(allow_none=True)
    active = fields.Boolean()
    current_version = fields.Integer(allow_none=True, metadata={"description": "the version in effect"})
    effective_date = fields.Date(allow_none=True, metadata={"description": "of the version in effect"})
    upcoming_version = fields.Integer(allow_none=True, metadata={"description": "the next one to apply"})
    upcoming_date = fields.Date(allow_none=True)
    assigned = fields.Integer(metadata={"description": "users the policy is assigned to"})
    acknowledged = fields.Integer(metadata={"description": "of them, who acknowledged the version in effect"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class PolicyQuery(ListQuery):
    active = fields.Boolean(load_default=None, metadata={"description": "true: active, false: archived"})


class PolicyPage(Strict):
    items = fields.List(fields.Nested(PolicySchema))
    next_cursor = fields.String(allow_none=True)


# --- versions ----------------------------------------------------------------------------------------


class PolicyVersionCreateSchema(Strict):
    body = Text(200_000, required=True, metadata={"description": "Markdown or HTML, sanitized when shown"})
    format = fields.String(load_default="markdown", validate=validate.OneOf(POLICY_FORMATS))
    effective_date = Day(required=True, metadata={"description": "on or after the previous version's"})
    change_note = Text(500, load_default="")


class PolicyVersionSchema(Strict):
    id = fields.Integer()
    policy_id = fields.Integer()
    version = fields.Integer()
    body = fields.String(metadata={"description": "the source as written"})
    format = fields.String(metadata={"description": ", ".join(POLICY_FORMATS)})
    html = fields.String(metadata={"description": "the body rendered and sanitized"})
    effective_date = fields.Date()
    status = fields.String(metadata={"description": ", ".join(VERSION_STATUSES)})
    change_note = fields.String()
    published_by_id = fields.Integer(allow_none=True)
    published_at = fields.DateTime()


class PolicyVersionPage(Strict):
    items = fields.List(fields.Nested(PolicyVersionSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every version"})


# --- assignments ---------------------------------------------------------------------------------------


class PolicyAssignmentCreateSchema(Strict):
    role = Text(100, metadata={"description": "a role's name (everyone holding it)"})
    user_id = Id(metadata={"description": "one user of the company"})


class PolicyAssignmentSchema(Strict):
    id = fields.Integer()
    policy_id = fields.Integer()
    role_id = fields.Integer(allow_none=True)
    role = fields.String(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    user = fields.String(allow_none=True)


class PolicyAssignmentPage(Strict):
    items = fields.List(fields.Nested(PolicyAssignmentSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every assignment"})


# --- acknowledgements ------------------------------------------------------------------------------------


class PolicyAcknowledgementQuery(Strict):
    policy_id = Id(
        strict=False,
        load_default=None,
        metadata={"description": "that policy's report (compliance.view or compliance.policy.manage)"},
    )
    status = fields.String(load_default=None, validate=validate.OneOf(ACK_STATUSES))


class PolicyAcknowledgementCreateSchema(Strict):
    policy_id = Id(required=True)
    version_id = Id(
        load_default=None, metadata={"description": "the version read: refused (409) if no longer in effect"}
    )


class PolicyAcknowledgementSchema(Strict):
    policy_id = fields.Integer()
    policy = fields.String()
    version_id = fields.Integer(allow_none=True)
    version = fields.Integer(allow_none=True, metadata={"description": "the version in effect"})
    user_id = fields.Integer()
    user = fields.String()
    status = fields.String(metadata={"description": ", ".join(ACK_STATUSES)})
    acknowledged_at = fields.DateTime(allow_none=True)


class PolicyAcknowledgementPage(Strict):
    items = fields.List(fields.Nested(PolicyAcknowledgementSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every row"})
