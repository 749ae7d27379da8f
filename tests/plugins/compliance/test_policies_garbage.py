"""Garbage in every policies page, form and API call: never a server error, never a value the database
has to refuse. Routes are found from the app (the ``policies`` modules), so a new route is swept without
being listed here; their ids are real records of the company, and once ids no row can have (404)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import String, event, inspect
from sqlalchemy.orm import Session

from core.services import users as user_service
from plugins.compliance.services import policies
from tests.garbage import failure

pytestmark = pytest.mark.plugins("compliance")

NO_ROW = 2**31  # beyond any INTEGER id
GARBAGE = [
    "",
    "-1",
    "0",
    str(NO_ROW),
    "99999999999999999999",
    "2026-02-30",
    "9899-12-31",
    "NaN",
    "x" * 5000,
    "ß" * 300,
    "<script>alert(1)</script>",
    "Économie",
]
QUERY_KEYS = ("q", "status", "cursor", "format", "sort", "dir")
EXTRA_FIELDS = ("title", "summary", "owner_id", "body", "format", "effective_date", "change_note", "role",
                "user_id", "version_id", "next", "active")  # fmt: skip


@pytest.fixture
def world(ext, session, officer) -> dict[str, int]:
    """A policy with a version in effect, assigned to a role and to the officer, acknowledged by them."""
    user_service.create_role(session, name="Staff", permissions=[])
    policy = policies.create_policy(session, {"title": "Code of conduct"})
    version = policies.publish_version(session, policy, {"body": "# Hi", "effective_date": dt.date.today()})
    policies.add_assignment(session, policy, role="Staff")
    item = policies.add_assignment(session, policy, user_id=officer)
    ids = {
        "policy_id": policy.id,
        "number": version.version,
        "assignment_id": item.assignment.id,
        "version_id": version.id,
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


def _paths(app: Any, prefix: str, ids: dict[str, int], *, missing: bool = False) -> list[Any]:
    found = []
    for rule in app.url_map.iter_rules():
        module = getattr(app.view_functions[rule.endpoint], "__module__", "")
        if not rule.endpoint.startswith(prefix) or not module.endswith(".policies"):
            continue
        values = {name: NO_ROW if missing else ids[name] for name in rule.arguments}
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, v=values: str(v[m.group(1)]), rule.rule)
        found.append((path, rule))
    # Deleting last, so that every other route still has its records.
    return sorted(found, key=lambda pair: ("delete" in pair[0] or "DELETE" in pair[1].methods, pair[0]))


class _Form(HTMLParser):
    """The names of a page's form fields."""

    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        name = dict(attrs).get("name")
        if tag in ("input", "textarea", "select") and name and name != "csrf_token":
            self.names.add(name)


def test_no_page_fails_on_garbage_in_its_query(app, officer_client, world, too_long):
    problems = []
    paths = _paths(app, "compliance.", world)
    assert len(paths) >= 12
    for path, rule in paths:
        if "GET" not in rule.methods:
            continue
        for value in GARBAGE:
            response = officer_client.get(path, query_string=dict.fromkeys(QUERY_KEYS, value))
            if problem := failure(response):
                problems.append(f"GET {path} {value[:12]!r}: {problem}")
    for path, rule in _paths(app, "compliance.", world, missing=True):
        if "GET" in rule.methods and rule.arguments:
            assert officer_client.get(path).status_code == 404, path
    assert not problems, "\n".join(problems)
    assert not too_long, too_long


def test_no_form_fails_on_garbage(app, officer_client, world, too_long):
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', officer_client.get("/compliance/policies/new").text
    )
    assert token
    problems = []
    for path, rule in _paths(app, "compliance.", world):
        if "POST" not in rule.methods:
            continue
        parser = _Form()
        if "GET" in rule.methods:
            parser.feed(officer_client.get(path).text)
        names = set(EXTRA_FIELDS) | parser.names
        for value in GARBAGE:
            response = officer_client.post(
                path, data={**dict.fromkeys(names, value), "csrf_token": token.group(1)}
            )
            if problem := failure(response):
                problems.append(f"POST {path} {value[:12]!r}: {problem}")
    for path, rule in _paths(app, "compliance.", world, missing=True):
        if "POST" in rule.methods and rule.arguments:
            response = officer_client.post(path, data={"csrf_token": token.group(1)})
            assert response.status_code == 404, path
    assert not problems, "\n".join(problems)
    assert not too_long, too_long


API_VALUES = [None, "", "x" * 300_000, -1, 0, NO_ROW, 2**70, 1.5, True, [], {}, "2026-02-30", "9899-12-31"]
API_FIELDS = ("title", "summary", "owner_id", "active", "body", "format", "effective_date", "change_note",
              "role", "user_id", "policy_id", "version_id")  # fmt: skip


def test_no_api_call_fails_on_garbage(app, officer_api, world, too_long):
    problems = []
    for path, rule in _paths(app, "compliance_api.", world):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}, key=lambda m: (m == "DELETE", m)):
            call = getattr(officer_api, method.lower())
            if method == "GET":
                for value in GARBAGE:
                    query = {"policy_id": value, "status": value, "q": value[:200], "cursor": value[:500],
                             "sort": value[:50], "active": value}  # fmt: skip
                    response = call(path, query_string=query)
                    if problem := failure(response):
                        problems.append(f"GET {path} {value[:12]!r}: {problem}")
                continue
            for value in API_VALUES:
                for body in ({name: value for name in API_FIELDS}, {"title": value}, {"policy_id": value},
                             {"body": value, "effective_date": dt.date.today().isoformat()}, {"role": value},
                             {"user_id": value}):  # fmt: skip
                    if method == "DELETE":
                        continue
                    response = call(path, json=body)
                    if problem := failure(response):
                        problems.append(f"{method} {path} {body}: {problem}")
            for bad in ([], "not json", {"unknown": 1}):
                response = call(path, json=bad)
                if problem := failure(response):
                    problems.append(f"{method} {path} {bad!r}: {problem}")
    for path, rule in _paths(app, "compliance_api.", world, missing=True):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if rule.arguments:
                response = getattr(officer_api, method.lower())(path, json={})
                assert response.status_code in (404, 422), (method, path, response.status_code)
    assert not problems, "\n".join(problems)
    assert not too_long, too_long
