"""HR leave through the browser pages, with CSRF on: an employee asks for leave and submits it, the
manager reads the message and decides, nobody decides their own leave, the team calendar, leave
types, public holidays, allocations, the dashboard widgets. Mary manages Eve; Grace is HR."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from io import BytesIO
from typing import Any

import pytest
from sqlalchemy import select

from core.context import actor_of, set_actor
from core.models import User
from core.testing import login, make_user
from plugins.hr.models import Holiday, LeaveAllocation, LeaveRequest, LeaveType
from plugins.hr.services import leave
from tests.core.web_helpers import (
    count,
    csv_rows,
    fetch,
    field_error,
    flashes,
    page,
    redirect_path,
    submit,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("hr")


@contextmanager
def acting(session: Any, user_id: int) -> Iterator[None]:
    previous = actor_of(session)
    set_actor(session, session.get(User, user_id))
    try:
        yield
    finally:
        set_actor(session, previous)


def client_for(app: Any, email: str) -> Any:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


def annual_id(session: Any) -> int:
    """The ANNUAL type's id (the read is committed: an open transaction would block the requests)."""
    found = session.scalar(select(LeaveType.id).where(LeaveType.code == "ANNUAL"))
    session.commit()
    return found


def allocate(session: Any, employee_id: int, days: str = "20", year: int = 2030) -> None:
    leave.set_allocation(session, employee_id, annual_id(session), year, days)
    session.commit()


def ask(session: Any, user_id: int, start: str, end: str, *, submit: bool = True, **data: Any) -> int:
    with acting(session, user_id):
        created = leave.create_request(
            session,
            {
                "leave_type_id": annual_id(session),
                "start_date": start,
                "end_date": end,
                "submit": submit,
                **data,
            },
        )
    session.commit()
    return created.id


def request_form(session: Any, **fields: Any) -> dict[str, Any]:
    return {
        "leave_type_id": str(annual_id(session)),
        "start_date": "2030-03-04",
        "end_date": "2030-03-06",
        "reason": "Family visit",
        **fields,
    }


def request_id_from(response: Any) -> int:
    match = re.fullmatch(r"/hr/leave/(\d+)", redirect_path(response))
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- self-service ---------------------------------------------------------------------------------


def test_an_employee_asks_for_leave_and_the_manager_is_told_on_messages(app, session, people):
    allocate(session, people["eve"])
    eve = client_for(app, "eve@example.com")
    form = eve.get("/hr/leave/new")
    assert form.status_code == 200
    assert "Eve Employee" in visible(form)
    assert 'name="employee_id"' not in page(form)  # only HR chooses the employee
    assert "Annual leave: 0 days left this year" in visible(form)  # the allocation is for 2030

    created = submit(eve, "/hr/leave/new", request_form(session, half_day_end="1", action="submit"))
    request_id = request_id_from(created)
    detail = eve.get(f"/hr/leave/{request_id}")
    assert "Leave request submitted: the approver has been notified." in flashes(detail)
    text = visible(detail)
    assert "Submitted" in text and "Family visit" in text
    assert re.search(r'id="leave-days">2.5<', page(detail))
    assert "Approve" not in text  # nobody decides their own leave
    stored = fetch(app.extensions["officium"], LeaveRequest, LeaveRequest.id == request_id)
    assert (stored.employee_id, stored.state, stored.days, stored.half_day_end) == (
        people["eve"],
        "submitted",
        Decimal("2.5"),
        True,
    )

    mary = client_for(app, "mary@example.com")
    messages = visible(mary.get("/messages"))
    assert "Leave to approve: Eve Employee" in messages
    assert "Annual leave, 2030-03-04 to 2030-03-06 (2.5 days)" in messages
    assert "Eve Employee" in table_column(mary.get("/hr/leave/approvals"), 0)
    decided = submit(
        mary,
        f"/hr/leave/{request_id}/approve",
        {"note": "Have a good trip"},
        form_page=f"/hr/leave/{request_id}",
    )
    assert redirect_path(decided) == f"/hr/leave/{request_id}"
    assert "Leave approved." in flashes(mary.get(f"/hr/leave/{request_id}"))
    assert "No leave request is waiting for your decision." in visible(mary.get("/hr/leave/approvals"))

    eve_messages = visible(eve.get("/messages"))
    assert "Leave approved: Annual leave, 2030-03-04 to 2030-03-06 (2.5 days)" in eve_messages
    assert "Have a good trip" in eve_messages


def test_an_employee_cannot_see_someone_elses_request(app, session, people, ext):
    allocate(session, people["eve"])
    allocate(session, people["mary"])
    marys = ask(session, people["mary_user"], "2030-04-01", "2030-04-02")
    eves = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    make_user(ext, "bob@example.com")
    eve = client_for(app, "eve@example.com")
    assert eve.get(f"/hr/leave/{marys}").status_code == 404
    assert eve.get("/hr/leave/99999999999999999999").status_code == 404
    assert eve.get(f"/hr/leave/{marys}/edit").status_code == 404
    assert submit(eve, f"/hr/leave/{marys}/cancel", form_page="/hr/leave/new").status_code == 404
    assert table_column(eve.get("/hr/leave"), 0) == ["Eve Employee"]

    bob = client_for(app, "bob@example.com")
    assert bob.get(f"/hr/leave/{eves}").status_code == 404
    assert submit(bob, f"/hr/leave/{eves}/approve", form_page="/hr/leave/new").status_code == 404
    assert "No leave requests yet." in visible(bob.get("/hr/leave"))
    assert bob.get("/hr/leave/calendar").status_code == 403


def test_nobody_approves_their_own_leave_not_even_an_hr_manager(app, session, people, make_employee):
    grace = make_employee(name="Grace Hopper", email="grace@example.com", user_id=people["hr_user"])
    allocate(session, grace.id)
    allocate(session, people["eve"])
    graces = ask(session, people["hr_user"], "2030-03-04", "2030-03-05")
    eves = ask(session, people["eve_user"], "2030-03-11", "2030-03-12")

    hr = client_for(app, "grace@example.com")
    detail = hr.get(f"/hr/leave/{graces}")
    assert f'formaction="/hr/leave/{graces}/approve"' not in page(detail)
    refused = submit(hr, f"/hr/leave/{graces}/approve", form_page=f"/hr/leave/{graces}")
    assert refused.status_code == 403
    assert "you cannot approve or refuse your own leave" in visible(refused)

    eve = client_for(app, "eve@example.com")
    own = submit(eve, f"/hr/leave/{eves}/approve", form_page=f"/hr/leave/{eves}")
    assert own.status_code == 403
    assert count(app.extensions["officium"], LeaveRequest, LeaveRequest.state == "approved") == 0


def test_refusing_needs_a_note_and_the_employee_reads_why(app, session, people):
    allocate(session, people["eve"])
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    mary = client_for(app, "mary@example.com")
    missing = submit(
        mary, f"/hr/leave/{request_id}/refuse", {"note": " "}, form_page=f"/hr/leave/{request_id}"
    )
    assert missing.status_code == 422
    assert field_error(missing, "note") == "is required: tell the employee why"
    assert fetch(app.extensions["officium"], LeaveRequest, LeaveRequest.id == request_id).state == "submitted"

    submit(
        mary, f"/hr/leave/{request_id}/refuse", {"note": "Release week"}, form_page=f"/hr/leave/{request_id}"
    )
    eve = client_for(app, "eve@example.com")
    detail = visible(eve.get(f"/hr/leave/{request_id}"))
    assert "Refused" in detail and "Release week" in detail
    assert "Leave refused: Annual leave, 2030-03-04 to 2030-03-05 (2 days)" in visible(eve.get("/messages"))


def test_bad_input_re_renders_the_form_and_stores_nothing(app, session, people):
    allocate(session, people["eve"], "2")
    eve = client_for(app, "eve@example.com")
    backwards = submit(eve, "/hr/leave/new", request_form(session, end_date="2030-03-01", action="draft"))
    assert backwards.status_code == 422
    assert field_error(backwards, "end_date") == "is before the start date"
    assert 'value="2030-03-01"' in page(backwards)

    weekend = submit(
        eve, "/hr/leave/new", request_form(session, start_date="2030-03-09", end_date="2030-03-10")
    )
    assert weekend.status_code == 422
    assert "no working days" in field_error(weekend, "start_date")

    too_long = submit(eve, "/hr/leave/new", request_form(session, action="submit"))
    assert too_long.status_code == 422
    assert "3 days of Annual leave asked in 2030, but only 2 remain" in visible(too_long)

    for junk in (
        {"leave_type_id": "abc", "start_date": "tomorrow"},
        {"start_date": "99999-01-01", "end_date": ""},
    ):
        response = submit(eve, "/hr/leave/new", request_form(session, **junk))
        assert response.status_code == 422
    assert count(app.extensions["officium"], LeaveRequest) == 0

    counted = submit(eve, "/hr/leave/new", request_form(session, half_day_start="1", action="count"))
    assert counted.status_code == 200
    assert "Working days: 2.5" in visible(counted)
    assert count(app.extensions["officium"], LeaveRequest) == 0


def test_a_draft_is_edited_submitted_and_cancelled_by_its_employee(app, session, people):
    allocate(session, people["eve"])
    eve = client_for(app, "eve@example.com")
    request_id = request_id_from(submit(eve, "/hr/leave/new", request_form(session, action="draft")))
    assert "Draft saved: submit it when you are ready." in flashes(eve.get(f"/hr/leave/{request_id}"))
    edited = submit(
        eve, f"/hr/leave/{request_id}/edit", request_form(session, end_date="2030-03-08", action="draft")
    )
    assert redirect_path(edited) == f"/hr/leave/{request_id}"
    assert re.search(r'id="leave-days">5<', page(eve.get(f"/hr/leave/{request_id}")))
    submit(eve, f"/hr/leave/{request_id}/submit", form_page=f"/hr/leave/{request_id}")
    assert fetch(app.extensions["officium"], LeaveRequest, LeaveRequest.id == request_id).state == "submitted"
    again = submit(eve, f"/hr/leave/{request_id}/submit", form_page=f"/hr/leave/{request_id}")
    assert "Nothing was done: the leave request is submitted" in flashes(eve.get(redirect_path(again)))[0]
    submit(eve, f"/hr/leave/{request_id}/cancel", form_page=f"/hr/leave/{request_id}")
    assert "Cancelled" in visible(eve.get(f"/hr/leave/{request_id}"))


def test_hr_asks_for_leave_on_behalf_of_an_employee_and_exports_csv(app, session, people):
    allocate(session, people["eve"])
    hr = client_for(app, "grace@example.com")
    form = hr.get("/hr/leave/new")
    assert "Eve Employee" in page(form) and 'name="employee_id"' in page(form)
    created = submit(
        hr, "/hr/leave/new", request_form(session, employee_id=str(people["eve"]), action="submit")
    )
    request_id = request_id_from(created)
    stored = fetch(app.extensions["officium"], LeaveRequest, LeaveRequest.id == request_id)
    assert (stored.employee_id, stored.requested_by_id) == (people["eve"], people["hr_user"])

    rows = csv_rows(hr.get(f"/hr/leave?format=csv&employee_id={people['eve']}"))
    assert rows[0][:4] == ["id", "employee", "leave_type", "start_date"]
    assert rows[1][1:9] == [
        "Eve Employee",
        "ANNUAL",
        "2030-03-04",
        "2030-03-06",
        "no",
        "no",
        "3",
        "submitted",
    ]
    assert csv_rows(hr.get(f"/hr/leave?format=csv&employee_id={people['mary']}"))[1:] == []
    assert table_column(hr.get("/hr/leave?state=approved"), 0) == []


# --- the team calendar ----------------------------------------------------------------------------


def test_the_team_calendar_shows_approved_and_submitted_leave(app, session, people):
    leave.add_holiday(session, {"date": "2030-03-01", "name": "Founders' day"})
    session.commit()
    allocate(session, people["eve"])
    allocate(session, people["mary"])
    approved = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    ask(session, people["mary_user"], "2030-03-07", "2030-03-07")
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, approved))
    session.commit()

    hr = client_for(app, "grace@example.com")
    response = hr.get(f"/hr/leave/calendar?year=2030&month=3&department_id={people['engineering']}")
    assert response.status_code == 200
    assert "March 2030" in visible(response)
    body = page(response)
    eve_row = re.search(rf'<tr id="calendar-employee-{people["eve"]}">(.*?)</tr>', body, re.S).group(1)
    assert re.findall(r'data-date="([\d-]+)" data-state="approved"', eve_row) == ["2030-03-04", "2030-03-05"]
    mary_row = re.search(rf'<tr id="calendar-employee-{people["mary"]}">(.*?)</tr>', body, re.S).group(1)
    assert re.findall(r'data-date="([\d-]+)" data-state="submitted"', mary_row) == ["2030-03-07"]
    assert 'title="Founders&#39; day"' in body
    assert (
        "/hr/leave/calendar?year=2030&amp;month=2" in body
        and "/hr/leave/calendar?year=2030&amp;month=4" in body
    )
    assert hr.get("/hr/leave/calendar?year=99999&month=13").status_code == 200  # falls back to this month
    unknown = hr.get("/hr/leave/calendar?year=2030&month=3&department_id=99999999999")
    assert "Nobody was employed in this month." in visible(unknown)

    mary = client_for(app, "mary@example.com")
    assert mary.get("/hr/leave/calendar").status_code == 403


# --- settings: types, holidays, allocations -------------------------------------------------------


def test_hr_manages_leave_types(app, session, people):
    hr = client_for(app, "grace@example.com")
    assert "Annual leave" in table_column(hr.get("/hr/leave/types"), 1)
    created = submit(
        hr,
        "/hr/leave/types/new",
        {
            "code": "study",
            "name": "Study leave",
            "default_days": "5.5",
            "color": "#00aa00",
            "needs_allocation": "1",
        },
    )
    assert redirect_path(created) == "/hr/leave/types"
    duplicate = submit(hr, "/hr/leave/types/new", {"code": "STUDY", "name": "Other", "default_days": "1.25"})
    assert duplicate.status_code == 422
    assert field_error(duplicate, "code") == "another leave type has this code"
    assert field_error(duplicate, "default_days") == "has more than 1 decimals"

    study = fetch(app.extensions["officium"], LeaveType, LeaveType.code == "STUDY")
    assert (study.default_days, study.needs_allocation, study.paid, study.active) == (
        Decimal("5.5"),
        True,
        False,
        True,
    )
    submit(
        hr,
        f"/hr/leave/types/{study.id}/edit",
        {"code": "STUDY", "name": "Study", "default_days": "5", "color": "#00aa00"},
    )
    study = fetch(app.extensions["officium"], LeaveType, LeaveType.code == "STUDY")
    assert (study.name, study.active, study.needs_allocation) == ("Study", False, False)

    eve = client_for(app, "eve@example.com")
    assert eve.get("/hr/leave/types").status_code == 403
    assert "Study" not in page(eve.get("/hr/leave/new"))  # inactive: not offered


def test_hr_adds_imports_and_deletes_public_holidays(app, session, people):
    hr = client_for(app, "grace@example.com")
    added = submit(hr, "/hr/holidays?year=2030", {"date": "2030-12-25", "name": "Christmas"})
    assert redirect_path(added) == "/hr/holidays?year=2030"
    duplicate = submit(hr, "/hr/holidays?year=2030", {"date": "2030-12-25", "name": "Again"})
    assert duplicate.status_code == 422
    assert field_error(duplicate, "date") == "is already a public holiday (Christmas)"
    blank = submit(hr, "/hr/holidays", {"date": "", "name": ""})
    assert (field_error(blank, "date"), field_error(blank, "name")) == ("is required", "is required")

    token = re.search(r'name="csrf_token" value="([^"]+)"', page(hr.get("/hr/holidays"))).group(1)
    bad = hr.post(
        "/hr/holidays/import",
        data={"csrf_token": token, "file": (BytesIO(b"2030-01-01,New Year\nnot-a-date,Oops\n"), "h.csv")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "Nothing was imported" in visible(bad) and "rows.2.date" in visible(bad)
    good = hr.post(
        "/hr/holidays/import",
        data={
            "csrf_token": token,
            "file": (BytesIO(b"date,name\n2030-01-01,New Year\n2030-05-01,Labour Day\n"), "h.csv"),
        },
        content_type="multipart/form-data",
    )
    assert redirect_path(good) == "/hr/holidays?year=2030"
    listing = hr.get("/hr/holidays?year=2030")
    assert table_column(listing, 1) == ["New Year", "Labour Day", "Christmas"]

    christmas = fetch(app.extensions["officium"], Holiday, Holiday.name == "Christmas")
    submit(hr, f"/hr/holidays/{christmas.id}/delete", form_page="/hr/holidays?year=2030")
    assert count(app.extensions["officium"], Holiday) == 2
    assert client_for(app, "eve@example.com").get("/hr/holidays").status_code == 403


def test_hr_sets_allocations_and_allocates_the_defaults(app, session, people):
    hr = client_for(app, "grace@example.com")
    annual = annual_id(session)
    saved = submit(
        hr,
        "/hr/leave/allocations?year=2030",
        {"employee_id": str(people["eve"]), "leave_type_id": str(annual), "days": "12.5", "year": "2030"},
    )
    assert redirect_path(saved) == "/hr/leave/allocations?year=2030"
    bad = submit(
        hr,
        "/hr/leave/allocations?year=2030",
        {"employee_id": "999999999999", "leave_type_id": str(annual), "days": "1.3", "year": "2030"},
    )
    assert bad.status_code == 422
    assert field_error(bad, "employee_id") == "no such employee"
    assert field_error(bad, "days") == "must be a whole or half number of days (e.g. 12 or 12.5)"

    defaults = submit(
        hr, "/hr/leave/allocations/defaults", {"year": "2030"}, form_page="/hr/leave/allocations?year=2030"
    )
    assert redirect_path(defaults) == "/hr/leave/allocations?year=2030"
    grid = hr.get("/hr/leave/allocations?year=2030")
    assert "1 allocations created with the default days." in flashes(grid)
    assert table_column(grid, 0) == ["Eve Employee", "Mary Manager"]
    assert table_column(grid, 1) == ["12.5", "25"]
    assert count(app.extensions["officium"], LeaveAllocation) == 2
    assert client_for(app, "mary@example.com").get("/hr/leave/allocations").status_code == 403


# --- dashboard --------------------------------------------------------------------------------------


def test_the_dashboard_shows_leave_to_approve_and_who_is_on_leave_today(app, session, people):
    import datetime as dt

    today = dt.date.today()
    monday = today - dt.timedelta(days=today.weekday())
    sick = session.scalar(select(LeaveType.id).where(LeaveType.code == "SICK"))
    session.commit()
    current = ask(
        session,
        people["eve_user"],
        monday.isoformat(),
        (monday + dt.timedelta(days=6)).isoformat(),
        leave_type_id=sick,
    )
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, current))
    session.commit()
    allocate(session, people["eve"])
    ask(session, people["eve_user"], "2030-03-04", "2030-03-05")

    mary = visible(client_for(app, "mary@example.com").get("/"))
    assert "Leave to approve 1 leave request is waiting for your decision." in mary
    assert "On leave today" not in mary  # Mary has no hr.view
    hr = visible(client_for(app, "grace@example.com").get("/"))
    assert "On leave today Eve Employee · Sick leave" in hr
    assert "Leave to approve 1 leave request" in hr  # HR may decide too
    eve = visible(client_for(app, "eve@example.com").get("/"))
    assert "Leave to approve" not in eve and "On leave today" not in eve
