"""Self-service: "My HR" — an employee's own file, leave balances and requests, payslips, and the
leave requests waiting for their decision as a manager. Every figure comes from services that
apply the record rules, so this page can only ever show the signed-in user's own data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import render_template, request
from werkzeug.routing import BuildError

from core.plugin_api import any_user, get_session, pages

from ..services import leave as leave_service
from ..services import payroll as payroll_service
from ..services.common import my_employee
from . import blueprint

RECENT_PAYSLIPS = 12


@blueprint.get("/me")
@any_user
def me() -> Any:
    session = get_session()
    employee = my_employee(session)
    year = pages.int_arg(request.args.get("year")) or dt.date.today().year
    if not 1900 <= year <= 9899:
        year = dt.date.today().year
    balances = leave_service.balances(session, employee, year) if employee else []
    requests = leave_service.my_requests(session) if employee else []
    payslips = payroll_service.payslips_for(session, employee)[:RECENT_PAYSLIPS] if employee else []
    to_approve = leave_service.requests_to_approve(session)
    return render_template(
        "hr/me.html",
        employee=employee,
        year=year,
        balances=balances,
        requests=requests,
        payslips=payslips,
        to_approve=to_approve,
        link=_link,
        today=dt.date.today(),
    )


def _link(endpoint: str, **values: Any) -> str | None:
    """A URL for ``endpoint``, or None if that page is not there (so the section hides its link)."""
    from flask import url_for

    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None
