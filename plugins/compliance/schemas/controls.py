"""Schemas of the controls' API: controls and their tests.

Shapes and types only: the rules (a name, a known frequency, risks and users of the company, a
test date not in the future) are the services'. Bodies refuse unknown fields (:class:`Strict`).
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.plugin_api import ListQuery, Strict

from ..models import CONTROL_FREQUENCIES, TEST_RESULTS
from .risks import Day, Id, Text


class ControlPatchSchema(Strict):
    """A control's fields, each optional; ``risk_ids`` replaces the linked risks."""

    name = Text(200)
    description = Text(10_000)
    owner_id = Id(allow_none=True, metadata={"description": "a user of the company"})
    frequency = fields.String(validate=validate.OneOf(CONTROL_FREQUENCIES))
    next_test_date = Day(allow_none=True)
    active = fields.Boolean()
    risk_ids = fields.List(Id(), validate=validate.Length(max=500))


class ControlCreateSchema(ControlPatchSchema):
    """A new control: numbered CTRL-0001... per company; next test one period from today by default."""

    name = Text(200, required=True)


class ControlSchema(Strict):
    id = fields.Integer()
    reference = fields.String()
    name = fields.String()
    description = fields.String()
    owner_id = fields.Integer(allow_none=True)
    owner_name = fields.String(allow_none=True)
    frequency = fields.String(metadata={"description": ", ".join(CONTROL_FREQUENCIES)})
    next_test_date = fields.Date(allow_none=True)
    test_overdue = fields.Boolean(metadata={"description": "active, and the next test date has passed"})
    active = fields.Boolean()
    risk_ids = fields.List(fields.Integer())
    last_result = fields.String(
        allow_none=True, metadata={"description": "pass, fail, or null (never tested)"}
    )
    last_tested_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ControlQuery(ListQuery):
    """``q`` matches the reference and name; ``overdue``: active controls past their next test date;
    ``result``: the latest test's result."""

    owner_id = Id(load_default=None, strict=False)
    frequency = fields.String(load_default=None, validate=validate.OneOf(CONTROL_FREQUENCIES))
    active = fields.Boolean(load_default=None, allow_none=True)
    overdue = fields.Boolean(load_default=False)
    result = fields.String(load_default=None, validate=validate.OneOf((*TEST_RESULTS, "untested")))


class ControlPage(Strict):
    items = fields.List(fields.Nested(ControlSchema))
    next_cursor = fields.String(allow_none=True)


class ControlTestCreateSchema(Strict):
    """A test (JSON, without a file: evidence files are uploaded through the control's page)."""

    tested_on = Day(required=True, metadata={"description": "not in the future"})
    result = fields.String(required=True, validate=validate.OneOf(TEST_RESULTS))
    tester_id = Id(allow_none=True, metadata={"description": "a user of the company; the caller by default"})
    evidence_note = Text(10_000, load_default="")


class EvidenceSchema(Strict):
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    url = fields.String(metadata={"description": "the download (a browser session with compliance.view)"})


class ControlTestSchema(Strict):
    id = fields.Integer()
    control_id = fields.Integer()
    tested_on = fields.Date()
    tester_id = fields.Integer(allow_none=True)
    tester_name = fields.String(allow_none=True)
    result = fields.String()
    evidence_note = fields.String()
    evidence = fields.Nested(EvidenceSchema, allow_none=True)
    created_at = fields.DateTime()


class ControlTestPage(Strict):
    items = fields.List(fields.Nested(ControlTestSchema))
    next_cursor = fields.String(allow_none=True)
