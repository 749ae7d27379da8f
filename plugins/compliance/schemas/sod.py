"""Schemas of the segregation-of-duties API: rules, the actions they may name, refusals.

Shapes and types only: whether an action is declared, a name is free or an amount is not
negative are the service's rules and come back as the same field errors. Bodies refuse unknown
fields (:class:`Strict`); amounts are decimal strings (:class:`Amount`).
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.plugin_api import Amount, ListQuery, Strict

MAX_ID = 2**31 - 1


class SodRulePatchSchema(Strict):
    """Any of a rule's fields; the result is checked as a whole."""

    name = fields.String(validate=validate.Length(max=200))
    first_action = fields.String(
        validate=validate.Length(max=100),
        metadata={"description": "`create` or a declared action code (see sod-actions)"},
    )
    second_action = fields.String(
        validate=validate.Length(max=100), metadata={"description": "a declared action code"}
    )
    # The rule applies from this amount (company currency); null: whatever the amount.
    min_amount = Amount(allow_none=True)
    active = fields.Boolean()


class SodRuleCreateSchema(SodRulePatchSchema):
    name = fields.String(required=True, validate=validate.Length(max=200))
    first_action = fields.String(required=True, validate=validate.Length(max=100))
    second_action = fields.String(required=True, validate=validate.Length(max=100))
    active = fields.Boolean(load_default=True)


class SodRuleSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    first_action = fields.String()
    first_action_description = fields.String()
    second_action = fields.String()
    second_action_description = fields.String()
    min_amount = Amount(allow_none=True)
    active = fields.Boolean()
    enforced = fields.Boolean(
        metadata={"description": "active and both actions belong to enabled departments"}
    )
    departments_enabled = fields.Boolean(
        metadata={"description": "whether the departments performing both actions are enabled"}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SodRuleQuery(ListQuery):
    active = fields.Boolean(load_default=None, allow_none=True)


class SodRulePage(Strict):
    items = fields.List(fields.Nested(SodRuleSchema))
    next_cursor = fields.String(allow_none=True)


class SodActionSchema(Strict):
    code = fields.String()
    description = fields.String()
    as_first = fields.Boolean(metadata={"description": "may be a rule's first action"})
    as_second = fields.Boolean(metadata={"description": "may be a rule's second action"})


class SodActionPage(Strict):
    items = fields.List(fields.Nested(SodActionSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every action"})


class SodRefusalQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    action = fields.String(load_default=None, validate=validate.Length(max=100))
    user_id = fields.Integer(load_default=None, validate=validate.Range(1, MAX_ID))


class SodRefusalSchema(Strict):
    id = fields.Integer(metadata={"description": "the audit trail row"})
    at = fields.DateTime()
    user_id = fields.Integer(allow_none=True)
    actor = fields.String()
    via = fields.String()
    action = fields.String(metadata={"description": "the refused action's code"})
    model = fields.String()
    record_id = fields.String()
    label = fields.String()
    amount = Amount(allow_none=True)
    reasons = fields.List(fields.String())


class SodRefusalPage(Strict):
    items = fields.List(fields.Nested(SodRefusalSchema))
    next_cursor = fields.String(allow_none=True)
