"""Marshmallow schemas of the REST API: shapes and types; business rules stay in the services.

Unknown fields are refused (marshmallow's RAISE), and read-only fields are
``dump_only`` so that sending them is an error too: no mass assignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate


def Amount(**kwargs: Any) -> fields.Decimal:
    """A decimal amount, sent and received as a string ("100.00") so that no precision is lost.

    OpenAPI says so too: a ``number`` would invite clients to use floats.
    """
    metadata = {"type": "string", "format": "decimal", "example": "100.00"}
    return fields.Decimal(as_string=True, metadata=metadata, **kwargs)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Strict(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True

    @ma.pre_load
    def _refuse_nul_characters(self, data: Any, **_kwargs: Any) -> Any:
        """NUL is never meaningful in text, and PostgreSQL refuses it (a 500 instead of a 422)."""
        if isinstance(data, Mapping):
            bad = {
                str(k): ["must not contain NUL characters"]
                for k, v in data.items()
                if _has_nul(k) or _has_nul(v)
            }
            if bad:
                raise ma.ValidationError(bad)
        return data


class ErrorBody(Strict):
    code = fields.String()
    message = fields.String()
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))


class ErrorSchema(Strict):
    error = fields.Nested(ErrorBody)


class ListQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    sort = fields.String(load_default=None, validate=validate.Length(max=50))


# --- auth -----------------------------------------------------------------------------------


class TokenRequest(Strict):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))
    name = fields.String(load_default="", validate=validate.Length(max=100))


class TokenResponse(Strict):
    token = fields.String()


# --- plugins -----------------------------------------------------------------------------------


class PluginSchema(Strict):
    name = fields.String()
    title = fields.String()
    version = fields.String()
    description = fields.String()
    depends = fields.List(fields.String())
    category = fields.String()
    enabled = fields.Boolean()
    status = fields.String()
    error = fields.String(allow_none=True)


# --- contacts ----------------------------------------------------------------------------------


class ContactSchema(Strict):
    id = fields.Integer(dump_only=True)
    kind = fields.String(validate=validate.OneOf(["person", "organization"]), load_default="person")
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    parent_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Length(max=50))
    street = fields.String(allow_none=True, validate=validate.Length(max=200))
    city = fields.String(allow_none=True, validate=validate.Length(max=100))
    postal_code = fields.String(allow_none=True, validate=validate.Length(max=20))
    country = fields.String(allow_none=True, validate=validate.Length(max=2))
    notes = fields.String(allow_none=True, validate=validate.Length(max=10_000))
    active = fields.Boolean()
    tags = fields.List(fields.String(validate=validate.Length(max=50)), validate=validate.Length(max=50))
    custom = fields.Dict(keys=fields.String())
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ContactPatchSchema(ContactSchema):
    """The same fields as a contact, every one optional (PATCH)."""


class ContactQuery(ListQuery):
    kind = fields.String(load_default=None, validate=validate.OneOf(["person", "organization"]))
    tag = fields.String(load_default=None, validate=validate.Length(max=50))


class ContactPage(Strict):
    items = fields.List(fields.Nested(ContactSchema))
    next_cursor = fields.String(allow_none=True)


# --- users and roles ---------------------------------------------------------------------------


class UserSchema(Strict):
    id = fields.Integer(dump_only=True)
    email = fields.String(required=True, validate=validate.Length(max=254))
    name = fields.String(validate=validate.Length(max=200))
    password = fields.String(load_only=True, required=True, validate=validate.Length(max=1024))
    active = fields.Boolean(dump_only=True)
    roles = fields.List(fields.String(), load_default=list)
    created_at = fields.DateTime(dump_only=True)


class UserUpdateSchema(Strict):
    name = fields.String(validate=validate.Length(max=200))
    active = fields.Boolean()
    roles = fields.List(fields.String())
    password = fields.String(load_only=True, validate=validate.Length(max=1024))


class UserPage(Strict):
    items = fields.List(fields.Nested(UserSchema))
    next_cursor = fields.String(allow_none=True)


class MeSchema(Strict):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.String())
    permissions = fields.List(fields.String())
    company_id = fields.Integer()


class RoleSchema(Strict):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=500))
    permissions = fields.List(fields.String(), load_default=list)


class RoleUpdateSchema(Strict):
    description = fields.String(validate=validate.Length(max=500))
    permissions = fields.List(fields.String())


class RolePage(Strict):
    items = fields.List(fields.Nested(RoleSchema))
    next_cursor = fields.String(allow_none=True)


# --- ledger --------------------------------------------------------------------------------------


class AccountSchema(Strict):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(
        required=True, validate=validate.OneOf(["asset", "liability", "equity", "income", "expense"])
    )
    parent = fields.String(allow_none=True, load_default=None)
    active = fields.Boolean(load_default=True)


class AccountUpdateSchema(Strict):
    active = fields.Boolean(required=True)


class AccountPage(Strict):
    items = fields.List(fields.Nested(AccountSchema))
    next_cursor = fields.String(allow_none=True)


class JournalSchema(Strict):
    id = fields.Integer(dump_only=True)
    code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    prefix = fields.String(load_default=None, validate=validate.Length(max=20))


class JournalPage(Strict):
    items = fields.List(fields.Nested(JournalSchema))
    next_cursor = fields.String(allow_none=True)


class LineSchema(Strict):
    account = fields.String(required=True, validate=validate.Length(min=1, max=20))
    debit = Amount(load_default="0")
    credit = Amount(load_default="0")
    contact_id = fields.Integer(allow_none=True, load_default=None)
    memo = fields.String(load_default="", validate=validate.Length(max=500))


class EntrySchema(Strict):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True, allow_none=True)
    state = fields.String(dump_only=True)
    journal = fields.String(required=True)
    date = fields.Date(required=True)
    memo = fields.String(load_default="", validate=validate.Length(max=500))
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(min=1, max=10_000))
    post = fields.Boolean(load_only=True, load_default=False)
    reversal_of_id = fields.Integer(dump_only=True, allow_none=True)
    source_plugin = fields.String(dump_only=True, allow_none=True)
    source_ref = fields.String(dump_only=True, allow_none=True)
    posted_at = fields.DateTime(dump_only=True, allow_none=True)


class EntryQuery(ListQuery):
    journal = fields.String(load_default=None)
    state = fields.String(load_default=None, validate=validate.OneOf(["draft", "posted", "reversed"]))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)


class EntryPage(Strict):
    items = fields.List(fields.Nested(EntrySchema))
    next_cursor = fields.String(allow_none=True)


class ReverseRequest(Strict):
    date = fields.Date(load_default=None)
    memo = fields.String(load_default=None, validate=validate.Length(max=500))


class TrialBalanceQuery(Strict):
    date_to = fields.Date(load_default=None)
    date_from = fields.Date(load_default=None)


class TrialBalanceRowSchema(Strict):
    account = fields.String()
    name = fields.String()
    type = fields.String()
    debit = Amount()
    credit = Amount()
    balance = Amount()


class TrialBalanceSchema(Strict):
    rows = fields.List(fields.Nested(TrialBalanceRowSchema))
    total_debit = Amount()
    total_credit = Amount()
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)


# --- messages -----------------------------------------------------------------------------------


class NotificationSchema(Strict):
    id = fields.Integer(dump_only=True)
    title = fields.String()
    body = fields.String()
    url = fields.String()
    source = fields.String()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationPage(Strict):
    items = fields.List(fields.Nested(NotificationSchema))
    next_cursor = fields.String(allow_none=True)


class NotificationQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    unread = fields.Boolean(load_default=False)


class MarkedRead(Strict):
    marked = fields.Integer()
