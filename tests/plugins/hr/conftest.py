"""Shared fixtures of the HR tests; modules mark themselves ``pytest.mark.plugins("hr")``.

``people`` is a small company: Grace (HR manager's user), a manager Mary with a login,
and Eve (an employee with a login) reporting to Mary, in Engineering.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.plugin_api import company_id_of
from core.testing import make_user
from plugins.hr.models import Department, Employee
from plugins.hr.services import employees


@pytest.fixture
def make_employee(session) -> Callable[..., Employee]:
    """``make_employee(name="Eve", hire_date="2025-01-06", ...)`` (committed)."""

    def factory(**data: Any) -> Employee:
        employee = employees.create_employee(session, {"name": "Employee", "hire_date": "2025-01-06", **data})
        session.commit()
        return employee

    return factory


@pytest.fixture
def engineering(session) -> Department:
    department = Department(company_id=company_id_of(session), name="Engineering")
    session.add(department)
    session.commit()
    return department


@pytest.fixture
def people(ext, session, make_employee, engineering) -> dict[str, Any]:
    """Users and employees: ``mary`` manages ``eve``; ``hr`` is an HR manager with no employee file.

    Returns ids: ``mary``/``eve`` (employee ids), ``mary_user``/``eve_user``/``hr_user`` (user ids).
    """
    mary_user = make_user(ext, "mary@example.com")
    eve_user = make_user(ext, "eve@example.com")
    hr_user = make_user(ext, "grace@example.com", roles=("HR manager",))
    mary = make_employee(
        name="Mary Manager", email="mary@example.com", user_id=mary_user, department_id=engineering.id
    )
    eve = make_employee(
        name="Eve Employee",
        email="eve@example.com",
        user_id=eve_user,
        department_id=engineering.id,
        manager_id=mary.id,
    )
    return {
        "mary": mary.id,
        "eve": eve.id,
        "mary_user": mary_user,
        "eve_user": eve_user,
        "hr_user": hr_user,
        "engineering": engineering.id,
    }
