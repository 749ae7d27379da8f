"""A compliance officer adds a risk and sees it on the heat map, switches on a segregation-of-duties
rule, and a bookkeeper who drafted an invoice is then refused posting it; the officer finds the
refusal and the bookkeeper's changes in the audit log and proves the chain intact — in a real
browser."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from core.app import officium
from core.context import set_company
from core.services import companies, contacts
from core.testing import make_user
from tests.e2e.conftest import screenshot
from tests.e2e.test_browser import log_in
from tests.e2e.test_crm_browser import enable
from tests.e2e.test_hr_browser import log_in_as, log_out

BOOKKEEPER = "bea.keeper@example.com"
RULE = "Invoices: the author does not post"


def test_an_officer_runs_the_register_and_a_self_approval_is_blocked(
    page, live_server, make_app, database_url
):
    log_in(page, live_server)
    enable(page, live_server, "Accounting")
    enable(page, live_server, "Compliance")
    ext = officium(make_app(database_url))
    with ext.db.transaction() as session:
        set_company(session, companies.first_company(session).id)
        contacts.create_contact(session, kind="organization", name="Globex")
    make_user(
        ext,
        BOOKKEEPER,
        permissions=(
            "accounting.view",
            "accounting.invoice.manage",
            "accounting.invoice.post",
            "contacts.view",
            "contacts.edit",
        ),
    )

    # A risk scored likelihood 4, impact 5 lands in its cell of the heat map.
    page.goto(f"{live_server}/compliance/risks")
    page.get_by_role("link", name="New risk").click()
    page.get_by_label("Title").fill("Key supplier fails")
    page.get_by_label("Category").select_option(label="Operational")
    page.locator("#f-likelihood").fill("4")
    page.locator("#f-impact").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name=re.compile("Key supplier fails"))).to_be_visible()
    page.goto(f"{live_server}/compliance/risks?basis=inherent")
    expect(page.locator("#heat-4-5")).to_have_text("1")
    screenshot(page, "compliance-risks")

    # The officer switches the invoice rule on.
    page.goto(f"{live_server}/compliance/sod-rules")
    row = page.locator("tr").filter(has_text=RULE)
    row.get_by_role("button", name="Activate").click()
    expect(page.locator("tr").filter(has_text=RULE)).to_contain_text("Active")
    log_out(page)

    # The bookkeeper drafts an invoice, then may not post it herself.
    log_in_as(page, live_server, BOOKKEEPER)
    page.goto(f"{live_server}/accounting/invoices/new?kind=out_invoice")
    page.get_by_label("Customer").select_option(label="Globex")
    line = page.locator("#invoice-lines tbody tr").first
    line.get_by_label("Description").fill("Audit support")
    line.get_by_label("Quantity").fill("1")
    line.get_by_label("Unit price").fill("900.00")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("h1")).to_contain_text("Draft")
    page.get_by_role("button", name="Post").click()
    expect(page.locator("body")).to_contain_text(f"Rule “{RULE}”")
    page.go_back()
    page.reload()
    expect(page.locator("h1")).to_contain_text("Draft")
    log_out(page)

    # The officer sees who did what, the refusal included, and verifies the chain.
    log_in(page, live_server)
    page.goto(f"{live_server}/compliance/audit-log?action=refused:accounting.invoice.post")
    expect(page.locator("main")).to_contain_text(BOOKKEEPER)
    page.goto(f"{live_server}/compliance/audit-log")
    page.get_by_role("button", name="Verify now").click()
    expect(page.locator("#chain-status")).to_contain_text("Intact")
    screenshot(page, "compliance-audit-log")
