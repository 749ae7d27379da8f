"""Leads through the browser pages, with CSRF on: the list and form, qualifying with dedup by email,
disqualifying, CSV import with a preview, the public web-to-lead form, and the stages settings."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import select

import plugins.crm.lead_views  # noqa: F401 - registers the lead pages on the CRM blueprint
from core.models import Contact, User
from core.testing import ADMIN_EMAIL, csrf_token
from plugins.crm.models import Activity, Deal, Lead, Stage
from plugins.crm.services import leads as lead_service
from tests.core.web_helpers import (
    assert_forbidden,
    assert_login_redirect,
    count,
    csv_rows,
    field_error,
    flashes,
    next_page_link,
    page,
    redirect_path,
    submit,
    system_session,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("crm")

CSV_HEADER = "name,company_name,email,phone,source,notes\n"


@contextmanager
def reading(ext: Any) -> Iterator[Any]:
    """A read-only session: it never holds SQLite's write lock, so requests are not blocked."""
    with ext.db.session(read_only=True) as session:
        yield session


def add_lead(ext: Any, **data: Any) -> int:
    with system_session(ext) as session:
        return lead_service.create_lead(session, {"owner_id": None, **data}).id


def add_contact(ext: Any, name: str, email: str) -> int:
    from core.services import contacts

    with system_session(ext) as session:
        return contacts.create_contact(session, kind="person", name=name, email=email).id


def lead_of(ext: Any, lead_id: int) -> Lead:
    with reading(ext) as session:
        lead = session.get(Lead, lead_id)
        session.expunge(lead)
        return lead


def admin_id(ext: Any) -> int:
    with reading(ext) as session:
        return session.scalar(select(User.id).where(User.email == ADMIN_EMAIL))


def lead_form(**fields: str) -> dict[str, str]:
    return {
        "name": "Ada Lovelace",
        "company_name": "Analytical Engines",
        "email": "ada@engines.example",
        "phone": "+44 20 7946 0000",
        "source": "referral",
        "owner_id": "",
        "notes": "Met at the fair",
        **fields,
    }


def upload(client: Any, content: str | bytes) -> Any:
    token = csrf_token(client, "/crm/leads/import")
    raw = content.encode() if isinstance(content, str) else content
    return client.post(
        "/crm/leads/import",
        data={"csrf_token": token, "file": (io.BytesIO(raw), "leads.csv")},
        content_type="multipart/form-data",
    )


def carried_content(response: Any) -> str:
    """The CSV the preview page sends back on confirmation, as a browser submits it."""
    match = re.search(r'<textarea name="content"[^>]*>\n(.*?)</textarea>', page(response), re.S)
    assert match, "no file carried by the preview"
    return html.unescape(match.group(1))


def confirm(client: Any, preview: Any, mode: str) -> Any:
    token = csrf_token(client, "/crm/leads/import")
    return client.post(
        "/crm/leads/import/confirm",
        data={"csrf_token": token, "content": carried_content(preview), "mode": mode},
        content_type="multipart/form-data",
    )


def lead_id_from(response: Any) -> int:
    match = re.fullmatch(r"/crm/leads/(\d+)", redirect_path(response))
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- the form and the list ------------------------------------------------------------------------------


def test_a_lead_is_created_from_the_form_and_shows_on_its_page_and_in_the_list(admin_client, ext):
    form = admin_client.get("/crm/leads/new")
    assert form.status_code == 200
    me = admin_id(ext)
    assert f'<option value="{me}" selected>' in page(form)  # the owner defaults to the user
    assert '<option value="other" selected>Other</option>' in page(form)

    response = submit(admin_client, "/crm/leads/new", lead_form(owner_id=str(me)))
    lead_id = lead_id_from(response)
    detail = admin_client.get(f"/crm/leads/{lead_id}")
    assert "Lead Ada Lovelace created." in flashes(detail)
    text = visible(detail)
    assert "Ada Lovelace New" in text
    assert "Company Analytical Engines Email ada@engines.example Phone +44 20 7946 0000" in text
    assert "Source Referral Owner admin@test.example" in text
    assert "Met at the fair" in text
    lead = lead_of(ext, lead_id)
    assert (lead.name, lead.email, lead.source, lead.status, lead.owner_id) == (
        "Ada Lovelace",
        "ada@engines.example",
        "referral",
        "new",
        me,
    )
    listing = admin_client.get("/crm/leads")
    assert table_column(listing, 0) == ["Ada Lovelace"]
    assert table_column(listing, 6) == ["New"]


def test_a_bad_email_is_refused_with_the_field_message_and_nothing_is_stored(admin_client, ext):
    response = submit(admin_client, "/crm/leads/new", lead_form(email="ada at engines", name=""))
    assert response.status_code == 422
    assert field_error(response, "email") == "is not a valid email address"
    assert field_error(response, "name") == "is required"
    assert 'value="ada at engines"' in page(response)  # what the user typed stays
    assert count(ext, Lead) == 0


def test_editing_a_lead_marks_it_contacted(admin_client, ext):
    lead_id = add_lead(ext, name="Grace Hopper", email="grace@navy.example")
    form = admin_client.get(f"/crm/leads/{lead_id}/edit")
    assert 'value="grace@navy.example"' in page(form)
    response = submit(
        admin_client,
        f"/crm/leads/{lead_id}/edit",
        lead_form(name="Grace Hopper", email="grace@navy.example", status="contacted", source="event"),
    )
    assert redirect_path(response) == f"/crm/leads/{lead_id}"
    lead = lead_of(ext, lead_id)
    assert (lead.status, lead.source, lead.owner_id) == ("contacted", "event", None)


def test_the_list_filters_pages_sorts_and_exports_every_matching_row(admin_client, ext):
    with system_session(ext) as session:
        for number in range(1, 53):
            lead_service.create_lead(
                session, {"name": f"Lead {number:02d}", "email": f"l{number}@x.example", "owner_id": None}
            )
        other = lead_service.create_lead(session, {"name": "Zed Other", "company_name": "Umbrella"})
        lead_service.disqualify_lead(session, other, "No budget")

    first = admin_client.get("/crm/leads")
    names = table_column(first, 0)
    assert len(names) == 50 and names[:2] == ["Zed Other", "Lead 52"]  # newest first
    second = admin_client.get(next_page_link(first))
    assert table_column(second, 0) == ["Lead 03", "Lead 02", "Lead 01"]
    assert next_page_link(second) is None

    by_name = admin_client.get("/crm/leads?sort=name&dir=asc")
    assert table_column(by_name, 0)[:2] == ["Lead 01", "Lead 02"]

    assert table_column(admin_client.get("/crm/leads?status=disqualified"), 0) == ["Zed Other"]
    assert table_column(admin_client.get("/crm/leads?q=umbrella"), 0) == ["Zed Other"]
    assert table_column(admin_client.get("/crm/leads?q=L7%40"), 0) == ["Lead 07"]
    assert "No leads match." in visible(admin_client.get("/crm/leads?q=nobody"))

    rows = csv_rows(admin_client.get("/crm/leads?status=new&sort=name&dir=asc&format=csv"))
    assert rows[0] == [
        "id",
        "name",
        "company_name",
        "email",
        "phone",
        "source",
        "status",
        "owner",
        "created_at",
    ]
    assert len(rows) == 1 + 52  # every matching row, not one page
    assert rows[1][1:7] == ["Lead 01", "", "l1@x.example", "", "other", "new"]
    assert rows[-1][1] == "Lead 52"


# --- qualify and disqualify -----------------------------------------------------------------------------


def test_qualifying_a_lead_whose_email_matches_a_contact_offers_the_match_and_creates_no_duplicate(
    admin_client, ext
):
    match = add_contact(ext, "Ada L.", "ada@engines.example")
    lead_id = add_lead(
        ext, name="Ada Lovelace", company_name="Analytical Engines", email="ADA@engines.example"
    )
    path = f"/crm/leads/{lead_id}/qualify"
    form = admin_client.get(path)
    assert form.status_code == 200
    assert f'<input type="radio" name="contact" value="{match}">' in page(form)
    assert "ada@engines.example already belongs to these contacts" in visible(form)
    assert 'name="title" type="text" value="Analytical Engines"' in page(form)  # title: the company

    refused = submit(admin_client, path, {"title": "Engines", "expected_revenue": "1500.00"})
    assert refused.status_code == 422
    assert field_error(refused, "contact_id") == (
        f"ada@engines.example already belongs to Ada L. (#{match}): link one, or create a new contact"
    )
    assert 'value="1500.00"' in page(refused)
    assert count(ext, Contact) == 1 and count(ext, Deal) == 0
    assert lead_of(ext, lead_id).status == "new"

    response = submit(
        admin_client,
        path,
        {
            "contact": str(match),
            "title": "Engines",
            "expected_revenue": "1500.00",
            "expected_close": "2026-06-30",
        },
    )
    with reading(ext) as session:
        deal = session.scalars(select(Deal)).one()
        assert (deal.contact_id, deal.title, deal.expected_revenue, deal.expected_close.isoformat()) == (
            match,
            "Engines",
            Decimal("1500.00"),
            "2026-06-30",
        )
        assert (deal.stage.name, deal.probability) == ("New", 10)
    assert redirect_path(response) == f"/crm/deals/{deal.id}"
    lead = lead_of(ext, lead_id)
    assert (lead.status, lead.contact_id, lead.deal_id) == ("qualified", match, deal.id)
    assert count(ext, Contact) == 1  # linked, not duplicated
    detail = admin_client.get(f"/crm/leads/{lead_id}")
    assert "Ada Lovelace Qualified" in visible(detail)
    assert f'<a href="/contacts/{match}">Ada L.</a>' in page(detail)
    # A qualified lead is closed: no second qualification.
    again = admin_client.get(path, follow_redirects=True)
    assert "This lead is qualified: it cannot be changed." in flashes(again)


def test_qualifying_may_create_a_new_contact_even_when_the_email_matches(admin_client, ext):
    add_contact(ext, "Ada L.", "ada@engines.example")
    lead_id = add_lead(ext, name="Ada Lovelace", email="ada@engines.example")
    submit(
        admin_client,
        f"/crm/leads/{lead_id}/qualify",
        {"contact": "new", "title": "Ada", "expected_revenue": ""},
    )
    lead = lead_of(ext, lead_id)
    assert lead.status == "qualified"
    with reading(ext) as session:
        names = session.scalars(select(Contact.name).where(Contact.email == "ada@engines.example")).all()
        assert sorted(names) == ["Ada L.", "Ada Lovelace"]
        assert session.get(Deal, lead.deal_id).expected_revenue == Decimal("0.00")


def test_qualifying_a_new_person_creates_the_contact_under_its_organization(make_client, ext):
    # A lead manager qualifies without holding the deal permission: the deal comes with the lead.
    client = make_client("sales@test.example", permissions=("crm.view", "crm.lead.manage"))
    lead_id = add_lead(ext, name="Grace Hopper", company_name="Navy Labs", email="grace@navy.example")
    form = client.get(f"/crm/leads/{lead_id}/qualify")
    assert 'type="hidden" name="contact" value="new"' in page(form)  # no match: a new contact
    assert "a new contact Grace Hopper will be created" in visible(form)
    response = submit(
        client,
        f"/crm/leads/{lead_id}/qualify",
        {"contact": "new", "title": "Navy Labs", "expected_revenue": "-5"},
    )
    assert response.status_code == 422
    assert field_error(response, "expected_revenue") == "must not be negative"
    assert count(ext, Contact) == 0 and count(ext, Deal) == 0

    submit(
        client,
        f"/crm/leads/{lead_id}/qualify",
        {"contact": "new", "title": "Navy Labs", "expected_revenue": "800"},
    )
    lead = lead_of(ext, lead_id)
    with reading(ext) as session:
        person = session.get(Contact, lead.contact_id)
        assert (person.kind, person.name, person.email) == ("person", "Grace Hopper", "grace@navy.example")
        assert session.get(Contact, person.parent_id).name == "Navy Labs"
        deal = session.get(Deal, lead.deal_id)
        # The organization is the customer (it buys and is invoiced); the person is its contact.
        assert (deal.title, deal.contact_id, deal.expected_revenue) == (
            "Navy Labs",
            person.parent_id,
            Decimal("800.00"),
        )


def test_disqualifying_needs_a_reason(admin_client, ext):
    lead_id = add_lead(ext, name="Bob Spam", email="bob@spam.example")
    path = f"/crm/leads/{lead_id}/disqualify"
    response = submit(admin_client, path, {"reason": "  "}, form_page=f"/crm/leads/{lead_id}")
    assert response.status_code == 422
    assert field_error(response, "reason") == "is required"
    assert lead_of(ext, lead_id).status == "new"

    response = submit(admin_client, path, {"reason": "No budget"}, form_page=f"/crm/leads/{lead_id}")
    assert redirect_path(response) == f"/crm/leads/{lead_id}"
    detail = admin_client.get(f"/crm/leads/{lead_id}")
    assert "Lead disqualified." in flashes(detail)
    assert "Bob Spam Disqualified" in visible(detail)
    assert "Disqualified because No budget" in visible(detail)
    assert "Qualify" not in visible(detail).replace("Disqualified", "")
    lead = lead_of(ext, lead_id)
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "No budget")


def test_the_lead_page_offers_to_plan_an_activity_on_the_lead(app, admin_client, ext):
    lead_id = add_lead(ext, name="Ada", email="ada@x.example")
    with app.test_request_context():
        action = url_for("crm.activity_new")
    body = page(admin_client.get(f"/crm/leads/{lead_id}"))
    form = re.search(rf'<form method="post" action="{re.escape(action)}" novalidate>(.*?)</form>', body, re.S)
    assert form, "no activity form"
    assert f'<input type="hidden" name="lead_id" value="{lead_id}">' in form.group(1)
    assert 'name="subject"' in form.group(1) and 'name="due_date"' in form.group(1)

    response = submit(
        admin_client,
        action,
        {"lead_id": str(lead_id), "kind": "call", "subject": "First call", "due_date": "2026-05-04",
         "assignee_id": str(admin_id(ext))},
        form_page=f"/crm/leads/{lead_id}",
    )  # fmt: skip
    assert redirect_path(response) == f"/crm/leads/{lead_id}"
    with reading(ext) as session:
        activity = session.scalars(select(Activity)).one()
        assert (activity.lead_id, activity.kind, activity.subject, activity.due_date.isoformat()) == (
            lead_id,
            "call",
            "First call",
            "2026-05-04",
        )
        assert activity.assignee_id == admin_id(ext)


# --- CSV import -----------------------------------------------------------------------------------------


def test_the_import_preview_shows_row_errors_stores_nothing_and_imports_the_valid_rows(admin_client, ext):
    content = (
        CSV_HEADER
        + "Ada Lovelace,Analytical Engines,ada@engines.example,,web,\n"
        + "Bob,,not-an-email,,event,\n"
        + "Cy Young,,,+1 555 0100,referral,Pitcher\n"
        + "Dee,,dee@x.example,,carrier-pigeon,\n"
    )
    preview = upload(admin_client, content)
    assert preview.status_code == 200
    assert "2 of 4 rows are valid; nothing is stored until you confirm." in visible(preview)
    invalid = visible(preview).split("Invalid rows (2)")[1].split("Valid rows")[0]
    assert "2 email: is not a valid email address" in invalid
    assert "4 source: must be one of web, referral, event, campaign, email, phone, other" in invalid
    assert table_column(preview, 0) == ["2", "4"]
    assert "Import the 2 valid rows" in visible(preview)
    assert "Import all" not in visible(preview)
    assert count(ext, Lead) == 0  # the preview stores nothing

    response = confirm(admin_client, preview, "valid")
    assert redirect_path(response) == "/crm/leads"
    assert "2 leads imported." in flashes(admin_client.get("/crm/leads"))
    with reading(ext) as session:
        rows = session.execute(
            select(Lead.name, Lead.source, Lead.phone, Lead.notes, Lead.owner_id).order_by(Lead.id)
        )
        assert [tuple(r) for r in rows] == [
            ("Ada Lovelace", "web", "", "", admin_id(ext)),
            ("Cy Young", "referral", "+1 555 0100", "Pitcher", admin_id(ext)),
        ]


def test_a_clean_file_is_imported_whole_and_importing_all_of_a_file_with_errors_imports_nothing(
    admin_client, ext
):
    clean = upload(admin_client, "name,email\nAda,ada@x.example\nBob,bob@x.example\n")
    assert "Import all 2 rows" in visible(clean)
    assert "Invalid rows" not in visible(clean)

    flawed = upload(admin_client, "name,email\nAda,ada@x.example\n,bob@x.example\n")
    forged = confirm(admin_client, flawed, "all")  # a form sent by hand, past the preview
    assert forged.status_code == 422
    assert "Nothing was imported: 1 of 2 rows are invalid" in visible(forged)
    assert count(ext, Lead) == 0

    confirm(admin_client, clean, "all")
    with reading(ext) as session:
        assert session.scalars(select(Lead.name).order_by(Lead.id)).all() == ["Ada", "Bob"]


def test_a_file_with_a_bad_header_is_refused(admin_client, ext):
    response = upload(admin_client, "name,colour\nAda,blue\n")
    assert response.status_code == 422
    assert field_error(response, "file") == (
        "unknown columns: colour (columns: name, company_name, email, phone, source, notes)"
    )
    assert upload(admin_client, b"").status_code == 422
    assert field_error(upload(admin_client, b"name\n\xff\xfe\n"), "file") == "must be a UTF-8 CSV file"
    assert count(ext, Lead) == 0


# --- web-to-lead ----------------------------------------------------------------------------------------


def test_the_web_to_lead_form_is_public_standalone_and_creates_a_web_lead(client, ext):
    form = client.get("/crm/web-lead")
    assert form.status_code == 200
    body = page(form)
    assert re.search(r'name="csrf_token" value="[^"]+"', body)
    assert 'name="website"' in body  # the honeypot
    assert 'class="sidebar"' not in body and "Log out" not in body
    assert "Contact Test Company" in visible(form)

    token = csrf_token(client, "/crm/web-lead")
    data = {"name": "Lin Customer", "company_name": "Lin & Co", "email": "lin@co.example", "notes": "Call me"}
    response = client.post("/crm/web-lead", data={**data, "website": "", "csrf_token": token})
    assert redirect_path(response) == "/crm/web-lead/thanks"
    thanks = client.get("/crm/web-lead/thanks")
    assert "Your request reached Test Company" in visible(thanks)
    with reading(ext) as session:
        lead = session.scalars(select(Lead)).one()
        assert (lead.name, lead.company_name, lead.email, lead.source, lead.status, lead.owner_id) == (
            "Lin Customer",
            "Lin & Co",
            "lin@co.example",
            "web",
            "new",
            None,
        )


def test_a_bot_filling_the_honeypot_is_thanked_and_nothing_is_stored(client, ext):
    token = csrf_token(client, "/crm/web-lead")
    data = {"name": "Cheap pills", "email": "bot@spam.example", "website": "http://spam.example"}
    response = client.post("/crm/web-lead", data={**data, "csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200
    assert "Thank you" in visible(response)
    assert count(ext, Lead) == 0


def test_a_web_lead_without_email_or_phone_is_refused_with_422(client, ext):
    token = csrf_token(client, "/crm/web-lead")
    response = client.post("/crm/web-lead", data={"name": "Lin", "csrf_token": token})
    assert response.status_code == 422
    assert field_error(response, "email") == "give an email or a phone number so we can answer"
    assert 'value="Lin"' in page(response)
    assert count(ext, Lead) == 0


def test_the_web_to_lead_form_refuses_a_post_without_its_csrf_token(client, ext):
    response = client.post("/crm/web-lead", data={"name": "Lin", "email": "lin@co.example"})
    assert response.status_code == 400
    assert count(ext, Lead) == 0


def test_the_sixth_web_lead_in_a_minute_from_one_address_is_refused_with_429(client, ext):
    token = csrf_token(client, "/crm/web-lead")
    for number in range(5):
        response = client.post(
            "/crm/web-lead", data={"name": f"P{number}", "phone": "555", "csrf_token": token}
        )
        assert redirect_path(response) == "/crm/web-lead/thanks"
    refused = client.post("/crm/web-lead", data={"name": "P5", "phone": "555", "csrf_token": token})
    assert refused.status_code == 429
    assert "Too many requests from your address: try again in" in visible(refused)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert count(ext, Lead) == 5
    # Another address is counted on its own.
    other = client.post(
        "/crm/web-lead",
        data={"name": "Q", "phone": "555", "csrf_token": token},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert redirect_path(other) == "/crm/web-lead/thanks"
    assert count(ext, Lead) == 6


def test_the_web_lead_limit_comes_from_the_configuration(make_app, database_url, ext):
    app = make_app(database_url, OFFICIUM_WEB_LEAD_LIMIT="1 per minute")
    client = app.test_client()
    token = csrf_token(client, "/crm/web-lead")
    data = {"name": "Lin", "phone": "555", "csrf_token": token}
    assert client.post("/crm/web-lead", data=data).status_code == 302
    assert client.post("/crm/web-lead", data=data).status_code == 429


# --- stages settings ------------------------------------------------------------------------------------


def stage_rows(response: Any) -> list[str]:
    body = re.search(r'<table class="list" id="stages">.*?<tbody>(.*?)</tbody>', page(response), re.S)
    assert body
    rows = re.findall(r"<tr\b.*?</tr>", body.group(1), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows]


def stage_id(ext: Any, name: str) -> int:
    with reading(ext) as session:
        return session.scalar(select(Stage.id).where(Stage.name == name))


def test_stages_are_listed_created_edited_and_deleted(admin_client, ext):
    listing = admin_client.get("/crm/stages")
    assert listing.status_code == 200
    assert stage_rows(listing) == [
        "0 New 10% Open Edit Delete",
        "1 Qualified 25% Open Edit Delete",
        "2 Proposal 50% Open Edit Delete",
        "3 Negotiation 75% Open Edit Delete",
        "4 Won 100% Won Edit Delete",
        "5 Lost 0% Lost Edit Delete",
    ]

    response = submit(admin_client, "/crm/stages/new", {"name": "Demo", "probability": "40", "kind": "open"})
    assert redirect_path(response) == "/crm/stages"
    listing = admin_client.get("/crm/stages")
    assert "Stage Demo created." in flashes(listing)
    assert stage_rows(listing)[-1] == "6 Demo 40% Open Edit Delete"

    duplicate = submit(admin_client, "/crm/stages/new", {"name": "won", "probability": "10", "kind": "open"})
    assert duplicate.status_code == 422
    assert field_error(duplicate, "name") == "already in use"
    bad = submit(admin_client, "/crm/stages/new", {"name": "Maybe", "probability": "150", "kind": "open"})
    assert bad.status_code == 422
    assert field_error(bad, "probability") == "must be between 0 and 100"

    demo = stage_id(ext, "Demo")
    form = admin_client.get(f"/crm/stages/{demo}/edit")
    assert 'name="name" type="text" value="Demo"' in page(form)
    edit = {"name": "Demo done", "probability": "45", "kind": "open", "sequence": "2"}
    assert redirect_path(submit(admin_client, f"/crm/stages/{demo}/edit", edit)) == "/crm/stages"
    assert "2 Demo done 45% Open Edit Delete" in stage_rows(admin_client.get("/crm/stages"))
    taken = submit(admin_client, f"/crm/stages/{demo}/edit", {**edit, "name": "Lost"})
    assert taken.status_code == 422
    assert field_error(taken, "name") == "already in use"

    response = submit(admin_client, f"/crm/stages/{demo}/delete", form_page="/crm/stages")
    assert "Stage Demo done deleted." in flashes(admin_client.get("/crm/stages"))
    assert redirect_path(response) == "/crm/stages"
    assert count(ext, Stage) == 6


def test_a_stage_holding_deals_is_not_deleted(admin_client, ext, make_deal):
    make_deal(title="Big one", stage="Proposal")
    proposal = stage_id(ext, "Proposal")
    submit(admin_client, f"/crm/stages/{proposal}/delete", form_page="/crm/stages")
    listing = admin_client.get("/crm/stages")
    assert "Stage Proposal was not deleted: 1 deal(s) are in stage Proposal: move them first" in flashes(
        listing
    )
    assert "2 Proposal 50% Open Edit Delete" in stage_rows(listing)
    assert count(ext, Stage) == 6


# --- permissions and escaping ---------------------------------------------------------------------------


def test_viewers_read_leads_but_change_nothing(make_client, ext):
    lead_id = add_lead(ext, name="Ada", email="ada@x.example")
    viewer = make_client("viewer@test.example", permissions=("crm.view",))
    listing = viewer.get("/crm/leads")
    assert listing.status_code == 200 and table_column(listing, 0) == ["Ada"]
    assert "New lead" not in visible(listing) and "Import CSV" not in visible(listing)
    detail = viewer.get(f"/crm/leads/{lead_id}")
    assert detail.status_code == 200
    assert "Qualify" not in visible(detail) and "Disqualify" not in visible(detail)
    for path in (
        "/crm/leads/new",
        f"/crm/leads/{lead_id}/edit",
        f"/crm/leads/{lead_id}/qualify",
        "/crm/leads/import",
    ):
        assert_forbidden(viewer.get(path), "crm.lead.manage")
    refused = submit(viewer, f"/crm/leads/{lead_id}/disqualify", {"reason": "x"}, form_page="/crm/leads")
    assert_forbidden(refused, "crm.lead.manage")
    assert lead_of(ext, lead_id).status == "new"
    assert_forbidden(viewer.get("/crm/stages"), "crm.settings")
    stage = stage_id(ext, "New")
    assert_forbidden(submit(viewer, f"/crm/stages/{stage}/delete", form_page="/crm/leads"), "crm.settings")
    assert count(ext, Stage) == 6


def test_leads_need_crm_view_and_a_login(make_client, client, ext):
    outsider = make_client("outsider@test.example", permissions=("contacts.view",))
    assert_forbidden(outsider.get("/crm/leads"), "crm.view")
    assert_login_redirect(client.get("/crm/leads"))
    assert_login_redirect(client.get("/crm/stages"))
    settings = make_client("settings@test.example", permissions=("crm.settings",))
    assert settings.get("/crm/stages").status_code == 200


def test_user_data_is_escaped_on_every_page(admin_client, ext):
    evil = '<script>alert("x")</script>'
    lead_id = lead_id_from(
        submit(admin_client, "/crm/leads/new", lead_form(name=evil, company_name="<b>Bold</b>", notes=evil))
    )
    for path in (
        "/crm/leads",
        f"/crm/leads/{lead_id}",
        f"/crm/leads/{lead_id}/qualify",
        f"/crm/leads/{lead_id}/edit",
    ):
        body = page(admin_client.get(path))
        assert "<script>alert" not in body and "<b>Bold</b>" not in body, path
        assert "&lt;script&gt;alert(" in body, path
    preview = upload(admin_client, f'name,notes\n"{evil}",<i>x</i>\n')
    assert "<script>alert" not in page(preview) and "<i>x</i>" not in page(preview)
    assert "&lt;i&gt;x&lt;/i&gt;" in page(preview)
    assert carried_content(preview) == f'name,notes\n"{evil}",<i>x</i>\n'  # carried back intact
