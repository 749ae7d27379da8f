"""Database plumbing: engine, sessions, the shared MetaData and column types.

One MetaData with a naming convention (Alembic cannot manage anonymous
constraints). Money is stored as integer minor units so that SQL sums are
exact on SQLite and PostgreSQL alike. SQLite write transactions begin
IMMEDIATE, so concurrent writers wait on the busy timeout instead of failing
when a read lock would have to be upgraded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, MetaData, create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_BEGIN_OPTION = "officium_sqlite_begin"


class Base(DeclarativeBase):
    """Declarative base shared by core and every plugin (one MetaData)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Money(TypeDecorator):
    """A Decimal amount stored as an integer count of 1/10**scale units.

    Reads and writes :class:`~decimal.Decimal`; a value with more decimals than
    the scale is refused rather than silently rounded.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        self._factor = Decimal(10) ** scale

    def process_bind_param(self, value: Any, dialect: Any) -> int | None:
        if value is None:
            return None
        amount = to_decimal(value)
        units = amount * self._factor
        if units != units.to_integral_value():
            raise ValueError(f"{amount} has more than {self.scale} decimals")
        return int(units)

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / self._factor).quantize(Decimal(1).scaleb(-self.scale))

    @property
    def python_type(self) -> type:
        return Decimal


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_decimal(value: Any) -> Decimal:
    """Convert a str/int/Decimal to Decimal; floats are refused (they cannot hold money)."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | float):
        raise TypeError("money must be a Decimal, an int or a decimal string, not a float")
    elif isinstance(value, int | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValueError(f"{value!r} is not a decimal number") from exc
    else:
        raise TypeError(f"cannot use {type(value).__name__} as money")
    if not result.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return result


def quantize(amount: Decimal, scale: int = 2) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_EVEN)


# --- mixins for models of core and plugins -------------------------------------------


class IdMixin:
    id: Mapped[int] = mapped_column(primary_key=True)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CompanyMixin:
    """Every business record belongs to a company (indexed)."""

    @declared_attr
    def company_id(cls) -> Mapped[int]:  # noqa: N805 - declared_attr convention
        return mapped_column(ForeignKey("company.id"), index=True)


class CustomFieldsMixin:
    """A JSON column holding low-code custom field values."""

    custom: Mapped[dict] = mapped_column(JSON, default=dict)


# --- engine and sessions ------------------------------------------------------------------


def normalize_url(url: str | URL) -> URL:
    """Accept ``postgresql://`` and pick psycopg 3 as the driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine with Officium's per-backend settings."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Read-only work (GET requests) begins DEFERRED so readers never queue on writers.
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine and its session factory; one per application."""

    def __init__(self, url: str | URL, **engine_kwargs: Any) -> None:
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = self.engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})

    @property
    def url(self) -> URL:
        return self.engine.url

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self, *, read_only: bool = False) -> Session:
        """A new session; ``read_only`` ones do not take SQLite's write lock when they begin."""
        if read_only:
            return self.session_factory(bind=self.read_engine)
        return self.session_factory()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error."""
        with self.session_factory() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
