"""Schemas of the training API: skills, courses, sessions, attendees, the skills matrix.

Shapes and types only; the rules (a unique name, hours not negative, a level from 1 to 5, a
current employee registered once) are the services' and come back as the same field errors.
"""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from core.plugin_api import Amount, Strict

from ..models import ATTENDANCE_STATES
from .recruitment import Day, Id, Text


class SkillSchema(Strict):
    id = fields.Integer(dump_only=True)
    name = Text(100, required=True)


class SkillPage(Strict):
    items = fields.List(fields.Nested(SkillSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every skill"})


def Level(**kwargs: Any) -> fields.Integer:
    """A skill level, 1 (beginner) to 5 (expert); the range is the services' rule."""
    metadata = {"description": "1 to 5", "example": 3, **kwargs.pop("metadata", {})}
    return fields.Integer(strict=True, metadata=metadata, **kwargs)


class CoursePatchSchema(Strict):
    name = Text(200)
    description = Text(10_000)
    duration_hours = Amount()  # hours, one decimal, 0 or more
    skill_id = Id(allow_none=True, metadata={"description": "the skill completing the course raises"})
    skill_level = Level(allow_none=True)


class CourseCreateSchema(CoursePatchSchema):
    name = Text(200, required=True)


class CourseSchema(Strict):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    duration_hours = Amount()
    skill_id = fields.Integer(allow_none=True)
    skill = fields.String(allow_none=True)
    skill_level = fields.Integer(allow_none=True)
    sessions = fields.Integer(metadata={"description": "number of sessions"})
    registered = fields.Integer(metadata={"description": "registrations over every session"})
    completed = fields.Integer(metadata={"description": "completions over every session"})


class CoursePage(Strict):
    items = fields.List(fields.Nested(CourseSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every course"})


class SessionCreateSchema(Strict):
    date = Day(required=True)
    location = Text(200)
    trainer = Text(200)


class SessionSchema(Strict):
    id = fields.Integer()
    course_id = fields.Integer()
    course = fields.String()
    date = fields.Date()
    location = fields.String()
    trainer = fields.String()
    registered = fields.Integer()
    attended = fields.Integer()
    absent = fields.Integer()
    completed = fields.Integer()


class SessionPage(Strict):
    items = fields.List(fields.Nested(SessionSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every session"})


class RegisterRequest(Strict):
    employee_id = Id(required=True)


class AttendanceSchema(Strict):
    id = fields.Integer()
    session_id = fields.Integer()
    course_id = fields.Integer()
    course = fields.String()
    date = fields.Date()
    employee_id = fields.Integer()
    employee = fields.String()
    status = fields.String(metadata={"description": ", ".join(ATTENDANCE_STATES)})
    completed_on = fields.Date(allow_none=True)


class AttendancePage(Strict):
    items = fields.List(fields.Nested(AttendanceSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every attendee"})


class AttendancePatchSchema(Strict):
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATES))


class CompleteRequest(Strict):
    on = Day(allow_none=True, load_default=None, metadata={"description": "the session's date by default"})


class MatrixQuery(Strict):
    department_id = Id(load_default=None, strict=False)


class MatrixRowSchema(Strict):
    employee_id = fields.Integer()
    number = fields.String()
    name = fields.String()
    department_id = fields.Integer(allow_none=True)
    levels = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={"description": "skill id -> level, known levels only"},
    )


class MatrixSchema(Strict):
    skills = fields.List(fields.Nested(SkillSchema))
    rows = fields.List(fields.Nested(MatrixRowSchema))


class EmployeeSkillSchema(Strict):
    skill_id = fields.Integer()
    skill = fields.String()
    level = fields.Integer()


class EmployeeSkillPage(Strict):
    items = fields.List(fields.Nested(EmployeeSkillSchema))
    next_cursor = fields.String(allow_none=True, metadata={"description": "always null: every skill"})


class SkillLevelRequest(Strict):
    skill_id = Id(required=True)
    level = Level(required=True, allow_none=True, metadata={"description": "1 to 5; null forgets the level"})
