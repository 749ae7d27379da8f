"""Accounting's services: amounts and taxes, numbering, the life of an invoice, bad input, the plugin's
life cycle, the answer to a won deal and bank statements."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import company_id_of, set_company
from core.errors import Conflict, ValidationError
from core.models import Account, Journal, JournalEntry, JournalLine, NumberSequence
from core.services import companies, contacts, ledger
from plugins.accounting.hooks import open_totals
from plugins.accounting.models import (
    Allocation,
    BankJournal,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentTerm,
    Settings,
    Statement,
    StatementLine,
    Tax,
)
from plugins.accounting.services import chart, invoices, payments, reports, statements, taxes

pytestmark = pytest.mark.plugins("accounting")

D = Decimal
ZERO = D("0.00")


def line(description: str = "Consulting", quantity: str = "1", unit_price: str = "100.00", **extra) -> dict:
    return {"description": description, "quantity": quantity, "unit_price": unit_price, **extra}


def pay(session: Session, invoice: Invoice, amount: str | None = None, date: str = "2026-03-20") -> Payment:
    allocation = {"invoice_id": invoice.id} | ({"amount": amount} if amount else {})
    payment = payments.register_payment(
        session, {"bank_journal": "BNK", "date": date, "allocations": [allocation]}
    )
    session.commit()
    return payment


def stored(session: Session) -> dict[str, int]:
    """How many rows each table that a business action writes holds."""
    models = {
        "invoices": Invoice,
        "invoice lines": InvoiceLine,
        "payments": Payment,
        "allocations": Allocation,
        "entries": JournalEntry,
        "ledger lines": JournalLine,
        "statements": Statement,
        "statement lines": StatementLine,
    }
    counts = {name: session.scalar(select(func.count()).select_from(model)) for name, model in models.items()}
    counts["numbers"] = session.scalar(select(func.coalesce(func.sum(NumberSequence.last_value), 0)))
    return counts


def receivable_of(session: Session, contact_id: int) -> Decimal:
    return ledger.account_balance(session, "1200", contact_id=contact_id)


# --- amounts and taxes --------------------------------------------------------------------------------------


def test_a_tax_included_in_the_price_is_taken_out_of_it(session, customer, make_invoice):
    included = taxes.create_tax(
        session, name="VAT 20% included", rate="20", price_include=True, scope="sale", account="2100"
    )
    session.commit()
    invoice = make_invoice(customer, date="2026-03-10", lines=[line(unit_price="120.00", tax=included.id)])
    # 120.00 holds the tax: 120.00 / 1.20 = 100.00 untaxed, 20.00 tax; the customer still pays 120.00.
    assert (invoice.untaxed_amount, invoice.tax_amount, invoice.total) == (
        D("100.00"),
        D("20.00"),
        D("120.00"),
    )
    assert sorted((x.account.code, x.debit, x.credit) for x in invoice.entry.lines) == [
        ("1200", D("120.00"), ZERO),
        ("2100", ZERO, D("20.00")),
        ("4000", ZERO, D("100.00")),
    ]
    # 10.00 / 1.20 = 8.3333 -> 8.33 untaxed; the tax is what is left, 1.67, so the gross stays 10.00.
    odd = make_invoice(customer, date="2026-03-10", lines=[line(unit_price="10.00", tax=included.id)])
    assert (odd.untaxed_amount, odd.tax_amount, odd.total) == (D("8.33"), D("1.67"), D("10.00"))


def test_amounts_are_rounded_half_up_per_line(session, customer, make_invoice):
    ten = taxes.create_tax(session, name="Reduced 10%", rate="10", scope="sale", account="2100")
    session.commit()
    invoice = make_invoice(
        customer,
        date="2026-03-10",
        lines=[
            line("A", quantity="3", unit_price="0.335"),  # 1.005 -> 1.01 (half up, not half even)
            line("B", quantity="1", unit_price="0.25", tax=ten.id),  # tax 0.025 -> 0.03
            line("C", quantity="1", unit_price="0.25", tax=ten.id),  # tax 0.025 -> 0.03
            line("D", quantity="0.3333", unit_price="3"),  # 0.9999 -> 1.00
        ],
    )
    assert [(x.subtotal, x.tax_amount, x.total) for x in invoice.lines] == [
        (D("1.01"), ZERO, D("1.01")),
        (D("0.25"), D("0.03"), D("0.28")),
        (D("0.25"), D("0.03"), D("0.28")),
        (D("1.00"), ZERO, D("1.00")),
    ]
    # Per line: tax 0.03 + 0.03 = 0.06 (rounding the 0.50 total once would give 0.05).
    assert (invoice.untaxed_amount, invoice.tax_amount, invoice.total) == (D("2.51"), D("0.06"), D("2.57"))
    entry = invoice.entry
    assert entry.total_debit == entry.total_credit == D("2.57")


# --- numbering ----------------------------------------------------------------------------------------------


def test_numbers_are_gapless_per_kind_and_fiscal_year(session, customer, vendor, make_invoice):
    first = make_invoice(customer, date="2026-01-15")
    second = make_invoice(customer, date="2026-02-01")
    bill = make_invoice(vendor, kind="in_invoice", date="2026-01-20")
    draft = make_invoice(customer, date="2026-02-02", post=False)
    credit = invoices.create_credit_note(session, first, date="2026-02-10")
    invoices.post_invoice(session, credit)
    session.commit()
    next_year = make_invoice(customer, date="2027-01-02")
    next_year_bill = make_invoice(vendor, kind="in_invoice", date="2027-01-02")
    later = make_invoice(customer, date="2026-12-31")
    assert [d.number for d in (first, second, bill, credit, next_year, next_year_bill, later)] == [
        "INV/2026/0001",
        "INV/2026/0002",
        "BILL/2026/0001",
        "RINV/2026/0001",
        "INV/2027/0001",
        "BILL/2027/0001",
        "INV/2026/0003",
    ]
    assert (draft.number, draft.display_number) == (None, f"Draft #{draft.id}")
    # The ledger entries have their own journal numbering.
    assert (first.entry.number, bill.entry.number) == ("SAL/2026/000001", "PUR/2026/000001")


def test_a_refused_posting_does_not_use_a_number(session, customer, make_invoice):
    make_invoice(customer, date="2026-03-01")
    early = make_invoice(customer, date="2026-01-15", post=False)
    companies.set_lock_date(session, dt.date(2026, 1, 31))
    session.commit()
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        invoices.post_invoice(session, early)
    assert set(refused.value.fields) == {"date"}
    session.rollback()
    assert stored(session) == before
    assert (early.state, early.number, early.entry_id) == ("draft", None, None)
    assert make_invoice(customer, date="2026-03-02").number == "INV/2026/0002"


def test_a_rolled_back_posting_gives_its_number_back(session, customer, make_invoice):
    draft = make_invoice(customer, date="2026-03-01", post=False)
    assert invoices.post_invoice(session, draft).number == "INV/2026/0001"
    session.rollback()
    assert make_invoice(customer, date="2026-03-01").number == "INV/2026/0001"


# --- the life of an invoice ---------------------------------------------------------------------------------


def test_an_invoice_goes_from_draft_to_posted_partial_and_paid(session, customer, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10", post=False)
    assert (invoice.state, invoice.residual, invoice.entry_id) == ("draft", D("100.00"), None)
    # A draft is not in the books.
    assert receivable_of(session, customer) == ZERO
    invoices.post_invoice(session, invoice)
    session.commit()
    assert (invoice.state, invoice.residual, invoice.entry.state) == ("posted", D("100.00"), "posted")
    assert receivable_of(session, customer) == D("100.00")
    first = pay(session, invoice, "40.00")
    assert (invoice.state, invoice.residual, invoice.paid_amount) == ("partial", D("60.00"), D("40.00"))
    second = pay(session, invoice)  # the amount defaults to what is left
    assert (second.amount, invoice.state, invoice.residual) == (D("60.00"), "paid", ZERO)
    assert receivable_of(session, customer) == ZERO
    assert [a.payment_id for a in payments.payments_of(session, invoice)] == [first.id, second.id]


def test_unreconcile_allocate_again_and_cancel_a_payment(session, customer, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10")
    payment = pay(session, invoice)
    assert (invoice.state, payment.unallocated) == ("paid", ZERO)
    reopened = payments.unreconcile_payment(session, payment)
    session.commit()
    assert reopened == [invoice]
    # The invoice is open again for the whole amount; the money is the customer's credit, still in the bank.
    assert (invoice.state, invoice.residual) == ("posted", D("100.00"))
    assert (payment.state, payment.allocated, payment.unallocated) == ("posted", ZERO, D("100.00"))
    assert payment.entry.state == "posted"
    assert reports.aged(session, as_of=dt.date(2026, 3, 31)).total == D("100.00")
    assert receivable_of(session, customer) == ZERO  # the ledger was never touched
    with pytest.raises(Conflict):
        payments.unreconcile_payment(session, payment)

    payments.allocate_payment(session, payment, [{"invoice_id": invoice.id, "amount": "30.00"}])
    session.commit()
    assert (invoice.state, invoice.residual, payment.unallocated) == ("partial", D("70.00"), D("70.00"))
    payments.allocate_payment(session, payment, [{"invoice_id": invoice.id}])  # the rest
    session.commit()
    assert (invoice.state, invoice.residual, payment.unallocated) == ("paid", ZERO, ZERO)

    entries_before = session.scalar(select(func.count()).select_from(JournalEntry))
    payments.cancel_payment(session, payment)
    session.commit()
    assert (payment.state, payment.unallocated, payment.allocations) == ("cancelled", ZERO, [])
    assert payment.entry.state == "reversed"
    reversal = session.scalar(select(JournalEntry).where(JournalEntry.reversal_of_id == payment.entry_id))
    assert sorted((x.account.code, x.debit, x.credit) for x in reversal.lines) == [
        ("1100", ZERO, D("100.00")),
        ("1200", D("100.00"), ZERO),
    ]
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == entries_before + 1
    assert (invoice.state, invoice.residual) == ("posted", D("100.00"))
    assert receivable_of(session, customer) == D("100.00")
    assert ledger.account_balance(session, "1100") == ZERO
    with pytest.raises(Conflict):
        payments.cancel_payment(session, payment)
    with pytest.raises(Conflict):
        payments.allocate_payment(session, payment, [{"invoice_id": invoice.id}])


def test_a_credit_note_settles_a_posted_unpaid_invoice(session, customer, sales_tax, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10", lines=[line(unit_price="50.00", tax=sales_tax.id)])
    credit = invoices.create_credit_note(session, invoice, date="2026-03-15", reason="Returned")
    session.commit()
    assert (credit.kind, credit.state, credit.reference, credit.notes) == (
        "out_refund",
        "draft",
        "INV/2026/0001",
        "Returned",
    )
    invoices.post_invoice(session, credit)
    session.commit()
    # 50.00 + 20% = 60.00 reversed line for line.
    assert (credit.number, credit.total, credit.state, credit.residual) == (
        "RINV/2026/0001",
        D("60.00"),
        "paid",
        ZERO,
    )
    assert (invoice.state, invoice.residual) == ("credited", ZERO)
    assert sorted((x.account.code, x.debit, x.credit) for x in credit.entry.lines) == [
        ("1200", ZERO, D("60.00")),
        ("2100", D("10.00"), ZERO),
        ("4000", D("50.00"), ZERO),
    ]
    assert receivable_of(session, customer) == ZERO
    assert open_totals(session, customer) == {"receivable": ZERO, "payable": ZERO}
    assert reports.aged(session, as_of=dt.date(2026, 3, 31)).rows == []
    # A credit note is not credited again.
    with pytest.raises(Conflict):
        invoices.create_credit_note(session, credit)


def test_a_credit_note_on_a_partly_paid_invoice_leaves_a_customer_credit(session, customer, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10")
    pay(session, invoice, "30.00", date="2026-03-12")
    credit = invoices.create_credit_note(session, invoice, date="2026-03-15")
    invoices.post_invoice(session, credit)
    session.commit()
    # 100.00 invoiced, 30.00 paid, the 70.00 left is credited: the customer has 30.00 credit.
    assert (invoice.state, invoice.residual) == ("paid", ZERO)
    assert (credit.state, credit.residual) == ("partial", D("30.00"))
    assert receivable_of(session, customer) == D("-30.00")
    assert open_totals(session, customer)["receivable"] == D("-30.00")
    aged = reports.aged(session, as_of=dt.date(2026, 3, 31))
    assert [(r.contact_id, r.buckets) for r in aged.rows] == [(customer, [D("-30.00"), ZERO, ZERO, ZERO])]


def test_a_draft_cannot_be_credited_and_a_posted_invoice_cannot_be_edited_or_deleted(
    session, customer, make_invoice
):
    draft = make_invoice(customer, post=False)
    with pytest.raises(Conflict) as refused:
        invoices.create_credit_note(session, draft)
    assert set(refused.value.fields) == {"state"}
    invoices.update_invoice(session, draft, {"lines": [line(unit_price="5.00")], "reference": "PO-1"})
    session.commit()
    assert (draft.total, draft.reference) == (D("5.00"), "PO-1")
    invoices.delete_invoice(session, draft)
    session.commit()
    assert session.get(Invoice, draft.id) is None

    posted = make_invoice(customer, date="2026-03-10")
    before = stored(session)
    with pytest.raises(Conflict) as refused:
        invoices.update_invoice(session, posted, {"lines": [line(unit_price="1.00")]})
    assert set(refused.value.fields) == {"state"}
    with pytest.raises(Conflict) as refused:
        invoices.delete_invoice(session, posted)
    assert set(refused.value.fields) == {"state"}
    with pytest.raises(Conflict):
        invoices.post_invoice(session, posted)
    session.rollback()
    assert stored(session) == before
    session.refresh(posted)
    assert (posted.total, posted.state, len(posted.lines)) == (D("100.00"), "posted", 1)


# --- bad input: a clear error, nothing stored ---------------------------------------------------------------


def refused_invoice(session: Session, data: dict) -> set[str]:
    """Try to create an invoice; returns the field keys of the error (nothing must be stored)."""
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        invoices.create_invoice(session, data)
    session.rollback()
    assert stored(session) == before
    return set(refused.value.fields)


def test_bad_invoice_lines_are_refused_with_field_errors(session, customer, purchase_tax):
    def invoice(*lines: dict, **extra) -> dict:
        return {"contact_id": customer, "date": "2026-03-10", "lines": list(lines), **extra}

    assert refused_invoice(session, invoice(line(quantity="-1"))) == {"lines.0.quantity"}
    assert refused_invoice(session, invoice(line(), line(quantity="0"))) == {"lines.1.quantity"}
    assert refused_invoice(session, invoice(line(tax=999_999))) == {"lines.0.tax"}
    assert refused_invoice(session, invoice(line(tax="No such tax"))) == {"lines.0.tax"}
    # A purchase tax on a customer invoice would post VAT to the wrong side.
    assert refused_invoice(session, invoice(line(tax=purchase_tax.id))) == {"lines.0.tax"}
    assert refused_invoice(session, invoice(line(account="9999"))) == {"lines.0.account"}
    # Money never travels as float.
    assert refused_invoice(session, invoice(line(quantity=1.5))) == {"lines.0.quantity"}
    assert refused_invoice(session, invoice(line(unit_price=19.99))) == {"lines.0.unit_price"}
    # Prices and quantities have at most 4 decimals.
    assert refused_invoice(session, invoice(line(unit_price="1.23456"))) == {"lines.0.unit_price"}
    assert refused_invoice(session, invoice(line(quantity="0.00001"))) == {"lines.0.quantity"}
    assert refused_invoice(session, invoice(line(unit_price="ten"))) == {"lines.0.unit_price"}
    assert refused_invoice(session, invoice(line(description=" "))) == {"lines.0.description"}
    assert refused_invoice(session, invoice(line(colour="red"))) == {"lines.0.colour"}
    assert refused_invoice(session, invoice(line(), kind="quote")) == {"kind"}
    assert refused_invoice(session, invoice(line(), contact_id=999_999)) == {"contact_id"}
    assert refused_invoice(session, invoice(line(), date="2026-02-30")) == {"date"}
    assert refused_invoice(session, invoice(line(), due_date="2026-03-01")) == {"due_date"}
    # Every bad field is named at once.
    assert refused_invoice(session, invoice(line(quantity="-2", unit_price=1.0), line(tax=999_999))) == {
        "lines.0.quantity",
        "lines.0.unit_price",
        "lines.1.tax",
    }


def test_an_invoice_with_no_lines_can_be_drafted_but_not_posted(session, customer):
    draft = invoices.create_invoice(session, {"contact_id": customer, "date": "2026-03-10", "lines": []})
    session.commit()
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        invoices.post_invoice(session, draft)
    assert set(refused.value.fields) == {"lines"}
    session.rollback()
    assert stored(session) == before
    assert (draft.state, draft.number) == ("draft", None)


def test_an_invoice_dated_in_a_locked_period_is_not_posted(session, customer, make_invoice):
    draft = make_invoice(customer, date="2026-02-10", post=False)
    companies.set_lock_date(session, dt.date(2026, 2, 28))
    session.commit()
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        invoices.post_invoice(session, draft)
    assert set(refused.value.fields) == {"date"}
    assert "locked" in refused.value.fields["date"][0]
    session.rollback()
    assert stored(session) == before
    assert draft.state == "draft"
    # The day after the lock date is open.
    invoices.update_invoice(session, draft, {"date": "2026-03-01"})
    assert invoices.post_invoice(session, draft).number == "INV/2026/0001"


def test_a_payment_in_a_locked_period_is_not_stored(session, customer, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10")
    companies.set_lock_date(session, dt.date(2026, 3, 31))
    session.commit()
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        pay(session, invoice)
    assert set(refused.value.fields) == {"date"}
    session.rollback()
    assert stored(session) == before
    assert (invoice.state, invoice.residual) == ("posted", D("100.00"))


def refused_payment(session: Session, data: dict) -> set[str]:
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        payments.register_payment(session, data)
    session.rollback()
    assert stored(session) == before
    return set(refused.value.fields)


def test_bad_payments_are_refused_with_field_errors(session, customer, vendor, make_invoice):
    invoice = make_invoice(customer, date="2026-03-10")
    bill = make_invoice(vendor, kind="in_invoice", date="2026-03-10")
    other = contacts.create_contact(session, kind="person", name="Someone Else")
    session.commit()
    elses = make_invoice(other.id, date="2026-03-10")
    draft = make_invoice(customer, date="2026-03-10", post=False)

    def paying(*allocations: dict, **extra) -> dict:
        return {"bank_journal": "BNK", "date": "2026-03-20", "allocations": list(allocations), **extra}

    # 100.00 is due: 100.01 is more than the residual.
    assert refused_payment(session, paying({"invoice_id": invoice.id, "amount": "100.01"})) == {
        "allocations.0.amount"
    }
    assert refused_payment(
        session, paying({"invoice_id": invoice.id, "amount": "10.00"}, {"invoice_id": elses.id})
    ) == {"allocations.1.invoice_id"}
    # A customer payment does not settle a vendor bill.
    assert refused_payment(session, paying({"invoice_id": invoice.id}, {"invoice_id": bill.id})) == {
        "allocations.1.invoice_id"
    }
    # Nothing to settle: the contact and direction cannot follow from the documents either.
    assert "allocations.0.invoice_id" in refused_payment(session, paying({"invoice_id": draft.id}))
    assert "allocations.0.invoice_id" in refused_payment(session, paying({"invoice_id": 999_999}))
    assert refused_payment(session, paying({"invoice_id": invoice.id}, {"invoice_id": invoice.id})) == {
        "allocations.1.invoice_id"
    }
    assert refused_payment(session, paying({"invoice_id": invoice.id, "amount": "10.001"})) == {
        "allocations.0.amount"
    }
    assert refused_payment(session, paying({"invoice_id": invoice.id, "amount": 10.0})) == {
        "allocations.0.amount"
    }
    assert refused_payment(session, paying({"invoice_id": invoice.id, "amount": "-5"})) == {
        "allocations.0.amount"
    }
    # The payment may be larger than what it settles, not smaller.
    whole = {"invoice_id": invoice.id}
    assert refused_payment(session, paying({**whole, "amount": "50.00"}, amount="40.00")) == {"amount"}
    assert refused_payment(session, paying(whole, bank_journal="SAL")) == {"bank_journal"}
    on_account = {"bank_journal": "BNK", "date": "2026-03-20", "contact_id": customer}
    assert refused_payment(session, {**on_account, "partner_type": "customer", "direction": "inbound"}) == {
        "amount"
    }
    assert refused_payment(
        session, {**on_account, "partner_type": "friend", "direction": "sideways", "amount": "1.00"}
    ) == {"partner_type", "direction"}
    assert (invoice.state, invoice.residual) == ("posted", D("100.00"))


def test_a_payment_cannot_be_allocated_to_another_contacts_invoice_or_beyond_what_is_left(
    session, customer, make_invoice
):
    other = contacts.create_contact(session, kind="person", name="Someone Else")
    session.commit()
    invoice = make_invoice(customer, date="2026-03-10")
    elses = make_invoice(other.id, date="2026-03-10")
    payment = payments.register_payment(
        session,
        {
            "bank_journal": "BNK",
            "date": "2026-03-20",
            "contact_id": customer,
            "partner_type": "customer",
            "direction": "inbound",
            "amount": "30.00",
        },
    )
    session.commit()
    assert (payment.unallocated, invoice.state) == (D("30.00"), "posted")
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        payments.allocate_payment(session, payment, [{"invoice_id": elses.id}])
    assert set(refused.value.fields) == {"allocations.0.invoice_id"}
    with pytest.raises(ValidationError) as refused:
        payments.allocate_payment(session, payment, [{"invoice_id": invoice.id, "amount": "30.01"}])
    assert set(refused.value.fields) == {"allocations"}
    session.rollback()
    assert stored(session) == before
    assert (elses.state, invoice.state) == ("posted", "posted")


# --- enabling and disabling the plugin ----------------------------------------------------------------------


def seeded(session: Session) -> dict[str, int]:
    counts = {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Account, Journal, Tax, PaymentTerm, BankJournal, Settings)
    }
    counts["codes"] = session.scalar(select(func.count(func.distinct(Account.code))))
    return counts


def test_enabling_twice_is_harmless(ext, session):
    before = seeded(session)
    assert before == {
        "Account": 27,
        "Journal": 5,
        "Tax": 2,
        "PaymentTerm": 4,
        "BankJournal": 2,
        "Settings": 1,
        "codes": 27,
    }
    session.commit()
    assert ext.plugins.enable(ext.db, ["accounting"]) == []
    # The seed itself is idempotent too.
    assert chart.install_chart(session) == []
    session.commit()
    assert seeded(session) == before


def test_disabling_keeps_the_data_and_enabling_again_does_not_duplicate_the_chart(
    ext, session, customer, make_invoice
):
    invoice = make_invoice(customer, date="2026-03-10")
    before = seeded(session)
    session.commit()
    session.close()
    assert ext.plugins.disable(ext.db, ["accounting"]) == ["accounting"]
    assert not ext.plugins.is_enabled("accounting")
    with ext.db.session() as other:
        assert other.get(Invoice, invoice.id).number == "INV/2026/0001"
        assert other.scalar(select(func.count()).select_from(InvoiceLine)) == 1
    assert ext.plugins.enable(ext.db, ["accounting"]) == ["accounting"]
    assert seeded(session) == before
    assert session.get(Invoice, invoice.id).state == "posted"


@pytest.mark.plugins()  # a database without accounting
def test_the_seed_keeps_accounts_that_already_exist(ext, session):
    assert not ext.plugins.is_enabled("accounting")
    ledger.create_account(session, code="4000", name="Consulting revenue", type="income")
    ledger.create_journal(session, code="BNK", name="Main street bank", prefix="MSB")
    session.commit()
    session.close()
    assert ext.plugins.enable(ext.db, ["accounting"]) == ["accounting"]
    ext.plugins.refresh(session)
    set_company(session, companies.first_company(session).id)
    revenue = session.scalars(select(Account).where(Account.code == "4000")).all()
    assert [(a.name, a.type) for a in revenue] == [("Consulting revenue", "income")]
    bank = session.scalars(select(Journal).where(Journal.code == "BNK")).one()
    assert (bank.name, bank.prefix) == ("Main street bank", "MSB")
    settings = session.get(Settings, company_id_of(session))
    assert settings.income_account_id == revenue[0].id
    assert seeded(session)["Account"] == 27
    # and it is used: an invoice posts its revenue there
    customer = contacts.create_contact(session, kind="organization", name="Acme")
    data = {"contact_id": customer.id, "date": "2026-03-10", "lines": [line()]}
    draft = invoices.create_invoice(session, data)
    assert invoices.post_invoice(session, draft).lines[0].account.name == "Consulting revenue"


# --- the answer to a won deal -------------------------------------------------------------------------------


def won(customer: int, deal_id: int = 7) -> SimpleNamespace:
    return SimpleNamespace(id=deal_id, title="Big deal", contact_id=customer, expected_revenue=D("5000.00"))


def test_a_won_deal_drafts_one_invoice(ext, session, customer):
    ext.plugins.hook.officium_deal_won(deal=won(customer), session=session)
    session.commit()
    drafted = session.scalars(select(Invoice)).all()
    assert [(i.kind, i.state, i.origin, i.contact_id, i.total, i.date) for i in drafted] == [
        ("out_invoice", "draft", "crm.deal:7", customer, D("5000.00"), dt.date.today())
    ]
    assert [(x.description, x.quantity, x.unit_price, x.total) for x in drafted[0].lines] == [
        ("Big deal", D("1"), D("5000.00"), D("5000.00"))
    ]
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 0
    # Won again (say the event is replayed): still one invoice.
    ext.plugins.hook.officium_deal_won(deal=won(customer), session=session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Invoice)) == 1
    # Another deal is another invoice.
    ext.plugins.hook.officium_deal_won(deal=won(customer, deal_id=8), session=session)
    assert session.scalar(select(func.count()).select_from(Invoice)) == 2


def test_a_won_deal_drafts_nothing_when_accounting_is_disabled(ext, session, customer):
    session.commit()
    session.close()
    ext.plugins.disable(ext.db, ["accounting"])
    ext.plugins.hook.officium_deal_won(deal=won(customer), session=session)
    session.commit()
    assert session.scalar(select(func.count()).select_from(Invoice)) == 0


# --- bank statements ----------------------------------------------------------------------------------------


def test_a_statement_with_bad_rows_is_refused_whole(session):
    before = stored(session)
    content = (
        "date,description,amount\n"
        "2026-03-01,Good row,10.00\n"
        "2026-13-01,Bad date,10.00\n"
        "2026-03-02,Bad amount,ten\n"
        "2026-03-03,Two columns\n"
        "2026-03-04,Zero,0\n"
    )
    with pytest.raises(ValidationError) as refused:
        statements.import_statement(session, bank_journal_ref="BNK", content=content)
    assert set(refused.value.fields) == {"rows.3.date", "rows.4.amount", "rows.5", "rows.6.amount"}
    session.rollback()
    assert stored(session) == before
    with pytest.raises(ValidationError) as refused:
        statements.import_statement(session, bank_journal_ref="SAL", content="2026-03-01,x,1.00\n")
    assert set(refused.value.fields) == {"bank_journal"}
    with pytest.raises(ValidationError) as refused:
        statements.import_statement(session, bank_journal_ref="BNK", content=b"\xff\xfe")
    assert set(refused.value.fields) == {"file"}
    session.rollback()
    assert stored(session) == before


def test_statement_lines_are_suggested_matched_and_booked(session, customer, vendor, sales_tax, make_invoice):
    big = make_invoice(customer, date="2026-03-01", lines=[line(quantity="10", tax=sales_tax.id)])  # 1,200.00
    small = make_invoice(customer, date="2026-03-02", lines=[line(unit_price="300.00")])
    bill = make_invoice(vendor, kind="in_invoice", date="2026-03-03", lines=[line(unit_price="75.50")])
    # Without a header the first row is row 1; with one, the header is row 1.
    statement = statements.import_statement(
        session,
        bank_journal_ref="BNK",
        name="March",
        content=(
            "Date,Description,Amount\n"
            "2026-03-05,Transfer from Acme,1200.00\n"
            f"2026-03-06,Acme pays {small.number.lower()} thanks,300.00\n"
            "2026-03-07,Monthly fee,-12.50\n"
            '2026-03-08,Paper supplier,"-75.50"\n'
        ),
    )
    session.commit()
    by_amount, by_reference, fee, outgoing = statement.lines
    assert [(x.date, x.description, x.amount, x.state) for x in statement.lines] == [
        (dt.date(2026, 3, 5), "Transfer from Acme", D("1200.00"), "open"),
        (dt.date(2026, 3, 6), f"Acme pays {small.number.lower()} thanks", D("300.00"), "open"),
        (dt.date(2026, 3, 7), "Monthly fee", D("-12.50"), "open"),
        (dt.date(2026, 3, 8), "Paper supplier", D("-75.50"), "open"),
    ]

    def suggested(statement_line: StatementLine) -> list[tuple[int, str]]:
        return [(s.invoice.id, s.reason) for s in statements.suggestions(session, statement_line)]

    assert suggested(by_amount) == [(big.id, "amount")]
    assert suggested(by_reference) == [(small.id, "reference")]
    assert suggested(fee) == []
    assert suggested(outgoing) == [(bill.id, "amount")]

    statements.match_line(session, by_amount.id, big.id)
    statements.match_line(session, outgoing.id, bill.id)
    session.commit()
    assert (by_amount.state, big.state, big.residual) == ("matched", "paid", ZERO)
    assert (outgoing.state, bill.state) == ("matched", "paid")
    received = session.get(Payment, by_amount.payment_id)
    assert (received.date, received.amount, received.reference) == (
        dt.date(2026, 3, 5),
        D("1200.00"),
        "Transfer from Acme",
    )
    assert statements.suggestions(session, by_amount) == []
    with pytest.raises(Conflict):
        statements.match_line(session, by_amount.id, small.id)

    statements.book_line(session, fee.id, "6700", "Bank fee March")
    session.commit()
    entry = session.get(JournalEntry, fee.entry_id)
    assert (fee.state, entry.memo, entry.date) == ("booked", "Bank fee March", dt.date(2026, 3, 7))
    assert sorted((x.account.code, x.debit, x.credit) for x in entry.lines) == [
        ("1100", ZERO, D("12.50")),
        ("6700", D("12.50"), ZERO),
    ]
    # Bank: +1,200.00 - 75.50 - 12.50 = 1,112.00; the 300.00 line still waits.
    assert ledger.account_balance(session, "1100") == D("1112.00")
    assert by_reference.state == "open"


def test_a_statement_line_is_not_matched_beyond_the_residual_or_against_the_flow(
    session, customer, make_invoice
):
    invoice = make_invoice(customer, date="2026-03-01")
    statement = statements.import_statement(
        session, bank_journal_ref="BNK", content="2026-03-05,Too much,150.00\n2026-03-05,Out,-100.00\n"
    )
    session.commit()
    too_much, out = statement.lines
    before = stored(session)
    with pytest.raises(ValidationError) as refused:
        statements.match_line(session, too_much.id, invoice.id)
    assert set(refused.value.fields) == {"invoice_id"}
    with pytest.raises(ValidationError) as refused:
        statements.match_line(session, out.id, invoice.id)
    assert set(refused.value.fields) == {"invoice_id"}
    with pytest.raises(ValidationError) as refused:
        statements.book_line(session, out.id, "no-such-account")
    assert set(refused.value.fields) == {"account"}
    session.rollback()
    assert stored(session) == before
    assert (too_much.state, out.state, invoice.state) == ("open", "open", "posted")
