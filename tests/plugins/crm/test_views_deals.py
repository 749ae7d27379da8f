"""The pipeline board, deals, activities, quotes and the forecast through the browser pages, CSRF on.

Figures are worked by hand: 10,000.00 at 50% weighs 5,000.00; 3 x 1,250.00 less 10% is 3,375.00.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.services import contacts as contact_service
from core.testing import csrf_token
from plugins.crm.models import Activity, Deal, Quote
from plugins.crm.services import activities as activity_service
from plugins.crm.services import pipeline as pipeline_service
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

pytestmark = pytest.mark.plugins("crm")

TODAY = dt.date.today()
NEXT_YEAR = TODAY.year + 1


# --- reading pages and data -----------------------------------------------------------------------------


@contextmanager
def reading(ext: Any) -> Iterator[Any]:
    """A read-only session: it never holds SQLite's write lock, so requests are not blocked."""
    with ext.db.session(read_only=True) as session:
        yield session


def deal_state(ext: Any, deal_id: int) -> tuple[str, str, int, Decimal, str]:
    """(stage name, state, probability, expected revenue, lost reason) as stored."""
    with reading(ext) as session:
        deal = session.get(Deal, deal_id)
        return deal.stage.name, deal.state, deal.probability, deal.expected_revenue, deal.lost_reason


def column_text(response: Any, stage_id: int) -> str:
    """What a user reads in the head of a board column: name, count, total, weighted, probability."""
    match = re.search(
        rf'<section class="crm-column[^"]*" data-stage-id="{stage_id}".*?<header[^>]*>(.*?)</header>',
        page(response),
        re.S,
    )
    assert match, f"no column for stage {stage_id}"
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def card_text(response: Any, deal_id: int) -> str:
    match = re.search(rf'<li class="crm-card" id="deal-{deal_id}".*?</li>', page(response), re.S)
    assert match, f"no card for deal {deal_id}"
    card = re.sub(r"(?s)<details.*?</details>", " ", match.group(0))
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", card)).split())


def figure(response: Any, element_id: str) -> str:
    match = re.search(rf'<dd class="num" id="{element_id}">(.*?)</dd>', page(response), re.S)
    assert match, f"no {element_id} on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def chart(response: Any, title: str) -> str:
    match = re.search(
        rf'<svg class="chart"[^>]*aria-label="{re.escape(title)}".*?</svg>', page(response), re.S
    )
    assert match, f"no chart {title}"
    return match.group(0)


def move(client: Any, deal_id: int, stage_id: int, reason: str = "", *, next: str = "board") -> Any:
    """The no-JavaScript Move form of a card (or of the deal page with ``next="detail"``)."""
    return submit(
        client,
        f"/crm/deals/{deal_id}/move",
        {"stage": stage_id, "lost_reason": reason, "next": next},
        form_page="/crm/pipeline",
    )


def drop(client: Any, deal_id: int, stage_id: int, reason: str = "") -> Any:
    """What the board's script sends on a drop: the card's form, asking for JSON."""
    token = csrf_token(client, "/crm/pipeline")
    return client.post(
        f"/crm/deals/{deal_id}/move",
        data={"stage": stage_id, "lost_reason": reason, "next": "board", "csrf_token": token},
        headers={"Accept": "application/json"},
    )


@pytest.fixture
def stage_ids(session, stages) -> dict[str, int]:
    """The default pipeline's stage ids by name (the read is committed: the write lock is free again)."""
    ids = {name: stage.id for name, stage in stages.items()}
    session.commit()
    return ids


def deal_form(customer: int, **fields: Any) -> dict[str, Any]:
    return {
        "title": "Fleet renewal",
        "contact_id": str(customer),
        "expected_revenue": "12000.00",
        "probability": "",
        "expected_close": f"{NEXT_YEAR}-03-31",
        "owner_id": "",
        "stage": "",
        "lost_reason": "",
        **{key: str(value) for key, value in fields.items()},
    }


# --- the board ------------------------------------------------------------------------------------------


def test_the_board_shows_a_column_per_stage_with_exact_totals(
    admin_client, admin_user, ext, make_deal, stage_ids
):
    big = make_deal(title="Big fleet", expected_revenue="10000.00", stage="Proposal", owner_id=admin_user).id
    make_deal(title="Spare parts", expected_revenue="3000.50", stage="Proposal")
    make_deal(title="Pilot", expected_revenue="2000.00", stage="Qualified")
    make_deal(title="Service plan", expected_revenue="1234.56", stage="Negotiation")
    make_deal(title="Old order", expected_revenue="800.00", stage="Won")

    response = admin_client.get("/crm/pipeline")
    assert response.status_code == 200
    assert column_text(response, stage_ids["New"]) == "New 0 0.00 · weighted 0.00 · 10%"
    assert column_text(response, stage_ids["Qualified"]) == "Qualified 1 2,000.00 · weighted 500.00 · 25%"
    # 10,000.00 x 50% + 3,000.50 x 50% = 5,000.00 + 1,500.25
    assert column_text(response, stage_ids["Proposal"]) == "Proposal 2 13,000.50 · weighted 6,500.25 · 50%"
    assert column_text(response, stage_ids["Negotiation"]) == "Negotiation 1 1,234.56 · weighted 925.92 · 75%"
    assert column_text(response, stage_ids["Won"]) == "Won 1 800.00 · weighted 800.00 · 100%"
    assert column_text(response, stage_ids["Lost"]) == "Lost 0 0.00 · weighted 0.00 · 0%"
    text = visible(response)
    assert "Open deals: 4 · total 16,235.06 · weighted 7,926.17 USD" in text
    assert card_text(response, big) == "Big fleet Acme Corporation 10,000.00 USD · 50% admin@test.example"
    assert [m for m in re.findall(r'data-stage-id="(\d+)"', page(response))] == [
        str(stage_ids[name]) for name in ("New", "Qualified", "Proposal", "Negotiation", "Won", "Lost")
    ]
    assert admin_client.get("/crm/").status_code == 200  # the menu's address too
    # Cards can be dragged (the script) and moved with their own form (no script).
    assert 'draggable="true"' in page(response)
    assert page(response).count('class="crm-move-form"') == 5
    assert 'src="/crm/assets/crm.js"' in page(response)
    script = admin_client.get("/crm/assets/crm.js")
    assert script.status_code == 200 and "dragstart" in script.get_data(as_text=True)
    assert admin_client.get("/crm/assets/secrets.py").status_code == 404


def test_the_board_filters_by_owner(admin_client, admin_user, make_deal, stage_ids):
    make_deal(title="Mine", expected_revenue="500.00", stage="New", owner_id=admin_user)
    make_deal(title="Nobody's", expected_revenue="700.00", stage="New", owner_id="")
    response = admin_client.get(f"/crm/pipeline?owner_id={admin_user}")
    assert column_text(response, stage_ids["New"]) == "New 1 500.00 · weighted 50.00 · 10%"
    assert "Mine" in visible(response) and "Nobody's" not in visible(response)


def test_the_move_form_moves_a_card_without_javascript(admin_client, ext, make_deal, stage_ids):
    deal = make_deal(title="Pilot", expected_revenue="2000.00", stage="New").id
    response = move(admin_client, deal, stage_ids["Qualified"])
    assert redirect_path(response).startswith("/crm/pipeline")
    assert deal_state(ext, deal) == ("Qualified", "open", 25, Decimal("2000.00"), "")
    board = admin_client.get(redirect_path(response))
    assert "“Pilot” moved to Qualified." in flashes(board)
    assert column_text(board, stage_ids["Qualified"]) == "Qualified 1 2,000.00 · weighted 500.00 · 25%"
    assert column_text(board, stage_ids["New"]).startswith("New 0 0.00")


def test_losing_a_deal_asks_for_a_reason(admin_client, ext, make_deal, stage_ids):
    deal = make_deal(title="Pilot", expected_revenue="2000.00", stage="Proposal").id
    refused = move(admin_client, deal, stage_ids["Lost"])
    assert refused.status_code == 422
    assert field_error(refused, "lost_reason") == "say why the deal was lost"
    assert '<details class="crm-move" open>' in page(refused)  # the card's form stays open
    assert deal_state(ext, deal) == ("Proposal", "open", 50, Decimal("2000.00"), "")

    detail = move(admin_client, deal, stage_ids["Lost"], next="detail")
    assert detail.status_code == 422
    assert field_error(detail, "lost_reason") == "say why the deal was lost"
    assert "Move to stage" in visible(detail)

    response = move(admin_client, deal, stage_ids["Lost"], "Chose a competitor", next="detail")
    assert redirect_path(response) == f"/crm/deals/{deal}"
    assert deal_state(ext, deal) == ("Lost", "lost", 0, Decimal("2000.00"), "Chose a competitor")
    text = visible(admin_client.get(f"/crm/deals/{deal}"))
    assert "Pilot Lost" in text and "Reason lost Chose a competitor" in text


def test_drag_and_drop_posts_the_move_and_reads_json(admin_client, ext, make_deal, stage_ids):
    deal = make_deal(title="Pilot", expected_revenue="2000.00", stage="New").id
    response = drop(admin_client, deal, stage_ids["Negotiation"])
    assert response.status_code == 200
    assert response.json == {
        "id": deal,
        "stage_id": stage_ids["Negotiation"],
        "stage": "Negotiation",
        "state": "open",
    }
    assert deal_state(ext, deal)[:3] == ("Negotiation", "open", 75)

    refused = drop(admin_client, deal, stage_ids["Lost"])
    assert refused.status_code == 422
    assert refused.json["error"]["fields"] == {"lost_reason": ["say why the deal was lost"]}
    assert deal_state(ext, deal)[0] == "Negotiation"
    assert drop(admin_client, deal, stage_ids["Lost"], "Budget cut").status_code == 200
    assert deal_state(ext, deal)[1:] == ("lost", 0, Decimal("2000.00"), "Budget cut")


def test_moving_a_deal_needs_the_csrf_token(admin_client, ext, make_deal, stage_ids):
    deal = make_deal(stage="New").id
    response = admin_client.post(f"/crm/deals/{deal}/move", data={"stage": stage_ids["Won"]})
    assert response.status_code == 400
    assert deal_state(ext, deal)[0] == "New"


def test_winning_a_deal_without_accounting_works(admin_client, ext, make_deal, stage_ids):
    deal = make_deal(title="Big fleet", expected_revenue="10000.00", stage="Negotiation").id
    response = move(admin_client, deal, stage_ids["Won"])
    assert redirect_path(response).startswith("/crm/pipeline")
    assert deal_state(ext, deal)[:2] == ("Won", "won")
    assert "“Big fleet” moved to Won." in flashes(admin_client.get(redirect_path(response)))


@pytest.mark.plugins("crm", "accounting")
def test_winning_a_deal_with_accounting_drafts_an_invoice(admin_client, ext, make_deal, customer, stage_ids):
    from plugins.accounting.models import Invoice

    deal = make_deal(title="Big fleet", expected_revenue="10000.00", stage="Negotiation").id
    response = move(admin_client, deal, stage_ids["Won"])
    assert redirect_path(response).startswith("/crm/pipeline")
    assert deal_state(ext, deal)[:2] == ("Won", "won")
    with reading(ext) as session:
        invoices = session.scalars(select(Invoice).where(Invoice.origin == f"crm.deal:{deal}")).all()
        assert [(i.state, i.kind, i.contact_id, i.total) for i in invoices] == [
            ("draft", "out_invoice", customer, Decimal("10000.00"))
        ]


# --- deals: list and form -------------------------------------------------------------------------------


def test_a_deal_is_created_from_the_form(admin_client, admin_user, ext, customer, stage_ids):
    form = admin_client.get(f"/crm/deals/new?contact_id={customer}")
    assert form.status_code == 200
    html = page(form)
    assert f'<option value="{customer}" selected>Acme Corporation (buy@acme.example)</option>' in html
    assert f'<option value="{admin_user}" selected>admin@test.example</option>' in html
    response = submit(
        admin_client,
        "/crm/deals/new",
        deal_form(customer, owner_id=admin_user, stage=stage_ids["Proposal"], probability="60"),
    )
    match = re.fullmatch(r"/crm/deals/(\d+)", redirect_path(response))
    assert match
    detail = admin_client.get(redirect_path(response))
    assert "Deal “Fleet renewal” created." in flashes(detail)
    text = visible(detail)
    assert "Fleet renewal Open" in text
    assert "Customer Acme Corporation Stage Proposal Expected revenue 12,000.00 USD Probability 60%" in text
    assert "Weighted revenue 7,200.00 USD" in text
    assert f"Expected close Mar 31, {NEXT_YEAR}" in text
    assert deal_state(ext, int(match.group(1))) == ("Proposal", "open", 60, Decimal("12000.00"), "")


def test_a_deal_with_a_negative_revenue_shows_the_error_and_stores_nothing(admin_client, ext, customer):
    response = submit(admin_client, "/crm/deals/new", deal_form(customer, expected_revenue="-5.00"))
    assert response.status_code == 422
    assert field_error(response, "expected_revenue") == "must not be negative"
    assert "The deal was not saved" in visible(response)
    assert 'value="Fleet renewal"' in page(response)  # what the user typed comes back
    assert count(ext, Deal) == 0


def test_bad_probability_contact_and_stage_are_shown(admin_client, ext, customer):
    response = submit(
        admin_client,
        "/crm/deals/new",
        deal_form(customer, probability="150", contact_id="999999", stage="4242"),
    )
    assert response.status_code == 422
    assert field_error(response, "probability") == "must be between 0 and 100"
    assert field_error(response, "contact_id") == "no such contact"
    assert field_error(response, "stage") == "unknown stage"
    response = submit(admin_client, "/crm/deals/new", deal_form(customer, probability="-1", title=""))
    assert field_error(response, "probability") == "must be between 0 and 100"
    assert field_error(response, "title") == "is required"
    assert count(ext, Deal) == 0


def test_a_deal_is_edited(admin_client, ext, make_deal, customer, stage_ids):
    deal = make_deal(title="Pilot", expected_revenue="2000.00", stage="New").id
    form = admin_client.get(f"/crm/deals/{deal}/edit")
    assert 'value="2000.00"' in page(form)
    response = submit(
        admin_client,
        f"/crm/deals/{deal}/edit",
        deal_form(customer, title="Pilot, phase 2", expected_revenue="2500.00", probability="10",
                  stage=stage_ids["New"]),
    )  # fmt: skip
    assert redirect_path(response) == f"/crm/deals/{deal}"
    assert deal_state(ext, deal) == ("New", "open", 10, Decimal("2500.00"), "")
    refused = submit(
        admin_client,
        f"/crm/deals/{deal}/edit",
        deal_form(customer, stage=stage_ids["Lost"], probability="10"),
    )
    assert refused.status_code == 422
    assert field_error(refused, "lost_reason") == "say why the deal was lost"
    assert deal_state(ext, deal) == ("New", "open", 10, Decimal("2500.00"), "")


def test_the_deal_list_filters_sorts_and_exports(admin_client, admin_user, make_deal, stage_ids):
    make_deal(title="Alpha", expected_revenue="300.00", stage="New", owner_id=admin_user)
    make_deal(title="Bravo", expected_revenue="100.00", stage="Won", expected_close=f"{NEXT_YEAR}-01-15")
    make_deal(title="Charlie", expected_revenue="200.00", stage="Lost", lost_reason="Too pricey")

    listing = admin_client.get("/crm/deals")
    assert listing.status_code == 200
    assert table_column(listing) == ["Charlie", "Bravo", "Alpha"]  # newest first
    assert table_column(admin_client.get("/crm/deals?sort=expected_revenue&dir=asc")) == [
        "Bravo",
        "Charlie",
        "Alpha",
    ]
    assert table_column(admin_client.get("/crm/deals?state=won")) == ["Bravo"]
    assert table_column(admin_client.get("/crm/deals?state=open")) == ["Alpha"]
    assert table_column(admin_client.get(f"/crm/deals?stage_id={stage_ids['Lost']}")) == ["Charlie"]
    assert table_column(admin_client.get(f"/crm/deals?owner_id={admin_user}")) == ["Alpha"]
    assert table_column(admin_client.get("/crm/deals?q=brav")) == ["Bravo"]
    assert table_column(admin_client.get("/crm/deals?q=acme")) == ["Charlie", "Bravo", "Alpha"]
    assert "No deals match." in visible(admin_client.get("/crm/deals?q=zulu"))
    assert "No deals match." in visible(admin_client.get("/crm/deals?stage_id=999999"))

    rows = csv_rows(admin_client.get("/crm/deals?format=csv&sort=title&dir=asc"))
    assert rows[0] == [
        "id", "title", "customer", "pipeline", "stage", "state", "expected_revenue", "probability",
        "weighted_revenue", "currency", "expected_close", "owner", "closed_on", "lost_reason",
    ]  # fmt: skip
    closed = TODAY.isoformat()
    assert [r[1:] for r in rows[1:]] == [
        ["Alpha", "Acme Corporation", "Sales", "New", "open", "300.00", "10", "30.00", "USD", "",
         "admin@test.example", "", ""],
        ["Bravo", "Acme Corporation", "Sales", "Won", "won", "100.00", "100", "100.00", "USD",
         f"{NEXT_YEAR}-01-15", "", closed, ""],
        ["Charlie", "Acme Corporation", "Sales", "Lost", "lost", "200.00", "0", "0.00", "USD", "", "", closed,
         "Too pricey"],
    ]  # fmt: skip


def test_the_deal_list_pages_with_a_cursor(admin_client, session, customer):
    from plugins.crm.services import deals

    for number in range(51):
        deals.create_deal(
            session, {"title": f"Deal {number:02d}", "contact_id": customer, "expected_revenue": "1.00"}
        )
    session.commit()
    first = admin_client.get("/crm/deals?sort=title&dir=asc")
    titles = table_column(first)
    assert len(titles) == 50 and titles[0] == "Deal 00" and titles[-1] == "Deal 49"
    link = next_page_link(first)
    assert link
    second = admin_client.get(link)
    assert table_column(second) == ["Deal 50"] and next_page_link(second) is None


# --- activities -----------------------------------------------------------------------------------------


def test_an_activity_is_planned_on_the_deal_page(admin_client, admin_user, ext, make_deal):
    deal = make_deal(title="Pilot", stage="New").id
    detail = admin_client.get(f"/crm/deals/{deal}")
    assert "Plan an activity" in visible(detail) and "No activities yet." in visible(detail)
    form = {"deal_id": deal, "next": "deal", "kind": "call", "subject": "", "due_date": "", "notes": ""}
    refused = submit(admin_client, "/crm/activities/new", {**form, "assignee_id": admin_user},
                     form_page=f"/crm/deals/{deal}")  # fmt: skip
    assert refused.status_code == 422
    assert field_error(refused, "subject") == "is required"
    assert "Pilot" in visible(refused) and "Move to stage" in visible(refused)  # the deal page again
    assert count(ext, Activity) == 0

    due = (TODAY + dt.timedelta(days=3)).isoformat()
    response = submit(
        admin_client,
        "/crm/activities/new",
        {**form, "subject": "Call the buyer", "due_date": due, "assignee_id": admin_user},
        form_page=f"/crm/deals/{deal}",
    )
    assert redirect_path(response) == f"/crm/deals/{deal}"
    detail = admin_client.get(f"/crm/deals/{deal}")
    assert "Activity “Call the buyer” planned." in flashes(detail)
    text = visible(detail)
    due_text = (TODAY + dt.timedelta(days=3)).strftime("%b %-d, %Y")
    assert f"Call Call the buyer due {due_text} · admin@test.example" in text
    with reading(ext) as session:
        activity = session.scalars(select(Activity)).one()
        assert (activity.deal_id, activity.assignee_id, activity.done) == (deal, admin_user, False)


def test_an_activity_is_planned_on_a_contact_or_a_lead(admin_client, ext, customer, session):
    from plugins.crm.services import leads

    lead = leads.create_lead(session, {"name": "Jo Buyer", "email": "jo@example.com"}).id
    session.commit()
    form = admin_client.get(f"/crm/activities/new?contact_id={customer}&next=contact")
    assert form.status_code == 200 and "Plan an activity with Acme Corporation" in visible(form)
    response = submit(
        admin_client,
        "/crm/activities/new",
        {"contact_id": customer, "next": "contact", "kind": "meeting", "subject": "Visit", "assignee_id": ""},
        form_page=f"/crm/activities/new?contact_id={customer}",
    )
    assert redirect_path(response) == f"/contacts/{customer}"
    response = submit(
        admin_client,
        "/crm/activities/new",
        {"lead_id": lead, "kind": "email", "subject": "Send the brochure"},
        form_page=f"/crm/activities/new?lead_id={lead}",
    )
    assert response.status_code == 302
    refused = submit(
        admin_client,
        "/crm/activities/new",
        {"kind": "fax", "subject": "Nowhere"},
        form_page="/crm/activities/new",
    )
    assert refused.status_code == 422
    assert field_error(refused, "kind") == "must be one of call, meeting, email, task"
    with reading(ext) as session:
        rows = session.execute(select(Activity.kind, Activity.contact_id, Activity.lead_id)).all()
        assert sorted(rows, key=lambda r: r.kind) == [("email", None, lead), ("meeting", customer, None)]


def test_my_activities_highlight_the_overdue_ones_and_mark_done(
    admin_client, admin_user, ext, session, make_deal
):
    deal = make_deal(title="Pilot", stage="New")
    late = activity_service.create_activity(
        session, {"deal_id": deal.id, "subject": "Send the contract", "kind": "email",
                  "due_date": TODAY - dt.timedelta(days=2), "assignee_id": admin_user},
    ).id  # fmt: skip
    activity_service.create_activity(
        session, {"deal_id": deal.id, "subject": "Demo", "kind": "meeting",
                  "due_date": TODAY + dt.timedelta(days=5), "assignee_id": admin_user},
    )  # fmt: skip
    activity_service.create_activity(
        session, {"deal_id": deal.id, "subject": "Someone else's", "assignee_id": ""}
    )
    session.commit()

    response = admin_client.get("/crm/activities")
    assert response.status_code == 200
    assert table_column(response, 2) == ["Send the contract", "Demo"]
    assert re.search(rf'<tr id="activity-{late}" class="overdue">', page(response))
    assert "1 activity is overdue." in visible(response)
    assert table_column(response, 0)[0] == f"{(TODAY - dt.timedelta(days=2)).strftime('%b %-d, %Y')} Overdue"
    assert "Overdue" not in table_column(response, 0)[1]
    assert table_column(response, 3) == ["Pilot", "Pilot"]

    done = submit(
        admin_client, f"/crm/activities/{late}/done", {"next": "activities"}, form_page="/crm/activities"
    )
    assert redirect_path(done) == "/crm/activities"
    after = admin_client.get("/crm/activities")
    assert "Done: Send the contract." in flashes(after)
    assert table_column(after, 2) == ["Demo"] and "overdue" not in visible(after)
    with reading(ext) as session:
        assert session.get(Activity, late).done is True
    again = submit(admin_client, f"/crm/activities/{late}/done", form_page="/crm/activities")
    assert "the activity is already done" in flashes(admin_client.get(redirect_path(again)))
    assert table_column(admin_client.get("/crm/activities?done=1"), 2) == ["Send the contract", "Demo"]


# --- quotes ---------------------------------------------------------------------------------------------


def quote_form(lines: list[dict[str, str]], blank_rows: int = 3, **header: str) -> dict[str, Any]:
    rows = [{"description": "", "quantity": "", "unit_price": "", "discount": "", **line} for line in lines]
    rows += [{"description": "", "quantity": "", "unit_price": "", "discount": ""}] * blank_rows
    return {
        "date": f"{NEXT_YEAR}-02-01",
        "valid_until": f"{NEXT_YEAR}-03-01",
        "notes": "",
        **header,
        **{f"line_{name}": [row[name] for row in rows] for name in rows[0]},
    }


CONSULTING = {"description": "Consulting", "quantity": "3", "unit_price": "1250.00", "discount": "10"}
SETUP = {"description": "Setup", "quantity": "", "unit_price": "99.99", "discount": ""}


def test_a_quote_with_a_discount_shows_exact_totals_and_accepting_wins_the_deal(admin_client, ext, make_deal):
    deal = make_deal(title="Fleet", expected_revenue="4000.00", stage="Proposal").id
    form = admin_client.get(f"/crm/deals/{deal}/quotes/new")
    assert form.status_code == 200
    assert page(form).count('name="line_description"') == 5  # blank rows without JavaScript

    response = submit(admin_client, f"/crm/deals/{deal}/quotes/new", quote_form([CONSULTING, SETUP]))
    match = re.fullmatch(r"/crm/quotes/(\d+)", redirect_path(response))
    assert match
    quote = int(match.group(1))
    detail = admin_client.get(f"/crm/quotes/{quote}")
    assert f"Quote QUO/{NEXT_YEAR}/0001 saved as a draft." in flashes(detail)
    text = visible(detail)
    # 3 x 1,250.00 = 3,750.00 less 10% = 3,375.00; 1 x 99.99
    assert "Consulting 3 1,250.00 10 3,375.00 Setup 1 99.99 99.99" in text
    assert figure(detail, "subtotal") == "3,849.99"
    assert figure(detail, "discount") == "375.00"
    assert figure(detail, "total") == "3,474.99"
    assert f"Quote QUO/{NEXT_YEAR}/0001 Draft" in text

    edit = admin_client.get(f"/crm/quotes/{quote}/edit")
    assert 'value="1250.00"' in page(edit) and 'id="form-total">3,474.99<' in page(edit)

    sent = submit(admin_client, f"/crm/quotes/{quote}/send", form_page=f"/crm/quotes/{quote}")
    assert redirect_path(sent) == f"/crm/quotes/{quote}"
    assert f"Quote QUO/{NEXT_YEAR}/0001 Sent" in visible(admin_client.get(f"/crm/quotes/{quote}"))

    accepted = submit(admin_client, f"/crm/quotes/{quote}/accept", form_page=f"/crm/quotes/{quote}")
    page_after = admin_client.get(redirect_path(accepted))
    assert f"Quote QUO/{NEXT_YEAR}/0001 accepted: the deal is won at 3,474.99." in flashes(page_after)
    assert deal_state(ext, deal)[:4] == ("Won", "won", 100, Decimal("3474.99"))
    deal_page = visible(admin_client.get(f"/crm/deals/{deal}"))
    assert f"QUO/{NEXT_YEAR}/0001 Feb 1, {NEXT_YEAR} 3,474.99 Accepted" in deal_page
    assert "New quote" not in deal_page  # a won deal takes no new quote
    assert "Accept" not in visible(admin_client.get(f"/crm/quotes/{quote}")).split()


def test_a_quote_is_printed_on_its_own_page(admin_client, make_deal):
    deal = make_deal(title="Fleet", stage="Proposal").id
    quote = redirect_path(submit(admin_client, f"/crm/deals/{deal}/quotes/new", quote_form([CONSULTING])))
    response = admin_client.get(f"{quote}/print")
    assert response.status_code == 200
    html = page(response)
    assert '<nav class="sidebar"' not in html
    assert '<link rel="stylesheet" href="/crm/assets/print.css">' in html
    text = visible(response)
    assert f"Quote QUO/{NEXT_YEAR}/0001" in text and "For Acme Corporation buy@acme.example" in text
    assert "Consulting 3 1,250.00 10 3,375.00" in text
    assert "Subtotal 3,750.00 Discount 375.00 Total (USD) 3,375.00" in text
    assert admin_client.get("/crm/assets/print.css").status_code == 200


def test_a_bad_quote_line_is_shown_next_to_it_and_nothing_is_stored(admin_client, ext, make_deal):
    deal = make_deal(stage="Proposal").id
    bad = {**CONSULTING, "discount": "120"}
    response = submit(admin_client, f"/crm/deals/{deal}/quotes/new", quote_form([SETUP, bad]))
    assert response.status_code == 422
    assert field_error(response, "lines-1-discount") == "must be a percentage between 0 and 100"
    assert 'value="120"' in page(response)
    empty = submit(admin_client, f"/crm/deals/{deal}/quotes/new", quote_form([]))
    assert empty.status_code == 422 and field_error(empty, "lines") == "a quote needs at least one line"
    assert count(ext, Quote) == 0


def test_declining_a_quote_leaves_the_deal_open(admin_client, ext, make_deal):
    deal = make_deal(stage="Proposal").id
    quote = redirect_path(submit(admin_client, f"/crm/deals/{deal}/quotes/new", quote_form([SETUP])))
    submit(admin_client, f"{quote}/decline", form_page=quote)
    assert "Declined" in visible(admin_client.get(quote))
    assert deal_state(ext, deal)[:2] == ("Proposal", "open")
    refused = submit(admin_client, f"{quote}/accept", form_page=quote)
    assert any("is declined" in message for message in flashes(admin_client.get(redirect_path(refused))))
    assert deal_state(ext, deal)[:2] == ("Proposal", "open")


# --- forecast, dashboard, contact page ------------------------------------------------------------------


@pytest.fixture
def worked_example(make_deal, admin_user) -> dict[str, int]:
    """10,000.00 at 50% closing in June + 4,000.00 at 25% in July; one deal won (2,500.00), one lost."""
    return {
        "june": make_deal(title="June deal", expected_revenue="10000.00", stage="Proposal",
                          expected_close=f"{NEXT_YEAR}-06-15", owner_id=admin_user).id,
        "july": make_deal(title="July deal", expected_revenue="4000.00", stage="Qualified",
                          expected_close=f"{NEXT_YEAR}-07-20", owner_id="").id,
        "won": make_deal(title="Won deal", expected_revenue="2500.00", stage="Won").id,
        "lost": make_deal(title="Lost deal", expected_revenue="900.00", stage="Lost", lost_reason="Price").id,
    }  # fmt: skip


def test_the_forecast_page_shows_the_worked_example(admin_client, worked_example):
    response = admin_client.get("/crm/forecast")
    assert response.status_code == 200
    text = visible(response)
    assert "Win rate 50.0% Won revenue 2,500.00 Won deals 1 Lost deals 1" in text
    month = re.search(r'<table class="list forecast-by-month">.*?</table>', page(response), re.S).group(0)
    month_text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", month)).split())
    assert f"Jun {NEXT_YEAR} 1 10,000.00 5,000.00 Jul {NEXT_YEAR} 1 4,000.00 1,000.00" in month_text
    assert month_text.endswith("Total (USD) 2 14,000.00 6,000.00")
    owner = re.search(r'<table class="list forecast-by-owner">.*?</table>', page(response), re.S).group(0)
    owner_text = " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", owner)).split())
    assert "admin@test.example 1 10,000.00 5,000.00 Unassigned 1 4,000.00 1,000.00" in owner_text
    funnel = chart(response, "Sales funnel")
    for label, deals in (("New", 0), ("Qualified", 1), ("Proposal", 1), ("Won", 1), ("Lost", 1)):
        assert f"<title>{label}: {deals}</title>" in funnel
    months = chart(response, "Revenue forecast (weighted)")
    assert f"<title>Jun {NEXT_YEAR}: 5000.00</title>" in months
    assert f"<title>Jul {NEXT_YEAR}: 1000.00</title>" in months


def test_the_forecast_period_counts_only_deals_closed_in_it(admin_client, worked_example):
    before = (TODAY - dt.timedelta(days=30)).isoformat()
    response = admin_client.get(f"/crm/forecast?date_from={before}&date_to={before}")
    assert "Win rate — Won revenue 0.00 Won deals 0 Lost deals 0" in visible(response)
    refused = admin_client.get("/crm/forecast?date_from=2026-13-01")
    assert refused.status_code == 422
    assert field_error(refused, "date_from") == "must be a date (YYYY-MM-DD)"


def test_the_dashboard_shows_the_funnel_and_forecast_charts(admin_client, make_deal, stage_ids):
    empty = admin_client.get("/")
    assert empty.status_code == 200
    assert "<title>Proposal: 0</title>" in chart(empty, "Sales funnel")
    assert "<rect" not in chart(empty, "Revenue forecast (weighted)")
    assert "No open deals yet." in visible(empty)

    make_deal(
        title="June deal", expected_revenue="10000.00", stage="Proposal", expected_close=f"{NEXT_YEAR}-06-15"
    )
    response = admin_client.get("/")
    assert "<title>Proposal: 1</title>" in chart(response, "Sales funnel")
    assert f"<title>Jun {NEXT_YEAR}: 5000.00</title>" in chart(response, "Revenue forecast (weighted)")
    assert "Weighted open pipeline: 5,000.00 USD of 10,000.00." in visible(response)


def test_the_contact_page_shows_deals_open_activities_and_the_last_interaction(
    admin_client, admin_user, session, make_deal, customer
):
    deal = make_deal(title="Fleet", expected_revenue="4000.00", stage="Proposal")
    activity_service.create_activity(
        session, {"deal_id": deal.id, "subject": "Send the offer", "kind": "email",
                  "due_date": TODAY - dt.timedelta(days=1), "assignee_id": admin_user},
    )  # fmt: skip
    call = activity_service.create_activity(
        session, {"contact_id": customer, "subject": "Intro call", "kind": "call"}
    )
    activity_service.complete_activity(session, call)
    other = contact_service.create_contact(session, kind="person", name="Nobody Yet")
    session.commit()

    response = admin_client.get(f"/contacts/{customer}")
    assert response.status_code == 200
    text = visible(response)
    assert "Sales Deal Stage Value Fleet Proposal 4,000.00 USD" in text
    assert "Open activities Email: Send the offer due" in text and "Overdue" in text
    assert f"Last interaction: Call: Intro call ({TODAY.strftime('%b %-d, %Y')})" in text
    assert f'href="/crm/deals/new?contact_id={customer}"' in page(response)
    assert f'href="/crm/deals/{deal.id}"' in page(response)

    bare = visible(admin_client.get(f"/contacts/{other.id}"))
    assert "No deals with this contact." in bare and "Last interaction: none yet" in bare


# --- permissions and escaping ---------------------------------------------------------------------------


def test_a_viewer_sees_the_pipeline_without_buttons_and_is_refused_every_change(
    make_client, ext, make_deal, stage_ids, session
):
    deal = make_deal(title="Pilot", stage="Proposal").id
    activity = activity_service.create_activity(session, {"deal_id": deal, "subject": "Call"}).id
    session.commit()
    viewer = make_client("viewer@test.example", permissions=("crm.view", "contacts.view"))
    board = viewer.get("/crm/pipeline")
    assert board.status_code == 200 and "Pilot" in visible(board)
    assert "crm-move-form" not in page(board) and 'draggable="true"' not in page(board)
    assert "New deal" not in visible(board)
    detail = visible(viewer.get(f"/crm/deals/{deal}"))
    for button in ("Edit", "New quote", "Plan an activity", "Move", "Mark done"):
        assert button not in detail, button
    for path in ("/crm/deals", "/crm/activities", "/crm/forecast"):
        assert viewer.get(path).status_code == 200, path
    refused = {
        f"/crm/deals/{deal}/move": {"stage": stage_ids["Won"]},
        "/crm/deals/new": {"title": "X"},
        f"/crm/deals/{deal}/edit": {"title": "X"},
        "/crm/activities/new": {"deal_id": deal, "subject": "X"},
        f"/crm/activities/{activity}/done": {},
        f"/crm/deals/{deal}/quotes/new": {},
    }
    for path, data in refused.items():
        assert_forbidden(submit(viewer, path, data, form_page="/crm/pipeline"), "crm.deal.manage")
    assert_forbidden(viewer.get("/crm/deals/new"), "crm.deal.manage")
    assert deal_state(ext, deal)[0] == "Proposal" and count(ext, Deal) == 1
    with reading(ext) as read:
        assert read.get(Activity, activity).done is False

    outsider = make_client("outsider@test.example", permissions=("contacts.view",))
    for path in ("/crm/pipeline", "/crm/deals", f"/crm/deals/{deal}", "/crm/activities", "/crm/forecast"):
        assert_forbidden(outsider.get(path), "crm.view")
    contact_page = outsider.get(f"/contacts/{pipeline_contact(ext, deal)}")
    assert contact_page.status_code == 200 and "Pilot" not in visible(contact_page)
    assert "Sales funnel" not in page(outsider.get("/"))


def pipeline_contact(ext: Any, deal_id: int) -> int:
    with reading(ext) as session:
        return session.get(Deal, deal_id).contact_id


def test_a_quote_belongs_to_its_company_and_unknown_ids_are_404(admin_client, make_deal):
    for path in (
        "/crm/deals/999999",
        "/crm/quotes/999999",
        "/crm/quotes/999999/print",
        "/crm/pipeline?pipeline_id=999999",
    ):
        assert admin_client.get(path).status_code == 404, path


def test_user_supplied_text_is_escaped_everywhere(admin_client, admin_user, session, stage_ids):
    from plugins.crm.services import deals, quotes

    evil = contact_service.create_contact(session, kind="organization", name="<b>Evil</b> & Co").id
    deal = deals.create_deal(
        session,
        {"title": "<img src=x onerror=alert(1)>", "contact_id": evil, "expected_revenue": "10.00",
         "stage": "Proposal", "expected_close": f"{NEXT_YEAR}-06-01"},
    )  # fmt: skip
    activity_service.create_activity(
        session, {"deal_id": deal.id, "subject": "<script>alert(1)</script>", "assignee_id": admin_user}
    )
    quote = quotes.create_quote(
        session, deal, {"lines": [{"description": "<i>line</i>", "quantity": "1", "unit_price": "10.00"}]}
    )
    session.commit()
    for path in (
        "/crm/pipeline",
        "/crm/deals",
        f"/crm/deals/{deal.id}",
        "/crm/activities",
        f"/crm/quotes/{quote.id}",
        f"/crm/quotes/{quote.id}/print",
        f"/contacts/{evil}",
        "/",
    ):
        html = page(admin_client.get(path))
        assert "<b>Evil</b>" not in html and "<img src=x" not in html, path
        assert "<script>alert(1)" not in html and "<i>line</i>" not in html, path
    board = page(admin_client.get("/crm/pipeline"))
    assert "&lt;img src=x onerror=alert(1)&gt;" in board and "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in board
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page(admin_client.get("/crm/activities"))
    assert "&lt;i&gt;line&lt;/i&gt;" in page(admin_client.get(f"/crm/quotes/{quote.id}/print"))


def test_the_pipeline_select_shows_another_pipeline(admin_client, ext, session, customer):
    from plugins.crm.services import deals

    other = pipeline_service.default_pipeline(session)
    from plugins.crm.models import Pipeline

    second = Pipeline(company_id=other.company_id, name="Renewals")
    session.add(second)
    session.flush()
    stage = pipeline_service.create_stage(session, second, name="Due", probability=80)
    deals.create_deal(session, {"title": "Renewal", "contact_id": customer, "expected_revenue": "1000.00",
                                "pipeline_id": second.id})  # fmt: skip
    session.commit()
    board = admin_client.get("/crm/pipeline")
    assert '<select name="pipeline_id">' in page(board) and ">Renewal</a>" not in page(board)
    renewals = admin_client.get(f"/crm/pipeline?pipeline_id={second.id}")
    assert "Pipeline Renewals" in visible(renewals)
    assert column_text(renewals, stage.id) == "Due 1 1,000.00 · weighted 800.00 · 80%"
