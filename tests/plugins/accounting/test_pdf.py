"""Invoice PDFs: downloaded like a user would, opened with pypdf and read back as text."""

from __future__ import annotations

import io
from typing import Any

import pypdf
import pytest

from core.services import contacts as contact_service
from plugins.accounting.pdf import latin1
from plugins.accounting.services import payments as payment_service
from tests.core.web_helpers import assert_forbidden

pytestmark = pytest.mark.plugins("accounting")


def pdf_text(response: Any) -> tuple[str, int]:
    """The text of every page, joined with single spaces, and the page count."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/pdf"
    data = response.get_data()
    assert data.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(text.split()), len(reader.pages)


@pytest.fixture
def tax(session, sales_tax) -> int:
    session.commit()  # end the read: SQLite's write lock must be free for the requests
    return sales_tax.id


def test_the_pdf_holds_the_company_customer_lines_taxes_and_totals(
    admin_client, session, customer, tax, make_invoice
):
    contact = contact_service.get_contact(session, customer)
    contact_service.update_contact(
        session, contact, street="1 Main St", postal_code="10001", city="Springfield"
    )
    session.commit()
    invoice = make_invoice(
        customer,
        date="2026-03-10",
        reference="PO-77",
        lines=[
            {"description": "Consulting", "quantity": "2", "unit_price": "500.00", "tax": tax},
            {"description": "Travel costs", "quantity": "1", "unit_price": "80.00"},
        ],
    )
    response = admin_client.get(f"/accounting/invoices/{invoice.id}.pdf")
    assert response.headers["Content-Disposition"] == 'inline; filename="INV-2026-0001.pdf"'
    text, pages = pdf_text(response)
    assert pages == 1
    for expected in (
        "Test Company INVOICE INV/2026/0001",
        "BILL TO Acme Corporation 1 Main St 10001 Springfield ap@acme.example",
        "Date Mar 10, 2026 Due date Apr 9, 2026 Reference PO-77",
        "Consulting 2 500.00 Sales tax 20% 1,000.00",
        "Travel costs 1 80.00 80.00",
        "Tax Base Amount Sales tax 20% 1,000.00 200.00",  # the summary per tax
        "Untaxed amount 1,080.00 Tax 200.00 Total (USD) 1,280.00",
    ):
        assert expected in text, (expected, text)
    assert "Amount due" not in text  # nothing paid yet


def test_a_partly_paid_invoice_shows_what_is_paid_and_what_is_due(
    admin_client, session, customer, tax, make_invoice
):
    invoice = make_invoice(
        customer, lines=[{"description": "Consulting", "quantity": "2", "unit_price": "500.00", "tax": tax}]
    )
    payment_service.register_payment(
        session, {"bank_journal": "BNK", "allocations": [{"invoice_id": invoice.id, "amount": "450.00"}]}
    )
    session.commit()
    text, _ = pdf_text(admin_client.get(f"/accounting/invoices/{invoice.id}.pdf"))
    assert "Total (USD) 1,200.00 Paid 450.00 Amount due 750.00" in text


def test_a_draft_and_a_bill_are_named_as_such(admin_client, customer, vendor, make_invoice):
    draft = make_invoice(customer, post=False)
    response = admin_client.get(f"/accounting/invoices/{draft.id}.pdf")
    assert response.headers["Content-Disposition"] == f'inline; filename="draft-{draft.id}.pdf"'
    text, _ = pdf_text(response)
    assert "INVOICE Draft" in text and "Consulting 1 100.00 100.00" in text

    bill = make_invoice(vendor, kind="in_invoice")
    text, _ = pdf_text(admin_client.get(f"/accounting/invoices/{bill.id}.pdf"))
    assert "VENDOR BILL BILL/2026/0001" in text and "VENDOR Initech Supplies" in text


def test_text_the_pdf_fonts_cannot_draw_becomes_question_marks(admin_client, session, make_invoice):
    contact = contact_service.create_contact(session, kind="organization", name="Zoë Ωmega 東京")
    session.commit()
    invoice = make_invoice(
        contact.id,
        notes="Merci — à bientôt 🙂",
        lines=[{"description": "Café “best” ☕ 10€", "quantity": "1", "unit_price": "10.00"}],
    )
    text, _ = pdf_text(admin_client.get(f"/accounting/invoices/{invoice.id}.pdf"))
    assert "Zoë ?mega ??" in text  # latin-1 letters stay, the rest is replaced
    assert 'Café "best" ? 10EUR' in text  # typographic quotes and the euro sign get plain equivalents
    assert "Merci - à bientôt ?" in text


def test_latin1_keeps_every_input_drawable():
    assert latin1("Zoë\u202f1\u00a0200,00 – ok…") == "Zoë 1\u00a0200,00 - ok..."
    assert latin1("a\x00b\tc\nd") == "ab c\nd"
    assert latin1("e\u0301") == "é"  # combining accent composed first
    assert latin1(None) == ""
    for sample in ("\U0001f600", "東京", "\ud800", "\u200b"):
        latin1(sample).encode("latin-1")  # never raises


def test_a_long_invoice_runs_over_several_pages(admin_client, customer, make_invoice):
    lines = [{"description": f"Item {n:02d}", "quantity": "1", "unit_price": "1.00"} for n in range(1, 61)]
    invoice = make_invoice(customer, lines=lines)
    text, pages = pdf_text(admin_client.get(f"/accounting/invoices/{invoice.id}.pdf"))
    assert pages > 1
    assert all(f"Item {n:02d}" in text for n in range(1, 61))
    assert text.index("Item 60") < text.index("Total (USD) 60.00")
    assert f"Test Company · INV/2026/0001 · 1/{pages}" in text and f"{pages}/{pages}" in text


def test_the_pdf_needs_the_view_permission(make_client, customer, make_invoice):
    invoice = make_invoice(customer)
    outsider = make_client("outsider@test.example", permissions=("contacts.view",))
    assert_forbidden(outsider.get(f"/accounting/invoices/{invoice.id}.pdf"), "accounting.view")
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    text, _ = pdf_text(viewer.get(f"/accounting/invoices/{invoice.id}.pdf"))
    assert "INV/2026/0001" in text
    assert viewer.get("/accounting/invoices/999999.pdf").status_code == 404
