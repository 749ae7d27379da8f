"""Garbage in every compliance page, form and API call: never a server error, and never a value the
database has to refuse. Routes are found from the app, so a new route is swept without being listed
here; their ids are real records of the company (and, once, ids no row can have: 404).

Every row written during a sweep is checked as it is flushed: a text longer than its column is a
failure on both backends (SQLite would store it silently; PostgreSQL refuses it).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import String, event, inspect, select
from sqlalchemy.orm import Session

from core.models import AuditLog
from core.services import contacts
from plugins.compliance.services import controls, policies, risks, sod
from tests.garbage import failure, properties

pytestmark = pytest.mark.plugins("compliance", "crm", "accounting", "hr")

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
    "0001-01-01",
    "1e999",
    "NaN",
    "x" * 5000,
    "ß" * 300,
    "nul\x00byte",
    "<b>x</b>",
    "1.005",
    "Économie",  # sent twice to each form: the second time a name taken, whatever its case
]
QUERY_KEYS = ("user_id", "model", "record_id", "date_from", "date_to", "action", "via", "status", "q",
              "kind", "contact_id", "risk_id", "owner_id", "frequency", "active", "overdue", "result",
              "category", "treatment", "basis", "likelihood", "impact", "show", "sort", "dir", "cursor",
              "limit")  # fmt: skip
# Names some actions read without a field of their own on the page (buttons, one-field forms).
EXTRA_FIELDS = ("mode", "reason", "confirm", "lock_date", "version_id", "next", "role", "user_id",
                "active", "risk_ids")  # fmt: skip
AREAS = ("audit", "controls", "gdpr", "locks", "policies", "risks", "sod")
API_AREAS = ("audit", "controls", "gdpr", "policies", "risks", "sod")
TODAY = dt.date.today()


@pytest.fixture
def world(session, admin_user, app) -> dict[str, int]:
    """One record of every kind compliance has, by the name routes give its id."""
    risk = risks.create_risk(
        session, {"title": "Fraud", "category": "financial", "likelihood": 3, "impact": 4}
    )
    control = controls.create_control(session, {"name": "Two signatures", "risk_ids": [risk.id]})
    test = controls.record_test(
        session,
        control,
        {"tested_on": TODAY.isoformat(), "result": "pass"},
        evidence=controls.EvidenceUpload("log.txt", "text/plain", b"evidence"),
        folder=Path(app.instance_path) / "uploads" / "compliance",
    )
    policy = policies.create_policy(session, {"title": "Code of conduct", "summary": "Be kind"})
    policies.publish_version(
        session,
        policy,
        {"body": "# Rules\n\nBe kind.", "format": "markdown", "effective_date": TODAY.isoformat()},
    )
    assignment = policies.add_assignment(session, policy, user_id=admin_user)
    rule = sod.create_rule(
        session,
        {"name": "Author does not post", "first_action": "create", "second_action": "ledger.entry.post"},
    )
    contact = contacts.create_contact(session, kind="person", name="Jane Doe", email="jane@example.com")
    session.commit()
    ids = {
        "risk_id": risk.id,
        "control_id": control.id,
        "test_id": test.id,
        "policy_id": policy.id,
        "number": 1,
        "assignment_id": assignment.assignment.id,
        "rule_id": rule.id,
        "contact_id": contact.id,
        "row_id": session.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1)),
    }
    session.close()
    return ids


@pytest.fixture
def too_long() -> Iterator[list[str]]:
    """Texts longer than their column or holding NUL, as any session flushes them during the test."""
    found: list[str] = []

    def check(session: Session, _context: Any, _instances: Any) -> None:
        for record in [*session.new, *session.dirty]:
            for column in inspect(type(record)).columns:
                value = getattr(record, column.key, None)
                limit = getattr(column.type, "length", None) if isinstance(column.type, String) else None
                if isinstance(value, str) and limit and len(value) > limit:
                    found.append(f"{column}: {len(value)} characters > {limit}")
                if isinstance(value, str) and "\x00" in value:  # PostgreSQL refuses NUL in text
                    found.append(f"{column}: a NUL character")

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
    # Deleting and erasing last: the other routes still find their record.
    return sorted(found, key=lambda pair: ("DELETE" in pair[1].methods or "/erase" in pair[0] or
                                           pair[0].endswith("/delete"), pair[0]))  # fmt: skip


def test_every_route_is_in_an_area(app):
    modules = {
        app.view_functions[rule.endpoint].__module__.rsplit(".", 1)[-1]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("compliance.", "compliance_api."))
    }
    assert modules <= {*AREAS, "pages"}


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
            elif kind == "file":
                return
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
    for path, rule in _paths(app, "compliance.", area, world):
        if "GET" not in rule.methods or rule.endpoint.endswith(".asset"):
            continue
        for value in GARBAGE:
            for extra in ({}, {"format": "csv"}) if value in GARBAGE[:3] else ({},):
                response = admin_client.get(path, query_string={**dict.fromkeys(QUERY_KEYS, value), **extra})
                if problem := failure(response):
                    problems.append(f"GET {path} {value[:12]!r} {extra}: {problem}")
    for path, rule in _paths(app, "compliance.", area, world, missing=True):
        if "GET" in rule.methods and rule.arguments - {"filename"}:
            assert admin_client.get(path).status_code == 404, path
    assert not problems, "\n".join(problems)
    assert not too_long, too_long


@pytest.mark.parametrize("area", AREAS)
def test_no_form_fails_on_garbage(app, admin_client, world, too_long, area):
    token = re.search(r'name="csrf_token" value="([^"]+)"', admin_client.get("/compliance/risks/new").text)
    assert token
    problems = []

    def post(path: str, data: dict[str, Any], what: str) -> None:
        body: dict[str, Any] = {**data, "csrf_token": token.group(1)}
        body["evidence_file"] = (io.BytesIO(str(data.get("evidence_note", "x")).encode()), "garbage.pdf")
        response = admin_client.post(path, data=body, content_type="multipart/form-data")
        if problem := failure(response):
            problems.append(f"POST {path} {what}: {problem}")

    for path, rule in _paths(app, "compliance.", area, world):
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
            for value in ("ß" * 20, "x" * 600, "a\x00b"):
                post(path, {**form, name: value}, f"{name}={value[:1]!r}*{len(value)}")
    for path, rule in _paths(app, "compliance.", area, world, missing=True):
        if "POST" in rule.methods and rule.arguments - {"action"}:
            assert admin_client.post(path, data={"csrf_token": token.group(1)}).status_code == 404, path
    assert not problems, "\n".join(problems)
    assert not too_long, too_long


@pytest.mark.parametrize("area", AREAS)
def test_no_form_is_accepted_without_its_csrf_token(app, admin_client, world, area):
    problems = []
    for path, rule in _paths(app, "compliance.", area, world):
        if "POST" not in rule.methods:
            continue
        response = admin_client.post(path, data={"name": "x", "mode": "delete", "confirm": "yes"})
        if response.status_code != 400:
            problems.append(f"POST {path}: {response.status_code}")
    assert not problems, "\n".join(problems)


# --- API ------------------------------------------------------------------------------------------


def _value(schema: dict[str, Any], profile: str) -> Any:
    """A value of ``schema``'s type: ``long`` texts at their longest with plain values elsewhere;
    ``huge`` and ``tiny`` numbers, texts and dates at their bounds; ``junk`` of the type but invalid;
    ``nul`` texts holding a NUL byte; ``null``."""
    kind = schema.get("type")
    if profile == "null":
        return None
    if "enum" in schema:
        choices = [c for c in schema["enum"] if c is not None]
        return choices[-1] if profile == "huge" else choices[0]
    if kind == "integer":
        return {"long": schema.get("minimum", 1), "huge": schema.get("maximum", NO_ROW),
                "tiny": schema.get("minimum", -1), "junk": NO_ROW, "nul": 1}[profile]  # fmt: skip
    if kind == "boolean":
        return profile == "huge"
    if kind == "array":
        return [_value(schema.get("items", {}), profile)] * (3 if profile == "huge" else 1)
    if schema.get("format") == "date":
        return {"long": TODAY.isoformat(), "huge": schema.get("x-maximum", "9899-12-31"),
                "tiny": schema.get("x-minimum", "0001-01-01"), "junk": "2026-02-30",
                "nul": "2026-01-01\x00"}[profile]  # fmt: skip
    if schema.get("format") == "date-time":
        return {"long": "2026-01-01T00:00:00", "huge": "9999-12-31T23:59:59+14:00",
                "tiny": "0001-01-01T00:00:00-12:00", "junk": "2026-02-30T25:00:00",
                "nul": "\x00"}[profile]  # fmt: skip
    if schema.get("format") == "decimal":
        return {"long": "1.00", "huge": "999999999999.99", "tiny": "-999999999999.99",
                "junk": "1e999", "nul": "1\x00"}[profile]  # fmt: skip
    if kind == "string":
        limit = schema.get("maxLength") or 20_000
        return {"long": "ß" * limit, "huge": "9" * limit, "tiny": "", "junk": "x" * (limit + 1),
                "nul": "a\x00b"}[profile]  # fmt: skip
    return {"long": "garbage", "huge": 10**30, "tiny": -(10**30), "junk": [1], "nul": "\x00"}[profile]


PROFILES = ("long", "huge", "tiny", "junk", "nul", "null")


@pytest.mark.parametrize("area", API_AREAS)
def test_no_api_call_fails_on_garbage(app, admin_api, world, too_long, area):
    spec = admin_api.get("/api/v1/openapi.json").json
    problems = []

    def call(method: str, path: str, what: str, **kwargs: Any) -> None:
        response = getattr(admin_api, method.lower())(path, **kwargs)
        if problem := failure(response):
            problems.append(f"{method} {path} {what}: {problem} {response.get_data(as_text=True)[:200]}")

    for path, rule in _paths(app, "compliance_api.", area, world):
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
                    for profile in ("long", "huge", "nul"):
                        call(method, path, f"{name} {profile}", json={name: _value(prop, profile)})
            if method != "GET":
                for bad in ([], "not json", {"unknown": 1}, 7, None):
                    call(method, path, repr(bad), json=bad)
            for value in ("x" * 5000, "\x00", "-1", str(NO_ROW), "2026-02-30"):  # unknown query values
                call(method, path, f"query {value[:6]!r}", query_string=dict.fromkeys(QUERY_KEYS, value))
    for path, rule in _paths(app, "compliance_api.", area, world, missing=True):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if rule.arguments:
                response = getattr(admin_api, method.lower())(path, json={})
                assert response.status_code in (404, 422), (method, path, response.status_code)
    assert not problems, "\n".join(problems)
    assert not too_long, too_long
