"""Schemas of the recruitment API: openings, applicants, stage moves, rejection, hiring.

Shapes and types only; the rules (a title, a valid email, a known opening, the CV file's
kind and size) are the services' and come back as the same field errors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import fields, validate

from core.plugin_api import ListQuery, Strict

from ..models import APPLICANT_STAGES, OPENING_STATES

# Row ids are 32-bit integers: a larger one would be refused by PostgreSQL (a 500, not a 404).
MAX_ID = 2**31 - 1
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(9899, 12, 31)
OPEN_STAGES = ("applied", "screening", "interview", "offer")


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


# --- openings ----------------------------------------------------------------------------------------


class OpeningPatchSchema(Strict):
    title = Text(200)
    department_id = Id(allow_none=True)
    position_id = Id(allow_none=True)
    description = Text(10_000)


class OpeningCreateSchema(OpeningPatchSchema):
    title = Text(200, required=True)


class OpeningSchema(Strict):
    id = fields.Integer()
    title = fields.String()
    department_id = fields.Integer(allow_none=True)
    department = fields.String(allow_none=True)
    position_id = fields.Integer(allow_none=True)
    position = fields.String(allow_none=True)
    description = fields.String()
    state = fields.String(metadata={"description": ", ".join(OPENING_STATES)})
    applicants = fields.Dict(
        keys=fields.String(), values=fields.Integer(), metadata={"description": "applicants per stage"}
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OpeningQuery(ListQuery):
    state = fields.String(load_default=None, validate=validate.OneOf(OPENING_STATES))


class OpeningPage(Strict):
    items = fields.List(fields.Nested(OpeningSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every opening"})


# --- applicants ----------------------------------------------------------------------------------------


class ApplicantPatchSchema(Strict):
    """An applicant's fields, each optional. The stage moves through ``/stage``, ``/reject`` and
    ``/hire``; the CV file through ``PUT /applicants/<id>/cv`` (multipart, field ``file``)."""

    name = Text(200)
    email = Text(254)
    phone = Text(50)
    opening_id = Id(allow_none=True, metadata={"description": "an open job opening"})
    cv_text = Text(100_000)
    notes = Text(10_000)


class ApplicantCreateSchema(ApplicantPatchSchema):
    name = Text(200, required=True)
    stage = fields.String(
        validate=validate.OneOf(OPEN_STAGES), metadata={"description": "applied by default"}
    )


class ApplicantSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    email = fields.String()
    phone = fields.String()
    opening_id = fields.Integer(allow_none=True)
    opening = fields.String(allow_none=True)
    stage = fields.String(metadata={"description": ", ".join(APPLICANT_STAGES)})
    cv_text = fields.String()
    cv_filename = fields.String(metadata={"description": "empty when no CV file is stored"})
    cv_content_type = fields.String()
    cv_size = fields.Integer(metadata={"description": "bytes"})
    cv_url = fields.String(allow_none=True, metadata={"description": "where to download the CV file"})
    notes = fields.String()
    rejection_reason = fields.String()
    employee_id = fields.Integer(allow_none=True, metadata={"description": "set once hired"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ApplicantQuery(ListQuery):
    opening_id = Id(load_default=None, strict=False)
    stage = fields.String(load_default=None, validate=validate.OneOf(APPLICANT_STAGES))


class ApplicantPage(Strict):
    items = fields.List(fields.Nested(ApplicantSchema))
    next_cursor = fields.String(allow_none=True)


class StageRequest(Strict):
    stage = fields.String(
        required=True, validate=validate.Length(max=20), metadata={"description": ", ".join(OPEN_STAGES)}
    )


class RejectRequest(Strict):
    reason = Text(500, required=True)


class HireRequest(Strict):
    """The employee's file: ``department_id``/``position_id`` default to the opening's (``null``: none),
    ``job_title`` to the opening's title. The contact is the person with the applicant's email when
    there is one who is not an employee yet, unless ``new_contact`` or ``contact_id`` says otherwise."""

    hire_date = Day(required=True)
    department_id = Id(allow_none=True)
    position_id = Id(allow_none=True)
    manager_id = Id(allow_none=True)
    job_title = Text(100)
    number = Text(30)
    contact_id = Id(allow_none=True, metadata={"description": "a person contact to link"})
    new_contact = fields.Boolean(load_default=False)


class HireSchema(Strict):
    applicant_id = fields.Integer()
    employee_id = fields.Integer()
    number = fields.String()
    contact_id = fields.Integer()
    name = fields.String()
