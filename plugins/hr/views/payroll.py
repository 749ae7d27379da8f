"""HR pages: payroll runs (compute, review, adjust, confirm to the ledger), payslips (print-friendly,
for the employee too), an employee's payslips, payroll settings and items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.plugin_api import (
    Company,
    Conflict,
    ValidationError,
    any_user,
    company_id_of,
    csv_response,
    get_session,
    pages,
    require_permission,
)

from ..models import PAYROLL_ITEM_KINDS, PAYROLL_ITEM_METHODS, PayrollItem, PayrollRun, Payslip
from ..services import payroll
from . import blueprint

PAYSLIP_PAGE = 100
RUN_PAGE = 50
KIND_LABELS = {"regular": _l("Regular"), "correction": _l("Correction")}
STATE_LABELS = {"draft": _l("Draft"), "confirmed": _l("Confirmed")}
ITEM_KIND_LABELS = {"deduction": _l("Deduction"), "contribution": _l("Employer contribution")}
METHOD_LABELS = {"percent": _l("Percent of gross"), "fixed": _l("Fixed amount")}
SETTINGS_LABELS = {
    "journal_code": _l("Journal"),
    "salary_expense_account": _l("Salary expense account"),
    "contribution_expense_account": _l("Contribution expense account"),
    "net_payable_account": _l("Net wages payable account"),
}


@blueprint.app_template_global("hr_payroll_labels")
def hr_payroll_labels() -> dict[str, Any]:
    return {
        "kinds": KIND_LABELS,
        "states": STATE_LABELS,
        "item_kinds": ITEM_KIND_LABELS,
        "methods": METHOD_LABELS,
        # Core's badge colours: a confirmed run looks like a posted entry.
        "badges": {"draft": "state-draft", "confirmed": "state-posted"},
    }


def _company() -> Company:
    session = get_session()
    return session.get(Company, company_id_of(session))


def _flash_error(exc: ValidationError | Conflict) -> None:
    flash(exc.message, "error")


# --- runs -----------------------------------------------------------------------------------------


@blueprint.get("/payroll")
@require_permission("hr.payroll.view")
def payroll_runs() -> Any:
    """Payroll runs, newest first."""
    session = get_session()
    page = payroll.list_runs(session, limit=RUN_PAGE, after=pages.cursor_arg(PayrollRun.id))
    return render_template(
        "hr/payroll_runs.html",
        page=page,
        numbers=payroll.entry_numbers(session, page.items),
        can_run=pages.actor_can("hr.payroll.run"),
        currency=_company().base_currency,
    )


def _render_new(data: dict[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    shown = {"month", "kind", "payment_date", "employee_ids"}
    return render_template(
        "hr/payroll_new.html",
        data=data,
        errors=errors,
        general_errors=[f"{k}: {'; '.join(v)}" for k, v in errors.items() if k not in shown],
        employees=payroll.correction_choices(get_session()),
    ), status


@blueprint.route("/payroll/new", methods=["GET", "POST"])
@require_permission("hr.payroll.run")
def payroll_new() -> Any:
    """Compute a run: a month (YYYY-MM), regular or correction (with its employees), a payment date."""
    session = get_session()
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in ("month", "kind", "payment_date")}
        data["employee_ids"] = request.form.getlist("employee_ids")
        errors: dict[str, list[str]] = {}
        year, month = payroll.parse_period(data["month"], errors)
        if errors:
            return _render_new(data, errors, 422)
        try:
            run = payroll.create_run(
                session,
                year,
                month,
                kind=data["kind"] or "regular",
                payment_date=data["payment_date"] or None,
                employee_ids=data["employee_ids"] if data["kind"] == "correction" else None,
            )
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            return _render_new(data, exc.fields or {"month": [exc.message]}, exc.status)
        flash(
            _(
                "Payroll %(period)s computed for %(count)s employees: review it, then confirm.",
                period=run.period,
                count=run.employee_count,
            ),
            "success",
        )
        return redirect(url_for("hr.payroll_run", run_id=run.id))
    today = dt.date.today()
    data = {
        "month": f"{today.year:04d}-{today.month:02d}",
        "kind": "regular",
        "payment_date": "",
        "employee_ids": [],
    }
    return _render_new(data, {})


@blueprint.get("/payroll/<int:run_id>")
@require_permission("hr.payroll.view")
def payroll_run(run_id: int) -> Any:
    """A run: its totals, its payslips (a page at a time), confirm or delete a draft, CSV export."""
    session = get_session()
    run = payroll.get_run(session, run_id)
    if request.args.get("format") == "csv":
        return csv_response(
            f"payroll-{run.period}{'-correction' if run.kind == 'correction' else ''}-{run.id}.csv",
            ["number", "employee", "gross", "deductions", "contributions", "net"],
            _csv_rows(session, run),
        )
    page = payroll.run_payslips(session, run, limit=PAYSLIP_PAGE, after=pages.cursor_arg(Payslip.id))
    return render_template(
        "hr/payroll_run.html",
        run=run,
        page=page,
        entry_number=payroll.entry_numbers(session, [run]).get(run.entry_id),
        can_run=pages.actor_can("hr.payroll.run"),
        can_see_ledger=pages.actor_can("ledger.view"),
        currency=_company().base_currency,
    )


def _csv_rows(session: Any, run: PayrollRun) -> Iterator[list[Any]]:
    for row in payroll.payslip_rows(session, run):
        yield [row.number, row.name, row.gross, row.deductions, row.contributions, row.net]


@blueprint.route("/payroll/<int:run_id>/confirm", methods=["GET", "POST"])
@require_permission("hr.payroll.run")
def payroll_confirm(run_id: int) -> Any:
    """A confirmation step, then post the run to the ledger and lock it."""
    session = get_session()
    run = payroll.get_run(session, run_id)
    if run.state != "draft":
        flash(_("Payroll %(period)s is already confirmed.", period=run.period), "error")
        return redirect(url_for("hr.payroll_run", run_id=run.id))
    settings = payroll.get_settings(session)
    if request.method == "POST":
        try:
            payroll.confirm_run(session, run)
            session.commit()
        except Conflict as exc:
            session.rollback()
            _flash_error(exc)
            return redirect(url_for("hr.payroll_run", run_id=run_id))
        except ValidationError as exc:
            session.rollback()
            run = payroll.get_run(session, run_id)
            return render_template(
                "hr/payroll_confirm.html",
                run=run,
                settings=settings,
                error=exc,
                currency=_company().base_currency,
            ), 422
        number = payroll.entry_numbers(session, [run]).get(run.entry_id)
        flash(
            _("Payroll %(period)s confirmed and posted as %(number)s.", period=run.period, number=number),
            "success",
        )
        return redirect(url_for("hr.payroll_run", run_id=run.id))
    return render_template(
        "hr/payroll_confirm.html", run=run, settings=settings, error=None, currency=_company().base_currency
    )


@blueprint.post("/payroll/<int:run_id>/delete")
@require_permission("hr.payroll.run")
def payroll_delete(run_id: int) -> Any:
    """Delete a draft run (a confirmed one is locked)."""
    session = get_session()
    run = payroll.get_run(session, run_id)
    period = run.period
    try:
        payroll.delete_run(session, run)
        session.commit()
    except Conflict as exc:
        session.rollback()
        _flash_error(exc)
        return redirect(url_for("hr.payroll_run", run_id=run_id))
    flash(_("Draft payroll %(period)s deleted.", period=period), "success")
    return redirect(url_for("hr.payroll_runs"))


# --- payslips -------------------------------------------------------------------------------------


@blueprint.get("/payroll/<int:run_id>/my-payslip")
@any_user
def my_payslip(run_id: int) -> Any:
    """The link of the "payslip available" message: the reader's own payslip of the run."""
    payslip = payroll.my_payslip_in(get_session(), run_id)
    return redirect(url_for("hr.payslip", payslip_id=payslip.id))


def _render_payslip(
    payslip: Payslip,
    errors: dict[str, list[str]] | None = None,
    data: dict[str, str] | None = None,
    status: int = 200,
) -> Any:
    run = payslip.run
    return render_template(
        "hr/payroll_payslip.html",
        payslip=payslip,
        run=run,
        employee=payslip.employee,
        parts=payroll.payslip_sections(payslip),  # not ``sections``: the base layout uses that name
        company=_company(),
        can_adjust=run.state == "draft" and pages.actor_can("hr.payroll.run"),
        can_see_run=pages.actor_can("hr.payroll.view"),
        errors=errors or {},
        data=data or {"name": "", "amount": ""},
    ), status


@blueprint.get("/payslips/<int:payslip_id>")
@any_user
def payslip(payslip_id: int) -> Any:
    """A payslip, laid out for printing: the employee's own once confirmed, or any with hr.payroll.view."""
    return _render_payslip(payroll.get_payslip(get_session(), payslip_id))


@blueprint.post("/payslips/<int:payslip_id>/adjust")
@require_permission("hr.payroll.run")
def payslip_adjust(payslip_id: int) -> Any:
    """Add an adjustment (``name``, ``amount``: positive a bonus, negative a reduction of gross), or
    remove one (``remove`` = its line id), on a payslip of a draft run."""
    session = get_session()
    slip = payroll.get_payslip(session, payslip_id)
    data = {key: request.form.get(key, "").strip() for key in ("name", "amount", "remove")}
    try:
        if data["remove"]:
            payroll.remove_adjustment(session, slip, data["remove"])
        else:
            payroll.add_adjustment(session, slip, data["name"], data["amount"])
        session.commit()
    except Conflict as exc:
        session.rollback()
        _flash_error(exc)
        return redirect(url_for("hr.payslip", payslip_id=payslip_id))
    except ValidationError as exc:
        session.rollback()
        slip = payroll.get_payslip(session, payslip_id)
        if data["remove"]:
            _flash_error(exc)
            return redirect(url_for("hr.payslip", payslip_id=payslip_id))
        return _render_payslip(slip, exc.fields or {"amount": [exc.message]}, data, 422)
    flash(_("Adjustment removed.") if data["remove"] else _("Adjustment added."), "success")
    return redirect(url_for("hr.payslip", payslip_id=payslip_id))


@blueprint.get("/employees/<int:employee_id>/payslips")
@any_user
def employee_payslips(employee_id: int) -> Any:
    """An employee's payslips: their own (confirmed runs), or anyone's with hr.payroll.view."""
    employee, slips = payroll.employee_payslips(get_session(), employee_id)
    return render_template(
        "hr/payroll_employee_payslips.html",
        employee=employee,
        payslips=slips,
        currency=_company().base_currency,
    )


# --- settings and items ---------------------------------------------------------------------------


@blueprint.route("/payroll/settings", methods=["GET", "POST"])
@require_permission("hr.payroll.run")
def payroll_settings() -> Any:
    """Where payroll posts (the journal and accounts) and the payroll items."""
    session = get_session()
    settings = payroll.get_settings(session)
    errors: dict[str, list[str]] = {}
    data = {key: getattr(settings, key) for key in payroll.SETTINGS_FIELDS}
    status = 200
    if request.method == "POST":
        data = {key: request.form.get(key, "") for key in payroll.SETTINGS_FIELDS}
        try:
            payroll.update_settings(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors, status = exc.fields or {"journal_code": [exc.message]}, 422
        else:
            flash(_("Payroll settings saved."), "success")
            return redirect(url_for("hr.payroll_settings"))
    return render_template(
        "hr/payroll_settings.html",
        data=data,
        errors=errors,
        fields=SETTINGS_LABELS,
        items=payroll.list_items(session),
    ), status


def _item_data(item: PayrollItem | None) -> dict[str, Any]:
    if item is None:
        return {"code": "", "name": "", "kind": "deduction", "method": "percent", "rate": "", "amount": "",
                "payable_account": "", "sequence": "10", "active": True}  # fmt: skip
    return {
        "code": item.code,
        "name": item.name,
        "kind": item.kind,
        "method": item.method,
        "rate": f"{item.rate.normalize():f}" if item.method == "percent" else "",
        "amount": pages.form_decimal(item.amount) if item.method == "fixed" else "",
        "payable_account": item.payable_account,
        "sequence": str(item.sequence),
        "active": item.active,
    }


def _posted_item() -> dict[str, Any]:
    keys = ("code", "name", "kind", "method", "rate", "amount", "payable_account", "sequence")
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in keys}
    data["active"] = request.form.get("active") == "on"
    return data


def _item_payload(data: dict[str, Any]) -> dict[str, Any]:
    """The form as the service takes it: the unused one of rate and amount is left out."""
    payload = dict(data)
    if data["method"] == "fixed":
        payload.pop("rate")
    else:
        payload.pop("amount")
    if not data["sequence"]:
        payload.pop("sequence")
    return payload


def _render_item_form(item: PayrollItem | None, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    return render_template(
        "hr/payroll_item_form.html",
        item=item,
        data=data,
        errors=errors,
        kinds=PAYROLL_ITEM_KINDS,
        methods=PAYROLL_ITEM_METHODS,
    ), 422 if errors else 200


@blueprint.route("/payroll/items/new", methods=["GET", "POST"])
@require_permission("hr.payroll.run")
def payroll_item_new() -> Any:
    """A new deduction or employer contribution."""
    session = get_session()
    if request.method == "POST":
        data = _posted_item()
        try:
            item = payroll.create_item(session, _item_payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_item_form(None, data, exc.fields or {"code": [exc.message]})
        flash(_("Payroll item %(code)s created.", code=item.code), "success")
        return redirect(url_for("hr.payroll_settings"))
    return _render_item_form(None, _item_data(None), {})


@blueprint.route("/payroll/items/<int:item_id>/edit", methods=["GET", "POST"])
@require_permission("hr.payroll.run")
def payroll_item_edit(item_id: int) -> Any:
    """Change a payroll item, or deactivate it (it no longer applies to new runs)."""
    session = get_session()
    item = payroll.get_item(session, item_id)
    if request.method == "POST":
        data = _posted_item()
        try:
            payroll.update_item(session, item, _item_payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_item_form(
                payroll.get_item(session, item_id), data, exc.fields or {"code": [exc.message]}
            )
        flash(_("Payroll item %(code)s saved.", code=item.code), "success")
        return redirect(url_for("hr.payroll_settings"))
    return _render_item_form(item, _item_data(item), {})
