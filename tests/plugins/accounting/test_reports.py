"""Accounting's reports through the services: a worked example computed by hand, then each report's rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from core.context import company_id_of
from core.models import Company, JournalEntry
from core.services import contacts
from plugins.accounting.models import Invoice, Payment
from plugins.accounting.services import invoices, payments, reports

pytestmark = pytest.mark.plugins("accounting")

D = Decimal
ZERO = D("0.00")


def entry_lines(session: Session, entry_id: int) -> list[tuple[str, Decimal, Decimal]]:
    """A posted entry's lines as (account code, debit, credit), sorted so the comparison is exact."""
    entry = session.get(JournalEntry, entry_id)
    return sorted((line.account.code, line.debit, line.credit) for line in entry.lines)


def pay(session: Session, invoice: Invoice, amount: str, date: str, journal: str = "BNK") -> Payment:
    payment = payments.register_payment(
        session,
        {
            "bank_journal": journal,
            "date": date,
            "allocations": [{"invoice_id": invoice.id, "amount": amount}],
        },
    )
    session.commit()
    return payment


def one(description: str, price: str) -> list[dict]:
    return [{"description": description, "quantity": "1", "unit_price": price}]


def rows(section: reports.ReportSection) -> dict[str, tuple[Decimal, Decimal]]:
    return {row.code or row.name: (row.amount, row.previous) for row in section.rows}


# --- the worked example ------------------------------------------------------------------------------


@pytest.fixture
def march(session, customer, vendor, sales_tax, purchase_tax, make_invoice):
    """March 2026: an invoice with tax, a bill with tax, a part payment from the customer, the bill paid."""
    invoice = make_invoice(
        customer,
        date="2026-03-10",
        lines=[
            {"description": "Consulting day", "quantity": "10", "unit_price": "100.00", "tax": sales_tax.id},
            {"description": "Travel (untaxed)", "quantity": "1", "unit_price": "50.00"},
        ],
    )
    bill = make_invoice(
        vendor,
        kind="in_invoice",
        date="2026-03-12",
        lines=[{"description": "Paper", "quantity": "3", "unit_price": "40.00", "tax": purchase_tax.id}],
    )
    received = pay(session, invoice, "1000.00", "2026-03-20")
    paid = pay(session, bill, "144.00", "2026-03-25")
    return invoice, bill, received, paid


def test_the_worked_example_posts_exactly_the_hand_computed_entries(session, march, customer):
    invoice, bill, received, paid = march
    # Invoice: 10 x 100.00 = 1,000.00 taxed at 20% -> 200.00 tax; 1 x 50.00 untaxed.
    # Untaxed 1,000.00 + 50.00 = 1,050.00; total 1,050.00 + 200.00 = 1,250.00; due 30 days later.
    assert (invoice.number, invoice.untaxed_amount, invoice.tax_amount, invoice.total) == (
        "INV/2026/0001",
        D("1050.00"),
        D("200.00"),
        D("1250.00"),
    )
    assert invoice.due_date == dt.date(2026, 4, 9)
    assert entry_lines(session, invoice.entry_id) == [
        ("1200", D("1250.00"), ZERO),  # the customer owes the total
        ("2100", ZERO, D("200.00")),  # VAT collected for the state
        ("4000", ZERO, D("50.00")),
        ("4000", ZERO, D("1000.00")),
    ]
    # Bill: 3 x 40.00 = 120.00 to office supplies, 20% purchase tax 24.00, total 144.00.
    assert (bill.number, bill.untaxed_amount, bill.tax_amount, bill.total) == (
        "BILL/2026/0001",
        D("120.00"),
        D("24.00"),
        D("144.00"),
    )
    assert entry_lines(session, bill.entry_id) == [
        ("1300", D("24.00"), ZERO),
        ("2000", ZERO, D("144.00")),
        ("6100", D("120.00"), ZERO),
    ]
    assert entry_lines(session, received.entry_id) == [
        ("1100", D("1000.00"), ZERO),
        ("1200", ZERO, D("1000.00")),
    ]
    assert entry_lines(session, paid.entry_id) == [("1100", ZERO, D("144.00")), ("2000", D("144.00"), ZERO)]
    # 1,250.00 - 1,000.00 = 250.00 still due; the bill is settled.
    session.refresh(invoice)
    session.refresh(bill)
    assert (invoice.state, invoice.residual) == ("partial", D("250.00"))
    assert (bill.state, bill.residual) == ("paid", ZERO)


def test_the_worked_example_profit_and_loss(session, march):
    pnl = reports.profit_and_loss(session, date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31))
    assert (pnl.previous_from, pnl.previous_to) == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    # Income 1,000.00 + 50.00 = 1,050.00; expenses 120.00 (tax is not an expense); net 930.00.
    assert rows(pnl.income) == {"4000": (D("1050.00"), ZERO)}
    assert rows(pnl.expenses) == {"6100": (D("120.00"), ZERO)}
    assert (pnl.income.total, pnl.expenses.total, pnl.net_profit) == (D("1050.00"), D("120.00"), D("930.00"))
    # February had nothing.
    assert (pnl.income.previous_total, pnl.expenses.previous_total, pnl.previous_net_profit) == (
        ZERO,
        ZERO,
        ZERO,
    )
    february = reports.profit_and_loss(session, date_from=dt.date(2026, 2, 1), date_to=dt.date(2026, 2, 28))
    assert (february.income.rows, february.expenses.rows, february.net_profit) == ([], [], ZERO)


def test_the_worked_example_balance_sheet_balances(session, march):
    sheet = reports.balance_sheet(session, date_to=dt.date(2026, 3, 31))
    # Bank 1,000.00 in - 144.00 out = 856.00; receivable 1,250.00 - 1,000.00 = 250.00; VAT receivable 24.00.
    assert rows(sheet.assets) == {
        "1100": (D("856.00"), ZERO),
        "1200": (D("250.00"), ZERO),
        "1300": (D("24.00"), ZERO),
    }
    assert sheet.assets.total == D("1130.00")  # 856.00 + 250.00 + 24.00
    # Payables: 144.00 billed - 144.00 paid = 0, so only the VAT owed shows.
    assert rows(sheet.liabilities) == {"2100": (D("200.00"), ZERO)}
    assert rows(sheet.equity) == {"Current year earnings": (D("930.00"), ZERO)}
    assert sheet.liabilities_and_equity == D("1130.00")  # 200.00 + 930.00
    assert sheet.balanced
    assert sheet.previous_date == dt.date(2025, 3, 31)


def test_the_worked_example_trial_balance(session, march):
    tb = reports.trial_balance(session, date_to=dt.date(2026, 3, 31))
    assert {row.code: (row.debit, row.credit) for row in tb.rows} == {
        "1100": (D("1000.00"), D("144.00")),
        "1200": (D("1250.00"), D("1000.00")),
        "1300": (D("24.00"), ZERO),
        "2000": (D("144.00"), D("144.00")),
        "2100": (ZERO, D("200.00")),
        "4000": (ZERO, D("1050.00")),
        "6100": (D("120.00"), ZERO),
    }
    # 1,000 + 1,250 + 24 + 144 + 120 = 2,538 = 144 + 1,000 + 144 + 200 + 1,050
    assert tb.total_debit == tb.total_credit == D("2538.00")


def test_the_worked_example_aged_receivables_and_payables(session, march, customer):
    # Due 2026-04-09. On 2026-03-31 nothing is late yet: the 250.00 sits in the first bucket.
    early = reports.aged(session, "receivable", as_of=dt.date(2026, 3, 31))
    assert [(r.contact_id, r.contact, r.buckets) for r in early.rows] == [
        (customer, "Acme Corporation", [D("250.00"), ZERO, ZERO, ZERO])
    ]
    # On 2026-05-20 it is 41 days past due: 31-60.
    late = reports.aged(session, "receivable", as_of=dt.date(2026, 5, 20))
    assert late.rows[0].buckets == [ZERO, D("250.00"), ZERO, ZERO]
    assert (late.totals, late.total) == ([ZERO, D("250.00"), ZERO, ZERO], D("250.00"))
    # Before the payment of 2026-03-20 the whole 1,250.00 was open.
    assert reports.aged(session, "receivable", as_of=dt.date(2026, 3, 15)).total == D("1250.00")
    # Before the invoice existed there was nothing.
    assert reports.aged(session, "receivable", as_of=dt.date(2026, 3, 9)).rows == []
    payables = reports.aged(session, "payable", as_of=dt.date(2026, 3, 31))
    assert (payables.rows, payables.total) == ([], ZERO)
    # Before the vendor was paid on 2026-03-25 the 144.00 bill was open, not yet due.
    before_payment = reports.aged(session, "payable", as_of=dt.date(2026, 3, 24))
    assert before_payment.totals == [D("144.00"), ZERO, ZERO, ZERO]


def test_paying_the_rest_brings_aged_receivables_to_zero_and_updates_the_balance_sheet(session, march):
    invoice = march[0]
    pay(session, invoice, "250.00", "2026-03-30")
    assert reports.aged(session, "receivable", as_of=dt.date(2026, 3, 31)).rows == []
    sheet = reports.balance_sheet(session, date_to=dt.date(2026, 3, 31))
    # Bank 856.00 + 250.00 = 1,106.00; receivable 0; VAT receivable 24.00; assets 1,130.00 again.
    assert rows(sheet.assets) == {"1100": (D("1106.00"), ZERO), "1300": (D("24.00"), ZERO)}
    assert sheet.assets.total == sheet.liabilities_and_equity == D("1130.00")


def test_aged_buckets_follow_days_past_due(session, customer, make_invoice):
    as_of = dt.date(2026, 6, 30)
    # Due dates 0, 30, 31, 60, 61, 90 and 91 days before the report date.
    for days, amount in [(0, "1"), (30, "2"), (31, "4"), (60, "8"), (61, "16"), (90, "32"), (91, "64")]:
        due = as_of - dt.timedelta(days=days)
        make_invoice(
            customer,
            date=(due - dt.timedelta(days=10)).isoformat(),
            due_date=due.isoformat(),
            lines=one(f"{days} days", amount),
        )
    report = reports.aged(session, "receivable", as_of=as_of)
    # 0-30: 1 + 2; 31-60: 4 + 8; 61-90: 16 + 32; 90+: 64.
    assert report.rows[0].buckets == [D("3.00"), D("12.00"), D("48.00"), D("64.00")]
    assert report.total == D("127.00")


def test_an_unknown_aged_side_is_refused(session):
    from core.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        reports.aged(session, "sideways")
    assert set(refused.value.fields) == {"side"}


# --- general ledger -----------------------------------------------------------------------------------


def test_the_general_ledger_has_an_opening_a_running_balance_and_a_closing(session, march):
    invoice = march[0]
    pay(session, invoice, "50.00", "2026-04-02")
    gl = reports.general_ledger(session, "1100", date_from=dt.date(2026, 3, 21), date_to=dt.date(2026, 4, 30))
    # Before 2026-03-21 the bank had received 1,000.00.
    assert gl.opening == D("1000.00")
    assert [(line.date, line.debit, line.credit, line.balance) for line in gl.lines] == [
        (dt.date(2026, 3, 25), ZERO, D("144.00"), D("856.00")),  # 1,000 - 144
        (dt.date(2026, 4, 2), D("50.00"), ZERO, D("906.00")),  # 856 + 50
    ]
    assert gl.lines[0].contact == "" and gl.lines[0].number.startswith("BNK/2026/")
    assert (gl.total_debit, gl.total_credit, gl.closing) == (D("50.00"), D("144.00"), D("906.00"))
    receivable = reports.general_ledger(session, "1200")
    # No period: no opening; the invoice, then the two payments; the lines name the customer.
    assert receivable.opening == ZERO
    assert [line.balance for line in receivable.lines] == [D("1250.00"), D("250.00"), D("200.00")]
    assert {line.contact for line in receivable.lines} == {"Acme Corporation"}


def test_the_general_ledger_of_an_unknown_account_is_not_found(session):
    from core.errors import NotFound, ValidationError

    with pytest.raises(NotFound):
        reports.general_ledger(session, "9999")
    with pytest.raises(ValidationError) as refused:
        reports.general_ledger(session, "1100", date_from=dt.date(2026, 4, 1), date_to=dt.date(2026, 3, 1))
    assert set(refused.value.fields) == {"date_from"}


# --- comparison with the previous period ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_from", "date_to", "expected"),
    [
        # a whole month -> the month before, whatever its length
        ("2026-03-01", "2026-03-31", ("2026-02-01", "2026-02-28")),
        # a quarter -> the quarter before, across the year end
        ("2026-01-01", "2026-03-31", ("2025-10-01", "2025-12-31")),
        # a whole year -> the year before
        ("2026-01-01", "2026-12-31", ("2025-01-01", "2025-12-31")),
        # 10 days -> the 10 days before
        ("2026-03-11", "2026-03-20", ("2026-03-01", "2026-03-10")),
        # 3 days across a month end -> 3 days before
        ("2026-03-01", "2026-03-03", ("2026-02-26", "2026-02-28")),
    ],
)
def test_the_previous_period(date_from, date_to, expected):
    day = dt.date.fromisoformat
    assert reports.previous_period(day(date_from), day(date_to)) == (day(expected[0]), day(expected[1]))


def test_profit_and_loss_compares_with_the_previous_ten_days(session, customer, make_invoice):
    sales = {"2026-03-01": "10.00", "2026-03-10": "20.00", "2026-03-11": "40.00", "2026-03-20": "80.00"}
    for date, price in {**sales, "2026-03-21": "160.00"}.items():
        make_invoice(customer, date=date, lines=one(date, price))
    pnl = reports.profit_and_loss(session, date_from=dt.date(2026, 3, 11), date_to=dt.date(2026, 3, 20))
    # This period: 40 + 80 = 120; the 10 days before (1st-10th): 10 + 20 = 30; the 21st is outside both.
    assert rows(pnl.income) == {"4000": (D("120.00"), D("30.00"))}
    assert (pnl.net_profit, pnl.previous_net_profit) == (D("120.00"), D("30.00"))


def test_an_inverted_period_is_refused(session):
    from core.errors import ValidationError

    with pytest.raises(ValidationError) as refused:
        reports.profit_and_loss(session, date_from=dt.date(2026, 3, 31), date_to=dt.date(2026, 3, 1))
    assert set(refused.value.fields) == {"date_from"}


# --- fiscal years ------------------------------------------------------------------------------------------


def test_balance_sheet_separates_prior_and_current_year_earnings_with_an_april_fiscal_year(
    session, customer, vendor, make_invoice
):
    session.get(Company, company_id_of(session)).fiscal_year_start_month = 4
    session.commit()
    # Fiscal year 2025/26 (April 2025 - March 2026): sold 500.00, bought 100.00 -> earned 400.00.
    make_invoice(customer, date="2026-02-15", lines=one("A", "500.00"))
    make_invoice(vendor, kind="in_invoice", date="2026-03-15", lines=one("B", "100.00"))
    # Fiscal year 2026/27: sold 300.00.
    april = make_invoice(customer, date="2026-04-01", lines=one("C", "300.00"))
    assert april.number == "INV/2026/0001"  # numbered in the new fiscal year, named by the year it starts
    sheet = reports.balance_sheet(session, date_to=dt.date(2026, 6, 30), date_from=dt.date(2026, 4, 1))
    assert sheet.previous_date == dt.date(2026, 3, 31)
    # Receivable 500 + 300 = 800 now, 500 at the end of March; payable 100 both times.
    assert rows(sheet.assets) == {"1200": (D("800.00"), D("500.00"))}
    assert rows(sheet.liabilities) == {"2000": (D("100.00"), D("100.00"))}
    # Now: 400.00 from prior years, 300.00 this year. At 2026-03-31 the 400.00 was the current year's.
    assert rows(sheet.equity) == {
        "Prior years' earnings": (D("400.00"), ZERO),
        "Current year earnings": (D("300.00"), D("400.00")),
    }
    assert sheet.assets.total == sheet.liabilities_and_equity == D("800.00")  # 100 + 400 + 300
    assert sheet.previous_liabilities_and_equity == D("500.00")  # 100 + 400
    assert sheet.balanced
    january = reports.balance_sheet(session, date_to=dt.date(2026, 1, 31))
    assert (january.assets.rows, january.equity.rows, january.balanced) == ([], [], True)


# --- a property: whatever happens, the books balance -------------------------------------------------------

EVENTS = st.lists(
    st.tuples(
        st.sampled_from(["invoice", "bill", "payment", "credit"]),
        st.integers(min_value=1, max_value=99_999),  # cents
        st.integers(min_value=0, max_value=200),  # days after 2026-01-01
        st.booleans(),  # taxed
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_the_balance_sheet_balances_and_the_trial_balance_agrees_whatever_is_posted(
    session, customer, vendor, sales_tax, purchase_tax, events
):
    session.rollback()
    try:
        documents: list[Invoice] = []
        start = dt.date(2026, 1, 1)
        for what, cents, days, taxed in events:
            date = start + dt.timedelta(days=days)
            price = str(D(cents) / 100)
            if what in ("invoice", "bill"):
                customer_side = what == "invoice"
                tax = sales_tax if customer_side else purchase_tax
                draft = invoices.create_invoice(
                    session,
                    {
                        "kind": "out_invoice" if customer_side else "in_invoice",
                        "contact_id": customer if customer_side else vendor,
                        "date": date,
                        "lines": [
                            {
                                "description": "x",
                                "quantity": "1",
                                "unit_price": price,
                                "tax": tax.id if taxed else None,
                            }
                        ],
                    },
                )
                documents.append(invoices.post_invoice(session, draft))
                continue
            open_docs = [d for d in documents if d.state in ("posted", "partial") and not d.is_refund]
            if not open_docs:
                continue
            target = open_docs[cents % len(open_docs)]
            if what == "payment":
                amount = min(target.residual, D(cents) / 100)
                payments.register_payment(
                    session,
                    {
                        "bank_journal": "BNK",
                        "date": max(date, target.date),
                        "allocations": [{"invoice_id": target.id, "amount": str(amount)}],
                    },
                )
            else:
                credit = invoices.create_credit_note(session, target, date=max(date, target.date))
                invoices.post_invoice(session, credit)
        day = dt.date(2026, 12, 31)
        tb = reports.trial_balance(session, date_to=day)
        assert tb.total_debit == tb.total_credit
        sheet = reports.balance_sheet(session, date_to=day)
        assert sheet.balanced, (sheet.assets.total, sheet.liabilities_and_equity)
        pnl = reports.profit_and_loss(session, date_from=dt.date(2026, 1, 1), date_to=day)
        assert rows(sheet.equity).get("Current year earnings", (ZERO,))[0] == pnl.net_profit
        # What the aged report shows as open equals the receivable and payable accounts' balances.
        balances = {row.code: row.balance for row in tb.rows}
        assert reports.aged(session, "receivable", as_of=day).total == balances.get("1200", ZERO)
        assert reports.aged(session, "payable", as_of=day).total == -balances.get("2000", ZERO)
    finally:
        session.rollback()


def test_reports_cover_the_current_company_only(session, customer, make_invoice):
    from core.context import set_company
    from core.services.companies import create_company
    from plugins.accounting.services.chart import install_chart

    make_invoice(customer, date="2026-03-10")
    first = company_id_of(session)
    other = create_company(session, name="Other Ltd")
    set_company(session, other.id)
    install_chart(session)
    stranger = contacts.create_contact(session, kind="person", name="Stranger")
    session.commit()
    make_invoice(stranger.id, date="2026-03-10", lines=one("x", "14.00"))
    assert reports.aged(session, as_of=dt.date(2026, 3, 31)).total == D("14.00")
    assert reports.trial_balance(session).total_debit == D("14.00")
    set_company(session, first)
    assert reports.aged(session, as_of=dt.date(2026, 3, 31)).total == D("100.00")
    assert reports.trial_balance(session).total_debit == D("100.00")
