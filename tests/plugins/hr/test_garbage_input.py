"""Garbage in every HR page, form and API call: never a server error, and never a value the database has
to refuse. Routes are found from the app, so a new route is swept without being listed here; their ids
are real records of the company (and, once, ids no row can have: 404).

Every row HR writes is checked as it is flushed: a text longer than its column is a failure on both
backends (SQLite would store it silently; PostgreSQL refuses it with a generic 422).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import String, event, inspect, select
from sqlalchemy.orm import Session

from plugins.hr.models import LeaveType, Payslip
from plugins.hr.services import leave, org, payroll, recruitment, training
from tests.garbage import failure, properties

from .test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("hr")

# What core answers when the database refuses a value a service let through (too long, out of range).
NO_ROW = 2**31  # beyond any INTEGER id
GARBAGE = [
    "",
    "-1",
    "0",
    str(NO_ROW),
    "99999999999999999999",
    "2026-02-30",
    "9899-12-31",
    "1e999",
    "NaN",
    "x" * 5000,
    "ß" * 300,
    "Économie",  # sent twice to each form: the second time a name taken, whatever its case
    "<b>x</b>",
    "1.005",
]
QUERY_KEYS = ("year", "month", "department_id", "employee_id", "opening_id", "state", "status", "stage",
              "show", "sort", "dir", "cursor", "q", "inactive", "limit")  # fmt: skip
# Names some actions read without a field of their own on the page (buttons, one-field forms).
EXTRA_FIELDS = ("name", "date", "reason", "note", "amount", "remove", "year", "employee_id", "status")
AREAS = ("org", "leave", "payroll", "recruitment", "training", "me")


@pytest.fixture
def world(session, people) -> dict[str, int]:
    """One record of every kind HR has, by the name routes give its id."""
    add_contract(session, people["eve"], "3000.00")
    contract = add_contract(session, people["mary"], "4000.00")
    annual = session.scalar(select(LeaveType).where(LeaveType.code == "ANNUAL"))
    leave.set_allocation(session, people["eve"], annual.id, 2026, "25")
    draft = leave.create_request(
        session,
        {"employee_id": people["eve"], "leave_type_id": annual.id, "start_date": "2026-03-02",
         "end_date": "2026-03-03"},
    )  # fmt: skip
    holiday = leave.add_holiday(session, {"date": "2026-05-01", "name": "Labour day"})
    run = payroll.create_run(session, 2026, 1)
    slip = session.scalars(select(Payslip).where(Payslip.run_id == run.id)).first()
    line = payroll.add_adjustment(session, slip, "Bonus", "100.00")
    opening = recruitment.create_opening(session, {"title": "Analyst"})
    applicant = recruitment.create_applicant(
        session,
        {"name": "Ada", "opening_id": opening.id, "cv_file": recruitment.CvUpload("cv.pdf", b"%PDF-1.4 cv")},
    )
    skill = training.create_skill(session, "Python")
    course = training.create_course(session, {"name": "Python 1", "skill_id": skill.id, "skill_level": 2})
    sitting = training.create_session(session, course, {"date": "2026-04-13"})
    ids = {
        "employee_id": people["eve"],
        "contract_id": contract.id,
        "department_id": people["engineering"],
        "position_id": org.create_position(session, {"name": "Engineer"}).id,
        "request_id": draft.id,
        "leave_type_id": annual.id,
        "holiday_id": holiday.id,
        "run_id": run.id,
        "payslip_id": slip.id,
        "line_id": line.id,
        "item_id": payroll.list_items(session)[0].id,
        "opening_id": opening.id,
        "applicant_id": applicant.id,
        "skill_id": skill.id,
        "course_id": course.id,
        "session_id": sitting.id,
        "attendance_id": training.register(session, sitting, people["eve"]).id,
    }
    session.commit()
    session.close()
    return ids


@pytest.fixture
def too_long() -> Iterator[list[str]]:
    """Texts longer than their column, as any session flushes them during the test."""
    found: list[str] = []

    def check(session: Session, _context: Any, _instances: Any) -> None:
        for record in [*session.new, *session.dirty]:
            for column in inspect(type(record)).columns:
                value = getattr(record, column.key, None)
                limit = getattr(column.type, "length", None) if isinstance(column.type, String) else None
                if isinstance(value, str) and limit and len(value) > limit:
                    found.append(f"{column}: {len(value)} characters > {limit}")

    event.listen(Session, "before_flush", check)
    yield found
    event.remove(Session, "before_flush", check)


def _paths(app: Any, prefix: str, area: str, ids: dict[str, int], *, missing: bool = False) -> list[Any]:
    """(path, rule) of the routes of ``prefix`` defined in ``area``'s module: ids of real records, or
    ids no row can have."""
    found = []
    for rule in app.url_map.iter_rules():
        module = getattr(app.view_functions[rule.endpoint], "__module__", "")
        if not rule.endpoint.startswith(prefix) or not module.endswith(f".{area}"):
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            if hasattr(converter, "items"):  # <any(...)>
                values[name] = sorted(converter.items)[0]
            else:
                assert name in ids, f"{rule.rule}: no record for <{name}>"
                values[name] = NO_ROW if missing else ids[name]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, v=values: str(v[m.group(1)]), rule.rule)
        found.append((path, rule))
    return sorted(found, key=lambda pair: ("DELETE" in pair[1].methods, pair[0]))


def test_every_route_is_in_an_area(app):
    modules = {
        app.view_functions[rule.endpoint].__module__.rsplit(".", 1)[-1]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("hr.", "hr_api.")) and not rule.endpoint.endswith(".asset")
    }
    assert modules <= set(AREAS)


# --- pages ----------------------------------------------------------------------------------------


class _Form(HTMLParser):
    """A page's form fields as a browser would send them: name -> (kind, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, tuple[str, str]] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        name = found.get("name", "")
        if tag == "input" and name and name != "csrf_token":
            kind = found.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in found or name not in self.fields:
                    self.fields[name] = ("choice", found.get("value", "on") if "checked" in found else "")
            elif name not in self.fields:
                self.fields[name] = (
                    "choice" if kind in ("submit", "hidden") else kind,
                    found.get("value", ""),
                )
        elif tag == "textarea" and name:
            self.fields[name] = ("text", "")
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, ("choice", ""))
        elif tag == "option" and self._select and ("selected" in found or not self.fields[self._select][1]):
            self.fields[self._select] = ("choice", found.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


@pytest.mark.parametrize("area", AREAS)
def test_no_page_fails_on_garbage_in_its_query(app, admin_client, world, too_long, area):
    problems = []
    for path, rule in _paths(app, "hr.", area, world):
        if "GET" not in rule.methods:
            continue
        for value in GARBAGE:
            for extra in ({}, {"format": "csv"}) if value in GARBAGE[:3] else ({},):
                response = admin_client.get(path, query_string={**dict.fromkeys(QUERY_KEYS, value), **extra})
                if problem := failure(response):
                    problems.append(f"GET {path} {value[:12]!r} {extra}: {problem}")
    for path, rule in _paths(app, "hr.", area, world, missing=True):
        if "GET" in rule.methods and rule.arguments:
            assert admin_client.get(path).status_code == 404, path
    assert not problems, "\n".join(problems)
    assert not too_long, too_long


@pytest.mark.parametrize("area", AREAS)
def test_no_form_fails_on_garbage(app, admin_client, world, too_long, area):
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin_client.get("/hr/employees/new").text)
    assert token
    problems = []

    def post(path: str, data: dict[str, Any], what: str) -> None:
        body: dict[str, Any] = {**data, "csrf_token": token.group(1)}
        for upload in ("file", "cv_file"):
            body[upload] = (io.BytesIO(str(data.get("notes", "x")).encode()), "garbage.pdf")
        response = admin_client.post(path, data=body, content_type="multipart/form-data")
        if problem := failure(response):
            problems.append(f"POST {path} {what}: {problem}")

    for path, rule in _paths(app, "hr.", area, world):
        if "POST" not in rule.methods:
            continue
        parser = _Form()
        if "GET" in rule.methods:
            parser.feed(admin_client.get(path).text)
        fields = {**{name: ("text", "") for name in EXTRA_FIELDS}, **parser.fields}
        form = {name: value for name, (_kind, value) in fields.items()}
        typed = [name for name, (kind, _value) in fields.items() if kind != "choice"]
        for value in GARBAGE:
            post(path, dict.fromkeys(fields, value), f"every field {value[:12]!r}")
            post(path, {**form, **dict.fromkeys(typed, value)}, f"typed fields {value[:12]!r}")
        for name in typed:  # one text at the edge of its length, the rest as the page filled it
            for value in ("ß" * 20, "x" * 600):
                post(path, {**form, name: value}, f"{name}={value[:1]!r}*{len(value)}")
    for path, rule in _paths(app, "hr.", area, world, missing=True):
        if "POST" in rule.methods and rule.arguments - {"action", "status"}:
            assert admin_client.post(path, data={"csrf_token": token.group(1)}).status_code == 404, path
    assert not problems, "\n".join(problems)
    assert not too_long, too_long


# --- API ------------------------------------------------------------------------------------------


def _value(schema: dict[str, Any], profile: str) -> Any:
    """A value of ``schema``'s type: ``long`` texts at their longest (of a letter that upper-cases to
    two) with plain values elsewhere; ``huge`` and ``tiny`` numbers, texts and dates at their bounds;
    ``junk`` of the type but invalid; ``null``."""
    kind = schema.get("type")
    if profile == "null":
        return None
    if "enum" in schema:
        choices = [c for c in schema["enum"] if c is not None]
        return choices[-1] if profile == "huge" else choices[0]
    if kind == "integer":
        return {"long": schema.get("minimum", 1), "huge": schema.get("maximum", NO_ROW),
                "tiny": schema.get("minimum", -1), "junk": NO_ROW}[profile]  # fmt: skip
    if kind == "boolean":
        return profile == "huge"
    if kind == "array":
        return [_value(schema.get("items", {}), profile)] * (3 if profile == "huge" else 1)
    if schema.get("format") == "date":
        return {"long": "2026-03-02", "huge": schema.get("x-maximum", "9899-12-31"),
                "tiny": schema.get("x-minimum", "1900-01-01"), "junk": "2026-02-30"}[profile]  # fmt: skip
    if schema.get("format") == "decimal":
        return {"long": "1.00", "huge": "999999999999.99", "tiny": "-999999999999.99",
                "junk": "1e999"}[profile]  # fmt: skip
    if kind == "string" and re.fullmatch(r"\d{4}-\d{2}", str(schema.get("example", ""))):
        return {"long": "2026-03", "huge": "9899-12", "tiny": "1900-01", "junk": "2026-13"}[profile]
    if kind == "string":
        limit = schema.get("maxLength") or 20_000
        return {"long": "ß" * limit, "huge": "9" * limit, "tiny": "", "junk": "x" * (limit + 1)}[profile]
    return "garbage"


API_AREAS = ("org", "leave", "payroll", "recruitment", "training")
PROFILES = ("long", "huge", "tiny", "junk", "null")


@pytest.mark.parametrize("area", API_AREAS)
def test_no_api_call_fails_on_garbage(app, admin_api, world, too_long, area):
    spec = admin_api.get("/api/v1/openapi.json").json
    problems = []

    def call(method: str, path: str, what: str, **kwargs: Any) -> None:
        response = getattr(admin_api, method.lower())(path, **kwargs)
        if problem := failure(response):
            problems.append(f"{method} {path} {what}: {problem} {response.get_data(as_text=True)[:200]}")

    for path, rule in _paths(app, "hr_api.", area, world):
        operations = spec["paths"].get(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), {})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=lambda m: (m == "DELETE", m)):
            operation = operations.get(method.lower(), {})
            content = operation.get("requestBody", {}).get("content", {})
            body = (
                properties(spec, content["application/json"]["schema"])
                if "application/json" in content
                else {}
            )
            query = [p for p in operation.get("parameters", []) if p.get("in") == "query"]
            for profile in PROFILES:
                kwargs: dict[str, Any] = {}
                if method != "GET":
                    kwargs["json"] = {name: _value(prop, profile) for name, prop in body.items()}
                if query:
                    values = {p["name"]: _value(p["schema"], profile) for p in query}
                    kwargs["query_string"] = {
                        key: value for key, value in values.items() if value is not None
                    }
                call(method, path, profile, **kwargs)
            if method in ("PATCH", "PUT"):  # one field at the edge, the rest as stored
                for name, prop in body.items():
                    for profile in ("long", "huge"):
                        call(method, path, f"{name} {profile}", json={name: _value(prop, profile)})
            if method != "GET":
                for bad in ([], "not json", {"unknown": 1}):
                    call(method, path, repr(bad), json=bad)
    for path, rule in _paths(app, "hr_api.", area, world, missing=True):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if rule.arguments:
                response = getattr(admin_api, method.lower())(path, json={})
                assert response.status_code in (404, 422), (method, path, response.status_code)
    assert not problems, "\n".join(problems)
    assert not too_long, too_long
