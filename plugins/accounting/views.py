"""Accounting's pages: invoices, bills, credit notes, payments, the dashboard and contact panel.

Reports, the chart of accounts, taxes, fiscal years and bank statements are in
``report_views``, on the same blueprint. Views only translate between HTTP and
``services``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.routing import BuildError

from core.plugin_api import (
    Company,
    Conflict,
    Contact,
    Panel,
    ValidationError,
    Widget,
    charts,
    check_permission,
    companies,
    company_id_of,
    csv_response,
    get_session,
    granting,
    ledger,
    pages,
    require_permission,
)

from .models import (
    CUSTOMER_KINDS,
    INVOICE_KINDS,
    INVOICE_STATES,
    OPEN_STATES,
    VENDOR_KINDS,
    Invoice,
    Payment,
    PaymentTerm,
)
from .pdf import address_lines, document_title, render_invoice_pdf, tax_summary
from .services import common, reports
from .services import invoices as invoice_service
from .services import payments as payment_service
from .services import taxes as tax_service

blueprint = Blueprint("accounting", __name__, url_prefix="/accounting", template_folder="templates")

# Plugin assets are served by a declared view: a blueprint ``static_folder`` would add an
# endpoint that declares no access (deny-by-default would make it admin-only).
ASSET_DIR = Path(__file__).parent / "static" / "accounting"
ASSETS = frozenset({"accounting.js", "print.css"})
BLANK_LINES = 5  # empty line rows offered by the invoice form (more with the JS "Add line")
PAGE_SIZE = 50
STATE_LABELS = {
    "draft": _l("Draft"),
    "posted": _l("Posted"),
    "partial": _l("Partially paid"),
    "paid": _l("Paid"),
    "credited": _l("Credited"),
}
KIND_LABELS = {
    "out_invoice": _l("Invoice"),
    "in_invoice": _l("Bill"),
    "out_refund": _l("Credit note"),
    "in_refund": _l("Vendor credit note"),
}
# One choice of the payment form = the (partner type, direction) of the service.
PAYMENT_TYPES = {
    "customer-inbound": _l("Customer payment (money received)"),
    "customer-outbound": _l("Customer refund (money paid)"),
    "vendor-outbound": _l("Vendor payment (money paid)"),
    "vendor-inbound": _l("Vendor refund (money received)"),
}


@blueprint.app_template_global("accounting_labels")
def accounting_labels() -> dict[str, Any]:
    return {"states": STATE_LABELS, "kinds": KIND_LABELS, "payment_types": PAYMENT_TYPES}


pages.serve_assets(blueprint, ASSET_DIR, ASSETS)

# Shared with every department's pages (core.plugin_api.pages).
_actor_can = pages.actor_can
_int_arg = pages.int_arg
_plain = pages.form_decimal
_cursor = pages.cursor_arg
_sort = pages.sort_args


def _company_contact(session: Any, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    return contact if contact is not None and contact.company_id == company_id_of(session) else None


def _contact_choices(session: Any, keep: Any = None) -> list[Contact]:
    return pages.contact_choices(session, keep)


def _list_endpoint(invoice: Invoice) -> str:
    return "accounting.invoices" if invoice.kind in CUSTOMER_KINDS else "accounting.bills"


def _url_if_any(endpoint: str) -> str | None:
    try:
        return url_for(endpoint)
    except BuildError:
        return None


def _is_overdue(invoice: Invoice, today: dt.date) -> bool:
    return invoice.state in OPEN_STATES and invoice.due_date < today


# --- invoice and bill lists -----------------------------------------------------------------------------


@blueprint.get("/invoices")
@require_permission("accounting.view")
def invoices() -> Any:
    """Customer invoices and credit notes."""
    return _document_list("customer")


@blueprint.get("/bills")
@require_permission("accounting.view")
def bills() -> Any:
    """Vendor bills and vendor credit notes."""
    return _document_list("vendor")


def _document_list(side: str) -> Any:
    session = get_session()
    kinds = CUSTOMER_KINDS if side == "customer" else VENDOR_KINDS
    sort, descending = _sort(invoice_service.INVOICE_SORTS, "date")
    state = request.args.get("state", "")
    kind = request.args.get("kind", "")
    contact = _company_contact(session, _int_arg(request.args.get("contact_id")))
    filters = {
        "state": state if state in (*INVOICE_STATES, "open") else "",
        "kind": kind if kind in kinds else "",
        "q": request.args.get("q", "").strip()[:200],
        "contact": contact,
    }
    query: dict[str, Any] = {
        "kinds": (filters["kind"],) if filters["kind"] else kinds,
        "state": filters["state"] if filters["state"] in INVOICE_STATES else None,
        "open_only": filters["state"] == "open",
        "q": filters["q"] or None,
        # An unknown contact id matches nothing rather than everything.
        "contact_id": contact.id if contact else (-1 if request.args.get("contact_id") else None),
    }
    if request.args.get("format") == "csv":
        return csv_response(
            "invoices.csv" if side == "customer" else "bills.csv",
            [
                "number",
                "kind",
                "contact",
                "date",
                "due_date",
                "reference",
                "untaxed",
                "tax",
                "total",
                "residual",
                "currency",
                "state",
            ],
            _csv_documents(session, sort, descending, query),
        )
    page = invoice_service.list_invoices(
        session,
        sort=sort,
        descending=descending,
        after=_cursor(invoice_service.INVOICE_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    return render_template(
        "accounting/invoices.html",
        side=side,
        kinds=kinds,
        page=page,
        sort=sort,
        descending=descending,
        filters=filters,
        today=dt.date.today(),
        is_overdue=_is_overdue,
    )


def _csv_documents(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = invoice_service.list_invoices(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for i in page.items:
            yield [
                i.number or "",
                i.kind,
                i.contact.name,
                i.date.isoformat(),
                i.due_date.isoformat(),
                i.reference,
                i.untaxed_amount,
                i.tax_amount,
                i.total,
                i.residual,
                i.currency,
                i.state,
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- invoice form ---------------------------------------------------------------------------------------

LINE_FIELDS = ("description", "quantity", "unit_price", "tax", "account")
HEADER_FIELDS = ("contact_id", "date", "payment_term_id", "due_date", "reference", "notes")


def _blank_line(default_account: int) -> dict[str, str]:
    return {"description": "", "quantity": "", "unit_price": "", "tax": "", "account": str(default_account)}


def _form_lines() -> list[dict[str, str]]:
    """The filled line rows of the posted form (a row with no description, quantity or price is blank)."""
    columns = {name: request.form.getlist(f"line_{name}") for name in LINE_FIELDS}
    rows = []
    for index in range(max(len(values) for values in columns.values())):
        row = {name: values[index].strip() if index < len(values) else "" for name, values in columns.items()}
        if row["description"] or row["quantity"] or row["unit_price"]:
            rows.append(row)
    return rows


def _service_payload(data: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for row in data["lines"]:
        line = {
            "description": row["description"],
            "unit_price": row["unit_price"],
            "tax_id": row["tax"] or None,
            "account_id": row["account"] or None,
        }
        if row["quantity"]:  # blank: the service's default of 1
            line["quantity"] = row["quantity"]
        lines.append(line)
    return {**{key: data[key] for key in HEADER_FIELDS}, "lines": lines}


def _render_form(
    invoice: Invoice | None, kind: str, data: dict[str, Any], errors: dict[str, list[str]]
) -> Any:
    session = get_session()
    settings = common.settings_of(session)
    customer = kind in CUSTOMER_KINDS
    default_account = settings.income_account_id if customer else settings.expense_account_id
    filled = list(data["lines"])
    rows = filled + [_blank_line(default_account) for _ in range(max(BLANK_LINES - len(filled), 2))]
    # The choices are read for whoever may fill in the form: a clerk needs the taxes and accounts
    # to pick from without being allowed to browse the ledger.
    with granting(session, "accounting.view", "ledger.view"):
        taxes = tax_service.list_taxes(session, scope="sale" if customer else "purchase", active=True)
        accounts = ledger.list_accounts(session, active=True)
    terms = session.scalars(
        select(PaymentTerm)
        .where(PaymentTerm.company_id == company_id_of(session), PaymentTerm.active.is_(True))
        .order_by(PaymentTerm.days, PaymentTerm.name)
    ).all()
    general = [
        f"{key}: {'; '.join(messages)}"
        for key, messages in errors.items()
        if key not in (*HEADER_FIELDS, "lines") and not re.fullmatch(r"lines\.\d+\.\w+", key)
    ]
    return render_template(
        "accounting/invoice_form.html",
        invoice=invoice,
        kind=kind,
        data={**data, "lines": rows},
        errors=errors,
        general_errors=general,
        contacts=_contact_choices(session, data.get("contact_id")),
        taxes=taxes,
        accounts=accounts,
        terms=terms,
        default_account=default_account,
        can_post=_actor_can("accounting.invoice.post"),
    ), 422 if errors else 200


def _posted_form() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in HEADER_FIELDS}
    data["lines"] = _form_lines()
    return data


def _save(invoice: Invoice | None, kind: str) -> tuple[Invoice | None, dict[str, Any], dict[str, list[str]]]:
    """Create or update from the posted form, and post it when asked; one commit, or nothing."""
    session = get_session()
    data = _posted_form()
    post = request.form.get("action") == "post"
    if post:
        check_permission(g.officium_actor, "accounting.invoice.post")
    try:
        if invoice is None:
            invoice = invoice_service.create_invoice(session, {"kind": kind, **_service_payload(data)})
        else:
            invoice_service.update_invoice(session, invoice, _service_payload(data))
        if post:
            invoice_service.post_invoice(session, invoice)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return None, data, exc.fields or {"form": [exc.message]}
    return invoice, data, {}


@blueprint.route("/invoices/new", methods=["GET", "POST"])
@require_permission("accounting.invoice.manage")
def invoice_new() -> Any:
    """A new draft (``?kind=out_invoice|in_invoice|out_refund|in_refund``), optionally posted at once."""
    kind = request.values.get("kind", "out_invoice")
    if kind not in INVOICE_KINDS:
        kind = "out_invoice"
    if request.method == "POST":
        invoice, data, errors = _save(None, kind)
        if invoice is not None:
            _flash_saved(invoice)
            return redirect(url_for("accounting.invoice_detail", invoice_id=invoice.id))
        return _render_form(None, kind, data, errors)
    session = get_session()
    data = {
        "contact_id": request.args.get("contact_id", ""),
        "date": dt.date.today().isoformat(),
        "payment_term_id": str(common.settings_of(session).default_payment_term_id or ""),
        "due_date": "",
        "reference": "",
        "notes": "",
        "lines": [],
    }
    return _render_form(None, kind, data, {})


def _flash_saved(invoice: Invoice) -> None:
    if invoice.state == "draft":
        flash(_("Draft saved."), "success")
    else:
        flash(_("%(number)s posted.", number=invoice.number), "success")


def _refuse_edit(invoice: Invoice) -> Any:
    flash(
        _(
            "%(number)s is %(state)s and cannot be edited; create a credit note to correct it.",
            number=invoice.display_number,
            state=STATE_LABELS.get(invoice.state, invoice.state),
        ),
        "error",
    )
    return redirect(url_for("accounting.invoice_detail", invoice_id=invoice.id))


@blueprint.route("/invoices/<int:invoice_id>/edit", methods=["GET", "POST"])
@require_permission("accounting.invoice.manage")
def invoice_edit(invoice_id: int) -> Any:
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    if request.method == "POST":
        try:
            saved, data, errors = _save(invoice, invoice.kind)
        except Conflict as exc:  # posted meanwhile (or forged): the service refuses
            session.rollback()
            flash(exc.message, "error")
            return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))
        if saved is not None:
            _flash_saved(saved)
            return redirect(url_for("accounting.invoice_detail", invoice_id=saved.id))
        return _render_form(invoice, invoice.kind, data, errors)
    if invoice.state != "draft":
        return _refuse_edit(invoice)
    data = {
        "contact_id": str(invoice.contact_id),
        "date": invoice.date.isoformat(),
        "payment_term_id": str(invoice.payment_term_id or ""),
        "due_date": invoice.due_date.isoformat(),
        "reference": invoice.reference,
        "notes": invoice.notes,
        "lines": [
            {
                "description": line.description,
                "quantity": _plain(line.quantity, 0),
                "unit_price": _plain(line.unit_price),
                "tax": str(line.tax_id or ""),
                "account": str(line.account_id),
            }
            for line in invoice.lines
        ],
    }
    return _render_form(invoice, invoice.kind, data, {})


# --- invoice detail and actions -------------------------------------------------------------------------


@blueprint.get("/invoices/<int:invoice_id>")
@require_permission("accounting.view")
def invoice_detail(invoice_id: int) -> Any:
    """An invoice, bill or credit note: lines, taxes, totals, what settled it and what can be done."""
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    credit_notes = session.scalars(
        select(Invoice).where(Invoice.refund_of_id == invoice.id).order_by(Invoice.date, Invoice.id)
    ).all()
    return render_template(
        "accounting/invoice_detail.html",
        invoice=invoice,
        taxes=tax_summary(invoice),
        allocations=payment_service.payments_of(session, invoice),
        credit_notes=credit_notes,
        applicable=_applicable_documents(session, invoice),
        overdue=_is_overdue(invoice, dt.date.today()),
        list_endpoint=_list_endpoint(invoice),
        today=dt.date.today(),
    )


def _applicable_documents(session: Any, credit: Invoice) -> list[Invoice]:
    """Open documents an open credit note can settle: same contact, same side."""
    if credit.kind not in invoice_service.APPLIES_TO or credit.state not in ("posted", "partial"):
        return []
    return list(
        session.scalars(
            invoice_service.invoices_query(
                session,
                kinds=(invoice_service.APPLIES_TO[credit.kind],),
                contact_id=credit.contact_id,
                open_only=True,
            ).order_by(Invoice.due_date, Invoice.id)
        )
    )


@blueprint.post("/invoices/<int:invoice_id>/apply")
@require_permission("accounting.payment.manage")
def invoice_apply(invoice_id: int) -> Any:
    """Apply an open credit note to an open document of the same contact."""
    session = get_session()
    credit = invoice_service.get_invoice(session, invoice_id)
    try:
        invoice_service.apply_credit_note(
            session,
            credit,
            request.form.get("invoice_id", ""),
            request.form.get("amount", "").strip() or None,
        )
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(_("%(number)s applied.", number=credit.display_number), "success")
    return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))


@blueprint.post("/invoices/<int:invoice_id>/post")
@require_permission("accounting.invoice.post")
def invoice_post(invoice_id: int) -> Any:
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    try:
        invoice_service.post_invoice(session, invoice)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(_("%(number)s posted.", number=invoice.number), "success")
    return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))


def _flash_error(exc: ValidationError | Conflict) -> None:
    """The service's message, and each field message when there are several."""
    flash(exc.message, "error")
    if len(exc.fields or {}) > 1:
        for key, messages in exc.fields.items():
            flash(f"{key}: {'; '.join(messages)}", "error")


@blueprint.post("/invoices/<int:invoice_id>/delete")
@require_permission("accounting.invoice.manage")
def invoice_delete(invoice_id: int) -> Any:
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    endpoint = _list_endpoint(invoice)
    try:
        invoice_service.delete_invoice(session, invoice)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))
    flash(_("Draft deleted."), "success")
    return redirect(url_for(endpoint))


@blueprint.post("/invoices/<int:invoice_id>/credit-note")
@require_permission("accounting.invoice.manage")
def invoice_credit_note(invoice_id: int) -> Any:
    """Draft a credit note reversing a posted document; the user reviews and posts it."""
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    try:
        credit = invoice_service.create_credit_note(
            session,
            invoice,
            date=request.form.get("date", "").strip() or None,
            reason=request.form.get("reason", "").strip(),
        )
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
        return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))
    flash(_("Credit note drafted for %(number)s: review it, then post it.", number=invoice.number), "success")
    return redirect(url_for("accounting.invoice_detail", invoice_id=credit.id))


# --- print page and PDF ---------------------------------------------------------------------------------


def _company(session: Any) -> Company:
    return session.get(Company, company_id_of(session))


@blueprint.get("/invoices/<int:invoice_id>/print")
@require_permission("accounting.view")
def invoice_print(invoice_id: int) -> Any:
    """The document on its own page, laid out for paper (the browser's Print command)."""
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    return render_template(
        "accounting/invoice_print.html",
        invoice=invoice,
        company=_company(session),
        title=document_title(invoice.kind),
        address=address_lines(invoice.contact),
        taxes=tax_summary(invoice),
    )


@blueprint.get("/invoices/<int:invoice_id>.pdf")
@require_permission("accounting.view")
def invoice_pdf(invoice_id: int) -> Any:
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    filters = current_app.jinja_env.filters
    data = render_invoice_pdf(
        invoice,
        _company(session),
        money=filters["money"],
        date=filters["date"],
        quantity=filters["quantity"],
        price=filters["price"],
    )
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", invoice.number or f"draft-{invoice.id}")
    return current_app.response_class(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


# --- payments -------------------------------------------------------------------------------------------


def _allocation_errors(
    errors: dict[str, list[str]], invoice_ids: Sequence[int]
) -> tuple[dict[str, list[str]], dict[int, list[str]]]:
    """Split the service's errors: ``allocations.N.x`` go next to document N's row, the rest stay."""
    general: dict[str, list[str]] = {}
    by_document: dict[int, list[str]] = {}
    for key, messages in errors.items():
        match = re.fullmatch(r"allocations\.(\d+)(?:\.\w+)?", key)
        if match and int(match.group(1)) < len(invoice_ids):
            by_document.setdefault(invoice_ids[int(match.group(1))], []).extend(messages)
        else:
            general[key] = messages
    return general, by_document


@blueprint.route("/invoices/<int:invoice_id>/pay", methods=["GET", "POST"])
@require_permission("accounting.payment.manage")
def invoice_pay(invoice_id: int) -> Any:
    """Register a payment for one document, for its residual or part of it."""
    session = get_session()
    invoice = invoice_service.get_invoice(session, invoice_id)
    if invoice.state not in OPEN_STATES:
        flash(_("%(number)s has nothing left to pay.", number=invoice.display_number), "error")
        return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))
    journals = common.list_bank_journals(session)
    errors: dict[str, list[str]] = {}
    data = {
        "bank_journal": str(journals[0].id) if journals else "",
        "date": dt.date.today().isoformat(),
        "amount": _plain(invoice.residual),
        "reference": "",
    }
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in data}
        try:
            payment = payment_service.register_payment(
                session,
                {
                    "bank_journal": data["bank_journal"],
                    "date": data["date"],
                    "reference": data["reference"],
                    "allocations": [{"invoice_id": invoice.id, "amount": data["amount"]}],
                },
            )
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            general, by_document = _allocation_errors(exc.fields or {"form": [exc.message]}, [invoice.id])
            errors = {**general}
            if by_document:
                errors["amount"] = by_document[invoice.id]
        else:
            flash(
                _(
                    "Payment of %(amount)s registered for %(number)s.",
                    amount=current_app.jinja_env.filters["money"](payment.amount),
                    number=invoice.number,
                ),
                "success",
            )
            return redirect(url_for("accounting.invoice_detail", invoice_id=invoice_id))
    return render_template(
        "accounting/payment_form.html",
        invoice=invoice,
        data=data,
        errors=errors,
        journals=journals,
    ), 422 if errors else 200


PAYMENT_SORTS = ("date", "amount", "id")
PAYMENT_FIELDS = ("bank_journal", "date", "amount", "reference")


@blueprint.get("/payments")
@require_permission("accounting.view")
def payments() -> Any:
    session = get_session()
    sort, descending = _sort(PAYMENT_SORTS, "date")
    partner_type = request.args.get("partner_type", "")
    contact = _company_contact(session, _int_arg(request.args.get("contact_id")))
    filters = {
        "partner_type": partner_type if partner_type in payment_service.PARTNER_TYPES else "",
        "contact": contact,
    }
    query = {
        "partner_type": filters["partner_type"] or None,
        "contact_id": contact.id if contact else (-1 if request.args.get("contact_id") else None),
    }
    if request.args.get("format") == "csv":
        return csv_response(
            "payments.csv",
            [
                "id",
                "date",
                "contact",
                "partner_type",
                "direction",
                "journal",
                "reference",
                "amount",
                "unallocated",
                "state",
            ],
            _csv_payments(session, sort, descending, query),
        )
    page = payment_service.list_payments(
        session,
        sort=sort,
        descending=descending,
        after=_cursor(payment_service.PAYMENT_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    return render_template(
        "accounting/payments.html", page=page, sort=sort, descending=descending, filters=filters
    )


def _csv_payments(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = payment_service.list_payments(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for p in page.items:
            yield [
                p.id,
                p.date.isoformat(),
                p.contact.name,
                p.partner_type,
                p.direction,
                p.bank_journal.journal.code,
                p.reference,
                p.amount,
                p.unallocated,
                p.state,
            ]
        if page.next_after is None:
            return
        after = page.next_after


def _open_documents(session: Any, contact_id: int, partner_type: str, direction: str) -> list[Invoice]:
    """The contact's open documents a payment of this type settles, oldest due first."""
    kind = payment_service.SETTLES[(partner_type, direction)]
    stmt = invoice_service.invoices_query(session, kinds=(kind,), contact_id=contact_id, open_only=True)
    return list(session.scalars(stmt.order_by(Invoice.due_date, Invoice.id).limit(200)))


def _chosen_allocations() -> tuple[list[dict[str, Any]], list[int]]:
    """``pay`` checkboxes name the documents; ``amount_<id>`` may say how much (blank: the residual)."""
    allocations, ids = [], []
    for value in request.form.getlist("pay"):
        invoice_id = _int_arg(value)
        if invoice_id is None or invoice_id in ids:
            continue
        ids.append(invoice_id)
        amount = request.form.get(f"amount_{invoice_id}", "").strip()
        allocations.append({"invoice_id": invoice_id, **({"amount": amount} if amount else {})})
    return allocations, ids


@blueprint.route("/payments/new", methods=["GET", "POST"])
@require_permission("accounting.payment.manage")
def payment_new() -> Any:
    """One payment settling several open documents of one contact (or on account)."""
    session = get_session()
    payment_type = request.values.get("type", "customer-inbound")
    if payment_type not in PAYMENT_TYPES:
        payment_type = "customer-inbound"
    partner_type, direction = payment_type.split("-")
    contact = _company_contact(session, _int_arg(request.values.get("contact_id")))
    journals = common.list_bank_journals(session)
    errors: dict[str, list[str]] = {}
    row_errors: dict[int, list[str]] = {}
    data: dict[str, Any] = {
        "bank_journal": str(journals[0].id) if journals else "",
        "date": dt.date.today().isoformat(),
        "amount": "",
        "reference": "",
        "pay": [],
        "amounts": {},
    }
    if request.method == "POST":
        allocations, ids = _chosen_allocations()
        data = {
            **{key: request.form.get(key, "").strip() for key in PAYMENT_FIELDS},
            "pay": ids,
            "amounts": {i: request.form.get(f"amount_{i}", "").strip() for i in ids},
        }
        try:
            payment = payment_service.register_payment(
                session,
                {
                    "bank_journal": data["bank_journal"],
                    "date": data["date"],
                    "reference": data["reference"],
                    "amount": data["amount"] or None,
                    "contact_id": contact.id if contact else request.form.get("contact_id", ""),
                    "partner_type": partner_type,
                    "direction": direction,
                    "allocations": allocations,
                },
            )
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            errors, row_errors = _allocation_errors(exc.fields or {"form": [exc.message]}, ids)
        else:
            flash(_("Payment registered."), "success")
            return redirect(url_for("accounting.payment_detail", payment_id=payment.id))
    return render_template(
        "accounting/payment_form.html",
        invoice=None,
        payment_type=payment_type,
        contact=contact,
        contacts=_contact_choices(session, contact.id if contact else None),
        documents=_open_documents(session, contact.id, partner_type, direction) if contact else [],
        data=data,
        errors=errors,
        row_errors=row_errors,
        journals=journals,
    ), 422 if errors or row_errors else 200


@blueprint.get("/payments/<int:payment_id>")
@require_permission("accounting.view")
def payment_detail(payment_id: int) -> Any:
    return _render_payment(payment_service.get_payment(get_session(), payment_id))


def _render_payment(
    payment: Payment,
    errors: dict[str, list[str]] | None = None,
    row_errors: dict[int, list[str]] | None = None,
    data: dict[str, Any] | None = None,
) -> Any:
    session = get_session()
    documents = []
    if payment.state == "posted" and payment.unallocated > 0:
        documents = _open_documents(session, payment.contact_id, payment.partner_type, payment.direction)
    status = 422 if errors or row_errors else 200
    return render_template(
        "accounting/payment_detail.html",
        payment=payment,
        documents=documents,
        errors=errors or {},
        row_errors=row_errors or {},
        data=data or {"pay": [], "amounts": {}},
        today=dt.date.today(),
    ), status


@blueprint.post("/payments/<int:payment_id>/allocate")
@require_permission("accounting.payment.manage")
def payment_allocate(payment_id: int) -> Any:
    """Settle open documents with what is left of a payment."""
    session = get_session()
    payment = payment_service.get_payment(session, payment_id)
    allocations, ids = _chosen_allocations()
    data = {"pay": ids, "amounts": {i: request.form.get(f"amount_{i}", "").strip() for i in ids}}
    try:
        payment_service.allocate_payment(session, payment, allocations)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        errors, row_errors = _allocation_errors(exc.fields or {"form": [exc.message]}, ids)
        return _render_payment(payment_service.get_payment(session, payment_id), errors, row_errors, data)
    flash(_("Payment allocated."), "success")
    return redirect(url_for("accounting.payment_detail", payment_id=payment_id))


@blueprint.post("/payments/<int:payment_id>/unreconcile")
@require_permission("accounting.payment.manage")
def payment_unreconcile(payment_id: int) -> Any:
    """Remove the payment's allocations: its documents are open again."""
    session = get_session()
    payment = payment_service.get_payment(session, payment_id)
    try:
        reopened = payment_service.unreconcile_payment(session, payment)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(
            _("Unreconciled: %(numbers)s open again.", numbers=", ".join(i.display_number for i in reopened)),
            "success",
        )
    return redirect(url_for("accounting.payment_detail", payment_id=payment_id))


@blueprint.post("/payments/<int:payment_id>/cancel")
@require_permission("accounting.payment.manage")
def payment_cancel(payment_id: int) -> Any:
    """Reverse the payment's entry (a bounced cheque, a mistake); its documents are open again."""
    session = get_session()
    payment = payment_service.get_payment(session, payment_id)
    try:
        payment_service.cancel_payment(session, payment, date=request.form.get("date", "").strip() or None)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(_("Payment cancelled: its ledger entry is reversed."), "success")
    return redirect(url_for("accounting.payment_detail", payment_id=payment_id))


# --- dashboard and contact page ----------------------------------------------------------------------


def dashboard_widgets() -> list[Widget]:
    """P&L and revenue trend charts for the home dashboard."""
    session = get_session()
    company = _company(session)
    today = dt.date.today()
    start = dt.date(companies.fiscal_year(company, today), company.fiscal_year_start_month, 1)
    pnl = reports.profit_and_loss(session, date_from=start, date_to=today)
    trend = reports.monthly_trend(session, months=12, end=today)
    pnl_title = _("Profit and loss, fiscal year to date")
    trend_title = _("Revenue, last 12 months")
    pnl_chart = charts.bar(
        [_("Income"), _("Expenses"), _("Profit")],
        [pnl.income.total, pnl.expenses.total, pnl.net_profit],
        title=pnl_title,
    )
    trend_chart = charts.line(trend.labels, trend.income, title=trend_title)
    return [
        Widget(
            pnl_title,
            render_template(
                "accounting/widget_pnl.html",
                chart=pnl_chart,
                pnl=pnl,
                start=start,
                today=today,
                reports_url=_url_if_any("accounting.reports"),
            ),
            order=40,
        ),
        Widget(
            trend_title,
            render_template(
                "accounting/widget_trend.html", chart=trend_chart, total=sum(trend.income, Decimal("0.00"))
            ),
            order=41,
        ),
    ]


def contact_panel(contact: Any) -> Panel:
    """The contact's invoices, bills and balance due."""
    from .hooks import open_totals

    session = get_session()
    documents = invoice_service.list_invoices(session, contact_id=contact.id, limit=10).items
    return Panel(
        _("Invoices and bills"),
        render_template(
            "accounting/contact_panel.html",
            contact=contact,
            documents=documents,
            totals=open_totals(session, contact.id),
            today=dt.date.today(),
        ),
        order=40,
    )


from . import report_views  # noqa: E402,F401 - registers its routes on ``blueprint``
