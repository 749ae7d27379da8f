"""Policies through the browser, with CSRF on: writing and publishing a policy, assigning it, a
user acknowledging it from the dashboard or "My policies", a new version asking again, the
acknowledgement report and its CSV, sanitized bodies, and who may do what."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from core.context import set_company
from core.models import AuditLog, User
from core.services import companies
from core.services import users as user_service
from core.testing import csrf_token
from plugins.compliance.models import Policy, PolicyAcknowledgement, PolicyAssignment, PolicyVersion
from plugins.compliance.services import policies
from tests.core.web_helpers import (
    assert_forbidden,
    count,
    csv_rows,
    fetch,
    field_error,
    flashes,
    page,
    redirect_path,
    submit,
    system_session,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("compliance")

TODAY = dt.date.today()


def day(offset: int = 0) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def staff_role(ext) -> str:
    with system_session(ext) as session:
        user_service.create_role(session, name="Staff", permissions=["contacts.view"])
    return "Staff"


@pytest.fixture
def ann(make_client, staff_role):
    """Ann holds the "Staff" role and nothing about compliance."""
    return make_client("ann@example.com", roles=(staff_role,))


@pytest.fixture
def bob(make_client, staff_role):
    return make_client("bob@example.com", roles=(staff_role,))


def make_policy(
    ext, title: str = "Code of conduct", *, body: str = "# Be honest\n\nAlways.", **version: Any
) -> int:
    """A policy with version 1 in effect since today (unless ``effective_date`` says otherwise)."""
    with system_session(ext) as session:
        policy = policies.create_policy(session, {"title": title, "summary": "How we behave"})
        policies.publish_version(
            session, policy, {"body": body, "effective_date": day(), "format": "markdown", **version}
        )
        return policy.id


def assign_role(ext, policy_id: int, role: str) -> None:
    with system_session(ext) as session:
        policies.add_assignment(session, policies.get_policy(session, policy_id), role=role)


def publish(ext, policy_id: int, body: str, effective_date: str | None = None) -> int:
    with system_session(ext) as session:
        version = policies.publish_version(
            session,
            policies.get_policy(session, policy_id),
            {"body": body, "effective_date": effective_date or day(), "change_note": "Updated"},
        )
        return version.id


def widget(response: Any) -> str:
    """The text of the "Policies to acknowledge" dashboard card ("" when there is none)."""
    card = r'<section class="card widget[^"]*" aria-label="Policies to acknowledge">(.*?)</section>'
    match = re.search(card, page(response), re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split()) if match else ""


def acknowledge(
    client: Any, policy_id: int, version_id: int | None, *, form_page: str = "/", back: str = "dashboard"
):
    data = {"csrf_token": csrf_token(client, form_page), "next": back}
    if version_id is not None:
        data["version_id"] = str(version_id)
    return client.post(f"/compliance/my-policies/{policy_id}/acknowledge", data=data)


def acks(ext) -> int:
    return count(ext, PolicyAcknowledgement)


# --- the story ------------------------------------------------------------------------------------


def test_officer_writes_publishes_and_assigns_a_policy_from_the_pages(ext, officer_client, staff_role):
    response = submit(officer_client, "/compliance/policies/new", {"title": "", "summary": "x"})
    assert response.status_code == 422
    assert field_error(response, "title") == "is required"

    response = submit(
        officer_client, "/compliance/policies/new", {"title": "Code of conduct", "summary": "How we behave"}
    )
    policy = fetch(ext, Policy, Policy.title == "Code of conduct")
    assert redirect_path(response) == f"/compliance/policies/{policy.id}"
    detail = officer_client.get(f"/compliance/policies/{policy.id}")
    assert "No version is in effect yet." in visible(detail)

    response = submit(
        officer_client,
        f"/compliance/policies/{policy.id}/versions/new",
        {"body": "# Be honest\n\nTell the *truth*.", "format": "markdown", "effective_date": day(),
         "change_note": "First"},
    )  # fmt: skip
    assert redirect_path(response) == f"/compliance/policies/{policy.id}"
    response = submit(
        officer_client,
        f"/compliance/policies/{policy.id}/assignments",
        {"role": staff_role},
        form_page=f"/compliance/policies/{policy.id}",
    )
    assert redirect_path(response) == f"/compliance/policies/{policy.id}#assignments"
    assert count(ext, PolicyAssignment) == 1

    detail = officer_client.get(f"/compliance/policies/{policy.id}")
    text = visible(detail)
    assert "<h1>Be honest</h1>" in page(detail)
    assert "Tell the <em>truth</em>." in page(detail)
    assert f"Version 1, in effect since {dt.date.today():%b} " in text
    assert "Role: Staff" in text

    listing = officer_client.get("/compliance/policies")
    assert table_column(listing, 0) == ["Code of conduct"]
    assert table_column(listing, 1) == ["1"]
    assert table_column(listing, 3) == ["Staff (role)"]
    assert table_column(listing, 4) == ["—"]  # the role has nobody in it yet


def test_a_user_acknowledges_from_the_dashboard_and_a_new_version_asks_again(ext, ann, bob, staff_role):
    policy_id = make_policy(ext)
    assign_role(ext, policy_id, staff_role)

    card = widget(ann.get("/"))
    assert "Code of conduct" in card and "version 1" in card and "I have read and accept" in card
    version_1 = fetch(ext, PolicyVersion, PolicyVersion.policy_id == policy_id).id

    response = acknowledge(ann, policy_id, version_1)
    assert redirect_path(response) == "/"
    dashboard = ann.get("/")
    assert widget(dashboard) == ""
    assert flashes(dashboard) == ["You acknowledged “Code of conduct” version 1."]
    assert acks(ext) == 1
    ack = fetch(ext, PolicyAcknowledgement)
    trail = fetch(ext, AuditLog, AuditLog.model == "compliance_policy_ack", AuditLog.record_id == str(ack.id))
    assert (trail.action, trail.actor, trail.via) == ("create", "ann@example.com", "web")
    assert "Code of conduct" in widget(bob.get("/"))  # Bob has not

    publish(ext, policy_id, "# Be honest\n\nAlways, and kind.")
    card = widget(ann.get("/"))
    assert "Code of conduct" in card and "version 2" in card
    mine = ann.get("/compliance/my-policies")
    assert table_column(mine, 1) == ["2"]
    assert table_column(mine, 3) == ["Pending"]


def test_reading_then_accepting_from_my_policies(ext, ann, staff_role):
    policy_id = make_policy(ext, body="Read **this**.")
    assign_role(ext, policy_id, staff_role)
    reading = ann.get(f"/compliance/my-policies/{policy_id}")
    assert reading.status_code == 200
    assert "<strong>this</strong>" in page(reading)
    version_id = int(re.search(r'name="version_id" value="(\d+)"', page(reading)).group(1))

    response = acknowledge(
        ann, policy_id, version_id, form_page=f"/compliance/my-policies/{policy_id}", back="read"
    )
    assert redirect_path(response) == f"/compliance/my-policies/{policy_id}"
    reading = ann.get(f"/compliance/my-policies/{policy_id}")
    assert "You acknowledged this version on" in visible(reading)
    assert "I have read and accept" not in visible(reading)
    mine = ann.get("/compliance/my-policies")
    assert table_column(mine, 3)[0].startswith("Acknowledged on ")

    # Twice is harmless: nothing more is stored.
    response = acknowledge(ann, policy_id, version_id, back="mine")
    assert redirect_path(response) == "/compliance/my-policies"
    assert flashes(ann.get("/compliance/my-policies")) == ["You had already acknowledged “Code of conduct”."]
    assert acks(ext) == 1


def test_the_version_read_must_still_be_the_one_in_effect(ext, ann, staff_role):
    policy_id = make_policy(ext)
    assign_role(ext, policy_id, staff_role)
    old = fetch(ext, PolicyVersion, PolicyVersion.policy_id == policy_id).id
    publish(ext, policy_id, "Version two")
    response = acknowledge(ann, policy_id, old, form_page=f"/compliance/my-policies/{policy_id}")
    assert response.status_code == 409
    assert "the version you read is not the one in effect: read version 2" in visible(response)
    assert "Version two" in visible(response)
    assert acks(ext) == 0


def test_an_upcoming_version_does_not_replace_the_one_in_effect(ext, ann, officer_client, staff_role):
    policy_id = make_policy(ext)
    assign_role(ext, policy_id, staff_role)
    upcoming = publish(ext, policy_id, "Stricter text", effective_date=day(30))

    listing = officer_client.get("/compliance/policies")
    assert table_column(listing, 1) == ["1 v2 upcoming"]
    detail = visible(officer_client.get(f"/compliance/policies/{policy_id}"))
    assert "Version 1, in effect since" in detail and "Version 2 takes effect on" in detail
    assert "Upcoming" in detail and "In effect" in detail

    response = acknowledge(ann, policy_id, upcoming, form_page=f"/compliance/my-policies/{policy_id}")
    assert response.status_code == 409
    assert acks(ext) == 0
    card = widget(ann.get("/"))
    assert "version 1" in card
    current = fetch(ext, PolicyVersion, PolicyVersion.policy_id == policy_id, PolicyVersion.version == 1).id
    assert redirect_path(acknowledge(ann, policy_id, current)) == "/"
    assert fetch(ext, PolicyAcknowledgement).version_id == current


def test_publishing_refuses_bad_input_and_dates_that_go_backwards(ext, officer_client):
    policy_id = make_policy(ext)
    path = f"/compliance/policies/{policy_id}/versions/new"
    form = officer_client.get(path)
    assert "# Be honest" in page(form)  # prefilled with the latest text
    response = submit(officer_client, path, {"body": "  ", "format": "pdf", "effective_date": "2026-02-30"})
    assert response.status_code == 422
    assert field_error(response, "body") == "is required"
    assert field_error(response, "format") == "must be one of markdown, html"
    assert field_error(response, "effective_date") == "must be a date (YYYY-MM-DD)"
    response = submit(
        officer_client, path, {"body": "New", "effective_date": day(-1), "change_note": "x" * 501}
    )
    assert field_error(response, "effective_date") == f"must be on or after {day()} (version 1's)"
    assert field_error(response, "change_note") == "must be at most 500 characters"
    assert count(ext, PolicyVersion) == 1


# --- the report -----------------------------------------------------------------------------------


def test_the_report_shows_who_is_pending_and_exports_csv(ext, officer_client, ann, bob, staff_role):
    policy_id = make_policy(ext)
    assign_role(ext, policy_id, staff_role)
    officer_id = fetch(ext, User, User.email == "officer@example.com").id
    with system_session(ext) as session:
        policies.add_assignment(session, policies.get_policy(session, policy_id), user_id=officer_id)
    version_id = fetch(ext, PolicyVersion).id
    acknowledge(ann, policy_id, version_id)

    report = officer_client.get(f"/compliance/policies/{policy_id}/acknowledgements")
    assert report.status_code == 200
    assert "1 of 3 acknowledged" in visible(report)
    assert table_column(report, 0) == ["ann@example.com", "bob@example.com", "officer@example.com"]
    assert table_column(report, 2) == ["Staff", "Staff", "directly"]
    status = table_column(report, 3)
    assert status[1:] == ["Pending", "Pending"] and status[0] != "Pending"

    pending = officer_client.get(f"/compliance/policies/{policy_id}/acknowledgements?status=pending")
    assert table_column(pending, 0) == ["bob@example.com", "officer@example.com"]

    rows = csv_rows(officer_client.get(f"/compliance/policies/{policy_id}/acknowledgements?format=csv"))
    assert rows[0] == ["policy", "version", "user", "email", "assigned_through", "status", "acknowledged_at"]
    assert [(r[3], r[5]) for r in rows[1:]] == [
        ("ann@example.com", "acknowledged"),
        ("bob@example.com", "pending"),
        ("officer@example.com", "pending"),
    ]
    assert rows[1][6].startswith(TODAY.isoformat()[:4])

    listing = officer_client.get("/compliance/policies")
    assert table_column(listing, 4) == ["1/3"]
    rows = csv_rows(officer_client.get("/compliance/policies?format=csv"))
    assert rows[1][:8] == ["Code of conduct", "1", day(), "", "", "Staff; officer@example.com", "1", "3"]


# --- refusals -------------------------------------------------------------------------------------


def test_a_user_not_assigned_cannot_acknowledge(ext, ann, make_client, staff_role):
    policy_id = make_policy(ext)
    version_id = fetch(ext, PolicyVersion).id
    # Nobody is assigned: Ann (no compliance access) gets "not found", a viewer "not assigned to you".
    assert acknowledge(ann, policy_id, version_id).status_code == 404
    assert ann.get(f"/compliance/my-policies/{policy_id}").status_code == 404
    viewer = make_client("viewer@example.com", permissions=("compliance.view",))
    response = acknowledge(viewer, policy_id, version_id)
    assert response.status_code == 403
    assert "is not assigned to you" in visible(response)
    assert (
        redirect_path(viewer.get(f"/compliance/my-policies/{policy_id}"))
        == f"/compliance/policies/{policy_id}"
    )
    assert acknowledge(ann, 99999, None).status_code == 404
    assert ann.post("/compliance/my-policies/99999999999999999999/acknowledge").status_code in (400, 404)
    assert acks(ext) == 0
    assert widget(ann.get("/")) == ""


def test_another_companys_policy_is_not_found(ext, officer_client, ann, staff_role):
    with ext.db.transaction() as tx:
        ext.plugins.refresh(tx)
        other = companies.create_company(tx, name="Other Ltd", base_currency="EUR")
        set_company(tx, other.id)
        theirs = policies.create_policy(tx, {"title": "Their policy"})
        version = policies.publish_version(tx, theirs, {"body": "x", "effective_date": day()})
        policies.add_assignment(tx, theirs, role=staff_role)
        ids = (theirs.id, version.id)
    policy_id, version_id = ids
    for path in (
        f"/compliance/policies/{policy_id}",
        f"/compliance/policies/{policy_id}/edit",
        f"/compliance/policies/{policy_id}/versions/new",
        f"/compliance/policies/{policy_id}/versions/1",
        f"/compliance/policies/{policy_id}/acknowledgements",
    ):
        assert officer_client.get(path).status_code == 404, path
    assert acknowledge(ann, policy_id, version_id).status_code == 404
    assert "Their policy" not in visible(officer_client.get("/compliance/policies"))
    assert widget(ann.get("/")) == ""
    assert acks(ext) == 0


def test_an_archived_policy_asks_nobody(ext, officer_client, ann, staff_role):
    policy_id = make_policy(ext)
    assign_role(ext, policy_id, staff_role)
    assert "Code of conduct" in widget(ann.get("/"))
    response = submit(
        officer_client, f"/compliance/policies/{policy_id}/edit", {"title": "Code of conduct", "summary": ""}
    )
    assert redirect_path(response) == f"/compliance/policies/{policy_id}"
    assert fetch(ext, Policy).active is False
    assert widget(ann.get("/")) == ""
    assert "No policy is assigned to you." in visible(ann.get("/compliance/my-policies"))
    assert table_column(officer_client.get("/compliance/policies"), 0) == []
    assert table_column(officer_client.get("/compliance/policies?status=archived"), 0) == [
        "Code of conduct archived"
    ]


def test_a_policy_with_acknowledgements_cannot_be_deleted(ext, officer_client, ann, staff_role):
    policy_id = make_policy(ext)
    assign_role(ext, policy_id, staff_role)
    acknowledge(ann, policy_id, fetch(ext, PolicyVersion).id)
    response = submit(
        officer_client,
        f"/compliance/policies/{policy_id}/delete",
        form_page=f"/compliance/policies/{policy_id}/edit",
    )
    assert redirect_path(response) == f"/compliance/policies/{policy_id}"
    assert (
        "has acknowledgements: archive it instead" in flashes(officer_client.get("/compliance/policies"))[0]
    )
    assert count(ext, Policy) == 1

    other = make_policy(ext, "Travel")
    response = submit(
        officer_client, f"/compliance/policies/{other}/delete", form_page=f"/compliance/policies/{other}/edit"
    )
    assert redirect_path(response) == "/compliance/policies"
    assert count(ext, Policy) == 1


def test_policy_forms_show_field_errors(ext, officer_client, staff_role):
    make_policy(ext)
    response = submit(
        officer_client, "/compliance/policies/new", {"title": "CODE OF CONDUCT", "owner_id": "abc"}
    )
    assert response.status_code == 422
    assert field_error(response, "title") == "another policy has this title"
    assert field_error(response, "owner_id") == "no such user"
    response = submit(officer_client, "/compliance/policies/new", {"title": "x" * 201, "summary": "y" * 5001})
    assert field_error(response, "title") == "must be at most 200 characters"
    assert field_error(response, "summary") == "must be at most 5000 characters"
    assert count(ext, Policy) == 1

    policy_id = fetch(ext, Policy).id
    path = f"/compliance/policies/{policy_id}/assignments"
    response = submit(officer_client, path, {}, form_page=f"/compliance/policies/{policy_id}")
    assert response.status_code == 422
    assert field_error(response, "role") == "choose a role or a user"
    response = submit(officer_client, path, {"role": "Nope"}, form_page=f"/compliance/policies/{policy_id}")
    assert field_error(response, "role") == "no such role"
    response = submit(
        officer_client, path, {"user_id": "99999999999"}, form_page=f"/compliance/policies/{policy_id}"
    )
    assert field_error(response, "user_id") == "no such user"
    submit(officer_client, path, {"role": staff_role}, form_page=f"/compliance/policies/{policy_id}")
    response = submit(
        officer_client, path, {"role": staff_role}, form_page=f"/compliance/policies/{policy_id}"
    )
    assert field_error(response, "role") == "is already assigned this policy"
    assert count(ext, PolicyAssignment) == 1

    assignment = fetch(ext, PolicyAssignment).id
    response = submit(
        officer_client, f"{path}/{assignment}/delete", form_page=f"/compliance/policies/{policy_id}"
    )
    assert redirect_path(response).endswith("#assignments")
    assert count(ext, PolicyAssignment) == 0


# --- sanitized text -------------------------------------------------------------------------------

HOSTILE = (
    '<p onclick="steal()">Hello</p><script>alert("x")</script>'
    '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">click</a>'
    '<a href="https://example.com/rules">rules</a><style>body{display:none}</style>'
    '<iframe src="https://evil.example"></iframe><form action="/x"><input name="q"></form>'
)


@pytest.mark.parametrize("body_format", ["html", "markdown"])
def test_policy_bodies_render_without_scripts_or_handlers(ext, officer_client, ann, staff_role, body_format):
    policy_id = make_policy(ext, body=HOSTILE, format=body_format)
    assign_role(ext, policy_id, staff_role)
    for client, path in (
        (officer_client, f"/compliance/policies/{policy_id}"),
        (officer_client, f"/compliance/policies/{policy_id}/versions/1"),
        (ann, f"/compliance/my-policies/{policy_id}"),
    ):
        response = client.get(path)
        assert response.status_code == 200
        body = re.search(
            r'<(?:div|article) class="[^"]*policy-body">(.*?)</(?:div|article)>', page(response), re.S
        )
        html = body.group(1)
        for bad in ("<script", "alert(", "onerror", "onclick", "javascript:", "<iframe", "<style", "<img",
                    "<form", "<input"):  # fmt: skip
            assert bad not in html, (path, bad, html)
        assert "Hello" in html
        assert '<a href="https://example.com/rules" rel="noopener noreferrer nofollow">rules</a>' in html


def test_a_markdown_link_to_javascript_is_not_a_link(ext, officer_client):
    policy_id = make_policy(ext, body="[click](javascript:alert(1)) and [ok](mailto:dpo@example.com)")
    html = page(officer_client.get(f"/compliance/policies/{policy_id}"))
    assert 'href="javascript' not in html
    assert '<a href="mailto:dpo@example.com" rel="noopener noreferrer nofollow">ok</a>' in html


# --- permissions and search -----------------------------------------------------------------------


def test_a_clerk_cannot_open_or_change_policies(ext, clerk, app):
    from core.testing import login

    policy_id = make_policy(ext)
    client = app.test_client()
    assert login(client, "clerk@example.com").status_code == 302
    for path in (
        "/compliance/policies",
        f"/compliance/policies/{policy_id}",
        f"/compliance/policies/{policy_id}/versions/1",
    ):
        assert_forbidden(client.get(path), "compliance.view")
    for path in (
        "/compliance/policies/new",
        f"/compliance/policies/{policy_id}/edit",
        f"/compliance/policies/{policy_id}/versions/new",
    ):
        assert_forbidden(client.get(path), "compliance.policy.manage")
    token = csrf_token(client, "/compliance/my-policies")
    for path in (
        "/compliance/policies/new",
        f"/compliance/policies/{policy_id}/versions/new",
        f"/compliance/policies/{policy_id}/assignments",
        f"/compliance/policies/{policy_id}/delete",
    ):
        response = client.post(path, data={"csrf_token": token, "title": "x", "body": "x", "role": "Staff"})
        assert response.status_code == 403, path
    response = client.get(f"/compliance/policies/{policy_id}/acknowledgements")
    assert response.status_code == 403
    assert count(ext, Policy) == 1 and count(ext, PolicyVersion) == 1 and count(ext, PolicyAssignment) == 0
    # Without a token the form is refused before anything else.
    assert client.post(f"/compliance/my-policies/{policy_id}/acknowledge").status_code == 400


def test_a_viewer_reads_but_does_not_manage(ext, make_client):
    policy_id = make_policy(ext)
    viewer = make_client("viewer@example.com", permissions=("compliance.view",))
    detail = viewer.get(f"/compliance/policies/{policy_id}")
    assert detail.status_code == 200
    assert "Publish a new version" not in visible(detail)
    assert viewer.get(f"/compliance/policies/{policy_id}/acknowledgements").status_code == 200
    assert viewer.get(f"/compliance/policies/{policy_id}/edit").status_code == 403


def test_search_finds_policies_for_those_who_may_see_them(ext, officer_client, ann):
    make_policy(ext, "Anti-bribery policy")
    results = visible(officer_client.get("/search?q=bribery"))
    assert "Anti-bribery policy" in results
    assert "Anti-bribery policy" not in visible(ann.get("/search?q=bribery"))
    assert "Anti-bribery" not in visible(officer_client.get("/search?q=100%25"))
