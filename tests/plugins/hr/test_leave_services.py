"""HR leave services: working days with weekends, holidays and half days, balances and allocations,
the request rules (overlap, balance, employment), who may decide, notifications, cancelling, lists and
the team calendar. Mary manages Eve; Grace is the HR manager. Figures are counted by hand on a
2030 calendar (2030-04-22 is a Monday)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import actor_of, set_actor
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.models import Notification, User
from core.testing import make_user
from plugins.hr.models import Employee, Holiday, LeaveAllocation, LeaveRequest, LeaveType
from plugins.hr.services import employees, leave

pytestmark = pytest.mark.plugins("hr")

D = Decimal


@contextmanager
def acting(session: Session, user_id: int) -> Iterator[None]:
    """Run services as the user ``user_id`` (the session's actor), then as the system again."""
    previous = actor_of(session)
    set_actor(session, session.get(User, user_id))
    try:
        yield
    finally:
        set_actor(session, previous)


def count(session: Session, model: type, *where: Any) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where))


def leave_type(session: Session, code: str) -> LeaveType:
    return session.scalars(select(LeaveType).where(LeaveType.code == code)).one()


def holiday(session: Session, day: str, name: str = "Holiday") -> None:
    leave.add_holiday(session, {"date": day, "name": name})
    session.commit()


def allocate(session: Session, employee_id: int, days: str, year: int = 2030, code: str = "ANNUAL") -> None:
    leave.set_allocation(session, employee_id, leave_type(session, code).id, year, days)
    session.commit()


def ask(session: Session, user_id: int, start: str, end: str, *, submit: bool = True, **data: Any) -> int:
    """As ``user_id``, ask for annual leave (submitted by default); returns the request id."""
    data.setdefault("leave_type_id", leave_type(session, "ANNUAL").id)
    with acting(session, user_id):
        request = leave.create_request(
            session, {"start_date": start, "end_date": end, "submit": submit, **data}
        )
    session.commit()
    return request.id


def messages_of(session: Session, user_id: int) -> list[str]:
    return list(
        session.scalars(
            select(Notification.title).where(Notification.user_id == user_id).order_by(Notification.id)
        )
    )


# --- working days -----------------------------------------------------------------------------------


def test_working_days_leave_out_weekends_and_holidays_and_count_half_days(session, people):
    holiday(session, "2030-04-22", "Easter Monday")
    # Thu 18, Fri 19, (Sat 20, Sun 21), Mon 22 holiday, Tue 23, Wed 24: four working days.
    assert leave.working_days(session, "2030-04-18", "2030-04-24") == D("4")
    assert leave.working_days(session, "2030-04-18", "2030-04-24", half_day_start=True) == D("3.5")
    assert leave.working_days(session, "2030-04-18", "2030-04-24", True, True) == D("3")
    assert leave.working_days(session, dt.date(2030, 4, 23), dt.date(2030, 4, 23), half_day_end=True) == D(
        "0.5"
    )
    assert leave.working_days(session, "2030-04-23", "2030-04-23") == D("1")
    # Starting at noon on a Saturday halves nothing: only Tuesday counts.
    assert leave.working_days(session, "2030-04-20", "2030-04-23", half_day_start=True) == D("1")
    assert leave.working_days(session, "2030-04-20", "2030-04-21") == D("0")
    assert leave.working_days(session, "2030-04-22", "2030-04-22") == D("0")
    # Three whole weeks from a Wednesday, minus the holiday.
    assert leave.working_days(session, "2030-04-10", "2030-04-30") == D("14")


def test_working_days_refuse_a_one_day_period_with_both_half_days_and_an_end_before_the_start(
    session, people
):
    with pytest.raises(ValidationError) as both:
        leave.working_days(session, "2030-04-23", "2030-04-23", True, True)
    assert "half_day_end" in both.value.fields
    with pytest.raises(ValidationError) as backwards:
        leave.working_days(session, "2030-04-23", "2030-04-19")
    assert backwards.value.fields == {"end_date": ["is before the start date"]}
    with pytest.raises(ValidationError) as bad:
        leave.working_days(session, "23/04/2030", "99999-01-01")
    assert set(bad.value.fields) == {"start_date", "end_date"}


# --- holidays and leave types -----------------------------------------------------------------------


def test_a_day_is_a_holiday_once_and_a_bad_csv_row_imports_nothing(session, people):
    holiday(session, "2030-12-25", "Christmas")
    with pytest.raises(ValidationError) as twice:
        leave.add_holiday(session, {"date": "2030-12-25", "name": "Again"})
    assert twice.value.fields == {"date": ["is already a public holiday (Christmas)"]}
    session.rollback()

    with pytest.raises(ValidationError) as refused:
        leave.import_holidays(session, "date,name\n2030-01-01,New Year\n2030-13-01,Nope\n2030-12-25,Xmas\n")
    assert set(refused.value.fields) == {"rows.2.date", "rows.3.date"}
    session.rollback()
    assert count(session, Holiday) == 1

    added = leave.import_holidays(session, "2030-01-01,New Year\n2030-05-01,Labour Day\n")
    session.commit()
    assert [h.name for h in added] == ["New Year", "Labour Day"]
    assert [h.date.isoformat() for h in leave.list_holidays(session, 2030)] == [
        "2030-01-01",
        "2030-05-01",
        "2030-12-25",
    ]
    leave.delete_holiday(session, leave.list_holidays(session, 2030)[0])
    session.commit()
    assert count(session, Holiday) == 2


def test_leave_type_codes_are_unique_and_a_deactivated_type_takes_no_new_requests(session, people):
    training = leave.create_leave_type(
        session, {"code": "study", "name": "Study leave", "default_days": "5.5", "needs_allocation": "on"}
    )
    session.commit()
    assert (training.code, training.default_days, training.needs_allocation, training.paid) == (
        "STUDY",
        D("5.5"),
        True,
        True,
    )
    with pytest.raises(ValidationError) as duplicate:
        leave.create_leave_type(session, {"code": "Annual", "name": "Another", "default_days": "1.25"})
    assert duplicate.value.fields["code"] == ["another leave type has this code"]
    assert duplicate.value.fields["default_days"] == ["has more than 1 decimals"]
    session.rollback()

    leave.deactivate_leave_type(session, leave_type(session, "UNPAID"))
    session.commit()
    with pytest.raises(ValidationError) as refused:
        ask(
            session,
            people["eve_user"],
            "2030-03-04",
            "2030-03-05",
            leave_type_id=leave_type(session, "UNPAID").id,
        )
    assert refused.value.fields["leave_type_id"] == ["Unpaid leave is no longer offered"]
    session.rollback()
    assert count(session, LeaveRequest) == 0


# --- allocations and balances -----------------------------------------------------------------------


def test_allocations_are_half_days_and_defaults_fill_only_what_is_missing(session, people, make_employee):
    allocate(session, people["eve"], "12.5")
    for days, message in (("12.25", "has more than 1 decimals"), ("-1", "must be at least 0"), ("3.3", None)):
        with pytest.raises(ValidationError) as refused:
            leave.set_allocation(session, people["eve"], leave_type(session, "ANNUAL").id, 2030, days)
        assert "days" in refused.value.fields
        if message:
            assert refused.value.fields["days"] == [message]
        session.rollback()
    with pytest.raises(ValidationError) as sick:
        leave.set_allocation(session, people["eve"], leave_type(session, "SICK").id, 2030, "5")
    assert sick.value.fields == {"leave_type_id": ["Sick leave is not limited by an allocation"]}
    session.rollback()

    gone = make_employee(name="Former Employee", hire_date="2020-01-06")
    employees.terminate_employee(session, gone, date="2029-06-30")
    make_employee(name="Future Hire", hire_date="2031-02-03")
    session.commit()

    assert leave.allocate_defaults(session, 2030) == 1  # Mary; Eve has hers, the others are not employed
    session.commit()
    assert leave.allocate_defaults(session, 2030) == 0
    rows = session.execute(select(LeaveAllocation.employee_id, LeaveAllocation.days))
    days = {employee_id: amount for employee_id, amount in rows}
    assert days == {people["eve"]: D("12.5"), people["mary"]: D("25")}


def test_balances_count_approved_as_taken_and_submitted_as_pending_per_year(session, people):
    holiday(session, "2031-01-01", "New Year")
    allocate(session, people["eve"], "10", 2030)
    allocate(session, people["eve"], "10", 2031)
    # Mon 2030-12-30 to Thu 2031-01-02: two days in 2030, one in 2031 (New Year is a holiday).
    spanning = ask(session, people["eve_user"], "2030-12-30", "2031-01-02")
    first = ask(session, people["eve_user"], "2030-03-04", "2030-03-06", half_day_end=True)  # 2.5 days
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, first))
    session.commit()

    eve = session.get(Employee, people["eve"])
    (annual_2030,) = leave.balances(session, eve, 2030)
    assert annual_2030.leave_type.code == "ANNUAL"
    assert (annual_2030.allocated, annual_2030.taken, annual_2030.pending, annual_2030.remaining) == (
        D("10"),
        D("2.5"),
        D("2"),
        D("5.5"),
    )
    (annual_2031,) = leave.balances(session, eve, "2031")
    assert (annual_2031.taken, annual_2031.pending, annual_2031.remaining) == (D("0"), D("1"), D("9"))
    assert session.get(LeaveRequest, spanning).days == D("3")

    with acting(session, people["eve_user"]):
        assert leave.balances(session, eve, 2030)[0].remaining == D("5.5")


def test_a_request_longer_than_the_balance_is_refused_and_nothing_is_stored(session, people):
    allocate(session, people["eve"], "2")
    with pytest.raises(ValidationError) as refused:
        ask(session, people["eve_user"], "2030-03-04", "2030-03-06")
    assert refused.value.fields == {
        "days": ["3 days of Annual leave asked in 2030, but only 2 remain of the 2030 allocation"]
    }
    session.rollback()
    assert count(session, LeaveRequest) == 0
    assert count(session, Notification) == 0

    # Pending days count too: 1.5 submitted leaves 0.5.
    ask(session, people["eve_user"], "2030-03-04", "2030-03-05", half_day_start=True)
    draft = ask(session, people["eve_user"], "2030-03-11", "2030-03-11", submit=False)
    with acting(session, people["eve_user"]), pytest.raises(ValidationError) as again:
        leave.submit_request(session, leave.get_request(session, draft))
    assert "only 0.5 remain" in again.value.fields["days"][0]
    session.rollback()
    assert session.get(LeaveRequest, draft).state == "draft"


def test_the_balance_is_checked_again_at_approval(session, people):
    holiday(session, "2030-03-05", "Local feast")
    allocate(session, people["eve"], "3")
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-07")  # Mon-Thu minus Tue: 3 days
    assert session.get(LeaveRequest, request_id).days == D("3")
    leave.delete_holiday(session, leave.list_holidays(session, 2030)[0])
    session.commit()

    with acting(session, people["mary_user"]), pytest.raises(ValidationError) as refused:
        leave.approve_request(session, leave.get_request(session, request_id))
    assert "4 days of Annual leave asked in 2030, but only 3 remain" in refused.value.fields["days"][0]
    session.rollback()
    assert session.get(LeaveRequest, request_id).state == "submitted"


def test_sick_leave_needs_no_allocation(session, people):
    request_id = ask(
        session, people["eve_user"], "2030-03-04", "2030-03-08", leave_type_id=leave_type(session, "SICK").id
    )
    assert (session.get(LeaveRequest, request_id).state, session.get(LeaveRequest, request_id).days) == (
        "submitted",
        D("5"),
    )
    assert leave.balances(session, session.get(Employee, people["eve"]), 2030)[0].pending == D("0")


# --- request rules ----------------------------------------------------------------------------------


def test_an_overlapping_request_is_refused_naming_the_other_ones_dates(session, people):
    allocate(session, people["eve"], "20")
    first = ask(session, people["eve_user"], "2030-03-04", "2030-03-08", submit=False)
    with pytest.raises(ValidationError) as refused:
        ask(session, people["eve_user"], "2030-03-08", "2030-03-12")
    assert refused.value.fields == {
        "start_date": [
            f"overlaps another leave request of Eve Employee (draft, 2030-03-04 to 2030-03-08, #{first})"
        ]
    }
    session.rollback()
    assert count(session, LeaveRequest) == 1

    # A morning off and an afternoon off share a day: Friday ends at noon, the next starts at noon.
    with acting(session, people["eve_user"]):
        leave.update_request(session, leave.get_request(session, first), {"half_day_end": True})
    session.commit()
    second = ask(session, people["eve_user"], "2030-03-08", "2030-03-08", half_day_start=True)
    assert session.get(LeaveRequest, second).days == D("0.5")
    assert session.get(LeaveRequest, first).days == D("4.5")

    # A cancelled request no longer blocks its days.
    with acting(session, people["eve_user"]):
        leave.cancel_request(session, leave.get_request(session, first))
    session.commit()
    ask(session, people["eve_user"], "2030-03-04", "2030-03-04")


def test_bad_periods_are_refused_with_field_messages(session, people):
    allocate(session, people["eve"], "20")
    cases = [
        ({"start_date": "2030-03-08", "end_date": "2030-03-04"}, {"end_date": ["is before the start date"]}),
        (
            {"start_date": "2030-03-09", "end_date": "2030-03-10"},
            {
                "start_date": [
                    "there are no working days in this period (weekends and public holidays do not count)"
                ]
            },
        ),
        ({"start_date": "2024-12-30", "end_date": "2025-01-07"}, {"start_date": None}),
        ({"start_date": "2030-03-04", "end_date": "2031-03-05"}, {"end_date": None}),
        ({"start_date": "2030-03-04", "end_date": "2030-03-04", "half_day_start": True, "half_day_end": True},
         {"half_day_end": None}),
        ({"start_date": "0001-01-01", "end_date": "", "leave_type_id": "999999999999999999999"},
         {"start_date": None, "end_date": None, "leave_type_id": None}),
        ({"start_date": "2030-03-04", "end_date": "2030-03-04", "half_day_start": "maybe", "reason": 5},
         {"half_day_start": None, "reason": None}),
    ]  # fmt: skip
    for data, expected in cases:
        with pytest.raises(ValidationError) as refused, acting(session, people["eve_user"]):
            leave.create_request(session, {"leave_type_id": leave_type(session, "ANNUAL").id, **data})
        assert set(refused.value.fields) == set(expected), data
        for key, messages in expected.items():
            if messages is not None:
                assert refused.value.fields[key] == messages
        session.rollback()
    assert count(session, LeaveRequest) == 0


def test_leave_must_fall_within_the_employment(session, people):
    eve = session.get(Employee, people["eve"])
    employees.terminate_employee(session, eve, date="2030-03-06")
    session.commit()
    allocate(session, people["eve"], "20")
    with pytest.raises(ValidationError) as refused:
        ask(session, people["eve_user"], "2030-03-04", "2030-03-08")
    assert refused.value.fields == {
        "end_date": ["is after Eve Employee's last day of employment (2030-03-06)"]
    }
    session.rollback()
    with pytest.raises(ValidationError) as before:
        ask(session, people["eve_user"], "2025-01-02", "2025-01-07")
    assert before.value.fields == {"start_date": ["is before Eve Employee's hire date (2025-01-06)"]}


# --- self-service and deciding ----------------------------------------------------------------------


def test_an_employee_asks_for_their_own_leave_and_only_hr_asks_for_someone_else(session, people):
    allocate(session, people["eve"], "20")
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-05", submit=False, reason="Family")
    request = session.get(LeaveRequest, request_id)
    assert (request.employee_id, request.requested_by_id, request.state, request.days) == (
        people["eve"],
        people["eve_user"],
        "draft",
        D("2"),
    )
    with pytest.raises(PermissionDenied) as refused:
        ask(session, people["eve_user"], "2030-03-11", "2030-03-12", employee_id=people["mary"])
    assert "hr.employee.manage" in refused.value.message
    session.rollback()
    with pytest.raises(ValidationError) as no_file:
        ask(session, people["hr_user"], "2030-03-11", "2030-03-12")
    assert "employee_id" in no_file.value.fields
    session.rollback()

    for_eve = ask(session, people["hr_user"], "2030-03-11", "2030-03-12", employee_id=people["eve"])
    assert session.get(LeaveRequest, for_eve).requested_by_id == people["hr_user"]
    assert count(session, LeaveRequest) == 2


def test_the_manager_approves_a_reports_request_and_the_employee_is_notified(session, people):
    allocate(session, people["eve"], "20")
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-08", reason="Holiday in Rome")
    assert messages_of(session, people["mary_user"]) == ["Leave to approve: Eve Employee"]
    assert messages_of(session, people["hr_user"]) == []  # the manager decides, HR is not asked
    body = session.scalar(select(Notification.body).where(Notification.user_id == people["mary_user"]))
    assert body == "Annual leave, 2030-03-04 to 2030-03-08 (5 days)\nHoliday in Rome"

    with acting(session, people["mary_user"]):
        assert [r.id for r in leave.requests_to_approve(session)] == [request_id]
        leave.approve_request(session, leave.get_request(session, request_id), "Enjoy")
    session.commit()
    request = session.get(LeaveRequest, request_id)
    assert (request.state, request.decided_by_id, request.decision_note) == (
        "approved",
        people["mary_user"],
        "Enjoy",
    )
    assert request.decided_at is not None
    assert messages_of(session, people["eve_user"]) == [
        "Leave approved: Annual leave, 2030-03-04 to 2030-03-08 (5 days)"
    ]
    with acting(session, people["mary_user"]):
        assert leave.requests_to_approve(session) == []
    with acting(session, people["mary_user"]), pytest.raises(Conflict):
        leave.approve_request(session, leave.get_request(session, request_id))


def test_nobody_approves_their_own_request_not_even_an_hr_manager(session, people, make_employee):
    grace = make_employee(name="Grace Hopper", email="grace@example.com", user_id=people["hr_user"])
    allocate(session, grace.id, "20")
    request_id = ask(session, people["hr_user"], "2030-03-04", "2030-03-05")
    # Grace has no manager: every holder of hr.leave.approve but herself is asked (nobody here).
    assert messages_of(session, people["hr_user"]) == []
    with acting(session, people["hr_user"]), pytest.raises(PermissionDenied) as refused:
        leave.approve_request(session, leave.get_request(session, request_id))
    assert (
        refused.value.message == "you cannot approve or refuse your own leave: your manager or HR decides it"
    )
    session.rollback()
    with acting(session, people["hr_user"]):
        assert leave.requests_to_approve(session) == []
        assert "approve" not in leave.available_actions(session, leave.get_request(session, request_id))

    # Whoever made a request for someone else does not decide it either: the manager does.
    allocate(session, people["eve"], "20")
    for_eve = ask(session, people["hr_user"], "2030-03-11", "2030-03-12", employee_id=people["eve"])
    with acting(session, people["hr_user"]), pytest.raises(PermissionDenied) as requester:
        leave.refuse_request(session, leave.get_request(session, for_eve), "No")
    assert "you made this request" in requester.value.message
    session.rollback()
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, for_eve))
    session.commit()
    assert messages_of(session, people["eve_user"]) == [
        "Leave approved: Annual leave, 2030-03-11 to 2030-03-12 (2 days)"
    ]
    assert messages_of(session, people["hr_user"])[-1].startswith("Leave approved")


def test_someone_neither_manager_nor_approver_can_neither_see_nor_decide(session, people, ext):
    bob_user = make_user(ext, "bob@example.com")
    allocate(session, people["eve"], "20")
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    with acting(session, bob_user):
        with pytest.raises(NotFound):
            leave.get_request(session, request_id)
        with pytest.raises(PermissionDenied) as refused:
            leave.approve_request(session, session.get(LeaveRequest, request_id))
        assert "only the employee's manager or a holder of hr.leave.approve" in refused.value.message
        assert leave.list_requests(session).items == []
        with pytest.raises(NotFound):
            leave.balances(session, session.get(Employee, people["eve"]), 2030)
    session.rollback()
    assert session.get(LeaveRequest, request_id).state == "submitted"


def test_without_a_manager_every_approver_is_asked(session, people, ext):
    approver = make_user(ext, "approver@example.com", permissions=("hr.leave.approve",))
    allocate(session, people["mary"], "20")
    request_id = ask(session, people["mary_user"], "2030-03-04", "2030-03-04")
    assert messages_of(session, people["hr_user"]) == ["Leave to approve: Mary Manager"]
    assert messages_of(session, approver) == ["Leave to approve: Mary Manager"]
    assert messages_of(session, people["mary_user"]) == []
    with acting(session, approver):
        leave.refuse_request(session, leave.get_request(session, request_id), "Release week")
    session.commit()
    assert messages_of(session, people["mary_user"]) == ["Leave refused: Annual leave, 2030-03-04 (1 day)"]
    assert session.get(LeaveRequest, request_id).decision_note == "Release week"


def test_refusing_needs_a_note(session, people):
    allocate(session, people["eve"], "20")
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    with acting(session, people["mary_user"]), pytest.raises(ValidationError) as refused:
        leave.refuse_request(session, leave.get_request(session, request_id), "  ")
    assert refused.value.fields == {"note": ["is required: tell the employee why"]}
    session.rollback()
    request = session.get(LeaveRequest, request_id)
    assert (request.state, request.decided_by_id) == ("submitted", None)
    assert messages_of(session, people["eve_user"]) == []


# --- states and cancelling --------------------------------------------------------------------------


def test_only_drafts_change_and_wrong_states_conflict(session, people):
    allocate(session, people["eve"], "20")
    request_id = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    with acting(session, people["eve_user"]):
        request = leave.get_request(session, request_id)
        with pytest.raises(Conflict):
            leave.update_request(session, request, {"reason": "changed"})
        with pytest.raises(Conflict):
            leave.submit_request(session, request)
    with acting(session, people["mary_user"]):
        with pytest.raises(PermissionDenied):  # the manager decides, but does not edit or cancel
            leave.cancel_request(session, leave.get_request(session, request_id))
        leave.refuse_request(session, leave.get_request(session, request_id), "Busy week")
    session.commit()
    with acting(session, people["eve_user"]), pytest.raises(Conflict):
        leave.cancel_request(session, leave.get_request(session, request_id))


def test_approved_leave_is_cancelled_before_it_starts_or_by_hr(session, people):
    today = dt.date.today()
    monday = today - dt.timedelta(days=today.weekday() + 7)  # last week's Monday: leave that has started
    past = ask(
        session, people["eve_user"], monday.isoformat(), (monday + dt.timedelta(days=1)).isoformat(),
        leave_type_id=leave_type(session, "SICK").id,
    )  # fmt: skip
    future = ask(
        session, people["eve_user"], "2030-03-04", "2030-03-05", leave_type_id=leave_type(session, "SICK").id
    )
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, past))
        leave.approve_request(session, leave.get_request(session, future))
    session.commit()

    with acting(session, people["eve_user"]):
        with pytest.raises(Conflict) as started:
            leave.cancel_request(session, leave.get_request(session, past))
        assert "only HR" in started.value.message
        leave.cancel_request(session, leave.get_request(session, future))
    session.commit()
    assert messages_of(session, people["mary_user"])[-1] == "Leave cancelled: Eve Employee"
    with acting(session, people["hr_user"]):
        leave.cancel_request(session, leave.get_request(session, past))
    session.commit()
    assert {session.get(LeaveRequest, i).state for i in (past, future)} == {"cancelled"}


# --- lists and the calendar -------------------------------------------------------------------------


def test_who_sees_which_requests(session, people, ext):
    bob_user = make_user(ext, "bob@example.com")
    allocate(session, people["eve"], "20")
    allocate(session, people["mary"], "20")
    eves = ask(session, people["eve_user"], "2030-03-04", "2030-03-05")
    marys = ask(session, people["mary_user"], "2030-04-01", "2030-04-02", submit=False)

    def ids(user_id: int, **filters: Any) -> list[int]:
        with acting(session, user_id):
            return [
                r.id
                for r in leave.list_requests(session, sort="start_date", descending=False, **filters).items
            ]

    assert ids(people["eve_user"]) == [eves]
    assert ids(people["mary_user"]) == [eves, marys]
    assert ids(people["mary_user"], mine=True) == [marys]
    assert ids(people["mary_user"], to_approve=True) == [eves]
    assert ids(people["hr_user"]) == [eves, marys]
    assert ids(people["hr_user"], state="draft") == [marys]
    assert ids(people["hr_user"], employee_id=people["eve"], year=2030) == [eves]
    assert ids(people["hr_user"], year=2031) == []
    assert ids(bob_user) == []
    with acting(session, people["eve_user"]):
        assert [r.id for r in leave.my_requests(session)] == [eves]
        with pytest.raises(NotFound):
            leave.get_request(session, marys)
    with pytest.raises(ValidationError):
        leave.list_requests(session, state="lost")


def test_the_team_calendar_marks_approved_and_submitted_leave(session, people):
    holiday(session, "2030-03-01", "Founders' day")
    allocate(session, people["eve"], "20")
    allocate(session, people["mary"], "20")
    approved = ask(session, people["eve_user"], "2030-03-04", "2030-03-05", half_day_end=True)
    ask(session, people["mary_user"], "2030-03-07", "2030-03-07")
    with acting(session, people["mary_user"]):
        leave.approve_request(session, leave.get_request(session, approved))
    session.commit()

    month = leave.team_calendar(session, 2030, 3, people["engineering"])
    assert [row.employee.name for row in month.rows] == ["Eve Employee", "Mary Manager"]
    assert len(month.days) == 31
    assert month.days[0].holiday == "Founders' day" and month.days[1].weekend
    eve, mary = month.rows
    marked = {cell.day.date.day: (cell.state, cell.half) for cell in eve.cells if cell.state}
    assert marked == {4: ("approved", None), 5: ("approved", "am")}
    assert {cell.day.date.day: cell.state for cell in mary.cells if cell.state} == {7: "submitted"}
    assert (month.previous, month.next) == ((2030, 2), (2030, 4))
    assert [r.employee.name for r in leave.on_leave(session, dt.date(2030, 3, 5))] == ["Eve Employee"]
    assert leave.on_leave(session, dt.date(2030, 3, 7)) == []
    with pytest.raises(ValidationError):
        leave.team_calendar(session, 2030, 13)
