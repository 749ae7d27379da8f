"""Accounting through the REST API: invoice a customer with tax, take the payments, read the reports,
lock the period; bills, credit notes, payments, taxes, the chart, bank statements; bad input, permissions
and the OpenAPI document following the plugin's state. Figures are computed by hand."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from core.models import JournalEntry
from core.testing import ApiClient
from core.web.guards import access_of
from plugins.accounting.models import Invoice, Payment, Statement, Tax

pytestmark = pytest.mark.plugins("accounting")

API = "/api/v1"
ACC = f"{API}/accounting"


# --- helpers -----------------------------------------------------------------------------------------


def assert_error(response: Any, status: int, code: str | None = None, fields: tuple[str, ...] = ()) -> dict:
    """The response is ``status`` with core's error shape, naming exactly ``fields`` when given."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/json", body
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}, body
    assert isinstance(error["message"], str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    for name in fields:
        assert error["fields"].get(name), body
    assert "Traceback" not in body
    return error


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def counts(ext: Any) -> dict[str, int]:
    """Rows that a refused request must not have written (read in a short session of its own)."""
    with ext.db.session() as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Invoice, JournalEntry, Payment, Statement, Tax)
        }


def create_contact(api: ApiClient, name: str) -> int:
    return ok(api.post(f"{API}/contacts", json={"kind": "organization", "name": name}), 201)["id"]


def tax_id(api: ApiClient, name: str) -> int:
    (tax,) = ok(api.get(f"{ACC}/taxes", query_string={"q": name}))["items"]
    return tax["id"]


def consulting(tax: int | None = None, quantity: str = "2", price: str = "500.00", **extra: Any) -> dict:
    return {"description": "Consulting day", "quantity": quantity, "unit_price": price, "tax": tax, **extra}


def new_invoice(api: ApiClient, contact_id: int, *lines: dict, post: bool = True, **data: Any) -> dict:
    body = {"contact_id": contact_id, "date": "2026-03-10", "lines": list(lines), "post": post, **data}
    return ok(api.post(f"{ACC}/invoices", json=body), 201)


def pay(api: ApiClient, invoice_id: int, amount: str | None = None, date: str = "2026-03-20") -> dict:
    allocation = {"invoice_id": invoice_id, **({"amount": amount} if amount else {})}
    body = {"bank_journal": "BNK", "date": date, "allocations": [allocation]}
    return ok(api.post(f"{ACC}/payments", json=body), 201)


def aged(api: ApiClient, as_of: str, side: str = "receivables") -> dict:
    return ok(api.get(f"{ACC}/reports/aged-{side}", query_string={"as_of": as_of}))


@pytest.fixture
def acme(admin_api: ApiClient) -> int:
    return create_contact(admin_api, "Acme Corporation")


@pytest.fixture
def vat(admin_api: ApiClient) -> int:
    """The seeded "Sales tax 20%" (excluded from prices, posted to 2100)."""
    return tax_id(admin_api, "Sales tax 20%")


@pytest.fixture
def posted(admin_api: ApiClient, acme: int, vat: int) -> dict:
    """INV/2026/0001: 2 x 500.00 + 20% tax = 1200.00, dated 2026-03-10, due 30 days later."""
    return new_invoice(admin_api, acme, consulting(vat))


# --- the story: invoice, payments, reports, lock -----------------------------------------------------


def test_an_accountant_invoices_collects_reports_and_locks_through_the_api(
    admin_api: ApiClient, ext: Any
) -> None:
    customer = create_contact(admin_api, "Acme Corporation")
    vat = tax_id(admin_api, "Sales tax 20%")

    invoice = new_invoice(admin_api, customer, consulting(vat))
    assert invoice["kind"] == "out_invoice" and invoice["state"] == "posted"
    assert invoice["number"] == "INV/2026/0001"
    assert (invoice["untaxed_amount"], invoice["tax_amount"], invoice["total"], invoice["residual"]) == (
        "1000.00",
        "200.00",
        "1200.00",
        "1200.00",
    )
    assert invoice["date"] == "2026-03-10" and invoice["due_date"] == "2026-04-09"  # default: 30 days
    assert invoice["contact_name"] == "Acme Corporation"
    assert re.fullmatch(r"SAL/2026/\d+", invoice["entry_number"]), invoice["entry_number"]
    (line,) = invoice["lines"]
    assert line["quantity"] == "2.0000" and line["unit_price"] == "500.0000"
    assert (line["subtotal"], line["tax_amount"], line["total"]) == ("1000.00", "200.00", "1200.00")
    assert line["account"] == "4000" and line["tax"] == vat and line["tax_name"] == "Sales tax 20%"
    assert ok(admin_api.get(f"{ACC}/invoices/{invoice['id']}")) == invoice

    # A first payment of 500.00: partly paid, 700.00 still due, all of it not yet overdue.
    first = pay(admin_api, invoice["id"], "500.00")
    assert (first["partner_type"], first["direction"], first["bank_journal"]) == (
        "customer",
        "inbound",
        "BNK",
    )
    assert (first["amount"], first["allocated"], first["unallocated"]) == ("500.00", "500.00", "0.00")
    assert [(a["invoice_number"], a["amount"]) for a in first["allocations"]] == [("INV/2026/0001", "500.00")]
    partial = ok(admin_api.get(f"{ACC}/invoices/{invoice['id']}"))
    assert partial["state"] == "partial" and partial["residual"] == "700.00"
    assert [(a["payment_id"], a["amount"]) for a in partial["allocations"]] == [(first["id"], "500.00")]

    report = aged(admin_api, "2026-03-31")
    assert report["buckets"] == ["0-30", "31-60", "61-90", "90+"]
    assert [(r["contact"], r["amounts"], r["total"]) for r in report["rows"]] == [
        ("Acme Corporation", ["700.00", "0.00", "0.00", "0.00"], "700.00")
    ]
    assert report["total"] == "700.00"
    # Due 2026-04-09: on 2026-05-20 it is 41 days overdue.
    later = aged(admin_api, "2026-05-20")
    assert later["rows"][0]["amounts"] == ["0.00", "700.00", "0.00", "0.00"]

    # The rest (the amount defaults to what is left): paid, and nothing is receivable any more.
    second = pay(admin_api, invoice["id"], date="2026-03-25")
    assert second["amount"] == "700.00"
    paid = ok(admin_api.get(f"{ACC}/invoices/{invoice['id']}"))
    assert paid["state"] == "paid" and paid["residual"] == "0.00"
    cleared = aged(admin_api, "2026-03-31")
    assert cleared["rows"] == [] and cleared["total"] == "0.00"
    assert cleared["totals"] == ["0.00", "0.00", "0.00", "0.00"]

    pnl = ok(
        admin_api.get(
            f"{ACC}/reports/profit-and-loss",
            query_string={"date_from": "2026-03-01", "date_to": "2026-03-31"},
        )
    )
    assert [(r["code"], r["name"], r["amount"], r["previous"]) for r in pnl["income"]["rows"]] == [
        ("4000", "Sales", "1000.00", "0.00")
    ]
    assert pnl["income"]["total"] == "1000.00" and pnl["expenses"]["rows"] == []
    assert pnl["net_profit"] == "1000.00" and pnl["previous_net_profit"] == "0.00"
    assert (pnl["previous_from"], pnl["previous_to"]) == ("2026-02-01", "2026-02-28")

    sheet = ok(
        admin_api.get(
            f"{ACC}/reports/balance-sheet", query_string={"date_from": "2026-03-01", "date_to": "2026-03-31"}
        )
    )
    # Bank 1200.00 received; receivable 1200.00 - 500.00 - 700.00 = 0 (not shown); VAT 200.00 owed.
    assert [(r["code"], r["amount"]) for r in sheet["assets"]["rows"]] == [("1100", "1200.00")]
    assert [(r["code"], r["amount"]) for r in sheet["liabilities"]["rows"]] == [("2100", "200.00")]
    assert [(r["name"], r["amount"]) for r in sheet["equity"]["rows"]] == [
        ("Current year earnings", "1000.00")
    ]
    assert sheet["total_assets"] == "1200.00" and sheet["liabilities_and_equity"] == "1200.00"
    assert sheet["previous_total_assets"] == "0.00" and sheet["previous_date"] == "2026-02-28"
    assert sheet["balanced"] is True

    # Lock March: a posting dated in it is refused, and nothing at all is stored.
    assert ok(admin_api.put(f"{ACC}/lock-date", json={"lock_date": "2026-03-31"})) == {
        "lock_date": "2026-03-31"
    }
    assert ok(admin_api.get(f"{ACC}/lock-date")) == {"lock_date": "2026-03-31"}
    before = counts(ext)
    body = {"contact_id": customer, "date": "2026-03-15", "lines": [consulting(vat)], "post": True}
    error = assert_error(admin_api.post(f"{ACC}/invoices", json=body), 422, "validation_error", ("date",))
    assert "2026-03-31" in error["fields"]["date"][0]
    assert counts(ext) == before
    assert len(ok(admin_api.get(f"{ACC}/invoices"))["items"]) == 1
    # After the lock date posting works, and the refused attempt used no number.
    april = new_invoice(admin_api, customer, consulting(vat), date="2026-04-02")
    assert april["number"] == "INV/2026/0002"


def test_posting_a_draft_dated_in_a_locked_period_leaves_it_a_draft(
    admin_api: ApiClient, ext: Any, acme: int, vat: int
) -> None:
    draft = new_invoice(admin_api, acme, consulting(vat), post=False)
    assert draft["state"] == "draft" and draft["number"] is None and draft["entry_number"] is None
    ok(admin_api.put(f"{ACC}/lock-date", json={"lock_date": "2026-03-31"}))
    before = counts(ext)
    assert_error(admin_api.post(f"{ACC}/invoices/{draft['id']}/post"), 422, "validation_error", ("date",))
    assert counts(ext) == before
    again = ok(admin_api.get(f"{ACC}/invoices/{draft['id']}"))
    assert again["state"] == "draft" and again["number"] is None
    # Unlocking (null) lets it through.
    assert ok(admin_api.put(f"{ACC}/lock-date", json={"lock_date": None})) == {"lock_date": None}
    assert ok(admin_api.post(f"{ACC}/invoices/{draft['id']}/post"))["number"] == "INV/2026/0001"


@pytest.mark.parametrize(
    "body",
    [{}, {"lock_date": "31/03/2026"}, {"lock_date": "2026-03-31", "year": 2026}, {"lock_date": 20260331}],
)
def test_lock_date_bodies_are_validated(admin_api: ApiClient, body: dict) -> None:
    error = assert_error(admin_api.put(f"{ACC}/lock-date", json=body), 422, "validation_error")
    assert set(error["fields"]) <= {"lock_date", "year"} and error["fields"]
    assert ok(admin_api.get(f"{ACC}/lock-date")) == {"lock_date": None}


# --- bad input: a field error, and nothing stored ---------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": [consulting(quantity="-1")]}, "lines.0.quantity"),
        ({"lines": [consulting(quantity="0")]}, "lines.0.quantity"),
        ({"lines": [consulting(quantity="abc")]}, "lines.0.quantity"),
        ({"lines": [consulting(tax=987654)]}, "lines.0.tax"),
        ({"lines": [consulting(tax="Sales tax 20%")]}, "lines.0.tax"),
        ({"lines": [consulting(account="9999")]}, "lines.0.account"),
        ({"lines": [consulting(price="1e30")]}, "lines.0.unit_price"),
        ({"lines": [consulting(price="10.123456")]}, "lines.0.unit_price"),
        ({"lines": [consulting(colour="red")]}, "lines.0.colour"),
        ({"lines": [{"quantity": "1", "unit_price": "10"}]}, "lines.0.description"),
        ({"lines": [consulting(description="bad\x00text")]}, "lines"),
        ({"discount": "5"}, "discount"),
        ({"number": "INV/2026/9999"}, "number"),
        ({"kind": "in_invoice"}, "kind"),
        ({"contact_id": 987654}, "contact_id"),
        ({"contact_id": 10**30}, "contact_id"),
        ({"contact_id": "abc"}, "contact_id"),
        ({"date": "2026-13-45"}, "date"),
        ({"date": "0001-01-01"}, "date"),
        ({"due_date": "2026-03-01"}, "due_date"),
        ({"payment_term_id": 987654}, "payment_term_id"),
        ({"post": "maybe"}, "post"),
    ],
)
def test_bad_invoices_are_refused_with_the_field_and_nothing_is_stored(
    admin_api: ApiClient, ext: Any, acme: int, change: dict, field: str
) -> None:
    body = {"contact_id": acme, "date": "2026-03-10", "lines": [consulting()], "post": True, **change}
    before = counts(ext)
    assert_error(admin_api.post(f"{ACC}/invoices", json=body), 422, "validation_error", (field,))
    assert counts(ext) == before


def test_a_purchase_tax_is_refused_on_an_invoice(admin_api: ApiClient, ext: Any, acme: int) -> None:
    before = counts(ext)
    body = {"contact_id": acme, "lines": [consulting(tax_id(admin_api, "Purchase tax 20%"))], "post": True}
    error = assert_error(admin_api.post(f"{ACC}/invoices", json=body), 422, fields=("lines.0.tax",))
    assert "sale tax" in error["fields"]["lines.0.tax"][0]
    assert counts(ext) == before


def test_paying_more_than_the_residual_is_refused(admin_api: ApiClient, ext: Any, posted: dict) -> None:
    before = counts(ext)
    body = {"bank_journal": "BNK", "allocations": [{"invoice_id": posted["id"], "amount": "1200.01"}]}
    error = assert_error(
        admin_api.post(f"{ACC}/payments", json=body), 422, "validation_error", ("allocations.0.amount",)
    )
    assert "1200.00" in error["fields"]["allocations.0.amount"][0]
    assert counts(ext) == before
    again = ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))
    assert again["state"] == "posted" and again["residual"] == "1200.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"bank_journal": "NOPE"}, "bank_journal"),
        ({"bank_journal": "SAL"}, "bank_journal"),  # a journal, but not a bank or cash one
        ({"bank_journal": True}, "bank_journal"),
        ({"allocations": [{"invoice_id": 987654}]}, "allocations.0.invoice_id"),
        ({"allocations": [{"invoice_id": "1"}]}, "allocations.0.invoice_id"),
        ({"allocations": [{"amount": "10"}]}, "allocations.0.invoice_id"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "10.5"}, "amount"),  # less than the 1200.00 allocated
        ({"date": "yesterday"}, "date"),
        ({"tip": "5"}, "tip"),
    ],
)
def test_bad_payments_are_refused(
    admin_api: ApiClient, ext: Any, posted: dict, body: dict, field: str
) -> None:
    payment = {"bank_journal": "BNK", "allocations": [{"invoice_id": posted["id"]}], **body}
    before = counts(ext)
    assert_error(admin_api.post(f"{ACC}/payments", json=payment), 422, "validation_error", (field,))
    assert counts(ext) == before


def test_a_payment_on_account_needs_its_contact_and_direction(admin_api: ApiClient, ext: Any) -> None:
    before = counts(ext)
    error = assert_error(
        admin_api.post(f"{ACC}/payments", json={"bank_journal": "BNK", "amount": "10.00"}), 422
    )
    assert {"partner_type", "direction", "contact_id"} <= set(error["fields"])
    assert counts(ext) == before


def test_a_posted_invoice_cannot_be_edited_or_deleted(admin_api: ApiClient, ext: Any, posted: dict) -> None:
    before = counts(ext)
    path = f"{ACC}/invoices/{posted['id']}"
    error = assert_error(admin_api.patch(path, json={"reference": "PO-1"}), 409, "conflict", ("state",))
    assert "INV/2026/0001" in error["message"]
    assert_error(admin_api.patch(path, json={"lines": [consulting(quantity="5")]}), 409, "conflict")
    assert_error(admin_api.delete(path), 409, "conflict", ("state",))
    assert_error(admin_api.post(f"{path}/post"), 409, "conflict")
    assert counts(ext) == before
    assert ok(admin_api.get(path)) == posted


def test_a_draft_is_edited_posted_or_deleted(admin_api: ApiClient, acme: int, vat: int) -> None:
    draft = new_invoice(admin_api, acme, consulting(vat), post=False, reference="PO-7")
    path = f"{ACC}/invoices/{draft['id']}"
    assert draft["state"] == "draft" and draft["total"] == "1200.00" and draft["reference"] == "PO-7"

    lines = [consulting(vat, quantity="3", price="100.00"), consulting(None, quantity="1", price="50.50")]
    changed = ok(admin_api.patch(path, json={"lines": lines, "notes": "Thanks", "due_date": "2026-03-31"}))
    # 300.00 + 60.00 tax, plus 50.50 untaxed.
    assert (changed["untaxed_amount"], changed["tax_amount"], changed["total"]) == (
        "350.50",
        "60.00",
        "410.50",
    )
    assert changed["notes"] == "Thanks" and changed["due_date"] == "2026-03-31"
    assert [line["tax"] for line in changed["lines"]] == [vat, None]
    assert ok(admin_api.get(path))["total"] == "410.50"

    for body, field in [
        ({"kind": "out_refund"}, "kind"),
        ({"state": "paid"}, "state"),
        ({"total": "1.00"}, "total"),
        ({"lines": [consulting(quantity="-2")]}, "lines.0.quantity"),
        ({"contact_id": 987654}, "contact_id"),
    ]:
        assert_error(admin_api.patch(path, json=body), 422, "validation_error", (field,))
    assert ok(admin_api.get(path))["total"] == "410.50"

    posted = ok(admin_api.post(f"{path}/post"))
    assert posted["state"] == "posted" and posted["number"] == "INV/2026/0001"

    other = new_invoice(admin_api, acme, consulting(vat), post=False)
    assert admin_api.delete(f"{ACC}/invoices/{other['id']}").status_code == 204
    assert_error(admin_api.get(f"{ACC}/invoices/{other['id']}"), 404, "not_found")


def test_posting_a_draft_without_lines_is_refused(admin_api: ApiClient, ext: Any, acme: int) -> None:
    draft = new_invoice(admin_api, acme, post=False)
    assert draft["lines"] == [] and draft["total"] == "0.00"
    before = counts(ext)
    assert_error(admin_api.post(f"{ACC}/invoices/{draft['id']}/post"), 422, "validation_error", ("lines",))
    assert counts(ext) == before
    assert ok(admin_api.get(f"{ACC}/invoices/{draft['id']}"))["state"] == "draft"


# --- collections, credit notes, bills -----------------------------------------------------------------------


def test_invoices_and_bills_are_separate_collections(admin_api: ApiClient, acme: int, vat: int) -> None:
    vendor = create_contact(admin_api, "Initech Supplies")
    purchase = tax_id(admin_api, "Purchase tax 20%")
    bill = ok(
        admin_api.post(
            f"{ACC}/bills",
            json={
                "contact_id": vendor,
                "date": "2026-03-05",
                "reference": "INITECH-88",
                "lines": [
                    {
                        "description": "Paper",
                        "quantity": "10",
                        "unit_price": "12.50",
                        "tax": purchase,
                        "account": "6100",
                    },
                ],
                "post": True,
            },
        ),
        201,
    )
    assert bill["kind"] == "in_invoice" and bill["number"] == "BILL/2026/0001"
    assert (bill["untaxed_amount"], bill["tax_amount"], bill["total"]) == ("125.00", "25.00", "150.00")
    assert bill["lines"][0]["account"] == "6100"
    invoice = new_invoice(admin_api, acme, consulting(vat))

    assert_error(admin_api.get(f"{ACC}/invoices/{bill['id']}"), 404, "not_found")
    assert_error(admin_api.get(f"{ACC}/bills/{invoice['id']}"), 404, "not_found")
    assert_error(admin_api.patch(f"{ACC}/bills/{invoice['id']}", json={"notes": "x"}), 404)
    assert_error(admin_api.post(f"{ACC}/bills/{invoice['id']}/credit-note", json={}), 404)
    assert [i["number"] for i in ok(admin_api.get(f"{ACC}/invoices"))["items"]] == ["INV/2026/0001"]
    assert [b["number"] for b in ok(admin_api.get(f"{ACC}/bills"))["items"]] == ["BILL/2026/0001"]
    wrong = {"contact_id": vendor, "kind": "out_invoice", "lines": [consulting()]}
    assert_error(admin_api.post(f"{ACC}/bills", json=wrong), 422, "validation_error", ("kind",))

    payables = aged(admin_api, "2026-03-31", "payables")
    assert [(r["contact"], r["total"]) for r in payables["rows"]] == [("Initech Supplies", "150.00")]
    paid = ok(
        admin_api.post(
            f"{ACC}/payments", json={"bank_journal": "BNK", "allocations": [{"invoice_id": bill["id"]}]}
        ),
        201,
    )
    assert (paid["partner_type"], paid["direction"], paid["amount"]) == ("vendor", "outbound", "150.00")
    assert ok(admin_api.get(f"{ACC}/bills/{bill['id']}"))["state"] == "paid"


def test_a_credit_note_reverses_an_invoice(admin_api: ApiClient, ext: Any, posted: dict) -> None:
    path = f"{ACC}/invoices/{posted['id']}/credit-note"
    draft = ok(admin_api.post(path, json={"date": "2026-03-12", "reason": "Wrong rate"}), 201)
    assert draft["kind"] == "out_refund" and draft["state"] == "draft" and draft["number"] is None
    assert draft["refund_of_id"] == posted["id"] and draft["total"] == "1200.00"
    assert draft["notes"] == "Wrong rate" and draft["reference"] == "INV/2026/0001"
    assert admin_api.delete(f"{ACC}/invoices/{draft['id']}").status_code == 204

    credit = ok(admin_api.post(path, json={"date": "2026-03-12", "post": True}), 201)
    assert credit["number"] == "RINV/2026/0001" and credit["state"] == "paid"
    assert credit["residual"] == "0.00"
    original = ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))
    assert original["state"] == "credited" and original["residual"] == "0.00"
    assert [(a["credit_note_id"], a["amount"]) for a in original["allocations"]] == [
        (credit["id"], "1200.00")
    ]
    assert aged(admin_api, "2026-03-31")["rows"] == []

    before = counts(ext)
    assert_error(admin_api.post(f"{ACC}/invoices/{credit['id']}/credit-note", json={}), 409, "conflict")
    assert_error(admin_api.post(path, json={"date": "soon"}), 422, fields=("date",))
    assert_error(admin_api.post(path, json={"reason": "x" * 501}), 422, fields=("reason",))
    assert counts(ext) == before


def test_a_credit_note_of_a_draft_is_refused(admin_api: ApiClient, ext: Any, acme: int) -> None:
    draft = new_invoice(admin_api, acme, consulting(), post=False)
    before = counts(ext)
    assert_error(
        admin_api.post(f"{ACC}/invoices/{draft['id']}/credit-note", json={}), 409, "conflict", ("state",)
    )
    assert counts(ext) == before


def test_invoice_lists_filter_sort_and_page(admin_api: ApiClient, acme: int, vat: int) -> None:
    other = create_contact(admin_api, "Globex")
    made = [
        new_invoice(admin_api, acme, consulting(vat, quantity="1"), date="2026-03-01"),
        new_invoice(admin_api, other, consulting(vat, quantity="3"), date="2026-03-05"),
        new_invoice(admin_api, acme, consulting(vat, quantity="2"), date="2026-03-03", post=False),
        new_invoice(admin_api, other, consulting(vat, quantity="4"), date="2026-04-01", reference="PO-99"),
        new_invoice(admin_api, acme, consulting(vat, quantity="5"), date="2026-02-20"),
    ]
    ids = {invoice["id"]: invoice for invoice in made}

    def listed(**query: Any) -> list[int]:
        page = ok(admin_api.get(f"{ACC}/invoices", query_string=query))
        assert set(page) == {"items", "next_cursor"}
        return [item["id"] for item in page["items"]]

    newest_first = [made[i]["id"] for i in (3, 1, 2, 0, 4)]
    assert listed() == newest_first
    assert listed(sort="date") == newest_first[::-1]
    assert listed(state="draft") == [made[2]["id"]]
    assert listed(contact_id=other) == [made[3]["id"], made[1]["id"]]
    assert listed(q="globex") == [made[3]["id"], made[1]["id"]]
    assert listed(q="po-99") == [made[3]["id"]]
    assert listed(date_from="2026-03-01", date_to="2026-03-31") == [made[i]["id"] for i in (1, 2, 0)]
    assert listed(sort="-total") == [made[i]["id"] for i in (4, 3, 1, 2, 0)]
    assert listed(sort="number") == [made[i]["id"] for i in (0, 1, 3, 4, 2)]  # the draft has none

    walked: list[int] = []
    cursor = None
    for _page in range(10):
        page = ok(
            admin_api.get(
                f"{ACC}/invoices", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        )
        assert len(page["items"]) <= 2
        walked += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == newest_first

    # Paging sorted by an amount: the cursor carries a Decimal and must be accepted.
    by_total: list[int] = []
    cursor = None
    for _page in range(10):
        query = {"limit": 2, "sort": "-total", **({"cursor": cursor} if cursor else {})}
        page = ok(admin_api.get(f"{ACC}/invoices", query_string=query))
        by_total += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert by_total == [made[i]["id"] for i in (4, 3, 1, 2, 0)]
    summary = ok(admin_api.get(f"{ACC}/invoices", query_string={"limit": 1}))["items"][0]
    assert "lines" not in summary and summary["total"] == ids[summary["id"]]["total"]


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "colour"},
        {"sort": "-"},
        {"state": "lost"},
        {"contact_id": "abc"},
        {"contact_id": str(10**30)},
        {"limit": "0"},
        {"limit": "many"},
        {"cursor": "not-a-cursor"},
        {"date_from": "March"},
        {"q": "x\x00y"},
    ],
)
def test_list_parameters_are_validated(admin_api: ApiClient, query: dict) -> None:
    for collection in ("invoices", "bills", "payments"):
        if collection == "payments" and set(query) & {"state", "date_from"}:
            continue
        error = assert_error(
            admin_api.get(f"{ACC}/{collection}", query_string=query), 422, "validation_error"
        )
        assert set(error["fields"]) == set(query), error


# --- payments -----------------------------------------------------------------------------------------------


def test_a_payment_on_account_is_allocated_unreconciled_and_cancelled(
    admin_api: ApiClient, ext: Any, acme: int, posted: dict
) -> None:
    payment = ok(
        admin_api.post(
            f"{ACC}/payments",
            json={
                "bank_journal": "BNK",
                "date": "2026-03-15",
                "amount": "300.00",
                "reference": "Wire 42",
                "contact_id": acme,
                "partner_type": "customer",
                "direction": "inbound",
            },
        ),
        201,
    )
    assert (payment["amount"], payment["allocated"], payment["unallocated"]) == ("300.00", "0.00", "300.00")
    assert payment["allocations"] == [] and payment["reference"] == "Wire 42"
    path = f"{ACC}/payments/{payment['id']}"

    too_much = {"allocations": [{"invoice_id": posted["id"], "amount": "300.01"}]}
    assert_error(admin_api.post(f"{path}/allocate", json=too_much), 422, "validation_error", ("allocations",))
    assert_error(admin_api.post(f"{path}/allocate", json={"allocations": []}), 422, fields=("allocations",))
    allocated = ok(admin_api.post(f"{path}/allocate", json={"allocations": [{"invoice_id": posted["id"]}]}))
    assert (allocated["allocated"], allocated["unallocated"]) == ("300.00", "0.00")
    invoice = ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))
    assert invoice["state"] == "partial" and invoice["residual"] == "900.00"

    unreconciled = ok(admin_api.post(f"{path}/unreconcile"))
    assert unreconciled["allocations"] == [] and unreconciled["unallocated"] == "300.00"
    assert ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))["residual"] == "1200.00"
    assert_error(admin_api.post(f"{path}/unreconcile"), 409, "conflict")

    entries = counts(ext)["JournalEntry"]
    cancelled = ok(admin_api.post(f"{path}/cancel", json={"date": "2026-03-16"}))
    assert cancelled["state"] == "cancelled" and cancelled["unallocated"] == "0.00"
    assert counts(ext)["JournalEntry"] == entries + 1  # the reversal
    assert_error(admin_api.post(f"{path}/cancel", json={}), 409, "conflict")
    assert_error(
        admin_api.post(f"{path}/allocate", json={"allocations": [{"invoice_id": posted["id"]}]}), 409
    )

    listed = ok(admin_api.get(f"{ACC}/payments", query_string={"contact_id": acme}))
    assert [(p["id"], p["state"]) for p in listed["items"]] == [(payment["id"], "cancelled")]
    assert ok(admin_api.get(f"{ACC}/payments", query_string={"partner_type": "vendor"}))["items"] == []


def test_cancelling_a_payment_reopens_its_invoice(admin_api: ApiClient, posted: dict) -> None:
    payment = pay(admin_api, posted["id"])
    assert ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))["state"] == "paid"
    ok(admin_api.post(f"{ACC}/payments/{payment['id']}/cancel"))  # no body: dated as the payment
    invoice = ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))
    assert invoice["state"] == "posted" and invoice["residual"] == "1200.00"
    assert aged(admin_api, "2026-03-31")["total"] == "1200.00"


# --- taxes and the chart of accounts --------------------------------------------------------------------


def test_taxes_are_created_listed_and_changed(admin_api: ApiClient, ext: Any) -> None:
    seeded = ok(admin_api.get(f"{ACC}/taxes"))["items"]
    assert [(t["name"], t["rate"], t["scope"], t["account"]) for t in seeded] == [
        ("Purchase tax 20%", "20.0000", "purchase", "1300"),
        ("Sales tax 20%", "20.0000", "sale", "2100"),
    ]
    reduced = ok(
        admin_api.post(f"{ACC}/taxes", json={"name": "Reduced 5.5%", "rate": "5.5", "account": "2100"}), 201
    )
    assert (reduced["rate"], reduced["scope"], reduced["price_include"], reduced["active"]) == (
        "5.5000",
        "sale",
        False,
        True,
    )
    assert ok(admin_api.get(f"{ACC}/taxes/{reduced['id']}")) == reduced
    changed = ok(
        admin_api.patch(f"{ACC}/taxes/{reduced['id']}", json={"active": False, "price_include": True})
    )
    assert changed["active"] is False and changed["price_include"] is True
    assert [
        t["name"] for t in ok(admin_api.get(f"{ACC}/taxes", query_string={"active": "true"}))["items"]
    ] == [
        "Purchase tax 20%",
        "Sales tax 20%",
    ]
    assert [
        t["name"] for t in ok(admin_api.get(f"{ACC}/taxes", query_string={"scope": "sale"}))["items"]
    ] == [
        "Reduced 5.5%",
        "Sales tax 20%",
    ]

    before = counts(ext)
    for body, status, field in [
        ({"name": "Sales tax 20%", "rate": "20", "account": "2100"}, 409, "name"),
        ({"name": "Luxury", "rate": "150", "account": "2100"}, 422, "rate"),
        ({"name": "Luxury", "rate": "-1", "account": "2100"}, 422, "rate"),
        ({"name": "Luxury", "rate": "abc", "account": "2100"}, 422, "rate"),
        ({"name": "Luxury", "rate": "10", "account": "9999"}, 422, "account"),
        ({"name": "Luxury", "rate": "10", "account": "2100", "scope": "both"}, 422, "scope"),
        ({"name": "", "rate": "10", "account": "2100"}, 422, "name"),
        ({"rate": "10", "account": "2100"}, 422, "name"),
        ({"name": "Luxury", "rate": "10", "account": "2100", "id": 1}, 422, "id"),
    ]:
        assert_error(admin_api.post(f"{ACC}/taxes", json=body), status, fields=(field,))
    assert_error(admin_api.patch(f"{ACC}/taxes/{reduced['id']}", json={"name": "Sales tax 20%"}), 409)
    assert_error(admin_api.patch(f"{ACC}/taxes/{reduced['id']}", json={"rate": "101"}), 422, fields=("rate",))
    assert counts(ext) == before
    assert ok(admin_api.get(f"{ACC}/taxes/{reduced['id']}")) == changed
    assert_error(admin_api.get(f"{ACC}/taxes/987654"), 404, "not_found")
    assert_error(admin_api.patch(f"{ACC}/taxes/{10**25}", json={"active": True}), 404)


def test_an_inactive_tax_is_refused_on_new_lines(admin_api: ApiClient, ext: Any, acme: int, vat: int) -> None:
    ok(admin_api.patch(f"{ACC}/taxes/{vat}", json={"active": False}))
    before = counts(ext)
    body = {"contact_id": acme, "lines": [consulting(vat)], "post": True}
    error = assert_error(admin_api.post(f"{ACC}/invoices", json=body), 422, fields=("lines.0.tax",))
    assert "inactive" in error["fields"]["lines.0.tax"][0]
    assert counts(ext) == before


def test_the_chart_shows_the_tree_with_balances_and_deletes_unused_accounts(
    admin_api: ApiClient, posted: dict
) -> None:
    chart = ok(admin_api.get(f"{ACC}/accounts"))
    assert chart["next_cursor"] is None
    by_code = {a["code"]: a for a in chart["items"]}
    codes = [a["code"] for a in chart["items"]]
    assert codes.index("5") < codes.index("5000") < codes.index("6")  # children follow their parent
    assert (by_code["5000"]["parent"], by_code["5000"]["depth"], by_code["5"]["depth"]) == ("5", 1, 0)
    assert by_code["1200"]["balance"] == "1200.00" and by_code["1200"]["has_postings"] is True
    assert by_code["4000"]["balance"] == "-1000.00" and by_code["2100"]["balance"] == "-200.00"
    assert by_code["6800"]["balance"] == "0.00" and by_code["6800"]["has_postings"] is False
    assert by_code["1100"]["type"] == "asset" and by_code["1100"]["active"] is True

    assert admin_api.delete(f"{ACC}/accounts/6800").status_code == 204
    assert "6800" not in [a["code"] for a in ok(admin_api.get(f"{ACC}/accounts"))["items"]]
    assert_error(admin_api.delete(f"{ACC}/accounts/4000"), 409, "conflict", ("account",))  # has postings
    assert_error(admin_api.delete(f"{ACC}/accounts/6"), 409, "conflict", ("account",))  # has sub-accounts
    assert_error(admin_api.delete(f"{ACC}/accounts/1300"), 409, "conflict")  # a tax posts to it
    assert_error(admin_api.delete(f"{ACC}/accounts/9999"), 404, "not_found")
    codes_after = {a["code"] for a in ok(admin_api.get(f"{ACC}/accounts"))["items"]}
    assert {"4000", "6", "1300"} <= codes_after


# --- reports ------------------------------------------------------------------------------------------------


def test_trial_balance_and_general_ledger(admin_api: ApiClient, posted: dict) -> None:
    pay(admin_api, posted["id"], "500.00")
    trial = ok(admin_api.get(f"{ACC}/reports/trial-balance", query_string={"date_to": "2026-03-31"}))
    rows = {r["account"]: (r["debit"], r["credit"], r["balance"]) for r in trial["rows"]}
    assert rows["1100"] == ("500.00", "0.00", "500.00")
    assert rows["1200"] == ("1200.00", "500.00", "700.00")
    assert rows["2100"] == ("0.00", "200.00", "-200.00")
    assert rows["4000"] == ("0.00", "1000.00", "-1000.00")
    assert trial["total_debit"] == trial["total_credit"] == "1700.00"
    assert trial["date_to"] == "2026-03-31" and trial["date_from"] is None
    february = ok(admin_api.get(f"{ACC}/reports/trial-balance", query_string={"date_to": "2026-02-28"}))
    assert february["total_debit"] == "0.00"

    ledger = ok(
        admin_api.get(
            f"{ACC}/reports/general-ledger",
            query_string={"account": "1200", "date_from": "2026-03-01", "date_to": "2026-03-31"},
        )
    )
    assert ledger["account"] == {"code": "1200", "name": "Accounts receivable", "type": "asset"}
    assert [(line["date"], line["debit"], line["credit"], line["balance"]) for line in ledger["lines"]] == [
        ("2026-03-10", "1200.00", "0.00", "1200.00"),
        ("2026-03-20", "0.00", "500.00", "700.00"),
    ]
    assert ledger["lines"][0]["contact"] == "Acme Corporation"
    assert (ledger["opening"], ledger["closing"]) == ("0.00", "700.00")
    after = ok(
        admin_api.get(
            f"{ACC}/reports/general-ledger", query_string={"account": "1200", "date_from": "2026-03-15"}
        )
    )
    assert after["opening"] == "1200.00" and len(after["lines"]) == 1 and after["closing"] == "700.00"


def test_profit_and_loss_compares_with_the_previous_period(admin_api: ApiClient, acme: int, vat: int) -> None:
    vendor = create_contact(admin_api, "Initech Supplies")
    new_invoice(admin_api, acme, consulting(vat), date="2026-02-14")  # 1000.00 in February
    new_invoice(admin_api, acme, consulting(vat, quantity="3"), date="2026-03-10")  # 1500.00 in March
    ok(
        admin_api.post(
            f"{ACC}/bills",
            json={
                "contact_id": vendor,
                "date": "2026-03-02",
                "lines": [
                    {"description": "Rent", "quantity": "1", "unit_price": "400.00", "account": "6000"}
                ],
                "post": True,
            },
        ),
        201,
    )
    pnl = ok(
        admin_api.get(
            f"{ACC}/reports/profit-and-loss",
            query_string={"date_from": "2026-03-01", "date_to": "2026-03-31"},
        )
    )
    assert [(r["code"], r["amount"], r["previous"]) for r in pnl["income"]["rows"]] == [
        ("4000", "1500.00", "1000.00")
    ]
    assert [(r["code"], r["amount"], r["previous"]) for r in pnl["expenses"]["rows"]] == [
        ("6000", "400.00", "0.00")
    ]
    assert (pnl["net_profit"], pnl["previous_net_profit"]) == ("1100.00", "1000.00")

    sheet = ok(admin_api.get(f"{ACC}/reports/balance-sheet", query_string={"date_to": "2026-03-31"}))
    # Receivable 1200.00 + 1800.00; VAT payable 200.00 + 300.00, payable 400.00; earnings 2500.00 - 400.00.
    assert [(r["code"], r["amount"]) for r in sheet["assets"]["rows"]] == [("1200", "3000.00")]
    assert [(r["code"], r["amount"]) for r in sheet["liabilities"]["rows"]] == [
        ("2000", "400.00"),
        ("2100", "500.00"),
    ]
    assert sheet["equity"]["total"] == "2100.00"
    assert sheet["total_assets"] == sheet["liabilities_and_equity"] == "3000.00"
    assert sheet["previous_date"] == "2025-03-31" and sheet["balanced"] is True


@pytest.mark.parametrize(
    ("path", "query", "status", "field"),
    [
        ("profit-and-loss", {}, 422, "date_from"),
        ("profit-and-loss", {"date_from": "2026-03-01"}, 422, "date_to"),
        ("profit-and-loss", {"date_from": "2026-04-01", "date_to": "2026-03-01"}, 422, "date_from"),
        ("profit-and-loss", {"date_from": "0001-01-01", "date_to": "0001-01-31"}, 422, "date_from"),
        ("trial-balance", {"date_from": "2026-04-01", "date_to": "2026-03-01"}, 422, "date_from"),
        ("trial-balance", {"date_to": "31.03.2026"}, 422, "date_to"),
        ("general-ledger", {}, 422, "account"),
        ("general-ledger", {"account": "9999"}, 404, None),
        ("general-ledger", {"account": "1200", "date_from": "x"}, 422, "date_from"),
        ("balance-sheet", {"date_to": "0001-01-01"}, 422, "date_to"),
        ("balance-sheet", {"date_to": "2026-03-31", "date_from": "2026-04-01"}, 422, "date_from"),
        ("aged-receivables", {"as_of": "0001-01-05"}, 422, "as_of"),
        ("aged-payables", {"as_of": "9999-12-31"}, 422, "as_of"),
    ],
)
def test_report_parameters_are_validated(
    admin_api: ApiClient, path: str, query: dict, status: int, field: str | None
) -> None:
    error = assert_error(admin_api.get(f"{ACC}/reports/{path}", query_string=query), status)
    if field is not None:
        assert field in error["fields"], error


# --- bank statements ---------------------------------------------------------------------------------------


def test_a_statement_is_imported_matched_and_booked(admin_api: ApiClient, posted: dict) -> None:
    csv = (
        "date,description,amount\n"
        "2026-03-21,Payment INV/2026/0001 Acme,1200.00\n"
        "2026-03-31,Monthly bank fee,-12.50\n"
    )
    statement = ok(
        admin_api.post(f"{ACC}/statements", json={"bank_journal": "BNK", "name": "March", "csv": csv}), 201
    )
    assert statement["name"] == "March" and statement["bank_journal"] == "BNK"
    incoming, fee = statement["lines"]
    assert (incoming["date"], incoming["amount"], incoming["state"]) == ("2026-03-21", "1200.00", "open")
    assert [(s["invoice_id"], s["number"], s["reason"]) for s in incoming["suggestions"]] == [
        (posted["id"], "INV/2026/0001", "reference")
    ]
    assert fee["amount"] == "-12.50" and fee["suggestions"] == []

    base = f"{ACC}/statements/{statement['id']}/lines"
    matched = ok(admin_api.post(f"{base}/{incoming['id']}/match", json={"invoice_id": posted["id"]}))
    assert matched["state"] == "matched" and matched["payment_id"] and matched["suggestions"] == []
    assert ok(admin_api.get(f"{ACC}/invoices/{posted['id']}"))["state"] == "paid"
    assert_error(admin_api.post(f"{base}/{incoming['id']}/match", json={"invoice_id": posted["id"]}), 409)

    assert_error(
        admin_api.post(f"{base}/{fee['id']}/book", json={"account": "9999"}), 422, fields=("account",)
    )
    booked = ok(admin_api.post(f"{base}/{fee['id']}/book", json={"account": "6700", "memo": "Fee"}))
    assert booked["state"] == "booked" and booked["entry_id"]
    fees = ok(admin_api.get(f"{ACC}/reports/general-ledger", query_string={"account": "6700"}))
    assert [(line["debit"], line["memo"]) for line in fees["lines"]] == [("12.50", "Fee")]
    assert [line["state"] for line in ok(admin_api.get(f"{ACC}/statements/{statement['id']}"))["lines"]] == [
        "matched",
        "booked",
    ]

    other = ok(
        admin_api.post(f"{ACC}/statements", json={"bank_journal": "CSH", "csv": "2026-03-02,Cash,5"}), 201
    )
    assert_error(
        admin_api.post(f"{ACC}/statements/{other['id']}/lines/{fee['id']}/book", json={"account": "6700"}),
        404,
    )
    assert_error(admin_api.get(f"{ACC}/statements/987654"), 404, "not_found")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"csv": "2026-03-01,Fee,abc\n"}, "rows.1.amount"),
        ({"csv": "date,description,amount\n2026-03-01,Fee,-1\n2026-02-30,Fee,2\n"}, "rows.3.date"),
        ({"csv": "2026-03-01,Fee\n"}, "rows.1"),
        ({"csv": "2026-03-01,Fee,0\n"}, "rows.1.amount"),
        ({"csv": "   "}, "csv"),
        ({"csv": "2026-03-01,Fee,1", "bank_journal": "SAL"}, "bank_journal"),
        ({"csv": "2026-03-01,Fee,1", "bank_journal": 10**30}, "bank_journal"),
        ({"csv": 42}, "csv"),
        ({"csv": "2026-03-01,Fee,1", "format": "ofx"}, "format"),
    ],
)
def test_bad_statements_are_refused_whole(admin_api: ApiClient, ext: Any, body: dict, field: str) -> None:
    before = counts(ext)
    assert_error(
        admin_api.post(f"{ACC}/statements", json={"bank_journal": "BNK", **body}),
        422,
        "validation_error",
        (field,),
    )
    assert counts(ext) == before


# --- documents ------------------------------------------------------------------------------------------


def test_an_invoice_downloads_as_a_pdf_with_its_lines_and_totals(admin_api: ApiClient, posted: dict) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    response = admin_api.get(f"{ACC}/invoices/{posted['id']}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="INV-2026-0001.pdf"' in response.headers["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    for expected in (
        "Test Company",
        "Acme Corporation",
        "INV/2026/0001",
        "Consulting day",
        "1,200.00",
        "200.00",
    ):
        assert expected in text, (expected, text)
    assert_error(admin_api.get(f"{ACC}/bills/{posted['id']}/pdf"), 404, "not_found")


# --- permissions ------------------------------------------------------------------------------------------

EXPECTED_PERMISSIONS = {
    "accounts_list": "accounting.view",
    "accounts_delete": "ledger.account.manage",
    "taxes_list": "accounting.view",
    "taxes_create": "accounting.settings",
    "taxes_get": "accounting.view",
    "taxes_update": "accounting.settings",
    **{
        f"{collection}_{action}": code
        for collection in ("invoices", "bills")
        for action, code in {
            "list": "accounting.view",
            "create": "accounting.invoice.manage",
            "get": "accounting.view",
            "update": "accounting.invoice.manage",
            "delete": "accounting.invoice.manage",
            "post": "accounting.invoice.post",
            "credit_note": "accounting.invoice.manage",
            "apply": "accounting.payment.manage",
            "pdf": "accounting.view",
        }.items()
    },
    "payments_list": "accounting.view",
    "payments_create": "accounting.payment.manage",
    "payments_get": "accounting.view",
    "payments_unreconcile": "accounting.payment.manage",
    "payments_allocate": "accounting.payment.manage",
    "payments_cancel": "accounting.payment.manage",
    "report_trial_balance": "accounting.report.view",
    "report_general_ledger": "accounting.report.view",
    "report_profit_and_loss": "accounting.report.view",
    "report_balance_sheet": "accounting.report.view",
    "report_aged_receivables": "accounting.report.view",
    "report_aged_payables": "accounting.report.view",
    "statements_import": "accounting.payment.manage",
    "statements_get": "accounting.view",
    "statements_match": "accounting.payment.manage",
    "statements_book": "accounting.payment.manage",
    "lock_date_get": "accounting.view",
    "lock_date_set": "accounting.period.lock",
}


def test_every_endpoint_declares_its_accounting_permission(app: Any) -> None:
    declared = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("accounting_api."):
            view = app.view_functions[rule.endpoint]
            assert access_of(view) == "permission", rule.rule
            declared[rule.endpoint.removeprefix("accounting_api.")] = view.officium_permission
    assert declared == EXPECTED_PERMISSIONS


def test_every_endpoint_needs_a_bearer_token(app: Any, client: Any, posted: dict) -> None:
    checked = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("accounting_api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", "1", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert_error(getattr(client, method.lower())(path, json={}), 401, "unauthorized")
        checked.add(rule.endpoint.removeprefix("accounting_api."))
    assert checked == set(EXPECTED_PERMISSIONS)
    bad_token = client.get(f"{ACC}/invoices/{posted['id']}", headers={"Authorization": "Bearer nope"})
    assert_error(bad_token, 401, "unauthorized")


def test_each_permission_area_is_enforced(
    make_api_client: Any, admin_api: ApiClient, ext: Any, posted: dict
) -> None:
    nobody = make_api_client("nobody@test.example", permissions=("contacts.view",))
    assert assert_error(nobody.get(f"{ACC}/invoices"), 403, "permission_denied")["message"] == (
        "needs accounting.view"
    )
    assert assert_error(nobody.get(f"{ACC}/accounts"), 403)["message"] == "needs accounting.view"

    viewer = make_api_client("viewer@test.example", permissions=("accounting.view",))
    assert ok(viewer.get(f"{ACC}/invoices/{posted['id']}"))["number"] == "INV/2026/0001"
    before = counts(ext)
    body = {"contact_id": posted["contact_id"], "lines": [consulting()]}
    assert (
        assert_error(viewer.post(f"{ACC}/invoices", json=body), 403)["message"]
        == "needs accounting.invoice.manage"
    )
    assert (
        assert_error(viewer.get(f"{ACC}/reports/trial-balance"), 403)["message"]
        == "needs accounting.report.view"
    )
    assert (
        assert_error(viewer.post(f"{ACC}/payments", json={"bank_journal": "BNK"}), 403)["message"]
        == "needs accounting.payment.manage"
    )
    assert (
        assert_error(viewer.put(f"{ACC}/lock-date", json={"lock_date": "2026-12-31"}), 403)["message"]
        == "needs accounting.period.lock"
    )
    assert (
        assert_error(viewer.post(f"{ACC}/taxes", json={"name": "T", "rate": "1", "account": "2100"}), 403)[
            "message"
        ]
        == "needs accounting.settings"
    )
    assert (
        assert_error(viewer.delete(f"{ACC}/accounts/6800"), 403)["message"] == "needs ledger.account.manage"
    )
    assert counts(ext) == before
    assert ok(admin_api.get(f"{ACC}/lock-date")) == {"lock_date": None}

    # Drafting without the posting permission: a draft is fine, posting (at once or later) is not.
    clerk = make_api_client(
        "clerk@test.example", permissions=("accounting.view", "accounting.invoice.manage")
    )
    error = assert_error(clerk.post(f"{ACC}/invoices", json={**body, "post": True}), 403, "permission_denied")
    assert error["message"] == "needs accounting.invoice.post"
    assert counts(ext) == before
    draft = ok(clerk.post(f"{ACC}/invoices", json=body), 201)
    assert draft["state"] == "draft"
    assert assert_error(clerk.post(f"{ACC}/invoices/{draft['id']}/post"), 403)["message"] == (
        "needs accounting.invoice.post"
    )
    credit = {"post": True}
    assert assert_error(clerk.post(f"{ACC}/invoices/{posted['id']}/credit-note", json=credit), 403)[
        "message"
    ] == ("needs accounting.invoice.post")
    assert ok(admin_api.get(f"{ACC}/invoices/{draft['id']}"))["state"] == "draft"
    assert counts(ext)["Invoice"] == before["Invoice"] + 1


def test_each_permission_lets_its_holder_through(make_api_client: Any, ext: Any, posted: dict) -> None:
    poster = make_api_client(
        "poster@test.example",
        permissions=("accounting.view", "accounting.invoice.manage", "accounting.invoice.post"),
    )
    body = {"contact_id": posted["contact_id"], "date": "2026-03-11", "lines": [consulting()], "post": True}
    assert ok(poster.post(f"{ACC}/invoices", json=body), 201)["number"] == "INV/2026/0002"
    cashier = make_api_client(
        "cashier@test.example", permissions=("accounting.view", "accounting.payment.manage")
    )
    assert pay(cashier, posted["id"])["amount"] == "1200.00"
    reader = make_api_client("reader@test.example", permissions=("accounting.report.view",))
    assert aged(reader, "2026-03-31")["total"] == "1000.00"
    closer = make_api_client("closer@test.example", permissions=("accounting.period.lock",))
    assert ok(closer.put(f"{ACC}/lock-date", json={"lock_date": "2026-01-31"})) == {"lock_date": "2026-01-31"}
    keeper = make_api_client("keeper@test.example", permissions=("accounting.settings", "accounting.view"))
    assert ok(keeper.post(f"{ACC}/taxes", json={"name": "Zero", "rate": "0", "account": "2100"}), 201)[
        "rate"
    ] == ("0.0000")
    bookkeeper = make_api_client("bookkeeper@test.example", permissions=("ledger.account.manage",))
    assert bookkeeper.delete(f"{ACC}/accounts/6800").status_code == 204


# --- robustness: never a 500 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/invoices/99999999999999999999", None, 404),
        ("get", f"/invoices/{2**62}", None, 404),
        ("get", "/invoices/0", None, 404),
        ("patch", "/invoices/99999999999999999999", {"notes": "x"}, 404),
        ("post", "/invoices/987654/post", None, 404),
        ("get", "/bills/987654/pdf", None, 404),
        ("get", "/payments/99999999999999999999", None, 404),
        ("post", "/payments/987654/cancel", {}, 404),
        ("get", "/statements/99999999999999999999", None, 404),
        ("post", "/statements/987654/lines/1/match", {"invoice_id": 1}, 404),
        ("delete", "/accounts/%00", None, 404),
        ("post", "/invoices", {"contact_id": 1, "lines": [{"description": "x", "unit_price": 1e400}]}, 422),
        ("post", "/invoices", {"contact_id": 1, "lines": [{"description": "x", "unit_price": "NaN"}]}, 422),
        ("post", "/invoices", {"contact_id": 1, "lines": "many"}, 422),
        ("post", "/invoices", {"contact_id": 1, "lines": [["x"]]}, 422),
        (
            "post",
            "/invoices",
            {"contact_id": 1, "lines": [{"description": "x", "unit_price": "1", "tax": 10**30}]},
            422,
        ),
        ("post", "/invoices", [1, 2], 422),
        ("post", "/payments", {"bank_journal": "BNK", "allocations": [{"invoice_id": 10**30}]}, 422),
        ("post", "/payments", {"bank_journal": "B\x00K", "amount": "1"}, 422),
        ("post", "/payments", {"bank_journal": "BNK", "amount": "9" * 40, "contact_id": 1}, 422),
        ("post", "/taxes", {"name": "T", "rate": "1e999999", "account": "2100"}, 422),
        ("put", "/lock-date", {"lock_date": "2026-03-31\x00"}, 422),
        ("post", "/invoices/1/credit-note", {"date": "2026-02-30"}, 422),
    ],
)
def test_hostile_input_is_a_4xx_never_a_500(
    admin_api: ApiClient, ext: Any, posted: dict, method: str, path: str, body: Any, status: int
) -> None:
    before = counts(ext)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(admin_api, method)(f"{ACC}{path}", **kwargs)
    assert_error(response, status)
    assert counts(ext) == before


# --- the OpenAPI document and the plugin's state ----------------------------------------------------------


def test_the_api_follows_the_plugin_being_enabled_and_keeps_the_data(
    admin_api: ApiClient, client: Any, posted: dict
) -> None:
    from openapi_spec_validator import validate

    spec = ok(client.get(f"{API}/openapi.json"))
    validate(spec)
    paths = spec["paths"]
    for path in (
        "/accounts",
        "/taxes",
        "/taxes/{tax_id}",
        "/invoices",
        "/invoices/{document_id}",
        "/invoices/{document_id}/post",
        "/invoices/{document_id}/credit-note",
        "/invoices/{document_id}/pdf",
        "/bills",
        "/bills/{document_id}",
        "/payments",
        "/payments/{payment_id}/allocate",
        "/reports/trial-balance",
        "/reports/profit-and-loss",
        "/reports/balance-sheet",
        "/reports/aged-receivables",
        "/statements",
        "/lock-date",
    ):
        assert f"{ACC}{path}" in paths, path
    assert set(paths[f"{ACC}/invoices"]) == {"get", "post"}
    assert set(paths[f"{ACC}/invoices/{{document_id}}"]) - {"parameters"} == {"get", "patch", "delete"}
    assert set(paths[f"{ACC}/lock-date"]) == {"get", "put"}
    schemas = spec["components"]["schemas"]
    assert schemas["InvoiceLine"]["properties"]["unit_price"]["type"] == "string"  # amounts are strings
    assert schemas["InvoiceCreate"]["properties"]["kind"]["enum"] == ["out_invoice", "out_refund"]
    assert schemas["BillCreate"]["properties"]["kind"]["enum"] == ["in_invoice", "in_refund"]
    pdf = paths[f"{ACC}/invoices/{{document_id}}/pdf"]["get"]["responses"]["200"]["content"]
    assert list(pdf) == ["application/pdf"]

    assert ok(admin_api.post(f"{API}/plugins/accounting/disable"))["enabled"] is False
    paths = ok(client.get(f"{API}/openapi.json"))["paths"]
    assert not [path for path in paths if path.startswith(ACC)]
    assert f"{API}/contacts" in paths
    assert_error(admin_api.get(f"{ACC}/invoices"), 404, "not_found")
    assert_error(admin_api.get(f"{ACC}/invoices/{posted['id']}"), 404, "not_found")
    assert_error(admin_api.post(f"{ACC}/invoices", json={"contact_id": posted["contact_id"]}), 404)
    assert_error(admin_api.get(f"{ACC}/reports/aged-receivables"), 404)

    assert ok(admin_api.post(f"{API}/plugins/accounting/enable"))["enabled"] is True
    assert f"{ACC}/invoices" in ok(client.get(f"{API}/openapi.json"))["paths"]
    assert ok(admin_api.get(f"{ACC}/invoices/{posted['id']}")) == posted
    # Enabling again seeded nothing twice.
    assert [t["name"] for t in ok(admin_api.get(f"{ACC}/taxes"))["items"]] == [
        "Purchase tax 20%",
        "Sales tax 20%",
    ]
