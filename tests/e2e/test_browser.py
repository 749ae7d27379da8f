"""A person's path through Officium in a real browser against a real server."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.conftest import screenshot


def log_in(page, base: str) -> None:
    page.goto(f"{base}/")
    expect(page).to_have_url(re.compile(r"/login"))
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_a_wrong_password_is_refused_then_the_right_one_opens_the_dashboard(page, live_server):
    page.goto(f"{live_server}/login")
    screenshot(page, "login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Invalid email or password")
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_enabling_a_department_on_the_apps_page_adds_its_menu(page, live_server):
    log_in(page, live_server)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Notes")).to_have_count(0)
    page.goto(f"{live_server}/apps")
    screenshot(page, "apps")
    card = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Tasks"))
    card.get_by_role("link", name="Enable").click()
    expect(page.get_by_text("This also enables:")).to_contain_text("notes")
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("status")).to_contain_text("Enabled: notes, tasks")
    expect(nav.get_by_role("link", name="Notes")).to_be_visible()


def test_creating_a_contact_shows_field_errors_first(page, live_server):
    log_in(page, live_server)
    page.goto(f"{live_server}/contacts/new")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the marked fields")
    expect(page.locator("#name-error")).to_contain_text("is required")
    expect(page.locator("#email-error")).to_contain_text("not a valid email")
    screenshot(page, "contact-errors")
    page.get_by_label("Name").fill("Hedy Lamarr")
    page.get_by_label("Email").fill("hedy@example.org")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Hedy Lamarr")).to_be_visible()
    page.goto(f"{live_server}/contacts")
    expect(page.get_by_role("link", name="Hedy Lamarr")).to_be_visible()
    screenshot(page, "contacts")


def test_a_balanced_entry_posted_in_the_form_reaches_the_trial_balance(page, live_server):
    log_in(page, live_server)
    # Accounts and a journal first, through the UI.
    for code, name, kind in [("1000", "Cash", "asset"), ("4000", "Sales", "income")]:
        page.goto(f"{live_server}/ledger/accounts/new")
        page.locator("#f-code").fill(code)
        page.locator("#f-name").fill(name)
        page.get_by_label("Type").select_option(kind)
        page.get_by_role("button", name="Create").click()
        expect(page.get_by_role("status")).to_contain_text(f"Account {code} created")
    page.goto(f"{live_server}/ledger/journals/new")
    page.locator("#f-code").fill("GJ")
    page.locator("#f-name").fill("General journal")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("status")).to_contain_text("Journal GJ created")
    page.goto(f"{live_server}/ledger/entries/new")
    page.get_by_label("Journal").select_option("GJ")
    rows = page.locator("#entry-lines tbody tr.line")
    rows.nth(0).get_by_label("Account").select_option("1000")
    rows.nth(0).get_by_label("Debit").fill("150.25")
    rows.nth(1).get_by_label("Account").select_option("4000")
    rows.nth(1).get_by_label("Credit").fill("100")
    expect(page.locator("#balance-status")).to_contain_text("Difference: 50.25")
    page.get_by_role("button", name="Add line").click()
    expect(rows).to_have_count(3)
    rows.nth(2).get_by_label("Account").select_option("4000")
    rows.nth(2).get_by_label("Credit").fill("50.25")
    expect(page.locator("#balance-status")).to_have_text("Balanced")
    expect(page.locator("#total-debit")).to_have_text("150.25")
    screenshot(page, "journal-entry")
    page.get_by_role("button", name="Post").click()
    expect(page.locator("h1")).to_contain_text(re.compile(r"GJ/[0-9]{4}/000001"))
    page.goto(f"{live_server}/ledger/trial-balance")
    expect(page.locator("#tb-total-debit")).to_have_text("150.25")
    expect(page.locator("#tb-total-credit")).to_have_text("150.25")
    screenshot(page, "trial-balance")
    page.goto(f"{live_server}/")
    expect(page.locator("svg.chart").first).to_be_visible()
    screenshot(page, "dashboard")
