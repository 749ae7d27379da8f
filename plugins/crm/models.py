"""CRM's tables (prefixed ``crm_``): pipelines and stages, leads, deals, activities, quotes."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.plugin_api import (
    Base,
    CompanyMixin,
    Contact,
    CustomFieldsMixin,
    IdMixin,
    Money,
    TimestampMixin,
    User,
    UTCDateTime,
)

LEAD_SOURCES = ("web", "referral", "event", "campaign", "email", "phone", "other")
LEAD_STATUSES = ("new", "contacted", "qualified", "disqualified")
STAGE_KINDS = ("open", "won", "lost")
ACTIVITY_KINDS = ("call", "meeting", "email", "task")
QUOTE_STATES = ("draft", "sent", "accepted", "declined")


class Pipeline(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A sales pipeline: an ordered set of stages deals move through."""

    __tablename__ = "crm_pipeline"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    stages: Mapped[list[Stage]] = relationship(
        back_populates="pipeline", order_by="Stage.sequence, Stage.id", cascade="all, delete-orphan"
    )


class Stage(IdMixin, CompanyMixin, Base):
    """A column of the board; ``kind`` says whether a deal there is open, won or lost."""

    __tablename__ = "crm_stage"
    __table_args__ = (UniqueConstraint("pipeline_id", "name"),)

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("crm_pipeline.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    probability: Mapped[int] = mapped_column(Integer, default=0)  # percent, the default for deals here
    kind: Mapped[str] = mapped_column(String(10), default="open")

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")


class Lead(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    """Someone who may buy: qualified into a contact and a deal, or disqualified with a reason."""

    __tablename__ = "crm_lead"

    name: Mapped[str] = mapped_column(String(200))
    company_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str] = mapped_column(String(50), default="")
    source: Mapped[str] = mapped_column(String(20), default="other")
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    disqualify_reason: Mapped[str] = mapped_column(String(500), default="")
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deal.id", ondelete="SET NULL"), index=True)

    owner: Mapped[User | None] = relationship(lazy="joined")
    contact: Mapped[Contact | None] = relationship()


class Deal(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    """An opportunity: a customer, an expected revenue and a stage of a pipeline."""

    __tablename__ = "crm_deal"
    __table_args__ = (Index("ix_crm_deal_board", "company_id", "pipeline_id", "stage_id"),)

    title: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    expected_revenue: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    probability: Mapped[int] = mapped_column(Integer, default=0)
    expected_close: Mapped[dt.date | None] = mapped_column(Date)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("crm_pipeline.id"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("crm_stage.id"))
    lost_reason: Mapped[str] = mapped_column(String(500), default="")
    closed_on: Mapped[dt.date | None] = mapped_column(Date)

    contact: Mapped[Contact] = relationship(lazy="joined")
    owner: Mapped[User | None] = relationship(lazy="joined")
    stage: Mapped[Stage] = relationship(lazy="joined")
    pipeline: Mapped[Pipeline] = relationship()

    @property
    def state(self) -> str:
        """open, won or lost: the kind of its stage."""
        return self.stage.kind

    @property
    def weighted_revenue(self) -> Decimal:
        return (self.expected_revenue * self.probability / 100).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )


class Activity(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A call, meeting, email or task, on a deal, a lead or a contact, assigned to a user."""

    __tablename__ = "crm_activity"
    __table_args__ = (Index("ix_crm_activity_todo", "company_id", "assignee_id", "done", "due_date"),)

    kind: Mapped[str] = mapped_column(String(10), default="task")
    subject: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("crm_deal.id", ondelete="CASCADE"), index=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("crm_lead.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"), index=True)
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    assignee: Mapped[User | None] = relationship(lazy="joined")
    deal: Mapped[Deal | None] = relationship()
    lead: Mapped[Lead | None] = relationship()
    contact: Mapped[Contact | None] = relationship()


class Quote(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A priced offer on a deal; accepting it wins the deal."""

    __tablename__ = "crm_quote"
    __table_args__ = (UniqueConstraint("company_id", "number"),)

    deal_id: Mapped[int] = mapped_column(ForeignKey("crm_deal.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    date: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    subtotal: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    discount_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))

    deal: Mapped[Deal] = relationship(lazy="joined")
    lines: Mapped[list[QuoteLine]] = relationship(
        back_populates="quote", cascade="all, delete-orphan", order_by="QuoteLine.sequence"
    )


class QuoteLine(IdMixin, Base):
    """``total = quantity x unit price x (1 - discount%)``, rounded to cents."""

    __tablename__ = "crm_quote_line"

    quote_id: Mapped[int] = mapped_column(ForeignKey("crm_quote.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Money(scale=4))
    unit_price: Mapped[Decimal] = mapped_column(Money(scale=4))
    discount: Mapped[Decimal] = mapped_column(Money(scale=2), default=Decimal("0"))  # percent
    gross: Mapped[Decimal] = mapped_column(Money())
    total: Mapped[Decimal] = mapped_column(Money())

    quote: Mapped[Quote] = relationship(back_populates="lines")
