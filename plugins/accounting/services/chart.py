"""The default chart of accounts, journals, taxes and payment terms, and chart management."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    Account,
    Journal,
    JournalLine,
    company_id_of,
    granting,
    ledger,
    require_permission,
    users,
)

from ..models import BankJournal, PaymentTerm, Settings, Tax

# A generic small-business template: (code, name, type, parent code). Codes already in the
# ledger are left as they are, so enabling twice, or after the demo data, changes nothing.
CHART_TEMPLATE: list[tuple[str, str, str, str | None]] = [
    ("1000", "Cash", "asset", None),
    ("1100", "Bank", "asset", None),
    ("1200", "Accounts receivable", "asset", None),
    ("1300", "VAT / sales tax receivable", "asset", None),
    ("1400", "Prepaid expenses", "asset", None),
    ("1500", "Equipment", "asset", None),
    ("2000", "Accounts payable", "liability", None),
    ("2100", "VAT / sales tax payable", "liability", None),
    ("2200", "Accrued liabilities", "liability", None),
    ("2500", "Loans", "liability", None),
    ("3000", "Owner's equity", "equity", None),
    ("3900", "Retained earnings", "equity", None),
    ("4000", "Sales", "income", None),
    ("4100", "Services", "income", None),
    ("4900", "Other income", "income", None),
    ("5", "Cost of sales", "expense", None),
    ("5000", "Cost of goods sold", "expense", "5"),
    ("6", "Operating expenses", "expense", None),
    ("6000", "Rent", "expense", "6"),
    ("6100", "Office supplies", "expense", "6"),
    ("6200", "Salaries and wages", "expense", "6"),
    ("6300", "Utilities", "expense", "6"),
    ("6400", "Marketing", "expense", "6"),
    ("6500", "Travel", "expense", "6"),
    ("6600", "Professional fees", "expense", "6"),
    ("6700", "Bank charges", "expense", "6"),
    ("6800", "Depreciation", "expense", "6"),
]
JOURNALS = [
    ("SAL", "Sales", "SAL"),
    ("PUR", "Purchases", "PUR"),
    ("BNK", "Bank", "BNK"),
    ("CSH", "Cash", "CSH"),
    ("GJ", "General journal", "GJ"),
]
BANK_JOURNALS = [("BNK", "1100", "bank"), ("CSH", "1000", "cash")]
PAYMENT_TERMS = [("Immediate", 0), ("15 days", 15), ("30 days", 30), ("60 days", 60)]
TAXES = [
    ("Sales tax 20%", Decimal("20"), False, "sale", "2100"),
    ("Purchase tax 20%", Decimal("20"), False, "purchase", "1300"),
]
ACCOUNTANT_ROLE = "Accountant"


def install_chart(session: Session) -> list[str]:
    """Create what is missing of the default chart, journals, terms, taxes and settings.

    Idempotent: existing accounts, journals, taxes and settings are kept. Returns
    what was created, for the CLI.
    """
    created: list[str] = []
    company_id = company_id_of(session)
    with granting(session, "ledger.account.manage", "ledger.view"):
        accounts = {
            a.code: a for a in session.scalars(select(Account).where(Account.company_id == company_id))
        }
        for code, name, type_, parent in CHART_TEMPLATE:
            if code not in accounts:
                accounts[code] = ledger.create_account(
                    session, code=code, name=name, type=type_, parent=parent if parent in accounts else None
                )
                created.append(f"account {code}")
        journals = {
            j.code: j for j in session.scalars(select(Journal).where(Journal.company_id == company_id))
        }
        for code, name, prefix in JOURNALS:
            if code not in journals:
                journals[code] = ledger.create_journal(session, code=code, name=name, prefix=prefix)
                created.append(f"journal {code}")
    known_banks = set(
        session.scalars(select(BankJournal.journal_id).where(BankJournal.company_id == company_id))
    )
    for journal_code, account_code, kind in BANK_JOURNALS:
        if journals[journal_code].id not in known_banks:
            session.add(
                BankJournal(
                    company_id=company_id,
                    journal_id=journals[journal_code].id,
                    account_id=accounts[account_code].id,
                    kind=kind,
                )
            )
    terms = {
        t.name: t for t in session.scalars(select(PaymentTerm).where(PaymentTerm.company_id == company_id))
    }
    for name, days in PAYMENT_TERMS:
        if name not in terms:
            terms[name] = PaymentTerm(company_id=company_id, name=name, days=days)
            session.add(terms[name])
    if not session.scalar(select(func.count()).select_from(Tax).where(Tax.company_id == company_id)):
        for name, rate, included, scope, account_code in TAXES:
            session.add(
                Tax(
                    company_id=company_id,
                    name=name,
                    rate=rate,
                    price_include=included,
                    scope=scope,
                    account_id=accounts[account_code].id,
                )
            )
            created.append(f"tax {name}")
    session.flush()
    if session.get(Settings, company_id) is None:
        session.add(
            Settings(
                company_id=company_id,
                receivable_account_id=accounts["1200"].id,
                payable_account_id=accounts["2000"].id,
                income_account_id=accounts["4000"].id,
                expense_account_id=accounts["6100"].id,
                sales_journal_id=journals["SAL"].id,
                purchase_journal_id=journals["PUR"].id,
                default_payment_term_id=terms["30 days"].id,
            )
        )
        created.append("settings")
    session.flush()
    return created


def install_role(session: Session) -> None:
    """An "Accountant" role with every accounting permission, the ledger and contacts (once)."""
    from ..hooks import PERMISSIONS

    codes = [code for code, _label in PERMISSIONS] + [
        "ledger.view",
        "ledger.entry.create",
        "ledger.entry.post",
        "ledger.entry.reverse",
        "contacts.view",
        "contacts.create",
        "contacts.edit",
    ]
    users.ensure_role(
        session, name=ACCOUNTANT_ROLE, permissions=codes, description="Day-to-day bookkeeping and reports"
    )


# --- the chart as a tree -----------------------------------------------------------------------------


@dataclass
class AccountNode:
    account: Account
    depth: int
    balance: Decimal
    has_postings: bool
    deletable: bool = False  # no postings, no sub-accounts, nothing of accounting's points at it


@require_permission("accounting.view")
def account_tree(session: Session) -> list[AccountNode]:
    """Every account of the company in tree order (parents before children), with its balance."""
    company_id = company_id_of(session)
    accounts = list(
        session.scalars(select(Account).where(Account.company_id == company_id).order_by(Account.code))
    )
    with granting(session, "ledger.view"):
        totals = {r.account_id: r for r in ledger.trial_balance(session).rows}
    used = set(
        session.scalars(select(JournalLine.account_id).where(JournalLine.company_id == company_id).distinct())
    )
    referenced = _referenced_accounts(session, company_id)
    children: dict[int | None, list[Account]] = {}
    ids = {a.id for a in accounts}
    for account in accounts:
        parent = account.parent_id if account.parent_id in ids else None
        children.setdefault(parent, []).append(account)
    nodes: list[AccountNode] = []

    def walk(parent: int | None, depth: int) -> None:
        for account in children.get(parent, []):
            row = totals.get(account.id)
            used_ = account.id in used
            deletable = not used_ and account.id not in referenced and not children.get(account.id)
            balance = row.balance if row else Decimal("0.00")
            nodes.append(AccountNode(account, depth, balance, used_, deletable))
            walk(account.id, depth + 1)

    walk(None, 0)
    return nodes


def _referenced_accounts(session: Session, company_id: int) -> set[int]:
    """Accounts that taxes, settings, bank journals or document lines point at."""
    from ..models import Invoice, InvoiceLine

    found: set[int] = set()
    found.update(session.scalars(select(Tax.account_id).where(Tax.company_id == company_id)))
    found.update(session.scalars(select(BankJournal.account_id).where(BankJournal.company_id == company_id)))
    settings = session.get(Settings, company_id)
    if settings is not None:
        found.update(
            (
                settings.receivable_account_id,
                settings.payable_account_id,
                settings.income_account_id,
                settings.expense_account_id,
            )
        )
    found.update(
        session.scalars(
            select(InvoiceLine.account_id)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.company_id == company_id)
            .distinct()
        )
    )
    return found
