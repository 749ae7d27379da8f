"""A record's history on its detail page: the last changes, who made them, old -> new, and a link
to the full history in the audit log; shown to those who may browse the trail, to nobody else."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from core import audit
from core.context import set_company
from core.services import companies, contacts
from plugins.crm.services import deals

pytestmark = pytest.mark.plugins("compliance", "crm")

HISTORY = "<h2>History</h2>"


def add_contact(session, name: str = "Ada Lovelace", **data):
    contact = contacts.create_contact(session, kind="person", name=name, **data)
    session.commit()
    return contact


def test_an_officer_sees_a_contacts_history_with_old_and_new_values(session, make_client):
    ada = add_contact(session, email="ada@example.com")
    contacts.update_contact(session, ada, name="Ada King")
    session.commit()
    officer = make_client("officer2@example.com", roles=("Compliance officer",))
    page = officer.get(f"/contacts/{ada.id}").get_data(as_text=True)
    assert HISTORY in page
    panel = page[page.index(HISTORY) :]
    assert "Ada Lovelace" in panel and "Ada King" in panel and "Changed" in panel and "Created" in panel
    assert f"/compliance/audit-log?model=contact&amp;record_id={ada.id}" in panel
    assert "Full history" in panel


def test_a_clerk_sees_the_contact_but_not_its_history(session, make_client):
    ada = add_contact(session)
    clerk = make_client("clerk2@example.com", permissions=("contacts.view",))
    response = clerk.get(f"/contacts/{ada.id}")
    assert response.status_code == 200 and "Ada Lovelace" in response.get_data(as_text=True)
    assert HISTORY not in response.get_data(as_text=True)


def test_a_deal_page_shows_its_history_to_an_officer_only(session, make_client):
    customer = add_contact(session, "Acme Buyer")
    deal = deals.create_deal(
        session, {"title": "Big order", "contact_id": customer.id, "expected_revenue": Decimal("5000")}
    )
    session.commit()
    deals.update_deal(session, deal, {"expected_revenue": Decimal("7500")})
    session.commit()
    officer = make_client("officer3@example.com", roles=("Compliance officer",), permissions=("crm.view",))
    page = officer.get(f"/crm/deals/{deal.id}").get_data(as_text=True)
    assert HISTORY in page
    panel = page[page.index(HISTORY) :]
    assert "Big order" in panel and "7500" in panel
    assert f"model=crm_deal&amp;record_id={deal.id}" in panel

    seller = make_client("seller@example.com", permissions=("crm.view",))
    response = seller.get(f"/crm/deals/{deal.id}")
    assert response.status_code == 200 and HISTORY not in response.get_data(as_text=True)


def test_the_panel_shows_the_last_ten_changes(session, make_client):
    ada = add_contact(session)
    for number in range(12):
        contacts.update_contact(session, ada, phone=f"+1 555 01{number:02d}")
        session.commit()
    officer = make_client("officer4@example.com", roles=("Compliance officer",))
    page = officer.get(f"/contacts/{ada.id}").get_data(as_text=True)
    panel = page[page.index(HISTORY) :]
    assert len(re.findall(r'<tr class="audit-row">', panel)) == 10
    # The last ten of twelve changes: 0101 -> 0102 is the oldest shown, None -> 0100 is not.
    assert "+1 555 0111" in panel and "+1 555 0100" not in panel


def test_a_users_history_keeps_the_password_masked(make_client, make_api_client):
    make_client("someone@example.com")
    officer = make_api_client("officer5@example.com", roles=("Compliance officer",))
    rows = officer.get("/api/v1/compliance/audit-log?model=user_account&action=create&limit=500").json[
        "items"
    ]
    [row] = [r for r in rows if r["changes"]["email"][1] == "someone@example.com"]
    assert row["changes"]["password_hash"] == [None, audit.MASK]


def test_another_companys_rows_about_the_same_id_stay_out_of_the_panel(session, make_client):
    ada = add_contact(session)
    other = companies.create_company(session, name="Other Company")
    session.commit()
    set_company(session, other.id)
    # A row that names the same record id in another company (its own contact numbering).
    audit.record_event(session, model="contact", record_id=ada.id, action="exported", details={"who": "them"})
    session.commit()
    officer = make_client("officer6@example.com", roles=("Compliance officer",))
    page = officer.get(f"/contacts/{ada.id}").get_data(as_text=True)
    panel = page[page.index(HISTORY) :]
    assert "exported" not in panel and "them" not in panel
