"""Schemas of the GDPR API: the erase request, the recorded requests and the export document.

Shapes and types only; the rules (a known mode, a reason, what must be retained) are the
service's and come back as the same field errors.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from core.plugin_api import ListQuery, Strict

from ..models import GDPR_KINDS, GDPR_STATUSES

# Row ids are 32-bit integers: a larger one would be refused by PostgreSQL (a 500, not a 404).
MAX_ID = 2**31 - 1
MODES = ("anonymize", "delete")


class AsciiInteger(fields.Integer):
    """An integer whose text form (a query string's) is ASCII digits only."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and not value.isascii():
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class EraseRequest(Strict):
    mode = fields.String(
        required=True, validate=validate.OneOf(MODES), metadata={"description": ", ".join(MODES)}
    )
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=500),
        metadata={"description": "what the person asked, when and how"},
    )


class ExportQuery(Strict):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class GdprRequestSchema(Strict):
    id = fields.Integer()
    contact_id = fields.Integer()
    contact = fields.String(allow_none=True, metadata={"description": "null once the contact is deleted"})
    kind = fields.String(metadata={"description": ", ".join(GDPR_KINDS)})
    status = fields.String(metadata={"description": ", ".join(GDPR_STATUSES)})
    reason = fields.String()
    outcome = fields.List(fields.String(), metadata={"description": "what was done, or why it was refused"})
    requested_by_id = fields.Integer(allow_none=True)
    requested_by = fields.String(allow_none=True)
    requested_at = fields.DateTime()


class GdprRequestQuery(ListQuery):
    contact_id = AsciiInteger(load_default=None, strict=False, validate=validate.Range(1, MAX_ID))
    kind = fields.String(load_default=None, validate=validate.OneOf(GDPR_KINDS))
    status = fields.String(load_default=None, validate=validate.OneOf(GDPR_STATUSES))


class GdprRequestPage(Strict):
    items = fields.List(fields.Nested(GdprRequestSchema))
    next_cursor = fields.String(allow_none=True)


class PersonalDataExport(Strict):
    contact_id = fields.Integer()
    generated_at = fields.String(metadata={"description": "ISO date and time (UTC)"})
    generated_by = fields.String(metadata={"description": "the email of who asked for the export"})
    sections = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(),
        metadata={"description": "one per part of the product holding data (core, crm, ...)"},
    )
