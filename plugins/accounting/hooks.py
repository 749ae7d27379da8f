"""Accounting's hook implementations: what it brings to the platform, and how it answers others."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from core.plugin_api import (
    MenuItem,
    Panel,
    SearchResult,
    Widget,
    company_id_of,
    get_session,
    has_permission,
    hookimpl,
)

from .models import CUSTOMER_KINDS, OPEN_STATES, Invoice, Payment

PERMISSIONS = [
    ("accounting.view", "See invoices, bills, payments, taxes and the chart of accounts"),
    ("accounting.invoice.manage", "Create and edit draft invoices, bills and credit notes"),
    ("accounting.invoice.post", "Post invoices, bills and credit notes to the ledger"),
    ("accounting.payment.manage", "Register, allocate and cancel payments; import bank statements"),
    ("accounting.period.lock", "Set the lock date that closes a period"),
    ("accounting.report.view", "See financial reports"),
    ("accounting.settings", "Manage taxes and accounting settings"),
]


@hookimpl
def officium_permissions() -> list[tuple[str, str]]:
    return PERMISSIONS


@hookimpl
def officium_blueprints() -> list[Any]:
    from .api import blueprint as api_blueprint
    from .views import blueprint

    return [blueprint, api_blueprint]


@hookimpl
def officium_cli(cli: Any) -> None:
    from .cli import accounting

    cli.add_command(accounting)


@hookimpl
def officium_extensible_models() -> list[Any]:
    return [Invoice]


@hookimpl
def officium_plugin_enabled(session: Any) -> None:
    """Seed the default chart of accounts, journals, taxes and terms, and an Accountant role."""
    from .services.chart import install_chart, install_role

    install_chart(session)
    install_role(session)


@hookimpl
def officium_menu_items(user: Any) -> list[MenuItem]:
    return [
        MenuItem("Invoices", "accounting.invoices", "accounting.view", order=30, section="accounting"),
        MenuItem("Bills", "accounting.bills", "accounting.view", order=31, section="accounting"),
        MenuItem("Payments", "accounting.payments", "accounting.view", order=32, section="accounting"),
        MenuItem(
            "Bank statements", "accounting.statements", "accounting.view", order=33, section="accounting"
        ),
        MenuItem("Reports", "accounting.reports", "accounting.report.view", order=34, section="accounting"),
        MenuItem("Chart of accounts", "accounting.chart", "accounting.view", order=35, section="accounting"),
        MenuItem("Taxes", "accounting.taxes", "accounting.view", order=36, section="accounting"),
        MenuItem("Fiscal years", "accounting.periods", "accounting.view", order=37, section="accounting"),
    ]


@hookimpl
def officium_dashboard_widgets(user: Any) -> list[Widget]:
    if not has_permission(user, "accounting.report.view"):
        return []
    from .views import dashboard_widgets

    return dashboard_widgets()


@hookimpl
def officium_contact_panels(contact: Any, user: Any) -> list[Panel]:
    if not has_permission(user, "accounting.view"):
        return []
    from .views import contact_panel

    return [contact_panel(contact)]


@hookimpl
def officium_search(query: str, user: Any) -> list[SearchResult]:
    if not has_permission(user, "accounting.view") or len(query) < 2:
        return []
    from flask import url_for

    session = get_session()
    pattern = f"%{query.lower()}%"
    found = session.scalars(
        select(Invoice)
        .where(
            Invoice.company_id == company_id_of(session),
            func.lower(Invoice.number).like(pattern) | func.lower(Invoice.reference).like(pattern),
        )
        .order_by(Invoice.date.desc(), Invoice.id.desc())
        .limit(10)
    ).all()
    return [
        SearchResult(
            title=f"{invoice.number} · {invoice.contact.name}",
            url=url_for("accounting.invoice_detail", invoice_id=invoice.id),
            kind="Invoice" if invoice.kind in CUSTOMER_KINDS else "Bill",
            summary=f"{invoice.total} {invoice.currency} · {invoice.state}",
        )
        for invoice in found
    ]


@hookimpl
def officium_deal_won(deal: Any, session: Any) -> None:
    """Draft an invoice for the won deal's customer and amount (once per deal)."""
    from .services.invoices import draft_invoice_for_deal

    draft_invoice_for_deal(session, deal)


@hookimpl
def officium_contacts_merged(source_id: int, target_id: int, session: Any) -> None:
    for model in (Invoice, Payment):
        session.execute(
            update(model)
            .where(model.contact_id == source_id)
            .values(contact_id=target_id)
            .execution_options(synchronize_session=False)
        )


def open_totals(session: Any, contact_id: int) -> dict[str, Decimal]:
    """What a contact owes us (receivable) and what we owe them (payable), from open documents."""
    rows = session.execute(
        select(Invoice.kind, func.sum(Invoice.residual))
        .where(
            Invoice.company_id == company_id_of(session),
            Invoice.contact_id == contact_id,
            Invoice.state.in_(OPEN_STATES),
        )
        .group_by(Invoice.kind)
    ).all()
    sums = {kind: amount or Decimal("0.00") for kind, amount in rows}
    zero = Decimal("0.00")
    return {
        "receivable": sums.get("out_invoice", zero) - sums.get("out_refund", zero),
        "payable": sums.get("in_invoice", zero) - sums.get("in_refund", zero),
    }


DUTY_ACTIONS = [
    ("accounting.invoice.post", "Post a customer invoice or credit note"),
    ("accounting.bill.post", "Post a vendor bill or refund"),
    ("accounting.payment.register", "Register a payment against an invoice or bill"),
]


@hookimpl
def officium_duty_actions() -> list[tuple[str, str]]:
    """The actions segregation-of-duties rules may name; the services check them before acting."""
    return DUTY_ACTIONS


@hookimpl
def officium_personal_data(contact: Any, session: Any) -> dict[str, Any]:
    """The contact's invoices, bills, credit notes (with their lines) and payments."""
    from .services.privacy import personal_data

    return personal_data(session, contact)


@hookimpl
def officium_personal_data_retained(contact: Any, session: Any) -> list[str]:
    """Posted documents and registered payments are bookkeeping records: they are kept."""
    from .services.privacy import retained

    return retained(session, contact)


@hookimpl
def officium_erase_personal_data(contact: Any, session: Any, anonymize: bool) -> list[str]:
    """Blank draft documents' notes, or delete the draft documents; posted ones stay as issued."""
    from .services.privacy import erase

    return erase(session, contact, anonymize=anonymize)
