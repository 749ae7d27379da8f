"""Database plumbing: exact money, UTC timestamps, SQLite settings and writers, constraint names."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from core.app import officium
from core.db import Base, Money, UTCDateTime
from core.models import User

# Tables of these tests live in their own MetaData, never in Base.metadata (which migrations compare).
scratch = MetaData()
amounts = Table(
    "scratch_amount",
    scratch,
    Column("id", Integer, primary_key=True),
    Column("amount", Money()),
    Column("rate", Money(scale=6)),
)
moments = Table(
    "scratch_moment",
    scratch,
    Column("id", Integer, primary_key=True),
    Column("at", UTCDateTime()),
)


@pytest.fixture
def engine(ext):
    scratch.create_all(ext.db.engine)
    return ext.db.engine


@pytest.fixture
def sqlite_ext(make_app, tmp_path):
    """An app on SQLite whatever the backend under test: these are SQLite's own settings."""
    return officium(make_app(f"sqlite:///{tmp_path / 'sqlite-only.db'}"))


# --- money ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["0.01", "-0.01", "1234567890123.45", "0.10", "92233720368547758.07", "0"],
)
def test_money_round_trips_decimals_exactly(engine, value):
    with engine.begin() as connection:
        connection.execute(insert(amounts), {"amount": Decimal(value)})
        stored = connection.scalar(select(amounts.c.amount))
    assert stored == Decimal(value)
    assert isinstance(stored, Decimal)
    assert stored.as_tuple().exponent == -2


def test_money_accepts_strings_and_ints_and_keeps_its_scale(engine):
    with engine.begin() as connection:
        connection.execute(
            insert(amounts), [{"amount": "19.99", "rate": "1.234567"}, {"amount": 7, "rate": None}]
        )
        rows = connection.execute(select(amounts.c.amount, amounts.c.rate).order_by(amounts.c.id)).all()
    assert rows == [(Decimal("19.99"), Decimal("1.234567")), (Decimal("7.00"), None)]
    assert str(rows[1].amount) == "7.00"


def test_money_refuses_floats(engine):
    with engine.begin() as connection, pytest.raises(StatementError) as error:
        connection.execute(insert(amounts), {"amount": 0.1})
    assert isinstance(error.value.orig, TypeError)
    assert "not a float" in str(error.value.orig)


@pytest.mark.parametrize("value", [Decimal("0.001"), "12.345", Decimal("1E-3")])
def test_money_refuses_more_decimals_than_its_scale(engine, value):
    with engine.begin() as connection, pytest.raises(StatementError, match="has more than 2 decimals"):
        connection.execute(insert(amounts), {"amount": value})
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(amounts)) == 0


def test_money_refuses_what_is_not_a_number(engine):
    for value in ("ten", Decimal("NaN"), True):
        with engine.begin() as connection, pytest.raises(StatementError):
            connection.execute(insert(amounts), {"amount": value})


def test_sums_of_money_in_sql_are_exact(engine):
    with engine.begin() as connection:
        connection.execute(insert(amounts), [{"amount": Decimal("0.01")}] * 10_000)
        total = connection.scalar(select(func.sum(amounts.c.amount)))
    assert total == Decimal("100.00")
    assert isinstance(total, Decimal)
    assert sum([0.01] * 10_000) != 100  # what floats would have given


# --- timestamps -------------------------------------------------------------------------------------


def test_timestamps_come_back_timezone_aware_in_utc(engine):
    paris = dt.timezone(dt.timedelta(hours=2))
    written = [
        dt.datetime(2026, 3, 1, 14, 30, tzinfo=paris),
        dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 12, 30),  # naive values are taken as UTC
    ]
    with engine.begin() as connection:
        connection.execute(insert(moments), [{"at": value} for value in written])
        read = connection.scalars(select(moments.c.at).order_by(moments.c.id)).all()
    assert [value.utcoffset() for value in read] == [dt.timedelta(0)] * 3
    assert read == [
        dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
    ]


def test_models_timestamps_are_aware(ext, session):
    session.add(User(email="t@x.example"))
    session.commit()
    with ext.db.session() as other:
        created = other.scalar(select(User.created_at).where(User.email == "t@x.example"))
    assert created.tzinfo is not None and created.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - created) < dt.timedelta(minutes=1)


# --- SQLite ------------------------------------------------------------------------------------------


def test_sqlite_connections_enforce_foreign_keys_use_wal_and_wait_when_busy(sqlite_ext):
    with sqlite_ext.db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 30_000


def test_sqlite_refuses_a_dangling_reference(sqlite_ext):
    with sqlite_ext.db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        connection.execute(
            text("CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id))")
        )
    with (
        sqlite_ext.db.engine.begin() as connection,
        pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"),
    ):
        connection.execute(text("INSERT INTO child (parent_id) VALUES (42)"))


def test_two_sqlite_writers_at_once_wait_for_each_other_instead_of_failing(sqlite_ext):
    db = sqlite_ext.db
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE ticket (id INTEGER PRIMARY KEY, writer TEXT)"))
        connection.execute(text("INSERT INTO ticket (writer) VALUES ('setup')"))

    first = db.session()
    # The first writer reads, then writes: a DEFERRED transaction would deadlock here.
    first.execute(text("SELECT count(*) FROM ticket")).scalar()
    first.execute(text("INSERT INTO ticket (writer) VALUES ('first')"))

    started, finished = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            with db.session() as second:
                started.set()
                count = second.execute(text("SELECT count(*) FROM ticket")).scalar()
                second.execute(text("INSERT INTO ticket (writer) VALUES (:w)"), {"w": f"second saw {count}"})
                second.commit()
        except Exception as exc:  # reported to the main thread
            outcome["error"] = exc
        finally:
            finished.set()

    thread = threading.Thread(target=second_writer)
    thread.start()
    assert started.wait(5)
    time.sleep(0.5)
    assert not finished.is_set(), f"the second writer did not wait: {outcome}"
    first.commit()
    first.close()
    thread.join(10)
    assert finished.is_set()
    assert "error" not in outcome, outcome
    with db.engine.connect() as connection:
        writers = connection.scalars(text("SELECT writer FROM ticket ORDER BY id")).all()
    # The second writer began after the first committed, so it saw its row.
    assert writers == ["setup", "first", "second saw 2"]


def test_read_only_sessions_on_sqlite_do_not_wait_for_a_writer(sqlite_ext):
    db = sqlite_ext.db
    with db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE ticket (id INTEGER PRIMARY KEY)"))
        connection.execute(text("INSERT INTO ticket DEFAULT VALUES"))
    with db.session() as writer:
        writer.execute(text("INSERT INTO ticket DEFAULT VALUES"))
        started = time.monotonic()
        with db.session(read_only=True) as reader:
            assert reader.execute(text("SELECT count(*) FROM ticket")).scalar() == 1
        assert time.monotonic() - started < 1
        writer.commit()


# --- constraint names -----------------------------------------------------------------------------


def test_constraints_are_named_by_the_naming_convention(ext):
    names = {
        constraint.name
        for table in Base.metadata.tables.values()
        for constraint in [*table.constraints, *table.indexes]
    }
    assert {
        "pk_contact",
        "uq_user_account_email",
        "fk_contact_company_id_company",
        "ck_contact_kind",
        "ix_contact_company_id",
        "uq_ledger_account_company_id_code",
    } <= names
    assert None not in names


def test_the_migrated_database_carries_the_same_constraint_names(ext):
    inspector = inspect(ext.db.engine)
    assert inspector.get_pk_constraint("contact")["name"] == "pk_contact"
    assert "uq_user_account_email" in {uq["name"] for uq in inspector.get_unique_constraints("user_account")}
    assert "fk_contact_company_id_company" in {fk["name"] for fk in inspector.get_foreign_keys("contact")}
    assert "ix_contact_company_id" in {ix["name"] for ix in inspector.get_indexes("contact")}
