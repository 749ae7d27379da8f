"""HR's tables (prefixed ``hr_``): the organisation, contracts, leave, payroll, recruitment, training."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

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

EMPLOYEE_STATUSES = ("active", "on_leave", "terminated")
CONTRACT_KINDS = ("permanent", "fixed_term", "contractor")
WAGE_PERIODS = ("month", "hour")
LEAVE_STATES = ("draft", "submitted", "approved", "refused", "cancelled")
PAYROLL_ITEM_KINDS = ("deduction", "contribution")
PAYROLL_ITEM_METHODS = ("percent", "fixed")
PAYROLL_RUN_KINDS = ("regular", "correction")
PAYROLL_RUN_STATES = ("draft", "confirmed")
PAYSLIP_LINE_KINDS = ("basic", "adjustment", "deduction", "contribution")
OPENING_STATES = ("open", "closed")
APPLICANT_STAGES = ("applied", "screening", "interview", "offer", "hired", "rejected")
ATTENDANCE_STATES = ("registered", "attended", "absent")


# --- organisation ---------------------------------------------------------------------------------


class Department(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A department in a tree (``parent``), with a manager."""

    __tablename__ = "hr_department"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("hr_department.id", ondelete="SET NULL"), index=True
    )
    # An employee id. No foreign key: departments and employees point at each other, and a
    # table-level cycle cannot be created or dropped in order on SQLite. The service checks it.
    manager_id: Mapped[int | None] = mapped_column(Integer, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[Department | None] = relationship(remote_side="Department.id")


class Position(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A job position (title), optionally in a department."""

    __tablename__ = "hr_position"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("hr_department.id", ondelete="SET NULL"), index=True
    )
    description: Mapped[str] = mapped_column(Text, default="")

    department: Mapped[Department | None] = relationship()


class Employee(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    """A person working for the company: a core person contact plus the HR file.

    ``user_id`` links the employee to a login for self-service (their own profile,
    leave and payslips) and to find whom to ask for approvals.
    """

    __tablename__ = "hr_employee"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        UniqueConstraint("company_id", "user_id"),
        UniqueConstraint("company_id", "contact_id"),
    )

    number: Mapped[str] = mapped_column(String(30))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("hr_department.id", ondelete="SET NULL"), index=True
    )
    position_id: Mapped[int | None] = mapped_column(ForeignKey("hr_position.id", ondelete="SET NULL"))
    manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("hr_employee.id", ondelete="SET NULL"), index=True
    )
    hire_date: Mapped[dt.date] = mapped_column(Date)
    termination_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    job_title: Mapped[str] = mapped_column(String(100), default="")
    emergency_name: Mapped[str] = mapped_column(String(200), default="")
    emergency_phone: Mapped[str] = mapped_column(String(50), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    contact: Mapped[Contact] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship()
    department: Mapped[Department | None] = relationship()
    position: Mapped[Position | None] = relationship()
    manager: Mapped[Employee | None] = relationship(remote_side="Employee.id")

    @property
    def name(self) -> str:
        return self.contact.name


class Contract(IdMixin, CompanyMixin, TimestampMixin, Base):
    """An employment contract; an employee's contracts never overlap in time."""

    __tablename__ = "hr_contract"
    __table_args__ = (Index("ix_hr_contract_employee_dates", "employee_id", "start_date"),)

    employee_id: Mapped[int] = mapped_column(ForeignKey("hr_employee.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20), default="permanent")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)  # open-ended when empty
    wage: Mapped[Decimal] = mapped_column(Money())
    wage_period: Mapped[str] = mapped_column(String(10), default="month")
    hours_per_week: Mapped[Decimal] = mapped_column(Money(), default=Decimal("40"))
    notes: Mapped[str] = mapped_column(Text, default="")

    employee: Mapped[Employee] = relationship()


# --- leave ------------------------------------------------------------------------------------------


class Holiday(IdMixin, CompanyMixin, Base):
    """A public holiday: not a working day, so never counted as leave."""

    __tablename__ = "hr_holiday"
    __table_args__ = (UniqueConstraint("company_id", "date"),)

    date: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(100))


class LeaveType(IdMixin, CompanyMixin, TimestampMixin, Base):
    """Annual, sick, unpaid...; ``needs_allocation`` types are limited by the yearly allocation."""

    __tablename__ = "hr_leave_type"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    needs_allocation: Mapped[bool] = mapped_column(Boolean, default=True)
    paid: Mapped[bool] = mapped_column(Boolean, default=True)
    default_days: Mapped[Decimal] = mapped_column(Money(1), default=Decimal("0"))
    color: Mapped[str] = mapped_column(String(7), default="#2563eb")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LeaveAllocation(IdMixin, CompanyMixin, TimestampMixin, Base):
    """Days of one leave type an employee may take in a calendar year (half days allowed)."""

    __tablename__ = "hr_leave_allocation"
    __table_args__ = (UniqueConstraint("employee_id", "leave_type_id", "year"),)

    employee_id: Mapped[int] = mapped_column(ForeignKey("hr_employee.id", ondelete="CASCADE"))
    leave_type_id: Mapped[int] = mapped_column(ForeignKey("hr_leave_type.id"))
    year: Mapped[int] = mapped_column(Integer)
    days: Mapped[Decimal] = mapped_column(Money(1))

    employee: Mapped[Employee] = relationship()
    leave_type: Mapped[LeaveType] = relationship(lazy="joined")


class LeaveRequest(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A request for leave: draft -> submitted -> approved / refused; cancelled by the requester or HR.

    ``half_day_start`` means the first day starts at noon; ``half_day_end`` that the
    last day ends at noon. ``days`` counts working days (no weekends, no holidays).
    """

    __tablename__ = "hr_leave_request"
    __table_args__ = (Index("ix_hr_leave_request_employee_dates", "employee_id", "start_date"),)

    employee_id: Mapped[int] = mapped_column(ForeignKey("hr_employee.id", ondelete="CASCADE"))
    leave_type_id: Mapped[int] = mapped_column(ForeignKey("hr_leave_type.id"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    half_day_start: Mapped[bool] = mapped_column(Boolean, default=False)
    half_day_end: Mapped[bool] = mapped_column(Boolean, default=False)
    days: Mapped[Decimal] = mapped_column(Money(1))
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(String(500), default="")

    employee: Mapped[Employee] = relationship(lazy="joined")
    leave_type: Mapped[LeaveType] = relationship(lazy="joined")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# --- payroll ----------------------------------------------------------------------------------------


class PayrollSettings(CompanyMixin, Base):
    """Where payroll posts, per company: the journal and the accounts (created if missing)."""

    __tablename__ = "hr_payroll_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    journal_code: Mapped[str] = mapped_column(String(20), default="PAY")
    salary_expense_account: Mapped[str] = mapped_column(String(20), default="6200")
    contribution_expense_account: Mapped[str] = mapped_column(String(20), default="6210")
    net_payable_account: Mapped[str] = mapped_column(String(20), default="2300")
    __table_args__ = (UniqueConstraint("company_id"),)


class PayrollItem(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A deduction from the employee's gross (withholding) or an employer contribution on top of it.

    ``method`` percent takes ``rate`` percent of gross; fixed takes ``amount``. Either is
    owed to someone (the tax office, social security): ``payable_account`` is that liability.
    """

    __tablename__ = "hr_payroll_item"
    __table_args__ = (UniqueConstraint("company_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="deduction")
    method: Mapped[str] = mapped_column(String(10), default="percent")
    rate: Mapped[Decimal] = mapped_column(Money(4), default=Decimal("0"))
    amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    payable_account: Mapped[str] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(Integer, default=10)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PayrollRun(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A month's payroll: draft (computed, editable) -> confirmed (posted to the ledger, locked).

    One regular run per company and month; a correction run for a month that has a
    confirmed regular run carries adjustments for chosen employees.
    """

    __tablename__ = "hr_payroll_run"
    __table_args__ = (Index("ix_hr_payroll_run_period", "company_id", "year", "month"),)

    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20), default="regular")
    state: Mapped[str] = mapped_column(String(20), default="draft")
    payment_date: Mapped[dt.date] = mapped_column(Date)
    total_gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total_deductions: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total_contributions: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total_net: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    employee_count: Mapped[int] = mapped_column(Integer, default=0)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")

    payslips: Mapped[list[Payslip]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="Payslip.id"
    )

    @property
    def period(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


class Payslip(IdMixin, CompanyMixin, Base):
    """One employee's pay in a run: gross, deductions, net, and the employer's contributions."""

    __tablename__ = "hr_payslip"
    __table_args__ = (UniqueConstraint("run_id", "employee_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("hr_payroll_run.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("hr_employee.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("hr_contract.id", ondelete="SET NULL"))
    gross: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total_deductions: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total_contributions: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))

    run: Mapped[PayrollRun] = relationship(back_populates="payslips")
    employee: Mapped[Employee] = relationship(lazy="joined")
    contract: Mapped[Contract | None] = relationship()
    lines: Mapped[list[PayslipLine]] = relationship(
        back_populates="payslip",
        cascade="all, delete-orphan",
        order_by="PayslipLine.sequence, PayslipLine.id",
    )


class PayslipLine(IdMixin, Base):
    """A line of a payslip: the basic pay, an adjustment (bonus, correction), a deduction, a contribution."""

    __tablename__ = "hr_payslip_line"

    payslip_id: Mapped[int] = mapped_column(ForeignKey("hr_payslip.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(20), default="")
    name: Mapped[str] = mapped_column(String(200))
    rate: Mapped[Decimal | None] = mapped_column(Money(4))
    amount: Mapped[Decimal] = mapped_column(Money())
    account: Mapped[str] = mapped_column(String(20), default="")  # the payable, for deductions/contributions
    sequence: Mapped[int] = mapped_column(Integer, default=0)

    payslip: Mapped[Payslip] = relationship(back_populates="lines")


# --- recruitment ------------------------------------------------------------------------------------


class JobOpening(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A job the company recruits for."""

    __tablename__ = "hr_job_opening"

    title: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("hr_department.id", ondelete="SET NULL"))
    position_id: Mapped[int | None] = mapped_column(ForeignKey("hr_position.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)

    department: Mapped[Department | None] = relationship()
    position: Mapped[Position | None] = relationship()


class Applicant(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    """Someone applying for an opening; hiring them makes an employee.

    The CV file is kept in the database (so every web worker on every host serves it)
    and only ever sent back as a download, never shown inline.
    """

    __tablename__ = "hr_applicant"

    opening_id: Mapped[int | None] = mapped_column(
        ForeignKey("hr_job_opening.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    stage: Mapped[str] = mapped_column(String(20), default="applied", index=True)
    cv_text: Mapped[str] = mapped_column(Text, default="")
    cv_filename: Mapped[str] = mapped_column(String(200), default="")
    cv_content_type: Mapped[str] = mapped_column(String(100), default="")
    cv_size: Mapped[int] = mapped_column(Integer, default=0)
    cv_file: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    notes: Mapped[str] = mapped_column(Text, default="")
    rejection_reason: Mapped[str] = mapped_column(String(500), default="")
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("hr_employee.id", ondelete="SET NULL"))

    opening: Mapped[JobOpening | None] = relationship()
    employee: Mapped[Employee | None] = relationship()


# --- training and skills ----------------------------------------------------------------------------


class Skill(IdMixin, CompanyMixin, Base):
    """A skill the skills matrix tracks (levels 1-5 per employee)."""

    __tablename__ = "hr_skill"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))


class EmployeeSkill(IdMixin, CompanyMixin, Base):
    """An employee's level (1-5) in a skill."""

    __tablename__ = "hr_employee_skill"
    __table_args__ = (UniqueConstraint("employee_id", "skill_id"),)

    employee_id: Mapped[int] = mapped_column(ForeignKey("hr_employee.id", ondelete="CASCADE"))
    skill_id: Mapped[int] = mapped_column(ForeignKey("hr_skill.id", ondelete="CASCADE"), index=True)
    level: Mapped[int] = mapped_column(Integer)

    skill: Mapped[Skill] = relationship(lazy="joined")


class Course(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A training course; completing it can raise a skill to ``skill_level``."""

    __tablename__ = "hr_course"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    duration_hours: Mapped[Decimal] = mapped_column(Money(1), default=Decimal("0"))
    skill_id: Mapped[int | None] = mapped_column(ForeignKey("hr_skill.id", ondelete="SET NULL"))
    skill_level: Mapped[int | None] = mapped_column(Integer)

    skill: Mapped[Skill | None] = relationship()


class TrainingSession(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A dated session of a course."""

    __tablename__ = "hr_training_session"

    course_id: Mapped[int] = mapped_column(ForeignKey("hr_course.id", ondelete="CASCADE"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    location: Mapped[str] = mapped_column(String(200), default="")
    trainer: Mapped[str] = mapped_column(String(200), default="")

    course: Mapped[Course] = relationship(lazy="joined")
    attendances: Mapped[list[Attendance]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Attendance.id"
    )


class Attendance(IdMixin, CompanyMixin, Base):
    """An employee registered on a session; ``completed_on`` records the course as done."""

    __tablename__ = "hr_attendance"
    __table_args__ = (UniqueConstraint("session_id", "employee_id"),)

    session_id: Mapped[int] = mapped_column(ForeignKey("hr_training_session.id", ondelete="CASCADE"))
    employee_id: Mapped[int] = mapped_column(ForeignKey("hr_employee.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="registered")
    completed_on: Mapped[dt.date | None] = mapped_column(Date)

    session: Mapped[TrainingSession] = relationship(back_populates="attendances")
    employee: Mapped[Employee] = relationship(lazy="joined")
