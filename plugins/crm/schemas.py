"""Marshmallow schemas of CRM's REST API: shapes and types only; the rules are in ``services``.

Bodies refuse unknown fields and NUL characters (:class:`Strict`), amounts travel
as decimal strings (:class:`Amount`), ids are JSON numbers a database can hold,
and read-only fields are ``dump_only``. Business rules (a revenue that is not
negative, a probability from 0 to 100, a Lost deal's reason, a known stage or
contact) are the services' and come back as the same field errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError as SchemaError
from marshmallow import fields, validate

from core.plugin_api import Amount, ListQuery, Strict

from .models import ACTIVITY_KINDS, LEAD_SOURCES, LEAD_STATUSES, QUOTE_STATES, STAGE_KINDS

MAX_ID = 2**62
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)
DEAL_STATES = ("open", "won", "lost")


class AsciiInteger(fields.Integer):
    """An integer whose text form (a query string's) is ASCII digits only: ``int()`` would also read
    other scripts' digits, which are no id here."""

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


def described(field: fields.Field, metadata: dict[str, Any]) -> fields.Field:
    """``field`` with more OpenAPI metadata (a description, an example)."""
    field.metadata = {**field.metadata, **metadata}
    return field


def Percent(**kwargs: Any) -> fields.Integer:
    """A whole percentage (0-100 is the services' rule, reported on the field)."""
    metadata = {"description": "percent, 0 to 100", "example": 50, **kwargs.pop("metadata", {})}
    return fields.Integer(strict=True, metadata=metadata, **kwargs)


class StageRef(fields.Field):
    """A stage of the deal's pipeline by id (integer) or by name (text): ``5`` or ``"Proposal"``."""

    def __init__(self, *, metadata: dict[str, Any] | None = None, **kwargs: Any) -> None:
        one_of = {"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "maxLength": 100}]}
        super().__init__(metadata={**one_of, **(metadata or {})}, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise SchemaError("must be a stage id (integer) or name (text)")
        if isinstance(value, str) and not 0 < len(value) <= 100:
            raise SchemaError("must be 1 to 100 characters")
        if isinstance(value, int) and not 0 < value < MAX_ID:
            raise SchemaError("unknown stage")
        return value


# --- leads ----------------------------------------------------------------------------------------


class LeadPatchSchema(Strict):
    """A lead's fields, each optional; ``status`` moves between new and contacted only (qualify or
    disqualify to close a lead)."""

    name = Text(200)
    company_name = Text(200)
    email = Text(254, allow_none=True)
    phone = Text(50)
    source = fields.String(validate=validate.OneOf(LEAD_SOURCES))
    notes = Text(5000)
    owner_id = Id(allow_none=True, metadata={"description": "a user id; the creator by default"})
    status = fields.String(validate=validate.OneOf(("new", "contacted")))


class LeadCreateSchema(LeadPatchSchema):
    name = Text(200, required=True)


class LeadSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    company_name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String()
    source = fields.String()
    status = fields.String(metadata={"description": ", ".join(LEAD_STATUSES)})
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    notes = fields.String()
    disqualify_reason = fields.String()
    contact_id = fields.Integer(allow_none=True, metadata={"description": "set once qualified"})
    deal_id = fields.Integer(allow_none=True, metadata={"description": "set once qualified"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class LeadQuery(ListQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(LEAD_STATUSES))
    owner_id = Id(load_default=None, strict=False)


class LeadPage(Strict):
    items = fields.List(fields.Nested(LeadSchema))
    next_cursor = fields.String(allow_none=True)


class LeadMatchSchema(Strict):
    id = fields.Integer()
    kind = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)


class LeadMatchPage(Strict):
    items = fields.List(fields.Nested(LeadMatchSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every match"})


class QualifyDealSchema(Strict):
    """The deal a qualified lead becomes; its customer is the lead's contact."""

    title = Text(200, metadata={"description": "the lead's company, or its name, by default"})
    expected_revenue = Amount()
    probability = Percent(metadata={"description": "0 to 100; the stage's by default"})
    expected_close = Day(allow_none=True)
    owner_id = Id(allow_none=True, metadata={"description": "the lead's owner by default"})
    pipeline_id = Id()
    stage = StageRef(metadata={"description": "the pipeline's first stage by default"})


class QualifyRequest(Strict):
    """Either ``contact_id`` (link an existing contact, e.g. a match) or ``"create_contact": true``.

    With neither, a lead whose email matches a contact is refused (422 on ``contact_id``, naming the
    matches); without a match a contact is created."""

    contact_id = Id(load_default=None, allow_none=True)
    create_contact = fields.Boolean(load_default=False)
    deal = fields.Nested(QualifyDealSchema, load_default=dict)


class DisqualifyRequest(Strict):
    reason = Text(500, load_default=None, allow_none=True, metadata={"description": "required"})


class LeadImportRequest(Strict):
    csv = fields.String(
        required=True,
        validate=validate.Length(max=2_000_000),
        metadata={"description": "a header row naming columns among name, company_name, email, phone, "
                  "source, notes, then a row per lead"},
    )  # fmt: skip
    skip_invalid = fields.Boolean(
        load_default=False,
        metadata={"description": "import the valid rows and skip the others; otherwise one bad row "
                  "imports nothing"},
    )  # fmt: skip
    preview = fields.Boolean(load_default=False, metadata={"description": "check only, store nothing"})


class ImportRowErrorSchema(Strict):
    row = fields.Integer(metadata={"description": "1 = the first row after the header"})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))


class LeadImportSchema(Strict):
    preview = fields.Boolean()
    total = fields.Integer(metadata={"description": "rows read (blank rows aside)"})
    valid = fields.Integer()
    errors = fields.List(fields.Nested(ImportRowErrorSchema))
    imported = fields.Integer()
    lead_ids = fields.List(fields.Integer())


# --- stages ---------------------------------------------------------------------------------------


class StageSchema(Strict):
    id = fields.Integer(dump_only=True)
    pipeline_id = Id(metadata={"description": "the default pipeline when left out"})
    name = Text(100, required=True)
    sequence = fields.Integer(strict=True, metadata={"description": "position on the board, 0 first"})
    probability = Percent(load_default=0)
    kind = fields.String(load_default="open", validate=validate.OneOf(STAGE_KINDS))


class StagePatchSchema(Strict):
    name = Text(100)
    sequence = fields.Integer(strict=True)
    probability = Percent()
    kind = fields.String(validate=validate.OneOf(STAGE_KINDS))


class StageQuery(Strict):
    pipeline_id = Id(load_default=None, strict=False)


class StagePage(Strict):
    pipeline_id = fields.Integer()
    pipeline = fields.String()
    items = fields.List(fields.Nested(StageSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every stage"})


# --- deals ----------------------------------------------------------------------------------------


class DealPatchSchema(Strict):
    """A deal's fields, each optional. Changing ``stage`` follows the move's rules (the probability
    becomes the stage's; Lost needs ``lost_reason``)."""

    title = Text(200)
    contact_id = Id()
    expected_revenue = described(Amount(), {"description": "not negative", "example": "1000.00"})
    probability = Percent()
    expected_close = Day(allow_none=True)
    owner_id = Id(allow_none=True)
    stage = StageRef()
    lost_reason = Text(500)


class DealCreateSchema(DealPatchSchema):
    title = Text(200, required=True)
    contact_id = Id(required=True, metadata={"description": "the customer"})
    pipeline_id = Id(metadata={"description": "the default pipeline when left out"})


class DealSchema(Strict):
    id = fields.Integer()
    title = fields.String()
    contact_id = fields.Integer()
    contact_name = fields.String()
    expected_revenue = Amount()
    currency = fields.String()
    probability = fields.Integer()
    weighted_revenue = described(Amount(), {"description": "expected revenue x probability / 100"})
    expected_close = fields.Date(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    pipeline_id = fields.Integer()
    stage_id = fields.Integer()
    stage = fields.String(metadata={"description": "the stage's name"})
    state = fields.String(metadata={"description": ", ".join(DEAL_STATES)})
    lost_reason = fields.String()
    closed_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class DealQuery(ListQuery):
    state = fields.String(load_default=None, validate=validate.OneOf(DEAL_STATES))
    stage_id = Id(load_default=None, strict=False)
    owner_id = Id(load_default=None, strict=False)
    contact_id = Id(load_default=None, strict=False)


class DealPage(Strict):
    items = fields.List(fields.Nested(DealSchema))
    next_cursor = fields.String(allow_none=True)


class MoveRequest(Strict):
    stage = StageRef(required=True)
    lost_reason = Text(500, load_default="", metadata={"description": "required to move to Lost"})


# --- activities -----------------------------------------------------------------------------------


class ActivityCreateSchema(Strict):
    """An activity on a deal, a lead or a contact (one of them at least)."""

    kind = fields.String(load_default="task", validate=validate.OneOf(ACTIVITY_KINDS))
    subject = Text(200, required=True)
    notes = Text(5000)
    due_date = Day(allow_none=True)
    assignee_id = Id(allow_none=True, metadata={"description": "a user id; the creator by default"})
    deal_id = Id(allow_none=True)
    lead_id = Id(allow_none=True)
    contact_id = Id(allow_none=True)


class ActivitySchema(Strict):
    id = fields.Integer()
    kind = fields.String()
    subject = fields.String()
    notes = fields.String()
    due_date = fields.Date(allow_none=True)
    assignee_id = fields.Integer(allow_none=True)
    assignee_name = fields.String(allow_none=True)
    deal_id = fields.Integer(allow_none=True)
    lead_id = fields.Integer(allow_none=True)
    contact_id = fields.Integer(allow_none=True)
    done = fields.Boolean()
    done_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "not done and due before today"})
    created_at = fields.DateTime()


class ActivityQuery(Strict):
    """One of: ``mine`` (the default: my open activities, oldest due first), ``deal_id`` (a deal's
    timeline) or ``contact_id`` (a contact's timeline, with its deals' and leads'), newest first."""

    mine = fields.Boolean(load_default=None)
    include_done = fields.Boolean(load_default=False, metadata={"description": "with mine"})
    deal_id = Id(load_default=None, strict=False)
    contact_id = Id(load_default=None, strict=False)


class ActivityPage(Strict):
    items = fields.List(fields.Nested(ActivitySchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null"})


class DoneRequest(Strict):
    notes = Text(5000, load_default=None, allow_none=True, metadata={"description": "what came of it"})


# --- quotes ---------------------------------------------------------------------------------------


class QuoteLineSchema(Strict):
    id = fields.Integer(dump_only=True)
    description = Text(500, required=True)
    quantity = described(Amount(load_default="1"), {"example": "2"})
    unit_price = Amount(required=True)
    discount = described(Amount(load_default="0"), {"description": "percent, 0 to 100", "example": "10"})
    gross = described(Amount(dump_only=True), {"description": "quantity x unit price"})
    total = described(Amount(dump_only=True), {"description": "gross less the discount"})


class QuotePatchSchema(Strict):
    """A draft quote's fields, each optional; ``lines``, when given, replace every line."""

    valid_until = Day(allow_none=True)
    notes = Text(5000)
    lines = fields.List(fields.Nested(QuoteLineSchema), validate=validate.Length(max=500))


class QuoteCreateSchema(QuotePatchSchema):
    date = Day(metadata={"description": "today by default"})
    lines = fields.List(fields.Nested(QuoteLineSchema), required=True, validate=validate.Length(max=500))


class QuoteSchema(Strict):
    id = fields.Integer()
    deal_id = fields.Integer()
    deal_title = fields.String()
    deal_state = fields.String()
    number = fields.String()
    state = fields.String(metadata={"description": ", ".join(QUOTE_STATES)})
    date = fields.Date()
    valid_until = fields.Date(allow_none=True)
    notes = fields.String()
    currency = fields.String()
    subtotal = Amount()
    discount_amount = Amount()
    total = Amount()
    lines = fields.List(fields.Nested(QuoteLineSchema))


class QuotePage(Strict):
    items = fields.List(fields.Nested(QuoteSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every quote"})


# --- forecast -------------------------------------------------------------------------------------


class ForecastQuery(Strict):
    date_from = Day(load_default=None, metadata={"description": "won and lost deals closed from"})
    date_to = Day(load_default=None, metadata={"description": "won and lost deals closed until"})


class ForecastRowSchema(Strict):
    label = fields.String()
    count = fields.Integer()
    revenue = Amount()
    weighted = described(Amount(), {"description": "revenue x probability / 100"})


class ForecastSchema(Strict):
    by_month = fields.List(
        fields.Nested(ForecastRowSchema), metadata={"description": "open deals by expected close month"}
    )
    by_owner = fields.List(fields.Nested(ForecastRowSchema), metadata={"description": "open deals"})
    won = fields.Integer()
    lost = fields.Integer()
    win_rate = fields.Decimal(
        as_string=True,
        allow_none=True,
        metadata={"type": "string", "format": "decimal", "description": "percent; null before any close"},
    )
    won_revenue = Amount()
    funnel = fields.List(
        fields.Nested(ForecastRowSchema), metadata={"description": "every stage of the default pipeline"}
    )
