"""Run Officium's benchmarks on a fresh database and print a table (or JSON lines).

    python bench/run.py [--quick] [--db URL] [--json] [--only NAME ...]

Each benchmark runs in its own process on its own freshly migrated database
(SQLite file by default; with ``--db postgresql://user@host/db`` a throwaway
database on that server), so peak RSS is per benchmark. The baseline of each
is the same work done with raw SQLAlchemy Core statements in the same run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import bench.audit_benchmarks  # noqa: E402, F401 - registers the audit trail benchmarks
import bench.core_benchmarks  # noqa: E402, F401 - registers core's benchmarks
from bench.registry import BENCHMARKS, Result, load_plugin_benchmarks  # noqa: E402


class Context:
    """A migrated database with one company, an app on it, and sessions acting as the system."""

    def __init__(self, url: str) -> None:
        from core.app import create_app, officium
        from core.testing import _migrate_and_seed

        _migrate_and_seed(url)
        self.url = url
        self.app = create_app(
            {
                "OFFICIUM_DATABASE_URL": url,
                "OFFICIUM_PLUGINS": "",
                "OFFICIUM_SECRET_KEY": "bench-secret-key-0123456789",
            }
        )
        self.ext = officium(self.app)
        self.db = self.ext.db
        with self.db.session() as session:
            from core.services.companies import first_company

            self.company_id = first_company(session).id

    def session(self) -> Any:
        from core.context import set_company

        session = self.db.session()
        self.ext.plugins.refresh(session)
        set_company(session, self.company_id)
        return session


def fresh_database(server_url: str | None, workdir: Path) -> tuple[str, Any]:
    """A new empty database URL and a function that drops it."""
    if not server_url:
        path = workdir / f"bench-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", lambda: path.unlink(missing_ok=True)
    base = make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"officium_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def _child(name: str, n: int, server_url: str | None, workdir: str, queue: Any) -> None:
    try:
        load_plugin_benchmarks()  # a spawned child starts with core's benchmarks only
        url, drop = fresh_database(server_url, Path(workdir))
        try:
            ctx = Context(url)
            results = BENCHMARKS[name].function(ctx, n)
            ctx.db.dispose()
        finally:
            drop()
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        queue.put(("ok", [r.__dict__ for r in results], peak_kib))
    except BaseException as exc:  # report, never hang the parent
        queue.put(("error", f"{type(exc).__name__}: {exc}", 0))


def run_one(name: str, n: int, server_url: str | None, workdir: str) -> tuple[list[Result], int]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child, args=(name, n, server_url, workdir, queue))
    process.start()
    status, payload, peak = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(f"{name}: {payload}")
    return [Result(**r) for r in payload], peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run under a minute")
    parser.add_argument("--db", help="PostgreSQL server URL (a throwaway database is created on it)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--only", nargs="*", help="benchmark names to run")
    args = parser.parse_args(argv)
    load_plugin_benchmarks()
    names = args.only or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark: {', '.join(unknown)} (known: {', '.join(BENCHMARKS)})", file=sys.stderr)
        return 2
    backend = "postgresql" if args.db else "sqlite"
    started = time.perf_counter()
    if not args.json:
        print(
            f"{'benchmark':<28} {'n':>9} {'seconds':>9} {'per s':>11} {'raw s':>9} {'ratio':>6} "
            f"{'peak MiB':>9}  extra"
        )
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            bench = BENCHMARKS[name]
            n = bench.quick_n if args.quick else bench.n
            if not args.json:
                print(f"  running {name} (n={n}) …", file=sys.stderr, flush=True)
            results, peak_kib = run_one(name, n, args.db, workdir)
            for r in results:
                row = {
                    "name": r.name,
                    "n": r.n,
                    "seconds": round(r.seconds, 4),
                    "per_second": round(r.per_second, 1),
                    "baseline_seconds": round(r.baseline_seconds, 4) if r.baseline_seconds else None,
                    "ratio": round(r.ratio, 2) if r.ratio else None,
                    "peak_rss_mib": round(peak_kib / 1024, 1),
                    "backend": backend,
                    **r.extra,
                }
                if args.json:
                    print(json.dumps(row), flush=True)
                else:
                    extra = " ".join(f"{k}={v}" for k, v in r.extra.items())
                    print(
                        f"{r.name:<28} {r.n:>9} {r.seconds:>9.3f} {r.per_second:>11.1f} "
                        f"{(row['baseline_seconds'] or 0):>9.3f} {(row['ratio'] or 0):>6.2f} "
                        f"{row['peak_rss_mib']:>9.1f}  {extra}",
                        flush=True,
                    )
    if not args.json:
        print(f"total {time.perf_counter() - started:.1f} s on {backend}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
