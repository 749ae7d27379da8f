"""Verifying the audit trail from the browser and the API: an untouched chain is reported intact,
a row altered behind the application's back is named, and each verification joins the trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core.models import AuditLog
from core.services import contacts
from core.testing import csrf_token

pytestmark = pytest.mark.plugins("compliance")

LOG = "/compliance/audit-log"


def verify_in_browser(client) -> str:
    token = csrf_token(client, LOG)
    response = client.post(f"{LOG}/verify", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith(LOG)
    return client.get(LOG).get_data(as_text=True)


def chain_status(page: str) -> str:
    start = page.index('id="chain-status"')
    return page[start : page.index("</section>", start)]


def test_verify_now_reports_an_intact_chain_and_records_the_check(officer_client, officer, session):
    contacts.create_contact(session, kind="person", name="Ada Lovelace")
    session.commit()
    before = officer_client.get(LOG).get_data(as_text=True)
    assert "has not been verified" in chain_status(before)

    status = chain_status(verify_in_browser(officer_client))
    assert "Intact" in status and "officer@example.com" in status and "Broken" not in status

    session.expire_all()
    [row] = session.scalars(select(AuditLog).where(AuditLog.action == "audit.verified")).all()
    assert row.user_id == officer and row.via == "web" and row.model == "audit_log"
    assert row.changes["ok"] is True and row.changes["rows"] >= 1 and row.changes["problem"] == ""


def test_a_row_altered_with_raw_sql_is_named(officer_client, officer_api, ext, session):
    ada = contacts.create_contact(session, kind="person", name="Ada Lovelace")
    session.commit()
    seq = session.scalar(
        select(AuditLog.seq).where(AuditLog.model == "contact", AuditLog.record_id == str(ada.id))
    )
    session.commit()
    with ext.db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :seq"), {"seq": seq})

    status = chain_status(verify_in_browser(officer_client))
    assert "Broken" in status and "Intact" not in status
    assert f"row {seq} was altered" in status
    assert f"show row {seq}" in status

    body = officer_api.post("/api/v1/compliance/audit-log/verify").json
    assert body["ok"] is False and body["seq"] == seq and f"row {seq} was altered" in body["problem"]
    assert body["rows"] == seq - 1 and len(body["head_hash"]) == 64

    # The link shows the altered row on the page it opens.
    page = officer_client.get(LOG).get_data(as_text=True)
    link = page[page.index("show row") - 300 : page.index("show row")]
    href = link[link.rindex('href="') + 6 :].split('"')[0].replace("&amp;", "&")
    assert f'id="seq-{seq}"' in officer_client.get(href).get_data(as_text=True)


def test_the_api_verifies_and_reports_intact(officer_api):
    body = officer_api.post("/api/v1/compliance/audit-log/verify").json
    assert body["ok"] is True and body["problem"] == "" and body["rows"] >= 1 and body["seq"] is None
    again = officer_api.post("/api/v1/compliance/audit-log/verify").json
    assert again["ok"] is True and again["rows"] == body["rows"] + 1  # the first check joined the chain
    rows = officer_api.get("/api/v1/compliance/audit-log?action=audit.verified").json["items"]
    assert len(rows) == 2 and rows[0]["via"] == "api" and rows[0]["token"]


def test_verifying_needs_the_permission_and_a_form_token(officer_client, make_client, make_api_client):
    assert officer_client.post(f"{LOG}/verify", data={}).status_code == 400  # no CSRF token
    viewer = make_client("viewer@example.com", permissions=("compliance.view",))
    assert viewer.post(f"{LOG}/verify", data={"csrf_token": csrf_token(viewer, "/")}).status_code == 403
    api = make_api_client("viewer-api@example.com", permissions=("compliance.view",))
    assert api.post("/api/v1/compliance/audit-log/verify").status_code == 403
