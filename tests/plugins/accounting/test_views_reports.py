"""Accounting's report, chart of accounts, tax, fiscal year and bank statement pages, through real
HTTP with CSRF on. The worked example: an invoice of 1,000.00 + 20% tax (1,200.00) posted on
2026-03-10, due 30 days later (2026-04-09), 600.00 of it paid into the bank on 2026-03-20."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

import pytest

from core.errors import ValidationError
from core.models import Account, Company
from core.services import ledger as ledger_service
from core.testing import csrf_token
from plugins.accounting.models import BankJournal, Invoice, Statement, StatementLine, Tax
from plugins.accounting.services import invoices, payments
from tests.core.web_helpers import (
    assert_forbidden,
    count,
    csv_rows,
    fetch,
    field_error,
    flashes,
    page,
    redirect_path,
    submit,
    system_session,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("accounting")


def row(response: Any, row_id: str) -> list[str]:
    """The visible text of each cell (``th`` or ``td``) of the table row with ``id=row_id``."""
    match = re.search(rf'<tr id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page(response), re.S)
    assert match, f"no row {row_id}"
    cells = re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", match.group(1), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split()) for cell in cells]


def has_row(response: Any, row_id: str) -> bool:
    return f'<tr id="{row_id}"' in page(response)


def consulting(amount: str, tax: Tax) -> list[dict[str, Any]]:
    return [{"description": "Consulting", "quantity": "1", "unit_price": amount, "tax": tax.id}]


def pay(session: Any, invoice: Invoice, amount: str, date: str) -> None:
    payments.register_payment(
        session,
        {"bank_journal": "BNK", "date": date, "allocations": [{"invoice_id": invoice.id, "amount": amount}]},
    )
    session.commit()


@pytest.fixture
def worked_example(session, customer, sales_tax, make_invoice) -> Invoice:
    invoice = make_invoice(customer, date="2026-03-10", lines=consulting("1000.00", sales_tax))
    assert (invoice.number, invoice.total, invoice.due_date) == ("INV/2026/0001", 1200, dt.date(2026, 4, 9))
    pay(session, invoice, "600.00", "2026-03-20")
    return invoice


# --- the reports --------------------------------------------------------------------------------------


def test_the_reports_index_links_every_report(admin_client):
    response = admin_client.get("/accounting/reports")
    assert response.status_code == 200
    text = visible(response)
    for title in ("Profit and loss", "Balance sheet", "Trial balance", "General ledger"):
        assert title in text
    for path in (
        "/accounting/reports/profit-and-loss",
        "/accounting/reports/balance-sheet",
        "/accounting/reports/trial-balance",
        "/accounting/reports/general-ledger",
        "/accounting/reports/aged-receivable",
        "/accounting/reports/aged-payable",
    ):
        assert f'href="{path}"' in page(response)
        assert admin_client.get(path).status_code == 200, path


def test_profit_and_loss_of_march_shows_the_sale_and_the_previous_period(admin_client, worked_example):
    response = admin_client.get("/accounting/reports/profit-and-loss?date_from=2026-03-01&date_to=2026-03-31")
    assert response.status_code == 200
    assert row(response, "pl-income-4000") == ["4000", "Sales", "1,000.00", "0.00"]
    assert row(response, "pl-total-income") == ["Total income", "1,000.00", "0.00"]
    assert row(response, "pl-total-expenses") == ["Total expenses", "0.00", "0.00"]
    assert row(response, "pl-net-profit") == ["Net profit", "1,000.00", "0.00"]
    assert "Mar 1, 2026 – Mar 31, 2026" in visible(response)
    assert "Previous period: Feb 1, 2026 – Feb 28, 2026" in visible(response)
    # April is the next period: the sale is in its comparison column only.
    april = admin_client.get("/accounting/reports/profit-and-loss?date_from=2026-04-01&date_to=2026-04-30")
    assert row(april, "pl-net-profit") == ["Net profit", "0.00", "1,000.00"]
    assert "Previous period: Mar 1, 2026 – Mar 31, 2026" in visible(april)


def test_profit_and_loss_csv_has_the_same_figures(admin_client, worked_example):
    response = admin_client.get(
        "/accounting/reports/profit-and-loss?date_from=2026-03-01&date_to=2026-03-31&format=csv"
    )
    assert csv_rows(response) == [
        ["section", "code", "account", "2026-03-01..2026-03-31", "2026-02-01..2026-02-28"],
        ["Income", "4000", "Sales", "1000.00", "0.00"],
        ["Income", "", "Total income", "1000.00", "0.00"],
        ["Expenses", "", "Total expenses", "0.00", "0.00"],
        ["", "", "Net profit", "1000.00", "0.00"],
    ]


def test_profit_and_loss_counts_expenses_against_income(
    admin_client, session, vendor, purchase_tax, worked_example, make_invoice
):
    make_invoice(
        vendor,
        kind="in_invoice",
        date="2026-03-12",
        lines=[{"description": "Paper", "quantity": "4", "unit_price": "25.00", "tax": purchase_tax.id}],
    )
    response = admin_client.get("/accounting/reports/profit-and-loss?date_from=2026-03-01&date_to=2026-03-31")
    assert row(response, "pl-expenses-6100") == ["6100", "Office supplies", "100.00", "0.00"]
    assert row(response, "pl-net-profit") == ["Net profit", "900.00", "0.00"]


def test_balance_sheet_at_the_end_of_march_balances(admin_client, worked_example):
    response = admin_client.get("/accounting/reports/balance-sheet?as_of=2026-03-31")
    assert response.status_code == 200
    assert row(response, "bs-assets-1100") == ["1100", "Bank", "600.00", "0.00"]
    assert row(response, "bs-assets-1200") == ["1200", "Accounts receivable", "600.00", "0.00"]
    assert row(response, "bs-total-assets") == ["Total assets", "1,200.00", "0.00"]
    assert row(response, "bs-liabilities-2100") == ["2100", "VAT / sales tax payable", "200.00", "0.00"]
    assert row(response, "bs-total-liabilities") == ["Total liabilities", "200.00", "0.00"]
    assert row(response, "bs-equity-current-year-earnings") == [
        "",
        "Current year earnings",
        "1,000.00",
        "0.00",
    ]
    assert row(response, "bs-total-equity") == ["Total equity", "1,000.00", "0.00"]
    assert row(response, "bs-total-liabilities-equity") == [
        "Total liabilities and equity",
        "1,200.00",
        "0.00",
    ]
    assert "Balanced: assets equal liabilities plus equity." in visible(response)
    assert "Previous: Mar 31, 2025" in visible(response)


def test_balance_sheet_compares_with_the_day_before_the_period(admin_client, worked_example):
    response = admin_client.get("/accounting/reports/balance-sheet?as_of=2026-03-31&date_from=2026-03-15")
    assert "Previous: Mar 14, 2026" in visible(response)
    # By March 14 only the invoice was posted: all 1,200.00 still receivable.
    assert row(response, "bs-assets-1200") == ["1200", "Accounts receivable", "600.00", "1,200.00"]
    assert row(response, "bs-assets-1100") == ["1100", "Bank", "600.00", "0.00"]
    assert row(response, "bs-total-assets") == ["Total assets", "1,200.00", "1,200.00"]
    assert "Balanced: assets equal liabilities plus equity." in visible(response)


def test_last_years_profit_shows_as_prior_years_earnings(admin_client, worked_example):
    response = admin_client.get("/accounting/reports/balance-sheet?as_of=2027-01-31")
    assert "Previous: Jan 31, 2026" in visible(response)
    assert row(response, "bs-equity-prior-years-earnings") == [
        "",
        "Prior years' earnings",
        "1,000.00",
        "0.00",
    ]
    assert not has_row(response, "bs-equity-current-year-earnings")
    assert row(response, "bs-total-liabilities-equity")[1:] == ["1,200.00", "0.00"]
    assert "Balanced: assets equal liabilities plus equity." in visible(response)


def test_balance_sheet_csv_has_the_same_figures(admin_client, worked_example):
    rows = csv_rows(admin_client.get("/accounting/reports/balance-sheet?as_of=2026-03-31&format=csv"))
    assert rows == [
        ["section", "code", "account", "2026-03-31", "2025-03-31"],
        ["Assets", "1100", "Bank", "600.00", "0.00"],
        ["Assets", "1200", "Accounts receivable", "600.00", "0.00"],
        ["Assets", "", "Total assets", "1200.00", "0.00"],
        ["Liabilities", "2100", "VAT / sales tax payable", "200.00", "0.00"],
        ["Liabilities", "", "Total liabilities", "200.00", "0.00"],
        ["Equity", "", "Current year earnings", "1000.00", "0.00"],
        ["Equity", "", "Total equity", "1000.00", "0.00"],
        ["", "", "Total liabilities and equity", "1200.00", "0.00"],
        ["", "", "Balanced", "yes", ""],
    ]


def test_trial_balance_page_and_csv(admin_client, worked_example):
    response = admin_client.get("/accounting/reports/trial-balance?date_to=2026-03-31")
    assert table_column(response, 0) == ["1100", "1200", "2100", "4000"]
    assert row(response, "tb-1200") == [
        "1200",
        "Accounts receivable",
        "asset",
        "1,200.00",
        "600.00",
        "600.00",
    ]
    assert row(response, "tb-4000") == ["4000", "Sales", "income", "0.00", "1,000.00", "-1,000.00"]
    assert visible(response).count("1,800.00") == 2  # total debit = total credit
    rows = csv_rows(admin_client.get("/accounting/reports/trial-balance?date_to=2026-03-31&format=csv"))
    assert rows == [
        ["code", "account", "type", "debit", "credit", "balance"],
        ["1100", "Bank", "asset", "600.00", "0.00", "600.00"],
        ["1200", "Accounts receivable", "asset", "1200.00", "600.00", "600.00"],
        ["2100", "VAT / sales tax payable", "liability", "0.00", "200.00", "-200.00"],
        ["4000", "Sales", "income", "0.00", "1000.00", "-1000.00"],
        ["", "Total", "", "1800.00", "1800.00", "0.00"],
    ]
    # Before the sale nothing was posted.
    assert "No posted entries in this period." in visible(
        admin_client.get("/accounting/reports/trial-balance?date_to=2026-03-09")
    )


def test_general_ledger_of_receivables_with_running_balance(admin_client, worked_example):
    response = admin_client.get(
        "/accounting/reports/general-ledger?account=1200&date_from=2026-03-15&date_to=2026-03-31"
    )
    assert response.status_code == 200
    assert "General ledger 1200 Accounts receivable" in visible(response)
    # The invoice (March 10) is before the period: it makes the opening balance.
    assert table_column(response, 2)[0] == "Opening balance"
    assert table_column(response, 6) == ["1,200.00", "600.00"]
    assert table_column(response, 5) == ["", "600.00"]
    assert table_column(response, 1)[1].startswith("BNK/2026/")

    march = admin_client.get(
        "/accounting/reports/general-ledger?account=1200&date_from=2026-03-01&date_to=2026-03-31"
    )
    assert table_column(march, 0) == ["Mar 1, 2026", "Mar 10, 2026", "Mar 20, 2026"]
    assert table_column(march, 4) == ["", "1,200.00", ""]
    assert table_column(march, 5) == ["", "", "600.00"]
    assert table_column(march, 6) == ["0.00", "1,200.00", "600.00"]
    assert table_column(march, 3)[1:] == ["Acme Corporation", "Acme Corporation"]
    assert table_column(march, 1)[1] == "SAL/2026/000001"
    assert f'<a href="/ledger/entries/{worked_example.entry_id}">SAL/2026/000001</a>' in page(march)
    assert "Closing balance 1,200.00 600.00 600.00" in visible(march)
    rows = csv_rows(
        admin_client.get(
            "/accounting/reports/general-ledger?account=1200&date_from=2026-03-01&date_to=2026-03-31&format=csv"
        )
    )
    assert rows[0] == ["date", "number", "memo", "contact", "debit", "credit", "balance"]
    assert rows[1] == ["2026-03-01", "", "Opening balance", "", "", "", "0.00"]
    assert [r[:2] for r in rows[2:4]] == [["2026-03-10", "SAL/2026/000001"], ["2026-03-20", rows[3][1]]]
    assert rows[3][1].startswith("BNK/2026/")
    assert [r[3:] for r in rows[2:4]] == [
        ["Acme Corporation", "1200.00", "0.00", "1200.00"],
        ["Acme Corporation", "0.00", "600.00", "600.00"],
    ]
    assert rows[4] == ["2026-03-31", "", "Closing balance", "", "1200.00", "600.00", "600.00"]
    assert len(rows) == 5


def test_general_ledger_without_an_account_asks_for_one(admin_client):
    response = admin_client.get("/accounting/reports/general-ledger")
    assert response.status_code == 200
    assert "Choose an account to see its postings." in visible(response)
    unknown = admin_client.get("/accounting/reports/general-ledger?account=9999")
    assert unknown.status_code == 422
    assert field_error(unknown, "account") == "no such account"


def test_aged_receivables_put_the_open_half_in_31_to_60_days(admin_client, session, worked_example):
    as_of = "2026-05-24"  # 45 days after the due date, April 9
    response = admin_client.get(f"/accounting/reports/aged-receivable?as_of={as_of}")
    assert response.status_code == 200
    assert table_column(response, 0) == ["Acme Corporation"]
    assert [table_column(response, i)[0] for i in range(1, 6)] == ["0.00", "600.00", "0.00", "0.00", "600.00"]
    assert row(response, "aged-totals") == ["Total", "0.00", "600.00", "0.00", "0.00", "600.00"]
    assert csv_rows(admin_client.get(f"/accounting/reports/aged-receivable?as_of={as_of}&format=csv")) == [
        ["contact", "0-30", "31-60", "61-90", "90+", "total"],
        ["Acme Corporation", "0.00", "600.00", "0.00", "0.00", "600.00"],
        ["Total", "0.00", "600.00", "0.00", "0.00", "600.00"],
    ]
    # Nothing is owed to vendors.
    assert "Nothing is open" in visible(admin_client.get(f"/accounting/reports/aged-payable?as_of={as_of}"))
    # The customer pays the rest: receivables go to zero.
    pay(session, worked_example, "600.00", "2026-05-01")
    paid = admin_client.get(f"/accounting/reports/aged-receivable?as_of={as_of}")
    assert "Nothing is open as of May 24, 2026." in visible(paid)
    assert not has_row(paid, "aged-totals")
    assert csv_rows(admin_client.get(f"/accounting/reports/aged-receivable?as_of={as_of}&format=csv")) == [
        ["contact", "0-30", "31-60", "61-90", "90+", "total"],
        ["Total", "0.00", "0.00", "0.00", "0.00", "0.00"],
    ]


def test_aged_payables_list_open_bills(admin_client, vendor, purchase_tax, make_invoice):
    make_invoice(
        vendor,
        kind="in_invoice",
        date="2026-01-05",
        due_date="2026-01-05",
        lines=[{"description": "Paper", "quantity": "1", "unit_price": "50.00", "tax": purchase_tax.id}],
    )
    response = admin_client.get("/accounting/reports/aged-payable?as_of=2026-05-01")  # 116 days late
    assert row(response, "aged-totals") == ["Total", "0.00", "0.00", "0.00", "60.00", "60.00"]
    assert table_column(response, 0) == ["Initech Supplies"]


def test_report_dates_default_to_the_fiscal_year_to_date(admin_client):
    today = dt.date.today()
    response = admin_client.get("/accounting/reports/profit-and-loss")
    assert response.status_code == 200
    assert f'name="date_from" value="{today.year}-01-01"' in page(response)
    assert f'name="date_to" value="{today.isoformat()}"' in page(response)
    assert f'name="as_of" value="{today.isoformat()}"' in page(
        admin_client.get("/accounting/reports/balance-sheet")
    )


@pytest.mark.parametrize(
    "path",
    [
        "/accounting/reports/profit-and-loss?date_from=2026-13-01",
        "/accounting/reports/profit-and-loss?date_from=2026-13-01&format=csv",
        "/accounting/reports/balance-sheet?as_of=yesterday",
        "/accounting/reports/trial-balance?date_to=31/03/2026",
        "/accounting/reports/general-ledger?account=1200&date_from=x",
        "/accounting/reports/aged-receivable?as_of=2026-02-30",
    ],
)
def test_an_invalid_date_is_a_form_message(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 422
    assert response.mimetype == "text/html"
    name = re.search(r"[?&](date_from|date_to|as_of)=", path).group(1)
    assert field_error(response, name) == "must be a date (YYYY-MM-DD)"


@pytest.mark.parametrize(
    "path",
    [
        "/accounting/reports/profit-and-loss?date_from=0001-01-01&date_to=0001-12-31",
        "/accounting/reports/balance-sheet?as_of=9999-12-31",
        "/accounting/reports/aged-receivable?as_of=0001-01-01",
    ],
)
def test_a_date_out_of_the_business_range_is_a_form_message_not_an_error_page(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 422
    name = re.search(r"[?&](date_from|as_of)=", path).group(1)
    assert field_error(response, name) == "must be between 1900-01-01 and 9899-12-31"


def test_a_period_ending_before_it_starts_is_a_form_message(admin_client):
    response = admin_client.get("/accounting/reports/profit-and-loss?date_from=2026-04-01&date_to=2026-03-01")
    assert response.status_code == 422
    assert field_error(response, "date_from") == "must not be after date_to"
    assert not has_row(response, "pl-net-profit")


def test_reports_need_the_report_permission(make_client, worked_example):
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    for path in (
        "/accounting/reports",
        "/accounting/reports/profit-and-loss",
        "/accounting/reports/balance-sheet?format=csv",
        "/accounting/reports/aged-receivable",
        "/accounting/reports/general-ledger?account=1200",
        "/accounting/reports/trial-balance",
    ):
        assert_forbidden(viewer.get(path), "accounting.report.view")
    reader = make_client("reader@test.example", permissions=("accounting.report.view",))
    response = reader.get("/accounting/reports/balance-sheet?as_of=2026-03-31")
    assert response.status_code == 200
    assert row(response, "bs-total-assets") == ["Total assets", "1,200.00", "0.00"]
    # Without ledger.view the entry numbers are plain text, not links to a page they cannot open.
    ledger_page = reader.get("/accounting/reports/general-ledger?account=1200&date_from=2026-03-01")
    assert "SAL/2026/000001" in visible(ledger_page)
    assert "/ledger/entries/" not in page(ledger_page)


# --- chart of accounts --------------------------------------------------------------------------------


def test_the_chart_is_a_tree_of_the_seeded_accounts(admin_client, worked_example):
    response = admin_client.get("/accounting/chart")
    assert response.status_code == 200
    codes = [code.strip() for code in table_column(response, 0)]
    assert codes[:4] == ["1000", "1100", "1200", "1300"]
    # Expense accounts sit under their group, indented.
    assert codes[codes.index("6") + 1 : codes.index("6") + 3] == ["6000", "6100"]
    assert 'class="depth-1"' in re.search(r'<tr id="account-6100"[^>]*>', page(response)).group(0)
    assert "<td>&nbsp;&nbsp;&nbsp;&nbsp;6100</td>" in page(response)
    assert "<td>1200</td>" in page(response)
    assert row(response, "account-1200")[:5] == ["1200", "Accounts receivable", "asset", "600.00", "Active"]
    assert row(response, "account-2100")[3] == "-200.00"


def test_only_accounts_without_postings_offer_delete(admin_client, worked_example):
    response = admin_client.get("/accounting/chart")
    assert "Delete" not in row(response, "account-1200")[5]  # has postings
    assert "Delete" not in row(response, "account-6")[5]  # has sub-accounts
    assert "Delete" in row(response, "account-6700")[5]
    assert "Deactivate" in row(response, "account-1200")[5]


def test_an_account_is_created_under_a_parent(admin_client, ext):
    form = admin_client.get("/accounting/chart/new")
    assert form.status_code == 200
    response = submit(
        admin_client,
        "/accounting/chart/new",
        {"code": "6710", "name": "Card fees", "type": "expense", "parent": "6"},
    )
    assert redirect_path(response) == "/accounting/chart"
    chart = admin_client.get("/accounting/chart")
    assert "Account 6710 Card fees created." in flashes(chart)
    assert row(chart, "account-6710")[1:3] == ["Card fees", "expense"]
    assert (
        fetch(ext, Account, Account.code == "6710").parent_id == fetch(ext, Account, Account.code == "6").id
    )


def test_an_invalid_account_shows_the_errors(admin_client, ext):
    before = count(ext, Account)
    response = submit(
        admin_client, "/accounting/chart/new", {"code": "1200", "name": "Again", "type": "asset"}
    )
    assert response.status_code == 422
    assert field_error(response, "code") == "already in use"
    response = submit(admin_client, "/accounting/chart/new", {"code": "", "name": "", "type": "magic"})
    assert response.status_code == 422
    assert field_error(response, "name") == "is required (at most 200 characters)"
    assert field_error(response, "type").startswith("must be one of asset")
    assert count(ext, Account) == before


def test_a_used_account_cannot_be_deleted_but_an_unused_one_can(admin_client, worked_example, ext):
    receivable = fetch(ext, Account, Account.code == "1200")
    response = submit(
        admin_client, f"/accounting/chart/{receivable.id}/delete", form_page="/accounting/chart"
    )
    assert redirect_path(response) == "/accounting/chart"
    chart = admin_client.get("/accounting/chart")
    assert "account 1200 has journal lines; deactivate it instead" in flashes(chart)
    assert has_row(chart, "account-1200")
    unused = fetch(ext, Account, Account.code == "6500")
    response = submit(admin_client, f"/accounting/chart/{unused.id}/delete", form_page="/accounting/chart")
    chart = admin_client.get(redirect_path(response))
    assert "Account 6500 deleted." in flashes(chart)
    assert not has_row(chart, "account-6500")
    assert count(ext, Account, Account.code == "6500") == 0


def test_an_account_is_deactivated_and_activated(admin_client, ext):
    rent = fetch(ext, Account, Account.code == "6000")
    submit(admin_client, f"/accounting/chart/{rent.id}/toggle", form_page="/accounting/chart")
    chart = admin_client.get("/accounting/chart")
    assert "Account 6000 deactivated." in flashes(chart)
    assert row(chart, "account-6000")[4] == "Inactive"
    assert fetch(ext, Account, Account.code == "6000").active is False
    submit(admin_client, f"/accounting/chart/{rent.id}/toggle", form_page="/accounting/chart")
    assert row(admin_client.get("/accounting/chart"), "account-6000")[4] == "Active"


def test_changing_the_chart_needs_the_ledger_permission(make_client, ext):
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    chart = viewer.get("/accounting/chart")
    assert chart.status_code == 200
    assert "New account" not in visible(chart)
    assert "Deactivate" not in visible(chart) and "Delete" not in visible(chart)
    unused = fetch(ext, Account, Account.code == "6500")
    response = submit(viewer, f"/accounting/chart/{unused.id}/delete", form_page="/accounting/chart")
    assert_forbidden(response, "ledger.account.manage")
    assert_forbidden(viewer.get("/accounting/chart/new"), "ledger.account.manage")
    assert count(ext, Account, Account.code == "6500") == 1
    stranger = make_client("stranger@test.example", permissions=("contacts.view",))
    assert_forbidden(stranger.get("/accounting/chart"), "accounting.view")


# --- taxes ------------------------------------------------------------------------------------------


def test_the_seeded_taxes_are_listed(admin_client):
    response = admin_client.get("/accounting/taxes")
    assert table_column(response, 0) == ["Purchase tax 20%", "Sales tax 20%"]
    assert table_column(response, 1) == ["20%", "20%"]
    assert table_column(response, 2) == ["Added to price", "Added to price"]
    assert table_column(response, 3) == ["Purchases", "Sales"]
    assert table_column(response, 4) == ["1300 VAT / sales tax receivable", "2100 VAT / sales tax payable"]


def test_a_tax_is_created_and_edited(admin_client, ext):
    assert admin_client.get("/accounting/taxes/new").status_code == 200
    response = submit(
        admin_client,
        "/accounting/taxes/new",
        {"name": "Reduced 5.5%", "rate": "5.5", "price_include": "on", "scope": "sale", "account": "2100"},
    )
    assert redirect_path(response) == "/accounting/taxes"
    listing = admin_client.get("/accounting/taxes")
    assert "Tax Reduced 5.5% created." in flashes(listing)
    tax = fetch(ext, Tax, Tax.name == "Reduced 5.5%")
    assert row(listing, f"tax-{tax.id}")[:6] == [
        "Reduced 5.5%",
        "5.5%",
        "Included in price",
        "Sales",
        "2100 VAT / sales tax payable",
        "Active",
    ]
    edit = admin_client.get(f"/accounting/taxes/{tax.id}/edit")
    assert 'name="rate" type="text" value="5.5"' in page(edit)
    response = submit(
        admin_client,
        f"/accounting/taxes/{tax.id}/edit",
        {"name": "Reduced 7%", "rate": "7", "scope": "sale", "account": "2100", "active": "on"},
    )
    assert redirect_path(response) == "/accounting/taxes"
    listing = admin_client.get("/accounting/taxes")
    assert row(listing, f"tax-{tax.id}")[:3] == ["Reduced 7%", "7%", "Added to price"]
    saved = fetch(ext, Tax, Tax.id == tax.id)
    assert (saved.rate, saved.price_include) == (7, False)


def test_a_tax_with_a_rate_of_abc_is_refused(admin_client, ext):
    before = count(ext, Tax)
    response = submit(
        admin_client,
        "/accounting/taxes/new",
        {"name": "Broken", "rate": "abc", "scope": "sale", "account": ""},
    )
    assert response.status_code == 422
    assert field_error(response, "rate") == "must be a decimal number"
    assert field_error(response, "account") == "no such account"
    assert 'value="Broken"' in page(response)
    assert count(ext, Tax) == before
    sales = fetch(ext, Tax, Tax.name == "Sales tax 20%")
    response = submit(
        admin_client,
        f"/accounting/taxes/{sales.id}/edit",
        {"name": "Purchase tax 20%", "rate": "120", "scope": "sale", "account": "2100", "active": "on"},
    )
    assert response.status_code == 422
    assert field_error(response, "rate") == "must be a percentage between 0 and 100"
    assert fetch(ext, Tax, Tax.id == sales.id).rate == 20


def test_taxes_need_the_settings_permission_to_change(make_client, ext):
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    listing = viewer.get("/accounting/taxes")
    assert listing.status_code == 200 and "New tax" not in visible(listing)
    assert_forbidden(viewer.get("/accounting/taxes/new"), "accounting.settings")
    response = submit(
        viewer,
        "/accounting/taxes/new",
        {"name": "Sneaky", "rate": "1", "scope": "sale", "account": "2100"},
        form_page="/accounting/taxes",
    )
    assert_forbidden(response, "accounting.settings")
    assert count(ext, Tax, Tax.name == "Sneaky") == 0


# --- fiscal years and the lock date -------------------------------------------------------------------


def test_locking_the_period_from_the_page_refuses_earlier_postings(
    admin_client, session, customer, sales_tax, make_invoice, worked_example, ext
):
    draft = make_invoice(customer, date="2026-03-15", lines=consulting("50.00", sales_tax), post=False)
    periods_page = admin_client.get("/accounting/periods")
    assert "No lock date: every period is open." in visible(periods_page)
    assert row(periods_page, "year-2026")[:5] == ["2026", "Jan 1, 2026", "Dec 31, 2026", "Open", "1"]
    assert "Fiscal year 2026 still has 1 draft document" in visible(periods_page)

    response = submit(
        admin_client, "/accounting/periods/lock", {"lock_date": "2026-03-31"}, form_page="/accounting/periods"
    )
    assert redirect_path(response) == "/accounting/periods"
    after = admin_client.get("/accounting/periods")
    assert "The books are locked through 2026-03-31: postings dated on or before it are refused." in flashes(
        after
    )
    assert "The books are locked through Mar 31, 2026" in visible(after)
    assert fetch(ext, Company, Company.id == draft.company_id).lock_date == dt.date(2026, 3, 31)

    with system_session(ext) as fresh:
        invoice = fresh.get(Invoice, draft.id)
        with pytest.raises(ValidationError) as refused:
            invoices.post_invoice(fresh, invoice)
        assert refused.value.fields == {"date": ["is in a locked period (locked through 2026-03-31)"]}
    with system_session(ext) as fresh, pytest.raises(ValidationError) as refused:
        ledger_service.create_entry(
            fresh,
            {
                "journal": "GJ",
                "date": "2026-03-31",
                "lines": [{"account": "6700", "debit": "5.00"}, {"account": "1100", "credit": "5.00"}],
            },
            post=True,
        )
    assert "locked" in str(refused.value.fields["date"])
    assert fetch(ext, Invoice, Invoice.id == draft.id).state == "draft"

    # Clearing the lock date reopens the period.
    response = submit(
        admin_client, "/accounting/periods/lock", {"action": "clear"}, form_page="/accounting/periods"
    )
    cleared = admin_client.get(redirect_path(response))
    assert "The lock date is cleared: every period is open." in flashes(cleared)
    assert fetch(ext, Company, Company.id == draft.company_id).lock_date is None


def test_a_whole_year_shows_as_locked(admin_client, worked_example):
    assert row(admin_client.get("/accounting/periods"), "year-2026")[3] == "Open"
    submit(
        admin_client, "/accounting/periods/lock", {"lock_date": "2026-12-31"}, form_page="/accounting/periods"
    )
    assert row(admin_client.get("/accounting/periods"), "year-2026")[3] == "Locked"


def test_an_invalid_lock_date_is_a_form_message(admin_client, ext):
    response = submit(
        admin_client, "/accounting/periods/lock", {"lock_date": "31/03/2026"}, form_page="/accounting/periods"
    )
    assert response.status_code == 422
    assert field_error(response, "lock_date") == "must be a date (YYYY-MM-DD)"
    assert 'value="31/03/2026"' in page(response)
    assert fetch(ext, Company, Company.id.is_not(None)).lock_date is None


def test_locking_needs_the_lock_permission(make_client, ext):
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    response = viewer.get("/accounting/periods")
    assert response.status_code == 200
    assert "Set lock date" not in visible(response)
    response = submit(
        viewer, "/accounting/periods/lock", {"lock_date": "2026-03-31"}, form_page="/accounting/periods"
    )
    assert_forbidden(response, "accounting.period.lock")
    assert fetch(ext, Company, Company.id.is_not(None)).lock_date is None


# --- bank statements ---------------------------------------------------------------------------------


def upload(client: Any, content: str, *, journal: int, name: str = "March statement") -> Any:
    token = csrf_token(client, "/accounting/statements/import")
    return client.post(
        "/accounting/statements/import",
        data={
            "csrf_token": token,
            "bank_journal": str(journal),
            "name": name,
            "file": (io.BytesIO(content.encode()), "statement.csv"),
        },
        content_type="multipart/form-data",
    )


def bank_journal_id(client: Any) -> int:
    with client.application.extensions["officium"].db.session(read_only=True) as session:
        return next(b.id for b in session.query(BankJournal).all() if b.journal.code == "BNK")


def test_a_statement_with_a_bad_row_stores_nothing(admin_client, ext):
    content = "date,description,amount\n2026-03-25,Customer payment,1200.00\n2026-03-26,Bank fee,twelve\n"
    response = upload(admin_client, content, journal=bank_journal_id(admin_client))
    assert response.status_code == 422
    assert "Nothing was imported" in visible(response)
    assert "Row 3 (amount): must be a decimal number" in visible(response)
    assert count(ext, Statement) == 0
    assert count(ext, StatementLine) == 0
    empty = upload(admin_client, "", journal=bank_journal_id(admin_client))
    assert empty.status_code == 422
    assert field_error(empty, "file") == "is empty: expected rows of date,description,amount"


def test_a_statement_is_imported_matched_and_booked(admin_client, customer, sales_tax, make_invoice, ext):
    invoice = make_invoice(customer, date="2026-03-10", lines=consulting("1000.00", sales_tax))
    assert invoice.number == "INV/2026/0001"
    content = (
        "date,description,amount\n"
        "2026-03-25,Acme payment INV/2026/0001,1200.00\n"
        "2026-03-31,Monthly bank fee,-12.50\n"
    )
    response = upload(admin_client, content, journal=bank_journal_id(admin_client))
    statement_path = redirect_path(response)
    detail = admin_client.get(statement_path)
    assert "Statement March statement imported: 2 lines." in flashes(detail)
    assert table_column(detail, 1) == ["Acme payment INV/2026/0001", "Monthly bank fee"]
    assert table_column(detail, 2) == ["1,200.00", "-12.50"]
    assert table_column(detail, 3) == ["Open", "Open"]
    suggestion = table_column(detail, 4)[0]
    assert "INV/2026/0001 · Acme Corporation · left to pay 1,200.00 (same reference) Match" in suggestion
    assert "No open invoice or bill matches this line." in table_column(detail, 4)[1]
    listing = admin_client.get("/accounting/statements")
    assert table_column(listing, 0) == ["March statement"]
    assert table_column(listing, 3) == ["2"] and table_column(listing, 5) == ["1,187.50"]

    lines = _lines(admin_client)
    response = submit(
        admin_client,
        f"{statement_path}/lines/{lines[0].id}/match",
        {"invoice_id": str(invoice.id)},
        form_page=statement_path,
    )
    detail = admin_client.get(redirect_path(response))
    assert "Line Acme payment INV/2026/0001 matched: payment registered." in flashes(detail)
    assert table_column(detail, 3)[0] == "Matched"
    assert table_column(detail, 4)[0] == "Paid by payment"
    assert re.search(r'href="/accounting/payments/\d+"', page(detail))
    paid = fetch(ext, Invoice, Invoice.id == invoice.id)
    assert (paid.state, paid.residual) == ("paid", 0)

    response = submit(
        admin_client,
        f"{statement_path}/lines/{lines[1].id}/book",
        {"account": "6700"},
        form_page=statement_path,
    )
    detail = admin_client.get(redirect_path(response))
    assert "Line Monthly bank fee booked to 6700." in flashes(detail)
    assert table_column(detail, 3) == ["Matched", "Booked"]
    assert table_column(detail, 4)[1] == "Booked: journal entry"
    chart = admin_client.get("/accounting/chart")
    assert row(chart, "account-6700")[3] == "12.50"
    assert row(chart, "account-1100")[3] == "1,187.50"
    assert row(chart, "account-1200")[3] == "0.00"
    # A line is reconciled once.
    again = submit(
        admin_client,
        f"{statement_path}/lines/{lines[1].id}/book",
        {"account": "6700"},
        form_page=statement_path,
    )
    assert "The line was not booked: this line is already booked" in flashes(
        admin_client.get(redirect_path(again))
    )


def test_booking_to_an_unknown_account_is_refused(admin_client):
    response = upload(admin_client, "2026-03-31,Bank fee,-3.00\n", journal=bank_journal_id(admin_client))
    statement_path = redirect_path(response)
    line = _lines(admin_client)[0]
    response = submit(
        admin_client, f"{statement_path}/lines/{line.id}/book", {"account": "9999"}, form_page=statement_path
    )
    detail = admin_client.get(redirect_path(response))
    assert "The line was not booked: unknown account" in flashes(detail)
    assert table_column(detail, 3) == ["Open"]


def test_statements_need_the_payment_permission_to_change(admin_client, make_client, ext):
    response = upload(admin_client, "2026-03-31,Bank fee,-3.00\n", journal=bank_journal_id(admin_client))
    statement_path = redirect_path(response)
    line = _lines(admin_client)[0]
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    detail = viewer.get(statement_path)
    assert detail.status_code == 200 and "Bank fee" in visible(detail)
    assert "Book to account" not in visible(detail)
    assert "Import a statement" not in visible(viewer.get("/accounting/statements"))
    assert_forbidden(viewer.get("/accounting/statements/import"), "accounting.payment.manage")
    response = submit(
        viewer, f"{statement_path}/lines/{line.id}/book", {"account": "6700"}, form_page=statement_path
    )
    assert_forbidden(response, "accounting.payment.manage")
    assert fetch(ext, StatementLine, StatementLine.id == line.id).state == "open"


def test_user_data_is_escaped(admin_client, ext):
    upload(
        admin_client,
        "2026-03-31,<script>alert(1)</script>,-3.00\n",
        journal=bank_journal_id(admin_client),
        name="<b>bold</b>",
    )
    listing = admin_client.get("/accounting/statements")
    assert "<b>bold</b>" not in page(listing)
    assert "&lt;b&gt;bold&lt;/b&gt;" in page(listing)
    statement = fetch(ext, Statement, Statement.name == "<b>bold</b>")
    detail = admin_client.get(f"/accounting/statements/{statement.id}")
    assert "<script>alert(1)</script>" not in page(detail)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(detail)


# --- helpers reading the database ----------------------------------------------------------------------


def _lines(client: Any) -> list[StatementLine]:
    with client.application.extensions["officium"].db.session(read_only=True) as session:
        found = session.query(StatementLine).order_by(StatementLine.id).all()
        session.expunge_all()
        return found
