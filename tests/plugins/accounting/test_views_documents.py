"""Invoices, bills, credit notes and payments through the browser pages, with CSRF on.

Figures are worked by hand: 2 x 500.00 at 20% tax is 1,000.00 + 200.00 = 1,200.00.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.models import Account, Contact, JournalEntry
from core.services import companies
from core.services import contacts as contact_service
from plugins.accounting.models import Allocation, BankJournal, Invoice, Payment, PaymentTerm
from plugins.accounting.services import payments as payment_service
from tests.core.web_helpers import (
    assert_forbidden,
    count,
    csv_rows,
    field_error,
    flashes,
    next_page_link,
    page,
    redirect_path,
    submit,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("accounting")

TODAY = dt.date.today()


# --- reading pages and data -----------------------------------------------------------------------------


@contextmanager
def reading(ext: Any) -> Iterator[Any]:
    """A read-only session: it never holds SQLite's write lock, so requests are not blocked."""
    with ext.db.session(read_only=True) as session:
        yield session


def account_id(ext: Any, code: str) -> int:
    with reading(ext) as session:
        return session.scalar(select(Account.id).where(Account.code == code))


def bank_journal_id(ext: Any, code: str = "BNK") -> int:
    with reading(ext) as session:
        return next(b.id for b in session.scalars(select(BankJournal)) if b.journal.code == code)


def state_of(ext: Any, invoice_id: int) -> tuple[str, Decimal]:
    with reading(ext) as session:
        invoice = session.get(Invoice, invoice_id)
        return invoice.state, invoice.residual


def invoice_form(
    contact_id: int,
    lines: list[dict[str, Any]],
    *,
    action: str = "draft",
    date: str = "2026-03-10",
    blank_rows: int = 4,
    **header: Any,
) -> dict[str, Any]:
    """What the browser sends: every row of the line table (blank ones too) as parallel lists."""
    rows = [
        {"description": "", "quantity": "", "unit_price": "", "tax": "", "account": "", **line}
        for line in lines
    ] + [{"description": "", "quantity": "", "unit_price": "", "tax": "", "account": ""}] * blank_rows
    return {
        "kind": header.pop("kind", "out_invoice"),
        "contact_id": str(contact_id),
        "date": date,
        "payment_term_id": "",
        "due_date": "",
        "reference": "",
        "notes": "",
        **{key: str(value) for key, value in header.items()},
        **{f"line_{name}": [str(row[name]) for row in rows] for name in rows[0]},
        "action": action,
    }


def created_id(response: Any) -> int:
    match = re.fullmatch(r"/accounting/invoices/(\d+)", redirect_path(response))
    assert match, response.headers["Location"]
    return int(match.group(1))


def consulting(tax_id: Any = "", quantity: str = "2", price: str = "500.00") -> dict[str, Any]:
    return {"description": "Consulting", "quantity": quantity, "unit_price": price, "tax": tax_id}


def detail_figure(response: Any, field: str) -> str:
    """The figure shown in the totals box (``<dd id="total">``)."""
    match = re.search(rf'<dd class="num" id="{field}">(.*?)</dd>', page(response), re.S)
    assert match, f"no {field} on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


@pytest.fixture
def tax(session, sales_tax) -> int:
    """The id of the seeded 20% sales tax (the read is committed: SQLite's write lock is free again)."""
    session.commit()
    return sales_tax.id


@pytest.fixture
def buy_tax(session, purchase_tax) -> int:
    session.commit()
    return purchase_tax.id


@pytest.fixture
def posted(session, customer, tax, make_invoice) -> Invoice:
    """INV/2026/0001 to Acme: 2 x 500.00 + 20% = 1,200.00, due 30 days after 2026-03-10."""
    return make_invoice(
        customer,
        date="2026-03-10",
        lines=[{"description": "Consulting", "quantity": "2", "unit_price": "500.00", "tax": tax}],
    )


# --- creating, posting, paying --------------------------------------------------------------------------


def test_an_invoice_with_tax_is_created_from_the_form_and_shows_its_totals(admin_client, ext, customer, tax):
    form = admin_client.get("/accounting/invoices/new?kind=out_invoice")
    assert form.status_code == 200
    html = page(form)
    assert f'<option value="{customer}">Acme Corporation (ap@acme.example)</option>' in html
    assert f'<option value="{tax}">Sales tax 20%</option>' in html
    assert "Purchase tax 20%" not in html  # only taxes of the sale scope
    assert html.count('name="line_description"') == 5  # blank rows without JavaScript
    assert 'value="post">Save and post</button>' in html
    assert 'src="/accounting/assets/accounting.js"' in html  # the optional "Add line" button
    script = admin_client.get("/accounting/assets/accounting.js")
    assert script.status_code == 200 and "add-line" in script.get_data(as_text=True)

    with reading(ext) as session:
        thirty = session.scalar(select(PaymentTerm.id).where(PaymentTerm.name == "30 days"))
    sales = account_id(ext, "4000")
    response = submit(
        admin_client,
        "/accounting/invoices/new?kind=out_invoice",
        invoice_form(
            customer, [{**consulting(tax), "account": sales}], payment_term_id=thirty, reference="PO-77"
        ),
        form_page="/accounting/invoices/new",
    )
    invoice_id = created_id(response)
    detail = admin_client.get(f"/accounting/invoices/{invoice_id}")
    assert "Draft saved." in flashes(detail)
    text = visible(detail)
    assert f"Invoice Draft #{invoice_id} Draft" in text
    assert "Consulting 4000 Sales 2 500.00 Sales tax 20% 1,000.00 200.00 1,200.00" in text
    assert detail_figure(detail, "untaxed") == "1,000.00"
    assert detail_figure(detail, "tax") == "200.00"
    assert detail_figure(detail, "total") == "1,200.00"
    assert "Apr 9, 2026 (30 days)" in text  # the due date from the payment term
    assert "PO-77" in text
    with reading(ext) as session:
        invoice = session.get(Invoice, invoice_id)
        assert (invoice.state, invoice.number, invoice.total) == ("draft", None, Decimal("1200.00"))
        assert [line.quantity for line in invoice.lines] == [Decimal("2")]  # blank rows were skipped


def test_posting_numbers_the_invoice_and_links_its_ledger_entry(admin_client, ext, customer, tax):
    invoice_id = created_id(
        submit(admin_client, "/accounting/invoices/new", invoice_form(customer, [consulting(tax)]))
    )
    response = submit(
        admin_client,
        f"/accounting/invoices/{invoice_id}/post",
        form_page=f"/accounting/invoices/{invoice_id}",
    )
    assert redirect_path(response) == f"/accounting/invoices/{invoice_id}"
    detail = admin_client.get(f"/accounting/invoices/{invoice_id}")
    assert "INV/2026/0001 posted." in flashes(detail)
    assert "Invoice INV/2026/0001 Posted" in visible(detail)
    with reading(ext) as session:
        entry = session.get(JournalEntry, session.get(Invoice, invoice_id).entry_id)
        assert (entry.state, entry.total_debit) == ("posted", Decimal("1200.00"))
        assert f'<a href="/ledger/entries/{entry.id}">{entry.number}</a>' in page(detail)
    assert detail_figure(detail, "residual") == "1,200.00"
    assert detail_figure(detail, "paid") == "0.00"
    # A posted document has no edit, delete or post button any more.
    assert "/edit" not in page(detail) and f"/accounting/invoices/{invoice_id}/delete" not in page(detail)


def test_save_and_post_posts_in_one_step(admin_client, ext, customer, tax):
    response = submit(
        admin_client, "/accounting/invoices/new", invoice_form(customer, [consulting(tax)], action="post")
    )
    invoice_id = created_id(response)
    with reading(ext) as session:
        invoice = session.get(Invoice, invoice_id)
        assert (invoice.number, invoice.state, invoice.residual) == (
            "INV/2026/0001",
            "posted",
            Decimal("1200.00"),
        )
    assert "INV/2026/0001 posted." in flashes(admin_client.get(f"/accounting/invoices/{invoice_id}"))


def test_a_payment_settles_the_invoice_partly_then_fully(admin_client, ext, posted):
    path = f"/accounting/invoices/{posted.id}/pay"
    form = admin_client.get(path)
    assert form.status_code == 200
    assert 'name="amount" type="text" value="1200.00"' in page(form)  # pre-filled with the residual
    bank = bank_journal_id(ext)

    response = submit(
        admin_client,
        path,
        {"bank_journal": bank, "date": "2026-03-20", "amount": "500.00", "reference": "TRF 1"},
    )
    assert redirect_path(response) == f"/accounting/invoices/{posted.id}"
    detail = admin_client.get(f"/accounting/invoices/{posted.id}")
    assert "Payment of 500.00 registered for INV/2026/0001." in flashes(detail)
    assert "Invoice INV/2026/0001 Partially paid" in visible(detail)
    assert (detail_figure(detail, "paid"), detail_figure(detail, "residual")) == ("500.00", "700.00")
    assert "Bank · TRF 1 500.00" in visible(detail)  # what settled it
    assert state_of(ext, posted.id) == ("partial", Decimal("700.00"))

    # The rest: the form now offers 700.00.
    assert 'value="700.00"' in page(admin_client.get(path))
    submit(admin_client, path, {"bank_journal": bank, "date": "2026-03-25", "amount": "700.00"})
    detail = admin_client.get(f"/accounting/invoices/{posted.id}")
    assert "Invoice INV/2026/0001 Paid" in visible(detail)
    assert (detail_figure(detail, "paid"), detail_figure(detail, "residual")) == ("1,200.00", "0.00")
    assert state_of(ext, posted.id) == ("paid", Decimal("0.00"))
    # Nothing left to pay: no button, and the form sends the user back.
    assert "Register payment" not in visible(detail)
    assert "INV/2026/0001 has nothing left to pay." in flashes(admin_client.get(path, follow_redirects=True))


def test_paying_more_than_the_residual_shows_the_error_and_stores_nothing(admin_client, ext, posted):
    path = f"/accounting/invoices/{posted.id}/pay"
    response = submit(
        admin_client, path, {"bank_journal": bank_journal_id(ext), "date": "2026-03-20", "amount": "1200.01"}
    )
    assert response.status_code == 422
    assert field_error(response, "amount") == "is more than what is left to pay on INV/2026/0001 (1200.00)"
    assert 'value="1200.01"' in page(response)  # what the user typed stays
    assert count(ext, Payment) == 0
    assert state_of(ext, posted.id) == ("posted", Decimal("1200.00"))


def test_a_credit_note_reverses_a_posted_invoice(admin_client, ext, posted):
    response = submit(
        admin_client,
        f"/accounting/invoices/{posted.id}/credit-note",
        {"date": "2026-03-15", "reason": "Returned goods"},
        form_page=f"/accounting/invoices/{posted.id}",
    )
    credit_id = created_id(response)
    assert credit_id != posted.id
    draft = admin_client.get(f"/accounting/invoices/{credit_id}")
    assert "Credit note drafted for INV/2026/0001: review it, then post it." in flashes(draft)
    assert f"Credit note Draft #{credit_id} Draft" in visible(draft)
    assert detail_figure(draft, "total") == "1,200.00"
    assert "Returned goods" in visible(draft)

    submit(
        admin_client, f"/accounting/invoices/{credit_id}/post", form_page=f"/accounting/invoices/{credit_id}"
    )
    credit = admin_client.get(f"/accounting/invoices/{credit_id}")
    assert "Credit note RINV/2026/0001 Paid" in visible(credit)
    assert "Settles INV/2026/0001 1,200.00" in visible(credit)
    original = admin_client.get(f"/accounting/invoices/{posted.id}")
    assert "Invoice INV/2026/0001 Credited" in visible(original)
    assert detail_figure(original, "residual") == "0.00"
    assert "Credit note RINV/2026/0001 1,200.00" in visible(original)
    assert state_of(ext, posted.id) == ("credited", Decimal("0.00"))
    # The list shows both, the credit note marked as such.
    listing = admin_client.get("/accounting/invoices?sort=number&dir=asc")
    assert table_column(listing, 0) == ["INV/2026/0001", "RINV/2026/0001 Credit note"]


def test_a_draft_is_edited_and_deleted(admin_client, ext, customer, tax, make_invoice):
    draft = make_invoice(customer, post=False)
    path = f"/accounting/invoices/{draft.id}/edit"
    form = admin_client.get(path)
    assert 'name="line_description" value="Consulting"' in page(form)
    assert 'name="line_unit_price" value="100.00"' in page(form)
    response = submit(admin_client, path, invoice_form(customer, [consulting(tax, "3", "10.00")]))
    assert redirect_path(response) == f"/accounting/invoices/{draft.id}"
    detail = admin_client.get(f"/accounting/invoices/{draft.id}")
    assert detail_figure(detail, "total") == "36.00"  # 3 x 10.00 = 30.00 + 6.00 tax

    response = submit(
        admin_client, f"/accounting/invoices/{draft.id}/delete", form_page=f"/accounting/invoices/{draft.id}"
    )
    assert redirect_path(response) == "/accounting/invoices"
    assert "Draft deleted." in flashes(admin_client.get("/accounting/invoices"))
    assert count(ext, Invoice) == 0


def test_editing_a_posted_invoice_is_refused(admin_client, ext, posted):
    path = f"/accounting/invoices/{posted.id}/edit"
    assert redirect_path(admin_client.get(path)) == f"/accounting/invoices/{posted.id}"
    assert "INV/2026/0001 is Posted and cannot be edited; create a credit note to correct it." in flashes(
        admin_client.get(f"/accounting/invoices/{posted.id}")
    )
    response = submit(
        admin_client,
        path,
        invoice_form(posted.contact_id, [{"description": "Changed", "quantity": "1", "unit_price": "1.00"}]),
        form_page=f"/accounting/invoices/{posted.id}",
    )
    assert redirect_path(response) == f"/accounting/invoices/{posted.id}"
    assert "INV/2026/0001 is posted and cannot be edited; credit it instead" in flashes(
        admin_client.get(f"/accounting/invoices/{posted.id}")
    )
    with reading(ext) as session:
        invoice = session.get(Invoice, posted.id)
        assert [line.description for line in invoice.lines] == ["Consulting"]
        assert invoice.total == Decimal("1200.00")


def test_a_bill_is_entered_with_the_purchase_tax_and_listed_under_bills(admin_client, ext, vendor, buy_tax):
    response = submit(
        admin_client,
        "/accounting/invoices/new?kind=in_invoice",
        invoice_form(
            vendor,
            [{"description": "Paper", "quantity": "10", "unit_price": "4.50", "tax": buy_tax}],
            kind="in_invoice",
            action="post",
            due_date="2026-04-30",
        ),
        form_page="/accounting/invoices/new?kind=in_invoice",
    )
    bill_id = created_id(response)
    with reading(ext) as session:
        bill = session.get(Invoice, bill_id)
        assert (bill.number, bill.total, bill.due_date) == (
            "BILL/2026/0001",
            Decimal("54.00"),  # 10 x 4.50 = 45.00 + 9.00 tax
            dt.date(2026, 4, 30),
        )
        assert bill.lines[0].account.code == "6100"  # the settings' default expense account
    assert table_column(admin_client.get("/accounting/bills"), 0) == ["BILL/2026/0001"]
    assert table_column(admin_client.get("/accounting/invoices"), 0) == []
    assert "Test Company Vendor bill BILL/2026/0001" in visible(
        admin_client.get(f"/accounting/invoices/{bill_id}/print")
    )


# --- bad input ------------------------------------------------------------------------------------------


def test_posting_without_lines_is_refused_in_the_form(admin_client, ext, customer):
    response = submit(admin_client, "/accounting/invoices/new", invoice_form(customer, [], action="post"))
    assert response.status_code == 422
    assert field_error(response, "lines") == "an invoice needs at least one line"
    assert visible(response).count("an invoice needs at least one line") == 1
    assert "The document was not saved" in visible(response)
    assert f'<option value="{customer}" selected>' in page(response)  # the user's choices stay
    assert count(ext, Invoice) == 0


def test_a_negative_quantity_is_shown_next_to_its_line(admin_client, ext, customer, tax):
    lines = [consulting(tax), {"description": "Refund?", "quantity": "-2", "unit_price": "10.00"}]
    response = submit(admin_client, "/accounting/invoices/new", invoice_form(customer, lines))
    assert response.status_code == 422
    assert field_error(response, "lines-1-quantity") == "must be greater than zero"
    assert field_error(response, "lines-0-quantity") is None
    assert 'name="line_quantity" value="-2"' in page(response)
    assert page(response).count('name="line_description"') == 5  # two filled rows, three blank
    assert count(ext, Invoice) == 0


def test_an_unknown_tax_is_refused(admin_client, ext, customer):
    response = submit(admin_client, "/accounting/invoices/new", invoice_form(customer, [consulting(999999)]))
    assert response.status_code == 422
    assert field_error(response, "lines-0-tax") == "unknown tax"
    assert '<option value="999999" selected>' in page(response)  # still shown, next to its message
    assert count(ext, Invoice) == 0


def test_a_purchase_tax_on_an_invoice_is_refused(admin_client, ext, customer, buy_tax):
    response = submit(admin_client, "/accounting/invoices/new", invoice_form(customer, [consulting(buy_tax)]))
    assert response.status_code == 422
    assert field_error(response, "lines-0-tax") == "tax Purchase tax 20% is a purchase tax; use a sale tax"
    assert count(ext, Invoice) == 0


def test_a_date_in_a_locked_period_is_refused_and_nothing_is_stored(admin_client, ext, session, customer):
    companies.set_lock_date(session, dt.date(2026, 3, 31))
    session.commit()
    response = submit(
        admin_client, "/accounting/invoices/new", invoice_form(customer, [consulting()], action="post")
    )
    assert response.status_code == 422
    assert field_error(response, "date") == "is in a locked period (locked through 2026-03-31)"
    assert 'value="2026-03-10"' in page(response)
    assert count(ext, Invoice) == 0
    assert count(ext, JournalEntry) == 0


def test_a_missing_contact_and_a_bad_price_are_shown(admin_client, ext):
    form = invoice_form(0, [{"description": "X", "quantity": "1", "unit_price": "ten"}])
    form["contact_id"] = ""
    response = submit(admin_client, "/accounting/invoices/new", form)
    assert response.status_code == 422
    assert field_error(response, "contact_id") == "no such contact"
    assert field_error(response, "lines-0-unit_price") == "must be a decimal number"
    assert count(ext, Invoice) == 0


# --- print page and lists -----------------------------------------------------------------------------


def test_the_print_page_has_the_whole_document_without_the_app_shell(admin_client, session, posted):
    contact = session.get(Contact, posted.contact_id)
    contact.street, contact.postal_code, contact.city, contact.country = (
        "1 Main St",
        "10001",
        "Springfield",
        "US",
    )
    session.commit()
    response = admin_client.get(f"/accounting/invoices/{posted.id}/print")
    assert response.status_code == 200
    text = visible(response)
    assert 'class="sidebar"' not in page(response)
    assert "/accounting/assets/print.css" in page(response)
    for expected in (
        "Test Company Invoice INV/2026/0001",
        "Bill to Acme Corporation 1 Main St 10001 Springfield US ap@acme.example",
        "Date Mar 10, 2026 Due date Apr 9, 2026",
        "Consulting 2 500.00 Sales tax 20% 1,000.00",
        "Sales tax 20% 1,000.00 200.00",  # the tax summary: base and amount
        "Untaxed amount 1,000.00 Tax 200.00 Total (USD) 1,200.00",
    ):
        assert expected in text, expected
    css = admin_client.get("/accounting/assets/print.css")
    assert css.status_code == 200 and "@media print" in css.get_data(as_text=True)
    assert admin_client.get("/accounting/assets/views.py").status_code == 404


def test_lists_filter_by_state_and_text_and_flag_overdue_documents(
    admin_client, session, customer, make_invoice
):
    other = contact_service.create_contact(session, kind="person", name="Bob Builder").id
    session.commit()
    make_invoice(customer, date="2026-01-05", reference="ALPHA")  # due Feb 4, 2026: overdue
    later = (TODAY + dt.timedelta(days=30)).isoformat()
    big = [{"description": "Big job", "quantity": "1", "unit_price": "250.00"}]
    current = make_invoice(other, date=TODAY.isoformat(), due_date=later, lines=big).number
    draft = make_invoice(customer, post=False).id
    listing = admin_client.get("/accounting/invoices?sort=date&dir=asc")
    assert table_column(listing, 0) == ["INV/2026/0001", current, f"Draft #{draft}"]
    assert table_column(listing, 6) == ["Posted", "Posted", "Draft"]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page(listing).split("<tbody>")[1], re.S)
    overdue = [row for row in rows if 'class="overdue"' in row]
    assert len(overdue) == 1 and "INV/2026/0001" in overdue[0] and "Overdue" in overdue[0]

    assert table_column(admin_client.get("/accounting/invoices?state=draft"), 0) == [f"Draft #{draft}"]
    assert len(table_column(admin_client.get("/accounting/invoices?state=open"), 0)) == 2
    assert table_column(admin_client.get("/accounting/invoices?q=alpha"), 0) == ["INV/2026/0001"]
    assert table_column(admin_client.get("/accounting/invoices?q=bob"), 1) == ["Bob Builder"]
    assert table_column(admin_client.get(f"/accounting/invoices?contact_id={other}"), 1) == ["Bob Builder"]
    assert table_column(admin_client.get("/accounting/invoices?contact_id=999999"), 0) == []
    # Sorting by total, descending then ascending (the header links toggle it).
    by_total = admin_client.get("/accounting/invoices?sort=total&dir=desc")
    assert table_column(by_total, 4) == ["250.00", "100.00", "100.00"]
    assert 'href="/accounting/invoices?sort=total&amp;dir=asc"' in page(by_total)
    assert table_column(admin_client.get("/accounting/invoices?sort=total&dir=asc"), 0)[-1] == current
    # A bad state or cursor is ignored, not an error page.
    assert admin_client.get("/accounting/invoices?state=bogus&cursor=xyz").status_code == 200


def test_the_csv_export_holds_every_matching_document(admin_client, posted, customer, make_invoice):
    make_invoice(
        customer, post=False, lines=[{"description": "Later", "quantity": "1", "unit_price": "80.00"}]
    )
    rows = csv_rows(admin_client.get("/accounting/invoices?format=csv&sort=date&dir=asc"))
    assert rows[0] == [
        "number",
        "kind",
        "contact",
        "date",
        "due_date",
        "reference",
        "untaxed",
        "tax",
        "total",
        "residual",
        "currency",
        "state",
    ]
    assert rows[1] == [
        "INV/2026/0001",
        "out_invoice",
        "Acme Corporation",
        "2026-03-10",
        "2026-04-09",
        "",
        "1000.00",
        "200.00",
        "1200.00",
        "1200.00",
        "USD",
        "posted",
    ]
    assert (rows[2][0], rows[2][8], rows[2][11]) == ("", "80.00", "draft")
    assert len(rows) == 3
    only_posted = csv_rows(admin_client.get("/accounting/invoices?format=csv&state=posted"))
    assert [r[0] for r in only_posted[1:]] == ["INV/2026/0001"]
    assert csv_rows(admin_client.get("/accounting/bills?format=csv"))[1:] == []


def test_list_pages_page_with_a_cursor(admin_client, customer, make_invoice):
    for day in range(52):
        make_invoice(customer, post=False, date=(dt.date(2026, 1, 1) + dt.timedelta(days=day)).isoformat())
    first = admin_client.get("/accounting/invoices")
    assert len(table_column(first, 0)) == 50
    second = admin_client.get(next_page_link(first))
    assert len(table_column(second, 0)) == 2
    assert not set(table_column(first, 0)) & set(table_column(second, 0))
    assert table_column(second, 2) == ["Jan 2, 2026", "Jan 1, 2026"]  # newest first, so the oldest last


# --- payments for several documents, unreconcile, allocate, cancel --------------------------------------


def test_one_payment_settles_several_documents_then_is_unreconciled_allocated_and_cancelled(
    admin_client, ext, customer, make_invoice
):
    first = make_invoice(customer, lines=[{"description": "A", "quantity": "1", "unit_price": "100.00"}]).id
    second = make_invoice(customer, lines=[{"description": "B", "quantity": "1", "unit_price": "200.00"}]).id
    choose = admin_client.get(f"/accounting/payments/new?type=customer-inbound&contact_id={customer}")
    assert "INV/2026/0001" in visible(choose) and "INV/2026/0002" in visible(choose)

    response = submit(
        admin_client,
        "/accounting/payments/new",
        {
            "type": "customer-inbound",
            "contact_id": customer,
            "bank_journal": bank_journal_id(ext),
            "date": "2026-04-01",
            "amount": "",
            "reference": "Remittance 9",
            "pay": [first, second],
            f"amount_{first}": "50.00",
            f"amount_{second}": "",  # the whole residual
        },
        form_page=f"/accounting/payments/new?contact_id={customer}",
    )
    payment_id = int(re.fullmatch(r"/accounting/payments/(\d+)", redirect_path(response)).group(1))
    path = f"/accounting/payments/{payment_id}"
    detail = admin_client.get(path)
    assert "Payment registered." in flashes(detail)
    text = visible(detail)
    assert "Amount 250.00 Allocated 250.00 Unallocated 0.00" in text
    assert "INV/2026/0001 Apr 1, 2026 Partially paid 50.00 50.00" in text
    assert "INV/2026/0002 Apr 1, 2026 Paid 0.00 200.00" in text

    submit(admin_client, f"{path}/unreconcile", form_page=path)
    detail = admin_client.get(path)
    assert "Unreconciled: INV/2026/0001, INV/2026/0002 open again." in flashes(detail)
    assert "Unallocated 250.00" in visible(detail)
    assert [state_of(ext, i) for i in (first, second)] == [
        ("posted", Decimal("100.00")),
        ("posted", Decimal("200.00")),
    ]

    response = submit(
        admin_client, f"{path}/allocate", {"pay": [first], f"amount_{first}": "100.01"}, form_page=path
    )
    assert response.status_code == 422
    assert (
        field_error(response, f"doc-{first}") == "is more than what is left to pay on INV/2026/0001 (100.00)"
    )
    assert count(ext, Allocation) == 0

    submit(admin_client, f"{path}/allocate", {"pay": [first]}, form_page=path)
    assert state_of(ext, first) == ("paid", Decimal("0.00"))
    assert "Allocated 100.00 Unallocated 150.00" in visible(admin_client.get(path))

    submit(admin_client, f"{path}/cancel", {"date": "2026-04-02"}, form_page=path)
    detail = admin_client.get(path)
    assert "Payment cancelled: its ledger entry is reversed." in flashes(detail)
    assert f"Payment #{payment_id} Cancelled" in visible(detail)
    assert "Cancel payment" not in visible(detail)
    assert state_of(ext, first) == ("posted", Decimal("100.00"))
    with reading(ext) as session:
        payment = session.get(Payment, payment_id)
        assert (payment.state, payment.entry.state) == ("cancelled", "reversed")


def test_a_payment_on_account_is_registered_and_a_payment_without_amount_is_refused(
    admin_client, ext, customer
):
    form = {
        "type": "customer-inbound",
        "contact_id": customer,
        "bank_journal": bank_journal_id(ext),
        "date": "2026-04-01",
        "amount": "",
        "reference": "",
    }
    response = submit(admin_client, "/accounting/payments/new", form, form_page="/accounting/payments/new")
    assert response.status_code == 422
    assert field_error(response, "amount") == "is required for a payment that settles no document"
    assert count(ext, Payment) == 0

    response = submit(
        admin_client,
        "/accounting/payments/new",
        {**form, "amount": "75.00"},
        form_page="/accounting/payments/new",
    )
    path = redirect_path(response)
    assert "Amount 75.00 Allocated 0.00 Unallocated 75.00" in visible(admin_client.get(path))
    assert "This payment settles no document." in visible(admin_client.get(path))


def test_the_payments_list_and_its_csv(admin_client, session, posted, vendor, make_invoice):
    bill = make_invoice(
        vendor, kind="in_invoice", lines=[{"description": "Ink", "quantity": "1", "unit_price": "30.00"}]
    )
    payment_service.register_payment(
        session,
        {"bank_journal": "BNK", "date": "2026-03-20", "allocations": [{"invoice_id": posted.id}]},
    )
    payment_service.register_payment(
        session,
        {
            "bank_journal": "CSH",
            "date": "2026-03-21",
            "reference": "petty",
            "allocations": [{"invoice_id": bill.id}],
        },
    )
    session.commit()
    listing = admin_client.get("/accounting/payments")
    assert table_column(listing, 1) == ["Initech Supplies", "Acme Corporation"]  # newest first
    assert table_column(listing, 2) == ["Vendor payment (money paid)", "Customer payment (money received)"]
    assert table_column(listing, 5) == ["30.00", "1,200.00"]
    assert table_column(admin_client.get("/accounting/payments?partner_type=customer"), 1) == [
        "Acme Corporation"
    ]
    rows = csv_rows(admin_client.get("/accounting/payments?format=csv&sort=date&dir=asc"))
    assert [r[1:] for r in rows[1:]] == [
        ["2026-03-20", "Acme Corporation", "customer", "inbound", "BNK", "", "1200.00", "0.00", "posted"],
        ["2026-03-21", "Initech Supplies", "vendor", "outbound", "CSH", "petty", "30.00", "0.00", "posted"],
    ]


# --- permissions and escaping ---------------------------------------------------------------------------


def test_a_viewer_sees_documents_without_buttons_and_is_refused_every_action(
    make_client, ext, customer, make_invoice
):
    draft = make_invoice(customer, post=False).id
    posted = make_invoice(customer).id
    viewer = make_client("viewer@test.example", permissions=("accounting.view",))
    listing = viewer.get("/accounting/invoices")
    assert listing.status_code == 200
    assert "New invoice" not in visible(listing) and "Register payment" not in visible(listing)
    for invoice_id in (draft, posted):
        text = visible(viewer.get(f"/accounting/invoices/{invoice_id}"))
        for button in ("Edit", "Post", "Delete"):
            assert button not in text.split(), (invoice_id, button)
        assert "Register payment" not in text and "Create credit note" not in text
        assert "Print" in text and "PDF" in text
    assert viewer.get(f"/accounting/invoices/{draft}/print").status_code == 200
    refused = {
        f"/accounting/invoices/{draft}/post": "accounting.invoice.post",
        f"/accounting/invoices/{draft}/delete": "accounting.invoice.manage",
        f"/accounting/invoices/{draft}/edit": "accounting.invoice.manage",
        f"/accounting/invoices/{posted}/credit-note": "accounting.invoice.manage",
        f"/accounting/invoices/{posted}/pay": "accounting.payment.manage",
        "/accounting/invoices/new": "accounting.invoice.manage",
        "/accounting/payments/new": "accounting.payment.manage",
    }
    for path, permission in refused.items():
        response = submit(viewer, path, {"amount": "1.00"}, form_page=f"/accounting/invoices/{draft}")
        assert_forbidden(response, permission)
    assert_forbidden(viewer.get("/accounting/invoices/new"), "accounting.invoice.manage")
    assert (count(ext, Invoice), count(ext, Payment)) == (2, 0)
    assert state_of(ext, draft)[0] == "draft"


def test_a_clerk_without_the_post_permission_saves_drafts_only(make_client, ext, customer, tax):
    clerk = make_client("clerk@test.example", permissions=("accounting.view", "accounting.invoice.manage"))
    form = clerk.get("/accounting/invoices/new")
    assert "Save draft" in visible(form) and "Save and post" not in visible(form)
    response = submit(
        clerk, "/accounting/invoices/new", invoice_form(customer, [consulting(tax)], action="post")
    )
    assert_forbidden(response, "accounting.invoice.post")
    assert count(ext, Invoice) == 0
    invoice_id = created_id(submit(clerk, "/accounting/invoices/new", invoice_form(customer, [consulting()])))
    detail = visible(clerk.get(f"/accounting/invoices/{invoice_id}"))
    assert "Edit" in detail.split() and "Post" not in detail.split()


def test_user_supplied_text_is_escaped_everywhere(admin_client, session, make_invoice):
    evil = contact_service.create_contact(session, kind="organization", name="<b>Evil</b> & Co").id
    session.commit()
    invoice = make_invoice(
        evil,
        reference='"><img src=x>',
        notes="<i>note</i>",
        lines=[{"description": "<script>alert(1)</script>", "quantity": "1", "unit_price": "10.00"}],
    )
    for path in (
        f"/accounting/invoices/{invoice.id}",
        f"/accounting/invoices/{invoice.id}/print",
        "/accounting/invoices",
        f"/contacts/{evil}",
    ):
        html = page(admin_client.get(path))
        assert "<script>alert(1)" not in html, path
        assert "<b>Evil</b>" not in html and "<img src=x>" not in html and "<i>note</i>" not in html, path
        assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html, path
    detail = page(admin_client.get(f"/accounting/invoices/{invoice.id}"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "&lt;i&gt;note&lt;/i&gt;" in detail


# --- contact panel and dashboard ----------------------------------------------------------------------


def test_the_contact_page_shows_the_invoices_and_the_balance_due(
    admin_client, session, posted, customer, vendor
):
    payment_service.register_payment(
        session,
        {
            "bank_journal": "BNK",
            "date": "2026-03-20",
            "allocations": [{"invoice_id": posted.id, "amount": "200.00"}],
        },
    )
    session.commit()
    response = admin_client.get(f"/contacts/{customer}")
    assert response.status_code == 200
    text = visible(response)
    assert "Invoices and bills Balance due to us 1,000.00 We owe 0.00" in text
    assert "INV/2026/0001 Mar 10, 2026 1,200.00 1,000.00 Partially paid Overdue" in text
    assert f'href="/accounting/invoices?contact_id={customer}"' in page(response)
    assert f'href="/accounting/invoices/{posted.id}"' in page(response)
    assert "No invoices or bills for this contact." in visible(admin_client.get(f"/contacts/{vendor}"))


def test_the_contact_panel_is_hidden_without_the_accounting_permission(make_client, posted, customer):
    clerk = make_client("contacts-only@test.example", permissions=("contacts.view",))
    response = clerk.get(f"/contacts/{customer}")
    assert response.status_code == 200
    assert "Invoices and bills" not in visible(response) and "INV/2026/0001" not in visible(response)


def test_the_dashboard_shows_the_profit_and_loss_and_revenue_charts(
    admin_client, customer, vendor, make_invoice
):
    empty = admin_client.get("/")
    assert empty.status_code == 200
    assert 'aria-label="Profit and loss, fiscal year to date"' in page(empty)
    assert 'aria-label="Revenue, last 12 months"' in page(empty)

    today = TODAY.isoformat()
    make_invoice(
        customer, date=today, lines=[{"description": "Sale", "quantity": "1", "unit_price": "900.00"}]
    )
    make_invoice(
        vendor,
        kind="in_invoice",
        date=today,
        lines=[{"description": "Rent", "quantity": "1", "unit_price": "250.00"}],
    )
    html = page(admin_client.get("/"))
    pnl = re.search(
        r'<svg class="chart"[^>]*aria-label="Profit and loss, fiscal year to date".*?</svg>', html, re.S
    )
    assert pnl, "no P&L chart"
    assert "<title>Income: 900.00</title>" in pnl.group(0)
    assert "<title>Expenses: 250.00</title>" in pnl.group(0)
    assert "<title>Profit: 650.00</title>" in pnl.group(0)
    trend = re.search(r'<svg class="chart"[^>]*aria-label="Revenue, last 12 months".*?</svg>', html, re.S)
    assert trend, "no revenue chart"
    assert trend.group(0).count("<circle") == 12
    assert f"<title>{TODAY.strftime('%b %y')}: 900.00</title>" in trend.group(0)


def test_the_dashboard_charts_need_the_report_permission(make_client):
    viewer = make_client("no-reports@test.example", permissions=("accounting.view",))
    response = viewer.get("/")
    assert response.status_code == 200
    assert "Profit and loss, fiscal year to date" not in page(response)
