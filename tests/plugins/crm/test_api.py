"""CRM through the REST API: a salesperson works a lead into a won deal (and, with accounting on, the
accountant finds its draft invoice); leads, deals, stages, activities, quotes, the forecast and CSV
import; bad input, permissions and the OpenAPI document following the plugin's state."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from core.models import Contact
from core.testing import ApiClient
from core.web.guards import access_of
from plugins.crm.models import Activity, Deal, Lead, Quote, QuoteLine, Stage

pytestmark = pytest.mark.plugins("crm")

API = "/api/v1"
CRM = f"{API}/crm"
TODAY = dt.date.today().isoformat()


# --- shortcuts ---------------------------------------------------------------------------------------


def assert_error(response: Any, status: int, code: str | None = None, fields: tuple[str, ...] = ()) -> dict:
    """The response is ``status`` with core's error shape, naming ``fields`` when given."""
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
            for model in (Lead, Deal, Activity, Quote, QuoteLine, Stage, Contact)
        }


def create_contact(api: ApiClient, name: str, email: str | None = None) -> int:
    body = {"kind": "organization", "name": name, **({"email": email} if email else {})}
    return ok(api.post(f"{API}/contacts", json=body), 201)["id"]


def new_deal(api: ApiClient, contact_id: int, **data: Any) -> dict:
    body = {"title": "Rollout", "contact_id": contact_id, "expected_revenue": "1000.00", **data}
    return ok(api.post(f"{CRM}/deals", json=body), 201)


def new_lead(api: ApiClient, **data: Any) -> dict:
    return ok(api.post(f"{CRM}/leads", json={"name": "Hank Scorpio", **data}), 201)


# Licences 10 x 1,000.00 less 10% = 9,000.00; training 2 x 750.00 = 1,500.00: 11,500.00 gross,
# 1,000.00 discount, 10,500.00 total.
LINES = [
    {"description": "Licences", "quantity": "10", "unit_price": "1000.00", "discount": "10"},
    {"description": "Training day", "quantity": "2", "unit_price": "750.00"},
]


@pytest.fixture
def acme(admin_api: ApiClient) -> int:
    return create_contact(admin_api, "Acme Corporation", "buy@acme.example")


@pytest.fixture
def deal(admin_api: ApiClient, acme: int) -> dict:
    return new_deal(admin_api, acme)


# --- the story ---------------------------------------------------------------------------------------


def work_a_lead_into_a_won_deal(sales: ApiClient) -> tuple[dict, dict]:
    """Lead -> qualify -> move -> activity -> quote -> accept: returns the won deal and the quote."""
    lead = new_lead(
        sales, company_name="Globex", email="Hank@Globex.example", phone="+1 555 0100", source="event"
    )
    assert (lead["status"], lead["email"], lead["owner_name"]) == (
        "new",
        "hank@globex.example",
        "sam@test.example",
    )
    assert ok(sales.get(f"{CRM}/leads/{lead['id']}/matches")) == {"items": [], "next_cursor": None}

    deal_data = {"title": "Globex rollout", "expected_revenue": "12000.00", "expected_close": "2026-06-30"}
    qualified = ok(sales.post(f"{CRM}/leads/{lead['id']}/qualify", json={"deal": deal_data}))
    assert qualified["status"] == "qualified" and qualified["contact_id"] and qualified["deal_id"]
    person = ok(sales.get(f"{API}/contacts/{qualified['contact_id']}"))
    assert (person["kind"], person["name"], person["email"]) == (
        "person",
        "Hank Scorpio",
        "hank@globex.example",
    )
    assert ok(sales.get(f"{API}/contacts/{person['parent_id']}"))["name"] == "Globex"

    # The company buys: the deal's customer is the organization the person is filed under.
    path = f"{CRM}/deals/{qualified['deal_id']}"
    deal = ok(sales.get(path))
    assert (deal["title"], deal["contact_id"], deal["contact_name"], deal["stage"], deal["state"]) == (
        "Globex rollout",
        person["parent_id"],
        "Globex",
        "New",
        "open",
    )
    # 12,000.00 at New (10%): 1,200.00 weighted; at Proposal (50%): 6,000.00.
    assert (deal["expected_revenue"], deal["probability"], deal["weighted_revenue"]) == (
        "12000.00",
        10,
        "1200.00",
    )
    assert (deal["owner_name"], deal["expected_close"], deal["currency"]) == (
        "sam@test.example",
        "2026-06-30",
        "USD",
    )
    moved = ok(sales.post(f"{path}/move", json={"stage": "Proposal"}))
    assert (moved["stage"], moved["probability"], moved["weighted_revenue"]) == ("Proposal", 50, "6000.00")

    demo = {"kind": "meeting", "subject": "Demo", "deal_id": deal["id"], "due_date": TODAY}
    meeting = ok(sales.post(f"{CRM}/activities", json=demo), 201)
    assert (meeting["assignee_name"], meeting["contact_id"], meeting["overdue"]) == (
        "sam@test.example",
        deal["contact_id"],
        False,
    )
    assert [a["subject"] for a in ok(sales.get(f"{CRM}/activities?mine=true"))["items"]] == ["Demo"]
    assert (
        ok(sales.post(f"{CRM}/activities/{meeting['id']}/done", json={"notes": "Went well"}))["done"] is True
    )
    assert ok(sales.get(f"{CRM}/activities"))["items"] == []

    quote = ok(sales.post(f"{path}/quotes", json={"date": "2026-03-10", "lines": LINES}), 201)
    assert (quote["number"], quote["state"], quote["deal_state"]) == ("QUO/2026/0001", "draft", "open")
    assert (quote["subtotal"], quote["discount_amount"], quote["total"]) == (
        "11500.00",
        "1000.00",
        "10500.00",
    )
    assert [(x["gross"], x["total"]) for x in quote["lines"]] == [
        ("10000.00", "9000.00"),
        ("1500.00", "1500.00"),
    ]
    assert ok(sales.post(f"{CRM}/quotes/{quote['id']}/send"))["state"] == "sent"
    accepted = ok(sales.post(f"{CRM}/quotes/{quote['id']}/accept"))
    assert (accepted["state"], accepted["deal_state"]) == ("accepted", "won")

    won = ok(sales.get(path))
    assert (won["state"], won["stage"], won["expected_revenue"], won["probability"], won["closed_on"]) == (
        "won",
        "Won",
        "10500.00",
        100,
        TODAY,
    )
    report = ok(sales.get(f"{CRM}/forecast"))
    assert (report["won"], report["lost"], report["win_rate"], report["won_revenue"]) == (
        1,
        0,
        "100.0",
        "10500.00",
    )
    return won, quote


@pytest.mark.plugins("crm", "accounting")
def test_a_salesperson_wins_a_lead_and_the_accountant_finds_the_draft_invoice(make_api_client: Any) -> None:
    sales = make_api_client("sam@test.example", roles=("Salesperson",))
    won, _quote = work_a_lead_into_a_won_deal(sales)

    accountant = make_api_client("alice@test.example", roles=("Accountant",))
    drafts = ok(accountant.get(f"{API}/accounting/invoices", query_string={"state": "draft"}))["items"]
    assert [(i["contact_id"], i["state"], i["number"], i["total"]) for i in drafts] == [
        (won["contact_id"], "draft", None, "10500.00")
    ]
    invoice = ok(accountant.get(f"{API}/accounting/invoices/{drafts[0]['id']}"))
    assert [(x["description"], x["quantity"], x["total"]) for x in invoice["lines"]] == [
        ("Globex rollout", "1.0000", "10500.00")
    ]


def test_a_lead_is_won_without_accounting(make_api_client: Any, admin_api: ApiClient) -> None:
    sales = make_api_client("sam@test.example", roles=("Salesperson",))
    won, _quote = work_a_lead_into_a_won_deal(sales)
    assert won["state"] == "won"
    assert_error(admin_api.get(f"{API}/accounting/invoices"), 404, "not_found")


# --- leads ----------------------------------------------------------------------------------------------


def test_qualifying_a_lead_whose_email_is_known_offers_the_match(
    admin_api: ApiClient, ext: Any, acme: int
) -> None:
    lead = new_lead(admin_api, company_name="Acme Corporation", email="BUY@acme.example")
    matches = ok(admin_api.get(f"{CRM}/leads/{lead['id']}/matches"))["items"]
    assert [(m["id"], m["name"], m["email"]) for m in matches] == [
        (acme, "Acme Corporation", "buy@acme.example")
    ]

    before = counts(ext)
    path = f"{CRM}/leads/{lead['id']}/qualify"
    error = assert_error(admin_api.post(path, json={}), 422, "validation_error", ("contact_id",))
    assert f"Acme Corporation (#{acme})" in error["fields"]["contact_id"][0]
    assert counts(ext) == before
    assert ok(admin_api.get(f"{CRM}/leads/{lead['id']}"))["status"] == "new"

    linked = ok(admin_api.post(path, json={"contact_id": acme, "deal": {"stage": "Qualified"}}))
    assert (linked["status"], linked["contact_id"]) == ("qualified", acme)
    deal = ok(admin_api.get(f"{CRM}/deals/{linked['deal_id']}"))
    assert (deal["contact_id"], deal["title"], deal["stage"], deal["probability"]) == (
        acme,
        "Acme Corporation",
        "Qualified",
        25,
    )
    assert counts(ext)["Contact"] == before["Contact"]
    assert_error(admin_api.post(path, json={"create_contact": True}), 409, "conflict", ("status",))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"deal": {"expected_revenue": "-1.00"}}, "deal.expected_revenue"),
        ({"deal": {"probability": 101}}, "deal.probability"),
        ({"deal": {"stage": "Closing"}}, "deal.stage"),
        ({"deal": {"stage": "Lost"}}, "deal.lost_reason"),
        ({"deal": {"colour": "red"}}, "deal.colour"),
        ({"deal": {"expected_close": "2026-02-30"}}, "deal.expected_close"),
        ({"contact_id": 987654}, "contact_id"),
        ({"contact_id": "1"}, "contact_id"),
        ({"create_contact": "yes please"}, "create_contact"),
    ],
)
def test_a_bad_qualification_stores_nothing(admin_api: ApiClient, ext: Any, body: dict, field: str) -> None:
    lead = new_lead(admin_api, company_name="Globex")
    before = counts(ext)
    path = f"{CRM}/leads/{lead['id']}/qualify"
    assert_error(admin_api.post(path, json=body), 422, "validation_error", (field,))
    assert counts(ext) == before
    assert ok(admin_api.get(f"{CRM}/leads/{lead['id']}"))["status"] == "new"


def test_a_lead_is_edited_then_disqualified_with_a_reason(admin_api: ApiClient, ext: Any) -> None:
    lead = new_lead(admin_api, email="hank@globex.example")
    path = f"{CRM}/leads/{lead['id']}"
    edited = ok(
        admin_api.patch(path, json={"phone": "555-0123", "status": "contacted", "source": "referral"})
    )
    assert (edited["phone"], edited["status"], edited["source"]) == ("555-0123", "contacted", "referral")
    assert_error(admin_api.patch(path, json={"status": "qualified"}), 422, "validation_error", ("status",))
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": None}):
        assert_error(admin_api.post(f"{path}/disqualify", json=body), 422, "validation_error", ("reason",))
    assert ok(admin_api.get(path))["status"] == "contacted"
    closed = ok(admin_api.post(f"{path}/disqualify", json={"reason": "Student project, no budget"}))
    assert (closed["status"], closed["disqualify_reason"]) == ("disqualified", "Student project, no budget")
    before = counts(ext)
    assert_error(admin_api.patch(path, json={"phone": "1"}), 409, "conflict")
    assert_error(admin_api.post(f"{path}/qualify", json={"create_contact": True}), 409, "conflict")
    assert counts(ext) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"email": "not-an-email"}, "email"),
        ({"source": "tv"}, "source"),
        ({"owner_id": 987654}, "owner_id"),
        ({"owner_id": "1"}, "owner_id"),
        ({"status": "qualified"}, "status"),
        ({"contact_id": 1}, "contact_id"),  # set by qualifying, not by hand
        ({"notes": "bad\x00"}, "notes"),
    ],
)
def test_bad_leads_are_refused(admin_api: ApiClient, ext: Any, body: dict, field: str) -> None:
    before = counts(ext)
    assert_error(
        admin_api.post(f"{CRM}/leads", json={"name": "Someone", **body}), 422, "validation_error", (field,)
    )
    assert counts(ext) == before


def test_lead_lists_filter_sort_and_page(admin_api: ApiClient) -> None:
    for name, company in (("Zed", "Globex"), ("Ann", "Initech"), ("Moe", "Globex")):
        new_lead(admin_api, name=name, company_name=company)
    ok(
        admin_api.post(
            f"{CRM}/leads/{new_lead(admin_api, name='Old')['id']}/disqualify", json={"reason": "No"}
        )
    )

    def names(**query: Any) -> list[str]:
        return [x["name"] for x in ok(admin_api.get(f"{CRM}/leads", query_string=query))["items"]]

    assert names() == ["Old", "Moe", "Ann", "Zed"]  # newest first
    assert names(sort="name") == ["Ann", "Moe", "Old", "Zed"]
    assert names(q="globex", sort="-name") == ["Zed", "Moe"]
    assert names(status="disqualified") == ["Old"]
    first = ok(admin_api.get(f"{CRM}/leads", query_string={"sort": "name", "limit": 3}))
    assert [x["name"] for x in first["items"]] == ["Ann", "Moe", "Old"] and first["next_cursor"]
    rest = ok(
        admin_api.get(
            f"{CRM}/leads", query_string={"sort": "name", "limit": 3, "cursor": first["next_cursor"]}
        )
    )
    assert ([x["name"] for x in rest["items"]], rest["next_cursor"]) == (["Zed"], None)


# --- CSV import -----------------------------------------------------------------------------------------

CSV = (
    "name,email,source,company_name\n"
    "Ada Lovelace,ada@example.org,event,Analytical Engines\n"
    "Bad Email,not-an-email,web,\n"
    "Grace Hopper,grace@example.org,tv,\n"
    "Too,many,columns,here,really\n"
    "Alan Turing,,referral,Bletchley\n"
)


def test_a_csv_import_is_previewed_then_refused_whole_or_imported_without_the_bad_rows(
    admin_api: ApiClient, ext: Any
) -> None:
    before = counts(ext)
    path = f"{CRM}/leads/import"
    preview = ok(admin_api.post(path, json={"csv": CSV, "preview": True}))
    assert (preview["preview"], preview["total"], preview["valid"], preview["imported"]) == (True, 5, 2, 0)
    assert [(e["row"], sorted(e["fields"])) for e in preview["errors"]] == [
        (2, ["email"]),
        (3, ["source"]),
        (4, ["row"]),
    ]
    assert counts(ext) == before

    error = assert_error(admin_api.post(path, json={"csv": CSV}), 422, "validation_error")
    assert set(error["fields"]) == {"rows.2.email", "rows.3.source", "rows.4.row"}
    assert counts(ext) == before

    done = ok(admin_api.post(path, json={"csv": CSV, "skip_invalid": True}))
    assert (done["preview"], done["valid"], done["imported"], len(done["errors"])) == (False, 2, 2, 3)
    imported = [ok(admin_api.get(f"{CRM}/leads/{i}")) for i in done["lead_ids"]]
    assert [(x["name"], x["source"], x["email"], x["owner_name"]) for x in imported] == [
        ("Ada Lovelace", "event", "ada@example.org", "admin@test.example"),
        ("Alan Turing", "referral", None, "admin@test.example"),
    ]
    assert counts(ext)["Lead"] == before["Lead"] + 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"csv": ""}, "csv"),
        ({"csv": "email\nada@example.org\n"}, "csv"),  # no name column
        ({"csv": "name,fax\nAda,1\n"}, "csv"),
        ({"csv": "name\nAda\x00\n"}, "csv"),
        ({"csv": 5}, "csv"),
        ({}, "csv"),
        ({"csv": "name\nAda\n", "preview": "perhaps"}, "preview"),
    ],
)
def test_an_unreadable_csv_is_refused(admin_api: ApiClient, ext: Any, body: dict, field: str) -> None:
    before = counts(ext)
    assert_error(admin_api.post(f"{CRM}/leads/import", json=body), 422, "validation_error", (field,))
    assert counts(ext) == before


# --- deals ----------------------------------------------------------------------------------------------


def test_a_deal_is_created_edited_moved_and_deleted(admin_api: ApiClient, acme: int) -> None:
    deal = new_deal(admin_api, acme, expected_revenue="2500", expected_close="2026-05-31")
    assert (deal["stage"], deal["probability"], deal["expected_revenue"], deal["weighted_revenue"]) == (
        "New",
        10,
        "2500.00",
        "250.00",
    )
    assert (deal["owner_name"], deal["state"], deal["closed_on"], deal["lost_reason"]) == (
        "admin@test.example",
        "open",
        None,
        "",
    )
    path = f"{CRM}/deals/{deal['id']}"
    assert ok(admin_api.get(path)) == deal
    edited = ok(admin_api.patch(path, json={"probability": 35, "title": "Bigger rollout"}))
    assert (edited["title"], edited["probability"], edited["weighted_revenue"]) == (
        "Bigger rollout",
        35,
        "875.00",
    )
    stages = {s["name"]: s["id"] for s in ok(admin_api.get(f"{CRM}/stages"))["items"]}
    moved = ok(admin_api.post(f"{path}/move", json={"stage": stages["Negotiation"]}))
    assert (moved["stage"], moved["stage_id"], moved["probability"]) == (
        "Negotiation",
        stages["Negotiation"],
        75,
    )

    error = assert_error(admin_api.post(f"{path}/move", json={"stage": "Lost"}), 422, "validation_error")
    assert set(error["fields"]) == {"lost_reason"}
    assert ok(admin_api.get(path))["stage"] == "Negotiation"
    lost = ok(admin_api.post(f"{path}/move", json={"stage": "lost", "lost_reason": "Chose a competitor"}))
    assert (lost["state"], lost["probability"], lost["lost_reason"], lost["closed_on"]) == (
        "lost",
        0,
        "Chose a competitor",
        TODAY,
    )
    reopened = ok(admin_api.patch(path, json={"stage": "Proposal"}))
    assert (reopened["state"], reopened["probability"], reopened["closed_on"]) == ("open", 50, None)

    assert admin_api.delete(path).status_code == 204
    assert_error(admin_api.get(path), 404, "not_found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expected_revenue": "-0.01"}, "expected_revenue"),
        ({"expected_revenue": "ten"}, "expected_revenue"),
        ({"expected_revenue": "10.001"}, "expected_revenue"),
        ({"expected_revenue": "1e30"}, "expected_revenue"),
        ({"expected_revenue": "NaN"}, "expected_revenue"),
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"probability": 10**30}, "probability"),
        ({"probability": "50"}, "probability"),
        ({"probability": 50.5}, "probability"),
        ({"stage": "Closing"}, "stage"),
        ({"stage": 987654}, "stage"),
        ({"stage": 10**30}, "stage"),
        ({"stage": True}, "stage"),
        ({"stage": ["New"]}, "stage"),
        ({"stage": "Lost"}, "lost_reason"),
        ({"contact_id": 987654}, "contact_id"),
        ({"contact_id": 10**30}, "contact_id"),
        ({"contact_id": "1"}, "contact_id"),
        ({"contact_id": "\u0661"}, "contact_id"),
        ({"contact_id": None}, "contact_id"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "bad\x00title"}, "title"),
        ({"expected_close": "2026-02-30"}, "expected_close"),
        ({"expected_close": "0001-01-01"}, "expected_close"),
        ({"owner_id": 987654}, "owner_id"),
        ({"pipeline_id": 987654}, "pipeline_id"),
        ({"state": "won"}, "state"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_deals_are_refused_with_the_field_and_nothing_is_stored(
    admin_api: ApiClient, ext: Any, acme: int, change: dict, field: str
) -> None:
    body = {"title": "Rollout", "contact_id": acme, "expected_revenue": "1000.00", **change}
    before = counts(ext)
    assert_error(admin_api.post(f"{CRM}/deals", json=body), 422, "validation_error", (field,))
    assert counts(ext) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expected_revenue": "-5"}, "expected_revenue"),
        ({"probability": 150}, "probability"),
        ({"stage": "Closing"}, "stage"),
        ({"stage": "Lost"}, "lost_reason"),
        ({"contact_id": 987654}, "contact_id"),
    ],
)
def test_a_bad_edit_changes_nothing(admin_api: ApiClient, deal: dict, change: dict, field: str) -> None:
    path = f"{CRM}/deals/{deal['id']}"
    body = {"title": "Renamed", **change}
    assert_error(admin_api.patch(path, json=body), 422, "validation_error", (field,))
    assert ok(admin_api.get(path)) == deal


def test_deal_lists_filter_sort_and_page(admin_api: ApiClient, acme: int) -> None:
    globex = create_contact(admin_api, "Globex")
    small = new_deal(admin_api, acme, title="Small", expected_revenue="100.00")
    big = new_deal(admin_api, globex, title="Big", expected_revenue="300.00", stage="Proposal")
    middle = new_deal(admin_api, acme, title="Middle", expected_revenue="200.00")
    ok(admin_api.post(f"{CRM}/deals/{middle['id']}/move", json={"stage": "Won"}))

    def titles(**query: Any) -> list[str]:
        return [d["title"] for d in ok(admin_api.get(f"{CRM}/deals", query_string=query))["items"]]

    assert titles() == ["Middle", "Big", "Small"]
    assert titles(sort="expected_revenue") == ["Small", "Middle", "Big"]
    assert titles(state="won") == ["Middle"]
    assert titles(state="open", sort="title") == ["Big", "Small"]
    assert titles(stage_id=big["stage_id"]) == ["Big"]
    assert titles(contact_id=acme, sort="-expected_revenue") == ["Middle", "Small"]
    assert titles(q="globex") == ["Big"]  # the customer's name
    assert titles(q="mid") == ["Middle"]
    assert titles(owner_id=small["owner_id"], limit=1) == ["Middle"]
    first = ok(admin_api.get(f"{CRM}/deals", query_string={"sort": "-expected_revenue", "limit": 2}))
    assert [d["expected_revenue"] for d in first["items"]] == ["300.00", "200.00"]
    rest = ok(
        admin_api.get(
            f"{CRM}/deals",
            query_string={"sort": "-expected_revenue", "limit": 2, "cursor": first["next_cursor"]},
        )
    )
    assert ([d["title"] for d in rest["items"]], rest["next_cursor"]) == (["Small"], None)


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "colour"},
        {"state": "sleeping"},
        {"cursor": "garbage"},
        {"limit": "0"},
        {"limit": "501"},
        {"owner_id": "abc"},
        {"contact_id": "99999999999999999999"},
        {"q": "a\x00b"},
    ],
)
def test_list_parameters_are_validated(admin_api: ApiClient, deal: dict, query: dict) -> None:
    error = assert_error(admin_api.get(f"{CRM}/deals", query_string=query), 422, "validation_error")
    assert set(error["fields"]) == set(query)


def test_a_cursor_of_another_sort_is_refused(admin_api: ApiClient, acme: int) -> None:
    for title in ("A", "B"):
        new_deal(admin_api, acme, title=title)
    cursor = ok(admin_api.get(f"{CRM}/deals", query_string={"sort": "title", "limit": 1}))["next_cursor"]
    query = {"sort": "expected_close", "cursor": cursor}
    assert_error(admin_api.get(f"{CRM}/deals", query_string=query), 422, "validation_error", ("cursor",))


# --- stages ---------------------------------------------------------------------------------------------


def test_stages_are_listed_added_changed_and_deleted(admin_api: ApiClient, ext: Any, deal: dict) -> None:
    listing = ok(admin_api.get(f"{CRM}/stages"))
    assert listing["pipeline"] == "Sales" and listing["next_cursor"] is None
    assert [(s["name"], s["probability"], s["kind"], s["sequence"]) for s in listing["items"]] == [
        ("New", 10, "open", 0),
        ("Qualified", 25, "open", 1),
        ("Proposal", 50, "open", 2),
        ("Negotiation", 75, "open", 3),
        ("Won", 100, "won", 4),
        ("Lost", 0, "lost", 5),
    ]
    assert ok(admin_api.get(f"{CRM}/stages", query_string={"pipeline_id": listing["pipeline_id"]})) == listing

    pilot = ok(admin_api.post(f"{CRM}/stages", json={"name": "Pilot", "probability": 60}), 201)
    assert (pilot["sequence"], pilot["kind"], pilot["pipeline_id"]) == (6, "open", listing["pipeline_id"])
    changed = ok(admin_api.patch(f"{CRM}/stages/{pilot['id']}", json={"probability": 65, "sequence": 3}))
    assert (changed["probability"], changed["sequence"]) == (65, 3)
    moved = ok(admin_api.post(f"{CRM}/deals/{deal['id']}/move", json={"stage": "Pilot"}))
    assert moved["probability"] == 65

    before = counts(ext)
    assert_error(admin_api.post(f"{CRM}/stages", json={"name": "pilot"}), 409, "conflict", ("name",))
    assert_error(admin_api.delete(f"{CRM}/stages/{pilot['id']}"), 409, "conflict", ("stage",))
    assert counts(ext) == before
    ok(admin_api.post(f"{CRM}/deals/{deal['id']}/move", json={"stage": "Proposal"}))
    assert admin_api.delete(f"{CRM}/stages/{pilot['id']}").status_code == 204
    assert "Pilot" not in [s["name"] for s in ok(admin_api.get(f"{CRM}/stages"))["items"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Pilot", "probability": 150}, "probability"),
        ({"name": "Pilot", "probability": "60"}, "probability"),
        ({"name": "Pilot", "kind": "maybe"}, "kind"),
        ({"name": ""}, "name"),
        ({"probability": 10}, "name"),
        ({"name": "Pilot", "pipeline_id": 987654}, "pipeline_id"),
        ({"name": "Pilot", "sequence": -1}, "sequence"),
        ({"name": "Pilot", "id": 3}, "id"),
    ],
)
def test_bad_stages_are_refused(admin_api: ApiClient, ext: Any, body: dict, field: str) -> None:
    before = counts(ext)
    assert_error(admin_api.post(f"{CRM}/stages", json=body), 422, "validation_error", (field,))
    assert counts(ext) == before


# --- activities -----------------------------------------------------------------------------------------


def test_activities_are_planned_listed_and_done(
    admin_api: ApiClient, ext: Any, acme: int, deal: dict
) -> None:
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    call = {"subject": "Call back", "kind": "call", "deal_id": deal["id"], "due_date": yesterday}
    late = ok(admin_api.post(f"{CRM}/activities", json=call), 201)
    undated = ok(
        admin_api.post(f"{CRM}/activities", json={"subject": "Send brochure", "contact_id": acme}), 201
    )
    assert (late["overdue"], late["contact_id"], late["assignee_name"]) == (True, acme, "admin@test.example")
    assert (undated["overdue"], undated["kind"], undated["deal_id"]) == (False, "task", None)

    mine = ok(admin_api.get(f"{CRM}/activities", query_string={"mine": "true"}))
    assert [(a["subject"], a["overdue"]) for a in mine["items"]] == [
        ("Call back", True),
        ("Send brochure", False),
    ]
    assert [
        a["subject"]
        for a in ok(admin_api.get(f"{CRM}/activities", query_string={"deal_id": deal["id"]}))["items"]
    ] == ["Call back"]
    timeline = ok(admin_api.get(f"{CRM}/activities", query_string={"contact_id": acme}))["items"]
    assert [a["subject"] for a in timeline] == ["Send brochure", "Call back"]  # newest first

    done = ok(admin_api.post(f"{CRM}/activities/{late['id']}/done", json={"notes": "Left a message"}))
    assert (done["done"], done["overdue"], done["notes"]) == (True, False, "Left a message") and done[
        "done_at"
    ]
    assert ok(admin_api.get(f"{CRM}/activities/{late['id']}")) == done
    before = counts(ext)
    assert_error(admin_api.post(f"{CRM}/activities/{late['id']}/done", json={}), 409, "conflict", ("done",))
    assert counts(ext) == before
    assert [a["subject"] for a in ok(admin_api.get(f"{CRM}/activities"))["items"]] == ["Send brochure"]
    everything = ok(admin_api.get(f"{CRM}/activities", query_string={"include_done": "true"}))["items"]
    assert [a["subject"] for a in everything] == ["Call back", "Send brochure"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "Call"}, "deal_id"),
        ({"subject": "Call", "deal_id": 987654}, "deal_id"),
        ({"subject": "Call", "lead_id": 987654}, "lead_id"),
        ({"subject": "Call", "contact_id": 10**30}, "contact_id"),
        ({"subject": "Call", "contact_id": "1"}, "contact_id"),
        ({"subject": "", "contact_id": 1}, "subject"),
        ({"subject": "Call", "kind": "fax", "contact_id": 1}, "kind"),
        ({"subject": "Call", "due_date": "tomorrow", "contact_id": 1}, "due_date"),
        ({"subject": "Call", "assignee_id": 987654, "contact_id": 1}, "assignee_id"),
        ({"subject": "Call", "done": True, "contact_id": 1}, "done"),
    ],
)
def test_bad_activities_are_refused(
    admin_api: ApiClient, ext: Any, acme: int, body: dict, field: str
) -> None:
    before = counts(ext)
    assert_error(admin_api.post(f"{CRM}/activities", json=body), 422, "validation_error", (field,))
    assert counts(ext) == before


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"mine": "false"}, 422),
        ({"mine": "true", "deal_id": "1"}, 422),
        ({"deal_id": "1", "contact_id": "1"}, 422),
        ({"mine": "perhaps"}, 422),
        ({"deal_id": "987654"}, 404),
        ({"contact_id": "987654"}, 404),
        ({"deal_id": "\u0661"}, 422),
    ],
)
def test_activity_lists_need_one_clear_choice(
    admin_api: ApiClient, deal: dict, query: dict, status: int
) -> None:
    assert_error(admin_api.get(f"{CRM}/activities", query_string=query), status)


# --- quotes ---------------------------------------------------------------------------------------------


def test_quotes_are_drafted_edited_sent_and_declined(admin_api: ApiClient, ext: Any, deal: dict) -> None:
    path = f"{CRM}/deals/{deal['id']}/quotes"
    first = ok(
        admin_api.post(path, json={"date": "2026-03-10", "valid_until": "2026-04-10", "lines": LINES}), 201
    )
    assert [(x["quantity"], x["unit_price"], x["discount"]) for x in first["lines"]] == [
        ("10.0000", "1000.0000", "10.00"),
        ("2.0000", "750.0000", "0.00"),
    ]
    assert ok(admin_api.get(f"{CRM}/quotes/{first['id']}")) == first
    # 3 x 19.99 = 59.97, less 15% = 50.9745 -> 50.97: a discount of 9.00.
    widgets = {"description": "Widgets", "quantity": "3", "unit_price": "19.99", "discount": "15"}
    edited = ok(
        admin_api.patch(f"{CRM}/quotes/{first['id']}", json={"lines": [widgets], "notes": "Widgets only"})
    )
    assert (edited["subtotal"], edited["discount_amount"], edited["total"], edited["notes"]) == (
        "59.97",
        "9.00",
        "50.97",
        "Widgets only",
    )
    second = ok(admin_api.post(path, json={"date": "2026-03-11", "lines": LINES[1:]}), 201)
    assert second["number"] == "QUO/2026/0002"
    assert [q["number"] for q in ok(admin_api.get(path))["items"]] == ["QUO/2026/0001", "QUO/2026/0002"]

    assert ok(admin_api.post(f"{CRM}/quotes/{first['id']}/send"))["state"] == "sent"
    before = counts(ext)
    assert_error(
        admin_api.patch(f"{CRM}/quotes/{first['id']}", json={"notes": "x"}), 409, "conflict", ("state",)
    )
    assert_error(admin_api.post(f"{CRM}/quotes/{first['id']}/send"), 409, "conflict")
    declined = ok(admin_api.post(f"{CRM}/quotes/{first['id']}/decline"))
    assert (declined["state"], declined["deal_state"]) == ("declined", "open")
    assert_error(admin_api.post(f"{CRM}/quotes/{first['id']}/accept"), 409, "conflict")
    assert counts(ext) == before
    assert ok(admin_api.get(f"{CRM}/deals/{deal['id']}"))["state"] == "open"


def test_a_quote_on_a_won_deal_is_refused(admin_api: ApiClient, ext: Any, deal: dict) -> None:
    ok(admin_api.post(f"{CRM}/deals/{deal['id']}/move", json={"stage": "Won"}))
    before = counts(ext)
    error = assert_error(
        admin_api.post(f"{CRM}/deals/{deal['id']}/quotes", json={"lines": LINES}), 409, "conflict"
    )
    assert error["fields"] == {"deal_id": ["is won"]}
    assert counts(ext) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({}, "lines"),
        ({"lines": [{**LINES[0], "discount": "100.01"}]}, "lines.0.discount"),
        ({"lines": [{**LINES[0], "discount": "1e999999"}]}, "lines.0.discount"),
        ({"lines": [{**LINES[0], "quantity": "0"}]}, "lines.0.quantity"),
        ({"lines": [{**LINES[0], "unit_price": "-1"}]}, "lines.0.unit_price"),
        ({"lines": [{**LINES[0], "unit_price": "NaN"}]}, "lines.0.unit_price"),
        ({"lines": [LINES[0], {"quantity": "1", "unit_price": "1"}]}, "lines.1.description"),
        ({"lines": [{**LINES[0], "tax": 1}]}, "lines.0.tax"),
        ({"lines": "many"}, "lines"),
        ({"lines": [["x"]]}, "lines.0"),
        ({"lines": LINES, "date": "2026-02-30"}, "date"),
        ({"lines": LINES, "date": "2026-03-10", "valid_until": "2026-03-01"}, "valid_until"),
        ({"lines": LINES, "number": "QUO/2026/9999"}, "number"),
    ],
)
def test_bad_quotes_are_refused(admin_api: ApiClient, ext: Any, deal: dict, body: dict, field: str) -> None:
    before = counts(ext)
    assert_error(
        admin_api.post(f"{CRM}/deals/{deal['id']}/quotes", json=body), 422, "validation_error", (field,)
    )
    assert counts(ext) == before


# --- forecast -------------------------------------------------------------------------------------------


def test_the_forecast_reports_the_weighted_pipeline_and_the_win_rate(admin_api: ApiClient, acme: int) -> None:
    new_deal(
        admin_api,
        acme,
        title="D1",
        expected_revenue="10000.00",
        stage="Proposal",
        expected_close="2026-06-10",
    )
    new_deal(
        admin_api,
        acme,
        title="D2",
        expected_revenue="4000.00",
        stage="Qualified",
        expected_close="2026-07-01",
    )
    new_deal(admin_api, acme, title="D3", expected_revenue="6000.00", stage="Negotiation")
    new_deal(admin_api, acme, title="D4", expected_revenue="3000.00", stage="Won")
    new_deal(admin_api, acme, title="D5", expected_revenue="500.00", stage="Lost", lost_reason="Budget cut")
    report = ok(admin_api.get(f"{CRM}/forecast"))
    # 10,000.00 x 50% = 5,000.00 in June; 4,000.00 x 25% = 1,000.00 in July; 6,000.00 x 75% undated.
    assert report["by_month"] == [
        {"label": "Jun 2026", "count": 1, "revenue": "10000.00", "weighted": "5000.00"},
        {"label": "Jul 2026", "count": 1, "revenue": "4000.00", "weighted": "1000.00"},
        {"label": "No date", "count": 1, "revenue": "6000.00", "weighted": "4500.00"},
    ]
    assert report["by_owner"] == [
        {"label": "admin@test.example", "count": 3, "revenue": "20000.00", "weighted": "10500.00"}
    ]
    assert (report["won"], report["lost"], report["win_rate"], report["won_revenue"]) == (
        1,
        1,
        "50.0",
        "3000.00",
    )
    assert [(r["label"], r["count"], r["weighted"]) for r in report["funnel"]] == [
        ("New", 0, "0.00"),
        ("Qualified", 1, "1000.00"),
        ("Proposal", 1, "5000.00"),
        ("Negotiation", 1, "4500.00"),
        ("Won", 1, "3000.00"),
        ("Lost", 1, "0.00"),
    ]
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    later = ok(admin_api.get(f"{CRM}/forecast", query_string={"date_from": tomorrow}))
    assert (later["won"], later["lost"], later["win_rate"], later["won_revenue"]) == (0, 0, None, "0.00")
    for query in ({"date_from": "2026-02-30"}, {"date_to": "0001-01-01"}, {"date_from": "\u0662026-01-01"}):
        assert_error(
            admin_api.get(f"{CRM}/forecast", query_string=query), 422, "validation_error", tuple(query)
        )


# --- permissions ----------------------------------------------------------------------------------------

EXPECTED_PERMISSIONS = {
    "leads_list": "crm.view",
    "leads_create": "crm.lead.manage",
    "leads_import": "crm.lead.manage",
    "leads_get": "crm.view",
    "leads_update": "crm.lead.manage",
    "leads_matches": "crm.view",
    "leads_qualify": "crm.lead.manage",
    "leads_disqualify": "crm.lead.manage",
    "stages_list": "crm.view",
    "stages_create": "crm.settings",
    "stages_update": "crm.settings",
    "stages_delete": "crm.settings",
    "deals_list": "crm.view",
    "deals_create": "crm.deal.manage",
    "deals_get": "crm.view",
    "deals_update": "crm.deal.manage",
    "deals_delete": "crm.deal.manage",
    "deals_move": "crm.deal.manage",
    "activities_list": "crm.view",
    "activities_create": "crm.deal.manage",
    "activities_get": "crm.view",
    "activities_done": "crm.deal.manage",
    "deal_quotes_list": "crm.view",
    "deal_quotes_create": "crm.deal.manage",
    "quotes_get": "crm.view",
    "quotes_update": "crm.deal.manage",
    "quotes_send": "crm.deal.manage",
    "quotes_accept": "crm.deal.manage",
    "quotes_decline": "crm.deal.manage",
    "forecast_get": "crm.view",
}


def test_every_endpoint_declares_its_crm_permission(app: Any) -> None:
    declared = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("crm_api."):
            view = app.view_functions[rule.endpoint]
            assert access_of(view) == "permission", rule.rule
            declared[rule.endpoint.removeprefix("crm_api.")] = view.officium_permission
    assert declared == EXPECTED_PERMISSIONS


def test_every_endpoint_needs_a_bearer_token(app: Any, client: Any, ext: Any, deal: dict) -> None:
    before = counts(ext)
    checked = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("crm_api."):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", str(deal["id"]), rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert_error(getattr(client, method.lower())(path, json={}), 401, "unauthorized")
        checked.add(rule.endpoint.removeprefix("crm_api."))
    assert checked == set(EXPECTED_PERMISSIONS)
    assert_error(client.get(f"{CRM}/deals/{deal['id']}", headers={"Authorization": "Bearer nope"}), 401)
    assert counts(ext) == before


def test_each_permission_area_is_enforced(make_api_client: Any, ext: Any, acme: int, deal: dict) -> None:
    nobody = make_api_client("nobody@test.example", permissions=("contacts.view",))
    for path in ("/deals", "/leads", "/stages", "/activities", "/forecast", f"/deals/{deal['id']}/quotes"):
        assert (
            assert_error(nobody.get(f"{CRM}{path}"), 403, "permission_denied")["message"] == "needs crm.view"
        )

    viewer = make_api_client("viewer@test.example", permissions=("crm.view",))
    assert ok(viewer.get(f"{CRM}/deals/{deal['id']}"))["title"] == "Rollout"
    before = counts(ext)
    refused = [
        ("post", "/leads", {"name": "X"}, "crm.lead.manage"),
        ("post", "/leads/import", {"csv": "name\nX\n"}, "crm.lead.manage"),
        ("post", "/deals", {"title": "X", "contact_id": acme}, "crm.deal.manage"),
        ("patch", f"/deals/{deal['id']}", {"title": "X"}, "crm.deal.manage"),
        ("post", f"/deals/{deal['id']}/move", {"stage": "Won"}, "crm.deal.manage"),
        ("delete", f"/deals/{deal['id']}", None, "crm.deal.manage"),
        ("post", f"/deals/{deal['id']}/quotes", {"lines": LINES}, "crm.deal.manage"),
        ("post", "/activities", {"subject": "X", "deal_id": deal["id"]}, "crm.deal.manage"),
        ("post", "/stages", {"name": "Pilot"}, "crm.settings"),
    ]
    for method, path, body, permission in refused:
        kwargs = {"json": body} if body is not None else {}
        error = assert_error(getattr(viewer, method)(f"{CRM}{path}", **kwargs), 403, "permission_denied")
        assert error["message"] == f"needs {permission}", path
    assert counts(ext) == before
    assert ok(viewer.get(f"{CRM}/deals/{deal['id']}"))["stage"] == "New"


def test_each_permission_lets_its_holder_through(make_api_client: Any, acme: int, deal: dict) -> None:
    # Qualifying opens a deal: a lead manager needs no deal permission for it, but cannot make others.
    prospector = make_api_client("pat@test.example", permissions=("crm.view", "crm.lead.manage"))
    lead = new_lead(prospector, company_name="Globex")
    assert ok(prospector.post(f"{CRM}/leads/{lead['id']}/qualify", json={}))["deal_id"]
    assert_error(prospector.post(f"{CRM}/deals", json={"title": "X", "contact_id": acme}), 403)

    seller = make_api_client("sam@test.example", permissions=("crm.view", "crm.deal.manage"))
    assert new_deal(seller, acme)["owner_name"] == "sam@test.example"
    assert ok(seller.post(f"{CRM}/deals/{deal['id']}/move", json={"stage": "Proposal"}))["probability"] == 50
    assert_error(seller.post(f"{CRM}/leads", json={"name": "X"}), 403)

    manager = make_api_client("max@test.example", permissions=("crm.view", "crm.settings"))
    assert ok(manager.post(f"{CRM}/stages", json={"name": "Pilot", "probability": 60}), 201)["sequence"] == 6
    assert_error(manager.post(f"{CRM}/deals/{deal['id']}/move", json={"stage": "Pilot"}), 403)


# --- robustness: never a 500 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/deals/99999999999999999999", None, 404),
        ("get", f"/deals/{2**62}", None, 404),
        ("get", "/deals/0", None, 404),
        ("get", "/deals/\u0661\u0662", None, 404),
        ("get", "/deals/%00", None, 404),
        ("patch", "/deals/99999999999999999999", {"title": "x"}, 404),
        ("delete", f"/deals/{2**63}", None, 404),
        ("post", "/deals/987654/move", {"stage": "Won"}, 404),
        ("get", "/leads/99999999999999999999", None, 404),
        ("post", "/leads/987654/qualify", {}, 404),
        ("get", "/leads/987654/matches", None, 404),
        ("get", "/quotes/99999999999999999999", None, 404),
        ("post", "/quotes/987654/accept", None, 404),
        ("get", "/deals/987654/quotes", None, 404),
        ("post", "/activities/987654/done", {}, 404),
        ("patch", "/stages/987654", {"name": "x"}, 404),
        ("delete", "/stages/99999999999999999999", None, 404),
        ("get", "/stages?pipeline_id=987654", None, 404),
        ("get", "/stages?pipeline_id=abc", None, 422),
        ("post", "/deals", {"title": "x", "contact_id": 1, "expected_revenue": 1e400}, 422),
        ("post", "/deals", {"title": "x", "contact_id": 1, "expected_revenue": "9" * 40}, 422),
        ("post", "/deals", {"title": "x", "contact_id": 1, "expected_revenue": "1e999999"}, 422),
        ("post", "/deals", {"title": "x", "contact_id": 1, "stage": {"id": 1}}, 422),
        ("post", "/deals", {"title": "x", "contact_id": 1, "stage": "N\x00ew"}, 422),
        ("post", "/deals", {"title": "x", "contact_id": 1, "stage": "x" * 101}, 422),
        ("post", "/deals", [1, 2], 422),
        ("post", "/deals", "a string", 422),
        ("post", "/deals/{deal}/move", {"stage": None}, 422),
        ("post", "/deals/{deal}/move", {"stage": ""}, 422),
        ("post", "/deals/{deal}/move", {"stage": -1}, 422),
        ("post", "/deals/{deal}/move", {"stage": "Lost", "lost_reason": 5}, 422),
        ("post", "/deals/{deal}/move", {"stage": "Lost", "lost_reason": "x" * 501}, 422),
        ("post", "/leads", {"name": "x", "email": ["a@b.c"]}, 422),
        ("post", "/leads", {"name": "x" * 1000}, 422),
        ("post", "/leads/import", {"csv": "name\n" + "x\n" * 5001}, 422),
        ("post", "/leads/import", {"csv": '"unclosed\n'}, 422),
        ("post", "/activities", {"subject": "x", "deal_id": 10**30}, 422),
        ("post", "/activities", {"subject": "x", "deal_id": True}, 422),
        ("post", "/activities/{activity}/done", {"notes": 5}, 422),
        ("get", "/forecast?date_from=99999-01-01", None, 422),
        ("get", "/deals?stage_id=%00", None, 422),
        ("get", "/leads?owner_id=\u0661", None, 422),
    ],
)
def test_hostile_input_is_a_4xx_never_a_500(
    admin_api: ApiClient, ext: Any, deal: dict, method: str, path: str, body: Any, status: int
) -> None:
    activity = ok(admin_api.post(f"{CRM}/activities", json={"subject": "Call", "deal_id": deal["id"]}), 201)
    before = counts(ext)
    kwargs = {"json": body} if body is not None else {}
    response = getattr(admin_api, method)(
        f"{CRM}{path.format(deal=deal['id'], activity=activity['id'])}", **kwargs
    )
    assert_error(response, status)
    assert counts(ext) == before
    assert ok(admin_api.get(f"{CRM}/deals/{deal['id']}")) == deal


# --- the OpenAPI document and the plugin's state --------------------------------------------------------


def test_the_api_follows_the_plugin_being_enabled_and_keeps_the_data(
    admin_api: ApiClient, client: Any, deal: dict
) -> None:
    from openapi_spec_validator import validate

    spec = ok(client.get(f"{API}/openapi.json"))
    validate(spec)
    paths = spec["paths"]
    for path in (
        "/leads",
        "/leads/import",
        "/leads/{lead_id}",
        "/leads/{lead_id}/matches",
        "/leads/{lead_id}/qualify",
        "/leads/{lead_id}/disqualify",
        "/deals",
        "/deals/{deal_id}",
        "/deals/{deal_id}/move",
        "/deals/{deal_id}/quotes",
        "/stages",
        "/stages/{stage_id}",
        "/activities",
        "/activities/{activity_id}/done",
        "/quotes/{quote_id}",
        "/quotes/{quote_id}/accept",
        "/forecast",
    ):
        assert f"{CRM}{path}" in paths, path
    assert set(paths[f"{CRM}/deals"]) == {"get", "post"}
    assert set(paths[f"{CRM}/deals/{{deal_id}}"]) - {"parameters"} == {"get", "patch", "delete"}
    schemas = spec["components"]["schemas"]
    assert schemas["Deal"]["properties"]["expected_revenue"]["type"] == "string"  # amounts are strings
    assert schemas["QuoteLine"]["properties"]["unit_price"]["type"] == "string"
    assert schemas["LeadCreate"]["properties"]["source"]["enum"] == [
        "web",
        "referral",
        "event",
        "campaign",
        "email",
        "phone",
        "other",
    ]

    assert ok(admin_api.post(f"{API}/plugins/crm/disable"))["enabled"] is False
    paths = ok(client.get(f"{API}/openapi.json"))["paths"]
    assert not [path for path in paths if path.startswith(CRM)]
    assert f"{API}/contacts" in paths
    assert_error(admin_api.get(f"{CRM}/deals"), 404, "not_found")
    assert_error(admin_api.get(f"{CRM}/deals/{deal['id']}"), 404, "not_found")
    assert_error(admin_api.post(f"{CRM}/leads", json={"name": "X"}), 404, "not_found")
    assert_error(admin_api.get(f"{CRM}/forecast"), 404, "not_found")

    assert ok(admin_api.post(f"{API}/plugins/crm/enable"))["enabled"] is True
    assert f"{CRM}/deals" in ok(client.get(f"{API}/openapi.json"))["paths"]
    assert ok(admin_api.get(f"{CRM}/deals/{deal['id']}")) == deal
    # Enabling again seeded no second pipeline.
    assert [s["name"] for s in ok(admin_api.get(f"{CRM}/stages"))["items"]] == [
        "New",
        "Qualified",
        "Proposal",
        "Negotiation",
        "Won",
        "Lost",
    ]


@pytest.mark.plugins("crm", "accounting")
def test_the_openapi_document_is_valid_with_accounting_too(client: Any) -> None:
    from openapi_spec_validator import validate

    spec = ok(client.get(f"{API}/openapi.json"))
    validate(spec)
    assert f"{CRM}/deals" in spec["paths"] and f"{API}/accounting/invoices" in spec["paths"]
