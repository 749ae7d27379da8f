"""Payroll through the REST API: a run computed, adjusted, confirmed and locked; corrections; bad
input; who may read a payslip; payroll items and settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from core.models import Account, JournalEntry, JournalLine, Notification
from core.services import companies
from core.testing import ApiClient, api_token
from plugins.hr.models import PayrollItem, PayrollRun, Payslip, PayslipLine
from tests.core.web_helpers import count, fetch, system_session

from .test_payroll_services import add_contract

pytestmark = pytest.mark.plugins("hr")

HR = "/api/v1/hr"


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


def api_for(app, email: str) -> ApiClient:
    client = app.test_client()
    return ApiClient(client, api_token(client, email))


def stored(ext) -> tuple[int, ...]:
    return tuple(count(ext, model) for model in (PayrollRun, Payslip, PayslipLine, JournalEntry, JournalLine))


@pytest.fixture
def paid(session, people) -> dict[str, Any]:
    add_contract(session, people["eve"], "3000.00")
    add_contract(session, people["mary"], "4000.00")
    session.close()
    return people


@pytest.fixture
def hr(app, paid) -> ApiClient:
    return api_for(app, "grace@example.com")


def test_a_month_is_computed_adjusted_and_confirmed(hr, ext, paid):
    run = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 201)
    assert {k: run[k] for k in ("period", "kind", "state", "payment_date", "employee_count")} == {
        "period": "2026-11",
        "kind": "regular",
        "state": "draft",
        "payment_date": "2026-11-30",
        "employee_count": 2,
    }
    assert (run["total_gross"], run["total_deductions"], run["total_net"], run["total_contributions"]) == (
        "7000.00",
        "1960.00",
        "5040.00",
        "840.00",
    )
    assert (run["entry_id"], run["entry_number"]) == (None, None)
    assert [r["id"] for r in ok(hr.get(f"{HR}/payroll-runs"))["items"]] == [run["id"]]

    slips = ok(hr.get(f"{HR}/payroll-runs/{run['id']}/payslips"))["items"]
    assert [(s["employee_name"], s["gross"], s["net"]) for s in slips] == [
        ("Mary Manager", "4000.00", "2880.00"),
        ("Eve Employee", "3000.00", "2160.00"),
    ]
    eve_slip = slips[1]["id"]
    slip = ok(hr.get(f"{HR}/payslips/{eve_slip}"))
    assert [(line["code"], line["rate"], line["amount"], line["account"]) for line in slip["lines"]] == [
        ("BASIC", None, "3000.00", ""),
        ("TAX", "20.0000", "600.00", "2310"),
        ("SS_EE", "8.0000", "240.00", "2320"),
        ("SS_ER", "12.0000", "360.00", "2320"),
    ]

    adjusted = ok(
        hr.post(f"{HR}/payslips/{eve_slip}/adjustments", json={"name": "Bonus", "amount": "500.00"}), 201
    )
    assert (adjusted["gross"], adjusted["net"], adjusted["total_contributions"]) == (
        "3500.00",
        "2520.00",
        "420.00",
    )
    bonus = next(line for line in adjusted["lines"] if line["kind"] == "adjustment")
    assert ok(hr.get(f"{HR}/payroll-runs/{run['id']}"))["total_net"] == "5400.00"
    removed = ok(hr.delete(f"{HR}/payslips/{eve_slip}/adjustments/{bonus['id']}"))
    assert removed["gross"] == "3000.00"
    ok(hr.post(f"{HR}/payslips/{eve_slip}/adjustments", json={"name": "Bonus", "amount": "100.00"}), 201)

    confirmed = ok(hr.post(f"{HR}/payroll-runs/{run['id']}/confirm"))
    assert (confirmed["state"], confirmed["entry_number"], confirmed["total_net"]) == (
        "confirmed",
        "PAY/2026/000001",
        "5112.00",
    )
    assert confirmed["confirmed_at"] is not None
    entry = fetch(ext, JournalEntry, JournalEntry.id == confirmed["entry_id"])
    assert (entry.state, entry.memo, entry.source_ref) == (
        "posted",
        "Payroll 2026-11",
        f"hr.payroll_run:{run['id']}",
    )

    # Locked: no second confirmation, no deletion, no adjustment.
    before = stored(ext)
    assert_error(hr.post(f"{HR}/payroll-runs/{run['id']}/confirm"), 409)
    assert_error(hr.delete(f"{HR}/payroll-runs/{run['id']}"), 409)
    assert_error(
        hr.post(f"{HR}/payslips/{eve_slip}/adjustments", json={"name": "Late", "amount": "1.00"}), 409
    )
    error = assert_error(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 409, ("month",))
    assert error["fields"]["month"] == ["a payroll run for 2026-11 already exists"]
    assert stored(ext) == before


def test_a_draft_run_is_deleted(hr, ext, paid):
    run = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11", "payment_date": "2026-12-02"}), 201)
    assert run["payment_date"] == "2026-12-02"
    assert hr.delete(f"{HR}/payroll-runs/{run['id']}").status_code == 204
    assert_error(hr.get(f"{HR}/payroll-runs/{run['id']}"), 404)
    assert stored(ext)[:3] == (0, 0, 0)


def test_bad_run_input_is_a_422_naming_the_field_and_stores_nothing(hr, ext, paid):
    cases = [
        ({"month": "2026-13"}, "month"),
        ({"month": "11/2026"}, "month"),
        ({}, "month"),
        ({"month": "2026-11", "kind": "bonus"}, "kind"),
        ({"month": "2026-11", "payment_date": "2026-02-30"}, "payment_date"),
        ({"month": "2026-11", "employee_ids": ["x"]}, "employee_ids.0"),
        ({"month": "2026-11", "employee_ids": [paid["eve"]]}, "employee_ids"),
        ({"month": "2026-11", "kind": "correction"}, "employee_ids"),
        ({"month": "2026-11", "kind": "correction", "employee_ids": [paid["eve"]]}, "month"),
        ({"month": "1990-01"}, "month"),
        ({"month": "2026-11", "salary": "1"}, "salary"),
        ({"month": "\x00"}, "month"),
    ]
    for body, field in cases:
        assert_error(hr.post(f"{HR}/payroll-runs", json=body), 422, (field,))
    assert stored(ext) == (0, 0, 0, 0, 0)
    for path in (
        "/payroll-runs/999999",
        "/payroll-runs/999999/payslips",
        "/payslips/999999",
        "/payroll-items/999999",
    ):
        assert_error(hr.get(f"{HR}{path}"), 404)
    big = 10**12  # beyond an INTEGER id: "not found" on every backend
    for path in (
        f"/payslips/{2**70}",
        f"/payslips/{big}",
        f"/payroll-runs/{big}",
        f"/employees/{big}/payslips",
    ):
        assert_error(hr.get(f"{HR}{path}"), 404)
    assert_error(hr.post(f"{HR}/payroll-runs/999999/confirm"), 404)


def test_adjustments_with_bad_amounts_are_refused(hr, ext, paid):
    run = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 201)
    slip = ok(hr.get(f"{HR}/payroll-runs/{run['id']}/payslips"))["items"][1]["id"]
    url = f"{HR}/payslips/{slip}/adjustments"
    for body, field in (
        ({"name": "Bonus", "amount": "0"}, "amount"),
        ({"name": "Bonus", "amount": "1.001"}, "amount"),
        ({"name": "Bonus", "amount": "-3000.01"}, "amount"),
        ({"name": "Bonus", "amount": "abc"}, "amount"),
        ({"name": "Bonus", "amount": "1e30"}, "amount"),
        ({"name": "", "amount": "10.00"}, "name"),
        ({"amount": "10.00"}, "name"),
    ):
        assert_error(hr.post(url, json=body), 422, (field,))
    assert count(ext, PayslipLine, PayslipLine.kind == "adjustment") == 0
    assert_error(hr.delete(f"{url}/999999"), 404)


def test_a_correction_run_through_the_api(hr, ext, paid):
    regular = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 201)
    ok(hr.post(f"{HR}/payroll-runs/{regular['id']}/confirm"))
    correction = ok(
        hr.post(
            f"{HR}/payroll-runs",
            json={"month": "2026-11", "kind": "correction", "employee_ids": [paid["eve"]]},
        ),
        201,
    )
    assert (correction["kind"], correction["employee_count"], correction["total_gross"]) == (
        "correction",
        1,
        "0.00",
    )
    slip = ok(hr.get(f"{HR}/payroll-runs/{correction['id']}/payslips"))["items"][0]
    assert_error(hr.post(f"{HR}/payroll-runs/{correction['id']}/confirm"), 422, ("payslips",))
    ok(hr.post(f"{HR}/payslips/{slip['id']}/adjustments", json={"name": "Overtime", "amount": "250.00"}), 201)
    done = ok(hr.post(f"{HR}/payroll-runs/{correction['id']}/confirm"))
    assert (done["entry_number"], done["total_net"]) == ("PAY/2026/000002", "180.00")


def test_a_locked_period_refuses_confirmation_with_a_422_and_nothing_changes(hr, ext, paid):
    run = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 201)
    with system_session(ext) as session:
        companies.set_lock_date(session, dt.date(2026, 11, 30))
    before = stored(ext)
    error = assert_error(hr.post(f"{HR}/payroll-runs/{run['id']}/confirm"), 422, ("payment_date",))
    assert error["message"] == "cannot post payroll 2026-11: the period is locked through 2026-11-30"
    assert stored(ext) == before
    assert ok(hr.get(f"{HR}/payroll-runs/{run['id']}"))["state"] == "draft"
    assert count(ext, Notification) == 0


def test_employees_read_their_own_confirmed_payslips_only(app, hr, ext, make_api_client, paid):
    run = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 201)
    slips = {
        s["employee_id"]: s["id"] for s in ok(hr.get(f"{HR}/payroll-runs/{run['id']}/payslips"))["items"]
    }
    eve = api_for(app, "eve@example.com")
    assert_error(eve.get(f"{HR}/payslips/{slips[paid['eve']]}"), 404)  # still a draft
    assert ok(eve.get(f"{HR}/employees/{paid['eve']}/payslips"))["items"] == []

    ok(hr.post(f"{HR}/payroll-runs/{run['id']}/confirm"))
    own = ok(eve.get(f"{HR}/payslips/{slips[paid['eve']]}"))
    assert (own["employee_name"], own["period"], own["run_state"], own["net"]) == (
        "Eve Employee",
        "2026-11",
        "confirmed",
        "2160.00",
    )
    assert [s["id"] for s in ok(eve.get(f"{HR}/employees/{paid['eve']}/payslips"))["items"]] == [
        slips[paid["eve"]]
    ]
    assert_error(eve.get(f"{HR}/payslips/{slips[paid['mary']]}"), 404)
    assert_error(eve.get(f"{HR}/employees/{paid['mary']}/payslips"), 404)
    assert_error(eve.get(f"{HR}/payroll-runs"), 403)
    assert_error(eve.get(f"{HR}/payroll-runs/{run['id']}/payslips"), 403)
    assert_error(
        eve.post(f"{HR}/payslips/{slips[paid['eve']]}/adjustments", json={"name": "x", "amount": "9.00"}), 403
    )

    clerk = make_api_client("clerk@example.com", permissions=("hr.view", "hr.employee.manage"))
    assert_error(clerk.get(f"{HR}/payslips/{slips[paid['eve']]}"), 404)
    assert_error(clerk.get(f"{HR}/employees/{paid['eve']}/payslips"), 404)
    assert_error(clerk.get(f"{HR}/payroll-runs"), 403)
    assert_error(clerk.get(f"{HR}/payroll-items"), 403)
    assert_error(clerk.get(f"{HR}/payroll-settings"), 403)
    assert app.test_client().get(f"{HR}/payslips/{slips[paid['eve']]}").status_code == 401


def test_payroll_items_and_settings(hr, ext, paid):
    items = ok(hr.get(f"{HR}/payroll-items"))["items"]
    assert [(i["code"], i["kind"], i["rate"], i["payable_account"]) for i in items] == [
        ("TAX", "deduction", "20.0000", "2310"),
        ("SS_EE", "deduction", "8.0000", "2320"),
        ("SS_ER", "contribution", "12.0000", "2320"),
    ]
    for body, field in (
        ({"code": "X", "name": "X", "payable_account": "2330", "rate": "100.01"}, "rate"),
        ({"code": "X", "name": "X", "payable_account": "2330", "rate": "1.00001"}, "rate"),
        ({"code": "X", "name": "X", "payable_account": "2330", "method": "fixed", "amount": "-1"}, "amount"),
        ({"code": "TAX", "name": "X", "payable_account": "2330"}, "code"),
        ({"code": "X", "name": "X", "payable_account": "no such"}, "payable_account"),
        ({"code": "X", "name": "X"}, "payable_account"),
        ({"code": "X", "name": "X", "payable_account": "2330", "kind": "bonus"}, "kind"),
        ({"code": "X", "name": "X", "payable_account": "2330", "id": 5}, "id"),
    ):
        assert_error(hr.post(f"{HR}/payroll-items", json=body), 422, (field,))
    assert count(ext, PayrollItem) == 3
    made = ok(
        hr.post(
            f"{HR}/payroll-items",
            json={
                "code": "UNION",
                "name": "Union fee",
                "method": "fixed",
                "amount": "12.50",
                "payable_account": "2330",
            },
        ),
        201,
    )
    assert (made["kind"], made["method"], made["amount"], made["active"]) == (
        "deduction",
        "fixed",
        "12.50",
        True,
    )
    patched = ok(hr.patch(f"{HR}/payroll-items/{made['id']}", json={"amount": "15.00", "sequence": 40}))
    assert (patched["amount"], patched["sequence"]) == ("15.00", 40)
    assert_error(hr.patch(f"{HR}/payroll-items/{made['id']}", json={"code": "TAX"}), 422, ("code",))
    assert ok(hr.patch(f"{HR}/payroll-items/{made['id']}", json={"active": False}))["active"] is False

    assert ok(hr.get(f"{HR}/payroll-settings")) == {
        "journal_code": "PAY",
        "salary_expense_account": "6200",
        "contribution_expense_account": "6210",
        "net_payable_account": "2300",
    }
    assert_error(
        hr.patch(f"{HR}/payroll-settings", json={"net_payable_account": "23 00"}),
        422,
        ("net_payable_account",),
    )
    assert_error(hr.patch(f"{HR}/payroll-settings", json={"journal_code": "P/Y"}), 422, ("journal_code",))
    changed = ok(hr.patch(f"{HR}/payroll-settings", json={"net_payable_account": "2301"}))
    assert changed["net_payable_account"] == "2301"

    run = ok(hr.post(f"{HR}/payroll-runs", json={"month": "2026-11"}), 201)
    ok(hr.post(f"{HR}/payroll-runs/{run['id']}/confirm"))
    assert fetch(ext, Account, Account.code == "2301").type == "liability"


def test_the_openapi_document_describes_payroll(app, hr):
    spec = ok(hr.get("/api/v1/openapi.json"))
    for path in (
        "/api/v1/hr/payroll-runs",
        "/api/v1/hr/payroll-runs/{run_id}/confirm",
        "/api/v1/hr/payslips/{payslip_id}",
        "/api/v1/hr/payroll-items",
        "/api/v1/hr/payroll-settings",
    ):
        assert path in spec["paths"], path
