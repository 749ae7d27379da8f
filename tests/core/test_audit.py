"""The audit trail: every change through the UI, the API and the CLI is recorded with who, how and
what; the chain proves it untouched, and names the row someone altered, deleted or moved."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update

from core import audit
from core.app import officium
from core.context import set_company
from core.models import AuditHead, AuditLog, Contact
from core.services import contacts, ledger
from core.services.companies import first_company
from core.testing import ADMIN_EMAIL, csrf_token, run_cli


def trail(session, **where) -> list[AuditLog]:
    session.expire_all()
    query = select(AuditLog).order_by(AuditLog.seq)
    for key, value in where.items():
        query = query.where(getattr(AuditLog, key) == value)
    return list(session.scalars(query))


def verdict(ext) -> audit.Verdict:
    with ext.db.read_engine.connect() as connection:
        return audit.verify(connection)


def add_contact(session, name: str = "Ada Lovelace", **data) -> Contact:
    contact = contacts.create_contact(session, kind="person", name=name, **data)
    session.commit()
    return contact


# --- what is recorded ---------------------------------------------------------------------------


def test_an_edit_in_the_browser_is_recorded_with_user_request_and_old_and_new_values(
    admin_client, admin_user, session
):
    contact = add_contact(session, email="ada@example.com")
    token = csrf_token(admin_client, f"/contacts/{contact.id}/edit")
    response = admin_client.post(
        f"/contacts/{contact.id}/edit",
        data={"csrf_token": token, "kind": "person", "name": "Ada King", "email": "ada@example.com"},
        headers={"X-Request-Id": "req-edit-1"},
    )
    assert response.status_code == 302

    [row] = trail(session, model="contact", record_id=str(contact.id), action="update")
    assert row.user_id == admin_user and row.actor == ADMIN_EMAIL
    assert row.via == "web" and row.request_id == "req-edit-1" and row.ip == "127.0.0.1"
    assert row.changes["name"] == ["Ada Lovelace", "Ada King"]
    assert "email" not in row.changes  # unchanged fields are not listed
    assert row.company_id == contact.company_id


def test_a_change_through_the_api_names_the_token(admin_api, admin_user, session):
    contact = add_contact(session)
    response = admin_api.patch(f"/api/v1/contacts/{contact.id}", json={"phone": "+44 20 7946 0000"})
    assert response.status_code == 200, response.get_data(as_text=True)

    [row] = trail(session, model="contact", record_id=str(contact.id), action="update")
    assert row.via == "api" and row.user_id == admin_user
    assert row.token == admin_api.headers["Authorization"].split()[1][:10]
    assert row.request_id == response.headers["X-Request-Id"]
    assert row.changes["phone"] == [None, "+44 20 7946 0000"]


def test_the_command_line_is_recorded_as_cli_and_secrets_are_masked(runner, session):
    session.commit()  # the command writes: the test's session must not hold SQLite's lock
    run_cli(runner, "users", "create", "ops@example.com", "--password", "a-long-passphrase-1")

    [row] = trail(session, model="user_account", action="create")
    assert row.via == "cli" and row.actor == "cli" and row.user_id is None
    assert row.changes["email"] == [None, "ops@example.com"]
    assert row.changes["password_hash"] == [None, audit.MASK]
    assert "a-long-passphrase" not in str(row.changes) and "argon2" not in str(row.changes)


def test_a_deletion_keeps_the_values_the_record_had(admin_api, session):
    contact = add_contact(session, email="gone@example.com")
    assert admin_api.delete(f"/api/v1/contacts/{contact.id}").status_code == 204

    [row] = trail(session, model="contact", record_id=str(contact.id), action="delete")
    assert row.changes["name"] == ["Ada Lovelace", None]
    assert row.changes["email"] == ["gone@example.com", None]


def test_bulk_statements_are_recorded_row_by_row(session):
    """Merging contacts moves ledger lines with one UPDATE statement: each line is in the trail."""
    cash = ledger.create_account(session, code="1000", name="Cash", type="asset")
    sales = ledger.create_account(session, code="4000", name="Sales", type="income")
    ledger.create_journal(session, code="GJ", name="General")
    source, target = add_contact(session, "Old Co"), add_contact(session, "New Co")
    entry = ledger.post_entry(
        session,
        {
            "journal": "GJ",
            "date": "2026-03-01",
            "lines": [
                {"account": cash.code, "debit": "10.00", "contact_id": source.id},
                {"account": sales.code, "credit": "10.00", "contact_id": source.id},
            ],
        },
    )
    session.commit()
    contacts.merge_contacts(session, source, target)
    session.commit()

    moved = trail(session, model="ledger_line", action="update")
    assert {row.record_id for row in moved} == {str(line.id) for line in entry.lines}
    assert all(row.changes["contact_id"] == [source.id, target.id] for row in moved)
    assert trail(session, model="contact", record_id=str(source.id), action="delete")


def test_posting_records_the_entry_and_its_lines_with_amounts(session):
    ledger.create_account(session, code="1000", name="Cash", type="asset")
    ledger.create_account(session, code="4000", name="Sales", type="income")
    ledger.create_journal(session, code="GJ", name="General")
    ids = ledger.post_entries(
        session,
        [
            {
                "journal": "GJ",
                "date": "2026-03-01",
                "lines": [{"account": "1000", "debit": "12.50"}, {"account": "4000", "credit": "12.50"}],
            }
        ],
    )
    session.commit()
    [entry_row] = trail(session, model="ledger_entry", action="create", record_id=str(ids[0]))
    assert entry_row.changes["state"][1] == "posted"
    lines = trail(session, model="ledger_line", action="create")
    assert sorted(row.changes.get("debit", [None, "0.00"])[1] for row in lines) == ["0.00", "12.50"]


def test_nothing_is_recorded_for_work_that_is_rolled_back(session):
    before = len(trail(session))
    contacts.create_contact(session, kind="person", name="Never saved")
    session.flush()
    session.rollback()
    add_contact(session, "Saved")
    rows = trail(session)[before:]
    assert [r.changes["name"][1] for r in rows if r.model == "contact"] == ["Saved"]


def test_a_rolled_back_savepoint_drops_only_its_own_changes(session):
    before = len(trail(session))
    contacts.create_contact(session, kind="person", name="Kept")
    with session.begin_nested() as savepoint:
        contacts.create_contact(session, kind="person", name="Undone")
        session.flush()
        savepoint.rollback()
    session.commit()
    names = [r.changes["name"][1] for r in trail(session)[before:] if r.model == "contact"]
    assert names == ["Kept"]


# --- the chain ----------------------------------------------------------------------------------


@pytest.fixture
def chain(session) -> list[AuditLog]:
    """Six recorded changes."""
    for index in range(3):
        contact = add_contact(session, f"Person {index}")
        contacts.update_contact(session, contact, phone=f"+1 555 010{index}")
        session.commit()
    rows = trail(session)
    assert len(rows) >= 6
    return rows


def test_an_untouched_chain_verifies(ext, chain):
    result = verdict(ext)
    assert result.ok and result.rows == len(chain)
    assert result.head_hash == chain[-1].hash
    assert [row.prev_hash for row in chain[1:]] == [row.hash for row in chain[:-1]]


def test_an_edited_row_is_named(ext, session, chain):
    target = chain[3]
    session.execute(
        update(AuditLog).where(AuditLog.id == target.id).values(changes={"name": [None, "Someone else"]})
    )
    session.commit()
    result = verdict(ext)
    assert not result.ok and result.seq == target.seq
    assert f"row {target.seq} was altered" in result.problem


def test_a_deleted_row_is_named(ext, session, chain):
    target = chain[2]
    session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": target.id})
    session.commit()
    result = verdict(ext)
    assert not result.ok and result.seq == target.seq
    assert f"row {target.seq} is missing" in result.problem


def test_reordered_rows_are_detected(ext, session, chain):
    (first_id, first_seq), (second_id, second_seq) = (chain[1].id, chain[1].seq), (chain[2].id, chain[2].seq)
    # Swap the two rows' places in the chain (their seq), through a free value.
    session.execute(update(AuditLog).where(AuditLog.id == first_id).values(seq=-1))
    session.execute(update(AuditLog).where(AuditLog.id == second_id).values(seq=first_seq))
    session.execute(update(AuditLog).where(AuditLog.id == first_id).values(seq=second_seq))
    session.commit()
    result = verdict(ext)
    assert not result.ok and result.seq == first_seq


def test_rows_cut_off_the_end_are_detected(ext, session, chain):
    session.execute(text("DELETE FROM audit_log WHERE seq >= :seq"), {"seq": chain[-2].seq})
    session.commit()
    result = verdict(ext)
    assert not result.ok and "cut off the end" in result.problem


def test_the_command_reports_intact_or_the_first_broken_row(runner, ext, session, chain):
    from core.cli import cli

    session.commit()  # the command reads: the test's session must not hold SQLite's lock
    ok = runner.invoke(cli, ["audit", "verify", "--quiet"])
    assert ok.exit_code == 0, ok.output
    assert f"audit trail intact: {len(chain)} rows" in ok.output

    session.execute(update(AuditLog).where(AuditLog.seq == chain[4].seq).values(actor="intruder"))
    session.commit()
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert f"row {chain[4].seq} was altered" in broken.output
    assert len(broken.output.strip().splitlines()) <= 2  # a progress label, then one line


def test_a_refused_action_is_kept_though_its_transaction_rolls_back(session):
    contact = add_contact(session)
    audit.record_refusal(session, model="contact", record_id=contact.id, action="refused:test.action")
    contacts.update_contact(session, contact, phone="+1 555 0199")
    session.rollback()
    [row] = trail(session, action="refused:test.action")
    assert row.record_id == str(contact.id)
    assert not trail(session, model="contact", action="update")


# --- concurrency (PostgreSQL) -----------------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_transactions_keep_one_chain_on_postgresql(make_app: Callable, pg_database_url: str):
    ext = officium(make_app(pg_database_url, OFFICIUM_PLUGINS=""))
    with ext.db.transaction() as session:
        company_id = first_company(session).id
    workers, per_worker = 6, 12
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            start.wait()
            for index in range(per_worker):
                with ext.db.session() as session:
                    set_company(session, company_id)
                    contact = contacts.create_contact(session, kind="person", name=f"W{worker}-{index}")
                    contacts.update_contact(session, contact, phone=f"+1 555 {worker:02d}{index:02d}")
                    if index % 4 == 3:
                        session.rollback()  # a transaction that gives up leaves no trace
                    else:
                        session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    committed = workers * (per_worker - per_worker // 4)
    with ext.db.session() as session:
        rows = list(
            session.scalars(select(AuditLog).where(AuditLog.model == "contact").order_by(AuditLog.seq))
        )
        assert len(rows) == committed * 2
        seqs = list(session.scalars(select(AuditLog.seq).order_by(AuditLog.seq)))
        assert seqs == list(range(1, len(seqs) + 1))
        forks = session.scalar(
            select(func.count()).select_from(
                select(AuditLog.prev_hash).group_by(AuditLog.prev_hash).having(func.count() > 1).subquery()
            )
        )
        assert forks == 0
        assert session.scalar(select(AuditHead.seq)) == len(seqs)
    result = verdict(ext)
    assert result.ok and result.rows == len(seqs)
    ext.db.dispose()


def test_amounts_are_recorded_as_exact_decimal_strings():
    assert audit.plain(Decimal("1234.50")) == "1234.50"
    assert audit.is_secret("password_hash") and audit.is_secret("token_hash") and audit.is_secret("secret")
    assert not audit.is_secret("email") and not audit.is_secret("hash_count")


def test_secrets_in_an_events_details_are_masked(session):
    audit.record_event(
        session,
        model="webhook",
        record_id=1,
        action="webhook.rotated",
        details={"secret": "s3cr3t", "url": "x"},
    )
    session.commit()
    [row] = trail(session, action="webhook.rotated")
    assert row.changes == {"secret": audit.MASK, "url": "x"}


def test_text_with_a_nul_character_is_a_field_message_not_a_database_error(admin_api):
    response = admin_api.post("/api/v1/contacts", json={"kind": "person", "name": "Ada\x00Lovelace"})
    assert response.status_code == 422
    assert "NUL" in str(response.json["error"]["fields"])


def test_a_refusal_is_written_once_when_the_transaction_commits_anyway(session):
    contact = add_contact(session)
    audit.record_refusal(session, model="contact", record_id=contact.id, action="refused:test.once")
    contacts.update_contact(session, contact, phone="+1 555 0142")
    session.commit()
    assert len(trail(session, action="refused:test.once")) == 1
    assert trail(session, model="contact", action="update")
