"""Core's hot paths, each against the same work done with raw SQLAlchemy Core statements."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.registry import Result, benchmark
from core.models import Account, Contact, Journal, JournalEntry, JournalLine

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "testplugins"


def _contact_rows(n: int, offset: int = 0) -> Any:
    """Rows generated as they are consumed, as an import reads a file."""
    return (
        {"kind": "person", "name": f"Contact {i:07d}", "email": f"c{i}@example.com", "city": "Springfield"}
        for i in range(offset, offset + n)
    )


def _ledger_setup(ctx: Any) -> tuple[int, int, int]:
    from core.services import ledger

    with ctx.session() as session:
        ledger.create_account(session, code="1000", name="Cash", type="asset")
        ledger.create_account(session, code="4000", name="Sales", type="income")
        ledger.create_journal(session, code="GJ", name="General")
        session.commit()
        ids = session.execute(select(Account.id).order_by(Account.code)).scalars().all()
        journal_id = session.scalar(select(Journal.id))
    return ids[0], ids[1], journal_id


def _entries(n: int) -> Any:
    """Entries generated as they are consumed (a generator), as an import streams a file."""
    start = dt.date(2026, 1, 1)
    return (
        {
            "journal": "GJ",
            "date": start + dt.timedelta(days=i % 360),
            "memo": f"sale {i}",
            "lines": [
                {"account": "1000", "debit": Decimal(i % 997 + 1)},
                {"account": "4000", "credit": Decimal(i % 997 + 1)},
            ],
        }
        for i in range(n)
    )


def _raw_entries(
    ctx: Any, n: int, journal_id: int, debit_id: int, credit_id: int, number_offset: int
) -> None:
    """The same rows post_entries writes, two executemany statements per chunk of 2,000, one transaction."""
    with ctx.db.engine.begin() as conn:
        for first in range(0, n, 2000):
            _raw_chunk(ctx, conn, first, min(2000, n - first), journal_id, debit_id, credit_id, number_offset)


def _raw_chunk(
    ctx: Any,
    conn: Any,
    first: int,
    count: int,
    journal_id: int,
    debit_id: int,
    credit_id: int,
    number_offset: int,
) -> None:
    now = dt.datetime.now(dt.UTC)
    start = dt.date(2026, 1, 1)
    entry_rows = [
        {
            "company_id": ctx.company_id,
            "journal_id": journal_id,
            "number": f"RAW/2026/{number_offset + i:06d}",
            "date": start + dt.timedelta(days=i % 360),
            "memo": f"sale {i}",
            "state": "posted",
            "currency": "USD",
            "created_at": now,
            "updated_at": now,
            "posted_at": now,
        }
        for i in range(first, first + count)
    ]
    ids = (
        conn.execute(
            insert(JournalEntry).returning(JournalEntry.id, sort_by_parameter_order=True), entry_rows
        )
        .scalars()
        .all()
    )
    line_rows = []
    for i, entry_id in enumerate(ids, start=first):
        amount = Decimal(i % 997 + 1)
        line_rows.append(
            {
                "entry_id": entry_id,
                "company_id": ctx.company_id,
                "account_id": debit_id,
                "debit": amount,
                "credit": Decimal(0),
                "memo": "",
                "currency": "USD",
                "amount_currency": amount,
                "rate": Decimal(1),
            }
        )
        line_rows.append(
            {
                "entry_id": entry_id,
                "company_id": ctx.company_id,
                "account_id": credit_id,
                "debit": Decimal(0),
                "credit": amount,
                "memo": "",
                "currency": "USD",
                "amount_currency": -amount,
                "rate": Decimal(1),
            }
        )
    conn.execute(insert(JournalLine), line_rows)


@benchmark("contacts_bulk", n=100_000, quick_n=10_000)
def contacts_bulk(ctx: Any, n: int) -> list[Result]:
    """Create N contacts through create_contacts (validation, events) vs raw Core executemany."""
    from core.services.contacts import create_contacts

    rows = _contact_rows(n)
    with ctx.session() as session:
        started = time.perf_counter()
        create_contacts(session, rows)
        session.commit()
        ours = time.perf_counter() - started
    now = dt.datetime.now(dt.UTC)
    raw_rows = (
        {
            **r,
            "company_id": ctx.company_id,
            "custom": {},
            "active": True,
            "created_at": now,
            "updated_at": now,
        }
        for r in _contact_rows(n, offset=n)
    )
    started = time.perf_counter()
    with ctx.db.engine.begin() as conn:
        while chunk := list(itertools.islice(raw_rows, 2000)):
            conn.execute(insert(Contact), chunk)
    baseline = time.perf_counter() - started
    return [Result("contacts_bulk", n, ours, baseline)]


@benchmark("ledger_bulk", n=100_000, quick_n=10_000)
def ledger_bulk(ctx: Any, n: int) -> list[Result]:
    """Post N balanced 2-line entries through post_entries vs raw Core inserts of the same rows."""
    from core.services.ledger import post_entries

    debit_id, credit_id, journal_id = _ledger_setup(ctx)
    entries = _entries(n)
    with ctx.session() as session:
        started = time.perf_counter()
        post_entries(session, entries)
        session.commit()
        ours = time.perf_counter() - started
    started = time.perf_counter()
    _raw_entries(ctx, n, journal_id, debit_id, credit_id, 1)
    baseline = time.perf_counter() - started
    return [Result("ledger_bulk", n, ours, baseline)]


@benchmark("ledger_single", n=5_000, quick_n=1_000)
def ledger_single(ctx: Any, n: int) -> list[Result]:
    """Post N entries one transaction each through post_entry vs one raw insert pair per transaction."""
    from core.services.ledger import post_entry

    debit_id, credit_id, journal_id = _ledger_setup(ctx)
    entries = _entries(n)
    with ctx.session() as session:
        started = time.perf_counter()
        for entry in entries:
            post_entry(session, entry)
            session.commit()
        ours = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(n):
        _raw_entries(ctx, 1, journal_id, debit_id, credit_id, i + 1)
    baseline = time.perf_counter() - started
    return [Result("ledger_single", n, ours, baseline)]


@benchmark("trial_balance", n=1_000_000, quick_n=100_000)
def trial_balance(ctx: Any, n: int) -> list[Result]:
    """Trial balance over N journal lines vs the raw GROUP BY query."""
    from core.services.ledger import trial_balance as service

    debit_id, credit_id, journal_id = _ledger_setup(ctx)
    for start in range(0, n // 2, 50_000):
        _raw_entries(ctx, min(50_000, n // 2 - start), journal_id, debit_id, credit_id, start + 1)
    with ctx.session() as session:
        service(session)  # warm the statement cache and the page cache, as a running server has
        started = time.perf_counter()
        report = service(session)
        ours = time.perf_counter() - started
        assert report.total_debit == report.total_credit
    raw = (
        select(JournalLine.account_id, func.sum(JournalLine.debit), func.sum(JournalLine.credit))
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .where(JournalEntry.company_id == ctx.company_id, JournalEntry.state.in_(("posted", "reversed")))
        .group_by(JournalLine.account_id)
    )
    with ctx.db.engine.connect() as conn:
        conn.execute(raw).all()
        started = time.perf_counter()
        conn.execute(raw).all()
        baseline = time.perf_counter() - started
    return [Result("trial_balance", n, ours, baseline)]


@benchmark("api_contacts_list", n=100_000, quick_n=10_000)
def api_contacts_list(ctx: Any, n: int) -> list[Result]:
    """GET /api/v1/contacts?limit=50 (first page and a deep page) vs a bare Flask endpoint, p50/p95."""
    from flask import Flask, jsonify

    from core.services.contacts import create_contacts
    from core.testing import ADMIN_EMAIL, ApiClient, api_token, make_user

    requests = 500 if n >= 100_000 else 100
    with ctx.session() as session:
        create_contacts(session, _contact_rows(n))
        session.commit()
    make_user(ctx.ext, ADMIN_EMAIL, roles=("admin",))
    client = ctx.app.test_client()
    api = ApiClient(client, api_token(client, ADMIN_EMAIL))
    deep_cursor = None
    first = api.get("/api/v1/contacts?limit=50").json
    # Walk to ~90% of the list by asking for big pages, then take that page's cursor.
    cursor, seen = first["next_cursor"], 50
    while seen < n * 0.9 and cursor:
        page = api.get(f"/api/v1/contacts?limit=500&cursor={cursor}").json
        cursor, seen = page["next_cursor"], seen + 500
    deep_cursor = cursor

    bare = Flask("bare")
    engine = ctx.db.engine

    @bare.get("/contacts")
    def bare_list():  # the same JSON from one raw query, no auth, no schema
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    select(Contact.__table__)
                    .where(Contact.company_id == ctx.company_id)
                    .order_by(Contact.name, Contact.id)
                    .limit(50)
                )
                .mappings()
                .all()
            )
        return jsonify(items=[{k: v for k, v in r.items() if k != "custom"} for r in rows])

    bare_client = bare.test_client()

    def timed(call: Any) -> list[float]:
        samples = []
        for _ in range(requests):
            started = time.perf_counter()
            response = call()
            samples.append(time.perf_counter() - started)
            assert response.status_code == 200
        return samples

    def p(samples: list[float], q: int) -> float:
        return statistics.quantiles(samples, n=100)[q - 1]

    results = []
    bare_samples = timed(lambda: bare_client.get("/contacts"))
    for label, url in (
        ("first", "/api/v1/contacts?limit=50"),
        ("deep", f"/api/v1/contacts?limit=50&cursor={deep_cursor}"),
    ):
        samples = timed(lambda url=url: api.get(url))
        results.append(
            Result(
                f"api_contacts_list_{label}",
                requests,
                sum(samples),
                sum(bare_samples),
                {
                    "p50_ms": round(p(samples, 50) * 1000, 2),
                    "p95_ms": round(p(samples, 95) * 1000, 2),
                    "baseline_p95_ms": round(p(bare_samples, 95) * 1000, 2),
                    "rows": n,
                },
            )
        )
    return results


@benchmark("startup", n=1, quick_n=1)
def startup(ctx: Any, n: int) -> list[Result]:
    """create_app() with every installed plugin loaded, and enabling a plugin with its migrations."""
    import os
    import subprocess

    from core.app import create_app, officium

    # A cold start: a new interpreter importing Officium and building the app.
    script = (
        "import time; t = time.perf_counter(); from core.app import create_app; "
        f"create_app({{'OFFICIUM_DATABASE_URL': {ctx.url!r}, 'OFFICIUM_PLUGINS': 'notes,tasks'}}); "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FIXTURES), str(FIXTURES.parents[2])])}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    boot = float(done.stdout.strip().splitlines()[-1])
    sys.path.insert(0, str(FIXTURES))
    try:
        app = create_app({"OFFICIUM_DATABASE_URL": ctx.url, "OFFICIUM_PLUGINS": "notes,tasks"})
        ext = officium(app)
        started = time.perf_counter()
        ext.plugins.enable(ext.db, ["tasks"])
        enable = time.perf_counter() - started
        ext.db.dispose()
    finally:
        sys.path.remove(str(FIXTURES))
    return [
        Result("startup_create_app", 1, boot),
        Result("startup_enable_plugin", 2, enable, extra={"plugins": "notes+tasks"}),
    ]
