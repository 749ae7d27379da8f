"""HR leave through the REST API: working days, leave types, holidays, allocations, balances and leave
requests with their record-level rules (someone else's request is 404, one's own decision is 403).
Mary manages Eve; Grace is the HR manager; Bob is a user with no employee file and no HR role."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate
from sqlalchemy import select

from core.testing import ApiClient, api_token, make_user
from plugins.hr.models import Holiday, LeaveAllocation, LeaveRequest, LeaveType
from tests.core.web_helpers import count

pytestmark = pytest.mark.plugins("hr")

BASE = "/api/v1/hr"


def api_for(app: Any, email: str) -> ApiClient:
    client = app.test_client()
    return ApiClient(client, api_token(client, email))


@pytest.fixture
def apis(app, ext, people) -> dict[str, ApiClient]:
    make_user(ext, "bob@example.com")
    return {
        name: api_for(app, email)
        for name, email in (
            ("eve", "eve@example.com"),
            ("mary", "mary@example.com"),
            ("hr", "grace@example.com"),
            ("bob", "bob@example.com"),
        )
    }


def type_id(session: Any, code: str) -> int:
    found = session.scalar(select(LeaveType.id).where(LeaveType.code == code))
    session.commit()
    return found


def allocate(api: ApiClient, employee_id: int, leave_type_id: int, days: str = "20", year: int = 2030) -> Any:
    response = api.post(
        f"{BASE}/allocations",
        json={"employee_id": employee_id, "leave_type_id": leave_type_id, "year": year, "days": days},
    )
    assert response.status_code == 200, response.json
    return response.json


def ask(api: ApiClient, leave_type_id: int, start: str, end: str, **data: Any) -> Any:
    return api.post(
        f"{BASE}/leave-requests",
        json={"leave_type_id": leave_type_id, "start_date": start, "end_date": end, **data},
    )


# --- working days, types, holidays ----------------------------------------------------------------


def test_working_days_count_weekends_holidays_and_half_days(apis):
    created = apis["hr"].post(f"{BASE}/holidays", json={"date": "2030-04-22", "name": "Easter Monday"})
    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "date": "2030-04-22", "name": "Easter Monday"}

    def days(query: str) -> Any:
        return apis["eve"].get(f"{BASE}/working-days?{query}")

    assert days("start=2030-04-18&end=2030-04-24").json["days"] == "4.0"
    assert days("start=2030-04-18&end=2030-04-24&half_day_start=true").json["days"] == "3.5"
    assert days("start=2030-04-18&end=2030-04-24&half_day_start=true&half_day_end=true").json["days"] == "3.0"
    assert days("start=2030-04-23&end=2030-04-23&half_day_end=true").json["days"] == "0.5"
    assert days("start=2030-04-20&end=2030-04-21").json["days"] == "0.0"
    both = days("start=2030-04-23&end=2030-04-23&half_day_start=true&half_day_end=true")
    assert both.status_code == 422 and "half_day_end" in both.json["error"]["fields"]
    backwards = days("start=2030-04-23&end=2030-04-22")
    assert backwards.status_code == 422
    assert backwards.json["error"]["fields"] == {"end_date": ["is before the start date"]}
    assert days("start=2030-02-30&end=x").status_code == 422
    spec = apis["eve"].get("/api/v1/openapi.json").json
    validate(spec)
    paths = spec["paths"]
    assert {f"{BASE}/working-days", f"{BASE}/leave-requests/{{request_id}}/approve"} <= set(paths)
    assert days("start=0001-01-01&end=2030-01-01").status_code == 422


def test_hr_manages_leave_types_and_everyone_reads_them(apis, session):
    codes = [t["code"] for t in apis["eve"].get(f"{BASE}/leave-types").json["items"]]
    assert codes == ["ANNUAL", "SICK", "UNPAID"]
    created = apis["hr"].post(
        f"{BASE}/leave-types", json={"code": "study", "name": "Study leave", "default_days": "5.5"}
    )
    assert created.status_code == 201
    assert {k: created.json[k] for k in ("code", "needs_allocation", "paid", "default_days", "active")} == {
        "code": "STUDY",
        "needs_allocation": True,
        "paid": True,
        "default_days": "5.5",
        "active": True,
    }
    duplicate = apis["hr"].post(f"{BASE}/leave-types", json={"code": "Study", "name": "Again"})
    assert duplicate.status_code == 422
    assert duplicate.json["error"]["fields"] == {"code": ["another leave type has this code"]}
    assert (
        apis["hr"].post(f"{BASE}/leave-types", json={"code": "X", "name": "X", "color": "red"}).status_code
        == 422
    )
    assert apis["eve"].post(f"{BASE}/leave-types", json={"code": "MINE", "name": "Mine"}).status_code == 403

    patched = apis["hr"].patch(f"{BASE}/leave-types/{created.json['id']}", json={"active": False})
    assert patched.status_code == 200 and patched.json["active"] is False
    offered = [t["code"] for t in apis["eve"].get(f"{BASE}/leave-types?active=true").json["items"]]
    assert "STUDY" not in offered
    assert apis["hr"].patch(f"{BASE}/leave-types/999999", json={"active": False}).status_code == 404
    assert apis["hr"].get(f"{BASE}/leave-types/99999999999").status_code == 404
    assert count(apis["hr"].client.application.extensions["officium"], LeaveType) == 4


def test_hr_adds_lists_imports_and_deletes_holidays(apis):
    hr = apis["hr"]
    first = hr.post(f"{BASE}/holidays", json={"date": "2030-12-25", "name": "Christmas"})
    again = hr.post(f"{BASE}/holidays", json={"date": "2030-12-25", "name": "Again"})
    assert again.status_code == 422
    assert again.json["error"]["fields"] == {"date": ["is already a public holiday (Christmas)"]}
    bad = hr.post(f"{BASE}/holidays/import", json={"csv": "2030-01-01,New Year\n2030-02-31,Nope\n"})
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"rows.2.date"}
    imported = hr.post(f"{BASE}/holidays/import", json={"csv": "date,name\n2030-01-01,New Year\n"})
    assert imported.status_code == 201 and [h["name"] for h in imported.json["items"]] == ["New Year"]
    assert [h["name"] for h in apis["eve"].get(f"{BASE}/holidays?year=2030").json["items"]] == [
        "New Year",
        "Christmas",
    ]
    assert apis["eve"].get(f"{BASE}/holidays?year=2031").json["items"] == []
    assert (
        apis["eve"].post(f"{BASE}/holidays", json={"date": "2030-01-02", "name": "Mine"}).status_code == 403
    )
    assert apis["eve"].delete(f"{BASE}/holidays/{first.json['id']}").status_code == 403
    assert hr.delete(f"{BASE}/holidays/{first.json['id']}").status_code == 204
    assert hr.delete(f"{BASE}/holidays/{first.json['id']}").status_code == 404
    assert count(hr.client.application.extensions["officium"], Holiday) == 1


# --- allocations and balances ---------------------------------------------------------------------


def test_allocations_are_set_by_hr_in_half_days(apis, people, session):
    annual = type_id(session, "ANNUAL")
    allocation = allocate(apis["hr"], people["eve"], annual, "12.5")
    assert (allocation["employee_name"], allocation["leave_type_code"], allocation["days"]) == (
        "Eve Employee",
        "ANNUAL",
        "12.5",
    )
    for days in ("12.25", "-1", "400"):
        response = apis["hr"].post(
            f"{BASE}/allocations",
            json={"employee_id": people["eve"], "leave_type_id": annual, "year": 2030, "days": days},
        )
        assert response.status_code == 422 and "days" in response.json["error"]["fields"], days
    unknown = apis["hr"].post(
        f"{BASE}/allocations",
        json={"employee_id": 99999999, "leave_type_id": type_id(session, "SICK"), "year": 2030, "days": "1"},
    )
    assert set(unknown.json["error"]["fields"]) == {"employee_id", "leave_type_id"}
    forbidden = apis["eve"].post(
        f"{BASE}/allocations",
        json={"employee_id": people["eve"], "leave_type_id": annual, "year": 2030, "days": "99"},
    )
    assert forbidden.status_code == 403

    defaults = apis["hr"].post(f"{BASE}/allocations/defaults", json={"year": 2030})
    assert defaults.json == {"year": 2030, "created": 1}
    everyone = apis["hr"].get(f"{BASE}/allocations?year=2030").json["items"]
    assert [(a["employee_name"], a["days"]) for a in everyone] == [
        ("Eve Employee", "12.5"),
        ("Mary Manager", "25.0"),
    ]
    own = apis["eve"].get(f"{BASE}/allocations?year=2030").json["items"]
    assert [a["employee_name"] for a in own] == ["Eve Employee"]
    assert apis["eve"].get(f"{BASE}/allocations?year=2030&employee_id={people['mary']}").status_code == 404
    assert apis["bob"].get(f"{BASE}/allocations?year=2030").json["items"] == []
    assert count(apis["hr"].client.application.extensions["officium"], LeaveAllocation) == 2


def test_balances_are_ones_own_or_hrs_to_see(apis, people, session):
    annual = type_id(session, "ANNUAL")
    allocate(apis["hr"], people["eve"], annual, "10")
    ask(apis["eve"], annual, "2030-03-04", "2030-03-06", half_day_start=True, submit=True)
    path = f"{BASE}/employees/{people['eve']}/leave-balances?year=2030"
    (balance,) = apis["eve"].get(path).json["items"]
    assert {k: balance[k] for k in ("leave_type_code", "allocated", "taken", "pending", "remaining")} == {
        "leave_type_code": "ANNUAL",
        "allocated": "10.0",
        "taken": "0.0",
        "pending": "2.5",
        "remaining": "7.5",
    }
    assert apis["hr"].get(path).status_code == 200
    assert apis["mary"].get(path).status_code == 200  # Eve's manager
    assert apis["bob"].get(path).status_code == 404
    assert apis["eve"].get(f"{BASE}/employees/{people['mary']}/leave-balances").status_code == 404
    assert apis["eve"].get(f"{BASE}/employees/99999999999999999999/leave-balances").status_code == 404
    assert apis["eve"].get(f"{path[:-4]}abcd").status_code == 422


# --- leave requests -------------------------------------------------------------------------------


def test_an_employee_submits_and_the_manager_approves_with_messages_both_ways(apis, people, session):
    annual = type_id(session, "ANNUAL")
    allocate(apis["hr"], people["eve"], annual)
    created = ask(apis["eve"], annual, "2030-03-04", "2030-03-08", reason="Rome", submit=True)
    assert created.status_code == 201, created.json
    body = created.json
    assert (body["employee_id"], body["state"], body["days"], body["requested_by_id"]) == (
        people["eve"],
        "submitted",
        "5.0",
        people["eve_user"],
    )
    assert body["actions"] == ["cancel"]
    request_id = body["id"]

    messages = apis["mary"].get("/api/v1/notifications").json["items"]
    assert [(m["title"], m["url"], m["source"]) for m in messages] == [
        ("Leave to approve: Eve Employee", f"/hr/leave/{request_id}", "hr")
    ]
    assert [r["id"] for r in apis["mary"].get(f"{BASE}/leave-requests?to_approve=true").json["items"]] == [
        request_id
    ]
    assert apis["mary"].get(f"{BASE}/leave-requests/{request_id}").json["actions"] == ["approve", "refuse"]

    own = apis["eve"].post(f"{BASE}/leave-requests/{request_id}/approve", json={})
    assert own.status_code == 403
    assert (
        own.json["error"]["message"]
        == "you cannot approve or refuse your own leave: your manager or HR decides it"
    )
    assert apis["bob"].post(f"{BASE}/leave-requests/{request_id}/approve", json={}).status_code == 404

    approved = apis["mary"].post(f"{BASE}/leave-requests/{request_id}/approve", json={"note": "Enjoy"})
    assert approved.status_code == 200
    assert (approved.json["state"], approved.json["decided_by_id"], approved.json["decision_note"]) == (
        "approved",
        people["mary_user"],
        "Enjoy",
    )
    assert apis["mary"].post(f"{BASE}/leave-requests/{request_id}/approve", json={}).status_code == 409
    titles = [m["title"] for m in apis["eve"].get("/api/v1/notifications").json["items"]]
    assert titles == ["Leave approved: Annual leave, 2030-03-04 to 2030-03-08 (5 days)"]


def test_someone_elses_request_is_not_found_and_lists_are_filtered(apis, people, session):
    annual = type_id(session, "ANNUAL")
    allocate(apis["hr"], people["eve"], annual)
    allocate(apis["hr"], people["mary"], annual)
    eves = ask(apis["eve"], annual, "2030-03-04", "2030-03-05").json["id"]
    marys = ask(apis["mary"], annual, "2030-04-01", "2030-04-02").json["id"]
    assert apis["eve"].get(f"{BASE}/leave-requests/{marys}").status_code == 404
    assert apis["eve"].patch(f"{BASE}/leave-requests/{marys}", json={"reason": "x"}).status_code == 404
    assert apis["eve"].post(f"{BASE}/leave-requests/{marys}/cancel").status_code == 404
    assert apis["bob"].get(f"{BASE}/leave-requests/{eves}").status_code == 404
    assert apis["eve"].get(f"{BASE}/leave-requests/99999999999999999999").status_code == 404
    assert apis["eve"].get(f"{BASE}/leave-requests/99999999999").status_code == 404
    huge = ask(apis["hr"], 99999999999, "2030-05-06", "2030-05-07", employee_id=99999999999)
    assert set(huge.json["error"]["fields"]) == {"employee_id", "leave_type_id"}

    def ids(api: ApiClient, query: str = "") -> list[int]:
        response = api.get(f"{BASE}/leave-requests?sort=start_date{query}")
        assert response.status_code == 200, response.json
        return [r["id"] for r in response.json["items"]]

    assert ids(apis["eve"]) == [eves]
    assert ids(apis["mary"]) == [eves, marys]
    assert ids(apis["mary"], "&mine=true") == [marys]
    assert ids(apis["hr"], f"&employee_id={people['mary']}&state=draft&year=2030") == [marys]
    assert ids(apis["bob"]) == []
    assert ids(apis["hr"], "&employee_id=99999999999") == []  # beyond any id: no row, no error
    assert apis["hr"].get(f"{BASE}/leave-requests?state=lost").status_code == 422
    assert apis["hr"].get(f"{BASE}/leave-requests?sort=reason").status_code == 422
    assert apis["hr"].get(f"{BASE}/leave-requests?employee_id=%C2%B2").status_code == 422

    forbidden = ask(apis["eve"], annual, "2030-05-06", "2030-05-07", employee_id=people["mary"])
    assert forbidden.status_code == 403
    assert count(apis["hr"].client.application.extensions["officium"], LeaveRequest) == 2


def test_bad_requests_are_refused_and_nothing_is_stored(apis, people, session):
    annual = type_id(session, "ANNUAL")
    allocate(apis["hr"], people["eve"], annual, "2")
    too_long = ask(apis["eve"], annual, "2030-03-04", "2030-03-06", submit=True)
    assert too_long.status_code == 422
    assert too_long.json["error"]["fields"] == {
        "days": ["3 days of Annual leave asked in 2030, but only 2 remain of the 2030 allocation"]
    }
    first = ask(apis["eve"], annual, "2030-03-04", "2030-03-05").json
    overlap = ask(apis["eve"], annual, "2030-03-05", "2030-03-05")
    assert overlap.status_code == 422
    expected = (
        f"overlaps another leave request of Eve Employee (draft, 2030-03-04 to 2030-03-05, #{first['id']})"
    )
    assert overlap.json["error"]["fields"] == {"start_date": [expected]}
    for body in (
        {"leave_type_id": annual, "start_date": "2030-03-08", "end_date": "2030-03-07"},
        {"leave_type_id": annual, "start_date": "2030-03-09", "end_date": "2030-03-10"},
        {"leave_type_id": 999999, "start_date": "2030-03-11", "end_date": "2030-03-11"},
        {"leave_type_id": annual, "start_date": "2030-03-11", "end_date": "2030-03-11", "days": "9"},
        {"leave_type_id": "1", "start_date": "11/03/2030", "end_date": "2030-03-11"},
        {"leave_type_id": annual, "start_date": "2030-03-11", "end_date": "2030-03-11", "reason": "\x00"},
    ):
        response = apis["eve"].post(f"{BASE}/leave-requests", json=body)
        assert response.status_code == 422, (body, response.json)
    assert count(apis["hr"].client.application.extensions["officium"], LeaveRequest) == 1


def test_drafts_change_refusal_needs_a_note_and_cancelling(apis, people, session):
    annual = type_id(session, "ANNUAL")
    allocate(apis["hr"], people["eve"], annual)
    draft = ask(apis["eve"], annual, "2030-03-04", "2030-03-05").json
    assert draft["state"] == "draft" and draft["actions"] == ["edit", "submit", "cancel"]
    patched = apis["eve"].patch(f"{BASE}/leave-requests/{draft['id']}", json={"end_date": "2030-03-07"})
    assert (patched.status_code, patched.json["days"]) == (200, "4.0")
    bad = apis["eve"].patch(f"{BASE}/leave-requests/{draft['id']}", json={"end_date": "2030-03-01"})
    assert bad.status_code == 422
    submitted = apis["eve"].post(f"{BASE}/leave-requests/{draft['id']}/submit")
    assert submitted.json["state"] == "submitted"
    assert (
        apis["eve"].patch(f"{BASE}/leave-requests/{draft['id']}", json={"reason": "late"}).status_code == 409
    )
    assert apis["eve"].post(f"{BASE}/leave-requests/{draft['id']}/submit").status_code == 409

    no_note = apis["hr"].post(f"{BASE}/leave-requests/{draft['id']}/refuse", json={})
    assert no_note.status_code == 422
    assert no_note.json["error"]["fields"] == {"note": ["is required: tell the employee why"]}
    refused = apis["hr"].post(f"{BASE}/leave-requests/{draft['id']}/refuse", json={"note": "Audit week"})
    assert (refused.json["state"], refused.json["decision_note"]) == ("refused", "Audit week")
    assert apis["eve"].post(f"{BASE}/leave-requests/{draft['id']}/cancel").status_code == 409

    other = ask(apis["eve"], annual, "2030-03-11", "2030-03-11", submit=True).json
    assert apis["mary"].post(f"{BASE}/leave-requests/{other['id']}/cancel").status_code == 403  # decides only
    cancelled = apis["eve"].post(f"{BASE}/leave-requests/{other['id']}/cancel")
    assert (cancelled.status_code, cancelled.json["state"]) == (200, "cancelled")
