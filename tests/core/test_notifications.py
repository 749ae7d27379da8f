"""In-app messages: a department notifies a user, who sees the count in the header, reads the
message, follows its link; nobody reads anyone else's; the API shows the same."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import ValidationError
from core.models import Notification, User
from core.services import notifications
from tests.core.web_helpers import count, fetch, page, redirect_path, submit, system_session, visible


def _user_id(ext: Any, email: str) -> int:
    return fetch(ext, User, User.email == email).id


def _notify(ext: Any, user_id: int, title: str, **kwargs: Any) -> int:
    with system_session(ext) as session:
        return notifications.notify(session, user_id, title, source="hr", **kwargs)[0].id


@pytest.fixture
def ann(make_client: Any) -> Any:
    return make_client("ann@example.com")


@pytest.fixture
def bob(make_client: Any) -> Any:
    return make_client("bob@example.com")


def test_a_user_sees_their_unread_messages_in_the_header_and_the_list(ext, ann, bob):
    ann_id = _user_id(ext, "ann@example.com")
    _notify(ext, ann_id, "Leave request to approve", body="Bob asks for 3 days", url="/contacts")
    _notify(ext, ann_id, "Payroll for November confirmed")

    response = ann.get("/messages")
    assert response.status_code == 200
    text = visible(response)
    assert "Leave request to approve" in text and "Bob asks for 3 days" in text
    assert text.index("Payroll for November confirmed") < text.index("Leave request to approve")
    assert 'class="badge"' in page(response) and ">2</span>" in page(response)

    # Bob has none of Ann's messages.
    assert "Leave request to approve" not in visible(bob.get("/messages"))
    assert 'class="badge"' not in page(bob.get("/messages"))


def test_opening_a_message_marks_it_read_and_follows_its_link(ext, ann):
    message = _notify(ext, _user_id(ext, "ann@example.com"), "Approve it", url="/contacts?q=x")
    response = submit(ann, f"/messages/{message}/open", form_page="/messages")
    assert response.status_code == 302 and redirect_path(response) == "/contacts?q=x"
    assert fetch(ext, Notification, Notification.id == message).read_at is not None
    assert 'class="badge"' not in page(ann.get("/messages"))


def test_nobody_opens_or_marks_another_users_message(ext, ann, bob):
    message = _notify(ext, _user_id(ext, "ann@example.com"), "Private")
    response = submit(bob, f"/messages/{message}/open", form_page="/messages")
    assert response.status_code == 404
    assert fetch(ext, Notification, Notification.id == message).read_at is None


def test_mark_all_as_read_only_touches_the_users_own_messages(ext, ann, bob):
    _notify(ext, _user_id(ext, "ann@example.com"), "One")
    _notify(ext, _user_id(ext, "ann@example.com"), "Two")
    bobs = _notify(ext, _user_id(ext, "bob@example.com"), "Bob's")
    response = submit(ann, "/messages/read-all", form_page="/messages")
    assert response.status_code == 302
    assert count(ext, Notification, Notification.read_at.is_(None)) == 1
    assert fetch(ext, Notification, Notification.id == bobs).read_at is None


def test_a_message_title_is_escaped(ext, ann):
    _notify(ext, _user_id(ext, "ann@example.com"), "<script>alert(1)</script>")
    body = page(ann.get("/messages"))
    assert "<script>alert(1)</script>" not in body and "&lt;script&gt;" in body


@pytest.mark.parametrize(
    "url", ["https://evil.example/", "//evil.example", "/\\evil", "/a\tb", "javascript:x"]
)
def test_a_link_outside_the_app_is_refused(ext, url):
    user_id = make_user_id(ext)
    with pytest.raises(ValidationError) as raised:
        _notify(ext, user_id, "Hello", url=url)
    assert raised.value.fields == {"url": ["must be a path inside the app"]}
    assert count(ext, Notification) == 0


def make_user_id(ext: Any) -> int:
    from core.testing import make_user

    return make_user(ext, "carol@example.com")


def test_the_api_lists_and_marks_the_callers_messages(ext, make_api_client):
    api = make_api_client("dan@example.com")
    dan = _user_id(ext, "dan@example.com")
    first = _notify(ext, dan, "First")
    _notify(ext, dan, "Second")
    _notify(ext, make_user_id(ext), "Not Dan's")

    listed = api.get("/api/v1/notifications")
    assert listed.status_code == 200
    assert [m["title"] for m in listed.json["items"]] == ["Second", "First"]

    read = api.post(f"/api/v1/notifications/{first}/read")
    assert read.status_code == 200 and read.json["read_at"] is not None
    unread = api.get("/api/v1/notifications?unread=true")
    assert [m["title"] for m in unread.json["items"]] == ["Second"]

    others = fetch(ext, Notification, Notification.title == "Not Dan's").id
    assert api.post(f"/api/v1/notifications/{others}/read").status_code == 404
    assert api.post("/api/v1/notifications/read-all").json == {"marked": 1}


def test_the_api_needs_a_token(client):
    assert client.get("/api/v1/notifications").status_code == 401
