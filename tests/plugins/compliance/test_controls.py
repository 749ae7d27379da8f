"""Controls and their tests through the browser and the API: linking risks, the next test date,
overdue tests, recording a test with an evidence file (stored, downloadable, limited to 10 MB,
another company's a 404), failing controls on the dashboard, and permissions."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.context import set_company
from core.services import companies
from core.testing import csrf_token, login
from plugins.compliance.models import Control, ControlTest
from plugins.compliance.services import controls, risks
from tests.core.web_helpers import count, csv_rows, field_error, page, submit, visible

pytestmark = pytest.mark.plugins("compliance")

API = "/api/v1/compliance"
TODAY = dt.date.today()


@contextmanager
def system(ext: Any) -> Iterator[Any]:
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, companies.first_company(session).id)
        yield session


def add_risk(ext: Any, title: str) -> int:
    with system(ext) as session:
        return risks.create_risk(session, {"title": title, "category": "it", "likelihood": 3, "impact": 3}).id


def add_control(ext: Any, name: str, **fields: Any) -> int:
    with system(ext) as session:
        return controls.create_control(session, {"name": name, **fields}).id


def uploads(app: Any) -> Path:
    return Path(app.instance_path) / "uploads" / "compliance"


def post_test(
    client: Any, control_id: int, data: dict[str, Any], file: tuple[bytes, str] | None = None
) -> Any:
    path = f"/compliance/controls/{control_id}/tests/new"
    form = {**data, "csrf_token": csrf_token(client, path)}
    if file is not None:
        form["evidence_file"] = (io.BytesIO(file[0]), file[1])
    return client.post(path, data=form, content_type="multipart/form-data")


def control_row(response: Any, control_id: int) -> str:
    match = re.search(rf'<tr id="control-{control_id}"[^>]*>.*?</tr>', page(response), re.S)
    assert match, f"control {control_id} not listed"
    return match.group(0)


# --- defining controls --------------------------------------------------------------------------------


def test_a_control_links_many_risks_and_is_due_one_period_later(ext, officer_client, officer):
    first, _second, third = add_risk(ext, "Fraud"), add_risk(ext, "Errors"), add_risk(ext, "Theft")
    form_page = officer_client.get(f"/compliance/controls/new?risk_id={first}")
    assert re.search(rf'value="{first}" checked', page(form_page))
    token = csrf_token(officer_client, "/compliance/controls/new")
    response = officer_client.post(
        "/compliance/controls/new",
        data={
            "name": "Four-eyes payment release",
            "owner_id": str(officer),
            "frequency": "semiannual",
            "risk_ids": [str(first), str(third)],
            "csrf_token": token,
        },
    )
    assert response.status_code == 302, page(response)[:3000]
    with ext.db.session(read_only=True) as session:
        control = session.scalars(select(Control)).one()
        assert control.reference == "CTRL-0001"
        assert sorted(r.id for r in control.risks) == [first, third]
        assert control.next_test_date == controls.add_months(TODAY, 6)
        control_id = control.id
    detail = officer_client.get(f"/compliance/controls/{control_id}")
    assert "Fraud" in visible(detail) and "Theft" in visible(detail) and "Errors" not in visible(detail)
    listing = officer_client.get("/compliance/controls")
    assert "RISK-0001" in control_row(listing, control_id) and "RISK-0003" in control_row(listing, control_id)
    assert "never tested" in control_row(listing, control_id)
    # Another company's risk, or no risk at all, is a field message.
    response = submit(officer_client, "/compliance/controls/new", {"name": "X", "risk_ids": "999999"})
    assert response.status_code == 422 and field_error(response, "risk_ids") == "no such risk"
    response = submit(officer_client, "/compliance/controls/new", {"name": "", "frequency": "weekly"})
    assert field_error(response, "name") == "is required"
    assert field_error(response, "frequency") == "must be one of monthly, quarterly, semiannual, annual"
    assert count(ext, Control) == 1


def test_months_are_added_to_the_end_of_short_months():
    assert controls.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert controls.add_months(dt.date(2027, 11, 30), 3) == dt.date(2028, 2, 29)
    assert controls.add_months(dt.date(2026, 8, 15), 12) == dt.date(2027, 8, 15)


# --- recording tests, evidence --------------------------------------------------------------------


def test_a_test_with_its_evidence_file_is_stored_and_downloadable(app, ext, officer_client, officer):
    control_id = add_control(ext, "Bank reconciliation", frequency="monthly")
    content = b"%PDF-1.4 reconciliation of March\n" * 100
    tested_on = TODAY - dt.timedelta(days=2)
    response = post_test(
        officer_client,
        control_id,
        {"tested_on": tested_on.isoformat(), "result": "pass", "evidence_note": "Sampled 25 items"},
        (content, "März reconciliation.pdf"),
    )
    assert response.status_code == 302, page(response)[:3000]
    with ext.db.session(read_only=True) as session:
        test = session.scalars(select(ControlTest)).one()
        control = session.get(Control, control_id)
        assert test.tester_id == officer  # me, by default
        assert test.evidence_filename == "März reconciliation.pdf"
        assert test.evidence_size == len(content)
        assert test.evidence_sha256 == hashlib.sha256(content).hexdigest()
        assert test.evidence_content_type == "application/pdf"
        assert control.next_test_date == controls.add_months(tested_on, 1)
        stored, test_id = test.evidence_stored_name, test.id
    assert stored and "reconciliation" not in stored
    assert (uploads(app) / stored).read_bytes() == content

    detail = officer_client.get(f"/compliance/controls/{control_id}")
    assert "Sampled 25 items" in visible(detail) and "März reconciliation.pdf" in visible(detail)
    download = officer_client.get(f"/compliance/control-tests/{test_id}/evidence")
    assert download.status_code == 200
    assert download.data == content
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''M%C3%A4rz%20reconciliation.pdf" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    download.close()

    # The API lists the test with its evidence.
    from core.testing import ApiClient, api_token

    client = app.test_client()
    api = ApiClient(client, api_token(client, "officer@example.com"))
    tests = api.get(f"{API}/controls/{control_id}/tests").json["items"]
    assert tests[0]["evidence"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert tests[0]["evidence"]["url"] == f"/compliance/control-tests/{test_id}/evidence"
    assert api.get(f"{API}/controls/{control_id}").json["last_result"] == "pass"


def test_evidence_needs_compliance_view_and_another_companys_is_404(app, ext, officer_client, make_client):
    control_id = add_control(ext, "Access review")
    assert (
        post_test(
            officer_client,
            control_id,
            {"tested_on": TODAY.isoformat(), "result": "fail"},
            (b"log", "log.txt"),
        ).status_code
        == 302
    )
    with ext.db.session(read_only=True) as session:
        mine = session.scalars(select(ControlTest.id)).one()
    with system(ext) as session:
        other = companies.create_company(session, name="Other Ltd", base_currency="EUR")
        set_company(session, other.id)
        theirs = controls.create_control(session, {"name": "Their control"})
        test = controls.record_test(
            session,
            theirs,
            {"tested_on": TODAY.isoformat(), "result": "pass"},
            evidence=controls.EvidenceUpload("theirs.txt", "text/plain", b"secret"),
            folder=uploads(app),
        )
        their_test, their_control = test.id, theirs.id
    assert officer_client.get(f"/compliance/control-tests/{their_test}/evidence").status_code == 404
    assert officer_client.get(f"/compliance/controls/{their_control}").status_code == 404
    assert officer_client.get(f"/compliance/controls/{their_control}/tests/new").status_code == 404
    assert officer_client.get("/compliance/control-tests/99999999999/evidence").status_code == 404
    clerk = make_client("clerk2@example.com")
    assert clerk.get(f"/compliance/control-tests/{mine}/evidence").status_code == 403
    reader = make_client("reader@example.com", permissions=("compliance.view",))
    assert reader.get(f"/compliance/control-tests/{mine}/evidence").data == b"log"
    assert reader.get(f"/compliance/controls/{control_id}/tests/new").status_code == 403


def test_an_evidence_file_over_10_mb_is_a_form_error_and_nothing_is_kept(app, ext, officer_client):
    control_id = add_control(ext, "Backups restore")
    too_big = b"x" * (10 * 1024 * 1024 + 1)
    response = post_test(
        officer_client, control_id, {"tested_on": TODAY.isoformat(), "result": "pass"}, (too_big, "big.bin")
    )
    assert response.status_code == 422
    assert field_error(response, "evidence_file") == "is larger than 10 MB"
    far_too_big = b"x" * (21 * 1024 * 1024)
    response = post_test(
        officer_client,
        control_id,
        {"tested_on": TODAY.isoformat(), "result": "pass"},
        (far_too_big, "huge.bin"),
    )
    assert response.status_code == 413
    assert field_error(response, "evidence_file") == "is larger than 10 MB"
    assert count(ext, ControlTest) == 0
    assert not uploads(app).exists() or not any(uploads(app).iterdir())


def test_a_bad_test_is_refused_with_field_messages(ext, officer_client):
    control_id = add_control(ext, "Stock count")
    cases = [
        (
            {"tested_on": (TODAY + dt.timedelta(days=1)).isoformat(), "result": "pass"},
            "tested_on",
            "cannot be in the future",
        ),
        ({"tested_on": "31/12/2025", "result": "pass"}, "tested_on", "must be a date (YYYY-MM-DD)"),
        ({"tested_on": TODAY.isoformat(), "result": "maybe"}, "result", "must be pass or fail"),
        (
            {"tested_on": TODAY.isoformat(), "result": "pass", "tester_id": "123456"},
            "tester_id",
            "no such user in this company",
        ),
        (
            {"tested_on": TODAY.isoformat(), "result": "pass", "evidence_note": "x" * 10_001},
            "evidence_note",
            "must be at most 10000 characters",
        ),
    ]
    for data, field, message in cases:
        response = post_test(officer_client, control_id, data)
        assert response.status_code == 422, data
        assert field_error(response, field) == message, (field, page(response)[:2000])
    assert count(ext, ControlTest) == 0


def test_an_inactive_control_cannot_be_tested(ext, officer_client, officer_api):
    control_id = add_control(ext, "Old control")
    assert officer_api.patch(f"{API}/controls/{control_id}", json={"active": False}).status_code == 200
    response = officer_api.post(
        f"{API}/controls/{control_id}/tests", json={"tested_on": TODAY.isoformat(), "result": "pass"}
    )
    assert response.status_code == 409
    assert officer_client.get(f"/compliance/controls/{control_id}/tests/new").status_code == 302
    assert count(ext, ControlTest) == 0


# --- overdue and failing --------------------------------------------------------------------------


def test_overdue_tests_are_highlighted_and_failing_controls_are_on_the_dashboard(ext, officer_client):
    late = add_control(ext, "Overdue control", next_test_date=(TODAY - dt.timedelta(days=1)).isoformat())
    fine = add_control(ext, "On time", next_test_date=(TODAY + dt.timedelta(days=5)).isoformat())
    retired = add_control(
        ext, "Retired", next_test_date=(TODAY - dt.timedelta(days=50)).isoformat(), active=False
    )
    failing = add_control(ext, "Failing control")
    assert (
        post_test(officer_client, failing, {"tested_on": TODAY.isoformat(), "result": "fail"}).status_code
        == 302
    )
    listing = officer_client.get("/compliance/controls?active=all")
    assert 'class="risk-overdue"' in control_row(listing, late) and "Overdue" in control_row(listing, late)
    for quiet in (fine, retired, failing):
        assert "Overdue" not in control_row(listing, quiet)
    assert "Fail" in control_row(listing, failing)
    overdue_only = visible(officer_client.get("/compliance/controls?overdue=1"))
    assert "Overdue control" in overdue_only and "On time" not in overdue_only
    assert "Failing control" in visible(officer_client.get("/compliance/controls?result=fail"))
    assert "Overdue" in visible(officer_client.get(f"/compliance/controls/{late}"))
    dashboard = visible(officer_client.get("/"))
    assert "1 control is overdue for testing." in dashboard
    assert "1 control failed its latest test." in dashboard
    rows = csv_rows(officer_client.get("/compliance/controls?format=csv&overdue=1"))
    assert [r[1] for r in rows[1:]] == ["Overdue control"]


# --- the API --------------------------------------------------------------------------------------


def test_controls_and_tests_through_the_api(ext, officer_api, officer):
    risk_id = add_risk(ext, "Fraud")
    created = officer_api.post(
        f"{API}/controls",
        json={
            "name": "Vendor master review",
            "frequency": "annual",
            "risk_ids": [risk_id],
            "owner_id": officer,
        },
    )
    assert created.status_code == 201, created.json
    control = created.json
    assert control["reference"] == "CTRL-0001" and control["risk_ids"] == [risk_id]
    assert control["next_test_date"] == controls.add_months(TODAY, 12).isoformat()
    assert control["last_result"] is None and control["test_overdue"] is False
    response = officer_api.post(
        f"{API}/controls/{control['id']}/tests",
        json={"tested_on": "2025-03-31", "result": "fail", "evidence_note": "3 vendors unchecked"},
    )
    assert response.status_code == 201, response.json
    assert response.json["tester_id"] == officer and response.json["evidence"] is None
    again = officer_api.get(f"{API}/controls/{control['id']}").json
    assert again["next_test_date"] == "2026-03-31" and again["last_result"] == "fail"
    assert again["test_overdue"] is (dt.date(2026, 3, 31) < TODAY)
    assert officer_api.get(f"{API}/risks/{risk_id}").json["control_ids"] == [control["id"]]
    for body, field in (
        ({"tested_on": "2025-03-31", "result": "skip"}, "result"),
        ({"tested_on": "2025-02-30", "result": "pass"}, "tested_on"),
        ({"result": "pass"}, "tested_on"),
        ({"tested_on": "2025-03-31", "result": "pass", "tester_id": 2**40}, "tester_id"),
    ):
        refused = officer_api.post(f"{API}/controls/{control['id']}/tests", json=body)
        assert refused.status_code == 422 and field in refused.json["error"]["fields"], (body, refused.json)
    refused = officer_api.patch(f"{API}/controls/{control['id']}", json={"risk_ids": [risk_id, 424242]})
    assert refused.status_code == 422 and refused.json["error"]["fields"] == {"risk_ids": ["no such risk"]}
    changed = officer_api.patch(
        f"{API}/controls/{control['id']}", json={"frequency": "quarterly", "risk_ids": []}
    )
    assert changed.json["next_test_date"] == "2025-06-30" and changed.json["risk_ids"] == []
    # A tested control is evidence: deleting it is refused; an untested one goes.
    assert officer_api.delete(f"{API}/controls/{control['id']}").status_code == 409
    spare = officer_api.post(f"{API}/controls", json={"name": "Spare"}).json
    assert officer_api.delete(f"{API}/controls/{spare['id']}").status_code == 204
    assert officer_api.get(f"{API}/controls/{spare['id']}").status_code == 404
    listed = officer_api.get(f"{API}/controls?result=fail").json["items"]
    assert [c["reference"] for c in listed] == ["CTRL-0001"]


def test_a_clerk_cannot_define_or_test_controls(app, ext, clerk, make_api_client):
    control_id = add_control(ext, "Some control")
    client = app.test_client()
    assert login(client, "clerk@example.com").status_code == 302
    assert client.get("/compliance/controls").status_code == 403
    token = csrf_token(client, "/")
    assert client.post("/compliance/controls/new", data={"name": "x", "csrf_token": token}).status_code == 403
    response = client.post(
        f"/compliance/controls/{control_id}/tests/new",
        data={"tested_on": TODAY.isoformat(), "result": "pass", "csrf_token": token},
    )
    assert response.status_code == 403
    api = make_api_client("viewer@example.com", permissions=("compliance.view",))
    assert api.post(f"{API}/controls", json={"name": "x"}).status_code == 403
    refused = api.post(
        f"{API}/controls/{control_id}/tests", json={"tested_on": TODAY.isoformat(), "result": "pass"}
    )
    assert refused.status_code == 403
    assert count(ext, ControlTest) == 0 and count(ext, Control) == 1
