"""Setting up an instance: migrate, first company, admin, demo data (``init``, ``quickstart``)."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import migrate
from core.models import Account, Contact, User, UserCompany
from core.permissions import ADMIN_ROLE
from core.services import companies, contacts, ledger
from core.services import users as user_service

QUICKSTART_ADMIN = "admin@example.com"

DEMO_ACCOUNTS = [
    ("1000", "Cash", "asset"),
    ("1100", "Bank", "asset"),
    ("1200", "Accounts receivable", "asset"),
    ("2000", "Accounts payable", "liability"),
    ("2100", "Sales tax payable", "liability"),
    ("3000", "Owner's equity", "equity"),
    ("4000", "Sales", "income"),
    ("5000", "Cost of goods sold", "expense"),
    ("6000", "Rent", "expense"),
    ("6100", "Office supplies", "expense"),
]

DEMO_CONTACTS = [
    {
        "kind": "organization",
        "name": "Acme Corporation",
        "email": "billing@acme.example",
        "city": "Springfield",
        "country": "US",
        "tags": ["customer"],
    },
    {
        "kind": "organization",
        "name": "Globex Ltd",
        "email": "ap@globex.example",
        "city": "London",
        "country": "GB",
        "tags": ["customer"],
    },
    {
        "kind": "organization",
        "name": "Initech Supplies",
        "email": "sales@initech.example",
        "city": "Austin",
        "country": "US",
        "tags": ["supplier"],
    },
    {
        "kind": "organization",
        "name": "Umbrella Properties",
        "email": "rent@umbrella.example",
        "city": "Raccoon City",
        "country": "US",
        "tags": ["supplier"],
    },
    {
        "kind": "person",
        "name": "Ada Lovelace",
        "email": "ada@acme.example",
        "phone": "+1 555 0100",
        "tags": ["customer", "vip"],
    },
    {"kind": "person", "name": "Grace Hopper", "email": "grace@globex.example", "phone": "+44 20 7946 0000"},
    {"kind": "person", "name": "Alan Turing", "email": "alan@initech.example"},
    {"kind": "person", "name": "Katherine Johnson", "email": "katherine@example.org", "tags": ["lead"]},
]


def initialise(
    ext: Any,
    *,
    company_name: str,
    currency: str = "USD",
    admin_email: str | None = None,
    admin_password: str | None = None,
    demo: bool = False,
) -> list[str]:
    """Create or migrate the database and its first company; idempotent. Returns a report."""
    report: list[str] = []
    ext.refresh_plugins()
    targets = migrate.upgrade_all(ext.db, ext.plugins)
    report.append(
        f"database {ext.db.url.render_as_string(hide_password=True)} at head ({len(targets)} branches)"
    )
    with ext.db.transaction() as session:
        company = companies.first_company(session)
        if company is None:
            company = companies.create_company(session, name=company_name, base_currency=currency)
            report.append(f"created company {company.name} ({company.base_currency})")
        user_service.ensure_admin_role(session)
        if admin_email:
            if user_service.get_user_by_email(session, admin_email) is None:
                user = user_service.create_user(
                    session,
                    email=admin_email,
                    password=admin_password,
                    name="Administrator",
                    roles=[ADMIN_ROLE],
                    company_ids=[company.id],
                )
                report.append(f"created administrator {user.email}")
            else:
                report.append(f"administrator {admin_email.lower()} exists")
        if demo and add_demo_data(session):
            report.append("added demo contacts, accounts and journal entries")
    ext.refresh_plugins()
    return report


def ensure_quickstart_admin(ext: Any) -> str | None:
    """Create the quickstart administrator; returns its new password, or None if it exists."""
    with ext.db.transaction() as session:
        if user_service.get_user_by_email(session, QUICKSTART_ADMIN) is not None:
            return None
        password = secrets.token_urlsafe(12)
        company = companies.first_company(session)
        user_service.create_user(
            session,
            email=QUICKSTART_ADMIN,
            password=password,
            name="Administrator",
            roles=[ADMIN_ROLE],
            company_ids=[company.id],
        )
        return password


def add_demo_data(session: Session) -> bool:
    """Sample accounts, a journal, contacts and posted entries; skipped if contacts exist."""
    if session.scalar(select(func.count()).select_from(Contact)):
        return False
    existing = set(session.scalars(select(Account.code)))
    for code, name, type_ in DEMO_ACCOUNTS:
        if code not in existing:
            ledger.create_account(session, code=code, name=name, type=type_)
    journals = {j.code for j in ledger.list_journals(session)}
    if "GJ" not in journals:
        ledger.create_journal(session, code="GJ", name="General journal")
    ids = [contacts.create_contact(session, **data).id for data in DEMO_CONTACTS]
    acme, globex, initech, umbrella = ids[:4]
    today = dt.date.today()
    start = today.replace(day=1)
    entries = [
        ("Owner's investment", "1100", "3000", "50000.00", None, 0),
        ("Invoice to Acme", "1200", "4000", "12500.00", acme, 2),
        ("Invoice to Globex", "1200", "4000", "8300.50", globex, 4),
        ("Supplies from Initech", "6100", "2000", "1240.75", initech, 5),
        ("Rent", "6000", "1100", "3200.00", umbrella, 6),
        ("Acme pays", "1100", "1200", "12500.00", acme, 8),
    ]
    ledger.post_entries(
        session,
        [
            {
                "journal": "GJ",
                "date": start + dt.timedelta(days=offset),
                "memo": memo,
                "lines": [
                    {"account": debit, "debit": Decimal(amount), "contact_id": contact},
                    {"account": credit, "credit": Decimal(amount), "contact_id": contact},
                ],
            }
            for memo, debit, credit, amount, contact, offset in entries
        ],
    )
    return True


def grant_company_access(session: Session, user: User, company_id: int) -> None:
    if session.get(UserCompany, (user.id, company_id)) is None:
        session.add(UserCompany(user_id=user.id, company_id=company_id))
