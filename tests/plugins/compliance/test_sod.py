"""Segregation of duties: rules stop the author of an invoice, a bill or a payroll run from also
posting or confirming it; the officer manages the rules through the API and the pages; refusals
are kept in the audit trail."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.models import AuditLog, JournalEntry
from core.services import companies, contacts
from core.testing import csrf_token
from plugins.accounting.models import Invoice
from plugins.compliance.models import SodRule
from plugins.hr.models import PayrollRun
from plugins.hr.services import employees
from tests.core.web_helpers import count, fetch
from tests.plugins.hr.test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("compliance", "accounting", "hr")

API = "/api/v1/compliance"
INVOICE_RULE = "Invoices: the author does not post"
BILL_RULE = "Vendor bills over 1,000: the author does not post"
PAYROLL_RULE = "Payroll: who computed the run does not confirm it"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}
    return error


def switch_on(session, name: str, **changes: Any) -> None:
    rule = session.scalar(select(SodRule).where(SodRule.name == name))
    rule.active = True
    for key, value in changes.items():
        setattr(rule, key, value)
    session.commit()


@pytest.fixture
def customer(session) -> int:
    contact = contacts.create_contact(session, kind="organization", name="Acme Corporation")
    session.commit()
    return contact.id


@pytest.fixture
def alice(make_api_client):
    """An accountant (creates and posts invoices)."""
    return make_api_client("alice@example.com", roles=("Accountant",))


@pytest.fixture
def bob(make_api_client):
    """A second accountant."""
    return make_api_client("bob@example.com", roles=("Accountant",))


def user_id(ext, email: str) -> int:
    from core.models import User

    return fetch(ext, User, User.email == email).id


def draft_invoice(client, contact_id: int, price: str = "100.00", collection: str = "invoices") -> dict:
    body = {
        "contact_id": contact_id,
        "lines": [{"description": "Consulting", "quantity": "1", "unit_price": price}],
    }
    return ok(client.post(f"/api/v1/accounting/{collection}", json=body), 201)


# --- enforcement ---------------------------------------------------------------------------------


def test_the_invoice_author_cannot_post_it_and_the_refusal_is_kept(session, ext, customer, alice, bob):
    switch_on(session, INVOICE_RULE)
    invoice = draft_invoice(alice, customer)

    error = error_of(alice.post(f"/api/v1/accounting/invoices/{invoice['id']}/post"), 403)
    assert error["code"] == "segregation_of_duties"
    assert INVOICE_RULE in error["message"]
    assert f"draft invoice #{invoice['id']}" in error["message"]
    assert fetch(ext, Invoice, Invoice.id == invoice["id"]).state == "draft"
    assert count(ext, JournalEntry, JournalEntry.source_plugin == "accounting") == 0
    refusal = fetch(ext, AuditLog, AuditLog.action == "refused:accounting.invoice.post")
    assert refusal.user_id == user_id(ext, "alice@example.com")
    assert (refusal.model, refusal.record_id) == ("accounting_invoice", str(invoice["id"]))
    assert refusal.changes["amount"] == "100.00"  # the total
    assert INVOICE_RULE in refusal.changes["reasons"][0]

    posted = ok(bob.post(f"/api/v1/accounting/invoices/{invoice['id']}/post"))
    assert posted["state"] == "posted" and posted["number"].startswith("INV/")
    assert count(ext, JournalEntry, JournalEntry.source_plugin == "accounting") == 1
    # The allowed posting is in the trail too, under the action's code.
    assert count(ext, AuditLog, AuditLog.action == "accounting.invoice.post") == 1


def test_creating_and_posting_in_one_request_is_refused_whole(session, ext, customer, alice):
    switch_on(session, INVOICE_RULE)
    body = {
        "contact_id": customer,
        "post": True,
        "lines": [{"description": "Consulting", "quantity": "1", "unit_price": "100.00"}],
    }
    error = error_of(alice.post("/api/v1/accounting/invoices", json=body), 403)
    assert INVOICE_RULE in error["message"]
    assert count(ext, Invoice) == 0
    assert count(ext, JournalEntry) == 0
    assert count(ext, AuditLog, AuditLog.action == "refused:accounting.invoice.post") == 1


def test_an_inactive_rule_refuses_nothing(ext, customer, alice):
    invoice = draft_invoice(alice, customer)
    assert ok(alice.post(f"/api/v1/accounting/invoices/{invoice['id']}/post"))["state"] == "posted"
    assert count(ext, AuditLog, AuditLog.action.startswith("refused:")) == 0


def test_a_rule_applies_from_its_minimum_amount(session, ext, customer, alice):
    switch_on(session, INVOICE_RULE, min_amount=Decimal("1000.00"))
    small = draft_invoice(alice, customer, "100.00")
    assert ok(alice.post(f"/api/v1/accounting/invoices/{small['id']}/post"))["state"] == "posted"
    large = draft_invoice(alice, customer, "1000.00")
    error = error_of(alice.post(f"/api/v1/accounting/invoices/{large['id']}/post"), 403)
    assert INVOICE_RULE in error["message"]


def test_vendor_bills_are_judged_by_the_bill_rule(session, ext, customer, alice, bob):
    switch_on(session, BILL_RULE)
    bill = draft_invoice(alice, customer, "1500.00", collection="bills")
    error = error_of(alice.post(f"/api/v1/accounting/bills/{bill['id']}/post"), 403)
    assert BILL_RULE in error["message"] and "draft bill" in error["message"]
    assert fetch(ext, Invoice, Invoice.id == bill["id"]).state == "draft"
    assert ok(bob.post(f"/api/v1/accounting/bills/{bill['id']}/post"))["state"] == "posted"


def test_whoever_posted_an_invoice_may_not_register_its_payment(ext, customer, alice, bob, officer_api):
    rule = ok(
        officer_api.post(
            f"{API}/sod-rules",
            json={
                "name": "Posting and cashing are separate",
                "first_action": "accounting.invoice.post",
                "second_action": "accounting.payment.register",
            },
        ),
        201,
    )
    assert rule["active"] is True and rule["enforced"] is True
    invoice = draft_invoice(bob, customer)
    ok(alice.post(f"/api/v1/accounting/invoices/{invoice['id']}/post"))
    payment = {"bank_journal": "BNK", "date": "2026-03-20", "allocations": [{"invoice_id": invoice["id"]}]}

    error = error_of(alice.post("/api/v1/accounting/payments", json=payment), 403)
    assert "Posting and cashing are separate" in error["message"]
    assert "someone else must register the payment" in error["message"]
    assert fetch(ext, Invoice, Invoice.id == invoice["id"]).state == "posted"
    refusal = fetch(ext, AuditLog, AuditLog.action == "refused:accounting.payment.register")
    assert refusal.changes["amount"] == "100.00"

    ok(bob.post("/api/v1/accounting/payments", json=payment), 201)
    assert fetch(ext, Invoice, Invoice.id == invoice["id"]).state == "paid"


@pytest.fixture
def payroll_staff(ext, session, make_api_client) -> dict[str, Any]:
    """Two employees with contracts and two payroll officers (API clients)."""
    for name, wage in (("Eve Employee", "3000.00"), ("Mary Manager", "4000.00")):
        employee = employees.create_employee(session, {"name": name, "hire_date": "2025-01-06"})
        session.commit()
        add_contract(session, employee.id, wage)
    session.close()
    return {
        "carol": make_api_client("carol@example.com", roles=("Payroll officer",)),
        "dave": make_api_client("dave@example.com", roles=("Payroll officer",)),
    }


def test_who_computed_a_payroll_run_cannot_confirm_it(session, ext, payroll_staff):
    switch_on(session, PAYROLL_RULE)
    carol, dave = payroll_staff["carol"], payroll_staff["dave"]
    run = ok(carol.post("/api/v1/hr/payroll-runs", json={"month": "2026-11"}), 201)

    error = error_of(carol.post(f"/api/v1/hr/payroll-runs/{run['id']}/confirm"), 403)
    assert error["code"] == "segregation_of_duties"
    assert PAYROLL_RULE in error["message"] and "payroll run 2026-11" in error["message"]
    stored = fetch(ext, PayrollRun, PayrollRun.id == run["id"])
    assert (stored.state, stored.entry_id) == ("draft", None)
    assert count(ext, JournalEntry) == 0
    refusal = fetch(ext, AuditLog, AuditLog.action == "refused:hr.payroll.confirm")
    assert refusal.user_id == user_id(ext, "carol@example.com")
    assert refusal.changes["amount"] == "7000.00"  # the run's total gross

    confirmed = ok(dave.post(f"/api/v1/hr/payroll-runs/{run['id']}/confirm"))
    assert confirmed["state"] == "confirmed"


def test_disabling_compliance_lifts_every_rule(session, ext, customer, alice, admin_api):
    switch_on(session, INVOICE_RULE)
    ok(admin_api.post("/api/v1/plugins/compliance/disable"))
    invoice = draft_invoice(alice, customer)
    assert ok(alice.post(f"/api/v1/accounting/invoices/{invoice['id']}/post"))["state"] == "posted"
    assert count(ext, AuditLog, AuditLog.action.startswith("refused:")) == 0


# --- rules through the API ------------------------------------------------------------------------


def test_the_officer_manages_rules_through_the_api(officer_api, ext):
    actions = ok(officer_api.get(f"{API}/sod-actions"))["items"]
    codes = {a["code"]: a for a in actions}
    assert {"create", "ledger.entry.post", "accounting.invoice.post", "hr.payroll.confirm"} <= set(codes)
    assert codes["create"]["as_second"] is False

    rules = ok(officer_api.get(f"{API}/sod-rules"))["items"]
    assert INVOICE_RULE in [r["name"] for r in rules]
    assert all(r["active"] is False and r["enforced"] is False for r in rules)

    created = ok(
        officer_api.post(
            f"{API}/sod-rules",
            json={
                "name": "Leave: who asked does not approve",
                "first_action": "create",
                "second_action": "hr.leave.approve",
                "active": False,
            },
        ),
        201,
    )
    assert created["min_amount"] is None and created["departments_enabled"] is True
    rule_id = created["id"]
    patched = ok(
        officer_api.patch(f"{API}/sod-rules/{rule_id}", json={"active": True, "min_amount": "250.00"})
    )
    assert (patched["active"], patched["min_amount"]) == (True, "250.00")
    assert ok(officer_api.get(f"{API}/sod-rules/{rule_id}"))["name"] == "Leave: who asked does not approve"
    assert [r["id"] for r in ok(officer_api.get(f"{API}/sod-rules?active=true"))["items"]] == [rule_id]
    assert officer_api.delete(f"{API}/sod-rules/{rule_id}").status_code == 204
    assert officer_api.get(f"{API}/sod-rules/{rule_id}").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_action": "create", "second_action": "accounting.invoice.delete"}, "second_action"),
        ({"first_action": "made.up", "second_action": "accounting.invoice.post"}, "first_action"),
        ({"first_action": "create", "second_action": "create"}, "second_action"),
        ({"first_action": "ledger.entry.post", "second_action": "ledger.entry.post"}, "second_action"),
        (
            {"first_action": "create", "second_action": "ledger.entry.post", "min_amount": "-5.00"},
            "min_amount",
        ),
        (
            {"first_action": "create", "second_action": "ledger.entry.post", "min_amount": "1.001"},
            "min_amount",
        ),
        (
            {"first_action": "create", "second_action": "ledger.entry.post", "min_amount": "1e400"},
            "min_amount",
        ),
        ({"first_action": "create", "second_action": "ledger.entry.post", "name": INVOICE_RULE}, "name"),
        ({"first_action": "create", "second_action": "ledger.entry.post", "name": "x" * 201}, "name"),
        ({"first_action": "create", "second_action": "ledger.entry.post", "name": "  "}, "name"),
        ({"first_action": 7, "second_action": "ledger.entry.post"}, "first_action"),
        ({"first_action": "create", "second_action": "ledger.entry.post", "colour": "red"}, "colour"),
    ],
)
def test_a_bad_rule_is_refused_with_field_messages(officer_api, ext, body, field):
    before = count(ext, SodRule)
    error = error_of(officer_api.post(f"{API}/sod-rules", json={"name": "A new rule", **body}), 422)
    assert error["fields"].get(field), error
    assert count(ext, SodRule) == before


def test_bad_ids_cursors_and_filters_are_not_errors_of_ours(officer_api):
    assert officer_api.get(f"{API}/sod-rules/{2**70}").status_code == 404
    assert officer_api.patch(f"{API}/sod-rules/{2**40}", json={"active": True}).status_code == 404
    assert officer_api.get(f"{API}/sod-rules?cursor=garbage").status_code == 422
    assert officer_api.get(f"{API}/sod-rules?sort=colour").status_code == 422
    assert officer_api.get(f"{API}/sod-refusals?user_id=99999999999").status_code == 422
    assert officer_api.get(f"{API}/sod-refusals?cursor=%00").status_code == 422


def test_a_rule_of_another_company_is_not_found(officer_api, ext, session):
    other = companies.create_company(session, name="Other Company", base_currency="USD")
    rule = SodRule(
        company_id=other.id, name="Theirs", first_action="create", second_action="ledger.entry.post"
    )
    session.add(rule)
    session.flush()
    theirs = rule.id
    session.commit()
    assert officer_api.get(f"{API}/sod-rules/{theirs}").status_code == 404
    assert officer_api.delete(f"{API}/sod-rules/{theirs}").status_code == 404
    assert "Theirs" not in [r["name"] for r in ok(officer_api.get(f"{API}/sod-rules?limit=500"))["items"]]
    assert count(ext, SodRule, SodRule.id == theirs) == 1


def test_refusals_are_listed_for_the_officer(session, ext, customer, alice, officer_api):
    switch_on(session, INVOICE_RULE)
    invoice = draft_invoice(alice, customer)
    alice.post(f"/api/v1/accounting/invoices/{invoice['id']}/post")
    items = ok(officer_api.get(f"{API}/sod-refusals"))["items"]
    assert len(items) == 1
    refusal = items[0]
    assert (refusal["action"], refusal["actor"], refusal["amount"]) == (
        "accounting.invoice.post",
        "alice@example.com",
        "100.00",
    )
    assert refusal["label"] == f"draft invoice #{invoice['id']}"
    assert INVOICE_RULE in refusal["reasons"][0]
    assert ok(officer_api.get(f"{API}/sod-refusals?action=hr.payroll.confirm"))["items"] == []


def test_only_holders_of_the_permission_reach_the_rules(
    app, clerk, officer_api, make_api_client, make_client
):
    clerk_api = make_api_client("clerk2@example.com")
    body = {"name": "Mine", "first_action": "create", "second_action": "ledger.entry.post"}
    for method, path in (
        ("get", "/sod-rules"),
        ("post", "/sod-rules"),
        ("get", "/sod-rules/1"),
        ("patch", "/sod-rules/1"),
        ("delete", "/sod-rules/1"),
        ("get", "/sod-actions"),
        ("get", "/sod-refusals"),
    ):
        kwargs = (
            {"json": {"active": True} if method == "patch" else body} if method in ("post", "patch") else {}
        )
        response = getattr(clerk_api, method)(f"{API}{path}", **kwargs)
        assert response.status_code == 403, (method, path)
    assert app.test_client().get(f"{API}/sod-rules").status_code == 401
    browser = make_client("clerk3@example.com")
    assert browser.get("/compliance/sod-rules").status_code == 403
    assert browser.get("/compliance/sod-rules/new").status_code == 403
    assert browser.get("/compliance/sod-refusals").status_code == 403


# --- rules through the pages ----------------------------------------------------------------------


def test_the_rules_page_lists_rules_and_refusals(session, ext, customer, alice, officer_client):
    switch_on(session, INVOICE_RULE)
    invoice = draft_invoice(alice, customer)
    alice.post(f"/api/v1/accounting/invoices/{invoice['id']}/post")
    page = officer_client.get("/compliance/sod-rules")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert INVOICE_RULE in html and "Post a customer invoice" in html and "any amount" in html
    assert "Refusals" in html and "alice@example.com" in html and f"draft invoice #{invoice['id']}" in html
    full = officer_client.get("/compliance/sod-refusals").get_data(as_text=True)
    assert "alice@example.com" in full
    csv = officer_client.get("/compliance/sod-refusals?format=csv").get_data(as_text=True)
    assert "accounting.invoice.post" in csv and "100.00" in csv


def test_the_form_shows_field_errors_and_stores_nothing(ext, officer_client):
    before = count(ext, SodRule)
    token = csrf_token(officer_client, "/compliance/sod-rules/new")
    response = officer_client.post(
        "/compliance/sod-rules/new",
        data={
            "csrf_token": token,
            "name": "<script>alert(1)</script>",
            "first_action": "create",
            "second_action": "not.an.action",
            "min_amount": "-1",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "is not an action of an enabled department" in html
    assert "must be at least 0" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert count(ext, SodRule) == before


def test_the_officer_creates_edits_switches_and_deletes_a_rule(ext, officer_client):
    token = csrf_token(officer_client, "/compliance/sod-rules/new")
    response = officer_client.post(
        "/compliance/sod-rules/new",
        data={
            "csrf_token": token,
            "name": "Leave: who asked does not approve",
            "first_action": "create",
            "second_action": "hr.leave.approve",
            "min_amount": "",
            "active": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    rule = fetch(ext, SodRule, SodRule.name == "Leave: who asked does not approve")
    assert (rule.active, rule.min_amount) == (True, None)

    edit = f"/compliance/sod-rules/{rule.id}/edit"
    assert "Leave: who asked does not approve" in officer_client.get(edit).get_data(as_text=True)
    response = officer_client.post(
        edit,
        data={
            "csrf_token": token,
            "name": "Leave needs a second person",
            "first_action": "create",
            "second_action": "hr.leave.approve",
            "min_amount": "",
        },
    )
    assert response.status_code == 302
    rule = fetch(ext, SodRule, SodRule.id == rule.id)
    assert (rule.name, rule.active) == ("Leave needs a second person", False)

    assert (
        officer_client.post(
            f"/compliance/sod-rules/{rule.id}/activate", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert fetch(ext, SodRule, SodRule.id == rule.id).active is True
    assert (
        officer_client.post(
            f"/compliance/sod-rules/{rule.id}/deactivate", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert fetch(ext, SodRule, SodRule.id == rule.id).active is False
    # Without the form's token nothing happens.
    assert officer_client.post(f"/compliance/sod-rules/{rule.id}/delete").status_code == 400
    assert (
        officer_client.post(f"/compliance/sod-rules/{rule.id}/delete", data={"csrf_token": token}).status_code
        == 302
    )
    assert count(ext, SodRule, SodRule.id == rule.id) == 0
    assert officer_client.get(f"/compliance/sod-rules/{2**70}/edit").status_code == 404


def test_a_refusal_in_the_browser_names_the_rule_and_is_kept(session, ext, customer, alice, app):
    from core.testing import login

    switch_on(session, INVOICE_RULE)
    invoice = draft_invoice(alice, customer)
    browser = app.test_client()
    assert login(browser, "alice@example.com").status_code == 302
    token = csrf_token(browser, f"/accounting/invoices/{invoice['id']}")
    response = browser.post(f"/accounting/invoices/{invoice['id']}/post", data={"csrf_token": token})
    assert response.status_code == 403
    assert INVOICE_RULE in response.get_data(as_text=True)
    assert fetch(ext, Invoice, Invoice.id == invoice["id"]).state == "draft"
    refusal = fetch(ext, AuditLog, AuditLog.action == "refused:accounting.invoice.post")
    assert refusal.via == "web"


def test_the_api_is_described_in_openapi(officer_api):
    paths = ok(officer_api.get("/api/v1/openapi.json"))["paths"]
    for path in ("/sod-rules", "/sod-rules/{rule_id}", "/sod-actions", "/sod-refusals"):
        assert f"{API}{path}" in paths
