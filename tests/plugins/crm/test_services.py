"""CRM's services: leads qualified with dedup or disqualified, deals moving through the stages, the
board's totals, the forecast on a worked example, a won deal with and without accounting, quotes,
activities, CSV import and web-to-lead. Figures are computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from core.context import company_id_of
from core.errors import Conflict, ValidationError
from core.models import Contact, User
from core.services import contacts, users
from plugins.crm.models import Activity, Deal, Lead, Quote
from plugins.crm.services import activities, deals, forecast, leads, pipeline, quotes

pytestmark = pytest.mark.plugins("crm")

D = Decimal
TODAY = dt.date.today()


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


def make_user(session: Session, email: str, name: str = "") -> User:
    user = users.create_user(
        session, email=email, password=None, name=name, company_ids=[company_id_of(session)]
    )
    session.commit()
    return user


def make_lead(session: Session, **data) -> Lead:
    lead = leads.create_lead(session, {"name": "Wile E. Coyote", **data})
    session.commit()
    return lead


# --- leads: qualification with dedup, disqualification ------------------------------------------------


def test_a_lead_whose_email_matches_a_contact_is_not_qualified_without_a_choice(session, customer):
    lead = make_lead(session, company_name="ACME Corporation", email="Buy@Acme.example")
    assert lead.email == "buy@acme.example"
    assert [c.id for c in leads.matching_contacts(session, lead)] == [customer]
    contacts_before = count(session, Contact)

    with pytest.raises(ValidationError) as refused:
        leads.qualify_lead(session, lead)
    assert set(refused.value.fields) == {"contact_id"}
    assert f"Acme Corporation (#{customer})" in refused.value.fields["contact_id"][0]
    session.rollback()
    assert leads.get_lead(session, lead.id).status == "new"
    assert (count(session, Contact), count(session, Deal)) == (contacts_before, 0)

    # Linking the match: no new contact, the deal is the customer's.
    leads.qualify_lead(session, lead, contact_id=customer, deal={"expected_revenue": "2500.00"})
    session.commit()
    assert (lead.status, lead.contact_id) == ("qualified", customer)
    deal = deals.get_deal(session, lead.deal_id)
    assert (deal.contact_id, deal.title, deal.expected_revenue) == (
        customer,
        "ACME Corporation",
        D("2500.00"),
    )
    assert (deal.stage.name, deal.probability, deal.state) == ("New", 10, "open")
    assert count(session, Contact) == contacts_before


def test_creating_a_new_contact_despite_a_match_links_it_to_the_known_organization(session, customer):
    lead = make_lead(session, company_name="acme corporation", email="buy@acme.example", phone="+1 555 0100")
    contacts_before = count(session, Contact)
    leads.qualify_lead(session, lead, create_contact=True)
    session.commit()
    person = session.get(Contact, lead.contact_id)
    assert lead.contact_id != customer
    assert (person.kind, person.name, person.email, person.phone) == (
        "person",
        "Wile E. Coyote",
        "buy@acme.example",
        "+1 555 0100",
    )
    assert person.parent_id == customer  # the organization is found by name, whatever the case
    assert count(session, Contact) == contacts_before + 1
    assert session.get(Deal, lead.deal_id).contact_id == customer  # the company is the customer


def test_qualifying_a_lead_of_a_new_company_creates_the_organization_the_person_and_the_deal(session):
    owner = make_user(session, "ann@test.example", "Ann Archer")
    lead = make_lead(session, name="Hank Scorpio", company_name="Globex", email="hank@globex.example",
                     owner_id=owner.id)  # fmt: skip
    assert leads.matching_contacts(session, lead) == []
    deal_data = {"expected_revenue": "5000.00", "stage": "Qualified", "expected_close": "2026-09-30"}
    leads.qualify_lead(session, lead, deal=deal_data)
    session.commit()
    person = session.get(Contact, lead.contact_id)
    organization = session.get(Contact, person.parent_id)
    assert (organization.kind, organization.name) == ("organization", "Globex")
    assert (person.kind, person.name, person.email) == ("person", "Hank Scorpio", "hank@globex.example")
    deal = session.get(Deal, lead.deal_id)
    assert (deal.title, deal.contact_id, deal.owner_id, deal.stage.name, deal.probability) == (
        "Globex",
        organization.id,  # the company buys; the person is its contact
        owner.id,
        "Qualified",
        25,
    )
    assert (deal.expected_revenue, deal.weighted_revenue, deal.expected_close) == (
        D("5000.00"),
        D("1250.00"),
        dt.date(2026, 9, 30),
    )
    with pytest.raises(Conflict):
        leads.qualify_lead(session, lead, create_contact=True)
    session.rollback()
    assert count(session, Deal) == 1


def test_a_lead_without_a_company_becomes_a_person_alone_and_a_deal_named_after_it(session):
    lead = make_lead(session, phone="555-0199")
    leads.qualify_lead(session, lead)
    session.commit()
    person = session.get(Contact, lead.contact_id)
    assert (person.name, person.parent_id, person.email) == ("Wile E. Coyote", None, None)
    deal = session.get(Deal, lead.deal_id)
    assert (deal.title, deal.contact_id) == ("Wile E. Coyote", person.id)


def test_a_bad_deal_refuses_the_qualification_whole(session):
    lead = make_lead(session, company_name="Initech")
    contacts_before = count(session, Contact)
    with pytest.raises(ValidationError) as refused:
        leads.qualify_lead(session, lead, deal={"expected_revenue": "-10.00"})
    assert set(refused.value.fields) == {"expected_revenue"}
    session.rollback()
    assert (count(session, Contact), count(session, Deal)) == (contacts_before, 0)
    assert leads.get_lead(session, lead.id).status == "new"


def test_disqualifying_needs_a_reason_and_closes_the_lead(session):
    lead = make_lead(session)
    for reason in (None, "", "   "):
        with pytest.raises(ValidationError) as refused:
            leads.disqualify_lead(session, lead, reason)
        assert set(refused.value.fields) == {"reason"}
        session.rollback()
    assert leads.get_lead(session, lead.id).status == "new"
    leads.disqualify_lead(session, lead, "  No budget this year ")
    session.commit()
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "No budget this year")
    with pytest.raises(Conflict):
        leads.qualify_lead(session, lead, create_contact=True)
    with pytest.raises(Conflict):
        leads.update_lead(session, lead, {"phone": "555"})
    with pytest.raises(Conflict):
        leads.disqualify_lead(session, lead, "again")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a b@example.org"}, "email"),
        ({"source": "tv"}, "source"),
        ({"owner_id": 987654}, "owner_id"),
        ({"status": "qualified"}, "status"),
    ],
)
def test_bad_leads_are_refused(session, data, field):
    with pytest.raises(ValidationError) as refused:
        leads.create_lead(session, {"name": "Someone", **data})
    assert field in refused.value.fields
    session.rollback()
    assert count(session, Lead) == 0


def test_a_lead_may_be_created_already_contacted(session):
    assert make_lead(session, status="contacted").status == "contacted"
    assert make_lead(session).status == "new"


# --- deals: stage moves -------------------------------------------------------------------------------


def test_a_move_takes_the_stage_probability_and_lost_needs_a_reason(session, make_deal, stages):
    deal = make_deal()
    assert (deal.stage.name, deal.probability, deal.state, deal.closed_on) == ("New", 10, "open", None)

    deals.move_deal(session, deal, "proposal")  # by name, whatever the case
    assert (deal.stage.name, deal.probability) == ("Proposal", 50)
    deals.move_deal(session, deal, stages["Negotiation"].id)  # by id
    assert (deal.stage.name, deal.probability, deal.closed_on) == ("Negotiation", 75, None)
    deals.update_deal(session, deal, {"probability": 60})
    assert deal.probability == 60  # a deal may differ from its stage until it moves again
    session.commit()

    for reason in ("", "   "):
        with pytest.raises(ValidationError) as refused:
            deals.move_deal(session, deal, "Lost", lost_reason=reason)
        assert set(refused.value.fields) == {"lost_reason"}
        session.rollback()
    assert (deal.stage.name, deal.probability, deal.state) == ("Negotiation", 60, "open")

    deals.move_deal(session, deal, "Lost", lost_reason="Chose a competitor")
    session.commit()
    assert (deal.state, deal.probability, deal.lost_reason, deal.closed_on) == (
        "lost",
        0,
        "Chose a competitor",
        TODAY,
    )

    deals.move_deal(session, deal, "Qualified")  # reopened: no longer closed, no reason
    assert (deal.state, deal.probability, deal.lost_reason, deal.closed_on) == ("open", 25, "", None)
    deals.move_deal(session, deal, "Won")
    session.commit()
    assert (deal.state, deal.probability, deal.closed_on) == ("won", 100, TODAY)


def test_moving_to_an_unknown_stage_is_refused(session, make_deal):
    deal = make_deal()
    for stage in ("Closing", 987654, 2**70, "", None):
        with pytest.raises(ValidationError) as refused:
            deals.move_deal(session, deal, stage)
        assert set(refused.value.fields) == {"stage"}
        session.rollback()
    assert deal.stage.name == "New"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"expected_revenue": "-0.01"}, "expected_revenue"),
        ({"expected_revenue": "ten"}, "expected_revenue"),
        ({"expected_revenue": "10.001"}, "expected_revenue"),
        ({"expected_revenue": 10.5}, "expected_revenue"),  # a float: refused, never rounded
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"probability": "50.5"}, "probability"),
        ({"stage": "Closing"}, "stage"),
        ({"stage": "Lost"}, "lost_reason"),
        ({"contact_id": 987654}, "contact_id"),
        ({"contact_id": "\u0661\u0662"}, "contact_id"),  # Arabic-Indic digits are not an id
        ({"contact_id": None}, "contact_id"),
        ({"title": "  "}, "title"),
        ({"expected_close": "2026-02-30"}, "expected_close"),
        ({"owner_id": 987654}, "owner_id"),
    ],
)
def test_bad_deals_are_refused_and_nothing_is_stored(session, customer, data, field):
    with pytest.raises(ValidationError) as refused:
        deals.create_deal(
            session, {"title": "Deal", "contact_id": customer, "expected_revenue": "100", **data}
        )
    assert field in refused.value.fields
    session.rollback()
    assert count(session, Deal) == 0


def test_a_deal_keeps_a_probability_given_at_creation(session, make_deal):
    deal = make_deal(stage="Proposal", probability=40)
    assert (deal.stage.name, deal.probability, deal.weighted_revenue) == ("Proposal", 40, D("400.00"))


def test_an_update_refuses_a_negative_revenue_and_changes_nothing(session, make_deal):
    deal = make_deal(title="Rollout")
    with pytest.raises(ValidationError) as refused:
        deals.update_deal(session, deal, {"title": "Renamed", "expected_revenue": "-5"})
    assert set(refused.value.fields) == {"expected_revenue"}
    session.rollback()
    assert (deal.title, deal.expected_revenue) == ("Rollout", D("1000.00"))


# --- the board and weighted rounding -----------------------------------------------------------------------


def test_the_board_totals_each_column_exactly(session, make_deal):
    make_deal(title="N1", expected_revenue="1000.00")
    small = make_deal(title="N2", expected_revenue="250.55")
    big = make_deal(title="P1", expected_revenue="3333.33", stage="Proposal")
    cent = make_deal(title="P2", expected_revenue="0.01", stage="Proposal")
    make_deal(title="Q1", expected_revenue="100.00", stage="Qualified", probability=33)
    make_deal(title="W1", expected_revenue="500.00", stage="Won")
    columns = pipeline.board(session, pipeline.default_pipeline(session))
    assert [(c.stage.name, c.count, c.total, c.weighted) for c in columns] == [
        ("New", 2, D("1250.55"), D("125.06")),  # 1,250.55 x 10% = 125.055 -> 125.06
        ("Qualified", 1, D("100.00"), D("33.00")),  # the deal's own 33%, not the stage's 25%
        ("Proposal", 2, D("3333.34"), D("1666.67")),  # 3,333.34 x 50%, not the sum of rounded cards
        ("Negotiation", 0, D("0.00"), D("0.00")),
        ("Won", 1, D("500.00"), D("500.00")),
        ("Lost", 0, D("0.00"), D("0.00")),
    ]
    assert [d.title for d in columns[0].deals] == ["N1", "N2"]  # the most valuable first
    # Each card rounds half up: 25.055 -> 25.06, 1,666.665 -> 1,666.67, 0.005 -> 0.01.
    assert (small.weighted_revenue, big.weighted_revenue, cent.weighted_revenue) == (
        D("25.06"),
        D("1666.67"),
        D("0.01"),
    )


def test_the_board_of_one_owner(session, make_deal):
    ann = make_user(session, "ann@test.example", "Ann Archer")
    make_deal(title="Ann's", expected_revenue="800.00", owner_id=ann.id)
    make_deal(title="Nobody's", expected_revenue="200.00")
    columns = pipeline.board(session, pipeline.default_pipeline(session), owner_id=ann.id)
    assert [(c.count, c.total, c.weighted) for c in columns[:1]] == [(1, D("800.00"), D("80.00"))]
    assert [d.title for d in columns[0].deals] == ["Ann's"]


# --- the forecast: a worked example ----------------------------------------------------------------------


def test_the_forecast_of_a_worked_example(session, make_deal):
    ann = make_user(session, "ann@test.example", "Ann Archer")
    bob = make_user(session, "bob@test.example")  # no name: shown by email
    make_deal(title="D1", expected_revenue="10000.00", stage="Proposal", expected_close="2026-06-10",
              owner_id=ann.id)  # fmt: skip
    make_deal(title="D2", expected_revenue="4000.00", stage="Qualified", expected_close="2026-07-01",
              owner_id=bob.id)  # fmt: skip
    make_deal(title="D3", expected_revenue="6000.00", stage="Negotiation", owner_id=ann.id)
    make_deal(title="D6", expected_revenue="1000.00", expected_close="2026-06-25", owner_id=None)
    won = make_deal(title="D4", expected_revenue="3000.00", stage="Qualified", owner_id=bob.id)
    lost = make_deal(title="D5", expected_revenue="500.00", stage="Proposal", owner_id=ann.id)
    deals.move_deal(session, won, "Won")
    deals.move_deal(session, lost, "Lost", lost_reason="Budget cut")
    session.commit()

    report = forecast.forecast(session)

    def rows(found):
        return [(r.label, r.count, r.revenue, r.weighted) for r in found]

    # Open deals only. June: D1 10,000.00 x 50% = 5,000.00 and D6 1,000.00 x 10% = 100.00;
    # July: D2 4,000.00 x 25% = 1,000.00; no date: D3 6,000.00 x 75% = 4,500.00.
    assert rows(report.by_month) == [
        ("Jun 2026", 2, D("11000.00"), D("5100.00")),
        ("Jul 2026", 1, D("4000.00"), D("1000.00")),
        ("No date", 1, D("6000.00"), D("4500.00")),
    ]
    # Ann: D1 + D3 = 16,000.00, weighted 5,000.00 + 4,500.00 = 9,500.00; Bob: D2; nobody: D6.
    assert rows(report.by_owner) == [
        ("Ann Archer", 2, D("16000.00"), D("9500.00")),
        ("bob@test.example", 1, D("4000.00"), D("1000.00")),
        ("Unassigned", 1, D("1000.00"), D("100.00")),
    ]
    # One won (3,000.00), one lost: 1 / (1 + 1) = 50.0%.
    assert (report.won, report.lost, report.win_rate, report.won_revenue) == (1, 1, D("50.0"), D("3000.00"))
    assert rows(report.funnel) == [
        ("New", 1, D("1000.00"), D("100.00")),
        ("Qualified", 1, D("4000.00"), D("1000.00")),
        ("Proposal", 1, D("10000.00"), D("5000.00")),
        ("Negotiation", 1, D("6000.00"), D("4500.00")),
        ("Won", 1, D("3000.00"), D("3000.00")),
        ("Lost", 1, D("500.00"), D("0.00")),
    ]

    # The period limits the closed deals (closed today), not the open pipeline.
    tomorrow = TODAY + dt.timedelta(days=1)
    later = forecast.forecast(session, date_from=tomorrow)
    assert (later.won, later.lost, later.win_rate, later.won_revenue) == (0, 0, None, D("0.00"))
    assert rows(later.by_month) == rows(report.by_month)
    today = forecast.forecast(session, date_from=TODAY, date_to=TODAY)
    assert (today.won, today.lost, today.win_rate) == (1, 1, D("50.0"))


def test_the_forecast_rounds_weighted_sums_half_up_once(session, make_deal):
    # 0.01 x 50% twice: 0.005 + 0.005 = 0.01 (summed, then rounded); one third wins 2 of 3 = 66.7%.
    make_deal(title="A", expected_revenue="0.01", stage="Proposal", expected_close="2026-06-01")
    make_deal(title="B", expected_revenue="0.01", stage="Proposal", expected_close="2026-06-30")
    for title in ("W1", "W2", "L1"):
        deal = make_deal(title=title, expected_revenue="1.00")
        deals.move_deal(session, deal, "Lost" if title == "L1" else "Won", lost_reason="Price")
    session.commit()
    report = forecast.forecast(session)
    assert [(r.label, r.weighted) for r in report.by_month] == [("Jun 2026", D("0.01"))]
    assert (report.win_rate, report.won_revenue) == (D("66.7"), D("2.00"))


def test_a_forecast_with_nothing_closed_has_no_win_rate(session):
    report = forecast.forecast(session)
    assert (report.by_month, report.by_owner, report.won, report.lost, report.win_rate) == (
        [],
        [],
        0,
        0,
        None,
    )
    assert [(r.label, r.count) for r in report.funnel][:2] == [("New", 0), ("Qualified", 0)]


# --- a won deal and accounting -----------------------------------------------------------------------------


@pytest.mark.plugins("crm", "accounting")
def test_a_won_deal_drafts_one_invoice_when_accounting_is_enabled(session, make_deal):
    from plugins.accounting.models import Invoice

    deal = make_deal(title="Rollout", expected_revenue="7500.00", stage="Negotiation")
    deals.move_deal(session, deal, "Won")
    session.commit()
    drafted = session.scalars(select(Invoice)).all()
    assert [(i.origin, i.kind, i.state, i.contact_id, i.total) for i in drafted] == [
        (f"crm.deal:{deal.id}", "out_invoice", "draft", deal.contact_id, D("7500.00"))
    ]
    # Reopened and won again: still one invoice.
    deals.move_deal(session, deal, "Negotiation")
    deals.move_deal(session, deal, "Won")
    session.commit()
    assert count(session, Invoice) == 1


@pytest.mark.plugins("crm", "accounting")
def test_a_won_deal_drafts_nothing_once_accounting_is_disabled(ext, session, make_deal):
    from plugins.accounting.models import Invoice

    deal_id = make_deal(expected_revenue="7500.00").id
    session.close()
    assert ext.plugins.disable(ext.db, ["accounting"]) == ["accounting"]
    deal = deals.get_deal(session, deal_id)
    deals.move_deal(session, deal, "Won")
    session.commit()
    assert deal.state == "won"
    assert count(session, Invoice) == 0


def test_a_won_deal_without_accounting_touches_no_accounting_table(ext, session, make_deal):
    assert not ext.plugins.is_enabled("accounting")
    deal = make_deal(expected_revenue="7500.00")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(ext.db.engine, "before_cursor_execute", record)
    try:
        deals.move_deal(session, deal, "Won")
        session.commit()
    finally:
        event.remove(ext.db.engine, "before_cursor_execute", record)
    assert (deal.state, deal.closed_on) == ("won", TODAY)
    assert statements and not [s for s in statements if "accounting" in s.lower()]


# --- quotes -----------------------------------------------------------------------------------------------


def test_line_amounts_round_half_up_to_cents():
    # 3 x 19.99 = 59.97, less 15% = 50.9745 -> 50.97; 2.5 x 10.01 = 25.025 -> 25.03, less 12.5% = 21.896875
    assert quotes.line_amounts(D("3"), D("19.99"), D("15")) == (D("59.97"), D("50.97"))
    assert quotes.line_amounts(D("2.5"), D("10.01"), D("12.5")) == (D("25.03"), D("21.90"))
    assert quotes.line_amounts(D("1"), D("0.05"), D("50")) == (D("0.05"), D("0.03"))  # 0.025 -> 0.03
    assert quotes.line_amounts(D("4"), D("250.00"), D("100")) == (D("1000.00"), D("0.00"))


LINES = [
    {"description": "Licences", "quantity": "10", "unit_price": "1000.00", "discount": "10"},
    {"description": "Training day", "quantity": "2", "unit_price": "750.00"},
    {"description": "Widgets", "quantity": "3", "unit_price": "19.99", "discount": "15"},
]


def test_a_quote_totals_its_discounted_lines_and_is_numbered_per_year(session, make_deal):
    deal = make_deal(stage="Proposal")
    quote = quotes.create_quote(session, deal, {"date": "2026-03-10", "lines": LINES})
    session.commit()
    # 10,000.00 - 10% = 9,000.00; 1,500.00; 59.97 - 15% = 50.97.
    assert [(x.gross, x.total) for x in quote.lines] == [
        (D("10000.00"), D("9000.00")),
        (D("1500.00"), D("1500.00")),
        (D("59.97"), D("50.97")),
    ]
    assert (quote.subtotal, quote.discount_amount, quote.total) == (
        D("11559.97"),
        D("1009.00"),
        D("10550.97"),
    )
    assert (quote.number, quote.state, quote.currency) == ("QUO/2026/0001", "draft", "USD")
    second = quotes.create_quote(session, deal, {"date": "2026-11-30", "lines": LINES[:1]})
    next_year = quotes.create_quote(session, deal, {"date": "2027-01-05", "lines": LINES[:1]})
    assert (second.number, next_year.number) == ("QUO/2026/0002", "QUO/2027/0001")
    assert [q.number for q in quotes.quotes_of(session, deal)] == [
        "QUO/2026/0001",
        "QUO/2026/0002",
        "QUO/2027/0001",
    ]


def test_accepting_a_quote_wins_the_deal_with_the_quote_total(session, make_deal):
    deal = make_deal(expected_revenue="9000.00", stage="Negotiation")
    quote = quotes.create_quote(session, deal, {"date": "2026-03-10", "lines": LINES})
    quotes.send_quote(session, quote)
    with pytest.raises(Conflict):
        quotes.update_quote(session, quote, {"notes": "too late"})
    quotes.accept_quote(session, quote)
    session.commit()
    assert quote.state == "accepted"
    assert (deal.state, deal.expected_revenue, deal.probability, deal.closed_on) == (
        "won",
        D("10550.97"),
        100,
        TODAY,
    )
    with pytest.raises(Conflict) as refused:
        quotes.create_quote(session, deal, {"lines": LINES})
    assert set(refused.value.fields) == {"deal_id"}
    session.rollback()
    assert count(session, Quote) == 1


def test_a_declined_quote_leaves_the_deal_open_and_cannot_be_accepted(session, make_deal):
    deal = make_deal(stage="Proposal")
    quote = quotes.create_quote(session, deal, {"lines": LINES[:1]})
    quotes.decline_quote(session, quote)
    session.commit()
    with pytest.raises(Conflict):
        quotes.accept_quote(session, quote)
    session.rollback()
    assert (quote.state, deal.state, deal.stage.name) == ("declined", "open", "Proposal")


def test_a_quote_on_a_lost_deal_is_refused(session, make_deal):
    deal = make_deal()
    deals.move_deal(session, deal, "Lost", lost_reason="Went quiet")
    session.commit()
    with pytest.raises(Conflict):
        quotes.create_quote(session, deal, {"lines": LINES})


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([{**LINES[0], "discount": "100.01"}], "lines.0.discount"),
        ([{**LINES[0], "discount": "-1"}], "lines.0.discount"),
        ([{**LINES[0], "quantity": "0"}], "lines.0.quantity"),
        ([{**LINES[0], "unit_price": "-1.00"}], "lines.0.unit_price"),
        ([LINES[0], {**LINES[1], "description": ""}], "lines.1.description"),
        ([{**LINES[0], "unit_price": "999999999999"}], "lines.0.unit_price"),
    ],
)
def test_bad_quote_lines_are_refused(session, make_deal, lines, field):
    deal = make_deal()
    with pytest.raises(ValidationError) as refused:
        quotes.create_quote(session, deal, {"lines": lines})
    assert field in refused.value.fields
    session.rollback()
    assert count(session, Quote) == 0


def test_editing_a_draft_quote_replaces_its_lines(session, make_deal):
    quote = quotes.create_quote(session, make_deal(), {"lines": LINES})
    quotes.update_quote(session, quote, {"lines": LINES[1:2], "notes": "Training only"})
    session.commit()
    assert ([x.description for x in quote.lines], quote.total, quote.notes) == (
        ["Training day"],
        D("1500.00"),
        "Training only",
    )


# --- activities -------------------------------------------------------------------------------------------


def test_my_activities_oldest_due_first_undated_last_and_overdue_ones_flagged(session, make_deal):
    ann = make_user(session, "ann@test.example", "Ann Archer")
    bob = make_user(session, "bob@test.example", "Bob Baker")
    deal = make_deal()
    yesterday, tomorrow = TODAY - dt.timedelta(days=1), TODAY + dt.timedelta(days=1)

    def plan(subject, due, assignee=ann):
        return activities.create_activity(
            session, {"subject": subject, "due_date": due, "assignee_id": assignee.id, "deal_id": deal.id}
        )

    undated = plan("Undated", None)
    later = plan("Tomorrow", tomorrow)
    today = plan("Today", TODAY)
    late = plan("Yesterday", yesterday)
    done = plan("Done long ago", TODAY - dt.timedelta(days=30))
    plan("Bob's", yesterday, assignee=bob)
    activities.complete_activity(session, done, notes="Sent the brochure")
    session.commit()

    assert [a.subject for a in activities.my_activities(session, ann.id)] == [
        "Yesterday",
        "Today",
        "Tomorrow",
        "Undated",
    ]
    assert [a.subject for a in activities.my_activities(session, ann.id, include_done=True)][:2] == [
        "Done long ago",
        "Yesterday",
    ]
    assert [activities.is_overdue(a) for a in (late, today, later, undated, done)] == [
        True,
        False,
        False,
        False,
        False,  # done: never overdue
    ]
    assert activities.is_overdue(later, today=tomorrow + dt.timedelta(days=1))
    assert (done.done, done.notes, done.done_at is not None) == (True, "Sent the brochure", True)


def test_completing_an_activity_twice_is_refused(session, customer):
    activity = activities.create_activity(session, {"subject": "Call back", "contact_id": customer})
    activities.complete_activity(session, activity)
    session.commit()
    first = activity.done_at
    with pytest.raises(Conflict):
        activities.complete_activity(session, activity)
    session.rollback()
    assert (activity.done, activity.done_at) == (True, first)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "deal_id"),  # attached to nothing
        ({"deal_id": 987654}, "deal_id"),
        ({"lead_id": 987654}, "lead_id"),
        ({"contact_id": 987654}, "contact_id"),
        ({"kind": "fax"}, "kind"),
        ({"subject": ""}, "subject"),
        ({"due_date": "tomorrow"}, "due_date"),
        ({"assignee_id": 987654}, "assignee_id"),
    ],
)
def test_bad_activities_are_refused(session, data, field):
    with pytest.raises(ValidationError) as refused:
        activities.create_activity(session, {"subject": "Call", **data})
    assert field in refused.value.fields
    session.rollback()
    assert count(session, Activity) == 0


def test_a_contact_timeline_holds_its_own_its_deals_and_its_leads_activities(session, customer, make_deal):
    deal = make_deal()
    other_customer = contacts.create_contact(session, kind="organization", name="Globex")
    other_deal = deals.create_deal(session, {"title": "Other", "contact_id": other_customer.id})
    lead = make_lead(session, email="buy@acme.example")
    on_lead = activities.create_activity(session, {"subject": "Intro call", "lead_id": lead.id})
    on_deal = activities.create_activity(session, {"subject": "Demo", "deal_id": deal.id})
    on_contact = activities.create_activity(session, {"subject": "Christmas card", "contact_id": customer})
    activities.create_activity(session, {"subject": "Elsewhere", "deal_id": other_deal.id})
    leads.qualify_lead(session, lead, contact_id=customer)  # the lead's call now belongs to Acme too
    session.commit()
    assert on_lead.contact_id is None
    assert [a.subject for a in activities.timeline(session, contact_id=customer)] == [
        "Christmas card",
        "Demo",
        "Intro call",
    ]
    # A deal moved to another customer takes its activities' history with it.
    deals.update_deal(session, deal, {"contact_id": other_customer.id})
    session.commit()
    assert [a.id for a in activities.timeline(session, contact_id=other_customer.id)][-1] == on_deal.id
    assert [a.subject for a in activities.timeline(session, deal_id=deal.id)] == ["Demo"]
    assert on_contact.deal_id is None


# --- CSV import and web-to-lead ---------------------------------------------------------------------------

CSV = (
    "name,email,source,company_name\n"
    "Ada Lovelace,ada@example.org,event,Analytical Engines\n"
    "Bad Email,not-an-email,web,\n"
    "Grace Hopper,grace@example.org,tv,\n"
    "Too,many,columns,here,really\n"
    "\n"
    "Alan Turing,,referral,Bletchley\n"
)


def test_an_import_preview_counts_the_valid_rows_and_names_each_bad_one(session):
    preview = leads.preview_import(session, CSV)
    assert [row["name"] for row in preview.rows] == ["Ada Lovelace", "Alan Turing"]
    assert {number: set(fields) for number, fields in preview.errors.items()} == {
        2: {"email"},
        3: {"source"},
        4: {"row"},
    }
    assert preview.errors[4]["row"] == ["has 5 columns, the header has 4"]
    assert preview.total == 5  # the blank line is not a row
    session.commit()
    assert count(session, Lead) == 0


def test_an_import_with_bad_rows_imports_nothing_unless_told_to_skip_them(session):
    with pytest.raises(ValidationError) as refused:
        leads.import_leads(session, CSV, skip_invalid=False)
    assert set(refused.value.fields) == {"rows.2.email", "rows.3.source", "rows.4.row"}
    assert refused.value.message.startswith("3 of 5 rows are invalid")
    session.rollback()
    assert count(session, Lead) == 0

    imported = leads.import_leads(session, CSV.encode("utf-8-sig"), skip_invalid=True)
    session.commit()
    assert [(x.name, x.email, x.source, x.company_name, x.status) for x in imported] == [
        ("Ada Lovelace", "ada@example.org", "event", "Analytical Engines", "new"),
        ("Alan Turing", None, "referral", "Bletchley", "new"),
    ]
    assert count(session, Lead) == 2


def test_a_clean_file_imports_every_row_without_skipping(session):
    leads.import_leads(session, "name,phone\nAda,555-0101\nAlan,555-0102\n", skip_invalid=False)
    session.commit()
    assert session.scalars(select(Lead.phone).order_by(Lead.id)).all() == ["555-0101", "555-0102"]


@pytest.mark.parametrize(
    "content",
    ["", "email,source\nada@example.org,web\n", "name,fax\nAda,123\n", b"name\n\xff\xfe\n"],
)
def test_an_unreadable_file_is_refused_whole(session, content):
    with pytest.raises(ValidationError) as refused:
        leads.preview_import(session, content)
    assert set(refused.value.fields) == {"file"}


def test_web_to_lead_ignores_bots_and_needs_a_way_to_answer(session):
    bot = {"name": "Buy pills", "email": "bot@spam.example", "website": "http://spam.example"}
    assert leads.web_lead(session, bot) is None
    with pytest.raises(ValidationError) as refused:
        leads.web_lead(session, {"name": "Nobody", "email": "", "phone": ""})
    assert set(refused.value.fields) == {"email"}
    session.rollback()
    with pytest.raises(ValidationError) as refused:
        leads.web_lead(session, {"name": "Typo", "email": "typo.example.org"})
    assert set(refused.value.fields) == {"email"}
    session.rollback()
    assert count(session, Lead) == 0

    lead = leads.web_lead(session, {"name": "Real person", "phone": "555-0123", "website": "  "})
    session.commit()
    assert (lead.name, lead.phone, lead.source, lead.status, lead.owner_id) == (
        "Real person",
        "555-0123",
        "web",
        "new",
        None,
    )
    assert count(session, Lead) == 1
