"""Segregation of duties on the ledger: ``ledger.entry.post`` is judged for manual entries only,
on every path that posts one (a draft, create-and-post, the bulk path); without a judging plugin
nothing is refused."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.context import set_actor
from core.errors import DutyViolation
from core.models import AuditLog, JournalEntry, User
from core.services import ledger
from core.services.duties import check_duty, declared_actions
from tests.core.web_helpers import count, fetch, sale, seed_books, system_session

RULE = "Journal entries: the author does not post"
BOOKKEEPING = ("ledger.view", "ledger.entry.create", "ledger.entry.post")
ENTRIES = "/api/v1/ledger/entries"


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def draft(client: Any, amount: str = "250.00", post: bool = False) -> Any:
    body = {"journal": "GJ", "date": "2026-03-01", "memo": "Manual", "lines": sale(amount), "post": post}
    return client.post(ENTRIES, json=body)


@pytest.fixture
def books(ext) -> None:
    seed_books(ext)


@pytest.fixture
def rule_on(ext, books) -> None:
    from plugins.compliance.models import SodRule

    with system_session(ext) as session:
        session.scalar(select(SodRule).where(SodRule.name == RULE)).active = True


@pytest.fixture
def clerks(make_api_client, books) -> tuple[Any, Any]:
    return (
        make_api_client("ann@example.com", permissions=BOOKKEEPING),
        make_api_client("ben@example.com", permissions=BOOKKEEPING),
    )


def test_core_declares_the_posting_action(session):
    assert "ledger.entry.post" in declared_actions(session)


@pytest.mark.plugins("compliance")
def test_the_author_of_a_draft_entry_cannot_post_it(ext, rule_on, clerks):
    ann, ben = clerks
    entry = ok(draft(ann), 201)
    response = ann.post(f"{ENTRIES}/{entry['id']}/post")
    assert response.status_code == 403
    assert response.json["error"]["code"] == "segregation_of_duties"
    assert RULE in response.json["error"]["message"]
    assert fetch(ext, JournalEntry, JournalEntry.id == entry["id"]).state == "draft"
    refusal = fetch(ext, AuditLog, AuditLog.action == "refused:ledger.entry.post")
    assert refusal.changes["amount"] == "250.00"
    assert refusal.user_id == fetch(ext, User, User.email == "ann@example.com").id

    posted = ok(ben.post(f"{ENTRIES}/{entry['id']}/post"))
    assert posted["state"] == "posted"


@pytest.mark.plugins("compliance")
def test_creating_and_posting_at_once_makes_one_the_author(ext, rule_on, clerks):
    ann, _ben = clerks
    response = draft(ann, post=True)
    assert response.status_code == 403
    assert count(ext, JournalEntry) == 0
    assert count(ext, AuditLog, AuditLog.action == "refused:ledger.entry.post") == 1


@pytest.mark.plugins("compliance")
def test_the_bulk_path_judges_manual_entries_but_not_a_plugins(ext, rule_on, clerks):
    ann_id = fetch(ext, User, User.email == "ann@example.com").id
    rows = [{"journal": "GJ", "date": "2026-03-02", "lines": sale("10.00")}]
    with ext.db.session() as session:
        ext.plugins.refresh(session)
        set_actor(session, session.get(User, ann_id))
        with pytest.raises(DutyViolation):
            ledger.post_entries(session, rows)
        session.rollback()
        ledger.post_entries(session, [{**rows[0], "source_plugin": "hr", "source_ref": "x"}])
        session.commit()
    assert count(ext, JournalEntry) == 1
    assert count(ext, AuditLog, AuditLog.action == "refused:ledger.entry.post") == 1


@pytest.mark.plugins("compliance")
def test_the_command_line_is_never_refused(ext, rule_on):
    with system_session(ext) as session:
        entry = ledger.create_entry(session, {"journal": "GJ", "date": "2026-03-01", "lines": sale("5.00")})
        ledger.post_entry(session, entry)
    assert count(ext, JournalEntry, JournalEntry.state == "posted") == 1


def test_without_a_judging_plugin_nothing_is_refused(ext, clerks):
    ann, _ben = clerks
    entry = ok(draft(ann), 201)
    assert ok(ann.post(f"{ENTRIES}/{entry['id']}/post"))["state"] == "posted"
    assert ok(draft(ann, post=True), 201)["state"] == "posted"
    assert count(ext, AuditLog, AuditLog.action.startswith("refused:")) == 0


def test_an_undeclared_action_is_a_programming_error_reported_as_such(ext, books):
    from core.errors import ValidationError

    with system_session(ext) as session:
        entry = ledger.create_entry(session, {"journal": "GJ", "date": "2026-03-01", "lines": sale("5.00")})
        with pytest.raises(ValidationError):
            check_duty(session, "ledger.entry.burn", entry)
