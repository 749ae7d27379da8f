"""Accounting's REST API under ``/api/v1/accounting``: it only translates HTTP to ``services``.

Chart of accounts, taxes, invoices (customer invoices and credit notes), bills
(vendor bills and credit notes), payments, reports, bank statements and the lock
date. Amounts travel as decimal strings; errors are core's
``{"error": {"code", "message", "fields"}}`` (422 bad input, 409 wrong state,
404 unknown or another collection's document).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from flask import Response
from flask_smorest import Blueprint
from sqlalchemy import select

from core.plugin_api import (
    Account,
    Company,
    NotFound,
    ValidationError,
    actor_of,
    api_commit,
    api_page,
    api_sort,
    check_permission,
    company_id_of,
    decode_cursor,
    get_session,
    granting,
    keyset_page,
    ledger,
    require_permission,
)

from .models import CUSTOMER_KINDS, VENDOR_KINDS, Allocation, Invoice, Payment, Statement, StatementLine, Tax
from .schemas import (
    AgedQuery,
    AgedSchema,
    AllocateRequest,
    ApplyCreditRequest,
    BalanceSheetQuery,
    BalanceSheetSchema,
    BillCreateSchema,
    BookRequest,
    CancelRequest,
    ChartSchema,
    CreditNoteRequest,
    GeneralLedgerQuery,
    GeneralLedgerSchema,
    InvoiceCreateSchema,
    InvoicePage,
    InvoicePatchSchema,
    InvoiceQuery,
    InvoiceSchema,
    LockDateSchema,
    MatchRequest,
    PaymentCreateSchema,
    PaymentPage,
    PaymentQuery,
    PaymentSchema,
    PeriodQuery,
    ProfitAndLossSchema,
    ReportTrialBalanceSchema,
    RequiredPeriodQuery,
    StatementImportSchema,
    StatementLineSchema,
    StatementSchema,
    TaxPage,
    TaxPatchSchema,
    TaxQuery,
    TaxSchema,
)
from .services import chart, invoices, payments, periods, reports, statements, taxes
from .services.reports import AGED_BUCKETS

blueprint = Blueprint("accounting_api", __name__, url_prefix="/api/v1/accounting", description="Accounting")


def _code(account: Account | None) -> str | None:
    return account.code if account is not None else None


# --- chart of accounts ----------------------------------------------------------------------------


@blueprint.route("/accounts", methods=["GET"])
@blueprint.response(200, ChartSchema)
@require_permission("accounting.view")
def accounts_list() -> dict[str, Any]:
    """The chart of accounts in tree order (parents first), with balances; create accounts with
    ``POST /api/v1/ledger/accounts``."""
    nodes = chart.account_tree(get_session())
    codes = {node.account.id: node.account.code for node in nodes}
    items = [
        {
            "id": node.account.id,
            "code": node.account.code,
            "name": node.account.name,
            "type": node.account.type,
            "parent": codes.get(node.account.parent_id),
            "active": node.account.active,
            "balance": node.balance,
            "depth": node.depth,
            "has_postings": node.has_postings,
            "deletable": node.deletable,
        }
        for node in nodes
    ]
    return {"items": items, "next_cursor": None}


@blueprint.route("/accounts/<code>", methods=["DELETE"])
@blueprint.response(204)
@require_permission("ledger.account.manage")
def accounts_delete(code: str) -> None:
    """Delete an account nothing refers to; one with postings, sub-accounts or taxes is 409.

    Managing accounts is the core ledger's permission, ``ledger.account.manage``."""
    session = get_session()
    with granting(session, "ledger.view"):
        account = ledger.get_account(session, code)
    ledger.delete_account(session, account)
    api_commit()


# --- taxes ----------------------------------------------------------------------------------------

TAX_SORTS = {"name": Tax.name, "rate": Tax.rate, "id": Tax.id}


def _tax(tax: Tax) -> dict[str, Any]:
    return {
        "id": tax.id,
        "name": tax.name,
        "rate": tax.rate,
        "price_include": tax.price_include,
        "scope": tax.scope,
        "account": _code(tax.account),
        "active": tax.active,
    }


@blueprint.route("/taxes", methods=["GET"])
@blueprint.arguments(TaxQuery, location="query")
@blueprint.response(200, TaxPage)
@require_permission("accounting.view")
def taxes_list(args: dict[str, Any]) -> dict[str, Any]:
    """Taxes by name; ``q`` matches the name, ``scope`` and ``active`` filter."""
    session = get_session()
    sort, descending = api_sort(args["sort"], TAX_SORTS, "name")
    stmt = select(Tax).where(Tax.company_id == company_id_of(session))
    if args["q"]:
        stmt = stmt.where(Tax.name.icontains(args["q"], autoescape=True))
    if args["scope"] is not None:
        stmt = stmt.where(Tax.scope == args["scope"])
    if args["active"] is not None:
        stmt = stmt.where(Tax.active.is_(args["active"]))
    page = keyset_page(
        session,
        stmt,
        column=TAX_SORTS[sort],
        id_column=Tax.id,
        descending=descending,
        after=decode_cursor(args["cursor"], column=TAX_SORTS[sort]),
        limit=args["limit"],
    )
    return api_page(page, _tax)


@blueprint.route("/taxes", methods=["POST"])
@blueprint.arguments(TaxSchema)
@blueprint.response(201, TaxSchema)
@require_permission("accounting.settings")
def taxes_create(data: dict[str, Any]) -> dict[str, Any]:
    """Create a tax: a percent ``rate``, ``price_include``, ``scope`` (sale or purchase), ``account`` code."""
    tax = taxes.create_tax(get_session(), **data)
    api_commit()
    return _tax(tax)


@blueprint.route("/taxes/<int:tax_id>", methods=["GET"])
@blueprint.response(200, TaxSchema)
@require_permission("accounting.view")
def taxes_get(tax_id: int) -> dict[str, Any]:
    return _tax(taxes.get_tax(get_session(), tax_id))


@blueprint.route("/taxes/<int:tax_id>", methods=["PATCH"])
@blueprint.arguments(TaxPatchSchema)
@blueprint.response(200, TaxSchema)
@require_permission("accounting.settings")
def taxes_update(data: dict[str, Any], tax_id: int) -> dict[str, Any]:
    """Change a tax (posted documents keep their amounts); ``"active": false`` retires it."""
    session = get_session()
    tax = taxes.update_tax(session, taxes.get_tax(session, tax_id), **data)
    api_commit()
    return _tax(tax)


# --- invoices and bills ---------------------------------------------------------------------------


def _line(line: Any) -> dict[str, Any]:
    return {
        "id": line.id,
        "description": line.description,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "tax": line.tax_id,
        "tax_name": line.tax.name if line.tax is not None else None,
        "account": _code(line.account),
        "subtotal": line.subtotal,
        "tax_amount": line.tax_amount,
        "total": line.total,
    }


def _allocation(allocation: Allocation) -> dict[str, Any]:
    return {
        "id": allocation.id,
        "date": allocation.date,
        "amount": allocation.amount,
        "invoice_id": allocation.invoice_id,
        "payment_id": allocation.payment_id,
        "credit_note_id": allocation.credit_note_id,
    }


def _invoice_summary(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "kind": invoice.kind,
        "number": invoice.number,
        "state": invoice.state,
        "contact_id": invoice.contact_id,
        "contact_name": invoice.contact.name,
        "date": invoice.date,
        "due_date": invoice.due_date,
        "reference": invoice.reference,
        "currency": invoice.currency,
        "untaxed_amount": invoice.untaxed_amount,
        "tax_amount": invoice.tax_amount,
        "total": invoice.total,
        "residual": invoice.residual,
        "refund_of_id": invoice.refund_of_id,
    }


def _invoice(invoice: Invoice) -> dict[str, Any]:
    session = get_session()
    return {
        **_invoice_summary(invoice),
        "payment_term_id": invoice.payment_term_id,
        "notes": invoice.notes,
        "entry_id": invoice.entry_id,
        "entry_number": invoice.entry.number if invoice.entry is not None else None,
        "posted_at": invoice.posted_at,
        "lines": [_line(line) for line in invoice.lines],
        "allocations": [_allocation(a) for a in payments.payments_of(session, invoice)],
    }


def _may_post() -> None:
    """Posting at once needs the posting permission: checked before anything is written."""
    check_permission(actor_of(get_session()), "accounting.invoice.post")


PDF_FILE = {"type": "string", "format": "binary"}


def _documents(collection: str, kinds: Sequence[str], create_schema: Any, label: str) -> None:
    """Register one collection of documents (invoices or bills): the same shape, its own kinds."""
    endpoint = collection.replace("-", "_")

    def fetch(document_id: int) -> Invoice:
        invoice = invoices.get_invoice(get_session(), document_id)
        if invoice.kind not in kinds:  # a bill is not found among invoices, and vice versa
            raise NotFound(f"{label} {document_id} not found")
        return invoice

    @blueprint.route(f"/{collection}", methods=["GET"], endpoint=f"{endpoint}_list")
    @blueprint.arguments(InvoiceQuery, location="query")
    @blueprint.response(200, InvoicePage)
    @require_permission("accounting.view")
    def list_(args: dict[str, Any]) -> dict[str, Any]:
        """Documents by keyset, newest first (``sort``: date, number, due_date, total, residual, id;
        ``-`` for descending); filters ``state``, ``contact_id``, ``q``, ``date_from``, ``date_to``."""
        sort, descending = api_sort(args["sort"], invoices.INVOICE_SORTS, "date", newest_first=True)
        page = invoices.list_invoices(
            get_session(),
            kinds=kinds,
            sort=sort,
            descending=descending,
            after=decode_cursor(args["cursor"], column=invoices.INVOICE_SORTS[sort]),
            limit=args["limit"],
            **{key: args[key] for key in ("state", "contact_id", "q", "date_from", "date_to")},
        )
        return api_page(page, _invoice_summary)

    @blueprint.route(f"/{collection}", methods=["POST"], endpoint=f"{endpoint}_create")
    @blueprint.arguments(create_schema)
    @blueprint.response(201, InvoiceSchema)
    @require_permission("accounting.invoice.manage")
    def create(data: dict[str, Any]) -> dict[str, Any]:
        """Create a draft; ``"post": true`` posts it at once (refused whole if it cannot be posted)."""
        post = data.pop("post")
        if post:
            _may_post()
        session = get_session()
        invoice = invoices.create_invoice(session, data)
        if post:
            invoices.post_invoice(session, invoice)
        api_commit()
        return _invoice(invoice)

    @blueprint.route(f"/{collection}/<int:document_id>", methods=["GET"], endpoint=f"{endpoint}_get")
    @blueprint.response(200, InvoiceSchema)
    @require_permission("accounting.view")
    def get(document_id: int) -> dict[str, Any]:
        return _invoice(fetch(document_id))

    @blueprint.route(f"/{collection}/<int:document_id>", methods=["PATCH"], endpoint=f"{endpoint}_update")
    @blueprint.arguments(InvoicePatchSchema)
    @blueprint.response(200, InvoiceSchema)
    @require_permission("accounting.invoice.manage")
    def update(data: dict[str, Any], document_id: int) -> dict[str, Any]:
        """Change a draft (``lines`` replace them all); a posted document is 409: credit it instead."""
        invoice = invoices.update_invoice(get_session(), fetch(document_id), data)
        api_commit()
        return _invoice(invoice)

    @blueprint.route(f"/{collection}/<int:document_id>", methods=["DELETE"], endpoint=f"{endpoint}_delete")
    @blueprint.response(204)
    @require_permission("accounting.invoice.manage")
    def delete(document_id: int) -> None:
        """Delete a draft; a posted document is 409."""
        invoices.delete_invoice(get_session(), fetch(document_id))
        api_commit()

    @blueprint.route(f"/{collection}/<int:document_id>/post", methods=["POST"], endpoint=f"{endpoint}_post")
    @blueprint.response(200, InvoiceSchema)
    @require_permission("accounting.invoice.post")
    def post(document_id: int) -> dict[str, Any]:
        """Number and post a draft (no lines, a locked date...: 422 with field errors)."""
        invoice = invoices.post_invoice(get_session(), fetch(document_id))
        api_commit()
        return _invoice(invoice)

    @blueprint.route(
        f"/{collection}/<int:document_id>/credit-note", methods=["POST"], endpoint=f"{endpoint}_credit_note"
    )
    @blueprint.arguments(CreditNoteRequest)
    @blueprint.response(201, InvoiceSchema)
    @require_permission("accounting.invoice.manage")
    def credit_note(data: dict[str, Any], document_id: int) -> dict[str, Any]:
        """Draft the credit note reversing a posted document (``"post": true`` posts it, settling
        what is still open on the original). Returns the credit note."""
        if data["post"]:
            _may_post()
        session = get_session()
        credit = invoices.create_credit_note(
            session, fetch(document_id), date=data["date"], reason=data["reason"]
        )
        if data["post"]:
            invoices.post_invoice(session, credit)
        api_commit()
        return _invoice(credit)

    @blueprint.route(f"/{collection}/<int:document_id>/apply", methods=["POST"], endpoint=f"{endpoint}_apply")
    @blueprint.arguments(ApplyCreditRequest)
    @blueprint.response(200, InvoiceSchema)
    @require_permission("accounting.payment.manage")
    def apply(data: dict[str, Any], document_id: int) -> dict[str, Any]:
        """Settle an open document of the same contact with this open credit note.

        ``{"invoice_id", "amount"?}``; the amount defaults to what both can take. Returns the credit note."""
        credit = fetch(document_id)
        invoices.apply_credit_note(get_session(), credit, data["invoice_id"], data.get("amount"))
        api_commit()
        return _invoice(credit)

    @blueprint.route(f"/{collection}/<int:document_id>/pdf", methods=["GET"], endpoint=f"{endpoint}_pdf")
    @blueprint.response(200, PDF_FILE, content_type="application/pdf", description="The printable document")
    @require_permission("accounting.view")
    def pdf(document_id: int) -> Response:
        """The document as a PDF file."""
        from .pdf import render_invoice_pdf

        session = get_session()
        invoice = fetch(document_id)
        content = render_invoice_pdf(invoice, session.get(Company, invoice.company_id))
        name = (invoice.number or f"draft-{invoice.id}").replace("/", "-")
        return Response(
            content,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
        )


_documents("invoices", CUSTOMER_KINDS, InvoiceCreateSchema, "invoice")
_documents("bills", VENDOR_KINDS, BillCreateSchema, "bill")


# --- payments -------------------------------------------------------------------------------------


def _payment_summary(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "partner_type": payment.partner_type,
        "direction": payment.direction,
        "contact_id": payment.contact_id,
        "contact_name": payment.contact.name,
        "date": payment.date,
        "amount": payment.amount,
        "bank_journal": payment.bank_journal.journal.code,
        "reference": payment.reference,
        "state": payment.state,
    }


def _payment(payment: Payment) -> dict[str, Any]:
    return {
        **_payment_summary(payment),
        "entry_id": payment.entry_id,
        "entry_number": payment.entry.number if payment.entry is not None else None,
        "allocated": payment.allocated,
        "unallocated": payment.unallocated,
        "allocations": [
            {
                "id": a.id,
                "invoice_id": a.invoice_id,
                "invoice_number": a.invoice.number,
                "date": a.date,
                "amount": a.amount,
            }
            for a in payment.allocations
        ],
    }


@blueprint.route("/payments", methods=["GET"])
@blueprint.arguments(PaymentQuery, location="query")
@blueprint.response(200, PaymentPage)
@require_permission("accounting.view")
def payments_list(args: dict[str, Any]) -> dict[str, Any]:
    """Payments by keyset, newest first (``sort``: date, amount, id; ``-`` for descending)."""
    sort, descending = api_sort(args["sort"], payments.PAYMENT_SORTS, "date", newest_first=True)
    page = payments.list_payments(
        get_session(),
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=payments.PAYMENT_SORTS[sort]),
        limit=args["limit"],
        contact_id=args["contact_id"],
        partner_type=args["partner_type"],
    )
    return api_page(page, _payment_summary)


@blueprint.route("/payments", methods=["POST"])
@blueprint.arguments(PaymentCreateSchema)
@blueprint.response(201, PaymentSchema)
@require_permission("accounting.payment.manage")
def payments_create(data: dict[str, Any]) -> dict[str, Any]:
    """Register money received or paid and settle documents with it (more than a document's
    residual is 422); without ``allocations`` it is a payment on account."""
    payment = payments.register_payment(get_session(), data)
    api_commit()
    return _payment(payment)


@blueprint.route("/payments/<int:payment_id>", methods=["GET"])
@blueprint.response(200, PaymentSchema)
@require_permission("accounting.view")
def payments_get(payment_id: int) -> dict[str, Any]:
    return _payment(payments.get_payment(get_session(), payment_id))


@blueprint.route("/payments/<int:payment_id>/unreconcile", methods=["POST"])
@blueprint.response(200, PaymentSchema)
@require_permission("accounting.payment.manage")
def payments_unreconcile(payment_id: int) -> dict[str, Any]:
    """Remove the payment's allocations: its documents are open again; the money stays unallocated."""
    session = get_session()
    payment = payments.get_payment(session, payment_id)
    payments.unreconcile_payment(session, payment)
    api_commit()
    return _payment(payment)


@blueprint.route("/payments/<int:payment_id>/allocate", methods=["POST"])
@blueprint.arguments(AllocateRequest)
@blueprint.response(200, PaymentSchema)
@require_permission("accounting.payment.manage")
def payments_allocate(data: dict[str, Any], payment_id: int) -> dict[str, Any]:
    """Settle more documents with the payment's unallocated amount."""
    session = get_session()
    payment = payments.allocate_payment(
        session, payments.get_payment(session, payment_id), data["allocations"]
    )
    api_commit()
    return _payment(payment)


@blueprint.route("/payments/<int:payment_id>/cancel", methods=["POST"])
@blueprint.arguments(CancelRequest)
@blueprint.response(200, PaymentSchema)
@require_permission("accounting.payment.manage")
def payments_cancel(data: dict[str, Any], payment_id: int) -> dict[str, Any]:
    """Unreconcile the payment and reverse its entry (e.g. a bounced cheque)."""
    session = get_session()
    payment = payments.cancel_payment(session, payments.get_payment(session, payment_id), date=data["date"])
    api_commit()
    return _payment(payment)


# --- reports --------------------------------------------------------------------------------------


def _section(section: Any) -> dict[str, Any]:
    return {
        "key": section.key,
        "title": section.title,
        "rows": [
            {"code": row.code, "name": row.name, "amount": row.amount, "previous": row.previous}
            for row in section.rows
        ],
        "total": section.total,
        "previous_total": section.previous_total,
    }


@blueprint.route("/reports/trial-balance", methods=["GET"])
@blueprint.arguments(PeriodQuery, location="query")
@blueprint.response(200, ReportTrialBalanceSchema)
@require_permission("accounting.report.view")
def report_trial_balance(args: dict[str, Any]) -> dict[str, Any]:
    """Debit, credit and balance per account over posted entries in a period."""
    report = reports.trial_balance(get_session(), **args)
    return {
        "date_from": report.date_from,
        "date_to": report.date_to,
        "rows": [
            {
                "account": row.code,
                "name": row.name,
                "type": row.type,
                "debit": row.debit,
                "credit": row.credit,
                "balance": row.balance,
            }
            for row in report.rows
        ],
        "total_debit": report.total_debit,
        "total_credit": report.total_credit,
    }


@blueprint.route("/reports/general-ledger", methods=["GET"])
@blueprint.arguments(GeneralLedgerQuery, location="query")
@blueprint.response(200, GeneralLedgerSchema)
@require_permission("accounting.report.view")
def report_general_ledger(args: dict[str, Any]) -> dict[str, Any]:
    """Every posted line of one account (by code) with the opening and a running balance."""
    report = reports.general_ledger(
        get_session(), args["account"], date_from=args["date_from"], date_to=args["date_to"]
    )
    return {
        "account": {"code": report.account.code, "name": report.account.name, "type": report.account.type},
        "date_from": report.date_from,
        "date_to": report.date_to,
        "opening": report.opening,
        "lines": [vars(line) for line in report.lines],
        "total_debit": report.total_debit,
        "total_credit": report.total_credit,
        "closing": report.closing,
    }


@blueprint.route("/reports/profit-and-loss", methods=["GET"])
@blueprint.arguments(RequiredPeriodQuery, location="query")
@blueprint.response(200, ProfitAndLossSchema)
@require_permission("accounting.report.view")
def report_profit_and_loss(args: dict[str, Any]) -> dict[str, Any]:
    """Income and expenses for a period, next to the previous period of the same length."""
    report = reports.profit_and_loss(get_session(), **args)
    return {
        "date_from": report.date_from,
        "date_to": report.date_to,
        "previous_from": report.previous_from,
        "previous_to": report.previous_to,
        "income": _section(report.income),
        "expenses": _section(report.expenses),
        "net_profit": report.net_profit,
        "previous_net_profit": report.previous_net_profit,
    }


@blueprint.route("/reports/balance-sheet", methods=["GET"])
@blueprint.arguments(BalanceSheetQuery, location="query")
@blueprint.response(200, BalanceSheetSchema)
@require_permission("accounting.report.view")
def report_balance_sheet(args: dict[str, Any]) -> dict[str, Any]:
    """Assets, liabilities and equity at ``date_to``, next to the end of the previous period (the
    day before ``date_from``, or a year earlier)."""
    report = reports.balance_sheet(
        get_session(), date_to=args["date_to"] or dt.date.today(), date_from=args["date_from"]
    )
    return {
        "date": report.date,
        "previous_date": report.previous_date,
        "assets": _section(report.assets),
        "liabilities": _section(report.liabilities),
        "equity": _section(report.equity),
        "total_assets": report.assets.total,
        "previous_total_assets": report.assets.previous_total,
        "liabilities_and_equity": report.liabilities_and_equity,
        "previous_liabilities_and_equity": report.previous_liabilities_and_equity,
        "balanced": report.balanced,
    }


def _aged(side: str, as_of: dt.date | None) -> dict[str, Any]:
    report = reports.aged(get_session(), side, as_of=as_of)
    return {
        "side": report.side,
        "as_of": report.as_of,
        "buckets": list(AGED_BUCKETS),
        "rows": [
            {"contact_id": row.contact_id, "contact": row.contact, "amounts": row.buckets, "total": row.total}
            for row in report.rows
        ],
        "totals": report.totals,
        "total": report.total,
    }


@blueprint.route("/reports/aged-receivables", methods=["GET"])
@blueprint.arguments(AgedQuery, location="query")
@blueprint.response(200, AgedSchema)
@require_permission("accounting.report.view")
def report_aged_receivables(args: dict[str, Any]) -> dict[str, Any]:
    """What customers owe per contact, by days past due (0-30, 31-60, 61-90, 90+)."""
    return _aged("receivable", args["as_of"])


@blueprint.route("/reports/aged-payables", methods=["GET"])
@blueprint.arguments(AgedQuery, location="query")
@blueprint.response(200, AgedSchema)
@require_permission("accounting.report.view")
def report_aged_payables(args: dict[str, Any]) -> dict[str, Any]:
    """What we owe vendors per contact, by days past due (0-30, 31-60, 61-90, 90+)."""
    return _aged("payable", args["as_of"])


# --- bank statements ------------------------------------------------------------------------------


def _statement_line(line: StatementLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "date": line.date,
        "description": line.description,
        "amount": line.amount,
        "state": line.state,
        "payment_id": line.payment_id,
        "entry_id": line.entry_id,
        "suggestions": [
            {
                "invoice_id": s.invoice.id,
                "number": s.invoice.number,
                "contact": s.invoice.contact.name,
                "residual": s.invoice.residual,
                "reason": s.reason,
            }
            for s in statements.suggestions(get_session(), line)
        ],
    }


def _statement(statement: Statement) -> dict[str, Any]:
    return {
        "id": statement.id,
        "name": statement.name,
        "bank_journal": statement.bank_journal.journal.code,
        "created_at": statement.created_at,
        "lines": [_statement_line(line) for line in statement.lines],
    }


def _statement_line_of(statement_id: int, line_id: int) -> int:
    """The line's id once it is known to belong to the statement of the URL."""
    statement = statements.get_statement(get_session(), statement_id)
    if line_id not in {line.id for line in statement.lines}:
        raise NotFound(f"statement {statement_id} has no line {line_id}")
    return line_id


@blueprint.route("/statements", methods=["POST"])
@blueprint.arguments(StatementImportSchema)
@blueprint.response(201, StatementSchema)
@require_permission("accounting.payment.manage")
def statements_import(data: dict[str, Any]) -> dict[str, Any]:
    """Import a CSV statement (``date,description,amount`` rows); a bad row refuses the whole
    file, naming it (``rows.3.amount``)."""
    try:
        statement = statements.import_statement(
            get_session(), bank_journal_ref=data["bank_journal"], content=data["csv"], name=data["name"]
        )
    except ValidationError as exc:  # the service speaks of a file; here the file is the "csv" field
        fields = {("csv" if key == "file" else key): messages for key, messages in exc.fields.items()}
        raise ValidationError(exc.message, fields=fields) from None
    api_commit()
    return _statement(statement)


@blueprint.route("/statements/<int:statement_id>", methods=["GET"])
@blueprint.response(200, StatementSchema)
@require_permission("accounting.view")
def statements_get(statement_id: int) -> dict[str, Any]:
    """A statement's lines with their state and, for open ones, the documents they may settle."""
    return _statement(statements.get_statement(get_session(), statement_id))


@blueprint.route("/statements/<int:statement_id>/lines/<int:line_id>/match", methods=["POST"])
@blueprint.arguments(MatchRequest)
@blueprint.response(200, StatementLineSchema)
@require_permission("accounting.payment.manage")
def statements_match(data: dict[str, Any], statement_id: int, line_id: int) -> dict[str, Any]:
    """Register the line's money as a payment of an open document."""
    line = statements.match_line(get_session(), _statement_line_of(statement_id, line_id), data["invoice_id"])
    api_commit()
    return _statement_line(line)


@blueprint.route("/statements/<int:statement_id>/lines/<int:line_id>/book", methods=["POST"])
@blueprint.arguments(BookRequest)
@blueprint.response(200, StatementLineSchema)
@require_permission("accounting.payment.manage")
def statements_book(data: dict[str, Any], statement_id: int, line_id: int) -> dict[str, Any]:
    """Post the line against an account (bank charges, interest...)."""
    line = statements.book_line(
        get_session(), _statement_line_of(statement_id, line_id), data["account"], data["memo"]
    )
    api_commit()
    return _statement_line(line)


# --- lock date ------------------------------------------------------------------------------------


@blueprint.route("/lock-date", methods=["GET"])
@blueprint.response(200, LockDateSchema)
@require_permission("accounting.view")
def lock_date_get() -> dict[str, Any]:
    """Postings on or before the lock date are refused; null when the books are open."""
    session = get_session()
    return {"lock_date": session.get(Company, company_id_of(session)).lock_date}


@blueprint.route("/lock-date", methods=["PUT"])
@blueprint.arguments(LockDateSchema)
@blueprint.response(200, LockDateSchema)
@require_permission("accounting.period.lock")
def lock_date_set(data: dict[str, Any]) -> dict[str, Any]:
    """Close the books through a date (``null`` reopens them)."""
    company = periods.lock_period(get_session(), data["lock_date"])
    api_commit()
    return {"lock_date": company.lock_date}
