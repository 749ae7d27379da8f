"""What compliance sets up when a company enables it: the officer role and example SoD rules."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.plugin_api import company_id_of, users

from ..models import SodRule

ROLES = [
    (
        "Compliance officer",
        "The audit trail, risks, controls, policies, segregation of duties, period locks and GDPR",
        [
            "compliance.view",
            "compliance.audit.view",
            "compliance.policy.manage",
            "compliance.risk.manage",
            "compliance.control.manage",
            "compliance.sod.manage",
            "compliance.gdpr",
            "ledger.view",
            "ledger.period.lock",
            "contacts.view",
        ],
    ),
    (
        "Risk owner",
        "Sees the register and controls; assesses risks and records control tests",
        ["compliance.view", "compliance.risk.manage", "compliance.control.manage"],
    ),
]
# Examples a company switches on (inactive until then: who may post what is the company's call).
EXAMPLE_RULES = [
    ("Journal entries: the author does not post", "create", "ledger.entry.post", None),
    ("Invoices: the author does not post", "create", "accounting.invoice.post", None),
    ("Vendor bills over 1,000: the author does not post", "create", "accounting.bill.post", Decimal("1000")),
    ("Payroll: who computed the run does not confirm it", "create", "hr.payroll.confirm", None),
]


def install_defaults(session: Session) -> list[str]:
    """Idempotent: the roles and the example rules, where missing.

    An example naming a department that is not enabled is harmless: it applies once it is.
    """
    created: list[str] = []
    for name, description, permissions in ROLES:
        users.ensure_role(session, name=name, permissions=permissions, description=description)
    company_id = company_id_of(session)
    names = set(session.scalars(select(SodRule.name).where(SodRule.company_id == company_id)))
    for name, first, second, min_amount in EXAMPLE_RULES:
        if name in names:
            continue
        session.add(
            SodRule(
                company_id=company_id,
                name=name,
                first_action=first,
                second_action=second,
                min_amount=min_amount,
                active=False,
            )
        )
        created.append(f"rule {name}")
    session.flush()
    return created
