"""The organisation's rules, straight on the services: contracts that never overlap and sit inside the
employment, wages above zero and hidden from those without payroll access, department trees without
loops, unique names, and what payroll reads (the contract running on a day, the contracts of a month).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.context import set_actor, set_company
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.models import User
from core.services import companies
from core.testing import make_user
from plugins.hr.models import Contract, Department, Employee, PayrollRun, Payslip, Position
from plugins.hr.services import contracts, employees, org

pytestmark = pytest.mark.plugins("hr")

TODAY = dt.date.today()


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def refused(call, *args, **kwargs) -> dict[str, list[str]]:
    """The field messages of the ValidationError ``call`` raises."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value.fields


def contract(session, employee, **data) -> Contract:
    body = {"kind": "permanent", "start_date": "2025-01-06", "wage": "4200.00", **data}
    made = contracts.create_contract(session, employee, body)
    session.commit()
    return made


@pytest.fixture
def eve(make_employee) -> Employee:
    """Hired on 2025-01-06."""
    return make_employee(name="Eve Employee", hire_date="2025-01-06")


# --- contracts --------------------------------------------------------------------------------------


def test_an_overlapping_contract_is_refused_naming_the_other_and_nothing_is_stored(session, eve):
    contract(session, eve, kind="fixed_term", start_date="2025-01-06", end_date="2025-06-30")
    fields = refused(
        contracts.create_contract,
        session,
        eve,
        {"start_date": "2025-06-30", "wage": "4500.00"},
    )
    assert fields == {"start_date": ["overlaps the fixed-term contract from 2025-01-06 to 2025-06-30"]}
    session.rollback()
    assert count(session, Contract) == 1

    # The day after is free; an open-ended contract then blocks everything after it.
    contract(session, eve, start_date="2025-07-01", wage="4500.00")
    fields = refused(
        contracts.create_contract,
        session,
        eve,
        {"kind": "fixed_term", "start_date": "2031-01-01", "end_date": "2031-12-31", "wage": "1.00"},
    )
    assert fields == {"start_date": ["overlaps the permanent contract from 2025-07-01 (open-ended)"]}
    session.rollback()
    # A contract starting before an open-ended one and running into it overlaps it too.
    fields = refused(
        contracts.create_contract,
        session,
        eve,
        {"kind": "fixed_term", "start_date": "2025-03-01", "end_date": "2025-03-31", "wage": "1.00"},
    )
    assert fields["start_date"] == ["overlaps the fixed-term contract from 2025-01-06 to 2025-06-30"]
    session.rollback()
    assert [(c.start_date, c.end_date) for c in session.scalars(select(Contract).order_by(Contract.id))] == [
        (dt.date(2025, 1, 6), dt.date(2025, 6, 30)),
        (dt.date(2025, 7, 1), None),
    ]


def test_contracts_of_different_employees_do_not_collide(session, eve, make_employee):
    bob = make_employee(name="Bob", hire_date="2025-01-06")
    contract(session, eve)
    contract(session, bob)
    assert count(session, Contract) == 2


def test_a_contract_cannot_end_before_it_starts(session, eve):
    fields = refused(
        contracts.create_contract,
        session,
        eve,
        {"start_date": "2025-03-01", "end_date": "2025-02-28", "wage": "4200.00"},
    )
    assert fields == {"end_date": ["is before the start date: a contract cannot end before it starts"]}
    session.rollback()
    assert count(session, Contract) == 0


@pytest.mark.parametrize(
    ("wage", "message"),
    [
        ("-100.00", "must be greater than zero"),
        ("0", "must be greater than zero"),
        ("abc", "must be a decimal number"),
        ("10.005", "has more than 2 decimals"),
        ("1e999", "is out of range"),
        ("", "is required"),
        (1.5, 'must be a decimal number (send it as a string, e.g. "10.50")'),
    ],
)
def test_a_wage_must_be_a_positive_amount(session, eve, wage, message):
    fields = refused(contracts.create_contract, session, eve, {"start_date": "2025-01-06", "wage": wage})
    assert fields == {"wage": [message]}
    session.rollback()
    assert count(session, Contract) == 0


def test_every_bad_field_of_a_contract_is_reported_at_once(session, eve):
    fields = refused(
        contracts.create_contract,
        session,
        eve,
        {
            "kind": "freelance",
            "start_date": "someday",
            "wage": "-1",
            "wage_period": "week",
            "hours_per_week": "169",
            "notes": "x" * 10_001,
        },
    )
    assert fields == {
        "kind": ["must be one of permanent, fixed_term, contractor"],
        "start_date": ["must be a date (YYYY-MM-DD)"],
        "wage": ["must be greater than zero"],
        "wage_period": ["must be one of month, hour"],
        "hours_per_week": ["must be at most 168 (the hours of a week)"],
        "notes": ["must be at most 10000 characters"],
    }


def test_hours_a_week_are_more_than_zero_and_at_most_a_week(session, eve):
    for hours, message in (("0", "must be greater than zero"), ("-5", "must be greater than zero")):
        assert refused(
            contracts.create_contract,
            session,
            eve,
            {"start_date": "2025-01-06", "wage": "20.00", "wage_period": "hour", "hours_per_week": hours},
        ) == {"hours_per_week": [message]}
        session.rollback()
    made = contract(session, eve, wage="20.50", wage_period="hour", hours_per_week="168")
    assert (made.wage, made.wage_period, made.hours_per_week) == (Decimal("20.50"), "hour", Decimal("168.00"))


def test_a_fixed_term_contract_needs_an_end_date(session, eve):
    fields = refused(
        contracts.create_contract,
        session,
        eve,
        {"kind": "fixed_term", "start_date": "2025-01-06", "wage": "1"},
    )
    assert fields == {"end_date": ["a fixed-term contract needs an end date"]}


def test_a_contract_lies_inside_the_employment(session, eve):
    fields = refused(contracts.create_contract, session, eve, {"start_date": "2025-01-05", "wage": "1"})
    assert fields == {"start_date": ["is before the hire date (2025-01-06)"]}
    session.rollback()
    employees.terminate_employee(session, eve, date="2025-12-31")
    session.commit()
    fields = refused(contracts.create_contract, session, eve, {"start_date": "2026-01-01", "wage": "1"})
    assert fields["start_date"] == ["is after the termination date (2025-12-31)"]
    session.rollback()
    fields = refused(contracts.create_contract, session, eve, {"start_date": "2025-06-01", "wage": "1"})
    assert fields == {"end_date": ["must end by the termination date (2025-12-31)"]}
    session.rollback()
    contract(session, eve, kind="fixed_term", start_date="2025-06-01", end_date="2025-12-31")


def test_updating_a_contract_keeps_the_rules_and_skips_itself(session, eve):
    first = contract(session, eve, kind="fixed_term", start_date="2025-01-06", end_date="2025-06-30")
    second = contract(session, eve, start_date="2025-07-01", wage="4500.00")
    # Moving its own dates inside itself is no overlap.
    contracts.update_contract(session, first, {"end_date": "2025-05-31", "wage": "4300.00"})
    session.commit()
    assert (first.end_date, first.wage) == (dt.date(2025, 5, 31), Decimal("4300.00"))
    fields = refused(contracts.update_contract, session, second, {"start_date": "2025-05-01"})
    assert fields == {"start_date": ["overlaps the fixed-term contract from 2025-01-06 to 2025-05-31"]}
    session.rollback()
    fields = refused(contracts.update_contract, session, second, {"kind": "fixed_term"})
    assert fields == {"end_date": ["a fixed-term contract needs an end date"]}
    session.rollback()
    fields = refused(contracts.update_contract, session, second, {"wage": "-4500.00"})
    assert fields == {"wage": ["must be greater than zero"]}
    session.rollback()
    stored = session.get(Contract, second.id)
    assert (stored.start_date, stored.kind, stored.wage) == (
        dt.date(2025, 7, 1),
        "permanent",
        Decimal("4500.00"),
    )


def test_ending_a_contract(session, eve):
    made = contract(session, eve)
    contracts.end_contract(session, made, "2025-09-30")
    session.commit()
    assert made.end_date == dt.date(2025, 9, 30)
    with pytest.raises(Conflict, match="already ends on 2025-09-30"):
        contracts.end_contract(session, made, "2025-10-31")
    assert refused(contracts.end_contract, session, made, "2024-12-31") == {
        "end_date": ["is before the start date: a contract cannot end before it starts"]
    }
    assert refused(contracts.end_contract, session, made, "not a date") == {
        "end_date": ["must be a date (YYYY-MM-DD)"]
    }


def test_only_a_contract_that_has_not_started_and_was_never_paid_can_be_deleted(session, eve):
    started = contract(session, eve, kind="fixed_term", start_date="2025-01-06", end_date="2025-12-31")
    with pytest.raises(Conflict, match="started on 2025-01-06: end it instead"):
        contracts.delete_contract(session, started)
    session.rollback()
    later = contract(session, eve, start_date="2026-01-01")
    run = PayrollRun(company_id=eve.company_id, year=2026, month=1, payment_date=dt.date(2026, 1, 31))
    session.add(run)
    session.flush()
    session.add(Payslip(company_id=eve.company_id, run_id=run.id, employee_id=eve.id, contract_id=later.id))
    session.commit()
    with pytest.raises(Conflict, match="payslips were computed on this contract"):
        contracts.delete_contract(session, later, today=dt.date(2025, 12, 1))
    session.rollback()
    session.execute(Payslip.__table__.delete())
    session.commit()
    contracts.delete_contract(session, later, today=dt.date(2025, 12, 1))
    session.commit()
    assert [c.id for c in session.scalars(select(Contract))] == [started.id]


def test_the_running_contract_and_the_contracts_of_a_month(session, eve, make_employee):
    first = contract(session, eve, kind="fixed_term", start_date="2025-01-06", end_date="2025-03-15")
    second = contract(session, eve, start_date="2025-03-16", wage="4600.00")
    assert contracts.active_contract(session, eve, dt.date(2025, 1, 5)) is None
    assert contracts.active_contract(session, eve, dt.date(2025, 3, 15)).id == first.id
    assert contracts.active_contract(session, eve, dt.date(2025, 3, 16)).id == second.id
    assert contracts.active_contract(session, eve, dt.date(2040, 1, 1)).id == second.id

    gone = make_employee(name="Gone Early", hire_date="2025-01-06", number="EMP-90000")
    contract(session, gone, start_date="2025-01-06")
    employees.terminate_employee(session, gone, date="2025-02-28")
    session.commit()
    assert [c.id for c in contracts.contracts_for_month(session, 2025, 2)] == [first.id, *_ids(session, gone)]
    assert [c.id for c in contracts.contracts_for_month(session, 2025, 3)] == [first.id, second.id]
    assert [c.id for c in contracts.contracts_for_month(session, 2025, 4)] == [second.id]
    assert contracts.contracts_for_month(session, 2024, 12) == []


def _ids(session, employee) -> list[int]:
    return [c.id for c in session.scalars(select(Contract).where(Contract.employee_id == employee.id))]


def test_terminating_ends_the_running_contract_and_drops_the_future_one(session, eve):
    running = contract(session, eve, start_date="2025-01-06")
    employees.terminate_employee(session, eve, date="2025-08-31", reason="moved abroad")
    session.commit()
    assert running.end_date == dt.date(2025, 8, 31)
    assert (eve.status, eve.termination_date) == ("terminated", dt.date(2025, 8, 31))
    assert contracts.active_contract(session, eve, dt.date(2025, 9, 1)) is None


# --- who sees a wage ----------------------------------------------------------------------------------


def test_a_wage_is_seen_with_payroll_access_or_by_the_employee_only(ext, session, people):
    viewer = make_user(ext, "viewer@example.com", permissions=("hr.view",))
    payroll = make_user(ext, "payroll@example.com", permissions=("hr.view", "hr.payroll.view"))
    eve = session.get(Employee, people["eve"])
    made = contract(session, eve)
    for user_id, sees in (
        (viewer, False),
        (payroll, True),
        (people["eve_user"], True),
        (people["mary_user"], False),
    ):
        set_actor(session, session.get(User, user_id))
        assert contracts.wage_of(session, made) == (Decimal("4200.00") if sees else None), user_id
        assert contracts.can_see_wage(session, eve) is sees
    # Mary (no hr.view) does not even see that Eve has contracts.
    with pytest.raises(NotFound):
        contracts.get_contract(session, made.id)
    set_actor(session, session.get(User, people["eve_user"]))
    assert [c.id for c in contracts.contracts_of(session, eve)] == [made.id]


def test_writing_contracts_and_the_organisation_needs_the_manage_permission(ext, session, people):
    viewer = make_user(ext, "viewer@example.com", permissions=("hr.view", "hr.payroll.view"))
    eve = session.get(Employee, people["eve"])
    engineering = session.get(Department, people["engineering"])
    set_actor(session, session.get(User, viewer))
    with pytest.raises(PermissionDenied, match="hr.employee.manage"):
        contracts.create_contract(session, eve, {"start_date": "2025-01-06", "wage": "1"})
    with pytest.raises(PermissionDenied, match="hr.employee.manage"):
        org.create_department(session, {"name": "Sales"})
    with pytest.raises(PermissionDenied, match="hr.employee.manage"):
        org.update_department(session, engineering, {"name": "Eng"})
    with pytest.raises(PermissionDenied, match="hr.employee.manage"):
        org.create_position(session, {"name": "Developer"})
    assert [d.name for d in org.list_departments(session)] == ["Engineering"]


# --- departments ----------------------------------------------------------------------------------


def test_department_names_are_unique_in_the_company_whatever_the_case(session, engineering):
    assert refused(org.create_department, session, {"name": "ENGINEERING"}) == {
        "name": ["another department has this name"]
    }
    session.rollback()
    sales = org.create_department(session, {"name": "Sales"})
    session.commit()
    assert refused(org.update_department, session, sales, {"name": "engineering"}) == {
        "name": ["another department has this name"]
    }
    session.rollback()
    org.update_department(session, engineering, {"name": "Engineering & Research"})
    session.commit()
    assert refused(org.create_department, session, {"name": "  "}) == {"name": ["is required"]}
    assert refused(org.create_department, session, {"name": "x" * 101}) == {
        "name": ["must be at most 100 characters"]
    }


def test_a_department_tree_cannot_loop(session, engineering):
    platform = org.create_department(session, {"name": "Platform", "parent_id": engineering.id})
    storage = org.create_department(session, {"name": "Storage", "parent_id": platform.id})
    session.commit()
    assert refused(org.update_department, session, engineering, {"parent_id": storage.id}) == {
        "parent_id": ["would make a loop: that department is below this one"]
    }
    session.rollback()
    assert refused(org.update_department, session, engineering, {"parent_id": str(engineering.id)}) == {
        "parent_id": ["a department cannot be its own parent"]
    }
    session.rollback()
    assert refused(org.update_department, session, platform, {"parent_id": "999999999999999999999"}) == {
        "parent_id": ["no such department"]
    }
    session.rollback()
    assert session.get(Department, engineering.id).parent_id is None
    # Moving a branch elsewhere is fine.
    org.update_department(session, storage, {"parent_id": engineering.id})
    session.commit()
    tree = org.department_tree(session)
    assert [(n.department.name, n.depth) for n in org.flatten(tree)] == [
        ("Engineering", 0),
        ("Platform", 1),
        ("Storage", 1),
    ]


def test_employee_managers_cannot_loop(session, people, make_employee):
    mary = session.get(Employee, people["mary"])
    eve = session.get(Employee, people["eve"])
    intern = make_employee(name="Ivy Intern", manager_id=eve.id)
    assert refused(employees.update_employee, session, mary, {"manager_id": intern.id}) == {
        "manager_id": ["would make a loop: this employee is above that manager"]
    }
    session.rollback()
    assert refused(employees.update_employee, session, eve, {"manager_id": eve.id}) == {
        "manager_id": ["an employee cannot be their own manager"]
    }
    session.rollback()
    assert session.get(Employee, people["mary"]).manager_id is None


def test_a_department_manager_is_a_current_employee_of_the_company(
    session, engineering, people, make_employee
):
    assert refused(org.update_department, session, engineering, {"manager_id": 987654}) == {
        "manager_id": ["no such employee"]
    }
    session.rollback()
    leaver = make_employee(name="Lee Leaver")
    employees.terminate_employee(session, leaver, date="2025-03-31")
    session.commit()
    assert refused(org.update_department, session, engineering, {"manager_id": leaver.id}) == {
        "manager_id": ["that employee has left the company"]
    }
    session.rollback()
    org.update_department(session, engineering, {"manager_id": people["mary"]})
    session.commit()
    (node,) = org.department_tree(session)
    assert (node.manager.name, node.headcount) == ("Mary Manager", 2)


def test_a_department_with_people_or_active_sub_departments_is_not_retired(session, people, engineering):
    platform = org.create_department(session, {"name": "Platform", "parent_id": engineering.id})
    session.commit()
    with pytest.raises(Conflict, match="2 employee"):
        org.deactivate_department(session, engineering)
    session.rollback()
    for key in ("mary", "eve"):
        employees.update_employee(session, session.get(Employee, people[key]), {"department_id": platform.id})
    session.commit()
    with pytest.raises(Conflict, match="1 active sub-department"):
        org.deactivate_department(session, engineering)
    session.rollback()
    for key in ("mary", "eve"):
        employees.update_employee(session, session.get(Employee, people[key]), {"department_id": None})
    org.deactivate_department(session, platform)
    org.deactivate_department(session, engineering)
    session.commit()
    assert org.list_departments(session) == []
    assert [d.name for d in org.list_departments(session, include_inactive=True)] == [
        "Engineering",
        "Platform",
    ]
    # Nobody is placed in, or under, a retired department.
    assert refused(org.create_department, session, {"name": "QA", "parent_id": engineering.id}) == {
        "parent_id": ["that department is inactive"]
    }
    session.rollback()
    with pytest.raises(Conflict, match="parent Engineering is inactive"):
        org.reactivate_department(session, platform)
    session.rollback()
    org.reactivate_department(session, engineering)
    session.commit()
    assert [d.name for d in org.list_departments(session)] == ["Engineering"]


def test_the_tree_counts_current_employees(session, people, engineering, make_employee):
    platform = org.create_department(session, {"name": "Platform", "parent_id": engineering.id})
    session.commit()
    make_employee(name="Pat", department_id=platform.id)
    leaver = make_employee(name="Lee", department_id=platform.id)
    employees.terminate_employee(session, leaver, date="2025-02-01")
    session.commit()
    (root,) = org.department_tree(session)
    assert (root.department.name, root.headcount, root.total) == ("Engineering", 2, 3)
    assert [(c.department.name, c.headcount) for c in root.children] == [("Platform", 1)]


# --- positions ----------------------------------------------------------------------------------------


def test_positions_have_unique_names_and_a_department_of_the_company(session, engineering):
    developer = org.create_position(
        session, {"name": "Developer", "department_id": engineering.id, "description": "Writes code"}
    )
    session.commit()
    assert refused(org.create_position, session, {"name": "developer"}) == {
        "name": ["another position has this name"]
    }
    session.rollback()
    assert refused(org.update_position, session, developer, {"department_id": "abc"}) == {
        "department_id": ["no such department"]
    }
    session.rollback()
    org.update_position(session, developer, {"name": "Software developer", "department_id": None})
    session.commit()
    assert (developer.name, developer.department_id) == ("Software developer", None)
    assert [p.name for p in org.list_positions(session)] == ["Software developer"]


# --- another company ------------------------------------------------------------------------------


def test_another_companys_records_are_not_found(ext, session, engineering, eve):
    session.commit()
    with ext.db.transaction() as tx:
        other = companies.create_company(tx, name="Other Ltd", base_currency="EUR")
        set_company(tx, other.id)
        theirs = org.create_department(tx, {"name": "Their department"})
        their_position = org.create_position(tx, {"name": "Their position"})
        stranger = employees.create_employee(tx, {"name": "Stranger", "hire_date": "2025-01-06"})
        their_contract = contracts.create_contract(tx, stranger, {"start_date": "2025-01-06", "wage": "1"})
        ids = (theirs.id, their_position.id, stranger.id, their_contract.id)
    department_id, position_id, stranger_id, contract_id = ids
    with pytest.raises(NotFound):
        org.get_department(session, department_id)
    with pytest.raises(NotFound):
        org.get_position(session, position_id)
    with pytest.raises(NotFound):
        employees.get_employee(session, stranger_id)
    with pytest.raises(NotFound):
        contracts.get_contract(session, contract_id)
    assert refused(org.update_department, session, engineering, {"manager_id": stranger_id}) == {
        "manager_id": ["no such employee"]
    }
    session.rollback()
    assert refused(org.create_department, session, {"name": "Mine", "parent_id": department_id}) == {
        "parent_id": ["no such department"]
    }
    session.rollback()
    # The same name in another company is no clash.
    org.create_department(session, {"name": "Their department"})
    session.commit()
    assert [p.name for p in org.list_positions(session)] == []
    assert count(session, Position) == 1
