"""An accountant's month in a real browser: switch accounting on, invoice with tax, get paid,
watch the reports follow, close the period."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import log_in


def test_an_accountant_invoices_gets_paid_sees_the_reports_and_locks_the_period(page, live_server):
    today = dt.date.today()
    log_in(page, live_server)

    # The company admin switches the department on from the Apps page.
    page.goto(f"{live_server}/apps")
    card = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Accounting"))
    card.get_by_role("link", name="Enable").click()
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled: accounting")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Invoices")).to_be_visible()

    page.goto(f"{live_server}/contacts/new")
    page.get_by_label("Name").fill("Acme Corporation")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Acme Corporation")).to_be_visible()

    # An invoice with a line missing its price is refused with the message on that line.
    nav.get_by_role("link", name="Invoices").click()
    page.get_by_role("link", name="New invoice").click()
    page.get_by_label("Customer").select_option(label="Acme Corporation")
    first_line = page.locator("#invoice-lines tbody tr").first
    first_line.get_by_label("Description").fill("Consulting days")
    first_line.get_by_label("Quantity").fill("2")
    first_line.get_by_label("Tax").select_option(label="Sales tax 20%")
    page.get_by_role("button", name="Save and post").click()
    expect(page.get_by_role("alert")).to_contain_text("The document was not saved")
    expect(first_line.locator(".field-error")).to_contain_text("decimal number")

    first_line.get_by_label("Unit price").fill("500.00")
    screenshot(page, "invoice-form")
    page.get_by_role("button", name="Save and post").click()
    expect(page.locator("h1")).to_contain_text(f"Invoice INV/{today.year}/0001")
    expect(page.locator("#total")).to_have_text("1,200.00")
    expect(page.locator("#residual")).to_have_text("1,200.00")
    screenshot(page, "invoice")

    # Aged receivables show the open invoice, then nothing once it is paid.
    page.goto(f"{live_server}/accounting/reports/aged-receivable")
    expect(page.locator("#aged-totals")).to_contain_text("1,200.00")

    page.goto(f"{live_server}/accounting/invoices")
    page.get_by_role("link", name=f"INV/{today.year}/0001").click()
    page.get_by_role("link", name="Register payment").click()
    page.get_by_role("button", name="Register payment").click()
    expect(page.locator("h1 .badge")).to_have_text("Paid")
    expect(page.locator("#residual")).to_have_text("0.00")

    page.goto(f"{live_server}/accounting/reports/aged-receivable")
    expect(page.get_by_role("link", name="Acme Corporation")).to_have_count(0)

    # Profit and loss and the balance sheet follow: income 1,000.00; bank 1,200.00 = VAT 200.00 + earnings.
    start = today.replace(month=1, day=1).isoformat()
    page.goto(
        f"{live_server}/accounting/reports/profit-and-loss?date_from={start}&date_to={today.isoformat()}"
    )
    expect(page.locator("#pl-total-income")).to_contain_text("1,000.00")
    expect(page.locator("#pl-net-profit")).to_contain_text("1,000.00")
    screenshot(page, "profit-and-loss")
    page.goto(f"{live_server}/accounting/reports/balance-sheet?as_of={today.isoformat()}")
    expect(page.get_by_text("Balanced: assets equal liabilities plus equity.")).to_be_visible()
    expect(page.locator("#bs-total-assets")).to_contain_text("1,200.00")
    expect(page.locator("#bs-total-liabilities-equity")).to_contain_text("1,200.00")
    screenshot(page, "balance-sheet")

    # Closing the period: a later invoice dated in it is refused.
    nav.get_by_role("link", name="Fiscal years").click()
    page.get_by_label("Lock the books through").fill(today.isoformat())
    page.get_by_role("button", name="Set lock date").click()
    expect(page.get_by_role("status")).to_contain_text("The books are locked through")

    page.goto(f"{live_server}/accounting/invoices/new?kind=out_invoice")
    page.get_by_label("Customer").select_option(label="Acme Corporation")
    line = page.locator("#invoice-lines tbody tr").first
    line.get_by_label("Description").fill("Late work")
    line.get_by_label("Quantity").fill("1")
    line.get_by_label("Unit price").fill("10.00")
    page.get_by_role("button", name="Save and post").click()
    expect(page.locator("#date-error")).to_contain_text("locked period")
