"""The history panel on the other departments' detail pages: a lead, an invoice, a payment and an
employee file each show their own trail rows to an officer."""

from __future__ import annotations

import pytest

from core.services import contacts
from plugins.accounting.services import invoices, payments
from plugins.crm.services import leads
from plugins.hr.services import employees

pytestmark = pytest.mark.plugins("compliance", "crm", "accounting", "hr")

HISTORY = "<h2>History</h2>"


def panel_of(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    assert HISTORY in page
    return page[page.index(HISTORY) :]


def test_lead_invoice_payment_and_employee_pages_show_their_history(admin_client, session):
    lead = leads.create_lead(session, {"name": "Lena Lead", "company_name": "Leadco"})
    customer = contacts.create_contact(session, kind="organization", name="Acme Corporation")
    session.flush()
    invoice = invoices.create_invoice(
        session,
        {
            "contact_id": customer.id,
            "date": "2026-03-10",
            "lines": [{"description": "Consulting", "quantity": "1", "unit_price": "100.00"}],
        },
    )
    invoices.post_invoice(session, invoice)
    payment = payments.register_payment(
        session, {"bank_journal": "BNK", "date": "2026-03-12", "allocations": [{"invoice_id": invoice.id}]}
    )
    employee = employees.create_employee(session, {"name": "Erin Employee", "hire_date": "2026-01-05"})
    session.commit()

    assert "Lena Lead" in panel_of(admin_client, f"/crm/leads/{lead.id}")
    assert f"model=accounting_invoice&amp;record_id={invoice.id}" in panel_of(
        admin_client, f"/accounting/invoices/{invoice.id}"
    )
    assert f"model=accounting_payment&amp;record_id={payment.id}" in panel_of(
        admin_client, f"/accounting/payments/{payment.id}"
    )
    assert f"model=hr_employee&amp;record_id={employee.id}" in panel_of(
        admin_client, f"/hr/employees/{employee.id}"
    )
