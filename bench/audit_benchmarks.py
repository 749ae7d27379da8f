"""What the audit trail costs: posting with and without it, and verifying a long chain.

The "baseline" of the cost benchmarks is the same posting with the audit listeners removed from
the session factory (``core.audit.uninstall``), so ``ratio`` reads "times slower with auditing".
The verify benchmark's baseline streams the same rows without hashing them.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import insert, select, update

from bench.core_benchmarks import _entries, _ledger_setup
from bench.registry import Result, benchmark
from core import audit
from core.models import AuditHead, AuditLog

CHUNK = 5_000


def _post_single(ctx: Any, n: int, offset: int) -> float:
    from core.services.ledger import post_entry

    entries = list(_entries(n + offset))[offset:]
    with ctx.session() as session:
        started = time.perf_counter()
        for entry in entries:
            post_entry(session, entry)
            session.commit()
        return time.perf_counter() - started


def _post_bulk(ctx: Any, n: int) -> float:
    from core.services.ledger import post_entries

    with ctx.session() as session:
        started = time.perf_counter()
        post_entries(session, _entries(n))
        session.commit()
        return time.perf_counter() - started


@benchmark("audit_cost_single", n=3_000, quick_n=500)
def audit_cost_single(ctx: Any, n: int) -> list[Result]:
    """post_entry, one transaction each (an entry and two lines = 3 trail rows), with vs without the trail."""
    _ledger_setup(ctx)
    audited = _post_single(ctx, n, 0)
    audit.uninstall(ctx.db.session_factory)
    try:
        plain = _post_single(ctx, n, n)
    finally:
        audit.install(ctx.db.session_factory)
    return [Result("audit_cost_single", n, audited, plain)]


@benchmark("audit_cost_bulk", n=50_000, quick_n=5_000)
def audit_cost_bulk(ctx: Any, n: int) -> list[Result]:
    """post_entries of N entries in one transaction, with vs without the trail."""
    _ledger_setup(ctx)
    audited = _post_bulk(ctx, n)
    audit.uninstall(ctx.db.session_factory)
    try:
        plain = _post_bulk(ctx, n)
    finally:
        audit.install(ctx.db.session_factory)
    return [Result("audit_cost_bulk", n, audited, plain)]


def _chain(ctx: Any, n: int) -> None:
    """N chained rows, as a busy instance would have written them (not timed)."""
    prev, at = audit.GENESIS, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with ctx.db.engine.begin() as conn:
        for first in range(1, n + 1, CHUNK):
            rows = []
            for seq in range(first, min(first + CHUNK, n + 1)):
                row = {
                    "seq": seq,
                    "at": at + dt.timedelta(seconds=seq),
                    "company_id": ctx.company_id,
                    "user_id": seq % 7 + 1,
                    "actor": f"user{seq % 7}@example.com",
                    "via": "web",
                    "token": None,
                    "model": "contact",
                    "record_id": str(seq),
                    "action": "update",
                    "changes": {"phone": [f"+1 555 {seq:07d}", f"+1 555 {seq + 1:07d}"]},
                    "request_id": f"{seq:016x}",
                    "ip": "192.0.2.10",
                    "prev_hash": prev,
                }
                row["hash"] = prev = audit.row_hash(row, prev)
                rows.append(row)
            conn.execute(insert(AuditLog), rows)
        conn.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, hash=prev))


@benchmark("audit_verify", n=1_000_000, quick_n=50_000)
def audit_verify(ctx: Any, n: int) -> list[Result]:
    """officium audit verify over N rows (streamed, every hash recomputed) vs streaming the rows."""
    _chain(ctx, n)
    with ctx.db.read_engine.connect() as conn:
        started = time.perf_counter()
        verdict = audit.verify(conn)
        ours = time.perf_counter() - started
        assert verdict.ok and verdict.rows == n, verdict
        query = (
            select(AuditLog.__table__)
            .order_by(AuditLog.seq)
            .execution_options(stream_results=True, yield_per=CHUNK)
        )
        started = time.perf_counter()
        for _row in conn.execute(query):
            pass
        baseline = time.perf_counter() - started
    return [Result("audit_verify", n, ours, baseline)]
