"""Accounting's report, chart of accounts, tax, fiscal year and bank statement pages.

Registered on the blueprint of ``views``. Each view translates HTTP to one
service call (``services.reports``, ``chart``, ``taxes``, ``periods``,
``statements`` or the core ledger) and back: figures, rules and checks all come
from the services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.plugin_api import (
    Company,
    Conflict,
    NotFound,
    ValidationError,
    companies,
    company_id_of,
    csv_response,
    get_session,
    granting,
    ledger,
    require_permission,
)

from .models import TAX_SCOPES
from .services import chart, periods, reports, statements, taxes
from .services.common import list_bank_journals, parse_date
from .views import blueprint

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")  # the core ledger's types


# --- helpers ---------------------------------------------------------------------------------------


def _date_args(errors: dict[str, list[str]], *names: str) -> dict[str, dt.date | None]:
    """Dates from the query string; a malformed one becomes a form message, never an error page."""
    values: dict[str, dt.date | None] = {}
    for name in names:
        raw = request.args.get(name, "").strip()
        values[name] = None
        if raw:
            parsed = parse_date(raw, name, errors)  # the services' rule: a date, in range
            values[name] = parsed
    return values


def _fiscal_year_start(session: Any, day: dt.date) -> dt.date:
    company = session.get(Company, company_id_of(session))
    return dt.date(companies.fiscal_year(company, day), company.fiscal_year_start_month or 1, 1)


def _form_values(*names: str) -> dict[str, str]:
    """What the user typed in the period form, to show it back."""
    return {name: request.args.get(name, "").strip() for name in names}


def _wants_csv() -> bool:
    return request.args.get("format") == "csv"


def _period_errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.fields or {"date_from": [exc.message]}


def _accounts(session: Any) -> list[Any]:
    # Report readers and tax managers choose accounts without holding the core's ledger.view.
    with granting(session, "ledger.view"):
        return ledger.list_accounts(session)


def _percent(rate: Decimal) -> str:
    text = f"{rate:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _problem(exc: ValidationError | Conflict) -> str:
    """A refused action in one line: the field messages say what to fix, when there are some."""
    if isinstance(exc, ValidationError) and exc.fields:
        return "; ".join(message for messages in exc.fields.values() for message in messages)
    return exc.message


def _csv_amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


# --- reports -------------------------------------------------------------------------------------------


# The menu (hooks.py) names the index pages' endpoints: reports, chart, taxes, periods, statements.
@blueprint.get("/reports", endpoint="reports")
@require_permission("accounting.report.view")
def reports_index() -> Any:
    return render_template("accounting/reports.html")


@blueprint.get("/reports/trial-balance")
@require_permission("accounting.report.view")
def report_trial_balance() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    dates = _date_args(errors, "date_from", "date_to")
    form = _form_values("date_from", "date_to")
    date_to = dates["date_to"] or dt.date.today()
    if not form["date_to"]:
        form["date_to"] = date_to.isoformat()
    report = None
    if not errors:
        try:
            report = reports.trial_balance(session, date_from=dates["date_from"], date_to=date_to)
        except ValidationError as exc:
            errors = _period_errors(exc)
    if report is not None and _wants_csv():
        rows: list[Sequence[Any]] = [
            [r.code, r.name, r.type, _csv_amount(r.debit), _csv_amount(r.credit), _csv_amount(r.balance)]
            for r in report.rows
        ]
        rows.append(
            [
                "",
                "Total",
                "",
                _csv_amount(report.total_debit),
                _csv_amount(report.total_credit),
                _csv_amount(report.total_debit - report.total_credit),
            ]
        )
        return csv_response(
            f"trial-balance-{date_to.isoformat()}.csv",
            ["code", "account", "type", "debit", "credit", "balance"],
            rows,
        )
    return render_template(
        "accounting/report_trial_balance.html", report=report, form=form, errors=errors
    ), 422 if errors else 200


@blueprint.get("/reports/general-ledger")
@require_permission("accounting.report.view")
def report_general_ledger() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    dates = _date_args(errors, "date_from", "date_to")
    form = _form_values("account", "date_from", "date_to")
    date_to = dates["date_to"] or dt.date.today()
    date_from = dates["date_from"] or _fiscal_year_start(session, date_to)
    form["date_to"] = form["date_to"] or date_to.isoformat()
    form["date_from"] = form["date_from"] or date_from.isoformat()
    report = None
    if form["account"] and not errors:
        try:
            report = reports.general_ledger(session, form["account"], date_from=date_from, date_to=date_to)
        except NotFound:
            errors = {"account": [_("no such account")]}
        except ValidationError as exc:
            errors = _period_errors(exc)
    if report is not None and _wants_csv():
        rows: list[Sequence[Any]] = [
            [report.date_from or "", "", _("Opening balance"), "", "", "", _csv_amount(report.opening)]
        ]
        rows += [
            [
                line.date,
                line.number,
                line.memo,
                line.contact,
                _csv_amount(line.debit),
                _csv_amount(line.credit),
                _csv_amount(line.balance),
            ]
            for line in report.lines
        ]
        rows.append(
            [
                report.date_to or "",
                "",
                _("Closing balance"),
                "",
                _csv_amount(report.total_debit),
                _csv_amount(report.total_credit),
                _csv_amount(report.closing),
            ]
        )
        return csv_response(
            f"general-ledger-{report.account.code}-{date_to.isoformat()}.csv",
            ["date", "number", "memo", "contact", "debit", "credit", "balance"],
            rows,
        )
    return render_template(
        "accounting/report_general_ledger.html",
        report=report,
        form=form,
        errors=errors,
        accounts=_accounts(session),
    ), 422 if errors else 200


def _section_rows(sections: Iterable[Any]) -> list[Sequence[Any]]:
    rows: list[Sequence[Any]] = []
    for section in sections:
        for row in section.rows:
            rows.append(
                [section.title, row.code, row.name, _csv_amount(row.amount), _csv_amount(row.previous)]
            )
        rows.append(
            [
                section.title,
                "",
                f"Total {section.title.lower()}",
                _csv_amount(section.total),
                _csv_amount(section.previous_total),
            ]
        )
    return rows


@blueprint.get("/reports/profit-and-loss")
@require_permission("accounting.report.view")
def report_profit_and_loss() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    dates = _date_args(errors, "date_from", "date_to")
    date_to = dates["date_to"] or dt.date.today()
    date_from = dates["date_from"] or _fiscal_year_start(session, date_to)
    form = _form_values("date_from", "date_to")
    form["date_from"] = form["date_from"] or date_from.isoformat()
    form["date_to"] = form["date_to"] or date_to.isoformat()
    report = None
    if not errors:
        try:
            report = reports.profit_and_loss(session, date_from=date_from, date_to=date_to)
        except ValidationError as exc:
            errors = _period_errors(exc)
    if report is not None and _wants_csv():
        rows = _section_rows([report.income, report.expenses])
        rows.append(
            ["", "", "Net profit", _csv_amount(report.net_profit), _csv_amount(report.previous_net_profit)]
        )
        return csv_response(
            f"profit-and-loss-{date_from.isoformat()}-{date_to.isoformat()}.csv",
            [
                "section",
                "code",
                "account",
                f"{report.date_from.isoformat()}..{report.date_to.isoformat()}",
                f"{report.previous_from.isoformat()}..{report.previous_to.isoformat()}",
            ],
            rows,
        )
    return render_template(
        "accounting/report_profit_and_loss.html", report=report, form=form, errors=errors
    ), 422 if errors else 200


@blueprint.get("/reports/balance-sheet")
@require_permission("accounting.report.view")
def report_balance_sheet() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    dates = _date_args(errors, "as_of", "date_from")
    as_of = dates["as_of"] or dt.date.today()
    form = _form_values("as_of", "date_from")
    form["as_of"] = form["as_of"] or as_of.isoformat()
    report = None
    if not errors:
        try:
            report = reports.balance_sheet(session, date_to=as_of, date_from=dates["date_from"])
        except ValidationError as exc:
            errors = _period_errors(exc)
    if report is not None and _wants_csv():
        rows = _section_rows([report.assets, report.liabilities, report.equity])
        rows.append(
            [
                "",
                "",
                "Total liabilities and equity",
                _csv_amount(report.liabilities_and_equity),
                _csv_amount(report.previous_liabilities_and_equity),
            ]
        )
        rows.append(["", "", "Balanced", "yes" if report.balanced else "no", ""])
        return csv_response(
            f"balance-sheet-{as_of.isoformat()}.csv",
            ["section", "code", "account", report.date.isoformat(), report.previous_date.isoformat()],
            rows,
        )
    return render_template(
        "accounting/report_balance_sheet.html", report=report, form=form, errors=errors
    ), 422 if errors else 200


@blueprint.get("/reports/aged-<any(receivable, payable):side>")
@require_permission("accounting.report.view")
def report_aged(side: str) -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    dates = _date_args(errors, "as_of")
    as_of = dates["as_of"] or dt.date.today()
    form = _form_values("as_of")
    form["as_of"] = form["as_of"] or as_of.isoformat()
    report = None if errors else reports.aged(session, side, as_of=as_of)
    if report is not None and _wants_csv():
        rows: list[Sequence[Any]] = [
            [row.contact, *(_csv_amount(b) for b in row.buckets), _csv_amount(row.total)]
            for row in report.rows
        ]
        rows.append(["Total", *(_csv_amount(t) for t in report.totals), _csv_amount(report.total)])
        return csv_response(
            f"aged-{side}-{as_of.isoformat()}.csv", ["contact", *reports.AGED_BUCKETS, "total"], rows
        )
    return render_template(
        "accounting/report_aged.html",
        report=report,
        side=side,
        form=form,
        errors=errors,
        buckets=reports.AGED_BUCKETS,
    ), 422 if errors else 200


# --- chart of accounts ------------------------------------------------------------------------------------


@blueprint.get("/chart", endpoint="chart")
@require_permission("accounting.view")
def chart_of_accounts() -> Any:
    nodes = chart.account_tree(get_session())
    deletable = {node.account.id for node in nodes if node.deletable}
    return render_template("accounting/chart.html", nodes=nodes, deletable=deletable)


@blueprint.route("/chart/new", methods=["GET", "POST"])
@require_permission("ledger.account.manage")
def account_new() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    data = {"code": "", "name": "", "type": request.args.get("type", "asset"), "parent": ""}
    if request.method == "POST":
        data = {k: request.form.get(k, "").strip() for k in ("code", "name", "type", "parent")}
        try:
            account = ledger.create_account(
                session,
                code=data["code"],
                name=data["name"],
                type=data["type"],
                parent=data["parent"] or None,
            )
            session.commit()
        except (ValidationError, Conflict) as exc:  # a duplicate code is a Conflict
            session.rollback()
            errors = exc.fields or {"code": [exc.message]}
        else:
            flash(_("Account %(code)s %(name)s created.", code=account.code, name=account.name), "success")
            return redirect(url_for("accounting.chart"))
    return render_template(
        "accounting/account_form.html",
        data=data,
        errors=errors,
        accounts=_accounts(session),
        types=ACCOUNT_TYPES,
    ), 422 if errors else 200


def _account(session: Any, account_id: int) -> Any:
    with granting(session, "ledger.view"):
        return ledger.get_account(session, account_id)


@blueprint.post("/chart/<int:account_id>/toggle")
@require_permission("ledger.account.manage")
def account_toggle(account_id: int) -> Any:
    session = get_session()
    account = _account(session, account_id)
    ledger.set_account_active(session, account, not account.active)
    session.commit()
    if account.active:
        flash(_("Account %(code)s activated.", code=account.code), "success")
    else:
        flash(_("Account %(code)s deactivated.", code=account.code), "success")
    return redirect(url_for("accounting.chart"))


@blueprint.post("/chart/<int:account_id>/delete")
@require_permission("ledger.account.manage")
def account_delete(account_id: int) -> Any:
    session = get_session()
    account = _account(session, account_id)
    code = account.code
    try:
        ledger.delete_account(session, account)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Account %(code)s deleted.", code=code), "success")
    return redirect(url_for("accounting.chart"))


# --- taxes ------------------------------------------------------------------------------------------


@blueprint.get("/taxes", endpoint="taxes")
@require_permission("accounting.view")
def tax_list() -> Any:
    return render_template("accounting/taxes.html", taxes=taxes.list_taxes(get_session()), percent=_percent)


def _tax_form_data() -> dict[str, Any]:
    return {
        "name": request.form.get("name", "").strip(),
        "rate": request.form.get("rate", "").strip(),
        "price_include": request.form.get("price_include") == "on",
        "scope": request.form.get("scope", "").strip(),
        "account": request.form.get("account", "").strip(),
        "active": request.form.get("active") == "on",
    }


def _tax_form(tax: Any) -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    if tax is None:
        data: dict[str, Any] = {
            "name": "",
            "rate": "",
            "price_include": False,
            "scope": request.args.get("scope", "sale"),
            "account": "",
            "active": True,
        }
    else:
        data = {
            "name": tax.name,
            "rate": _percent(tax.rate),
            "price_include": tax.price_include,
            "scope": tax.scope,
            "account": tax.account.code,
            "active": tax.active,
        }
    if request.method == "POST":
        data = _tax_form_data()
        try:
            if tax is None:
                fields = {k: v for k, v in data.items() if k != "active"}
                tax = taxes.create_tax(session, **fields)
                message = _("Tax %(name)s created.", name=tax.name)
            else:
                taxes.update_tax(session, tax, **data)
                message = _("Tax %(name)s saved.", name=tax.name)
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            errors = exc.fields or {"name": [exc.message]}
        else:
            flash(message, "success")
            return redirect(url_for("accounting.taxes"))
    return render_template(
        "accounting/tax_form.html",
        tax=tax,
        data=data,
        errors=errors,
        accounts=_accounts(session),
        scopes=TAX_SCOPES,
    ), 422 if errors else 200


@blueprint.route("/taxes/new", methods=["GET", "POST"])
@require_permission("accounting.settings")
def tax_new() -> Any:
    return _tax_form(None)


@blueprint.route("/taxes/<int:tax_id>/edit", methods=["GET", "POST"])
@require_permission("accounting.settings")
def tax_edit(tax_id: int) -> Any:
    return _tax_form(taxes.get_tax(get_session(), tax_id))


# --- fiscal years and the lock date -----------------------------------------------------------------


def _periods_page(errors: dict[str, list[str]], lock_value: str | None = None) -> Any:
    session = get_session()
    company = session.get(Company, company_id_of(session))
    years = periods.fiscal_years(session)
    return render_template(
        "accounting/periods.html",
        years=years,
        lock_date=company.lock_date,
        lock_value=lock_value if lock_value is not None else (company.lock_date or ""),
        errors=errors,
    ), 422 if errors else 200


@blueprint.get("/periods", endpoint="periods")
@require_permission("accounting.view")
def fiscal_periods() -> Any:
    return _periods_page({})


@blueprint.post("/periods/lock")
@require_permission("accounting.period.lock")
def period_lock() -> Any:
    session = get_session()
    value = "" if request.form.get("action") == "clear" else request.form.get("lock_date", "").strip()
    try:
        company = periods.lock_period(session, value)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _periods_page(exc.fields or {"lock_date": [exc.message]}, value)
    if company.lock_date is None:
        flash(_("The lock date is cleared: every period is open."), "success")
    else:
        flash(
            _(
                "The books are locked through %(date)s: postings dated on or before it are refused.",
                date=company.lock_date.isoformat(),
            ),
            "success",
        )
    return redirect(url_for("accounting.periods"))


# --- bank statements -----------------------------------------------------------------------------------


@blueprint.get("/statements", endpoint="statements")
@require_permission("accounting.view")
def statement_list() -> Any:
    return render_template("accounting/statements.html", statements=statements.list_statements(get_session()))


@blueprint.route("/statements/import", methods=["GET", "POST"])
@require_permission("accounting.payment.manage")
def statement_import() -> Any:
    session = get_session()
    journals = list_bank_journals(session)
    errors: dict[str, list[str]] = {}
    data = {"bank_journal": str(journals[0].id) if journals else "", "name": ""}
    if request.method == "POST":
        data = {k: request.form.get(k, "").strip() for k in ("bank_journal", "name")}
        upload = request.files.get("file")
        content = upload.read() if upload is not None else b""
        try:
            statement = statements.import_statement(
                session, bank_journal_ref=data["bank_journal"], content=content, name=data["name"]
            )
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.fields or {"file": [exc.message]}
        else:
            flash(
                _(
                    "Statement %(name)s imported: %(count)d lines.",
                    name=statement.name,
                    count=len(statement.lines),
                ),
                "success",
            )
            return redirect(url_for("accounting.statement_detail", statement_id=statement.id))
    row_errors = sorted(
        ((key, messages) for key, messages in errors.items() if key.startswith("rows.")),
        key=lambda item: [int(p) if p.isascii() and p.isdigit() else 0 for p in item[0].split(".")[1:2]],
    )
    return render_template(
        "accounting/statement_import.html",
        data=data,
        errors=errors,
        row_errors=row_errors,
        journals=journals,
    ), 422 if errors else 200


@blueprint.get("/statements/<int:statement_id>")
@require_permission("accounting.view")
def statement_detail(statement_id: int) -> Any:
    session = get_session()
    statement = statements.get_statement(session, statement_id)
    suggested = {line.id: statements.suggestions(session, line) for line in statement.lines}
    return render_template("accounting/statement_detail.html", statement=statement, suggested=suggested)


def _statement_line(session: Any, statement_id: int, line_id: int) -> Any:
    statement = statements.get_statement(session, statement_id)
    if not any(line.id == line_id for line in statement.lines):
        abort(404)
    return statement


@blueprint.post("/statements/<int:statement_id>/lines/<int:line_id>/match")
@require_permission("accounting.payment.manage")
def statement_line_match(statement_id: int, line_id: int) -> Any:
    session = get_session()
    _statement_line(session, statement_id, line_id)
    raw = request.form.get("invoice_id", "").strip()
    invoice_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None
    try:
        line = statements.match_line(session, line_id, invoice_id)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        flash(_("The line was not matched: %(problem)s", problem=_problem(exc)), "error")
    else:
        flash(_("Line %(description)s matched: payment registered.", description=line.description), "success")
    return redirect(url_for("accounting.statement_detail", statement_id=statement_id))


@blueprint.post("/statements/<int:statement_id>/lines/<int:line_id>/book")
@require_permission("accounting.payment.manage")
def statement_line_book(statement_id: int, line_id: int) -> Any:
    session = get_session()
    _statement_line(session, statement_id, line_id)
    account = request.form.get("account", "").strip()
    try:
        line = statements.book_line(session, line_id, account, request.form.get("memo", ""))
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        flash(_("The line was not booked: %(problem)s", problem=_problem(exc)), "error")
    else:
        flash(
            _("Line %(description)s booked to %(account)s.", description=line.description, account=account),
            "success",
        )
    return redirect(url_for("accounting.statement_detail", statement_id=statement_id))
