"""Schemas of the audit log and period lock API.

Shapes and types only: which filter values make sense (a record type's name, an action code, a
start date not after the end date) is the services' rule and comes back as the same field errors.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import fields, validate

from core.plugin_api import ListQuery, Strict

from ..services.audit_log import RECORD_ID_LIMIT, VIAS

FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)
MAX_ID = 2**31 - 1


def _day(**kwargs: object) -> fields.Date:
    return fields.Date(validate=validate.Range(FIRST_DAY, LAST_DAY), **kwargs)  # type: ignore[arg-type]


class AuditQuerySchema(ListQuery):
    """Filters of the trail; every one is optional and they combine (all must match)."""

    class Meta(ListQuery.Meta):
        exclude = ("q",)

    user_id = fields.Integer(
        load_default=None, strict=False, validate=validate.Range(1, MAX_ID), metadata={"description": "who"}
    )
    model = fields.String(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "the record type: a table name such as contact or crm_deal"},
    )
    record_id = fields.String(load_default=None, validate=validate.Length(max=RECORD_ID_LIMIT))
    date_from = _day(load_default=None, metadata={"description": "from this day (UTC), included"})
    date_to = _day(load_default=None, metadata={"description": "to this day (UTC), included"})
    action = fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={
            "description": "create, update, delete, refused (every refusal), refused:<code>, "
            "a duty action code such as accounting.invoice.post, or audit.verified"
        },
    )
    via = fields.String(load_default=None, validate=validate.OneOf(VIAS))


class AuditRowSchema(Strict):
    id = fields.Integer()
    seq = fields.Integer(metadata={"description": "the row's place in the hash chain"})
    at = fields.DateTime()
    company_id = fields.Integer(allow_none=True, metadata={"description": "null: an instance-wide record"})
    user_id = fields.Integer(allow_none=True)
    actor = fields.String(metadata={"description": "the user's email, or cli / system"})
    via = fields.String(metadata={"description": ", ".join(VIAS)})
    token = fields.String(allow_none=True, metadata={"description": "the API token's prefix"})
    ip = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    model = fields.String()
    record_id = fields.String()
    action = fields.String()
    changes = fields.Dict(
        keys=fields.String(),
        metadata={
            "description": "{field: [old, new]} for create, update, delete (secrets masked); else details"
        },
    )
    hash = fields.String()


class AuditPageSchema(Strict):
    items = fields.List(fields.Nested(AuditRowSchema))
    next_cursor = fields.String(allow_none=True)


class AuditVerificationSchema(Strict):
    ok = fields.Boolean()
    rows = fields.Integer(metadata={"description": "rows checked before the first break (all when ok)"})
    problem = fields.String(metadata={"description": "the first altered, deleted or moved row ('' when ok)"})
    head_hash = fields.String()
    seq = fields.Integer(allow_none=True, metadata={"description": "the row where the chain breaks"})


class PeriodLockChangeSchema(Strict):
    at = fields.DateTime()
    actor = fields.String()
    user_id = fields.Integer(allow_none=True)
    via = fields.String()
    old = fields.Date(allow_none=True)
    new = fields.Date(allow_none=True)


class PeriodLockSchema(Strict):
    lock_date = fields.Date(allow_none=True, metadata={"description": "null: every period is open"})
    history = fields.List(fields.Nested(PeriodLockChangeSchema), metadata={"description": "newest first"})


class PeriodLockRequestSchema(Strict):
    lock_date = _day(
        required=True,
        allow_none=True,
        metadata={"description": "postings dated on or before it are refused; null opens every period"},
    )
