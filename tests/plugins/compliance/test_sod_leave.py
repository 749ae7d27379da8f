"""Segregation of duties on leave: an approval is judged (and, once allowed, recorded in the trail
as ``hr.leave.approve``, so later rules can ask who approved)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.models import AuditLog, User
from core.testing import ApiClient, api_token
from plugins.hr.models import LeaveType
from tests.core.web_helpers import fetch
from tests.plugins.hr.conftest import engineering, make_employee, people  # noqa: F401 - fixtures

pytestmark = pytest.mark.plugins("compliance", "hr")

BASE = "/api/v1/hr"


def api_for(app: Any, email: str) -> ApiClient:
    client = app.test_client()
    return ApiClient(client, api_token(client, email))


def test_an_approval_is_judged_and_recorded(app, ext, session, people, officer_api):  # noqa: F811
    unpaid = session.scalar(select(LeaveType.id).where(LeaveType.code == "UNPAID"))
    session.commit()
    rule = {
        "name": "Leave: who enters it does not approve it",
        "first_action": "create",
        "second_action": "hr.leave.approve",
    }
    assert officer_api.post("/api/v1/compliance/sod-rules", json=rule).status_code == 201
    hr, mary = api_for(app, "grace@example.com"), api_for(app, "mary@example.com")
    created = hr.post(
        f"{BASE}/leave-requests",
        json={
            "employee_id": people["eve"],
            "leave_type_id": unpaid,
            "start_date": "2030-03-04",
            "end_date": "2030-03-05",
            "submit": True,
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    request_id = created.json["id"]
    assert hr.post(f"{BASE}/leave-requests/{request_id}/approve", json={}).status_code == 403

    approved = mary.post(f"{BASE}/leave-requests/{request_id}/approve", json={})
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.json["state"] == "approved"
    done = fetch(ext, AuditLog, AuditLog.action == "hr.leave.approve")
    assert (done.model, done.record_id) == ("hr_leave_request", str(request_id))
    assert done.user_id == fetch(ext, User, User.email == "mary@example.com").id
    assert done.changes["label"] == f"leave request #{request_id}"
