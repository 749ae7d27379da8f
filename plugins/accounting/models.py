"""Accounting's tables (prefixed ``accounting_``); money is :class:`Money` (Decimal), never float.

Invoices, bills and credit notes share one table, told apart by ``kind``:

=============  ==================  ===============
kind           document            posted entry
=============  ==================  ===============
out_invoice    customer invoice    Dr receivable, Cr revenue and tax
in_invoice     vendor bill         Dr expense and tax, Cr payable
out_refund     customer credit     the mirror of out_invoice
in_refund      vendor credit       the mirror of in_invoice
=============  ==================  ===============
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.plugin_api import (
    Account,
    Base,
    CompanyMixin,
    Contact,
    CustomFieldsMixin,
    IdMixin,
    Journal,
    JournalEntry,
    Money,
    TimestampMixin,
    UTCDateTime,
)

INVOICE_KINDS = ("out_invoice", "in_invoice", "out_refund", "in_refund")
CUSTOMER_KINDS = ("out_invoice", "out_refund")
VENDOR_KINDS = ("in_invoice", "in_refund")
REFUND_KINDS = ("out_refund", "in_refund")
# draft -> posted -> partial -> paid; "credited" is a posted document settled by credit notes alone.
INVOICE_STATES = ("draft", "posted", "partial", "paid", "credited")
OPEN_STATES = ("posted", "partial")
TAX_SCOPES = ("sale", "purchase")


class Settings(Base):
    """Per company: the accounts and journals documents post to (seeded with the chart)."""

    __tablename__ = "accounting_settings"

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), primary_key=True)
    receivable_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    payable_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    income_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    expense_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    sales_journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journal.id"))
    purchase_journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journal.id"))
    default_payment_term_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_payment_term.id"))

    receivable_account: Mapped[Account] = relationship(foreign_keys=[receivable_account_id])
    payable_account: Mapped[Account] = relationship(foreign_keys=[payable_account_id])


class BankJournal(IdMixin, CompanyMixin, Base):
    """A bank or cash journal and the ledger account its money sits in."""

    __tablename__ = "accounting_bank_journal"
    __table_args__ = (UniqueConstraint("journal_id"),)

    journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journal.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    kind: Mapped[str] = mapped_column(String(10), default="bank")  # bank | cash

    journal: Mapped[Journal] = relationship(lazy="joined")
    account: Mapped[Account] = relationship(lazy="joined")


class PaymentTerm(IdMixin, CompanyMixin, Base):
    """Net days after the invoice date, e.g. "30 days"."""

    __tablename__ = "accounting_payment_term"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    days: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Tax(IdMixin, CompanyMixin, TimestampMixin, Base):
    """A tax rate in percent, included in or added to prices, posted to ``account``."""

    __tablename__ = "accounting_tax"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Money(scale=4))
    price_include: Mapped[bool] = mapped_column(Boolean, default=False)
    scope: Mapped[str] = mapped_column(String(10), default="sale")
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    account: Mapped[Account] = relationship(lazy="joined")


class Invoice(IdMixin, CompanyMixin, CustomFieldsMixin, TimestampMixin, Base):
    """A customer invoice, vendor bill or credit note (see the module docstring)."""

    __tablename__ = "accounting_invoice"
    __table_args__ = (
        UniqueConstraint("company_id", "kind", "number"),
        # Aged receivables/payables read open documents by kind and due date.
        Index("ix_accounting_invoice_open", "company_id", "kind", "state", "due_date"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str | None] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    due_date: Mapped[dt.date] = mapped_column(Date)
    payment_term_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_payment_term.id"))
    reference: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    untaxed_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    tax_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    residual: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    refund_of_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_invoice.id"), index=True)
    origin: Mapped[str | None] = mapped_column(String(100), index=True)  # e.g. "crm.deal:12"
    posted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    contact: Mapped[Contact] = relationship(lazy="joined")
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.sequence"
    )
    entry: Mapped[JournalEntry | None] = relationship()
    payment_term: Mapped[PaymentTerm | None] = relationship()
    refund_of: Mapped[Invoice | None] = relationship(remote_side="Invoice.id")

    @property
    def is_customer(self) -> bool:
        return self.kind in CUSTOMER_KINDS

    @property
    def is_refund(self) -> bool:
        return self.kind in REFUND_KINDS

    @property
    def paid_amount(self) -> Decimal:
        return self.total - self.residual

    @property
    def display_number(self) -> str:
        return self.number or f"Draft #{self.id}"


class InvoiceLine(IdMixin, Base):
    """One line: ``subtotal`` is untaxed, ``total`` includes tax, both rounded to cents."""

    __tablename__ = "accounting_invoice_line"

    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("accounting_invoice.id", ondelete="CASCADE"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Money(scale=4))
    unit_price: Mapped[Decimal] = mapped_column(Money(scale=4))
    tax_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_tax.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_account.id"))
    subtotal: Mapped[Decimal] = mapped_column(Money())
    tax_amount: Mapped[Decimal] = mapped_column(Money())
    total: Mapped[Decimal] = mapped_column(Money())

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    tax: Mapped[Tax | None] = relationship(lazy="joined")
    account: Mapped[Account] = relationship(lazy="joined")


class Payment(IdMixin, CompanyMixin, TimestampMixin, Base):
    """Money received (``inbound``) or paid (``outbound``) through a bank or cash journal."""

    __tablename__ = "accounting_payment"

    partner_type: Mapped[str] = mapped_column(String(10))  # customer | vendor
    direction: Mapped[str] = mapped_column(String(10))  # inbound | outbound
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    bank_journal_id: Mapped[int] = mapped_column(ForeignKey("accounting_bank_journal.id"))
    reference: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(20), default="posted")  # posted | cancelled
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    contact: Mapped[Contact] = relationship(lazy="joined")
    bank_journal: Mapped[BankJournal] = relationship(lazy="joined")
    entry: Mapped[JournalEntry | None] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(
        back_populates="payment", foreign_keys="Allocation.payment_id"
    )

    @property
    def allocated(self) -> Decimal:
        return sum((a.amount for a in self.allocations), Decimal("0.00"))

    @property
    def unallocated(self) -> Decimal:
        return self.amount - self.allocated if self.state == "posted" else Decimal("0.00")


class Allocation(IdMixin, CompanyMixin, Base):
    """Part of a payment or a credit note settling an invoice; removing it unreconciles."""

    __tablename__ = "accounting_allocation"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("accounting_invoice.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_payment.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_invoice.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())

    invoice: Mapped[Invoice] = relationship(foreign_keys=[invoice_id])
    payment: Mapped[Payment | None] = relationship(back_populates="allocations", foreign_keys=[payment_id])
    credit_note: Mapped[Invoice | None] = relationship(foreign_keys=[credit_note_id])


class Statement(IdMixin, CompanyMixin, TimestampMixin, Base):
    """An imported bank statement: its lines wait to be matched or booked."""

    __tablename__ = "accounting_statement"

    bank_journal_id: Mapped[int] = mapped_column(ForeignKey("accounting_bank_journal.id"))
    name: Mapped[str] = mapped_column(String(200))
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    bank_journal: Mapped[BankJournal] = relationship(lazy="joined")
    lines: Mapped[list[StatementLine]] = relationship(
        back_populates="statement", cascade="all, delete-orphan", order_by="StatementLine.id"
    )


class StatementLine(IdMixin, CompanyMixin, Base):
    """One bank line: positive amounts came in, negative went out."""

    __tablename__ = "accounting_statement_line"

    statement_id: Mapped[int] = mapped_column(
        ForeignKey("accounting_statement.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(500))
    amount: Mapped[Decimal] = mapped_column(Money())
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | matched | booked
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("accounting_payment.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))

    statement: Mapped[Statement] = relationship(back_populates="lines")


__all__ = [
    "Allocation",
    "BankJournal",
    "Invoice",
    "InvoiceLine",
    "Payment",
    "PaymentTerm",
    "Settings",
    "Statement",
    "StatementLine",
    "Tax",
]
