"""The organisation through the REST API: HR hires, writes contracts, builds departments and positions,
terminates; an employee reads only their own record; wages are null without payroll access; bad
input is a 422 naming the field, the wrong state a 409, another company's ids a 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from core.context import set_company
from core.services import companies
from core.testing import ApiClient, api_token
from plugins.hr.models import Contract, Department, Employee, Position
from plugins.hr.services import contracts, employees, org

pytestmark = pytest.mark.plugins("hr")

HR = "/api/v1/hr"
HIRED = "2025-01-06"


def assert_error(response: Any, status: int, fields: tuple[str, ...] = ()) -> dict:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}, body
    for name in fields:
        assert error["fields"].get(name), body
    return error


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def counts(ext: Any) -> dict[str, int]:
    with ext.db.session(read_only=True) as session:
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Employee, Contract, Department, Position)
        }


def api_for(app: Any, email: str) -> ApiClient:
    client = app.test_client()
    return ApiClient(client, api_token(client, email))


@pytest.fixture
def hr(app, people) -> ApiClient:
    """Grace, the HR manager."""
    return api_for(app, "grace@example.com")


@pytest.fixture
def eve_api(app, people) -> ApiClient:
    return api_for(app, "eve@example.com")


def new_contract(api: ApiClient, employee_id: int, **data: Any) -> dict:
    body = {"kind": "permanent", "start_date": HIRED, "wage": "4200.00", **data}
    return ok(api.post(f"{HR}/employees/{employee_id}/contracts", json=body), 201)


# --- employees ------------------------------------------------------------------------------------


def test_hr_hires_lists_and_edits_employees(hr, people):
    ada = ok(
        hr.post(
            f"{HR}/employees",
            json={
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "hire_date": "2025-02-03",
                "department_id": people["engineering"],
                "manager_id": people["mary"],
                "job_title": "Analyst",
            },
        ),
        201,
    )
    assert {
        k: ada[k] for k in ("number", "name", "email", "department", "manager_name", "status", "hire_date")
    } == {
        "number": "EMP-00003",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "department": "Engineering",
        "manager_name": "Mary Manager",
        "status": "active",
        "hire_date": "2025-02-03",
    }
    listing = ok(hr.get(f"{HR}/employees?limit=2"))
    assert [e["name"] for e in listing["items"]] == ["Ada Lovelace", "Eve Employee"]
    rest = ok(hr.get(f"{HR}/employees?limit=2&cursor={listing['next_cursor']}"))
    assert [e["name"] for e in rest["items"]] == ["Mary Manager"] and rest["next_cursor"] is None
    by_number = ok(hr.get(f"{HR}/employees?sort=-number"))
    assert [e["number"] for e in by_number["items"]] == ["EMP-00003", "EMP-00002", "EMP-00001"]
    assert [e["name"] for e in ok(hr.get(f"{HR}/employees?q=analyst"))["items"]] == ["Ada Lovelace"]

    changed = ok(hr.patch(f"{HR}/employees/{ada['id']}", json={"manager_id": None, "status": "on_leave"}))
    assert (changed["manager_id"], changed["status"]) == (None, "on_leave")
    assert [e["name"] for e in ok(hr.get(f"{HR}/employees?status=on_leave"))["items"]] == ["Ada Lovelace"]


def test_bad_employee_input_is_a_422_naming_the_field(hr, ext, people):
    before = counts(ext)
    assert_error(hr.post(f"{HR}/employees", json={"name": "No date"}), 422, ("hire_date",))
    assert_error(hr.post(f"{HR}/employees", json={"hire_date": HIRED}), 422, ("name",))
    assert_error(
        hr.post(f"{HR}/employees", json={"name": "X", "hire_date": HIRED, "salary": "1"}), 422, ("salary",)
    )
    assert_error(
        hr.post(f"{HR}/employees", json={"name": "X", "hire_date": HIRED, "manager_id": 2**63}),
        422,
        ("manager_id",),
    )
    assert_error(
        hr.post(f"{HR}/employees", json={"name": "X", "hire_date": HIRED, "manager_id": 987654}),
        422,
        ("manager_id",),
    )
    assert_error(
        hr.post(f"{HR}/employees", json={"name": "X", "hire_date": "2025-13-01"}), 422, ("hire_date",)
    )
    error = assert_error(
        hr.patch(f"{HR}/employees/{people['mary']}", json={"manager_id": people["eve"]}), 422, ("manager_id",)
    )
    assert error["fields"]["manager_id"] == ["would make a loop: this employee is above that manager"]
    assert_error(
        hr.patch(f"{HR}/employees/{people['mary']}", json={"status": "terminated"}), 422, ("status",)
    )
    assert_error(hr.get(f"{HR}/employees?sort=salary"), 422, ("sort",))
    assert_error(hr.get(f"{HR}/employees?status=retired"), 422, ("status",))
    assert_error(hr.get(f"{HR}/employees?cursor=nonsense"), 422, ("cursor",))
    assert counts(ext) == before


def test_an_employee_reads_only_their_own_record(eve_api, hr, people):
    new_contract(hr, people["eve"])
    new_contract(hr, people["mary"], wage="6000.00")
    own = ok(eve_api.get(f"{HR}/employees/{people['eve']}"))
    assert (own["name"], own["manager_name"], own["notes"]) == ("Eve Employee", "Mary Manager", None)
    (contract,) = ok(eve_api.get(f"{HR}/employees/{people['eve']}/contracts"))["items"]
    assert (contract["wage"], contract["wage_period"]) == ("4200.00", "month")
    assert_error(eve_api.get(f"{HR}/employees/{people['mary']}"), 404)
    assert_error(eve_api.get(f"{HR}/employees/{people['mary']}/contracts"), 404)
    mary_contract = ok(hr.get(f"{HR}/employees/{people['mary']}/contracts"))["items"][0]["id"]
    assert_error(eve_api.get(f"{HR}/contracts/{mary_contract}"), 404)
    assert_error(eve_api.get(f"{HR}/employees"), 403)
    assert_error(eve_api.patch(f"{HR}/employees/{people['eve']}", json={"job_title": "CEO"}), 403)
    assert_error(
        eve_api.post(f"{HR}/employees/{people['eve']}/contracts", json={"start_date": HIRED, "wage": "1"}),
        403,
    )
    assert_error(eve_api.get(f"{HR}/departments"), 403)
    assert_error(eve_api.get(f"{HR}/org-chart"), 403)


def test_a_wage_is_null_without_payroll_access(hr, make_api_client, people):
    made = new_contract(hr, people["eve"])
    assert made["wage"] == "4200.00"
    viewer = make_api_client("viewer@example.com", permissions=("hr.view", "hr.employee.manage"))
    seen = ok(viewer.get(f"{HR}/contracts/{made['id']}"))
    assert (seen["wage"], seen["wage_period"], seen["kind"], seen["running"]) == (
        None,
        None,
        "permanent",
        True,
    )
    listed = ok(viewer.get(f"{HR}/employees/{people['eve']}/contracts"))["items"]
    assert [c["wage"] for c in listed] == [None]
    # Writing is allowed; the answer still hides the amount.
    changed = ok(viewer.patch(f"{HR}/contracts/{made['id']}", json={"wage": "4300.00"}))
    assert changed["wage"] is None
    assert ok(hr.get(f"{HR}/contracts/{made['id']}"))["wage"] == "4300.00"


# --- contracts ------------------------------------------------------------------------------------


def test_contract_rules_through_the_api(hr, ext, people):
    url = f"{HR}/employees/{people['eve']}/contracts"
    first = new_contract(hr, people["eve"], kind="fixed_term", end_date="2025-06-30")
    assert (first["start_date"], first["end_date"], first["hours_per_week"]) == (HIRED, "2025-06-30", "40.00")
    before = counts(ext)
    error = assert_error(
        hr.post(url, json={"start_date": "2025-06-01", "wage": "4500.00"}), 422, ("start_date",)
    )
    assert error["fields"]["start_date"] == ["overlaps the fixed-term contract from 2025-01-06 to 2025-06-30"]
    error = assert_error(
        hr.post(url, json={"start_date": "2025-08-01", "end_date": "2025-07-01", "wage": "1"}),
        422,
        ("end_date",),
    )
    assert error["fields"]["end_date"] == ["is before the start date: a contract cannot end before it starts"]
    error = assert_error(hr.post(url, json={"start_date": "2025-07-01", "wage": "-4500.00"}), 422, ("wage",))
    assert error["fields"]["wage"] == ["must be greater than zero"]
    assert_error(hr.post(url, json={"start_date": "2025-07-01", "wage": "lots"}), 422, ("wage",))
    assert_error(hr.post(url, json={"start_date": "2025-07-01"}), 422, ("wage",))
    assert_error(hr.post(url, json={"start_date": "2025-07-01", "wage": "1", "kind": "gig"}), 422, ("kind",))
    assert_error(
        hr.post(url, json={"start_date": "2025-07-01", "wage": "1", "hours_per_week": "0"}),
        422,
        ("hours_per_week",),
    )
    assert_error(
        hr.post(url, json={"start_date": "2025-07-01", "wage": "1", "kind": "fixed_term"}), 422, ("end_date",)
    )
    assert_error(hr.post(url, json={"start_date": "2024-12-31", "wage": "1"}), 422, ("start_date",))
    assert counts(ext) == before

    second = new_contract(hr, people["eve"], start_date="2025-07-01", wage="4500.00", wage_period="month")
    assert_error(
        hr.patch(f"{HR}/contracts/{second['id']}", json={"start_date": "2025-06-15"}), 422, ("start_date",)
    )
    ended = ok(hr.patch(f"{HR}/contracts/{second['id']}", json={"end_date": "2025-12-31"}))
    assert ended["end_date"] == "2025-12-31"
    assert_error(hr.delete(f"{HR}/contracts/{first['id']}"), 409)
    future = new_contract(
        hr, people["eve"], start_date=(dt.date.today() + dt.timedelta(days=800)).isoformat()
    )
    assert hr.delete(f"{HR}/contracts/{future['id']}").status_code == 204
    assert_error(hr.get(f"{HR}/contracts/{future['id']}"), 404)
    assert [c["start_date"] for c in ok(hr.get(url))["items"]] == ["2025-07-01", HIRED]


def test_terminating_ends_the_running_contract(hr, people):
    made = new_contract(hr, people["mary"])
    assert_error(hr.post(f"{HR}/employees/{people['mary']}/terminate", json={}), 422, ("date",))
    assert_error(
        hr.post(f"{HR}/employees/{people['mary']}/terminate", json={"date": "2024-01-01"}), 422, ("date",)
    )
    left = ok(
        hr.post(f"{HR}/employees/{people['mary']}/terminate", json={"date": "2025-09-30", "reason": "Moved"})
    )
    assert (left["status"], left["termination_date"]) == ("terminated", "2025-09-30")
    assert ok(hr.get(f"{HR}/contracts/{made['id']}"))["end_date"] == "2025-09-30"
    assert ok(hr.get(f"{HR}/employees/{people['eve']}"))["manager_id"] is None
    assert_error(
        hr.post(f"{HR}/employees/{people['mary']}/terminate", json={"date": "2025-10-31"}), 422, ("status",)
    )


# --- departments, positions, org chart --------------------------------------------------------------


def test_departments_form_a_tree_without_loops(hr, ext, people):
    platform = ok(
        hr.post(f"{HR}/departments", json={"name": "Platform", "parent_id": people["engineering"]}), 201
    )
    assert (platform["parent"], platform["headcount"], platform["active"]) == ("Engineering", 0, True)
    error = assert_error(
        hr.patch(f"{HR}/departments/{people['engineering']}", json={"parent_id": platform["id"]}),
        422,
        ("parent_id",),
    )
    assert error["fields"]["parent_id"] == ["would make a loop: that department is below this one"]
    error = assert_error(hr.post(f"{HR}/departments", json={"name": "PLATFORM"}), 422, ("name",))
    assert error["fields"]["name"] == ["another department has this name"]
    assert_error(
        hr.post(f"{HR}/departments", json={"name": "QA", "manager_id": 987654}), 422, ("manager_id",)
    )
    managed = ok(hr.patch(f"{HR}/departments/{people['engineering']}", json={"manager_id": people["mary"]}))
    assert (managed["manager_name"], managed["headcount"]) == ("Mary Manager", 2)
    assert_error(hr.patch(f"{HR}/departments/{people['engineering']}", json={"active": False}), 409)
    retired = ok(hr.patch(f"{HR}/departments/{platform['id']}", json={"active": False}))
    assert retired["active"] is False
    assert [d["name"] for d in ok(hr.get(f"{HR}/departments"))["items"]] == ["Engineering"]
    everything = ok(hr.get(f"{HR}/departments?include_inactive=true"))["items"]
    assert [(d["name"], d["active"]) for d in everything] == [("Engineering", True), ("Platform", False)]
    assert counts(ext)["Department"] == 2


def test_positions(hr, people):
    made = ok(
        hr.post(f"{HR}/positions", json={"name": "Developer", "department_id": people["engineering"]}), 201
    )
    assert (made["department"], made["headcount"]) == ("Engineering", 0)
    ok(hr.patch(f"{HR}/employees/{people['eve']}", json={"position_id": made["id"]}))
    assert ok(hr.get(f"{HR}/positions"))["items"][0]["headcount"] == 1
    assert_error(hr.post(f"{HR}/positions", json={"name": "developer"}), 422, ("name",))
    assert_error(
        hr.post(f"{HR}/positions", json={"name": "QA", "department_id": "1"}), 422, ("department_id",)
    )
    renamed = ok(hr.patch(f"{HR}/positions/{made['id']}", json={"name": "Engineer", "department_id": None}))
    assert (renamed["name"], renamed["department"]) == ("Engineer", None)


def test_the_org_chart_is_nested(hr, people):
    ivy = ok(
        hr.post(
            f"{HR}/employees", json={"name": "Ivy Intern", "hire_date": HIRED, "manager_id": people["eve"]}
        ),
        201,
    )
    chart = ok(hr.get(f"{HR}/org-chart"))["items"]

    def shape(nodes: list[dict]) -> list:
        return [(n["name"], shape(n["reports"])) for n in nodes]

    assert shape(chart) == [("Mary Manager", [("Eve Employee", [("Ivy Intern", [])])])]
    assert chart[0]["department"] == "Engineering"
    only = ok(hr.get(f"{HR}/org-chart?department_id={people['engineering']}"))["items"]
    assert shape(only) == [("Mary Manager", [("Eve Employee", [])])]
    assert ivy["manager_name"] == "Eve Employee"
    assert_error(hr.get(f"{HR}/org-chart?department_id=987654"), 404)


def test_another_companys_ids_are_404(hr, ext, people):
    with ext.db.transaction() as tx:
        ext.plugins.refresh(tx)
        other = companies.create_company(tx, name="Other Ltd", base_currency="EUR")
        set_company(tx, other.id)
        department = org.create_department(tx, {"name": "Theirs"})
        position = org.create_position(tx, {"name": "Theirs"})
        stranger = employees.create_employee(tx, {"name": "Stranger", "hire_date": HIRED})
        contract = contracts.create_contract(tx, stranger, {"start_date": HIRED, "wage": "1"})
        ids = {
            "department": department.id,
            "position": position.id,
            "employee": stranger.id,
            "contract": contract.id,
        }
    assert_error(hr.get(f"{HR}/employees/{ids['employee']}"), 404)
    assert_error(hr.patch(f"{HR}/employees/{ids['employee']}", json={"job_title": "x"}), 404)
    assert_error(hr.get(f"{HR}/employees/{ids['employee']}/contracts"), 404)
    assert_error(hr.post(f"{HR}/employees/{ids['employee']}/terminate", json={"date": HIRED}), 404)
    assert_error(hr.get(f"{HR}/contracts/{ids['contract']}"), 404)
    assert_error(hr.delete(f"{HR}/contracts/{ids['contract']}"), 404)
    assert_error(hr.get(f"{HR}/departments/{ids['department']}"), 404)
    assert_error(hr.patch(f"{HR}/positions/{ids['position']}", json={"name": "Mine"}), 404)
    assert_error(hr.get(f"{HR}/employees/99999999999999999999999"), 404)
    error = assert_error(
        hr.patch(f"{HR}/employees/{people['eve']}", json={"manager_id": ids["employee"]}), 422
    )
    assert error["fields"] == {"manager_id": ["no such employee"]}
    assert "Stranger" not in [e["name"] for e in ok(hr.get(f"{HR}/employees"))["items"]]


def test_the_api_is_documented(hr):
    paths = ok(hr.get("/api/v1/openapi.json"))["paths"]
    for path in (
        "/api/v1/hr/employees",
        "/api/v1/hr/employees/{employee_id}/contracts",
        "/api/v1/hr/contracts/{contract_id}",
        "/api/v1/hr/departments",
        "/api/v1/hr/positions",
        "/api/v1/hr/org-chart",
    ):
        assert path in paths, path
