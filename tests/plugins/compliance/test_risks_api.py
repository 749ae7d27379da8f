"""The risk register's API: create, read, change and delete risks, list them by keyset with
filters, bad input as 422 naming the field, custom fields read-only, and the OpenAPI document."""

from __future__ import annotations

import pytest

from core.testing import make_user
from plugins.compliance.models import Risk
from tests.core.web_helpers import count

pytestmark = pytest.mark.plugins("compliance")

API = "/api/v1/compliance"
BODY = {"title": "Vendor lock-in", "category": "it", "likelihood": 4, "impact": 3}


def test_a_risk_is_created_read_changed_and_deleted(ext, officer_api, officer):
    response = officer_api.post(
        f"{API}/risks",
        json={
            **BODY,
            "owner_id": officer,
            "residual_likelihood": 2,
            "residual_impact": 2,
            "review_date": "2031-01-31",
        },
    )
    assert response.status_code == 201, response.json
    risk = response.json
    assert risk["reference"] == "RISK-0001"
    assert (risk["inherent_score"], risk["inherent_band"]) == (12, "high")
    assert (risk["residual_score"], risk["effective_residual_score"], risk["effective_residual_band"]) == (
        4,
        4,
        "low",
    )
    assert risk["control_failing"] is False and risk["review_overdue"] is False
    assert risk["owner_name"] == "officer@example.com"
    assert risk["treatment"] == "mitigate" and risk["status"] == "open"
    assert risk["custom"] == {} and risk["control_ids"] == []
    assert officer_api.get(f"{API}/risks/{risk['id']}").json == risk

    changed = officer_api.patch(
        f"{API}/risks/{risk['id']}",
        json={"residual_likelihood": None, "residual_impact": None, "status": "closed"},
    )
    assert changed.status_code == 200, changed.json
    assert changed.json["residual_score"] is None
    assert changed.json["effective_residual_score"] == 12  # not assessed: the inherent score stands
    assert changed.json["status"] == "closed"

    assert officer_api.delete(f"{API}/risks/{risk['id']}").status_code == 204
    assert officer_api.get(f"{API}/risks/{risk['id']}").status_code == 404
    assert count(ext, Risk) == 0


def test_bad_input_is_a_422_naming_the_field_and_nothing_is_stored(ext, officer_api):
    cases = [
        ({**BODY, "category": "weather"}, "category"),
        ({**BODY, "title": ""}, "title"),
        ({**BODY, "title": "x" * 201}, "title"),
        ({**BODY, "owner_id": 987654}, "owner_id"),
        ({**BODY, "owner_id": 2**70}, "owner_id"),
        ({**BODY, "review_date": "2031-02-30"}, "review_date"),
        ({**BODY, "treatment": "pray"}, "treatment"),
        ({**BODY, "custom": {"x": 1}}, "custom"),
        ({**BODY, "reference": "RISK-9999"}, "reference"),
        ({**BODY, "residual_likelihood": 2}, "residual_impact"),
        ({k: v for k, v in BODY.items() if k != "impact"}, "impact"),
    ]
    for body, field in cases:
        response = officer_api.post(f"{API}/risks", json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["error"]["fields"], (field, response.json)
    assert count(ext, Risk) == 0
    risk_id = officer_api.post(f"{API}/risks", json=BODY).json["id"]
    response = officer_api.patch(f"{API}/risks/{risk_id}", json={"likelihood": 6})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"likelihood": ["must be between 1 and 5"]}
    assert officer_api.get(f"{API}/risks/{risk_id}").json["likelihood"] == 4
    assert officer_api.get(f"{API}/risks/99999999999").status_code == 404
    assert officer_api.get(f"{API}/risks/heatmap?basis=target").status_code == 422
    assert officer_api.get(f"{API}/risks?likelihood=0").status_code == 422
    assert officer_api.get(f"{API}/risks?sort=colour").status_code == 422
    assert officer_api.get(f"{API}/risks?cursor=garbage").status_code == 422


def test_the_list_pages_by_keyset_and_filters(ext, officer_api):
    for n in range(5):
        body = {**BODY, "title": f"Risk {n}", "category": "financial" if n % 2 else "it", "likelihood": n + 1}
        assert officer_api.post(f"{API}/risks", json=body).status_code == 201
    first = officer_api.get(f"{API}/risks?limit=2").json
    assert [r["reference"] for r in first["items"]] == ["RISK-0001", "RISK-0002"]
    second = officer_api.get(f"{API}/risks?limit=2&cursor={first['next_cursor']}").json
    assert [r["reference"] for r in second["items"]] == ["RISK-0003", "RISK-0004"]
    newest = officer_api.get(f"{API}/risks?sort=-reference&limit=1").json["items"]
    assert newest[0]["reference"] == "RISK-0005"
    financial = officer_api.get(f"{API}/risks?category=financial").json["items"]
    assert [r["title"] for r in financial] == ["Risk 1", "Risk 3"]
    assert [r["title"] for r in officer_api.get(f"{API}/risks?q=risk 4").json["items"]] == ["Risk 4"]
    cell = officer_api.get(f"{API}/risks?basis=inherent&likelihood=3&impact=3").json["items"]
    assert [r["title"] for r in cell] == ["Risk 2"]


def test_without_a_token_or_permission_the_api_refuses(app, ext, officer_api):
    assert app.test_client().get(f"{API}/risks").status_code == 401
    make_user(ext, "reader@example.com", permissions=("compliance.view",))
    from core.testing import ApiClient, api_token

    client = app.test_client()
    reader = ApiClient(client, api_token(client, "reader@example.com"))
    risk_id = officer_api.post(f"{API}/risks", json=BODY).json["id"]
    assert reader.get(f"{API}/risks/{risk_id}").status_code == 200
    assert reader.patch(f"{API}/risks/{risk_id}", json={"title": "x"}).status_code == 403
    assert reader.delete(f"{API}/risks/{risk_id}").status_code == 403


def test_the_api_is_documented(officer_api):
    paths = officer_api.get("/api/v1/openapi.json").json["paths"]
    for path in (
        f"{API}/risks",
        f"{API}/risks/{{risk_id}}",
        f"{API}/risks/heatmap",
        f"{API}/controls",
        f"{API}/controls/{{control_id}}",
        f"{API}/controls/{{control_id}}/tests",
    ):
        assert path in paths, path
