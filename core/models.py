"""Core tables: companies, users and permissions, contacts, the ledger, plugin state."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import (
    Base,
    CompanyMixin,
    CustomFieldsMixin,
    IdMixin,
    Money,
    TimestampMixin,
    UTCDateTime,
    utcnow,
)

# --- companies -----------------------------------------------------------------------------


class Company(IdMixin, TimestampMixin, Base):
    __tablename__ = "company"

    name: Mapped[str] = mapped_column(String(200))
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")
    fiscal_year_start_month: Mapped[int] = mapped_column(Integer, default=1)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # Postings dated on or before this day are refused.
    lock_date: Mapped[dt.date | None] = mapped_column(Date)


# --- users, roles, permissions ----------------------------------------------------------


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "user_account"

    # Stored lower-cased: emails are unique case-insensitively.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    # Bumped by a password change or "log out everywhere": older sessions stop working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    roles: Mapped[list[Role]] = relationship(secondary="user_role", lazy="selectin")

    # Flask-Login's user interface.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_admin(self) -> bool:
        return any(role.name == "admin" for role in self.roles)

    @property
    def permission_codes(self) -> set[str]:
        codes: set[str] = set()
        for role in self.roles:
            codes |= role.permission_codes
        return codes

    def has_permission(self, code: str) -> bool:
        """Active admins hold every permission; others hold their roles' codes."""
        if not self.active:
            return False
        return self.is_admin or code in self.permission_codes


class Role(IdMixin, TimestampMixin, Base):
    __tablename__ = "role"

    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[RolePermission]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def permission_codes(self) -> set[str]:
        return {p.code for p in self.permissions}


class RolePermission(Base):
    __tablename__ = "role_permission"

    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(150), primary_key=True)


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)


class UserCompany(Base):
    """Which companies a user may work in."""

    __tablename__ = "user_company"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id", ondelete="CASCADE"), primary_key=True)


class ApiToken(IdMixin, Base):
    __tablename__ = "api_token"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # SHA-256 of the token: tokens are 256-bit random, so a fast hash is enough.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()


# --- contacts -------------------------------------------------------------------------------


class Contact(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    __tablename__ = "contact"
    __table_args__ = (
        CheckConstraint("kind IN ('person', 'organization')", name="kind"),
        Index("ix_contact_company_name", "company_id", "name", "id"),
        Index("ix_contact_company_email", "company_id", "email"),
    )

    kind: Mapped[str] = mapped_column(String(20), default="person")
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(50))
    street: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    notes: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Contact | None] = relationship(remote_side="Contact.id")
    tag_rows: Mapped[list[ContactTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ContactTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]


class ContactTag(Base):
    __tablename__ = "contact_tag"
    __table_args__ = (Index("ix_contact_tag_tag", "tag", "contact_id"),)

    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)


# --- ledger ----------------------------------------------------------------------------------

ACCOUNT_TYPES = ("asset", "liability", "equity", "income", "expense")
ENTRY_STATES = ("draft", "posted", "reversed")


class Account(IdMixin, CompanyMixin, TimestampMixin, Base):
    __tablename__ = "ledger_account"
    __table_args__ = (
        UniqueConstraint("company_id", "code"),
        CheckConstraint("type IN ('asset', 'liability', 'equity', 'income', 'expense')", name="type"),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_account.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Journal(IdMixin, CompanyMixin, TimestampMixin, Base):
    __tablename__ = "ledger_journal"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    # Numbering prefix: entries are numbered PREFIX/YEAR/000001.
    prefix: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class JournalEntry(IdMixin, CompanyMixin, TimestampMixin, Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("journal_id", "number"),
        CheckConstraint("state IN ('draft', 'posted', 'reversed')", name="state"),
        Index("ix_ledger_entry_company_date", "company_id", "date"),
    )

    journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journal.id"), index=True)
    number: Mapped[str | None] = mapped_column(String(50))
    date: Mapped[dt.date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[str] = mapped_column(String(20), default="draft")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    source_plugin: Mapped[str | None] = mapped_column(String(50))
    source_ref: Mapped[str | None] = mapped_column(String(100))
    reversal_of_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    posted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    journal: Mapped[Journal] = relationship(lazy="joined")
    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry",
        cascade="all, delete-orphan",
        order_by="JournalLine.id",
        lazy="selectin",
    )

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal("0.00"))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal("0.00"))


class JournalLine(IdMixin, CompanyMixin, Base):
    __tablename__ = "ledger_line"
    __table_args__ = (
        CheckConstraint("debit >= 0 AND credit >= 0", name="not_negative"),
        CheckConstraint("(debit = 0) <> (credit = 0)", name="one_side"),
        Index("ix_ledger_line_account", "account_id", "entry_id"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    # Base-currency amounts: these are what must balance.
    debit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    credit: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    memo: Mapped[str] = mapped_column(String(500), default="")
    # Transaction currency, signed amount in it (debit positive) and the rate used.
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    amount_currency: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    rate: Mapped[Decimal] = mapped_column(Money(scale=6), default=Decimal("1"))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[Account] = relationship(lazy="joined")


class NumberSequence(Base):
    """Gapless counters: one row per company, key and year, locked while a number is taken."""

    __tablename__ = "number_sequence"

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


# --- platform state --------------------------------------------------------------------------


class PluginState(Base):
    """A plugin is enabled when its row says so; the rows are shared by every worker process."""

    __tablename__ = "plugin_state"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[str] = mapped_column(String(50), default="")
    enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)


class StateVersion(Base):
    """Counters that worker processes poll to know when to refresh a cache."""

    __tablename__ = "state_version"

    key: Mapped[str] = mapped_column(String(50), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKey(IdMixin, Base):
    """The first response to an API POST sent with an ``Idempotency-Key`` header, replayed on retries."""

    __tablename__ = "idempotency_key"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    # NULL while the first request is still running.
    status: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Notification(IdMixin, CompanyMixin, Base):
    """An in-app message to one user (a leave request to approve, a decision, a rule's alert)."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    # A path inside the app ("/hr/leave/12"), never an outside address.
    url: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(50), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


# --- audit trail -----------------------------------------------------------------------------


class AuditLog(Base):
    """One change to one record (or one refused action), hash-chained to the row before it.

    Append-only: rows are written by :mod:`core.audit` when a transaction commits and never
    updated. ``hash`` is the SHA-256 of the row's content and ``prev_hash``; ``seq`` numbers
    the chain without gaps. No foreign keys: the trail outlives the users and records it names.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_record", "model", "record_id", "seq"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    company_id: Mapped[int | None] = mapped_column(Integer, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # Who, as a person reads it: the user's email, "cli" or "system".
    actor: Mapped[str] = mapped_column(String(255), default="")
    # How: "web", "api", "cli" or "system"; ``token`` is the API token's display prefix.
    via: Mapped[str] = mapped_column(String(20), default="")
    token: Mapped[str | None] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64), default="")
    # "create", "update", "delete", or a refused action ("refused:accounting.invoice.post").
    action: Mapped[str] = mapped_column(String(100), index=True)
    # {field: [old, new]}; secrets are masked.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last link (one row): writers lock it, so concurrent commits never fork the
    chain, and ``officium audit verify`` notices rows cut off the end."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))
