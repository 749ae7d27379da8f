"""The ledger through the REST API: accounts, journals, entries (draft, post, reverse, delete) and the
trial balance; amounts travel as decimal strings, dates as ISO 8601."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import pytest

from core.services.companies import set_lock_date
from core.testing import ApiClient

API = "/api/v1"
LEDGER = f"{API}/ledger"
CHART = [
    ("1000", "Cash", "asset"),
    ("1200", "Receivables", "asset"),
    ("2000", "Payables", "liability"),
    ("3000", "Capital", "equity"),
    ("4000", "Sales", "income"),
    ("6000", "Rent", "expense"),
]
NUMBER_RE = re.compile(r"^GJ/2026/\d{6}$")


# --- helpers ------------------------------------------------------------------------------------


def assert_error(response: Any, status: int, code: str | None = None, fields: tuple[str, ...] = ()) -> dict:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/json", body
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}, body
    assert isinstance(error["message"], str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    for name in fields:
        named = [k for k in error["fields"] if k == name or k.startswith(f"{name}.")]
        assert named, body
    assert "Traceback" not in body
    return error


def dr(account: str, amount: str, **extra: Any) -> dict:
    return {"account": account, "debit": amount, **extra}


def cr(account: str, amount: str, **extra: Any) -> dict:
    return {"account": account, "credit": amount, **extra}


def entry(
    *lines: dict, date: str = "2026-03-01", memo: str = "", post: bool | None = True, **extra: Any
) -> dict:
    body = {"journal": "GJ", "date": date, "memo": memo, "lines": list(lines), **extra}
    if post is not None:
        body["post"] = post
    return body


def sale(amount: str, **kwargs: Any) -> dict:
    return entry(dr("1200", amount), cr("4000", amount), **kwargs)


def created(response: Any) -> dict:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def entries(api: ApiClient, **query: Any) -> list[dict]:
    response = api.get(f"{LEDGER}/entries", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["items"]


def walk(api: ApiClient, path: str, **params: Any) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _page in range(100):
        response = api.get(path, query_string={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert len(response.json["items"]) <= params["limit"]
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination does not end")


@pytest.fixture
def ledger_api(admin_api: ApiClient) -> ApiClient:
    """The admin's API client, with a chart of accounts and the general journal GJ."""
    for code, name, kind in CHART:
        created(admin_api.post(f"{LEDGER}/accounts", json={"code": code, "name": name, "type": kind}))
    created(admin_api.post(f"{LEDGER}/journals", json={"code": "GJ", "name": "General journal"}))
    return admin_api


# --- accounts ---------------------------------------------------------------------------------------


def test_account_create_get_list_and_deactivate(admin_api: ApiClient) -> None:
    cash = created(
        admin_api.post(f"{LEDGER}/accounts", json={"code": "1000", "name": "Cash", "type": "asset"})
    )
    assert set(cash) == {"id", "code", "name", "type", "parent", "active"}
    assert (
        cash["code"] == "1000"
        and cash["type"] == "asset"
        and cash["active"] is True
        and cash["parent"] is None
    )
    petty = created(
        admin_api.post(
            f"{LEDGER}/accounts",
            json={"code": "1010", "name": "Petty cash", "type": "asset", "parent": "1000"},
        )
    )
    assert petty["parent"] == "1000"
    assert admin_api.get(f"{LEDGER}/accounts/{cash['id']}").json == cash

    listed = admin_api.get(f"{LEDGER}/accounts").json
    assert [a["code"] for a in listed["items"]] == ["1000", "1010"] and listed["next_cursor"] is None
    for code, name, kind in CHART[1:]:
        created(admin_api.post(f"{LEDGER}/accounts", json={"code": code, "name": name, "type": kind}))
    codes = ["1000", "1010", "1200", "2000", "3000", "4000", "6000"]
    assert [a["code"] for a in walk(admin_api, f"{LEDGER}/accounts", limit=2)] == codes
    assert [a["code"] for a in walk(admin_api, f"{LEDGER}/accounts", limit=3, sort="-code")] == codes[::-1]
    by_name = [a["name"] for a in walk(admin_api, f"{LEDGER}/accounts", limit=4, sort="name")]
    assert by_name == sorted(by_name)
    assert [
        a["code"] for a in admin_api.get(f"{LEDGER}/accounts", query_string={"q": "10"}).json["items"]
    ] == [
        "1000",
        "1010",
    ]
    assert [
        a["code"] for a in admin_api.get(f"{LEDGER}/accounts", query_string={"q": "cash"}).json["items"]
    ] == [
        "1000",
        "1010",
    ]

    off = admin_api.patch(f"{LEDGER}/accounts/{petty['id']}", json={"active": False})
    assert off.status_code == 200 and off.json["active"] is False and off.json["code"] == "1010"
    assert admin_api.get(f"{LEDGER}/accounts/{petty['id']}").json["active"] is False
    on = admin_api.patch(f"{LEDGER}/accounts/{petty['id']}", json={"active": True})
    assert on.json["active"] is True


def test_duplicate_account_codes_are_409(admin_api: ApiClient) -> None:
    created(admin_api.post(f"{LEDGER}/accounts", json={"code": "1000", "name": "Cash", "type": "asset"}))
    error = assert_error(
        admin_api.post(f"{LEDGER}/accounts", json={"code": "1000", "name": "Other", "type": "expense"}),
        409,
        "conflict",
        ("code",),
    )
    assert "1000" in error["message"]
    assert [a["name"] for a in admin_api.get(f"{LEDGER}/accounts").json["items"]] == ["Cash"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Cash", "type": "asset"}, "code"),
        ({"code": "1000", "type": "asset"}, "name"),
        ({"code": "1000", "name": "Cash"}, "type"),
        ({"code": "1000", "name": "Cash", "type": "cash"}, "type"),
        ({"code": "", "name": "Cash", "type": "asset"}, "code"),
        ({"code": "1" * 21, "name": "Cash", "type": "asset"}, "code"),
        ({"code": 1000, "name": "Cash", "type": "asset"}, "code"),
        ({"code": "1000", "name": None, "type": "asset"}, "name"),
        ({"code": "1000", "name": "Cash", "type": "asset", "parent": "9999"}, "parent"),
        ({"code": "1000", "name": "Cash", "type": "asset", "active": "maybe"}, "active"),
        ({"code": "1000", "name": "Cash", "type": "asset", "id": 5}, "id"),
        ({"code": "1000", "name": "Cash", "type": "asset", "company_id": 2}, "company_id"),
        ({"code": "1000", "name": "Cash", "type": "asset", "balance": "100"}, "balance"),
    ],
)
def test_account_bodies_are_validated(admin_api: ApiClient, body: dict, field: str) -> None:
    assert_error(admin_api.post(f"{LEDGER}/accounts", json=body), 422, "validation_error", (field,))
    assert admin_api.get(f"{LEDGER}/accounts").json["items"] == []


def test_account_patches_are_validated_and_unknown_accounts_404(ledger_api: ApiClient) -> None:
    cash = ledger_api.get(f"{LEDGER}/accounts").json["items"][0]
    path = f"{LEDGER}/accounts/{cash['id']}"
    for body, field in [
        ({}, "active"),
        ({"active": "maybe"}, "active"),
        ({"active": None}, "active"),
        ({"active": False, "code": "9999"}, "code"),
        ({"active": False, "name": "Renamed"}, "name"),
        ({"active": False, "id": 1}, "id"),
    ]:
        assert_error(ledger_api.patch(path, json=body), 422, "validation_error", (field,))
    assert ledger_api.get(path).json == cash
    for method in ("get", "patch"):
        error = assert_error(
            getattr(ledger_api, method)(f"{LEDGER}/accounts/987654", json={"active": True}), 404
        )
        assert error["code"] == "not_found"
    for bad in ("abc", "1000x", "-1", "9" * 30):
        assert_error(ledger_api.get(f"{LEDGER}/accounts/{bad}"), 404)
    assert_error(
        ledger_api.get(f"{LEDGER}/accounts", query_string={"sort": "balance"}), 422, fields=("sort",)
    )
    assert_error(ledger_api.get(f"{LEDGER}/accounts", query_string={"cursor": "@@"}), 422, fields=("cursor",))


def test_an_inactive_account_takes_no_new_entries(ledger_api: ApiClient) -> None:
    rent = next(a for a in ledger_api.get(f"{LEDGER}/accounts").json["items"] if a["code"] == "6000")
    ledger_api.patch(f"{LEDGER}/accounts/{rent['id']}", json={"active": False})
    error = assert_error(
        ledger_api.post(f"{LEDGER}/entries", json=entry(dr("6000", "10"), cr("1000", "10"))),
        422,
        "validation_error",
        ("lines.0.account",),
    )
    assert "inactive" in json.dumps(error)
    assert entries(ledger_api) == []


# --- journals ---------------------------------------------------------------------------------------


def test_journals_create_and_list(admin_api: ApiClient) -> None:
    general = created(admin_api.post(f"{LEDGER}/journals", json={"code": "GJ", "name": "General"}))
    assert general == {"id": general["id"], "code": "GJ", "name": "General", "prefix": "GJ"}
    sales = created(
        admin_api.post(f"{LEDGER}/journals", json={"code": "SAL", "name": "Sales", "prefix": "INV"})
    )
    assert sales["prefix"] == "INV"
    created(admin_api.post(f"{LEDGER}/journals", json={"code": "BNK", "name": "Bank"}))
    listed = admin_api.get(f"{LEDGER}/journals").json
    assert [j["code"] for j in listed["items"]] == ["BNK", "GJ", "SAL"] and listed["next_cursor"] is None
    assert [j["code"] for j in walk(admin_api, f"{LEDGER}/journals", limit=1)] == ["BNK", "GJ", "SAL"]
    assert [j["code"] for j in walk(admin_api, f"{LEDGER}/journals", limit=2, sort="-code")] == [
        "SAL",
        "GJ",
        "BNK",
    ]
    assert [
        j["code"] for j in admin_api.get(f"{LEDGER}/journals", query_string={"q": "sal"}).json["items"]
    ] == ["SAL"]

    error = assert_error(
        admin_api.post(f"{LEDGER}/journals", json={"code": "GJ", "name": "Again"}), 409, "conflict", ("code",)
    )
    assert "GJ" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "General"}, "code"),
        ({"code": "GJ"}, "name"),
        ({"code": "G/J", "name": "General"}, "code"),
        ({"code": "GJ", "name": "General", "prefix": "A/B"}, "prefix"),
        ({"code": "GJ", "name": 5}, "name"),
        ({"code": "GJ", "name": "General", "id": 3}, "id"),
        ({"code": "GJ", "name": "General", "next_number": 1}, "next_number"),
    ],
)
def test_journal_bodies_are_validated(admin_api: ApiClient, body: dict, field: str) -> None:
    assert_error(admin_api.post(f"{LEDGER}/journals", json=body), 422, "validation_error", (field,))
    assert admin_api.get(f"{LEDGER}/journals").json["items"] == []


def test_journal_list_parameters_are_validated(admin_api: ApiClient) -> None:
    for query, field in [
        ({"sort": "prefix"}, "sort"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "####"}, "cursor"),
    ]:
        assert_error(
            admin_api.get(f"{LEDGER}/journals", query_string=query), 422, "validation_error", (field,)
        )


# --- entries ------------------------------------------------------------------------------------------


def test_post_an_entry_at_once(ledger_api: ApiClient, admin_user: int) -> None:
    contact = created(ledger_api.post(f"{API}/contacts", json={"name": "Customer"}))
    response = ledger_api.post(
        f"{LEDGER}/entries",
        json=entry(
            dr("1200", "100", contact_id=contact["id"], memo="invoice 1"),
            cr("4000", "100.00"),
            memo="First sale",
        ),
    )
    posted = created(response)
    assert posted["number"] == "GJ/2026/000001"
    assert posted["state"] == "posted" and posted["journal"] == "GJ" and posted["memo"] == "First sale"
    assert posted["date"] == "2026-03-01"
    assert isinstance(posted["posted_at"], str) and dt.datetime.fromisoformat(posted["posted_at"])
    assert posted["reversal_of_id"] is None
    assert "post" not in posted
    assert posted["lines"] == [
        {
            "account": "1200",
            "debit": "100.00",
            "credit": "0.00",
            "contact_id": contact["id"],
            "memo": "invoice 1",
        },
        {"account": "4000", "debit": "0.00", "credit": "100.00", "contact_id": None, "memo": ""},
    ]
    assert ledger_api.get(f"{LEDGER}/entries/{posted['id']}").json == posted

    second = created(ledger_api.post(f"{LEDGER}/entries", json=sale("0.10", date="2026-04-02")))
    assert second["number"] == "GJ/2026/000002"
    other_year = created(ledger_api.post(f"{LEDGER}/entries", json=sale("1", date="2027-01-05")))
    assert other_year["number"] == "GJ/2027/000001"
    assert [e["number"] for e in entries(ledger_api)] == [
        posted["number"],
        second["number"],
        other_year["number"],
    ]


def test_amounts_are_decimal_strings_without_float_errors(ledger_api: ApiClient) -> None:
    body = entry(dr("1000", "0.10"), dr("1000", "0.20"), cr("4000", "0.30"))
    posted = created(ledger_api.post(f"{LEDGER}/entries", json=body))
    assert [line["debit"] for line in posted["lines"]] == ["0.10", "0.20", "0.00"]
    assert posted["lines"][2]["credit"] == "0.30"
    big = created(ledger_api.post(f"{LEDGER}/entries", json=sale("123456789012.34")))
    assert big["lines"][0]["debit"] == "123456789012.34"
    # A JSON number is accepted too, and comes back as a string.
    from_number = created(
        ledger_api.post(f"{LEDGER}/entries", json=entry(dr("1000", 12.5), cr("4000", 12.5)))
    )
    assert from_number["lines"][0]["debit"] == "12.50"
    tb = ledger_api.get(f"{LEDGER}/trial-balance").json
    cash = next(r for r in tb["rows"] if r["account"] == "1000")
    assert cash["debit"] == "12.80" and cash["balance"] == "12.80"


def test_an_unbalanced_entry_is_422_and_nothing_is_stored(ledger_api: ApiClient) -> None:
    error = assert_error(
        ledger_api.post(f"{LEDGER}/entries", json=entry(dr("1000", "100"), cr("4000", "99.99"))),
        422,
        "validation_error",
        ("lines",),
    )
    assert "unbalanced" in error["message"] + json.dumps(error["fields"])
    assert entries(ledger_api) == []
    # No number was used up either.
    assert created(ledger_api.post(f"{LEDGER}/entries", json=sale("5")))["number"] == "GJ/2026/000001"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (entry(dr("9999", "5"), cr("4000", "5")), "lines.0.account"),
        (entry(dr("1000", "5"), cr("", "5")), "lines.1.account"),
        ({**sale("5"), "journal": "NOPE"}, "journal"),
        (sale("5", date="2026-02-30"), "date"),
        (sale("5", date="01/03/2026"), "date"),
        (sale("5", date="2026-03-01T10:00:00"), "date"),
        ({**sale("5"), "date": None}, "date"),
        (entry(dr("1000", "abc"), cr("4000", "5")), "lines.0.debit"),
        (entry(dr("1000", "-5"), cr("4000", "-5")), "lines.0.debit"),
        (entry(dr("1000", "5.001"), cr("4000", "5.001")), "lines.0.debit"),
        (entry(dr("1000", "NaN"), cr("4000", "5")), "lines.0.debit"),
        (entry(dr("1000", "Infinity"), cr("4000", "5")), "lines.0.debit"),
        (entry(dr("1000", "1e30"), cr("4000", "1e30")), "lines.0.debit"),
        (entry(dr("1000", "9" * 40), cr("4000", "9" * 40)), "lines.0.debit"),
        (entry({"account": "1000", "debit": "5", "credit": "5"}, cr("4000", "5")), "lines.0"),
        (entry({"account": "1000"}, cr("4000", "5")), "lines.0"),
        (entry(dr("1000", "5")), "lines"),
        (entry(), "lines"),
        ({**sale("5"), "lines": "everything"}, "lines"),
        (entry(dr("1000", "5", contact_id=987654), cr("4000", "5")), "lines.0.contact_id"),
        (entry(dr("1000", "5", contact_id="me"), cr("4000", "5")), "lines.0.contact_id"),
        (entry(dr("1000", "5", tax="x"), cr("4000", "5")), "lines.0.tax"),
        (entry(dr(1000, "5"), cr("4000", "5")), "lines.0.account"),
        ({**sale("5"), "post": "yes please"}, "post"),
        ({**sale("5"), "memo": "m" * 501}, "memo"),
        # Read-only fields: no mass assignment.
        ({**sale("5"), "id": 1}, "id"),
        ({**sale("5"), "state": "posted"}, "state"),
        ({**sale("5"), "number": "GJ/2026/999999"}, "number"),
        ({**sale("5"), "created_at": "2026-01-01T00:00:00"}, "created_at"),
        ({**sale("5"), "posted_at": "2026-01-01T00:00:00"}, "posted_at"),
        ({**sale("5"), "reversal_of_id": 1}, "reversal_of_id"),
        ({**sale("5"), "source_plugin": "accounting"}, "source_plugin"),
        ({**sale("5"), "company_id": 2}, "company_id"),
    ],
)
def test_entry_bodies_are_validated_and_nothing_is_stored(
    ledger_api: ApiClient, body: dict, field: str
) -> None:
    assert_error(ledger_api.post(f"{LEDGER}/entries", json=body), 422, "validation_error", (field,))
    assert entries(ledger_api) == []


def test_the_same_mistakes_are_refused_for_drafts(ledger_api: ApiClient) -> None:
    unknown = entry(dr("9999", "5"), cr("4000", "5"), post=False)
    assert_error(ledger_api.post(f"{LEDGER}/entries", json=unknown), 422, fields=("lines.0.account",))
    assert entries(ledger_api) == []


def test_a_locked_period_refuses_postings(ledger_api: ApiClient, session: Any) -> None:
    set_lock_date(session, dt.date(2026, 3, 31))
    session.commit()
    for date in ("2026-03-31", "2026-01-01", "2025-12-31"):
        error = assert_error(
            ledger_api.post(f"{LEDGER}/entries", json=sale("5", date=date)),
            422,
            "validation_error",
            ("date",),
        )
        assert "2026-03-31" in error["message"]
    assert entries(ledger_api) == []
    after = created(ledger_api.post(f"{LEDGER}/entries", json=sale("5", date="2026-04-01")))
    assert after["number"] == "GJ/2026/000001"

    # A draft in the locked period may be written, but not posted; the reversal of a posted
    # entry may not be dated in the locked period either.
    draft = created(ledger_api.post(f"{LEDGER}/entries", json=sale("7", date="2026-03-15", post=False)))
    assert_error(ledger_api.post(f"{LEDGER}/entries/{draft['id']}/post"), 422, fields=("date",))
    assert ledger_api.get(f"{LEDGER}/entries/{draft['id']}").json["state"] == "draft"
    refused = ledger_api.post(f"{LEDGER}/entries/{after['id']}/reverse", json={"date": "2026-03-01"})
    assert_error(refused, 422, fields=("date",))
    assert ledger_api.get(f"{LEDGER}/entries/{after['id']}").json["state"] == "posted"
    assert len(entries(ledger_api)) == 2


def test_draft_then_post(ledger_api: ApiClient) -> None:
    draft = created(ledger_api.post(f"{LEDGER}/entries", json=sale("40", post=False, memo="later")))
    assert draft["state"] == "draft" and draft["number"] is None and draft["posted_at"] is None
    draft2 = created(
        ledger_api.post(f"{LEDGER}/entries", json=sale("2", post=None))
    )  # "post" defaults to false
    assert draft2["state"] == "draft"
    # The balance of a draft is checked when it is posted.
    lopsided = created(
        ledger_api.post(f"{LEDGER}/entries", json=entry(dr("1000", "3"), cr("4000", "2"), post=False))
    )
    assert_error(ledger_api.post(f"{LEDGER}/entries/{lopsided['id']}/post"), 422, fields=("lines",))
    assert ledger_api.get(f"{LEDGER}/entries/{lopsided['id']}").json["state"] == "draft"

    posted = ledger_api.post(f"{LEDGER}/entries/{draft['id']}/post")
    assert posted.status_code == 200
    assert posted.json["state"] == "posted" and posted.json["number"] == "GJ/2026/000001"
    assert posted.json["memo"] == "later" and posted.json["id"] == draft["id"]
    dt.datetime.fromisoformat(posted.json["posted_at"])
    error = assert_error(ledger_api.post(f"{LEDGER}/entries/{draft['id']}/post"), 409, "conflict")
    assert "posted" in error["message"]
    assert_error(ledger_api.post(f"{LEDGER}/entries/987654/post"), 404, "not_found")
    assert_error(ledger_api.post(f"{LEDGER}/entries/abc/post"), 404)


def test_reverse_a_posted_entry(ledger_api: ApiClient) -> None:
    original = created(ledger_api.post(f"{LEDGER}/entries", json=sale("250.50", memo="Oops")))
    response = ledger_api.post(f"{LEDGER}/entries/{original['id']}/reverse", json={})
    reversal = created(response)
    assert reversal["state"] == "posted" and reversal["reversal_of_id"] == original["id"]
    assert reversal["number"] == "GJ/2026/000002" and reversal["date"] == original["date"]
    assert reversal["memo"] == f"Reversal of {original['number']}"
    assert [(line["account"], line["debit"], line["credit"]) for line in reversal["lines"]] == [
        ("1200", "0.00", "250.50"),
        ("4000", "250.50", "0.00"),
    ]
    now = ledger_api.get(f"{LEDGER}/entries/{original['id']}").json
    assert now["state"] == "reversed" and now["number"] == original["number"]
    assert now["lines"] == original["lines"]

    assert_error(ledger_api.post(f"{LEDGER}/entries/{original['id']}/reverse", json={}), 409, "conflict")
    # With a date and a memo of its own; without a body at all.
    other = created(ledger_api.post(f"{LEDGER}/entries", json=sale("10")))
    dated = created(
        ledger_api.post(
            f"{LEDGER}/entries/{other['id']}/reverse", json={"date": "2026-05-01", "memo": "Undo"}
        )
    )
    assert dated["date"] == "2026-05-01" and dated["memo"] == "Undo"
    third = created(ledger_api.post(f"{LEDGER}/entries", json=sale("11")))
    assert (
        created(ledger_api.post(f"{LEDGER}/entries/{third['id']}/reverse"))["reversal_of_id"] == third["id"]
    )

    tb = ledger_api.get(f"{LEDGER}/trial-balance").json
    assert {r["account"]: r["balance"] for r in tb["rows"]} == {"1200": "0.00", "4000": "0.00"}


def test_reverse_refusals(ledger_api: ApiClient) -> None:
    draft = created(ledger_api.post(f"{LEDGER}/entries", json=sale("5", post=False)))
    error = assert_error(ledger_api.post(f"{LEDGER}/entries/{draft['id']}/reverse", json={}), 409, "conflict")
    assert "draft" in error["message"]
    posted = created(ledger_api.post(f"{LEDGER}/entries", json=sale("5")))
    path = f"{LEDGER}/entries/{posted['id']}/reverse"
    for body, field in [
        ({"date": "tomorrow"}, "date"),
        ({"date": 20260301}, "date"),
        ({"memo": 5}, "memo"),
        ({"lines": []}, "lines"),
        ({"state": "draft"}, "state"),
    ]:
        assert_error(ledger_api.post(path, json=body), 422, "validation_error", (field,))
    assert ledger_api.get(f"{LEDGER}/entries/{posted['id']}").json["state"] == "posted"
    assert_error(ledger_api.post(f"{LEDGER}/entries/987654/reverse", json={}), 404, "not_found")
    assert len(entries(ledger_api)) == 2


def test_delete_a_draft_but_not_a_posted_entry(ledger_api: ApiClient) -> None:
    draft = created(ledger_api.post(f"{LEDGER}/entries", json=sale("5", post=False)))
    deleted = ledger_api.delete(f"{LEDGER}/entries/{draft['id']}")
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_error(ledger_api.get(f"{LEDGER}/entries/{draft['id']}"), 404, "not_found")
    assert_error(ledger_api.delete(f"{LEDGER}/entries/{draft['id']}"), 404, "not_found")

    posted = created(ledger_api.post(f"{LEDGER}/entries", json=sale("5")))
    error = assert_error(ledger_api.delete(f"{LEDGER}/entries/{posted['id']}"), 409, "conflict")
    assert "revers" in error["message"]
    assert ledger_api.get(f"{LEDGER}/entries/{posted['id']}").json == posted
    created(ledger_api.post(f"{LEDGER}/entries/{posted['id']}/reverse", json={}))
    assert_error(ledger_api.delete(f"{LEDGER}/entries/{posted['id']}"), 409, "conflict")
    assert [e["state"] for e in entries(ledger_api)] == ["reversed", "posted"]


def test_unknown_entries_are_404(ledger_api: ApiClient) -> None:
    for method, suffix in (("get", ""), ("delete", ""), ("post", "/post"), ("post", "/reverse")):
        error = assert_error(
            getattr(ledger_api, method)(f"{LEDGER}/entries/987654{suffix}"), 404, "not_found"
        )
        assert "987654" in error["message"]
    for bad in ("abc", "1.0", "-3", "9" * 25):
        assert_error(ledger_api.get(f"{LEDGER}/entries/{bad}"), 404)


def test_posting_needs_the_post_permission(ledger_api: ApiClient, make_api_client: Any) -> None:
    clerk = make_api_client("clerk@test.example", permissions=("ledger.view", "ledger.entry.create"))
    error = assert_error(clerk.post(f"{LEDGER}/entries", json=sale("5")), 403, "permission_denied")
    assert error["message"] == "needs ledger.entry.post"
    assert entries(ledger_api) == []
    draft = created(clerk.post(f"{LEDGER}/entries", json=sale("5", post=False)))
    assert_error(clerk.post(f"{LEDGER}/entries/{draft['id']}/post"), 403, "permission_denied")
    assert clerk.get(f"{LEDGER}/entries/{draft['id']}").json["state"] == "draft"
    # Reversing posts the mirror entry: it needs both permissions.
    posted = created(ledger_api.post(f"{LEDGER}/entries", json=sale("6")))
    reverser = make_api_client("rev@test.example", permissions=("ledger.view", "ledger.entry.reverse"))
    error = assert_error(reverser.post(f"{LEDGER}/entries/{posted['id']}/reverse", json={}), 403)
    assert error["message"] == "needs ledger.entry.post"
    assert ledger_api.get(f"{LEDGER}/entries/{posted['id']}").json["state"] == "posted"
    viewer = make_api_client("view@test.example", permissions=("ledger.view",))
    assert viewer.get(f"{LEDGER}/trial-balance").status_code == 200
    assert_error(viewer.delete(f"{LEDGER}/entries/{draft['id']}"), 403, "permission_denied")


def test_entry_lists_filter_sort_and_page(ledger_api: ApiClient) -> None:
    created(ledger_api.post(f"{LEDGER}/journals", json={"code": "SAL", "name": "Sales", "prefix": "INV"}))
    made = []
    for i in range(7):
        body = sale(str(i + 1), date=f"2026-0{1 + i % 3}-1{i}")
        if i % 2:
            body["journal"] = "SAL"
        if i == 5:
            body["post"] = False
        made.append(created(ledger_api.post(f"{LEDGER}/entries", json=body)))
    ids = [e["id"] for e in made]
    assert [e["id"] for e in walk(ledger_api, f"{LEDGER}/entries", limit=3)] == ids
    assert [e["id"] for e in walk(ledger_api, f"{LEDGER}/entries", limit=2, sort="-id")] == ids[::-1]
    by_date = walk(ledger_api, f"{LEDGER}/entries", limit=2, sort="date")
    assert [(e["date"], e["id"]) for e in by_date] == sorted((e["date"], e["id"]) for e in made)
    by_date_desc = walk(ledger_api, f"{LEDGER}/entries", limit=3, sort="-date")
    assert [e["date"] for e in by_date_desc] == sorted((e["date"] for e in made), reverse=True)
    by_number = walk(ledger_api, f"{LEDGER}/entries", limit=2, sort="number")
    assert len(by_number) == 7 and by_number[-1]["number"] is None  # the draft has none: last
    numbers = [e["number"] for e in by_number[:-1]]
    assert numbers == sorted(numbers)
    assert len({e["id"] for e in walk(ledger_api, f"{LEDGER}/entries", limit=2, sort="-number")}) == 7

    assert {e["journal"] for e in entries(ledger_api, journal="SAL")} == {"SAL"}
    assert len(entries(ledger_api, journal="SAL")) == 3
    assert all(
        e["number"].startswith("INV/2026/") for e in entries(ledger_api, journal="SAL", state="posted")
    )
    assert [e["id"] for e in entries(ledger_api, state="draft")] == [made[5]["id"]]
    assert len(entries(ledger_api, state="posted")) == 6
    march = entries(ledger_api, date_from="2026-03-01", date_to="2026-03-31")
    assert sorted(e["date"] for e in march) == ["2026-03-12", "2026-03-15"]

    for query, field in [
        ({"journal": "NOPE"}, "journal"),
        ({"state": "deleted"}, "state"),
        ({"date_from": "March"}, "date_from"),
        ({"date_to": "2026-02-30"}, "date_to"),
        ({"sort": "memo"}, "sort"),
        ({"sort": "-"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "bad"}, "cursor"),
    ]:
        assert_error(
            ledger_api.get(f"{LEDGER}/entries", query_string=query), 422, "validation_error", (field,)
        )
    # A cursor of the date order is not one of the number order (nor a forged one).
    cursor = ledger_api.get(f"{LEDGER}/entries", query_string={"sort": "date", "limit": 1}).json[
        "next_cursor"
    ]
    for sort in ("number", "id"):
        response = ledger_api.get(f"{LEDGER}/entries", query_string={"sort": sort, "cursor": cursor})
        assert_error(response, 422, "validation_error", ("cursor",))
    forged = base64.urlsafe_b64encode(json.dumps(["d", "2026-01-01", 2**70]).encode()).decode()
    assert_error(
        ledger_api.get(f"{LEDGER}/entries", query_string={"sort": "date", "cursor": forged}),
        422,
        fields=("cursor",),
    )


def test_an_idempotent_retry_does_not_post_twice(ledger_api: ApiClient) -> None:
    headers = {"Idempotency-Key": "sale-42"}
    first = created(ledger_api.post(f"{LEDGER}/entries", json=sale("42"), headers=headers))
    second = ledger_api.post(f"{LEDGER}/entries", json=sale("42"), headers=headers)
    assert second.status_code == 201 and second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first
    assert [e["number"] for e in entries(ledger_api)] == ["GJ/2026/000001"]


# --- trial balance ------------------------------------------------------------------------------------


def test_trial_balance(ledger_api: ApiClient) -> None:
    created(
        ledger_api.post(
            f"{LEDGER}/entries", json=entry(dr("1000", "1000"), cr("3000", "1000"), date="2026-01-02")
        )
    )
    created(ledger_api.post(f"{LEDGER}/entries", json=sale("100", date="2026-02-01")))
    created(
        ledger_api.post(
            f"{LEDGER}/entries", json=entry(dr("6000", "300"), cr("1000", "300"), date="2026-02-15")
        )
    )
    created(
        ledger_api.post(
            f"{LEDGER}/entries", json=entry(dr("1000", "100"), cr("1200", "100"), date="2026-03-10")
        )
    )
    created(ledger_api.post(f"{LEDGER}/entries", json=sale("999", date="2026-02-20", post=False)))  # a draft

    response = ledger_api.get(f"{LEDGER}/trial-balance", query_string={"date_to": "2026-02-28"})
    assert response.status_code == 200
    tb = response.json
    assert tb["date_to"] == "2026-02-28" and tb["date_from"] is None
    rows = {r["account"]: r for r in tb["rows"]}
    assert list(rows) == ["1000", "1200", "3000", "4000", "6000"]
    assert rows["1000"] == {
        "account": "1000",
        "name": "Cash",
        "type": "asset",
        "debit": "1000.00",
        "credit": "300.00",
        "balance": "700.00",
    }
    assert (rows["1200"]["debit"], rows["1200"]["balance"]) == ("100.00", "100.00")
    assert (rows["4000"]["credit"], rows["4000"]["balance"]) == ("100.00", "-100.00")
    assert (rows["3000"]["credit"], rows["6000"]["debit"]) == ("1000.00", "300.00")
    assert tb["total_debit"] == tb["total_credit"] == "1400.00"
    for row in tb["rows"]:
        for key in ("debit", "credit", "balance"):
            assert isinstance(row[key], str) and re.fullmatch(r"-?\d+\.\d{2}", row[key]), row

    full = ledger_api.get(f"{LEDGER}/trial-balance").json
    assert full["date_to"] is None
    assert full["total_debit"] == full["total_credit"] == "1500.00"
    assert {r["account"]: r["balance"] for r in full["rows"]}["1200"] == "0.00"

    march = ledger_api.get(
        f"{LEDGER}/trial-balance", query_string={"date_from": "2026-03-01", "date_to": "2026-03-31"}
    ).json
    assert [(r["account"], r["balance"]) for r in march["rows"]] == [("1000", "100.00"), ("1200", "-100.00")]
    assert march["date_from"] == "2026-03-01"
    empty = ledger_api.get(f"{LEDGER}/trial-balance", query_string={"date_to": "2025-12-31"}).json
    assert empty["rows"] == [] and empty["total_debit"] == empty["total_credit"]


def test_trial_balance_parameters_are_validated(ledger_api: ApiClient) -> None:
    for query, field in [
        ({"date_to": "2026-13-40"}, "date_to"),
        ({"date_to": "yesterday"}, "date_to"),
        ({"date_from": "2026/01/01"}, "date_from"),
    ]:
        assert_error(
            ledger_api.get(f"{LEDGER}/trial-balance", query_string=query), 422, "validation_error", (field,)
        )


def test_a_cursor_of_a_list_sorted_by_an_amount_column_is_accepted():
    from decimal import Decimal

    from core.errors import ValidationError
    from core.models import JournalLine
    from core.pagination import decode_cursor, encode_cursor

    cursor = encode_cursor((Decimal("12.50"), 7))
    assert decode_cursor(cursor, column=JournalLine.debit) == (Decimal("12.50"), 7)
    with pytest.raises(ValidationError):
        decode_cursor(encode_cursor(("not an amount", 7)), column=JournalLine.debit)
