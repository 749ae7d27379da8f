"""HR API: payroll runs (compute, adjust, confirm to the ledger), payslips, payroll items and settings.

Runs and settings need ``hr.payroll.view`` to read and ``hr.payroll.run`` to change. A payslip is
readable by its employee once the run is confirmed, or with ``hr.payroll.view``; anyone else
gets 404.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import (
    any_user,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
    validation,
)

from ..models import PayrollRun, Payslip, PayslipLine
from ..schemas.payroll import (
    AdjustmentCreateSchema,
    PayrollItemCreateSchema,
    PayrollItemPage,
    PayrollItemPatchSchema,
    PayrollItemSchema,
    PayrollRunCreateSchema,
    PayrollRunPage,
    PayrollRunQuery,
    PayrollRunSchema,
    PayrollSettingsPatchSchema,
    PayrollSettingsSchema,
    PayslipPage,
    PayslipPageQuery,
    PayslipSchema,
)
from ..services import payroll
from . import blueprint


def _run(run: PayrollRun, numbers: dict[int, str] | None = None) -> dict[str, Any]:
    if numbers is None:
        numbers = payroll.entry_numbers(get_session(), [run])
    return {
        "id": run.id,
        "period": run.period,
        "year": run.year,
        "month": run.month,
        "kind": run.kind,
        "state": run.state,
        "payment_date": run.payment_date,
        "employee_count": run.employee_count,
        "total_gross": run.total_gross,
        "total_deductions": run.total_deductions,
        "total_contributions": run.total_contributions,
        "total_net": run.total_net,
        "entry_id": run.entry_id,
        "entry_number": numbers.get(run.entry_id) if run.entry_id else None,
        "confirmed_at": run.confirmed_at,
        "confirmed_by_id": run.confirmed_by_id,
        "created_at": run.created_at,
    }


def _line(line: PayslipLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "kind": line.kind,
        "code": line.code,
        "name": line.name,
        "rate": line.rate,
        "amount": line.amount,
        "account": line.account,
    }


def _payslip(payslip: Payslip, *, lines: bool = True) -> dict[str, Any]:
    run = payslip.run
    data = {
        "id": payslip.id,
        "run_id": payslip.run_id,
        "period": run.period,
        "run_kind": run.kind,
        "run_state": run.state,
        "payment_date": run.payment_date,
        "employee_id": payslip.employee_id,
        "employee_number": payslip.employee.number,
        "employee_name": payslip.employee.name,
        "contract_id": payslip.contract_id,
        "gross": payslip.gross,
        "total_deductions": payslip.total_deductions,
        "total_contributions": payslip.total_contributions,
        "net": payslip.net,
    }
    if lines:
        data["lines"] = [_line(line) for line in payslip.lines]
    return data


# --- runs -----------------------------------------------------------------------------------------


@blueprint.route("/payroll-runs", methods=["GET"])
@blueprint.arguments(PayrollRunQuery, location="query")
@blueprint.response(200, PayrollRunPage)
@require_permission("hr.payroll.view")
def payroll_runs_list(args: dict[str, Any]) -> dict[str, Any]:
    """Payroll runs, newest first; ``year`` filters."""
    session = get_session()
    sort, _descending = api_sort(args["sort"], payroll.RUN_SORTS, "id", newest_first=True)
    page = payroll.list_runs(
        session,
        limit=args["limit"],
        after=decode_cursor(args["cursor"], column=payroll.RUN_SORTS[sort]),
        year=args["year"],
    )
    numbers = payroll.entry_numbers(session, page.items)
    return api_page(page, lambda run: _run(run, numbers))


@blueprint.route("/payroll-runs", methods=["POST"])
@blueprint.arguments(PayrollRunCreateSchema)
@blueprint.response(201, PayrollRunSchema)
@require_permission("hr.payroll.run")
def payroll_runs_create(data: dict[str, Any]) -> dict[str, Any]:
    """Compute a draft run for ``month`` (YYYY-MM). A second regular run for a month is 409; a
    correction needs the month's regular run confirmed and ``employee_ids`` (422 otherwise)."""
    errors: dict[str, list[str]] = {}
    year, month = payroll.parse_period(data["month"], errors)
    validation.raise_if(errors, "invalid payroll run")
    run = payroll.create_run(
        get_session(),
        year,
        month,
        kind=data["kind"],
        payment_date=data["payment_date"],
        employee_ids=data["employee_ids"],
    )
    api_commit()
    return _run(run)


@blueprint.route("/payroll-runs/<int:run_id>", methods=["GET"])
@blueprint.response(200, PayrollRunSchema)
@require_permission("hr.payroll.view")
def payroll_runs_get(run_id: int) -> dict[str, Any]:
    """A run with its totals (and, once confirmed, its ledger entry)."""
    return _run(payroll.get_run(get_session(), run_id))


@blueprint.route("/payroll-runs/<int:run_id>", methods=["DELETE"])
@blueprint.response(204)
@require_permission("hr.payroll.run")
def payroll_runs_delete(run_id: int) -> None:
    """Delete a draft run; a confirmed run is 409."""
    session = get_session()
    payroll.delete_run(session, payroll.get_run(session, run_id))
    api_commit()


@blueprint.route("/payroll-runs/<int:run_id>/confirm", methods=["POST"])
@blueprint.response(200, PayrollRunSchema)
@require_permission("hr.payroll.run")
def payroll_runs_confirm(run_id: int) -> dict[str, Any]:
    """Post the run to the ledger (one balanced entry) and lock it. Already confirmed: 409; a
    locked ledger period or a negative net pay: 422, nothing stored."""
    session = get_session()
    run = payroll.confirm_run(session, payroll.get_run(session, run_id))
    api_commit()
    return _run(run)


@blueprint.route("/payroll-runs/<int:run_id>/payslips", methods=["GET"])
@blueprint.arguments(PayslipPageQuery, location="query")
@blueprint.response(200, PayslipPage)
@require_permission("hr.payroll.view")
def payroll_runs_payslips(args: dict[str, Any], run_id: int) -> dict[str, Any]:
    """A run's payslips (without their lines) in employee number order."""
    session = get_session()
    run = payroll.get_run(session, run_id)
    page = payroll.run_payslips(
        session, run, limit=args["limit"], after=decode_cursor(args["cursor"], column=Payslip.id)
    )
    return api_page(page, lambda slip: _payslip(slip, lines=False))


# --- payslips -------------------------------------------------------------------------------------


@blueprint.route("/payslips/<int:payslip_id>", methods=["GET"])
@blueprint.response(200, PayslipSchema)
@any_user
def payslips_get(payslip_id: int) -> dict[str, Any]:
    """A payslip with its lines: the employee's own (confirmed runs) or any with ``hr.payroll.view``."""
    return _payslip(payroll.get_payslip(get_session(), payslip_id))


@blueprint.route("/payslips/<int:payslip_id>/adjustments", methods=["POST"])
@blueprint.arguments(AdjustmentCreateSchema)
@blueprint.response(201, PayslipSchema)
@require_permission("hr.payroll.run")
def payslips_adjust(data: dict[str, Any], payslip_id: int) -> dict[str, Any]:
    """Add a bonus (positive ``amount``) or a reduction of gross (negative) to a payslip of a draft
    run; deductions, contributions and the run's totals follow. A confirmed run is 409."""
    session = get_session()
    payslip = payroll.get_payslip(session, payslip_id)
    payroll.add_adjustment(session, payslip, data["name"], data["amount"])
    api_commit()
    return _payslip(payslip)


@blueprint.route("/payslips/<int:payslip_id>/adjustments/<int:line_id>", methods=["DELETE"])
@blueprint.response(200, PayslipSchema)
@require_permission("hr.payroll.run")
def payslips_unadjust(payslip_id: int, line_id: int) -> dict[str, Any]:
    """Take an adjustment off a payslip of a draft run."""
    session = get_session()
    payslip = payroll.get_payslip(session, payslip_id)
    payroll.remove_adjustment(session, payslip, line_id)
    api_commit()
    return _payslip(payslip)


@blueprint.route("/employees/<int:employee_id>/payslips", methods=["GET"])
@blueprint.response(200, PayslipPage)
@any_user
def employee_payslips(employee_id: int) -> dict[str, Any]:
    """An employee's payslips, newest first: their own (confirmed runs), or any with ``hr.payroll.view``."""
    _employee, payslips = payroll.employee_payslips(get_session(), employee_id)
    return {
        "items": [_payslip(p, lines=False) for p in payslips],
        "next_cursor": None,
    }


# --- items and settings ---------------------------------------------------------------------------


def _item(item: Any) -> dict[str, Any]:
    return {key: getattr(item, key) for key in PayrollItemSchema().fields}


@blueprint.route("/payroll-items", methods=["GET"])
@blueprint.response(200, PayrollItemPage)
@require_permission("hr.payroll.view")
def payroll_items_list() -> dict[str, Any]:
    """Every payroll item (active or not) in the order they apply."""
    return {"items": [_item(i) for i in payroll.list_items(get_session())], "next_cursor": None}


@blueprint.route("/payroll-items", methods=["POST"])
@blueprint.arguments(PayrollItemCreateSchema)
@blueprint.response(201, PayrollItemSchema)
@require_permission("hr.payroll.run")
def payroll_items_create(data: dict[str, Any]) -> dict[str, Any]:
    """A deduction or an employer contribution: ``method`` percent (``rate``) or fixed (``amount``),
    owed to ``payable_account``; ``code`` unique."""
    item = payroll.create_item(get_session(), data)
    api_commit()
    return _item(item)


@blueprint.route("/payroll-items/<int:item_id>", methods=["GET"])
@blueprint.response(200, PayrollItemSchema)
@require_permission("hr.payroll.view")
def payroll_items_get(item_id: int) -> dict[str, Any]:
    return _item(payroll.get_item(get_session(), item_id))


@blueprint.route("/payroll-items/<int:item_id>", methods=["PATCH"])
@blueprint.arguments(PayrollItemPatchSchema)
@blueprint.response(200, PayrollItemSchema)
@require_permission("hr.payroll.run")
def payroll_items_update(data: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Change an item (``"active": false`` stops applying it to new runs)."""
    session = get_session()
    item = payroll.update_item(session, payroll.get_item(session, item_id), data)
    api_commit()
    return _item(item)


def _settings(settings: Any) -> dict[str, Any]:
    return {key: getattr(settings, key) for key in payroll.SETTINGS_FIELDS}


@blueprint.route("/payroll-settings", methods=["GET"])
@blueprint.response(200, PayrollSettingsSchema)
@require_permission("hr.payroll.view")
def payroll_settings_get() -> dict[str, Any]:
    """The payroll journal and accounts."""
    settings = payroll.get_settings(get_session())
    api_commit()  # created with the defaults the first time
    return _settings(settings)


@blueprint.route("/payroll-settings", methods=["PATCH"])
@blueprint.arguments(PayrollSettingsPatchSchema)
@blueprint.response(200, PayrollSettingsSchema)
@require_permission("hr.payroll.run")
def payroll_settings_update(data: dict[str, Any]) -> dict[str, Any]:
    """Change the journal code and accounts (short account codes); missing ones are created when a
    run is confirmed."""
    settings = payroll.update_settings(get_session(), data)
    api_commit()
    return _settings(settings)
