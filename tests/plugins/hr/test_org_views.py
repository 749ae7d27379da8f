"""The organisation through the browser, CSRF on: HR hires, edits, writes contracts and terminates;
an employee reads their own file and nobody else's; wages stay hidden from those without payroll
access; departments, positions, the org chart, the settings hub, the dashboard, contact page and search.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from core.context import set_company
from core.services import companies
from core.testing import login
from plugins.hr.models import Contract, Department, Employee, Position
from plugins.hr.services import contracts, employees, org
from tests.core.web_helpers import (
    count,
    csv_rows,
    field_error,
    flashes,
    next_page_link,
    page,
    redirect_path,
    submit,
    table_column,
    visible,
)

pytestmark = pytest.mark.plugins("hr")

HIRED = "2025-01-06"


@contextmanager
def reading(ext: Any) -> Iterator[Any]:
    """A read-only session: it never holds SQLite's write lock, so requests are not blocked."""
    with ext.db.session(read_only=True) as session:
        yield session


def client_for(app: Any, email: str) -> Any:
    client = app.test_client()
    assert login(client, email).status_code == 302
    return client


@pytest.fixture
def hr(app, people) -> Any:
    """Grace, the HR manager (every HR permission, no employee file)."""
    return client_for(app, "grace@example.com")


@pytest.fixture
def eve_client(app, people) -> Any:
    """Eve: an employee with a login and no HR permission."""
    return client_for(app, "eve@example.com")


def add_contract(session: Any, employee_id: int, **data: Any) -> int:
    body = {"kind": "permanent", "start_date": HIRED, "wage": "4200.00", **data}
    made = contracts.create_contract(session, session.get(Employee, employee_id), body)
    session.commit()
    return made.id


class Tree(HTMLParser):
    """The ``<li id="org-N">`` items of the org chart with the ids of the items they sit in."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parents: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li":
            item = dict(attrs).get("id")
            if item and item.startswith("org-"):
                self.parents[item] = [i for i in self.stack if i]
            self.stack.append(item)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self.stack:
            self.stack.pop()


def chart_parents(response: Any) -> dict[str, list[str]]:
    tree = Tree()
    tree.feed(page(response))
    return tree.parents


# --- hiring and the HR file -------------------------------------------------------------------------


def test_hr_hires_someone_and_reads_their_file(hr, ext, people):
    response = submit(
        hr,
        "/hr/employees/new",
        {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0000",
            "hire_date": "2025-02-03",
            "department_id": people["engineering"],
            "manager_id": people["mary"],
            "job_title": "Analyst",
        },
    )
    location = redirect_path(response)
    detail = hr.get(location)
    text = visible(detail)
    assert "Ada Lovelace is hired as EMP-00003." in flashes(detail)
    for expected in ("Ada Lovelace", "EMP-00003", "Engineering", "Mary Manager", "Analyst", "Feb 3, 2025"):
        assert expected in text
    assert "No contract yet." in text
    with reading(ext) as session:
        ada = session.scalars(select(Employee).where(Employee.number == "EMP-00003")).one()
        assert (ada.contact.email, ada.manager_id, ada.status) == (
            "ada@example.com",
            people["mary"],
            "active",
        )


def test_the_hiring_form_reports_every_bad_field_and_stores_nothing(hr, ext, people):
    before = count(ext, Employee)
    response = submit(
        hr,
        "/hr/employees/new",
        {
            "name": "",
            "hire_date": "2025-02-30",
            "department_id": "abc",
            "manager_id": "99999999999999999999999999",
            "position_id": "-1",
            "user_id": "²",
            "number": "EMP-00001",
        },
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "is required"
    assert field_error(response, "hire_date") == "must be a date (YYYY-MM-DD)"
    assert field_error(response, "department_id") == "no such department"
    assert field_error(response, "manager_id") == "no such employee"
    assert field_error(response, "position_id") == "no such position"
    assert field_error(response, "user_id") == "no such user"
    assert field_error(response, "number") == "another employee has this number"
    assert "The employee was not saved" in visible(response)
    assert count(ext, Employee) == before


def test_hr_edits_a_file_and_a_manager_loop_is_a_field_message(hr, ext, people):
    form = f"/hr/employees/{people['mary']}/edit"
    response = submit(hr, form, {"hire_date": HIRED, "manager_id": people["eve"], "job_title": "Lead"})
    assert response.status_code == 422
    assert field_error(response, "manager_id") == "would make a loop: this employee is above that manager"
    with reading(ext) as session:
        assert session.get(Employee, people["mary"]).job_title == ""
    response = submit(
        hr,
        form,
        {"hire_date": HIRED, "job_title": "Head of engineering", "status": "on_leave", "notes": "Sabbatical"},
    )
    assert redirect_path(response) == f"/hr/employees/{people['mary']}"
    with reading(ext) as session:
        mary = session.get(Employee, people["mary"])
        assert (mary.job_title, mary.status, mary.notes) == ("Head of engineering", "on_leave", "Sabbatical")
    response = submit(hr, form, {"hire_date": "", "status": "terminated"})
    assert response.status_code == 422
    assert field_error(response, "hire_date") == "required"
    assert field_error(response, "status").startswith("must be active or on_leave")


# --- the employee list ------------------------------------------------------------------------------


def test_the_list_searches_filters_sorts_and_exports(hr, ext, session, people, make_employee):
    sales = Department(company_id=session.get(Department, people["engineering"]).company_id, name="Sales")
    session.add(sales)
    session.commit()
    make_employee(name="Zed Seller", number="S-2", department_id=sales.id, job_title="Account executive")
    leaver = make_employee(name="Lee Leaver", number="S-1", department_id=sales.id)
    employees.terminate_employee(session, leaver, date="2025-06-30")
    session.commit()
    sales_id = sales.id
    session.close()

    listing = hr.get("/hr/employees")
    assert table_column(listing, 1) == ["Eve Employee", "Mary Manager", "Zed Seller"]
    assert "Lee Leaver" not in visible(listing)
    everyone = hr.get("/hr/employees?status=all&sort=number&dir=desc")
    assert table_column(everyone, 0) == ["S-2", "S-1", "EMP-00002", "EMP-00001"]
    assert table_column(hr.get("/hr/employees?status=terminated"), 1) == ["Lee Leaver"]
    assert table_column(hr.get(f"/hr/employees?department_id={sales_id}&status=all"), 1) == [
        "Lee Leaver",
        "Zed Seller",
    ]
    assert table_column(hr.get("/hr/employees?q=account"), 1) == ["Zed Seller"]
    assert table_column(hr.get("/hr/employees?q=emp-00001"), 1) == ["Mary Manager"]
    nobody = hr.get("/hr/employees?department_id=987654321")
    assert "No employees match." in visible(nobody)
    odd = hr.get("/hr/employees?status=bogus&sort=salary&dir=sideways&department_id=x&cursor=garbage")
    assert odd.status_code == 200
    assert "That page link is no longer valid; showing the first page." in flashes(odd)

    rows = csv_rows(hr.get(f"/hr/employees?format=csv&department_id={sales_id}&status=all"))
    assert rows[0] == [
        "number",
        "name",
        "email",
        "phone",
        "department",
        "position",
        "job_title",
        "manager",
        "hire_date",
        "termination_date",
        "status",
    ]
    assert rows[1:] == [
        ["S-1", "Lee Leaver", "", "", "Sales", "", "", "", HIRED, "2025-06-30", "terminated"],
        ["S-2", "Zed Seller", "", "", "Sales", "", "Account executive", "", HIRED, "", "active"],
    ]


def test_the_list_pages_by_keyset(hr, session):
    for index in range(52):
        employees.create_employee(session, {"name": f"Person {index:02d}", "hire_date": HIRED})
    session.commit()
    session.close()
    first = hr.get("/hr/employees")
    names = table_column(first, 1)
    assert names[:3] == ["Eve Employee", "Mary Manager", "Person 00"]
    assert len(names) == 50 and names[-1] == "Person 47"
    second = hr.get(next_page_link(first))
    assert table_column(second, 1) == ["Person 48", "Person 49", "Person 50", "Person 51"]
    assert next_page_link(second) is None
    assert len(csv_rows(hr.get("/hr/employees?format=csv"))) == 1 + 54


# --- who sees whose file --------------------------------------------------------------------------


def test_an_employee_sees_their_own_file_and_no_one_elses(eve_client, session, people):
    add_contract(session, people["eve"])
    session.close()
    own = eve_client.get(f"/hr/employees/{people['eve']}")
    assert own.status_code == 200
    text = visible(own)
    assert "Eve Employee" in text and "Mary Manager" in text
    assert "4,200.00 per month" in text  # their own wage
    assert "Edit" not in text and "Terminate" not in text and "New contract" not in text
    assert eve_client.get(f"/hr/employees/{people['mary']}").status_code == 404
    assert eve_client.get("/hr/employees/987654").status_code == 404
    assert eve_client.get("/hr/employees").status_code == 403
    assert eve_client.get(f"/hr/employees/{people['eve']}/edit").status_code == 403
    own_page = f"/hr/employees/{people['eve']}"
    terminate = submit(eve_client, f"{own_page}/terminate", {"date": "2025-01-31"}, form_page=own_page)
    assert terminate.status_code == 403
    assert (
        submit(eve_client, f"{own_page}/contracts/new", {"wage": "9999"}, form_page=own_page).status_code
        == 403
    )


def test_a_wage_is_hidden_without_payroll_access(app, make_client, ext, session, people):
    contract_id = add_contract(session, people["eve"])
    session.close()
    viewer = make_client("viewer@example.com", permissions=("hr.view", "hr.employee.manage"))
    file = viewer.get(f"/hr/employees/{people['eve']}")
    text = visible(file)
    assert "Permanent" in text and "Jan 6, 2025" in text
    assert "4,200.00" not in text and "Wage" not in text
    # Editing without seeing the wage keeps it.
    form = viewer.get(f"/hr/contracts/{contract_id}/edit")
    assert 'name="wage"' not in page(form) and "4200" not in page(form)
    response = submit(
        viewer,
        f"/hr/contracts/{contract_id}/edit",
        {"kind": "permanent", "start_date": HIRED, "hours_per_week": "32"},
    )
    assert redirect_path(response) == f"/hr/employees/{people['eve']}"
    with reading(ext) as read:
        stored = read.get(Contract, contract_id)
        assert (stored.wage, stored.hours_per_week) == (Decimal("4200.00"), Decimal("32.00"))
    payroll = make_client("payroll@example.com", permissions=("hr.view", "hr.payroll.view"))
    assert "4,200.00 per month" in visible(payroll.get(f"/hr/employees/{people['eve']}"))


def test_buttons_follow_permissions_and_the_server_checks_them_anyway(make_client, people):
    viewer = make_client("viewer@example.com", permissions=("hr.view",))
    text = visible(viewer.get(f"/hr/employees/{people['eve']}"))
    assert "Edit" not in text and "Terminate" not in text and "New contract" not in text
    assert "New employee" not in visible(viewer.get("/hr/employees"))
    for path in (
        "/hr/employees/new",
        f"/hr/employees/{people['eve']}/edit",
        f"/hr/employees/{people['eve']}/terminate",
        f"/hr/employees/{people['eve']}/contracts/new",
        "/hr/departments/new",
        "/hr/positions/new",
        "/hr/settings",
    ):
        assert viewer.get(path).status_code == 403, path


# --- contracts ------------------------------------------------------------------------------------


def test_hr_writes_contracts_and_bad_input_gets_field_messages(hr, ext, people):
    form = f"/hr/employees/{people['eve']}/contracts/new"
    blank = hr.get(form)
    assert 'value="2025-01-06"' in page(blank)  # starts at the hire date by default
    response = submit(
        hr,
        form,
        {
            "kind": "fixed_term",
            "start_date": "2025-03-01",
            "end_date": "2025-02-01",
            "wage": "-4200",
            "hours_per_week": "200",
        },
    )
    assert response.status_code == 422
    assert (
        field_error(response, "end_date")
        == "is before the start date: a contract cannot end before it starts"
    )
    assert field_error(response, "wage") == "must be greater than zero"
    assert field_error(response, "hours_per_week") == "must be at most 168 (the hours of a week)"
    assert count(ext, Contract) == 0

    ok = submit(
        hr,
        form,
        {
            "kind": "fixed_term",
            "start_date": HIRED,
            "end_date": "2025-12-31",
            "wage": "4200.00",
            "wage_period": "month",
            "hours_per_week": "40",
        },
    )
    assert redirect_path(ok) == f"/hr/employees/{people['eve']}"
    overlap = submit(
        hr, form, {"kind": "permanent", "start_date": "2025-12-01", "wage": "4500.00", "wage_period": "month"}
    )
    assert overlap.status_code == 422
    assert (
        field_error(overlap, "start_date") == "overlaps the fixed-term contract from 2025-01-06 to 2025-12-31"
    )
    assert count(ext, Contract) == 1
    for bad in (
        {"start_date": "yesterday", "wage": "1"},
        {"start_date": "2025-01-01", "wage": "NaN"},
        {"kind": "<b>", "wage": "1e99999", "start_date": "9999-99-99"},
    ):
        response = submit(hr, form, bad)
        assert response.status_code == 422, bad
    assert count(ext, Contract) == 1
    text = visible(hr.get(f"/hr/employees/{people['eve']}"))
    assert "Fixed-term" in text and "4,200.00 per month" in text and "Dec 31, 2025" in text


def test_a_future_contract_is_deleted_and_a_started_one_is_kept(hr, ext, session, people):
    started = add_contract(session, people["eve"], kind="fixed_term", end_date="2025-12-31")
    future = add_contract(
        session, people["eve"], start_date=(dt.date.today() + dt.timedelta(days=400)).isoformat()
    )
    session.close()
    detail = f"/hr/employees/{people['eve']}"
    response = submit(hr, f"/hr/contracts/{started}/delete", form_page=detail)
    assert redirect_path(response) == detail
    assert "the contract started on 2025-01-06: end it instead of deleting it" in flashes(hr.get(detail))
    response = submit(hr, f"/hr/contracts/{future}/delete", form_page=detail)
    assert "Contract deleted." in flashes(hr.get(redirect_path(response)))
    with reading(ext) as read:
        assert [c.id for c in read.scalars(select(Contract))] == [started]
    assert submit(hr, "/hr/contracts/987654/delete", form_page=detail).status_code == 404


def test_terminating_ends_the_running_contract(hr, ext, session, people):
    contract_id = add_contract(session, people["mary"])
    session.close()
    form = f"/hr/employees/{people['mary']}/terminate"
    response = submit(hr, form, {"date": "2024-12-31", "reason": "x"})
    assert response.status_code == 422
    assert field_error(response, "date") == "is before the hire date"
    response = submit(hr, form, {"date": "tomorrow"})
    assert field_error(response, "date") == "must be a date (YYYY-MM-DD)"
    response = submit(hr, form, {"date": "2025-01-31", "reason": "r" * 501})
    assert field_error(response, "reason") == "must be at most 500 characters"
    response = submit(hr, form, {"date": "2025-09-30", "reason": "Moved abroad"})
    detail = hr.get(redirect_path(response))
    assert "Mary Manager's employment ends on Sep 30, 2025." in flashes(detail)
    assert "Terminated" in visible(detail) and "Sep 30, 2025" in visible(detail)
    with reading(ext) as read:
        assert read.get(Contract, contract_id).end_date == dt.date(2025, 9, 30)
        mary = read.get(Employee, people["mary"])
        assert (mary.status, mary.termination_date) == ("terminated", dt.date(2025, 9, 30))
        assert "Terminated: Moved abroad" in mary.notes
        assert read.get(Employee, people["eve"]).manager_id is None  # Eve now reports to Mary's manager: none
    again = hr.get(form)
    assert "Mary Manager has already left." in flashes(hr.get(redirect_path(again)))


# --- departments and positions --------------------------------------------------------------------


def test_departments_show_the_tree_with_manager_and_headcount(hr, ext, session, people):
    engineering = session.get(Department, people["engineering"])
    org.update_department(session, engineering, {"manager_id": people["mary"]})
    org.create_department(session, {"name": "Platform", "parent_id": engineering.id})
    session.commit()
    session.close()
    listing = hr.get("/hr/departments")
    assert table_column(listing, 0) == ["Engineering", "— Platform"]
    assert table_column(listing, 1) == ["Mary Manager", "—"]
    assert table_column(listing, 2) == ["2", "0"]

    response = submit(
        hr,
        "/hr/departments/new",
        {"name": "engineering", "manager_id": "abc", "parent_id": "99999999999999999999"},
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "another department has this name"
    assert field_error(response, "manager_id") == "no such employee"
    assert field_error(response, "parent_id") == "no such department"
    edit = f"/hr/departments/{people['engineering']}/edit"
    with reading(ext) as read:
        platform_id = read.scalars(select(Department.id).where(Department.name == "Platform")).one()
    response = submit(hr, edit, {"name": "Engineering", "parent_id": platform_id})
    assert field_error(response, "parent_id") == "would make a loop: that department is below this one"
    response = submit(hr, f"/hr/departments/{people['engineering']}/deactivate", form_page="/hr/departments")
    assert "2 employee(s) are in Engineering: move them to another department first" in flashes(
        hr.get(redirect_path(response))
    )
    response = submit(hr, f"/hr/departments/{platform_id}/deactivate", form_page="/hr/departments")
    assert "Department “Platform” is retired." in flashes(hr.get(redirect_path(response)))
    assert table_column(hr.get("/hr/departments"), 0) == ["Engineering"]
    assert count(ext, Department) == 2


def test_positions_are_listed_created_and_checked(hr, ext, people):
    response = submit(
        hr,
        "/hr/positions/new",
        {"name": "Developer", "department_id": people["engineering"], "description": "Builds <things>"},
    )
    assert redirect_path(response) == "/hr/positions"
    listing = hr.get("/hr/positions")
    assert table_column(listing, 0) == ["Developer"]
    assert "Builds &lt;things&gt;" in page(listing)
    response = submit(hr, "/hr/positions/new", {"name": "DEVELOPER", "department_id": "x"})
    assert response.status_code == 422
    assert field_error(response, "name") == "another position has this name"
    assert field_error(response, "department_id") == "no such department"
    with reading(ext) as read:
        position_id = read.scalars(select(Position.id)).one()
    response = submit(hr, f"/hr/positions/{position_id}/edit", {"name": "", "description": "d" * 10_001})
    assert field_error(response, "name") == "is required"
    assert field_error(response, "description") == "must be at most 10000 characters"
    assert count(ext, Position) == 1


# --- the org chart, settings, dashboard, contact page, search ---------------------------------------


def test_the_org_chart_shows_who_reports_to_whom(hr, session, people, make_employee):
    intern = make_employee(name="Ivy Intern", manager_id=people["eve"], job_title="Intern")
    outsider = make_employee(name="Olga Outsider")
    leaver = make_employee(name="Lee Leaver", manager_id=people["mary"])
    employees.terminate_employee(session, leaver, date="2025-02-01")
    session.commit()
    ids = {"mary": people["mary"], "eve": people["eve"], "intern": intern.id, "outsider": outsider.id}
    session.close()
    chart = hr.get("/hr/org-chart")
    parents = chart_parents(chart)
    assert parents == {
        f"org-{ids['eve']}": [f"org-{ids['mary']}"],
        f"org-{ids['intern']}": [f"org-{ids['mary']}", f"org-{ids['eve']}"],
        f"org-{ids['mary']}": [],
        f"org-{ids['outsider']}": [],
    }
    text = visible(chart)
    assert "Intern" in text and "Engineering" in text and "4 people." in text
    engineering_only = hr.get(f"/hr/org-chart?department_id={people['engineering']}")
    assert chart_parents(engineering_only) == {
        f"org-{ids['mary']}": [],
        f"org-{ids['eve']}": [f"org-{ids['mary']}"],
    }
    unknown = hr.get("/hr/org-chart?department_id=99999999999999999999")
    assert unknown.status_code == 200 and "No such department: showing everyone." in flashes(unknown)


def test_the_settings_hub_links_hr_settings(hr):
    hub = hr.get("/hr/settings")
    assert hub.status_code == 200
    text = visible(hub)
    for label in ("Positions", "Departments", "Leave types", "Holidays", "Payroll settings"):
        assert label in text
    assert re.search(r'<a href="/hr/positions">Positions</a>', page(hub))


def test_the_dashboard_shows_headcount_by_department_to_hr_only(hr, eve_client, make_employee):
    make_employee(name="Nadia Nowhere")
    board = hr.get("/")
    assert "Headcount by department" in visible(board)
    chart = re.search(
        r'<svg class="chart"[^>]*aria-label="Headcount by department".*?</svg>', page(board), re.S
    )
    assert chart and "Engineering: 2" in chart.group(0) and "No department: 1" in chart.group(0)
    assert "3 current employees." in visible(board)
    assert "Headcount by department" not in visible(eve_client.get("/"))


def test_the_contact_page_shows_the_employee_file(hr, ext, people):
    with reading(ext) as read:
        contact_id = read.get(Employee, people["eve"]).contact_id
    text = visible(hr.get(f"/contacts/{contact_id}"))
    assert "Employee file" in text and "EMP-00002" in text and "Engineering" in text and "Active" in text


def test_search_finds_employees_by_name_and_number(hr, eve_client, people):
    text = visible(hr.get("/search?q=eve employee"))
    assert "Eve Employee Employee EMP-00002 · Engineering" in text
    assert "Mary Manager" in visible(hr.get("/search?q=EMP-00001"))
    assert "Eve Employee" not in visible(eve_client.get("/search?q=eve employee"))


# --- other companies and odd ids --------------------------------------------------------------------


def test_another_companys_records_are_404(hr, ext, people):
    with ext.db.transaction() as tx:
        ext.plugins.refresh(tx)
        other = companies.create_company(tx, name="Other Ltd", base_currency="EUR")
        set_company(tx, other.id)
        department = org.create_department(tx, {"name": "Theirs"})
        position = org.create_position(tx, {"name": "Theirs"})
        stranger = employees.create_employee(tx, {"name": "Stranger", "hire_date": HIRED})
        contract = contracts.create_contract(tx, stranger, {"start_date": HIRED, "wage": "1"})
        ids = (department.id, position.id, stranger.id, contract.id)
    department_id, position_id, stranger_id, contract_id = ids
    for path in (
        f"/hr/employees/{stranger_id}",
        f"/hr/employees/{stranger_id}/edit",
        f"/hr/employees/{stranger_id}/terminate",
        f"/hr/employees/{stranger_id}/contracts/new",
        f"/hr/contracts/{contract_id}/edit",
        f"/hr/departments/{department_id}/edit",
        f"/hr/positions/{position_id}/edit",
        "/hr/employees/99999999999999999999999",
        "/hr/employees/abc",
    ):
        assert hr.get(path).status_code == 404, path
    response = submit(
        hr, f"/hr/employees/{people['eve']}/edit", {"hire_date": HIRED, "manager_id": stranger_id}
    )
    assert field_error(response, "manager_id") == "no such employee"
    assert "Stranger" not in visible(hr.get("/hr/employees?status=all"))
