"""A salesperson's lead becomes a won deal in a real browser; the accountant finds its draft invoice
and the manager reads the forecast on the dashboard."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import log_in


def enable(page, base: str, title: str) -> None:
    page.goto(f"{base}/apps")
    card = page.get_by_role("article").filter(has=page.get_by_role("heading", name=title))
    card.get_by_role("link", name="Enable").click()
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled")


def test_a_lead_becomes_a_won_deal_with_a_draft_invoice_and_a_forecast(page, live_server):
    close = (dt.date.today() + dt.timedelta(days=20)).isoformat()
    log_in(page, live_server)
    enable(page, live_server, "CRM")
    enable(page, live_server, "Accounting")
    nav = page.get_by_role("navigation", name="Main")

    # The salesperson records a lead.
    nav.get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="New lead").click()
    page.get_by_label("Name").fill("Grace Hopper")
    page.get_by_label("Company").fill("Navy Labs")
    page.get_by_label("Email").fill("grace@navylabs.example")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_contain_text("Grace Hopper")

    # Qualifying it makes a contact and a deal.
    page.get_by_role("link", name="Qualify").click()
    page.get_by_label("Title").fill("Compiler licences")
    page.get_by_label("Expected revenue").fill("12000.00")
    page.get_by_label("Expected close").fill(close)
    page.get_by_role("button", name="Qualify").click()
    expect(page.locator("h1")).to_contain_text("Compiler licences")
    expect(page.locator("#deal-revenue")).to_contain_text("12,000.00")

    # On the board the deal moves to Proposal (the form works without dragging).
    nav.get_by_role("link", name="Pipeline").click()
    card = page.locator(".crm-card", has_text="Compiler licences")
    expect(card).to_be_visible()
    screenshot(page, "pipeline")
    card.get_by_text("Move…").click()
    card.get_by_label("Stage").select_option(label="Proposal")
    card.get_by_role("button", name="Move").click()
    proposal = page.locator("section.crm-column", has=page.get_by_role("heading", name="Proposal"))
    expect(proposal.locator(".crm-card", has_text="Compiler licences")).to_be_visible()
    expect(proposal.locator(".column-weighted")).to_have_text("6,000.00")

    # The manager reads the weighted forecast on the dashboard: 50% of 12,000.00.
    nav.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Revenue forecast (weighted)")).to_be_visible()
    expect(page.locator("main")).to_contain_text("6,000.00")
    screenshot(page, "dashboard-crm")

    # Won: the deal page, then the accountant finds the draft invoice.
    page.goto(f"{live_server}/crm/deals")
    page.get_by_role("link", name="Compiler licences").click()
    page.get_by_label("Move to stage").select_option(label="Won")
    page.get_by_role("button", name="Move").click()
    expect(page.locator("#deal-state")).to_have_text("Won")

    nav.get_by_role("link", name="Invoices").click()
    row = page.locator("tr", has_text="Navy Labs")
    expect(row).to_contain_text("12,000.00")
    expect(row).to_contain_text("Draft")
