"""Accounting as a department a company switches on and off: menus, pages, search, data."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from plugins.accounting.models import Invoice

pytestmark = pytest.mark.plugins("accounting")


def test_disabling_hides_menus_and_pages_and_keeps_the_data(
    admin_client, ext, session, customer, make_invoice
):
    invoice = make_invoice(customer, date="2026-03-10")
    invoice_id, number = invoice.id, invoice.number
    session.close()
    page = admin_client.get("/").get_data(as_text=True)
    assert 'href="/accounting/invoices"' in page and "Chart of accounts" in page

    assert ext.plugins.disable(ext.db, ["accounting"]) == ["accounting"]
    page = admin_client.get("/").get_data(as_text=True)
    assert 'href="/accounting/invoices"' not in page and "Chart of accounts" not in page
    assert admin_client.get("/accounting/invoices").status_code == 404
    assert admin_client.get(f"/accounting/invoices/{invoice_id}").status_code == 404
    results = admin_client.get("/search", query_string={"q": number}).get_data(as_text=True)
    assert f"/accounting/invoices/{invoice_id}" not in results
    with ext.db.session(read_only=True) as check:
        assert check.scalar(select(func.count()).select_from(Invoice)) == 1

    assert ext.plugins.enable(ext.db, ["accounting"]) == ["accounting"]
    detail = admin_client.get(f"/accounting/invoices/{invoice_id}")
    assert detail.status_code == 200 and number in detail.get_data(as_text=True)


def test_global_search_finds_an_invoice_by_number_for_those_who_may_see_it(
    admin_client, make_client, session, customer, make_invoice
):
    invoice = make_invoice(customer, date="2026-03-10")
    number, link = invoice.number, f"/accounting/invoices/{invoice.id}"
    session.close()
    found = admin_client.get("/search", query_string={"q": number}).get_data(as_text=True)
    assert link in found and f"{number} · Acme Corporation" in found
    outsider = make_client("outsider@test.example", permissions=("contacts.view",))
    assert link not in outsider.get("/search", query_string={"q": number}).get_data(as_text=True)


def test_the_accountant_role_is_seeded_with_the_accounting_permissions(ext, session):
    from core.models import Role

    role = session.scalar(select(Role).where(Role.name == "Accountant"))
    codes = {p.code for p in role.permissions}
    assert {"accounting.invoice.post", "accounting.period.lock", "ledger.view"} <= codes
    assert "users.manage" not in codes
