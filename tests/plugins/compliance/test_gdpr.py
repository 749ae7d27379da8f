"""GDPR requests: a person's data exported from every enabled department, anonymized while the
bookkeeping stays, deleted only when nothing must be retained, and every request on record."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import set_company
from core.models import AuditLog, Contact, JournalLine
from core.services import companies, contacts, ledger
from core.testing import csrf_token
from plugins.accounting.models import Invoice
from plugins.accounting.services import invoices
from plugins.compliance.models import GdprRequest
from plugins.crm.models import Activity, Deal, Lead
from plugins.crm.services import activities, deals, leads
from plugins.hr.models import Applicant, Contract, Employee
from plugins.hr.services import employees, recruitment

pytestmark = pytest.mark.plugins("compliance", "crm", "accounting", "hr")

EXPORT = "/compliance/gdpr/contacts/{}/export"
ERASE = "/compliance/gdpr/contacts/{}/erase"
API_EXPORT = "/api/v1/compliance/gdpr/contacts/{}/export"
API_ERASE = "/api/v1/compliance/gdpr/contacts/{}/erase"
API_REQUESTS = "/api/v1/compliance/gdpr/requests"


def _person(session, name: str = "Jane Doe", email: str = "jane@example.com") -> Contact:
    return contacts.create_contact(
        session,
        kind="person",
        name=name,
        email=email,
        phone="555-0100",
        street="1 Privacy Lane",
        city="Springfield",
        notes="Prefers calls after 5pm",
        tags=["vip"],
        custom={"loyalty": "gold"},
    )


@pytest.fixture
def jane(session) -> dict[str, Any]:
    """Jane: a CRM lead and deal customer, an invoiced customer (posted), and an employee with a
    contract; she also applied for a job with her email. Returns her ids (committed)."""
    person = _person(session)
    lead = leads.create_lead(
        session,
        {"name": "Jane Doe", "email": "JANE@example.com", "phone": "555-0100", "notes": "Met at fair"},
    )
    deal = deals.create_deal(
        session, {"title": "Garden project", "contact_id": person.id, "expected_revenue": "2500.00"}
    )
    activity = activities.create_activity(
        session, {"subject": "Call back", "deal_id": deal.id, "notes": "Her daughter is ill"}
    )
    invoice = invoices.create_invoice(
        session,
        {
            "contact_id": person.id,
            "date": "2026-03-10",
            "lines": [{"description": "Consulting", "quantity": "1", "unit_price": "100.00"}],
        },
    )
    invoices.post_invoice(session, invoice)
    employee = employees.create_employee(
        session,
        {"contact_id": person.id, "hire_date": "2025-01-06", "notes": "Allergic to nuts",
         "emergency_name": "John Doe", "emergency_phone": "555-0199"},
    )  # fmt: skip
    session.add(
        Contract(
            company_id=person.company_id,
            employee_id=employee.id,
            start_date=employee.hire_date,
            wage=Decimal("3000.00"),
            notes="Agreed a private arrangement",
        )
    )
    applicant = recruitment.create_applicant(
        session, {"name": "Jane Doe", "email": "jane@example.com", "cv_text": "Jane's CV", "notes": "Strong"}
    )
    session.commit()
    return {
        "contact": person.id,
        "lead": lead.id,
        "deal": deal.id,
        "activity": activity.id,
        "invoice": invoice.id,
        "employee": employee.id,
        "applicant": applicant.id,
    }


def _download(response) -> dict[str, Any]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return json.loads(response.get_data(as_text=True))


def _erase(client, contact_id: int, mode: str, reason: str = "Email of 1 March", confirm: bool = True):
    data = {"csrf_token": csrf_token(client, f"/compliance/gdpr/contacts/{contact_id}"), "mode": mode}
    data["reason"] = reason
    if confirm:
        data["confirm"] = "yes"
    return client.post(ERASE.format(contact_id), data=data)


def _balances(session) -> list[tuple[str, str, str]]:
    session.expire_all()
    rows = [(row.code, str(row.debit), str(row.credit)) for row in ledger.trial_balance(session).rows]
    session.commit()  # end the read: the requests that follow write (SQLite)
    return rows


def _lines_of(session, contact_id: int) -> list[tuple[str, str]]:
    session.expire_all()
    lines = [
        (str(line.debit), str(line.credit))
        for line in session.scalars(
            select(JournalLine).where(JournalLine.contact_id == contact_id).order_by(JournalLine.id)
        )
    ]
    session.commit()
    return lines


# --- export -----------------------------------------------------------------------------------------


def test_export_holds_a_section_from_core_and_each_enabled_department(session, jane, officer_client):
    document = _download(officer_client.get(EXPORT.format(jane["contact"])))

    assert document["contact_id"] == jane["contact"]
    assert document["generated_by"] == "officer@example.com"
    sections = document["sections"]
    assert set(sections) == {"core", "crm", "accounting", "hr", "compliance"}
    assert sections["core"]["contact"]["email"] == "jane@example.com"
    assert sections["core"]["contact"]["tags"] == ["vip"]
    assert sections["core"]["contact"]["custom"] == {"loyalty": "gold"}
    assert {(line["debit"], line["credit"]) for line in sections["core"]["ledger_lines"]} == {
        ("100.00", "0.00")
    }
    assert [lead["notes"] for lead in sections["crm"]["leads"]] == ["Met at fair"]  # matched by email
    assert [deal["title"] for deal in sections["crm"]["deals"]] == ["Garden project"]
    assert [a["notes"] for a in sections["crm"]["activities"]] == ["Her daughter is ill"]
    assert [(i["state"], i["total"]) for i in sections["accounting"]["invoices"]] == [("posted", "100.00")]
    assert sections["hr"]["employee"]["emergency_name"] == "John Doe"
    assert [c["wage"] for c in sections["hr"]["employee"]["contracts"]] == ["3000.00"]
    assert [a["cv_text"] for a in sections["hr"]["applicants"]] == ["Jane's CV"]
    assert sections["compliance"]["gdpr_requests"] == []

    recorded = session.scalars(select(GdprRequest)).all()
    assert [(r.contact_id, r.kind, r.status) for r in recorded] == [(jane["contact"], "export", "done")]
    trail = session.scalars(
        select(AuditLog).where(AuditLog.model == "compliance_gdpr_request", AuditLog.action == "create")
    ).all()
    assert [row.record_id for row in trail] == [str(recorded[0].id)]
    assert trail[0].actor == "officer@example.com"


def test_a_second_export_lists_the_first_request(session, jane, officer_api):
    assert officer_api.get(API_EXPORT.format(jane["contact"]) + "?reason=Asked+by+letter").status_code == 200
    response = officer_api.get(API_EXPORT.format(jane["contact"]))
    assert response.status_code == 200
    requests = response.json["sections"]["compliance"]["gdpr_requests"]
    assert [(r["kind"], r["reason"]) for r in requests] == [("export", "Asked by letter")]


@pytest.mark.plugins("compliance")
def test_with_only_compliance_enabled_the_export_has_core_and_compliance(officer_client, session):
    person = _person(session)
    session.commit()
    document = _download(officer_client.get(EXPORT.format(person.id)))
    assert set(document["sections"]) == {"core", "compliance"}
    assert document["sections"]["core"]["contact"]["name"] == "Jane Doe"


# --- deleting and anonymizing ------------------------------------------------------------------------


def test_deleting_a_contact_with_posted_invoices_is_refused_and_changes_nothing(session, jane, officer_api):
    before = _balances(session)
    response = officer_api.post(
        API_ERASE.format(jane["contact"]), json={"mode": "delete", "reason": "Phone call"}
    )

    assert response.status_code == 422
    error = response.json["error"]
    assert error["message"].endswith("must be retained: anonymize instead")
    assert "1 posted customer invoices or credit notes" in error["message"]
    reasons = error["fields"]["mode"]
    assert any("posted ledger line" in reason for reason in reasons)
    assert any("employment contracts" in reason for reason in reasons)

    session.expire_all()
    person = session.get(Contact, jane["contact"])
    assert (person.name, person.email, person.tags) == ("Jane Doe", "jane@example.com", ["vip"])
    assert session.get(Lead, jane["lead"]).notes == "Met at fair"
    assert session.get(Employee, jane["employee"]).notes == "Allergic to nuts"
    assert _balances(session) == before
    refused = session.scalars(select(GdprRequest)).one()
    assert (refused.kind, refused.status, refused.reason) == ("delete", "refused", "Phone call")
    assert refused.outcome[-1] == "must be retained: anonymize instead"


def test_anonymizing_blanks_the_person_and_keeps_the_bookkeeping(session, jane, officer_client):
    before = _balances(session)
    lines_before = _lines_of(session, jane["contact"])
    assert lines_before

    response = _erase(officer_client, jane["contact"], "anonymize")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/compliance/gdpr/contacts/{jane['contact']}")

    session.expire_all()
    person = session.get(Contact, jane["contact"])
    assert person.name == f"Erased contact #{jane['contact']}"
    assert (person.email, person.phone, person.street, person.notes) == (None, None, None, None)
    assert person.tags == [] and person.custom == {}
    lead = session.get(Lead, jane["lead"])
    assert (lead.name, lead.email, lead.phone, lead.notes) == (f"Erased lead #{lead.id}", None, "", "")
    assert session.get(Activity, jane["activity"]).notes == ""
    assert session.get(Deal, jane["deal"]).expected_revenue == 2500
    employee = session.get(Employee, jane["employee"])
    assert (employee.notes, employee.emergency_name, employee.emergency_phone) == ("", "", "")
    assert session.scalars(select(Contract.notes)).all() == [""]
    applicant = session.get(Applicant, jane["applicant"])
    assert (applicant.name, applicant.email, applicant.cv_text) == (
        f"Erased applicant #{applicant.id}",
        "",
        "",
    )
    # The posted ledger lines still name the (anonymized) contact, with their amounts.
    assert _lines_of(session, jane["contact"]) == lines_before
    assert _balances(session) == before
    done = session.scalars(select(GdprRequest)).one()
    assert (done.kind, done.status) == ("anonymize", "done")
    assert any(line.startswith("contact #") for line in done.outcome)
    assert any("CRM leads" in line for line in done.outcome)
    assert any("job applications" in line for line in done.outcome)
    session.commit()

    page = officer_client.get(f"/compliance/gdpr/contacts/{jane['contact']}").get_data(as_text=True)
    assert "The contact&#39;s personal data was anonymized." in page
    assert "Jane Doe" not in page


def test_a_contact_with_nothing_retained_is_deleted_with_its_records(officer_api, session):
    person = _person(session, "Sam Lead", "sam@example.com")
    lead = leads.create_lead(session, {"name": "Sam Lead", "email": "sam@example.com"})
    deal = deals.create_deal(
        session, {"title": "Small job", "contact_id": person.id, "expected_revenue": "10"}
    )
    activities.create_activity(session, {"subject": "Email", "contact_id": person.id})
    draft = invoices.create_invoice(
        session,
        {"contact_id": person.id, "date": "2026-03-10",
         "lines": [{"description": "Draft", "quantity": "1", "unit_price": "5.00"}]},
    )  # fmt: skip
    employee = employees.create_employee(session, {"contact_id": person.id, "hire_date": "2026-01-05"})
    session.commit()
    ids = (person.id, lead.id, deal.id, draft.id, employee.id)

    response = officer_api.post(API_ERASE.format(ids[0]), json={"mode": "delete", "reason": "Web form #12"})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert (body["contact_id"], body["kind"], body["status"], body["contact"]) == (
        ids[0],
        "delete",
        "done",
        None,
    )
    assert f"contact #{ids[0]} deleted" in body["outcome"]
    session.expire_all()
    assert session.get(Contact, ids[0]) is None
    assert session.get(Lead, ids[1]) is None
    assert session.get(Deal, ids[2]) is None
    assert session.scalar(select(func.count()).select_from(Activity)) == 0
    assert session.get(Employee, ids[4]) is None
    assert session.get(Invoice, ids[3]) is None
    session.commit()
    listed = officer_api.get(f"{API_REQUESTS}?contact_id={ids[0]}").json["items"]
    assert [(r["kind"], r["status"], r["reason"]) for r in listed] == [("delete", "done", "Web form #12")]
    deleted = session.scalars(
        select(AuditLog.model).where(AuditLog.action == "delete", AuditLog.record_id == str(ids[0]))
    ).all()
    assert "contact" in deleted


def test_the_ui_shows_a_refused_deletion_with_its_reasons(session, jane, officer_client):
    response = _erase(officer_client, jane["contact"], "delete")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "must be retained: anonymize instead" in page
    assert "posted customer invoices" in page
    session.expire_all()
    assert session.get(Contact, jane["contact"]).name == "Jane Doe"
    assert session.scalars(select(GdprRequest.status)).all() == ["refused"]


def test_erasing_needs_a_reason_and_the_confirmation(session, jane, officer_client):
    unconfirmed = _erase(officer_client, jane["contact"], "anonymize", confirm=False)
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm" in unconfirmed.get_data(as_text=True)
    no_reason = _erase(officer_client, jane["contact"], "anonymize", reason="  ")
    assert no_reason.status_code == 422
    assert "is required" in no_reason.get_data(as_text=True)
    too_long = _erase(officer_client, jane["contact"], "anonymize", reason="x" * 501)
    assert too_long.status_code == 422
    nul = _erase(officer_client, jane["contact"], "anonymize", reason="a\x00b")
    assert nul.status_code == 422
    assert "must not contain NUL characters" in nul.get_data(as_text=True)
    bad_mode = _erase(officer_client, jane["contact"], "burn")
    assert bad_mode.status_code == 422
    assert "must be &#39;anonymize&#39; or &#39;delete&#39;" in bad_mode.get_data(as_text=True)
    session.expire_all()
    assert session.get(Contact, jane["contact"]).name == "Jane Doe"
    assert session.scalar(select(func.count()).select_from(GdprRequest)) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "burn", "reason": "x"},
        {"mode": "delete"},
        {"mode": "anonymize", "reason": ""},
        {"mode": "anonymize", "reason": "x" * 501},
        {"mode": 1, "reason": "x"},
        {"mode": "anonymize", "reason": "x", "extra": True},
        {"mode": "anonymize", "reason": "a\x00b"},
    ],
)
def test_bad_erase_requests_are_422_with_field_messages(session, jane, officer_api, body):
    response = officer_api.post(API_ERASE.format(jane["contact"]), json=body)
    assert response.status_code == 422
    assert response.json["error"]["fields"]
    session.expire_all()
    assert session.get(Contact, jane["contact"]).name == "Jane Doe"


# --- who may, and which contacts -------------------------------------------------------------------


def test_without_the_gdpr_permission_everything_is_403(session, jane, make_client, make_api_client):
    browser = make_client("sales@example.com", permissions=("contacts.view", "crm.view"))
    for path in (
        "/compliance/gdpr",
        f"/compliance/gdpr/contacts/{jane['contact']}",
        EXPORT.format(jane["contact"]),
    ):
        assert browser.get(path).status_code == 403, path
    token = csrf_token(browser, "/account/password")
    posted = browser.post(
        ERASE.format(jane["contact"]),
        data={"csrf_token": token, "mode": "delete", "reason": "x", "confirm": "y"},
    )
    assert posted.status_code == 403
    contact_page = browser.get(f"/contacts/{jane['contact']}").get_data(as_text=True)
    assert "Personal data (GDPR)" not in contact_page

    api = make_api_client("robot@example.com", permissions=("contacts.view",))
    assert api.get(API_EXPORT.format(jane["contact"])).status_code == 403
    assert api.get(API_REQUESTS).status_code == 403
    refused = api.post(API_ERASE.format(jane["contact"]), json={"mode": "delete", "reason": "x"})
    assert refused.status_code == 403
    session.expire_all()
    assert session.get(Contact, jane["contact"]) is not None
    assert session.scalar(select(func.count()).select_from(GdprRequest)) == 0


def test_another_companys_contact_is_404(ext, officer_client, officer_api, session):
    session.commit()  # the fixture's reads end before another connection writes (SQLite)
    with ext.db.transaction() as tx:
        ext.plugins.refresh(tx)
        other = companies.create_company(tx, name="Other Ltd", base_currency="EUR")
        set_company(tx, other.id)
        stranger_id = _person(tx, "Stranger", "stranger@example.com").id
    for path in (
        f"/compliance/gdpr/contacts/{stranger_id}",
        EXPORT.format(stranger_id),
        EXPORT.format(2**40),
        "/compliance/gdpr/contacts/abc/export",
    ):
        assert officer_client.get(path).status_code == 404, path
    assert _erase_raw(officer_client, stranger_id).status_code == 404
    assert officer_api.get(API_EXPORT.format(stranger_id)).status_code == 404
    assert officer_api.get(API_EXPORT.format(99999999999999999999)).status_code == 404
    response = officer_api.post(API_ERASE.format(stranger_id), json={"mode": "anonymize", "reason": "x"})
    assert response.status_code == 404
    session.expire_all()
    assert session.get(Contact, stranger_id).name == "Stranger"
    assert session.scalar(select(func.count()).select_from(GdprRequest)) == 0


def _erase_raw(client, contact_id: int):
    token = csrf_token(client, "/compliance/gdpr")
    return client.post(
        ERASE.format(contact_id),
        data={"csrf_token": token, "mode": "anonymize", "reason": "x", "confirm": "yes"},
    )


# --- the contact page and the register ---------------------------------------------------------------


def test_the_contact_page_offers_export_and_erasure_to_the_officer(session, jane, officer_client):
    page = officer_client.get(f"/contacts/{jane['contact']}").get_data(as_text=True)
    assert "Personal data (GDPR)" in page
    assert EXPORT.format(jane["contact"]) in page
    assert ERASE.format(jane["contact"]) in page
    assert 'name="csrf_token"' in page
    assert "Deleting is not possible" in page  # the posted invoice


def test_the_register_lists_requests_and_exports_csv(session, jane, officer_client, officer_api):
    officer_api.get(API_EXPORT.format(jane["contact"]) + "?reason=By+email")
    officer_api.post(
        API_ERASE.format(jane["contact"]), json={"mode": "delete", "reason": "Phone <b>call</b>"}
    )
    page = officer_client.get("/compliance/gdpr")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Phone &lt;b&gt;call&lt;/b&gt;" in html
    assert "Jane Doe" in html and "officer@example.com" in html
    refused_only = officer_client.get("/compliance/gdpr?status=refused").get_data(as_text=True)
    assert "By email" not in refused_only
    csv = officer_client.get("/compliance/gdpr?format=csv")
    assert csv.headers["Content-Disposition"] == 'attachment; filename="gdpr-requests.csv"'
    rows = csv.get_data(as_text=True).splitlines()
    assert rows[0].startswith("id,requested_at,requested_by,contact_id,contact,kind,status")
    assert len(rows) == 3
    api = officer_api.get(API_REQUESTS + "?limit=1")
    assert api.status_code == 200
    assert api.json["items"][0]["kind"] == "delete" and api.json["next_cursor"]
    second = officer_api.get(API_REQUESTS + f"?limit=1&cursor={api.json['next_cursor']}").json
    assert [item["kind"] for item in second["items"]] == ["export"]
    assert officer_api.get(API_REQUESTS + "?kind=burn").status_code == 422
    assert officer_api.get(API_REQUESTS + "?contact_id=99999999999999").status_code == 422
    assert officer_api.get(API_EXPORT.format(jane["contact"]) + "?reason=" + "x" * 501).status_code == 422
    assert officer_api.get(API_REQUESTS + "?cursor=garbage").status_code == 422


def test_merging_contacts_moves_their_requests(session, jane, officer_api):
    assert officer_api.get(API_EXPORT.format(jane["contact"])).status_code == 200
    duplicate = _person(session, "Jane D.", "jane.d@example.com")
    session.commit()
    contacts.merge_contacts(session, session.get(Contact, jane["contact"]), duplicate)
    session.commit()
    listed = officer_api.get(f"{API_REQUESTS}?contact_id={duplicate.id}").json["items"]
    assert [r["kind"] for r in listed] == ["export"]


def test_the_api_is_described_in_openapi(officer_api):
    paths = officer_api.get("/api/v1/openapi.json").json["paths"]
    assert {"get"} <= set(paths["/api/v1/compliance/gdpr/contacts/{contact_id}/export"])
    assert {"post"} <= set(paths["/api/v1/compliance/gdpr/contacts/{contact_id}/erase"])
    assert {"get"} <= set(paths["/api/v1/compliance/gdpr/requests"])


@pytest.mark.plugins("compliance", "crm")
def test_an_erasure_a_department_fails_to_carry_out_is_not_reported_done(app, ext, session, monkeypatch):
    from sqlalchemy import select

    from core.services import contacts as contact_service
    from plugins.compliance.models import GdprRequest
    from plugins.compliance.services import gdpr
    from plugins.crm import privacy

    contact = contact_service.create_contact(
        session, kind="person", name="Rita Roe", email="rita@example.com"
    )
    session.commit()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(privacy, "erase", broken)
    with pytest.raises(Exception) as raised:
        gdpr.erase_contact(session, contact.id, mode="anonymize", reason="asked by email")
    session.rollback()
    assert "crm" in str(raised.value) and "disk full" in str(raised.value)
    assert session.get(type(contact), contact.id).name == "Rita Roe"
    assert session.scalars(select(GdprRequest).where(GdprRequest.status == "done")).all() == []
