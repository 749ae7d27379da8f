"""Gapless numbering under load: threads and processes posting to one journal at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.app import Officium, officium
from core.context import set_company
from core.errors import ValidationError
from core.models import JournalEntry, JournalLine
from core.services import ledger
from core.services.companies import first_company

ROOT = Path(__file__).resolve().parents[2]
THREADS = 6
PER_THREAD = 15


def set_up_books(ext: Officium) -> int:
    """Accounts and a journal, committed before anyone posts; returns the company id."""
    with ext.db.transaction() as session:
        company_id = first_company(session).id
        set_company(session, company_id)
        ledger.create_account(session, code="1000", name="Cash", type="asset")
        ledger.create_account(session, code="4000", name="Sales", type="income")
        ledger.create_journal(session, code="GJ", name="General journal")
    return company_id


def fate(worker: int, index: int) -> str:
    """What happens to a worker's index-th entry: refused, rolled back after posting, or kept."""
    return {0: "unbalanced", 1: "rolled back"}.get((worker * 1000 + index * 7 + worker) % 5, "committed")


def cash_sale(amount: str, memo: str, *, balanced: bool = True) -> dict:
    credit = amount if balanced else str(Decimal(amount) + Decimal("0.01"))
    return {
        "journal": "GJ",
        "date": "2026-05-04",
        "memo": memo,
        "lines": [{"account": "1000", "debit": amount}, {"account": "4000", "credit": credit}],
    }


def post_in_turn(session: Session, worker: int, count: int) -> list[tuple[str, str, str]]:
    """Post ``count`` entries, one transaction each; returns (number, memo, amount) of those committed."""
    committed = []
    for index in range(count):
        what = fate(worker, index)
        amount = f"{worker + 1}.{index:02d}"
        memo = f"worker {worker} entry {index}"
        if what == "unbalanced":
            try:
                ledger.post_entry(session, cash_sale(amount, memo, balanced=False))
            except ValidationError:
                session.rollback()
                continue
            raise AssertionError(f"{memo}: an unbalanced entry was posted")
        posted = ledger.post_entry(session, cash_sale(amount, memo))
        if what == "rolled back":
            session.rollback()
        else:
            session.commit()
            committed.append((posted.number, memo, amount))
    return committed


def assert_gapless(ext: Officium, committed: list[tuple[str, str, str]]) -> None:
    """The database holds exactly the committed entries, numbered 1..N with no gap or duplicate."""
    with ext.db.session(read_only=True) as session:
        stored = session.execute(select(JournalEntry.number, JournalEntry.memo, JournalEntry.state)).all()
        numbers = sorted(number for number, _memo, _state in stored)
        assert numbers == [f"GJ/2026/{n:06d}" for n in range(1, len(committed) + 1)]
        assert {(number, memo) for number, memo, _state in stored} == {(n, m) for n, m, _a in committed}
        assert {state for _n, _m, state in stored} == {"posted"}
        assert session.scalar(select(func.count()).select_from(JournalLine)) == 2 * len(committed)
        set_company(session, first_company(session).id)
        tb = ledger.trial_balance(session)
        assert tb.total_debit == tb.total_credit == sum(Decimal(a) for _n, _m, a in committed)


@pytest.fixture(params=["postgresql", "backend-under-test"])
def shared_database_url(request: pytest.FixtureRequest) -> str:
    """Always PostgreSQL, then the backend of this run (SQLite by default: writers queue on its lock)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_database_url")
    return request.getfixturevalue("database_url")


def test_threads_posting_at_once_get_unique_gapless_numbers(
    make_app: Callable, shared_database_url: str
) -> None:
    ext = officium(make_app(shared_database_url, OFFICIUM_PLUGINS=""))
    company_id = set_up_books(ext)
    start = threading.Barrier(THREADS, timeout=60)
    results: dict[int, list[tuple[str, str, str]]] = {}
    failures: list[BaseException] = []

    def worker(number: int) -> None:
        try:
            with ext.db.session() as session:
                set_company(session, company_id)
                start.wait()
                results[number] = post_in_turn(session, number, PER_THREAD)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a poster hung"
    assert failures == []
    committed = [row for rows in results.values() for row in rows]
    expected = sum(fate(w, i) == "committed" for w in range(THREADS) for i in range(PER_THREAD))
    assert len(committed) == expected
    assert expected < THREADS * PER_THREAD  # some were refused and some rolled back
    assert_gapless(ext, committed)


SCRIPT = """
import json, sys, time
from pathlib import Path

from core.app import create_app, officium
from core.context import set_company
from core.errors import ValidationError
from core.services import ledger

url, company_id, ready, go, plan = sys.argv[1:6]
ext = officium(create_app({"OFFICIUM_DATABASE_URL": url, "OFFICIUM_PLUGINS": ""}))
Path(ready).touch()
deadline = time.monotonic() + 60
while not Path(go).exists():
    if time.monotonic() > deadline:
        sys.exit("never told to start")
    time.sleep(0.005)
committed = []
with ext.db.session() as session:
    set_company(session, int(company_id))
    for what, entry in json.loads(plan):
        try:
            posted = ledger.post_entry(session, entry)
        except ValidationError:
            assert what == "unbalanced", entry
            session.rollback()
            continue
        assert what != "unbalanced", entry
        if what == "rolled back":
            session.rollback()
        else:
            session.commit()
            committed.append((posted.number, entry["memo"], entry["lines"][0]["debit"]))
print(json.dumps(committed))
"""


def plan_for(worker: int, count: int) -> list[tuple[str, dict]]:
    plan = []
    for index in range(count):
        what = fate(worker, index)
        entry = cash_sale(
            f"{worker + 1}.{index:02d}", f"process {worker} entry {index}", balanced=what != "unbalanced"
        )
        plan.append((what, entry))
    return plan


def test_processes_posting_at_once_get_unique_gapless_numbers(make_app, pg_database_url, tmp_path):
    ext = officium(make_app(pg_database_url, OFFICIUM_PLUGINS=""))
    company_id = set_up_books(ext)
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OFFICIUM_INSTANCE_PATH": str(tmp_path / "instance")}
    workers = []
    for worker in range(2):
        ready = tmp_path / f"ready-{worker}"
        plan = json.dumps(plan_for(worker, 25))
        process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, pg_database_url, str(company_id), str(ready), str(go), plan],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        workers.append((ready, process))
    try:
        for ready, process in workers:
            while not ready.exists():
                assert process.poll() is None, process.communicate()[1]
                time.sleep(0.01)
        go.touch()  # both are connected and waiting: they now post at the same time
        outputs = [process.communicate(timeout=120) for _ready, process in workers]
    finally:
        for _ready, process in workers:
            if process.poll() is None:
                process.kill()
                process.communicate()
    committed = []
    for (_ready, process), (out, err) in zip(workers, outputs, strict=True):
        assert process.returncode == 0, err
        committed += [tuple(row) for row in json.loads(out)]
    assert len(committed) == sum(fate(w, i) == "committed" for w in range(2) for i in range(25))
    assert_gapless(ext, committed)
