"""Enabling compliance: the officer role and the example rules (inactive), and its menu."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.models import Role
from plugins.compliance.models import SodRule

pytestmark = pytest.mark.plugins("compliance", "accounting", "hr")


def test_enabling_adds_the_roles_and_inactive_example_rules(session):
    roles = {r.name: r for r in session.scalars(select(Role))}
    assert "compliance.sod.manage" in roles["Compliance officer"].permission_codes
    assert "ledger.period.lock" in roles["Compliance officer"].permission_codes
    rules = {r.name: r for r in session.scalars(select(SodRule))}
    assert {"Invoices: the author does not post", "Payroll: who computed the run does not confirm it"} <= set(
        rules
    )
    assert not any(rule.active for rule in rules.values())


def test_enabling_again_adds_nothing_twice(ext, session):
    from plugins.compliance.services.setup import install_defaults

    before = session.scalar(select(func.count()).select_from(SodRule))
    assert install_defaults(session) == []
    session.commit()
    assert session.scalar(select(func.count()).select_from(SodRule)) == before
