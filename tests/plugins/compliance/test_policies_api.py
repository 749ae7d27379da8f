"""The policies REST API: policies, versions, assignments and acknowledgements; field errors,
refusals (403/404/409), and who may read or write."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.models import Notification
from core.services import users as user_service
from plugins.compliance.models import Policy, PolicyAcknowledgement, PolicyAssignment, PolicyVersion
from tests.core.web_helpers import count, snapshot, system_session

pytestmark = pytest.mark.plugins("compliance")

TODAY = dt.date.today()
API = "/api/v1/compliance"
TAKEN = "another policy has this title"


def day(offset: int = 0) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


def error_fields(response: Any) -> dict[str, list[str]]:
    return response.json["error"]["fields"]


@pytest.fixture
def staff_role(ext) -> str:
    with system_session(ext) as session:
        user_service.create_role(session, name="Staff", permissions=["contacts.view"])
    return "Staff"


@pytest.fixture
def ann(make_api_client, staff_role):
    return make_api_client("ann@example.com", roles=(staff_role,))


@pytest.fixture
def bob(make_api_client, staff_role):
    return make_api_client("bob@example.com", roles=(staff_role,))


def create(api: Any, title: str = "Code of conduct", body: str = "# Be honest", **version: Any) -> int:
    response = api.post(f"{API}/policies", json={"title": title, "summary": "How we behave"})
    assert response.status_code == 201, response.json
    policy_id = response.json["id"]
    response = api.post(
        f"{API}/policies/{policy_id}/versions", json={"body": body, "effective_date": day(), **version}
    )
    assert response.status_code == 201, response.json
    return policy_id


def test_publish_assign_acknowledge_and_a_new_version_asks_again(ext, officer_api, ann, bob, staff_role):
    policy_id = create(officer_api)
    policy = officer_api.get(f"{API}/policies/{policy_id}").json
    assert (policy["current_version"], policy["effective_date"], policy["assigned"]) == (1, day(), 0)

    response = officer_api.post(f"{API}/policies/{policy_id}/assignments", json={"role": staff_role})
    assert response.status_code == 201, response.json
    assert response.json["role"] == "Staff" and response.json["user_id"] is None

    mine = ann.get(f"{API}/acknowledgements").json["items"]
    assert [(i["policy"], i["version"], i["status"]) for i in mine] == [("Code of conduct", 1, "pending")]

    response = ann.post(f"{API}/acknowledgements", json={"policy_id": policy_id})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "acknowledged" and response.json["acknowledged_at"]
    again = ann.post(f"{API}/acknowledgements", json={"policy_id": policy_id})
    assert again.status_code == 200
    assert again.json["acknowledged_at"] == response.json["acknowledged_at"]
    assert count(ext, PolicyAcknowledgement) == 1

    report = officer_api.get(f"{API}/acknowledgements?policy_id={policy_id}").json["items"]
    assert [(i["user"], i["status"]) for i in report] == [
        ("ann@example.com", "acknowledged"),
        ("bob@example.com", "pending"),
    ]
    pending = officer_api.get(f"{API}/acknowledgements?policy_id={policy_id}&status=pending").json["items"]
    assert [i["user"] for i in pending] == ["bob@example.com"]
    assert officer_api.get(f"{API}/policies/{policy_id}").json["acknowledged"] == 1

    response = officer_api.post(
        f"{API}/policies/{policy_id}/versions",
        json={"body": "# Be honest, always", "effective_date": day(), "change_note": "Stricter"},
    )
    assert response.status_code == 201
    assert (response.json["version"], response.json["status"]) == (2, "effective")
    assert ann.get(f"{API}/acknowledgements").json["items"][0]["status"] == "pending"
    report = officer_api.get(f"{API}/acknowledgements?policy_id={policy_id}").json["items"]
    assert {i["status"] for i in report} == {"pending"} and {i["version"] for i in report} == {2}
    # Version 2 was announced to Ann and Bob (version 1 was published before anyone was assigned).
    assert count(ext, Notification) == 2


def test_versions_are_numbered_listed_and_sanitized(officer_api):
    policy_id = create(officer_api, body='<p onclick="x()">Hi</p><script>alert(1)</script>', format="html")
    response = officer_api.post(
        f"{API}/policies/{policy_id}/versions",
        json={"body": "[x](javascript:alert(1)) **bold**", "effective_date": day(10), "format": "markdown"},
    )
    assert response.status_code == 201
    upcoming = response.json
    assert (upcoming["version"], upcoming["status"]) == (2, "upcoming")
    assert 'href="javascript' not in upcoming["html"] and "<strong>bold</strong>" in upcoming["html"]

    items = officer_api.get(f"{API}/policies/{policy_id}/versions").json["items"]
    assert [(v["version"], v["status"]) for v in items] == [(2, "upcoming"), (1, "effective")]
    assert items[1]["html"] == "<p>Hi</p>"
    assert items[1]["body"].startswith('<p onclick="x()">')  # the source is kept as written
    policy = officer_api.get(f"{API}/policies/{policy_id}").json
    assert (policy["current_version"], policy["upcoming_version"], policy["upcoming_date"]) == (1, 2, day(10))


def test_bad_input_is_422_with_field_messages_and_nothing_stored(ext, officer_api):
    policy_id = create(officer_api)
    before = snapshot(ext)
    cases = [
        ("post", f"{API}/policies", {"title": ""}, {"title": ["is required"]}),
        (
            "post",
            f"{API}/policies",
            {"title": "CODE of conduct"},
            {"title": ["another policy has this title"]},
        ),
        ("post", f"{API}/policies", {"title": "x" * 201}, {"title": ["Longer than maximum length 200."]}),
        ("post", f"{API}/policies", {"title": "T", "owner_id": 99999}, {"owner_id": ["no such user"]}),
        ("post", f"{API}/policies", {"title": "T", "owner_id": "1"}, {"owner_id": ["Not a valid integer."]}),
        ("post", f"{API}/policies", {"title": "T", "extra": 1}, {"extra": ["Unknown field."]}),
        ("patch", f"{API}/policies/{policy_id}", {"active": "maybe"}, {"active": ["Not a valid boolean."]}),
        (
            "post",
            f"{API}/policies/{policy_id}/versions",
            {"body": "x", "effective_date": day(-1)},
            {"effective_date": [f"must be on or after {day()} (version 1's)"]},
        ),
        (
            "post",
            f"{API}/policies/{policy_id}/versions",
            {"body": "x", "effective_date": "2026-02-30"},
            {"effective_date": ["Not a valid date."]},
        ),
        (
            "post",
            f"{API}/policies/{policy_id}/versions",
            {"body": "x", "effective_date": day(), "format": "pdf"},
            {"format": ["Must be one of: markdown, html."]},
        ),
        (
            "post",
            f"{API}/policies/{policy_id}/versions",
            {"body": "   ", "effective_date": day()},
            {"body": ["is required"]},
        ),
        ("post", f"{API}/policies/{policy_id}/assignments", {}, {"role": ["choose a role or a user"]}),
        ("post", f"{API}/policies/{policy_id}/assignments", {"role": "Nope"}, {"role": ["no such role"]}),
        (
            "post",
            f"{API}/policies/{policy_id}/assignments",
            {"role": "admin", "user_id": 1},
            {"role": ["give either a role or a user, not both"]},
        ),
        ("post", f"{API}/policies/{policy_id}/assignments", {"user_id": 2**40}, None),
        ("post", f"{API}/acknowledgements", {"policy_id": "abc"}, {"policy_id": ["Not a valid integer."]}),
        ("post", f"{API}/acknowledgements", {}, {"policy_id": ["Missing data for required field."]}),
    ]
    for method, path, body, fields in cases:
        response = getattr(officer_api, method)(path, json=body)
        assert response.status_code == 422, (path, body, response.json)
        if fields is not None:
            assert error_fields(response) == fields, (path, body)
    assert officer_api.get(f"{API}/policies?sort=owner").status_code == 422
    assert officer_api.get(f"{API}/policies?cursor=garbage").status_code == 422
    assert officer_api.get(f"{API}/acknowledgements?policy_id=abc").status_code == 422
    assert snapshot(ext) == before


def test_unknown_and_huge_ids_are_404(officer_api):
    for path in (
        f"{API}/policies/99999",
        f"{API}/policies/99999999999999999999",
        f"{API}/policies/99999/versions",
        f"{API}/policies/99999/assignments",
        f"{API}/acknowledgements?policy_id=99999",
    ):
        response = officer_api.get(path)
        assert response.status_code == 404, path
        assert response.json["error"]["code"] == "not_found"
    policy_id = create(officer_api)
    assert officer_api.delete(f"{API}/policies/{policy_id}/assignments/99999").status_code == 404


def test_acknowledging_what_is_not_mine_is_refused_and_nothing_is_stored(
    ext, officer_api, ann, make_api_client, staff_role
):
    policy_id = create(officer_api)
    version_1 = officer_api.get(f"{API}/policies/{policy_id}/versions").json["items"][0]["id"]
    # Not assigned: "not found" for who may not see policies, "not assigned to you" for a viewer.
    response = ann.post(f"{API}/acknowledgements", json={"policy_id": policy_id})
    assert response.status_code == 404
    viewer = make_api_client("viewer@example.com", permissions=("compliance.view",))
    response = viewer.post(f"{API}/acknowledgements", json={"policy_id": policy_id})
    assert response.status_code == 403
    assert "is not assigned to you" in response.json["error"]["message"]
    assert ann.post(f"{API}/acknowledgements", json={"policy_id": 2**31 - 1}).status_code == 404

    officer_api.post(f"{API}/policies/{policy_id}/assignments", json={"role": staff_role})
    officer_api.post(f"{API}/policies/{policy_id}/versions", json={"body": "v2", "effective_date": day()})
    response = ann.post(f"{API}/acknowledgements", json={"policy_id": policy_id, "version_id": version_1})
    assert response.status_code == 409
    assert error_fields(response) == {"version_id": ["version 2 is in effect"]}

    # A policy with no version in effect yet, and an archived one.
    later = officer_api.post(f"{API}/policies", json={"title": "Later"}).json["id"]
    officer_api.post(f"{API}/policies/{later}/assignments", json={"role": staff_role})
    officer_api.post(f"{API}/policies/{later}/versions", json={"body": "soon", "effective_date": day(5)})
    response = ann.post(f"{API}/acknowledgements", json={"policy_id": later})
    assert response.status_code == 409
    assert "no version in effect yet" in response.json["error"]["message"]
    mine = {i["policy"]: i["status"] for i in ann.get(f"{API}/acknowledgements").json["items"]}
    assert mine == {"Code of conduct": "pending", "Later": "not_in_effect"}

    assert officer_api.patch(f"{API}/policies/{policy_id}", json={"active": False}).json["active"] is False
    response = ann.post(f"{API}/acknowledgements", json={"policy_id": policy_id})
    assert response.status_code == 409
    assert "archived" in response.json["error"]["message"]
    assert [i["policy"] for i in ann.get(f"{API}/acknowledgements").json["items"]] == ["Later"]
    assert count(ext, PolicyAcknowledgement) == 0


def test_assignments_by_user_and_removal(ext, officer_api, ann, staff_role):
    policy_id = create(officer_api)
    ann_id = ann.get("/api/v1/me").json["id"]
    response = officer_api.post(f"{API}/policies/{policy_id}/assignments", json={"user_id": ann_id})
    assert response.status_code == 201
    assert (response.json["user"], response.json["role"]) == ("ann@example.com", None)
    duplicate = officer_api.post(f"{API}/policies/{policy_id}/assignments", json={"user_id": ann_id})
    assert duplicate.status_code == 422
    assert error_fields(duplicate) == {"user_id": ["is already assigned this policy"]}
    listed = officer_api.get(f"{API}/policies/{policy_id}/assignments").json["items"]
    assert [(a["user_id"], a["role"]) for a in listed] == [(ann_id, None)]

    assert ann.post(f"{API}/acknowledgements", json={"policy_id": policy_id}).status_code == 201
    assert officer_api.delete(f"{API}/policies/{policy_id}/assignments/{listed[0]['id']}").status_code == 204
    assert count(ext, PolicyAssignment) == 0
    assert count(ext, PolicyAcknowledgement) == 1  # what was acknowledged stays on record
    assert ann.get(f"{API}/acknowledgements").json["items"] == []


def test_a_policy_is_deleted_only_without_acknowledgements(ext, officer_api, ann, staff_role):
    kept = create(officer_api)
    officer_api.post(f"{API}/policies/{kept}/assignments", json={"role": staff_role})
    ann.post(f"{API}/acknowledgements", json={"policy_id": kept})
    response = officer_api.delete(f"{API}/policies/{kept}")
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"

    gone = create(officer_api, "Travel")
    officer_api.post(f"{API}/policies/{gone}/assignments", json={"role": staff_role})
    assert officer_api.delete(f"{API}/policies/{gone}").status_code == 204
    assert officer_api.get(f"{API}/policies/{gone}").status_code == 404
    assert count(ext, Policy) == 1 and count(ext, PolicyVersion) == 1 and count(ext, PolicyAssignment) == 1


def test_the_list_pages_searches_filters_and_sorts(officer_api):
    for title in ("Travel", "Anti-bribery", "Data protection", "Gifts 100%"):
        create(officer_api, title)
    first = officer_api.get(f"{API}/policies?limit=2").json
    assert [p["title"] for p in first["items"]] == ["Anti-bribery", "Data protection"]
    second = officer_api.get(f"{API}/policies?limit=2&cursor={first['next_cursor']}").json
    assert [p["title"] for p in second["items"]] == ["Gifts 100%", "Travel"]
    assert second["next_cursor"] is None
    assert [p["title"] for p in officer_api.get(f"{API}/policies?sort=-title").json["items"]][0] == "Travel"
    assert [p["title"] for p in officer_api.get(f"{API}/policies?q=100%25").json["items"]] == ["Gifts 100%"]
    assert [p["title"] for p in officer_api.get(f"{API}/policies?q=PROTECT").json["items"]] == [
        "Data protection"
    ]
    travel = officer_api.get(f"{API}/policies?q=travel").json["items"][0]["id"]
    officer_api.patch(f"{API}/policies/{travel}", json={"active": False, "summary": "Retired"})
    assert [p["title"] for p in officer_api.get(f"{API}/policies?active=false").json["items"]] == ["Travel"]
    assert len(officer_api.get(f"{API}/policies?active=true").json["items"]) == 3


def test_a_clerk_gets_403_on_the_management_api(ext, officer_api, make_api_client):
    policy_id = create(officer_api)
    clerk = make_api_client("clerk@example.com")
    for method, path, body in (
        ("get", f"{API}/policies", None),
        ("post", f"{API}/policies", {"title": "Mine"}),
        ("get", f"{API}/policies/{policy_id}", None),
        ("patch", f"{API}/policies/{policy_id}", {"title": "Mine"}),
        ("delete", f"{API}/policies/{policy_id}", None),
        ("get", f"{API}/policies/{policy_id}/versions", None),
        ("post", f"{API}/policies/{policy_id}/versions", {"body": "x", "effective_date": day()}),
        ("get", f"{API}/policies/{policy_id}/assignments", None),
        ("post", f"{API}/policies/{policy_id}/assignments", {"role": "admin"}),
        ("get", f"{API}/acknowledgements?policy_id={policy_id}", None),
    ):
        response = getattr(clerk, method)(path, json=body) if body else getattr(clerk, method)(path)
        assert response.status_code == 403, (method, path)
        assert response.json["error"]["code"] == "permission_denied"
    assert clerk.get(f"{API}/acknowledgements").json == {"items": [], "next_cursor": None}
    viewer = make_api_client("viewer@example.com", permissions=("compliance.view",))
    assert viewer.get(f"{API}/policies/{policy_id}").status_code == 200
    assert viewer.patch(f"{API}/policies/{policy_id}", json={"title": "x"}).status_code == 403
    assert count(ext, Policy) == 1
    assert officer_api.get(f"{API}/policies").status_code == 200
    assert officer_api.client.get(f"{API}/policies").status_code == 401


def test_the_endpoints_are_described_in_the_openapi_document(officer_api):
    paths = officer_api.get("/api/v1/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths[f"{API}/policies"])
    assert {"get", "patch", "delete"} <= set(paths[f"{API}/policies/{{policy_id}}"])
    assert {"get", "post"} <= set(paths[f"{API}/policies/{{policy_id}}/versions"])
    assert {"get", "post"} <= set(paths[f"{API}/policies/{{policy_id}}/assignments"])
    assert "delete" in paths[f"{API}/policies/{{policy_id}}/assignments/{{assignment_id}}"]
    assert {"get", "post"} <= set(paths[f"{API}/acknowledgements"])
