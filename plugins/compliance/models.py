"""Compliance tables (all prefixed ``compliance_``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.plugin_api import (
    Base,
    CompanyMixin,
    CustomFieldsMixin,
    IdMixin,
    Money,
    TimestampMixin,
    UTCDateTime,
    utcnow,
)

RISK_CATEGORIES = ("operational", "financial", "compliance", "reputational", "it")
TREATMENTS = ("accept", "mitigate", "transfer", "avoid")
RISK_STATUSES = ("open", "closed")
CONTROL_FREQUENCIES = ("monthly", "quarterly", "semiannual", "annual")
TEST_RESULTS = ("pass", "fail")
POLICY_FORMATS = ("markdown", "html")
GDPR_KINDS = ("export", "anonymize", "delete")
GDPR_STATUSES = ("done", "refused")


# --- policies ---------------------------------------------------------------------------------


class Policy(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A policy document; its text lives in numbered versions, the latest effective one applies."""

    __tablename__ = "compliance_policy"
    __table_args__ = (UniqueConstraint("company_id", "title"),)

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    versions: Mapped[list[PolicyVersion]] = relationship(
        back_populates="policy", order_by="PolicyVersion.version", cascade="all, delete-orphan"
    )
    assignments: Mapped[list[PolicyAssignment]] = relationship(
        back_populates="policy", cascade="all, delete-orphan"
    )


class PolicyVersion(IdMixin, CompanyMixin, Base):
    """One published text of a policy; a new version needs everyone assigned to acknowledge again."""

    __tablename__ = "compliance_policy_version"
    __table_args__ = (
        UniqueConstraint("policy_id", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    policy_id: Mapped[int] = mapped_column(ForeignKey("compliance_policy.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # The source as written (Markdown or HTML); it is sanitized when rendered.
    body: Mapped[str] = mapped_column(Text, default="")
    body_format: Mapped[str] = mapped_column(String(10), default="markdown")
    effective_date: Mapped[dt.date] = mapped_column(Date)
    change_note: Mapped[str] = mapped_column(String(500), default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    policy: Mapped[Policy] = relationship(back_populates="versions")


class PolicyAssignment(IdMixin, CompanyMixin, Base):
    """Who must acknowledge a policy: everyone holding a role, or one user."""

    __tablename__ = "compliance_policy_assignment"
    __table_args__ = (
        CheckConstraint("(role_id IS NULL) <> (user_id IS NULL)", name="role_or_user"),
        UniqueConstraint("policy_id", "role_id", "user_id"),
    )

    policy_id: Mapped[int] = mapped_column(ForeignKey("compliance_policy.id", ondelete="CASCADE"), index=True)
    role_id: Mapped[int | None] = mapped_column(ForeignKey("role.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))

    policy: Mapped[Policy] = relationship(back_populates="assignments")


class PolicyAcknowledgement(IdMixin, CompanyMixin, Base):
    """A user read and accepted one version of a policy."""

    __tablename__ = "compliance_policy_ack"
    __table_args__ = (UniqueConstraint("version_id", "user_id"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_policy_version.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    acknowledged_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


# --- risks and controls ---------------------------------------------------------------------


control_risk = Table(
    "compliance_control_risk",
    Base.metadata,
    Column("control_id", ForeignKey("compliance_control.id", ondelete="CASCADE"), primary_key=True),
    Column("risk_id", ForeignKey("compliance_risk.id", ondelete="CASCADE"), primary_key=True),
)


class Risk(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    """A risk in the register: scored 1-5 for likelihood and impact, before and after treatment."""

    __tablename__ = "compliance_risk"
    __table_args__ = (
        UniqueConstraint("company_id", "reference"),
        CheckConstraint("likelihood BETWEEN 1 AND 5", name="likelihood_range"),
        CheckConstraint("impact BETWEEN 1 AND 5", name="impact_range"),
        CheckConstraint(
            "residual_likelihood IS NULL OR residual_likelihood BETWEEN 1 AND 5",
            name="residual_likelihood_range",
        ),
        CheckConstraint(
            "residual_impact IS NULL OR residual_impact BETWEEN 1 AND 5", name="residual_impact_range"
        ),
    )

    reference: Mapped[str] = mapped_column(String(20))  # RISK-0001
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    # After treatment; NULL until assessed (the inherent score then stands).
    residual_likelihood: Mapped[int | None] = mapped_column(Integer)
    residual_impact: Mapped[int | None] = mapped_column(Integer)
    treatment: Mapped[str] = mapped_column(String(20), default="mitigate")
    treatment_plan: Mapped[str] = mapped_column(Text, default="")
    review_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(10), default="open")

    controls: Mapped[list[Control]] = relationship(secondary=control_risk, back_populates="risks")

    @property
    def inherent_score(self) -> int:
        return self.likelihood * self.impact


class Control(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A control that mitigates risks, tested on a schedule."""

    __tablename__ = "compliance_control"
    __table_args__ = (UniqueConstraint("company_id", "reference"),)

    reference: Mapped[str] = mapped_column(String(20))  # CTRL-0001
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    frequency: Mapped[str] = mapped_column(String(20), default="quarterly")
    next_test_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    risks: Mapped[list[Risk]] = relationship(secondary=control_risk, back_populates="controls")
    tests: Mapped[list[ControlTest]] = relationship(
        back_populates="control", order_by="ControlTest.tested_on.desc(), ControlTest.id.desc()"
    )


class ControlTest(IdMixin, CompanyMixin, Base):
    """One test of a control: when, by whom, pass or fail, with evidence (a note, a file)."""

    __tablename__ = "compliance_control_test"
    __table_args__ = (CheckConstraint("result IN ('pass', 'fail')", name="result_known"),)

    control_id: Mapped[int] = mapped_column(
        ForeignKey("compliance_control.id", ondelete="CASCADE"), index=True
    )
    tested_on: Mapped[dt.date] = mapped_column(Date)
    tester_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    result: Mapped[str] = mapped_column(String(10))
    evidence_note: Mapped[str] = mapped_column(Text, default="")
    # An uploaded file, stored under the instance folder (uploads/compliance/<stored_name>).
    evidence_filename: Mapped[str | None] = mapped_column(String(255))
    evidence_stored_name: Mapped[str | None] = mapped_column(String(80))
    evidence_content_type: Mapped[str | None] = mapped_column(String(100))
    evidence_size: Mapped[int | None] = mapped_column(Integer)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    control: Mapped[Control] = relationship(back_populates="tests")


# --- segregation of duties and GDPR -----------------------------------------------------------


class SodRule(IdMixin, CompanyMixin, TimestampMixin, Base):
    """Whoever did ``first_action`` to a record may not do ``second_action`` to it (from an amount).

    ``first_action`` is ``create`` or a declared duty action; ``second_action`` a declared one.
    """

    __tablename__ = "compliance_sod_rule"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    first_action: Mapped[str] = mapped_column(String(100))
    second_action: Mapped[str] = mapped_column(String(100), index=True)
    # Applies from this amount (company currency); NULL: whatever the amount.
    min_amount: Mapped[Decimal | None] = mapped_column(Money())
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GdprRequest(IdMixin, CompanyMixin, Base):
    """A data subject's request, as answered: an export, an anonymization or a deletion."""

    __tablename__ = "compliance_gdpr_request"

    # No foreign key: a deleted contact's request stays on record.
    contact_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(500), default="")
    # What was done, or why it was refused (one line each).
    outcome: Mapped[list] = mapped_column(JSON, default=list)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
