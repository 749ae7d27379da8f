"""Rules that keep documents honest when things change around them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.errors import NotFound, ValidationError
from plugins.accounting.models import Allocation, Invoice
from plugins.accounting.services import invoices, payments, reports, statements, taxes

pytestmark = pytest.mark.plugins("accounting")

WORK = {"description": "Work", "quantity": "1", "unit_price": "100.00"}


def test_a_draft_posts_with_the_tax_rate_in_force_when_it_is_posted(session, customer, sales_tax):
    draft = invoices.create_invoice(
        session, {"contact_id": customer, "date": "2026-03-10", "lines": [{**WORK, "tax": sales_tax.id}]}
    )
    assert draft.total == Decimal("120.00")
    taxes.update_tax(session, sales_tax, rate="10")
    invoices.post_invoice(session, draft)
    assert (draft.tax_amount, draft.total, draft.residual) == (
        Decimal("10.00"),
        Decimal("110.00"),
        Decimal("110.00"),
    )
    assert sum(line.debit for line in draft.entry.lines) == Decimal("110.00")


def test_a_credit_note_reverses_the_original_amounts_even_after_its_tax_was_retired(
    session, customer, sales_tax, make_invoice
):
    invoice = make_invoice(customer, date="2026-03-10", lines=[{**WORK, "tax": sales_tax.id}])
    taxes.update_tax(session, sales_tax, rate="25", active=False)
    credit = invoices.create_credit_note(session, invoice, date="2026-03-11")
    invoices.post_invoice(session, credit)
    assert (credit.tax_amount, credit.total) == (Decimal("20.00"), Decimal("120.00"))
    assert (invoice.state, invoice.residual) == ("credited", Decimal("0.00"))


def test_a_credit_note_keeps_the_contact_of_what_it_credits(session, customer, vendor, make_invoice):
    credit = invoices.create_credit_note(
        session, make_invoice(customer, date="2026-03-10"), date="2026-03-11"
    )
    with pytest.raises(ValidationError) as refused:
        invoices.update_invoice(session, credit, {"contact_id": vendor})
    assert "contact_id" in refused.value.fields
    session.rollback()


def test_a_line_beyond_the_ledgers_range_is_a_field_error(session, customer):
    huge = {**WORK, "quantity": "1000000", "unit_price": "100000000000.00"}
    with pytest.raises(ValidationError) as refused:
        invoices.create_invoice(session, {"contact_id": customer, "lines": [huge]})
    assert "lines.0.unit_price" in refused.value.fields
    assert session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_a_fully_used_payment_allocates_nothing_more(session, customer, make_invoice):
    first, second = make_invoice(customer, date="2026-03-10"), make_invoice(customer, date="2026-03-10")
    payment = payments.register_payment(
        session, {"bank_journal": "BNK", "date": "2026-03-12", "allocations": [{"invoice_id": first.id}]}
    )
    session.commit()
    with pytest.raises(ValidationError) as refused:
        payments.allocate_payment(session, payment, [{"invoice_id": second.id}])
    assert refused.value.fields["allocations.0.amount"] == ["nothing is left of the payment to allocate"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Allocation)) == 1


def test_cancelling_a_matched_payment_reopens_its_bank_line(session, customer, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10")
    statement = statements.import_statement(
        session, bank_journal_ref="BNK", content="2026-03-15,Acme,100.00\n"
    )
    line = statements.match_line(session, statement.lines[0].id, invoice.id)
    payments.cancel_payment(session, payments.get_payment(session, line.payment_id))
    session.refresh(line)
    assert (line.state, line.payment_id) == ("open", None)
    assert [s.invoice.id for s in statements.suggestions(session, line)] == [invoice.id]


def test_digits_of_other_scripts_are_not_ids(session):
    with pytest.raises(NotFound):
        reports.general_ledger(session, "²")


def test_a_period_whose_previous_period_would_start_before_year_one_is_refused(session):
    with pytest.raises(ValidationError) as refused:
        reports.profit_and_loss(session, date_from=dt.date(1900, 1, 1), date_to=dt.date(9899, 12, 31))
    assert "date_from" in refused.value.fields
    with pytest.raises(ValidationError) as refused:
        reports.aged(session, as_of=dt.date(1, 1, 1))
    assert "as_of" in refused.value.fields


def _leftover_credit(session, customer, make_invoice):
    """A 100.00 invoice paid in full, then credited: the 100.00 credit note stays open."""
    paid = make_invoice(customer, date="2026-03-10")
    payments.register_payment(
        session, {"bank_journal": "BNK", "date": "2026-03-11", "allocations": [{"invoice_id": paid.id}]}
    )
    credit = invoices.create_credit_note(session, paid, date="2026-03-12")
    invoices.post_invoice(session, credit)
    session.commit()
    assert (credit.state, credit.residual) == ("posted", Decimal("100.00"))
    return credit


def test_an_open_credit_note_settles_a_later_invoice_of_the_same_customer(session, customer, make_invoice):
    credit = _leftover_credit(session, customer, make_invoice)
    later = make_invoice(customer, date="2026-03-20", lines=[{**WORK, "unit_price": "60.00"}])

    invoices.apply_credit_note(session, credit, later.id)
    session.commit()

    assert (later.state, later.residual) == ("credited", Decimal("0.00"))
    assert (credit.state, credit.residual) == ("partial", Decimal("40.00"))
    aged = reports.aged(session, "receivable", as_of=dt.date(2026, 3, 31))
    assert aged.total == Decimal("-40.00")  # what the customer still has as credit


def test_a_credit_note_is_not_applied_beyond_what_is_open_or_to_another_contact(
    session, customer, vendor, make_invoice
):
    credit = _leftover_credit(session, customer, make_invoice)
    small = make_invoice(customer, date="2026-03-20", lines=[{**WORK, "unit_price": "30.00"}])
    with pytest.raises(ValidationError) as refused:
        invoices.apply_credit_note(session, credit, small.id, "50.00")
    assert refused.value.fields["amount"] == ["is more than can be settled (30.00)"]
    session.rollback()
    someone_else = make_invoice(vendor, date="2026-03-20")
    with pytest.raises(ValidationError) as refused:
        invoices.apply_credit_note(session, credit, someone_else.id)
    assert "invoice_id" in refused.value.fields
    session.rollback()


def test_a_credit_note_is_applied_from_its_page_and_through_the_api(
    admin_client, admin_api, session, customer, make_invoice
):
    from core.testing import csrf_token

    credit = _leftover_credit(session, customer, make_invoice)
    first = make_invoice(customer, date="2026-03-20", lines=[{**WORK, "unit_price": "30.00"}])
    second = make_invoice(customer, date="2026-03-21", lines=[{**WORK, "unit_price": "50.00"}])
    credit_id, first_id, second_id = credit.id, first.id, second.id
    session.close()

    page = f"/accounting/invoices/{credit_id}"
    assert "Apply to an open document" in admin_client.get(page).get_data(as_text=True)
    response = admin_client.post(
        f"{page}/apply", data={"csrf_token": csrf_token(admin_client, page), "invoice_id": str(first_id)}
    )
    assert response.status_code == 302

    applied = admin_api.post(f"/api/v1/accounting/invoices/{credit_id}/apply", json={"invoice_id": second_id})
    assert applied.status_code == 200, applied.get_data(as_text=True)
    assert (applied.json["state"], applied.json["residual"]) == ("partial", "20.00")  # 100 - 30 - 50
    for invoice_id in (first_id, second_id):
        assert session.get(Invoice, invoice_id).state == "credited"
