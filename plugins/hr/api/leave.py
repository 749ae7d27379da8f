"""HR API: leave types, public holidays, allocations, balances, working days and leave requests.

Record-level rules are the services': a caller without ``hr.view`` sees their own requests, those
they made and their direct reports' — anyone else's is 404. Deciding one's own request is 403.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.plugin_api import (
    any_user,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
)

from ..models import Holiday, LeaveAllocation, LeaveRequest, LeaveType
from ..schemas.leave import (
    AllocateDefaultsRequest,
    AllocateDefaultsResult,
    AllocationPage,
    AllocationQuery,
    AllocationSchema,
    AllocationSetRequest,
    BalancePage,
    BalanceQuery,
    DecisionRequest,
    HolidayImportRequest,
    HolidayPage,
    HolidayQuery,
    HolidaySchema,
    LeaveRequestCreateSchema,
    LeaveRequestPage,
    LeaveRequestPatchSchema,
    LeaveRequestQuery,
    LeaveRequestSchema,
    LeaveTypeCreateSchema,
    LeaveTypePage,
    LeaveTypePatchSchema,
    LeaveTypeQuery,
    LeaveTypeSchema,
    WorkingDaysQuery,
    WorkingDaysSchema,
)
from ..services import leave
from . import blueprint


def _this_year(year: int | None) -> int:
    return year if year is not None else dt.date.today().year


# --- leave types ----------------------------------------------------------------------------------


def _leave_type(leave_type: LeaveType) -> dict[str, Any]:
    return {
        "id": leave_type.id,
        "code": leave_type.code,
        "name": leave_type.name,
        "needs_allocation": leave_type.needs_allocation,
        "paid": leave_type.paid,
        "default_days": leave_type.default_days,
        "color": leave_type.color,
        "active": leave_type.active,
    }


@blueprint.route("/leave-types", methods=["GET"])
@blueprint.arguments(LeaveTypeQuery, location="query")
@blueprint.response(200, LeaveTypePage)
@any_user
def leave_types_list(args: dict[str, Any]) -> dict[str, Any]:
    """Every leave type by name (``active=true``: only those offered on new requests)."""
    types = leave.list_leave_types(get_session(), active_only=bool(args["active"]))
    if args["active"] is False:
        types = [t for t in types if not t.active]
    return {"items": [_leave_type(t) for t in types], "next_cursor": None}


@blueprint.route("/leave-types", methods=["POST"])
@blueprint.arguments(LeaveTypeCreateSchema)
@blueprint.response(201, LeaveTypeSchema)
@require_permission("hr.employee.manage")
def leave_types_create(data: dict[str, Any]) -> dict[str, Any]:
    """A new leave type; ``code`` is unique (case-insensitive)."""
    created = leave.create_leave_type(get_session(), data)
    api_commit()
    return _leave_type(created)


@blueprint.route("/leave-types/<int:leave_type_id>", methods=["GET"])
@blueprint.response(200, LeaveTypeSchema)
@any_user
def leave_types_get(leave_type_id: int) -> dict[str, Any]:
    return _leave_type(leave.get_leave_type(get_session(), leave_type_id))


@blueprint.route("/leave-types/<int:leave_type_id>", methods=["PATCH"])
@blueprint.arguments(LeaveTypePatchSchema)
@blueprint.response(200, LeaveTypeSchema)
@require_permission("hr.employee.manage")
def leave_types_update(data: dict[str, Any], leave_type_id: int) -> dict[str, Any]:
    """Change a leave type; ``"active": false`` deactivates it."""
    session = get_session()
    updated = leave.update_leave_type(session, leave.get_leave_type(session, leave_type_id), data)
    api_commit()
    return _leave_type(updated)


# --- holidays -------------------------------------------------------------------------------------


def _holiday(holiday: Holiday) -> dict[str, Any]:
    return {"id": holiday.id, "date": holiday.date, "name": holiday.name}


@blueprint.route("/holidays", methods=["GET"])
@blueprint.arguments(HolidayQuery, location="query")
@blueprint.response(200, HolidayPage)
@any_user
def holidays_list(args: dict[str, Any]) -> dict[str, Any]:
    """The public holidays of ``year`` (this year by default), by date."""
    found = leave.list_holidays(get_session(), _this_year(args["year"]))
    return {"items": [_holiday(h) for h in found], "next_cursor": None}


@blueprint.route("/holidays", methods=["POST"])
@blueprint.arguments(HolidaySchema)
@blueprint.response(201, HolidaySchema)
@require_permission("hr.employee.manage")
def holidays_create(data: dict[str, Any]) -> dict[str, Any]:
    """Add a public holiday (one per date)."""
    created = leave.add_holiday(get_session(), data)
    api_commit()
    return _holiday(created)


@blueprint.route("/holidays/import", methods=["POST"])
@blueprint.arguments(HolidayImportRequest)
@blueprint.response(201, HolidayPage)
@require_permission("hr.employee.manage")
def holidays_import(data: dict[str, Any]) -> dict[str, Any]:
    """Add holidays from CSV rows ``date,name``; a bad row (``rows.N.date``) imports nothing."""
    created = leave.import_holidays(get_session(), data["csv"])
    api_commit()
    return {"items": [_holiday(h) for h in created], "next_cursor": None}


@blueprint.route("/holidays/<int:holiday_id>", methods=["DELETE"])
@blueprint.response(204)
@require_permission("hr.employee.manage")
def holidays_delete(holiday_id: int) -> None:
    session = get_session()
    leave.delete_holiday(session, leave.get_holiday(session, holiday_id))
    api_commit()


# --- allocations and balances ---------------------------------------------------------------------


def _allocation(allocation: LeaveAllocation) -> dict[str, Any]:
    return {
        "id": allocation.id,
        "employee_id": allocation.employee_id,
        "employee_name": allocation.employee.name,
        "leave_type_id": allocation.leave_type_id,
        "leave_type_code": allocation.leave_type.code,
        "year": allocation.year,
        "days": allocation.days,
    }


@blueprint.route("/allocations", methods=["GET"])
@blueprint.arguments(AllocationQuery, location="query")
@blueprint.response(200, AllocationPage)
@any_user
def allocations_list(args: dict[str, Any]) -> dict[str, Any]:
    """Allocations of ``year`` (this year by default): everyone's with ``hr.view``, else one's own."""
    found = leave.list_allocations(get_session(), _this_year(args["year"]), args["employee_id"])
    return {"items": [_allocation(a) for a in found], "next_cursor": None}


@blueprint.route("/allocations", methods=["POST"])
@blueprint.arguments(AllocationSetRequest)
@blueprint.response(200, AllocationSchema)
@require_permission("hr.employee.manage")
def allocations_set(data: dict[str, Any]) -> dict[str, Any]:
    """Set an employee's days (whole or half) of a leave type for a year (creates or replaces)."""
    allocation = leave.set_allocation(
        get_session(), data["employee_id"], data["leave_type_id"], data["year"], data["days"]
    )
    api_commit()
    return _allocation(allocation)


@blueprint.route("/allocations/defaults", methods=["POST"])
@blueprint.arguments(AllocateDefaultsRequest)
@blueprint.response(200, AllocateDefaultsResult)
@require_permission("hr.employee.manage")
def allocations_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Give every current employee each allocation-limited type's default days, where they have none."""
    created = leave.allocate_defaults(get_session(), data["year"])
    api_commit()
    return {"year": data["year"], "created": created}


@blueprint.route("/employees/<int:employee_id>/leave-balances", methods=["GET"])
@blueprint.arguments(BalanceQuery, location="query")
@blueprint.response(200, BalancePage)
@any_user
def employee_leave_balances(args: dict[str, Any], employee_id: int) -> dict[str, Any]:
    """Allocated, taken, pending and remaining days per allocation-limited type: one's own, or anyone's
    with ``hr.view`` (a manager also sees their direct reports'); else 404."""
    found = leave.employee_balances(get_session(), employee_id, _this_year(args["year"]))
    items = [
        {
            "leave_type_id": b.leave_type.id,
            "leave_type_code": b.leave_type.code,
            "leave_type_name": b.leave_type.name,
            "year": b.year,
            "allocated": b.allocated,
            "taken": b.taken,
            "pending": b.pending,
            "remaining": b.remaining,
        }
        for b in found
    ]
    return {"items": items, "next_cursor": None}


@blueprint.route("/working-days", methods=["GET"])
@blueprint.arguments(WorkingDaysQuery, location="query")
@blueprint.response(200, WorkingDaysSchema)
@any_user
def working_days(args: dict[str, Any]) -> dict[str, Any]:
    """Working days of a period: Monday to Friday minus public holidays, minus half days."""
    days = leave.working_days(
        get_session(), args["start"], args["end"], args["half_day_start"], args["half_day_end"]
    )
    return {**args, "days": days}


# --- leave requests -------------------------------------------------------------------------------


def _request(leave_request: LeaveRequest) -> dict[str, Any]:
    return {
        "id": leave_request.id,
        "employee_id": leave_request.employee_id,
        "employee_name": leave_request.employee.name,
        "leave_type_id": leave_request.leave_type_id,
        "leave_type_code": leave_request.leave_type.code,
        "leave_type_name": leave_request.leave_type.name,
        "start_date": leave_request.start_date,
        "end_date": leave_request.end_date,
        "half_day_start": leave_request.half_day_start,
        "half_day_end": leave_request.half_day_end,
        "days": leave_request.days,
        "reason": leave_request.reason,
        "state": leave_request.state,
        "requested_by_id": leave_request.requested_by_id,
        "decided_by_id": leave_request.decided_by_id,
        "decided_at": leave_request.decided_at,
        "decision_note": leave_request.decision_note,
        "actions": leave.available_actions(get_session(), leave_request),
        "created_at": leave_request.created_at,
        "updated_at": leave_request.updated_at,
    }


@blueprint.route("/leave-requests", methods=["GET"])
@blueprint.arguments(LeaveRequestQuery, location="query")
@blueprint.response(200, LeaveRequestPage)
@any_user
def leave_requests_list(args: dict[str, Any]) -> dict[str, Any]:
    """Leave requests the caller may see, latest first (``sort``: start_date, created_at, id; ``-`` for
    descending); filters ``employee_id``, ``state``, ``year``, ``mine``, ``to_approve``."""
    sort, descending = api_sort(args["sort"], leave.LEAVE_SORTS, "start_date", newest_first=True)
    page = leave.list_requests(
        get_session(),
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=leave.LEAVE_SORTS[sort]),
        limit=args["limit"],
        employee_id=args["employee_id"],
        state=args["state"],
        year=args["year"],
        mine=args["mine"],
        to_approve=args["to_approve"],
    )
    return api_page(page, _request)


@blueprint.route("/leave-requests", methods=["POST"])
@blueprint.arguments(LeaveRequestCreateSchema)
@blueprint.response(201, LeaveRequestSchema)
@any_user
def leave_requests_create(data: dict[str, Any]) -> dict[str, Any]:
    """Ask for leave (for oneself by default); ``"submit": true`` submits it at once."""
    created = leave.create_request(get_session(), data)
    api_commit()
    return _request(created)


@blueprint.route("/leave-requests/<int:request_id>", methods=["GET"])
@blueprint.response(200, LeaveRequestSchema)
@any_user
def leave_requests_get(request_id: int) -> dict[str, Any]:
    return _request(leave.get_request(get_session(), request_id))


@blueprint.route("/leave-requests/<int:request_id>", methods=["PATCH"])
@blueprint.arguments(LeaveRequestPatchSchema)
@blueprint.response(200, LeaveRequestSchema)
@any_user
def leave_requests_update(data: dict[str, Any], request_id: int) -> dict[str, Any]:
    """Change a draft; any other state is 409."""
    session = get_session()
    updated = leave.update_request(session, leave.get_request(session, request_id), data)
    api_commit()
    return _request(updated)


@blueprint.route("/leave-requests/<int:request_id>/submit", methods=["POST"])
@blueprint.response(200, LeaveRequestSchema)
@any_user
def leave_requests_submit(request_id: int) -> dict[str, Any]:
    """Send a draft for approval (the balance is checked); the manager or approvers are notified."""
    session = get_session()
    submitted = leave.submit_request(session, leave.get_request(session, request_id))
    api_commit()
    return _request(submitted)


@blueprint.route("/leave-requests/<int:request_id>/approve", methods=["POST"])
@blueprint.arguments(DecisionRequest)
@blueprint.response(200, LeaveRequestSchema)
@any_user
def leave_requests_approve(data: dict[str, Any], request_id: int) -> dict[str, Any]:
    """Approve a submitted request: the employee's manager or a holder of ``hr.leave.approve``,
    never the employee nor whoever made the request (403)."""
    session = get_session()
    approved = leave.approve_request(session, leave.get_request(session, request_id), data["note"])
    api_commit()
    return _request(approved)


@blueprint.route("/leave-requests/<int:request_id>/refuse", methods=["POST"])
@blueprint.arguments(DecisionRequest)
@blueprint.response(200, LeaveRequestSchema)
@any_user
def leave_requests_refuse(data: dict[str, Any], request_id: int) -> dict[str, Any]:
    """Refuse a submitted request; ``note`` is required."""
    session = get_session()
    refused = leave.refuse_request(session, leave.get_request(session, request_id), data["note"])
    api_commit()
    return _request(refused)


@blueprint.route("/leave-requests/<int:request_id>/cancel", methods=["POST"])
@blueprint.response(200, LeaveRequestSchema)
@any_user
def leave_requests_cancel(request_id: int) -> dict[str, Any]:
    """Cancel a draft, a submitted request, or approved leave that has not started (HR: any time)."""
    session = get_session()
    cancelled = leave.cancel_request(session, leave.get_request(session, request_id))
    api_commit()
    return _request(cancelled)
