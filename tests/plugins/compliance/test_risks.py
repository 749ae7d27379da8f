"""The risk register through the browser and the API: the heat map's figures, the effective
residual score when a control fails, field errors for levels outside 1-5, overdue reviews,
permissions, numbering, filters, CSV and other companies' risks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from core.context import set_company
from core.services import companies
from core.testing import csrf_token
from plugins.compliance.models import Risk
from plugins.compliance.services import controls, risks
from tests.core.web_helpers import count, csv_rows, field_error, page, submit, visible

pytestmark = pytest.mark.plugins("compliance")

API = "/api/v1/compliance"
TODAY = dt.date.today()


@contextmanager
def system(ext: Any) -> Iterator[Any]:
    """A committed transaction acting as the system in the first company."""
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, companies.first_company(session).id)
        yield session


def add_risk(ext: Any, title: str, likelihood: int, impact: int, **fields: Any) -> int:
    with system(ext) as session:
        data = {"title": title, "category": "operational", "likelihood": likelihood, "impact": impact}
        return risks.create_risk(session, {**data, **fields}).id


def heat_cells(response: Any) -> dict[tuple[int, int], int]:
    """The counts of the page's heat map, by (likelihood, impact)."""
    found = re.findall(
        r'id="heat-(\d)-(\d)"[^>]*>\s*(?:<a [^>]*>(\d+)</a>|<span[^>]*>(\d+)</span>)', page(response)
    )
    assert len(found) == 25, found
    return {(int(lk), int(im)): int(a or b) for lk, im, a, b in found}


def cell_class(response: Any, likelihood: int, impact: int) -> str:
    match = re.search(rf'<td class="([^"]+)" id="heat-{likelihood}-{impact}"', page(response))
    assert match
    return match.group(1)


def register_row(response: Any, risk_id: int) -> str:
    match = re.search(rf'<tr id="risk-{risk_id}"[^>]*>.*?</tr>', page(response), re.S)
    assert match, f"risk {risk_id} not listed"
    return match.group(0)


def listed_titles(response: Any) -> list[str]:
    assert response.status_code == 200, page(response)[:2000]
    return re.findall(r'<a href="/compliance/risks/\d+">([^<]*)</a>', page(response))


# --- the heat map -----------------------------------------------------------------------------------


@pytest.fixture
def portfolio(ext) -> dict[str, int]:
    """Five risks: two at 3x4 (one treated to 2x2), one at 5x5 (treated to 2x3), one closed at 5x5
    and one at 1x2."""
    ids = {
        "a": add_risk(ext, "Supplier fails", 3, 4),
        "b": add_risk(ext, "Data centre flood", 3, 4, residual_likelihood=2, residual_impact=2),
        "c": add_risk(ext, "Ransomware", 5, 5, residual_likelihood=2, residual_impact=3),
        "d": add_risk(ext, "Old closed risk", 5, 5),
        "e": add_risk(ext, "Office printer", 1, 2),
    }
    with system(ext) as session:
        risks.set_status(session, session.get(Risk, ids["d"]), "closed")
    return ids


def test_the_heat_map_counts_open_risks_per_cell_on_the_page_and_in_the_api(
    officer_client, officer_api, portfolio
):
    inherent = {(3, 4): 2, (5, 5): 1, (1, 2): 1}
    residual = {(3, 4): 1, (2, 2): 1, (2, 3): 1, (1, 2): 1}
    for basis, expected in (("inherent", inherent), ("residual", residual)):
        cells = heat_cells(officer_client.get(f"/compliance/risks?basis={basis}"))
        assert {cell: n for cell, n in cells.items() if n} == expected, basis
        body = officer_api.get(f"{API}/risks/heatmap?basis={basis}").json
        assert body["basis"] == basis
        assert len(body["cells"]) == 5 and all(len(row) == 5 for row in body["cells"])
        assert {
            (lk + 1, im + 1): n for lk, row in enumerate(body["cells"]) for im, n in enumerate(row) if n
        } == expected
    # The residual map is the default, in the API and on the page.
    assert officer_api.get(f"{API}/risks/heatmap").json["basis"] == "residual"
    default = officer_client.get("/compliance/risks")
    assert heat_cells(default)[(2, 2)] == 1
    # Cells are coloured by band: 1-4 low, 5-9 medium, 10-16 high, 20-25 critical.
    assert "risk-band-low" in cell_class(default, 2, 2)
    assert "risk-band-medium" in cell_class(default, 2, 3)
    assert "risk-band-high" in cell_class(default, 3, 4)
    assert "risk-band-critical" in cell_class(default, 5, 5)
    assert "risk-band-critical" in cell_class(default, 4, 5)
    assert "risk-band-high" in cell_class(default, 4, 4)


def test_a_heat_map_count_links_to_the_risks_of_its_cell(officer_client, portfolio):
    response = officer_client.get("/compliance/risks?basis=inherent")
    link = re.search(r'id="heat-3-4"[^>]*>\s*<a href="([^"]+)"', page(response)).group(1)
    assert sorted(listed_titles(officer_client.get(link.replace("&amp;", "&")))) == [
        "Data centre flood",
        "Supplier fails",
    ]
    residual = officer_client.get("/compliance/risks?basis=residual&likelihood=3&impact=4&status=open")
    assert listed_titles(residual) == ["Supplier fails"]
    assert listed_titles(officer_client.get("/compliance/risks?basis=inherent&likelihood=5&impact=5")) == [
        "Ransomware"
    ]
    api = officer_client.get("/compliance/risks?likelihood=9&impact=x")  # ignored, not an error
    assert len(listed_titles(api)) == 4


# --- failing controls -------------------------------------------------------------------------------


def record(client: Any, control_id: int, result: str, tested_on: dt.date) -> Any:
    return submit(
        client,
        f"/compliance/controls/{control_id}/tests/new",
        {"tested_on": tested_on.isoformat(), "result": result, "evidence_note": f"{result} sample"},
    )


def test_a_failing_control_raises_the_effective_residual_to_the_inherent_score_until_it_passes(
    ext, officer_client, officer_api
):
    risk_id = add_risk(ext, "Payments fraud", 4, 5, residual_likelihood=1, residual_impact=2)
    other_id = add_risk(ext, "Unrelated", 2, 2)
    with system(ext) as session:
        control_id = controls.create_control(
            session, {"name": "Dual approval", "frequency": "monthly", "risk_ids": [risk_id]}
        ).id

    def effective() -> tuple[int, bool]:
        body = officer_api.get(f"{API}/risks/{risk_id}").json
        return body["effective_residual_score"], body["control_failing"]

    assert effective() == (2, False)
    assert record(officer_client, control_id, "fail", TODAY - dt.timedelta(days=3)).status_code == 302

    assert effective() == (20, True)
    detail = officer_client.get(f"/compliance/risks/{risk_id}")
    assert re.search(r'id="risk-effective">.*?>20<.*?control failing', page(detail), re.S)
    row = register_row(officer_client.get("/compliance/risks"), risk_id)
    assert "control failing" in row and ">20<" in row
    assert "control failing" not in register_row(officer_client.get("/compliance/risks"), other_id)
    cells = officer_api.get(f"{API}/risks/heatmap").json["cells"]
    assert cells[3][4] == 1 and cells[0][1] == 0  # at 4x5, no longer at 1x2
    assert heat_cells(officer_client.get("/compliance/risks"))[(4, 5)] == 1
    listed = officer_api.get(f"{API}/risks?likelihood=4&impact=5").json["items"]
    assert [r["id"] for r in listed] == [risk_id]

    # A later passing test: the mitigation works again.
    assert record(officer_client, control_id, "pass", TODAY).status_code == 302
    assert effective() == (2, False)
    assert officer_api.get(f"{API}/risks/heatmap").json["cells"][0][1] == 1
    assert "control failing" not in page(officer_client.get(f"/compliance/risks/{risk_id}"))

    # An older failing test recorded afterwards does not count: the latest test does.
    assert record(officer_client, control_id, "fail", TODAY - dt.timedelta(days=10)).status_code == 302
    assert effective() == (2, False)

    # Failing again, then the control is retired: a retired control no longer counts.
    assert record(officer_client, control_id, "fail", TODAY).status_code == 302
    assert effective() == (20, True)
    assert officer_api.patch(f"{API}/controls/{control_id}", json={"active": False}).status_code == 200
    assert effective() == (2, False)


def test_a_risk_page_lists_its_controls_with_their_last_result(ext, officer_client):
    risk_id = add_risk(ext, "Late filings", 3, 3)
    with system(ext) as session:
        control = controls.create_control(session, {"name": "Tax calendar", "risk_ids": [risk_id]})
        controls.record_test(session, control, {"tested_on": TODAY.isoformat(), "result": "pass"})
        control_id = control.id
        untested = controls.create_control(session, {"name": "Second check", "risk_ids": [risk_id]}).id
    response = officer_client.get(f"/compliance/risks/{risk_id}")
    text = visible(response)
    assert "Tax calendar" in text and "Second check" in text
    row = re.search(rf'<tr id="control-{control_id}".*?</tr>', page(response), re.S).group(0)
    assert "Pass" in row
    assert "never tested" in re.search(rf'<tr id="control-{untested}".*?</tr>', page(response), re.S).group(0)


# --- the form: levels and other fields --------------------------------------------------------------


FORM = {
    "title": "Key person leaves",
    "category": "operational",
    "likelihood": "3",
    "impact": "4",
    "treatment": "mitigate",
}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("likelihood", "0", "must be between 1 and 5"),
        ("likelihood", "6", "must be between 1 and 5"),
        ("impact", "6", "must be between 1 and 5"),
        ("impact", "two", "must be a whole number from 1 to 5"),
        ("likelihood", "", "is required"),
        ("residual_likelihood", "0", "must be between 1 and 5"),
        ("residual_impact", "9" * 40, "must be a whole number from 1 to 5"),
    ],
)
def test_a_level_outside_1_to_5_is_a_form_error_and_nothing_is_stored(
    ext, officer_client, field, value, message
):
    response = submit(officer_client, "/compliance/risks/new", {**FORM, field: value})
    assert response.status_code == 422
    assert field_error(response, field) == message
    assert 'value="Key person leaves"' in page(response)  # what was typed is kept
    assert count(ext, Risk) == 0


def test_the_api_refuses_levels_outside_1_to_5_and_stores_nothing(ext, officer_api):
    body = {"title": "Key person leaves", "category": "operational", "likelihood": 3, "impact": 4}
    for field, value in (("likelihood", 0), ("likelihood", 6), ("impact", 6), ("residual_impact", 0)):
        response = officer_api.post(f"{API}/risks", json={**body, field: value})
        assert response.status_code == 422, response.json
        assert response.json["error"]["fields"][field] == ["must be between 1 and 5"]
    for value in ("3", 3.5, True, None):
        response = officer_api.post(f"{API}/risks", json={**body, "likelihood": value})
        assert response.status_code == 422 and "likelihood" in response.json["error"]["fields"]
    assert count(ext, Risk) == 0


def test_residual_levels_go_together_and_never_exceed_the_inherent_score(ext, officer_client):
    response = submit(officer_client, "/compliance/risks/new", {**FORM, "residual_likelihood": "2"})
    assert (
        field_error(response, "residual_impact")
        == "give both residual likelihood and residual impact, or neither"
    )
    response = submit(
        officer_client, "/compliance/risks/new", {**FORM, "residual_likelihood": "4", "residual_impact": "4"}
    )
    assert "cannot exceed the inherent score (12)" in field_error(response, "residual_impact")
    assert count(ext, Risk) == 0


def test_a_new_risk_is_numbered_and_shown(ext, officer_client, officer):
    response = submit(
        officer_client,
        "/compliance/risks/new",
        {
            **FORM,
            "owner_id": str(officer),
            "residual_likelihood": "2",
            "residual_impact": "2",
            "review_date": "2031-05-01",
        },
    )
    assert response.status_code == 302
    detail = officer_client.get(response.headers["Location"])
    text = visible(detail)
    assert "RISK-0001" in text and "Key person leaves" in text
    assert "officer@example.com" in visible(detail)
    # A refused form takes no number: the next one is RISK-0002.
    assert submit(officer_client, "/compliance/risks/new", {**FORM, "likelihood": "0"}).status_code == 422
    assert submit(officer_client, "/compliance/risks/new", {**FORM, "title": "Second"}).status_code == 302
    with ext.db.session(read_only=True) as session:
        assert list(session.scalars(select(Risk.reference).order_by(Risk.id))) == ["RISK-0001", "RISK-0002"]


def test_the_owner_must_be_a_user_of_the_company(ext, officer_client):
    with system(ext) as session:
        other = companies.create_company(session, name="Other Ltd", base_currency="EUR")
    from core.testing import make_user

    stranger = make_user(ext, "stranger@example.com")
    with ext.db.transaction() as session:
        from core.models import UserCompany

        session.execute(UserCompany.__table__.delete().where(UserCompany.user_id == stranger))
        session.execute(UserCompany.__table__.insert().values(user_id=stranger, company_id=other.id))
    for owner in (str(stranger), "987654", "abc", "99999999999999999999"):
        response = submit(officer_client, "/compliance/risks/new", {**FORM, "owner_id": owner})
        assert field_error(response, "owner_id") == "no such user in this company", owner
    assert count(ext, Risk) == 0


def test_editing_closing_and_reopening_a_risk(ext, officer_client, officer_api):
    risk_id = add_risk(ext, "Power cut", 2, 3)
    response = submit(
        officer_client,
        f"/compliance/risks/{risk_id}/edit",
        {**FORM, "title": "Long power cut", "likelihood": "3", "impact": "3", "treatment": "transfer"},
    )
    assert response.status_code == 302
    assert officer_api.get(f"{API}/risks/{risk_id}").json["inherent_score"] == 9
    token = csrf_token(officer_client, f"/compliance/risks/{risk_id}")
    assert (
        officer_client.post(f"/compliance/risks/{risk_id}/close", data={"csrf_token": token}).status_code
        == 302
    )
    assert officer_api.get(f"{API}/risks/{risk_id}").json["status"] == "closed"
    assert sum(map(sum, officer_api.get(f"{API}/risks/heatmap").json["cells"])) == 0
    assert "Long power cut" not in listed_titles(officer_client.get("/compliance/risks"))
    assert "Long power cut" in listed_titles(officer_client.get("/compliance/risks?status=all"))
    assert (
        officer_client.post(f"/compliance/risks/{risk_id}/reopen", data={"csrf_token": token}).status_code
        == 302
    )
    assert officer_api.get(f"{API}/risks/{risk_id}").json["status"] == "open"
    response = submit(officer_client, f"/compliance/risks/{risk_id}/edit", {**FORM, "impact": "7"})
    assert response.status_code == 422 and field_error(response, "impact") == "must be between 1 and 5"


# --- overdue reviews ------------------------------------------------------------------------------


def test_an_overdue_review_is_highlighted_filtered_and_counted_on_the_dashboard(ext, officer_client):
    late = add_risk(ext, "Overdue review", 2, 2, review_date=(TODAY - dt.timedelta(days=1)).isoformat())
    due_today = add_risk(ext, "Due today", 2, 2, review_date=TODAY.isoformat())
    later = add_risk(ext, "Later review", 2, 2, review_date=(TODAY + dt.timedelta(days=30)).isoformat())
    closed = add_risk(ext, "Closed risk", 2, 2, review_date=(TODAY - dt.timedelta(days=90)).isoformat())
    with system(ext) as session:
        risks.set_status(session, session.get(Risk, closed), "closed")
    response = officer_client.get("/compliance/risks?status=all")
    assert 'class="risk-overdue"' in register_row(response, late)
    assert "Overdue" in register_row(response, late)
    for quiet in (due_today, later, closed):
        assert "risk-overdue" not in register_row(response, quiet)
        assert "Overdue" not in register_row(response, quiet)
    assert listed_titles(officer_client.get("/compliance/risks?overdue=1&status=all")) == ["Overdue review"]
    assert "Overdue" in visible(officer_client.get(f"/compliance/risks/{late}"))
    dashboard = officer_client.get("/")
    assert "1 risk review is overdue." in visible(dashboard)
    assert "Overdue review" in visible(dashboard)
    assert 'id="heat-2-2"' in page(dashboard)


# --- who may do what ---------------------------------------------------------------------------------


def test_a_clerk_is_refused_the_register_and_creating_risks(ext, clerk, make_api_client, app):
    from core.testing import login

    client = app.test_client()
    assert login(client, "clerk@example.com").status_code == 302
    assert client.get("/compliance/risks").status_code == 403
    assert client.get("/compliance/risks/new").status_code == 403
    token = csrf_token(client, "/")
    response = client.post("/compliance/risks/new", data={**FORM, "csrf_token": token})
    assert response.status_code == 403
    assert "needs compliance.risk.manage" in visible(response)
    api = make_api_client("viewer@example.com", permissions=("compliance.view",))
    body = {"title": "x", "category": "it", "likelihood": 1, "impact": 1}
    refused = api.post(f"{API}/risks", json=body)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "permission_denied"
    assert api.get(f"{API}/risks").status_code == 200
    assert count(ext, Risk) == 0
    viewer = app.test_client()
    assert login(viewer, "viewer@example.com").status_code == 302
    assert viewer.get("/compliance/risks").status_code == 200
    assert "New risk" not in visible(viewer.get("/compliance/risks"))


def test_another_companys_risks_are_404(ext, officer_client, officer_api):
    with system(ext) as session:
        other = companies.create_company(session, name="Other Ltd", base_currency="EUR")
        set_company(session, other.id)
        theirs = risks.create_risk(
            session, {"title": "Their secret", "category": "it", "likelihood": 5, "impact": 5}
        )
        their_id, their_reference = theirs.id, theirs.reference
    assert their_reference == "RISK-0001"  # numbered per company
    mine = add_risk(ext, "Mine", 1, 1)
    assert officer_api.get(f"{API}/risks/{mine}").json["reference"] == "RISK-0001"
    for path in (
        f"/compliance/risks/{their_id}",
        f"/compliance/risks/{their_id}/edit",
        "/compliance/risks/99999999999",
    ):
        assert officer_client.get(path).status_code == 404, path
    assert officer_api.get(f"{API}/risks/{their_id}").status_code == 404
    assert officer_api.patch(f"{API}/risks/{their_id}", json={"title": "x"}).status_code == 404
    assert officer_api.delete(f"{API}/risks/{their_id}").status_code == 404
    assert "Their secret" not in visible(officer_client.get("/compliance/risks?status=all"))
    assert sum(map(sum, officer_api.get(f"{API}/risks/heatmap?basis=inherent").json["cells"])) == 1


# --- the list: filters, CSV, search ---------------------------------------------------------------


def test_the_register_filters_by_category_owner_and_treatment_and_exports_csv(ext, officer_client, officer):
    add_risk(ext, "Phishing", 4, 3, category="it", owner_id=officer, treatment="mitigate")
    add_risk(ext, "FX exposure", 3, 3, category="financial", treatment="transfer")
    add_risk(ext, "Bad press", 2, 4, category="reputational", treatment="accept", owner_id=officer)
    assert listed_titles(officer_client.get("/compliance/risks?category=it")) == ["Phishing"]
    assert listed_titles(officer_client.get("/compliance/risks?treatment=transfer")) == ["FX exposure"]
    assert listed_titles(officer_client.get(f"/compliance/risks?owner_id={officer}")) == [
        "Phishing",
        "Bad press",
    ]
    assert listed_titles(officer_client.get("/compliance/risks?owner_id=999999")) == []
    assert listed_titles(officer_client.get("/compliance/risks?q=RISK-0002")) == ["FX exposure"]
    rows = csv_rows(officer_client.get("/compliance/risks?format=csv&category=it"))
    header, *data = rows
    assert header[:4] == ["reference", "title", "category", "owner"]
    assert len(data) == 1
    record_ = dict(zip(header, data[0], strict=True))
    assert record_["reference"] == "RISK-0001" and record_["inherent_score"] == "12"
    assert record_["effective_residual_score"] == "12" and record_["control_failing"] == "no"
    assert record_["owner"] == "officer@example.com"


def test_global_search_finds_a_risk_by_reference_or_title(ext, officer_client, make_client):
    add_risk(ext, "Cyber <script>attack</script>", 4, 4)
    response = officer_client.get("/search?q=RISK-0001")
    assert "Cyber <script>attack</script>" in visible(response)
    assert "<script>attack" not in page(response)
    assert "RISK-0001" in visible(officer_client.get("/search?q=cyber"))
    nobody = make_client("nobody@example.com")
    assert "Cyber" not in visible(nobody.get("/search?q=RISK-0001"))
