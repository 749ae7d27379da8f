"""Without the compliance department nothing is judged: the author of an invoice or a payroll run
posts or confirms it, and no refusal is written."""

from __future__ import annotations

import pytest

from core.models import AuditLog
from core.services import contacts
from plugins.hr.services import employees
from tests.core.web_helpers import count
from tests.plugins.hr.test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("accounting", "hr")


def test_the_author_posts_and_confirms_when_compliance_is_not_enabled(ext, session, make_api_client):
    customer = contacts.create_contact(session, kind="organization", name="Acme Corporation").id
    session.commit()
    employee = employees.create_employee(session, {"name": "Eve Employee", "hire_date": "2025-01-06"})
    session.commit()
    add_contract(session, employee.id, "3000.00")
    session.close()
    alice = make_api_client("alice@example.com", roles=("Accountant", "Payroll officer"))

    body = {
        "contact_id": customer,
        "lines": [{"description": "Work", "quantity": "1", "unit_price": "90.00"}],
    }
    invoice = alice.post("/api/v1/accounting/invoices", json=body)
    assert invoice.status_code == 201, invoice.get_data(as_text=True)
    posted = alice.post(f"/api/v1/accounting/invoices/{invoice.json['id']}/post")
    assert posted.status_code == 200 and posted.json["state"] == "posted"

    run = alice.post("/api/v1/hr/payroll-runs", json={"month": "2026-11"})
    assert run.status_code == 201, run.get_data(as_text=True)
    confirmed = alice.post(f"/api/v1/hr/payroll-runs/{run.json['id']}/confirm")
    assert confirmed.status_code == 200 and confirmed.json["state"] == "confirmed"
    assert count(ext, AuditLog, AuditLog.action.startswith("refused:")) == 0
