"""Every compliance page and API call keeps companies apart and is denied by default: another
company's ids are a 404 (or show none of its data), a user without a role gets a 403 everywhere
but "My policies", and a reader (``compliance.view`` only) cannot change anything. Routes are found
from the app, so a new route is swept without being listed here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import company_id_of, set_company
from core.models import AuditLog
from core.services import companies, contacts
from core.testing import csrf_token
from plugins.compliance import models
from plugins.compliance.services import controls, gdpr, policies, risks, sod

pytestmark = pytest.mark.plugins("compliance")

TODAY = dt.date.today()
MARK = "Zanzibar"  # in every name the other company gives its records
# Open to every signed-in user: their own assigned policies (the service checks the assignment).
EVERYONE = {
    "compliance.my_policies",
    "compliance.my_policy",
    "compliance.policy_acknowledge",
    "compliance_api.policies_acknowledgements_list",
    "compliance_api.policies_acknowledgements_create",
}
# Pages a reader may open (everything else, and every change, needs a management permission).
READER_PAGES = {
    "compliance.risks",
    "compliance.risk_detail",
    "compliance.controls",
    "compliance.control_detail",
    "compliance.control_test_evidence",
    "compliance.policies",
    "compliance.policy",
    "compliance.policy_version",
    "compliance.policy_report",
    "compliance.period_locks",
}


def _records(session: Any, app: Any, user_id: int | None, tag: str) -> dict[str, int]:
    """One record of every kind, named with ``tag``, in the session's company."""
    risk = risks.create_risk(
        session, {"title": f"{tag} fraud", "category": "financial", "likelihood": 3, "impact": 4}
    )
    control = controls.create_control(session, {"name": f"{tag} signatures", "risk_ids": [risk.id]})
    test = controls.record_test(
        session,
        control,
        {"tested_on": TODAY.isoformat(), "result": "fail", "evidence_note": f"{tag} note"},
        evidence=controls.EvidenceUpload("log.txt", "text/plain", f"{tag} evidence".encode()),
        folder=Path(app.instance_path) / "uploads" / "compliance",
    )
    policy = policies.create_policy(session, {"title": f"{tag} conduct", "summary": f"{tag} summary"})
    policies.publish_version(
        session, policy, {"body": f"{tag} body", "format": "markdown", "effective_date": TODAY.isoformat()}
    )
    assignment = policies.add_assignment(session, policy, role="Compliance officer")
    if user_id is not None:
        policies.add_assignment(session, policy, user_id=user_id)
    rule = sod.create_rule(
        session, {"name": f"{tag} rule", "first_action": "create", "second_action": "ledger.entry.post"}
    )
    contact = contacts.create_contact(session, kind="person", name=f"{tag} Person", email="p@example.com")
    gdpr.export_contact(session, contact.id, reason=f"{tag} asked")
    session.flush()
    return {
        "risk_id": risk.id,
        "control_id": control.id,
        "test_id": test.id,
        "policy_id": policy.id,
        "number": 1,
        "assignment_id": assignment.assignment.id,
        "rule_id": rule.id,
        "contact_id": contact.id,
    }


@contextmanager
def system(ext: Any, company_id: int | None = None) -> Iterator[Any]:
    """A transaction acting as the system in the first company (or ``company_id``)."""
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, company_id or companies.first_company(session).id)
        yield session


def _last_row(session: Any) -> int:
    return session.scalar(select(func.max(AuditLog.id)).where(AuditLog.company_id == company_id_of(session)))


@pytest.fixture
def mine(ext, app, clerk) -> dict[str, int]:
    """The first company's records (the policy is assigned to the clerk too)."""
    with system(ext) as session:
        ids = _records(session, app, clerk, "Ours")
    with system(ext) as session:
        ids["row_id"] = _last_row(session)
    return ids


@pytest.fixture
def theirs(ext, app, mine) -> dict[str, int]:
    """Another company's records, every name holding :data:`MARK`."""
    with system(ext) as session:
        other = companies.create_company(session, name="Other Ltd", base_currency="EUR").id
    with system(ext, other) as session:
        ids = _records(session, app, None, MARK)
    with system(ext, other) as session:
        ids["row_id"] = _last_row(session)
    return ids


def _routes(app: Any, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(method, path, endpoint) of every compliance route, with ``ids`` in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("compliance.", "compliance_api.")) or rule.endpoint.endswith(
            ".asset"
        ):
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else ids[name]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m, v=values: str(v[m.group(1)]), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path, rule.endpoint))
    return sorted(found, key=lambda item: (item[0] in ("DELETE", "POST", "PUT", "PATCH"), item[1]))


def _counts(ext: Any) -> dict[str, Any]:
    """How many rows each compliance table holds, and the first company's lock date."""
    tables = [
        models.Policy,
        models.PolicyVersion,
        models.PolicyAssignment,
        models.PolicyAcknowledgement,
        models.Risk,
        models.Control,
        models.ControlTest,
        models.SodRule,
        models.GdprRequest,
    ]
    with system(ext) as session:
        counts = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) for t in tables}
        counts["lock_date"] = str(companies.first_company(session).lock_date)
    return counts


# --- another company ------------------------------------------------------------------------------


def test_another_companys_ids_are_404_everywhere(app, officer_client, officer_api, theirs):
    problems = []
    for method, path, endpoint in _routes(app, theirs):
        if method != "GET" or not re.search(r"/\d+", path):
            continue
        client = officer_api if endpoint.startswith("compliance_api.") else officer_client
        response = client.get(path)
        if response.status_code != 404:
            problems.append(f"GET {path}: {response.status_code}")
    assert not problems, "\n".join(problems)


def test_another_companys_ids_change_nothing(app, ext, officer_client, officer_api, theirs):
    before = _counts(ext)
    token = csrf_token(officer_client, "/compliance/risks")
    problems = []
    for method, path, endpoint in _routes(app, theirs):
        if method == "GET" or not re.search(r"/\d+", path):
            continue
        if endpoint.startswith("compliance_api."):
            body = {"mode": "delete", "reason": "x", "name": "x", "title": "x"}
            response = getattr(officer_api, method.lower())(path, json=body)
        else:
            data = {"csrf_token": token, "mode": "delete", "reason": "x", "confirm": "yes", "title": "x"}
            response = officer_client.post(path, data=data)
        if response.status_code not in (404, 422):
            problems.append(f"{method} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert _counts(ext) == before


def test_no_list_or_search_shows_another_companys_data(app, officer_client, officer_api, mine, theirs):
    problems = []
    for method, path, endpoint in _routes(app, mine):
        if method != "GET":
            continue
        client = officer_api if endpoint.startswith("compliance_api.") else officer_client
        for query in (
            {},
            {"format": "csv"},
            {"q": MARK[1:6]},
            {"status": "all", "show": "all", "active": "all"},
        ):
            response = client.get(path, query_string=query)
            if MARK in response.get_data(as_text=True):
                problems.append(f"GET {path} {query}: shows {MARK}")
    for page in ("/", f"/search?q={MARK[1:6]}", f"/contacts/{mine['contact_id']}"):
        if MARK in officer_client.get(page).get_data(as_text=True):
            problems.append(f"GET {page}: shows {MARK}")
    assert not problems, "\n".join(problems)


# --- deny by default ------------------------------------------------------------------------------


def test_a_user_without_a_role_is_refused_everywhere_but_my_policies(
    app, ext, make_client, make_api_client, mine
):
    browser = make_client("norole@example.com")
    api = make_api_client("norole-api@example.com")
    before = _counts(ext)
    token = csrf_token(browser, "/")
    problems = []
    for method, path, endpoint in _routes(app, mine):
        if endpoint in EVERYONE:
            continue
        if endpoint.startswith("compliance_api."):
            response = getattr(api, method.lower())(path, **({} if method == "GET" else {"json": {}}))
        elif method == "GET":
            response = browser.get(path)
        else:
            response = browser.post(path, data={"csrf_token": token, "mode": "delete", "confirm": "yes"})
        if response.status_code != 403:
            problems.append(f"{method} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert _counts(ext) == before


def test_a_reader_cannot_change_anything(app, ext, make_client, make_api_client, mine):
    browser = make_client("reader@example.com", permissions=("compliance.view",))
    api = make_api_client("reader-api@example.com", permissions=("compliance.view",))
    before = _counts(ext)
    token = csrf_token(browser, "/compliance/risks")
    problems = []
    for method, path, endpoint in _routes(app, mine):
        if endpoint in EVERYONE:
            continue
        if endpoint.startswith("compliance_api."):
            if method == "GET":
                continue
            response = getattr(api, method.lower())(path, json={})
        elif method == "GET":
            if endpoint in READER_PAGES:
                continue
            response = browser.get(path)
        else:
            response = browser.post(
                path,
                data={"csrf_token": token, "mode": "delete", "confirm": "yes", "lock_date": "2020-01-01"},
            )
        if response.status_code != 403:
            problems.append(f"{method} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert _counts(ext) == before
