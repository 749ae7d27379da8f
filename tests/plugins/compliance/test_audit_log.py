"""The audit log browser and its API: every change, made in the browser, through the API or on the
command line, is listed with who made it and how; filters narrow the list, bad ones are explained;
the CSV holds the filtered rows; another company's rows never show."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from core import audit
from core.context import set_company
from core.models import AuditLog, User
from core.services import companies, contacts
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, run_cli

pytestmark = pytest.mark.plugins("compliance")

LOG = "/compliance/audit-log"
API = "/api/v1/compliance/audit-log"


def add_contact(session, name: str, **data):
    contact = contacts.create_contact(session, kind="person", name=name, **data)
    session.commit()
    return contact


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["items"]


# --- who, how and what ---------------------------------------------------------------------------


def test_changes_through_the_browser_the_api_and_the_cli_show_their_actor_and_channel(
    admin_client, admin_api, runner, officer_client, officer_api
):
    token = csrf_token(admin_client, "/contacts/new")
    created = admin_client.post(
        "/contacts/new",
        data={"csrf_token": token, "kind": "person", "name": "Wendy Web"},
        headers={"X-Request-Id": "req-web-1"},
    )
    assert created.status_code == 302
    assert admin_api.post("/api/v1/contacts", json={"kind": "person", "name": "Andy Api"}).status_code == 201
    run_cli(runner, "users", "create", "carl@example.com", "--password", ADMIN_PASSWORD)

    web = rows_of(officer_api.get(f"{API}?model=contact&via=web"))
    assert [r["changes"]["name"] for r in web] == [[None, "Wendy Web"]]
    assert web[0]["actor"] == ADMIN_EMAIL and web[0]["request_id"] == "req-web-1" and web[0]["ip"]
    assert web[0]["action"] == "create" and web[0]["token"] is None

    api = rows_of(officer_api.get(f"{API}?model=contact&via=api"))
    assert [r["changes"]["name"] for r in api] == [[None, "Andy Api"]]
    assert api[0]["actor"] == ADMIN_EMAIL and api[0]["token"]  # the token's prefix, never the token

    cli = [
        r
        for r in rows_of(officer_api.get(f"{API}?model=user_account&via=cli&action=create"))
        if r["changes"]["email"] == [None, "carl@example.com"]
    ]
    assert len(cli) == 1 and cli[0]["actor"] == "cli" and cli[0]["user_id"] is None

    page = officer_client.get(LOG).get_data(as_text=True)
    assert "Wendy Web" in page and "Andy Api" in page and "carl@example.com" in page
    assert "req-web-1" in page and api[0]["token"] in page

    only_web = officer_client.get(f"{LOG}?via=web&model=contact").get_data(as_text=True)
    assert "Wendy Web" in only_web and "Andy Api" not in only_web


def test_a_password_hash_is_masked_everywhere(officer_client, officer_api, session):
    stored = session.scalar(select(User.password_hash).where(User.email == "officer@example.com"))
    session.commit()
    assert stored
    rows = [
        r
        for r in rows_of(officer_api.get(f"{API}?model=user_account&action=create&limit=500"))
        if r["changes"].get("email", [None, None])[1] == "officer@example.com"
    ]
    assert rows and rows[0]["changes"]["password_hash"] == [None, audit.MASK]
    page = officer_client.get(f"{LOG}?model=user_account").get_data(as_text=True)
    download = officer_client.get(f"{LOG}?model=user_account&format=csv").get_data(as_text=True)
    for shown in (page, download, str(rows)):
        assert stored not in shown
    assert audit.MASK in page and audit.MASK in download


# --- filters -------------------------------------------------------------------------------------


def test_each_filter_narrows_the_list(officer, officer_api, session):
    ada = add_contact(session, "Ada Lovelace", email="ada@example.com")
    grace = add_contact(session, "Grace Hopper")
    contacts.update_contact(session, ada, phone="+1 555 0100")
    audit.record_event(
        session,
        model="contact",
        record_id=grace.id,
        action="refused:ledger.entry.post",
        details={"why": "sod"},
    )
    session.commit()

    def seqs(query: str) -> set[int]:
        return {r["seq"] for r in rows_of(officer_api.get(f"{API}?limit=500&{query}"))}

    everything = seqs("")
    assert len(everything) > 4
    ada_rows = seqs(f"model=contact&record_id={ada.id}")
    assert len(ada_rows) == 2 and ada_rows < everything
    assert len(seqs(f"model=contact&record_id={ada.id}&action=update")) == 1
    assert len(seqs("action=refused")) == 1
    assert seqs("action=refused") == seqs("action=refused:ledger.entry.post")
    assert seqs("model=contact") == ada_rows | seqs(f"model=contact&record_id={grace.id}")
    # Everything above was done on the command line: none of it is the officer's.
    assert seqs(f"user_id={officer}") < everything
    assert all(
        r["user_id"] == officer for r in rows_of(officer_api.get(f"{API}?user_id={officer}&limit=500"))
    )
    assert seqs("via=system") | seqs("via=cli") | seqs("via=web") | seqs("via=api") == everything
    today = dt.datetime.now(dt.UTC).date()
    tomorrow, yesterday = today + dt.timedelta(days=1), today - dt.timedelta(days=1)
    assert seqs(f"date_from={yesterday}&date_to={tomorrow}") == everything
    assert seqs(f"date_from={tomorrow}") == set()
    assert seqs(f"date_to={yesterday}") == set()


def test_the_user_filter_lists_only_that_users_rows(officer, officer_client, admin_client, admin_user):
    token = csrf_token(admin_client, "/contacts/new")
    admin_client.post("/contacts/new", data={"csrf_token": token, "kind": "person", "name": "By Admin"})
    page = officer_client.get(f"{LOG}?user_id={admin_user}").get_data(as_text=True)
    assert "By Admin" in page
    assert f'<option value="{admin_user}" selected>' in page
    other = officer_client.get(f"{LOG}?user_id={officer}").get_data(as_text=True)
    assert "By Admin" not in other


def test_the_model_and_action_selects_offer_readable_labels(officer_client, session):
    add_contact(session, "Ada Lovelace")
    page = officer_client.get(LOG).get_data(as_text=True)
    assert '<option value="contact">Contact</option>' in page
    assert '<option value="user_account">User</option>' in page
    assert '<option value="refused">' in page and '<option value="ledger.entry.post">' in page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("user_id=abc", "user_id"),
        ("user_id=99999999999999999999999", "user_id"),
        ("model=Robert%27)%3B%20DROP", "model"),
        ("record_id=" + "9" * 65, "record_id"),
        ("date_from=2024-13-01", "date_from"),
        ("date_to=yesterday", "date_to"),
        ("date_from=2026-02-01&date_to=2026-01-01", "date_to"),
        ("date_from=0001-01-01", "date_from"),
        ("action=not%20an%20action!", "action"),
        ("action=" + "a" * 101, "action"),
        ("via=fax", "via"),
    ],
)
def test_bad_filter_values_are_a_message_in_the_browser_and_a_422_in_the_api(
    officer_client, officer_api, query, field
):
    page = officer_client.get(f"{LOG}?{query}")
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Some filters are not valid" in text and 'class="field-error"' in text
    response = officer_api.get(f"{API}?{query}")
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_a_forged_cursor_is_a_message_not_an_error(officer_client, officer_api):
    page = officer_client.get(f"{LOG}?cursor=not-a-cursor")
    assert page.status_code == 200 and "no longer valid" in page.get_data(as_text=True)
    assert officer_api.get(f"{API}?cursor=not-a-cursor").status_code == 422
    assert officer_api.get(f"{API}?sort=actor").status_code == 422


def test_pages_follow_one_another_newest_first(officer_client, officer_api, session):
    for number in range(60):
        contacts.create_contact(session, kind="person", name=f"Person {number:02d}")
    session.commit()
    first = officer_client.get(f"{LOG}?model=contact").get_data(as_text=True)
    assert first.count('class="audit-row') == 50 and "Person 59" in first and "Person 00" not in first
    seen: list[int] = []
    cursor = None
    while True:
        url = f"{API}?model=contact&limit=25" + (f"&cursor={cursor}" if cursor else "")
        body = officer_api.get(url).json
        seen += [r["seq"] for r in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 60 and seen == sorted(seen, reverse=True)
    oldest_first = rows_of(officer_api.get(f"{API}?model=contact&limit=3&sort=seq"))
    assert [r["changes"]["name"][1] for r in oldest_first] == ["Person 00", "Person 01", "Person 02"]


# --- CSV -----------------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_rows(officer_client, session):
    ada = add_contact(session, "Ada Lovelace")
    add_contact(session, "Grace Hopper")
    contacts.update_contact(session, ada, phone="+1 555 0100")
    session.commit()
    response = officer_client.get(f"{LOG}?model=contact&record_id={ada.id}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["model"], r["record_id"], r["action"]) for r in rows] == [
        ("contact", str(ada.id), "update"),
        ("contact", str(ada.id), "create"),
    ]
    assert '"phone": [null, "+1 555 0100"]' in rows[0]["changes"]
    assert "Grace Hopper" not in response.get_data(as_text=True)


def test_a_csv_with_bad_filters_is_the_page_with_the_message(officer_client):
    response = officer_client.get(f"{LOG}?date_from=nope&format=csv")
    assert response.status_code == 422 and response.mimetype == "text/html"


# --- one row, permissions, companies -------------------------------------------------------------


def test_one_row_by_id(officer_api, session):
    ada = add_contact(session, "Ada Lovelace")
    row_id = session.scalar(
        select(AuditLog.id).where(AuditLog.model == "contact", AuditLog.record_id == str(ada.id))
    )
    session.commit()
    body = officer_api.get(f"{API}/{row_id}").json
    assert body["id"] == row_id and body["changes"]["name"] == [None, "Ada Lovelace"] and body["hash"]
    assert officer_api.get(f"{API}/999999").status_code == 404
    assert officer_api.get(f"{API}/99999999999999").status_code == 404


def test_another_companys_rows_are_not_listed(officer_client, officer_api, session):
    add_contact(session, "Ours Person")
    other = companies.create_company(session, name="Other Company", base_currency="EUR")
    session.commit()
    set_company(session, other.id)
    hidden = add_contact(session, "Hidden Person")
    hidden_row = session.scalar(
        select(AuditLog.id).where(AuditLog.model == "contact", AuditLog.record_id == str(hidden.id))
    )
    session.commit()

    page = officer_client.get(f"{LOG}?model=contact").get_data(as_text=True)
    assert "Ours Person" in page and "Hidden Person" not in page
    listed = rows_of(officer_api.get(f"{API}?model=contact&limit=500"))
    assert {r["changes"]["name"][1] for r in listed} == {"Ours Person"}
    assert officer_api.get(f"{API}/{hidden_row}").status_code == 404
    download = officer_client.get(f"{LOG}?format=csv").get_data(as_text=True)
    assert "Hidden Person" not in download


def test_the_log_needs_the_audit_permission(make_client, make_api_client, client):
    viewer = make_client("viewer@example.com", permissions=("compliance.view",))
    assert viewer.get(LOG).status_code == 403
    assert viewer.get(f"{LOG}?format=csv").status_code == 403
    api = make_api_client("viewer-api@example.com", permissions=("compliance.view",))
    assert api.get(API).status_code == 403
    assert api.get(f"{API}/1").status_code == 403
    assert client.get(API).status_code == 401


def test_the_api_is_documented(officer_api):
    paths = officer_api.get("/api/v1/openapi.json").json["paths"]
    assert "/api/v1/compliance/audit-log" in paths
    assert "/api/v1/compliance/audit-log/{row_id}" in paths
    assert "/api/v1/compliance/audit-log/verify" in paths
    assert {"get", "put"} <= set(paths["/api/v1/compliance/period-locks"])
