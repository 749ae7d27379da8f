"""Ledger pages through real HTTP with CSRF on: accounts, journals, entries (new, post, reverse),
the trial balance and their CSV exports."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.models import Account, Journal, JournalEntry, JournalLine
from core.services import ledger as ledger_service
from tests.core.web_helpers import (
    add_entry,
    assert_forbidden,
    count,
    csv_rows,
    fetch,
    field_error,
    flashes,
    next_page_link,
    page,
    redirect_path,
    sale,
    seed_books,
    snapshot,
    submit,
    system_session,
    table_column,
    visible,
)


@pytest.fixture
def books(ext: Any) -> None:
    seed_books(ext)


@pytest.fixture
def entries(ext: Any, books: None) -> dict[str, int]:
    """A posted GJ entry in March, a posted SJ sale in April, a GJ draft in May."""
    march, _ = add_entry(
        ext,
        [{"account": "1000", "debit": "1000.00"}, {"account": "3000", "credit": "1000.00"}],
        date="2026-03-01",
        memo="Opening capital",
    )
    april, _ = add_entry(ext, sale("250.00"), date="2026-04-15", journal="SJ", memo="Invoice 1")
    may, _ = add_entry(
        ext,
        [{"account": "6000", "debit": "400.00"}, {"account": "1000", "credit": "400.00"}],
        date="2026-05-01",
        memo="May rent",
        post=False,
    )
    return {"march": march, "april": april, "may": may}


def entry_form(lines: list[tuple[str, str, str]], *, action: str, journal: str = "GJ", **extra: str) -> dict:
    return {
        "journal": journal,
        "date": "2026-03-10",
        "memo": "Test entry",
        "line_account": [a for a, _, _ in lines],
        "line_debit": [d for _, d, _ in lines],
        "line_credit": [c for _, _, c in lines],
        "line_memo": [f"line {n}" for n in range(len(lines))],
        "action": action,
        **extra,
    }


def entry_id_of(response: Any) -> int:
    match = re.fullmatch(r"/ledger/entries/(\d+)", redirect_path(response))
    assert match, response.headers["Location"]
    return int(match.group(1))


# --- accounts ---------------------------------------------------------------------------------------------


def test_the_chart_of_accounts_is_listed(admin_client, books):
    response = admin_client.get("/ledger/accounts")
    assert response.status_code == 200
    assert "Chart of accounts" in visible(response)
    assert table_column(response, 0) == ["1000", "1200", "2000", "3000", "4000", "6000"]
    assert table_column(response, 1)[0] == "Cash"
    assert table_column(response, 2)[2] == "liability"
    assert all(status.startswith("Active") for status in table_column(response, 3))
    by_name = admin_client.get("/ledger/accounts?sort=name&dir=desc")
    assert table_column(by_name, 1) == ["Sales", "Rent", "Receivables", "Payables", "Cash", "Capital"]


def test_an_empty_chart_says_so(admin_client):
    assert "No accounts yet." in visible(admin_client.get("/ledger/accounts"))


def test_an_account_is_created(admin_client, ext, books):
    assert "New account" in visible(admin_client.get("/ledger/accounts/new"))
    response = submit(
        admin_client,
        "/ledger/accounts/new",
        {"code": "1010", "name": "Petty cash", "type": "asset", "parent": "1000"},
    )
    assert redirect_path(response) == "/ledger/accounts"
    listing = admin_client.get("/ledger/accounts")
    assert "Account 1010 created." in flashes(listing)
    assert "1010" in table_column(listing, 0)
    account = fetch(ext, Account, Account.code == "1010")
    assert account.parent_id == fetch(ext, Account, Account.code == "1000").id


def test_an_invalid_account_shows_the_errors(admin_client, ext, books):
    before = snapshot(ext)
    response = submit(admin_client, "/ledger/accounts/new", {"code": "", "name": "", "type": "asset"})
    assert response.status_code == 422
    assert field_error(response, "code") == "is required (at most 20 characters)"
    assert field_error(response, "name") == "is required (at most 200 characters)"
    response = submit(admin_client, "/ledger/accounts/new", {"code": "7000", "name": "X", "type": "magic"})
    assert response.status_code == 422
    assert field_error(response, "type").startswith("must be one of asset")
    response = submit(
        admin_client, "/ledger/accounts/new", {"code": "7000", "name": "X", "type": "asset", "parent": "99"}
    )
    assert field_error(response, "parent") == "unknown account '99'"
    assert snapshot(ext) == before


def test_a_duplicate_account_code_is_shown_in_the_form(admin_client, ext, books):
    before = snapshot(ext)
    response = submit(
        admin_client, "/ledger/accounts/new", {"code": "1000", "name": "Other cash", "type": "asset"}
    )
    assert response.status_code == 422
    assert field_error(response, "code") == "already in use"
    assert 'value="Other cash"' in page(response)
    assert snapshot(ext) == before


def test_an_account_is_deactivated_and_activated(admin_client, ext, books):
    rent = fetch(ext, Account, Account.code == "6000")
    path = f"/ledger/accounts/{rent.id}/toggle"
    assert redirect_path(submit(admin_client, path, form_page="/ledger/accounts")) == "/ledger/accounts"
    assert fetch(ext, Account, Account.id == rent.id).active is False
    listing = admin_client.get("/ledger/accounts")
    assert table_column(listing, 3)[-1] == "Inactive Activate"
    # An inactive account is not offered for new entries.
    assert 'value="6000"' not in page(admin_client.get("/ledger/entries/new"))
    submit(admin_client, path, form_page="/ledger/accounts")
    assert fetch(ext, Account, Account.id == rent.id).active is True


def test_managing_accounts_needs_its_permission(make_client, ext, books):
    client = make_client("viewer@test.example", permissions=("ledger.view",))
    listing = client.get("/ledger/accounts")
    assert listing.status_code == 200
    assert "New account" not in visible(listing) and "Deactivate" not in visible(listing)
    before = snapshot(ext)
    assert_forbidden(client.get("/ledger/accounts/new"), "ledger.account.manage")
    rent = fetch(ext, Account, Account.code == "6000")
    response = submit(client, f"/ledger/accounts/{rent.id}/toggle", form_page="/")
    assert_forbidden(response, "ledger.account.manage")
    assert snapshot(ext) == before


def test_the_accounts_csv(admin_client, ext, books):
    submit(
        admin_client,
        f"/ledger/accounts/{fetch(ext, Account, Account.code == '6000').id}/toggle",
        form_page="/",
    )
    rows = csv_rows(admin_client.get("/ledger/accounts?format=csv"))
    assert rows[0] == ["code", "name", "type", "active"]
    assert rows[1] == ["1000", "Cash", "asset", "True"]
    assert rows[-1] == ["6000", "Rent", "expense", "False"]
    assert len(rows) == 7


# --- journals -----------------------------------------------------------------------------------------------


def test_journals_are_listed_created_and_exported(admin_client, ext, books):
    listing = admin_client.get("/ledger/journals")
    assert listing.status_code == 200
    assert table_column(listing, 0) == ["GJ", "SJ"]
    assert "SAL/YEAR/000001" in visible(listing)
    response = submit(admin_client, "/ledger/journals/new", {"code": "PJ", "name": "Purchases", "prefix": ""})
    assert redirect_path(response) == "/ledger/journals"
    assert "Journal PJ created." in flashes(admin_client.get("/ledger/journals"))
    assert fetch(ext, Journal, Journal.code == "PJ").prefix == "PJ"
    rows = csv_rows(admin_client.get("/ledger/journals?format=csv"))
    assert rows == [
        ["code", "name", "prefix"],
        ["GJ", "General journal", "GJ"],
        ["PJ", "Purchases", "PJ"],
        ["SJ", "Sales journal", "SAL"],
    ]


def test_an_invalid_or_duplicate_journal_is_refused(admin_client, ext, books):
    before = snapshot(ext)
    response = submit(admin_client, "/ledger/journals/new", {"code": "GJ", "name": "Again"})
    assert response.status_code == 422
    assert field_error(response, "code") == "already in use"
    response = submit(admin_client, "/ledger/journals/new", {"code": "A/B", "name": ""})
    assert response.status_code == 422
    assert field_error(response, "code") == "is required (at most 20 characters, no '/')"
    assert field_error(response, "name") == "is required (at most 200 characters)"
    assert snapshot(ext) == before


def test_no_journals_yet_says_so(admin_client):
    assert "No journals yet." in visible(admin_client.get("/ledger/journals"))


# --- entries list ------------------------------------------------------------------------------------------


def test_entries_are_listed_newest_first(admin_client, entries):
    response = admin_client.get("/ledger/entries")
    assert response.status_code == 200
    assert table_column(response, 0) == [f"Draft #{entries['may']}", "SAL/2026/000001", "GJ/2026/000001"]
    assert table_column(response, 3) == ["May rent", "Invoice 1", "Opening capital"]
    assert table_column(response, 4) == ["draft", "posted", "posted"]
    assert table_column(response, 5) == ["400.00", "250.00", "1,000.00"]
    assert table_column(response, 1)[2] == "Mar 1, 2026"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("journal=SJ", ["Invoice 1"]),
        ("journal=GJ", ["May rent", "Opening capital"]),
        ("state=draft", ["May rent"]),
        ("state=posted", ["Invoice 1", "Opening capital"]),
        ("date_from=2026-04-01", ["May rent", "Invoice 1"]),
        ("date_to=2026-04-15", ["Invoice 1", "Opening capital"]),
        ("date_from=2026-04-01&date_to=2026-04-30&state=posted", ["Invoice 1"]),
        ("journal=GJ&state=reversed", []),
    ],
)
def test_entries_are_filtered(admin_client, entries, query, expected):
    response = admin_client.get(f"/ledger/entries?{query}")
    assert response.status_code == 200
    assert table_column(response, 3) == expected
    if not expected:
        assert "No journal entries match." in visible(response)


@pytest.mark.parametrize("query", ["", "?sort=number&dir=asc", "?sort=number&dir=desc", "?sort=date&dir=asc"])
def test_entry_pages_walk_through_every_entry_once(admin_client, ext, books, query):
    with system_session(ext) as session:  # 60 entries, every fourth a draft without a number
        for n in range(60):
            lines = [{"account": "1000", "debit": "1"}, {"account": "4000", "credit": "1"}]
            data = {"journal": "GJ", "date": f"2026-03-{n % 28 + 1:02d}", "memo": f"E{n:02d}", "lines": lines}
            ledger_service.create_entry(session, data, post=n % 4 != 0)
    seen: list[str] = []
    path: str | None = f"/ledger/entries{query}"
    while path:
        response = admin_client.get(path)
        assert response.status_code == 200
        seen += table_column(response, 3)
        path = next_page_link(response)
    assert sorted(seen) == [f"E{n:02d}" for n in range(60)]


def test_a_bad_date_filter_is_explained_and_ignored(admin_client, entries):
    response = admin_client.get("/ledger/entries?date_from=yesterday")
    assert response.status_code == 200
    assert "date_from is not a date (YYYY-MM-DD)" in flashes(response)
    assert len(table_column(response, 0)) == 3


def test_the_entries_csv_follows_the_filters(admin_client, entries):
    rows = csv_rows(admin_client.get("/ledger/entries?format=csv&state=posted"))
    assert rows == [
        ["number", "date", "journal", "memo", "state", "amount"],
        ["GJ/2026/000001", "2026-03-01", "GJ", "Opening capital", "posted", "1000.00"],
        ["SAL/2026/000001", "2026-04-15", "SJ", "Invoice 1", "posted", "250.00"],
    ]
    assert len(csv_rows(admin_client.get("/ledger/entries?format=csv"))) == 4


def test_entries_need_ledger_view(make_client, entries):
    client = make_client("sales@test.example", permissions=("contacts.view",))
    assert_forbidden(client.get("/ledger/entries"), "ledger.view")
    assert_forbidden(client.get(f"/ledger/entries/{entries['march']}"), "ledger.view")
    assert "Journal entries" not in visible(client.get("/"))


# --- new entry ---------------------------------------------------------------------------------------------


def test_the_new_entry_form_offers_journals_and_accounts(admin_client, books):
    response = admin_client.get("/ledger/entries/new")
    assert response.status_code == 200
    body = page(response)
    assert "New journal entry" in visible(response)
    assert '<option value="GJ"' in body and '<option value="SJ"' in body
    assert '<option value="1000" >1000 Cash</option>' in body
    assert body.count('name="line_account"') == 2
    assert "Save draft" in visible(response) and 'value="post"' in body


def test_a_balanced_entry_is_posted(admin_client, ext, books):
    form = entry_form([("1000", "150.50", ""), ("4000", "", "100.50"), ("2000", "", "50")], action="post")
    response = submit(admin_client, "/ledger/entries/new", form)
    entry_id = entry_id_of(response)
    detail = admin_client.get(f"/ledger/entries/{entry_id}")
    assert "Entry GJ/2026/000001 posted." in flashes(detail)
    text = visible(detail)
    assert "GJ/2026/000001 posted" in text
    assert "Mar 10, 2026" in text and "Test entry" in text
    assert table_column(detail, 0) == ["1000 Cash", "4000 Sales", "2000 Payables"]
    assert table_column(detail, 3) == ["150.50", "", ""]
    assert table_column(detail, 4) == ["", "100.50", "50.00"]
    assert "Totals 150.50 150.50" in text
    assert "Reverse" in text
    assert count(ext, JournalLine) == 3


def test_an_unbalanced_entry_is_refused_and_nothing_is_stored(admin_client, ext, books):
    before = snapshot(ext)
    form = entry_form([("1000", "100", ""), ("4000", "", "90")], action="post")
    response = submit(admin_client, "/ledger/entries/new", form)
    assert response.status_code == 422
    assert "The entry was not saved." in visible(response)
    assert "unbalanced: debits 100.00 != credits 90.00" in visible(response)
    assert 'value="90"' in page(response)  # what was typed is kept
    assert snapshot(ext) == before


def test_invalid_lines_are_shown_next_to_the_line(admin_client, ext, books):
    before = snapshot(ext)
    form = entry_form([("1000", "-5", ""), ("9999", "", "5"), ("", "", "")], action="draft")
    response = submit(admin_client, "/ledger/entries/new", form)
    assert response.status_code == 422
    assert field_error(response, "lines-0-debit") == "must not be negative"
    assert field_error(response, "lines-1-account") == "unknown account '9999'"
    response = submit(
        admin_client, "/ledger/entries/new", entry_form([("1000", "5", "")], action="draft", date="someday")
    )
    assert response.status_code == 422
    assert field_error(response, "date") == "must be a date (YYYY-MM-DD)"
    assert "an entry needs at least two lines" in visible(response)
    assert snapshot(ext) == before


def test_a_draft_is_saved_without_a_number(admin_client, ext, books):
    form = entry_form([("6000", "70", ""), ("1000", "", "60")], action="draft")  # drafts may not balance yet
    response = submit(admin_client, "/ledger/entries/new", form)
    entry_id = entry_id_of(response)
    detail = admin_client.get(f"/ledger/entries/{entry_id}")
    assert "Draft saved." in flashes(detail)
    assert f"Draft #{entry_id} draft" in visible(detail)
    assert fetch(ext, JournalEntry, JournalEntry.id == entry_id).number is None
    assert f'action="/ledger/entries/{entry_id}/post"' in page(detail)


def test_a_user_who_may_not_post_can_only_save_drafts(make_client, ext, books):
    client = make_client("clerk@test.example", permissions=("ledger.view", "ledger.entry.create"))
    form_page = client.get("/ledger/entries/new")
    assert 'value="post"' not in page(form_page)
    before = snapshot(ext)
    form = entry_form([("1000", "10", ""), ("4000", "", "10")], action="post")
    assert_forbidden(submit(client, "/ledger/entries/new", form), "ledger.entry.post")
    assert snapshot(ext) == before
    response = submit(client, "/ledger/entries/new", {**form, "action": "draft"})
    entry_id = entry_id_of(response)
    detail = client.get(f"/ledger/entries/{entry_id}")
    assert "/post" not in page(detail)  # no Post button either
    assert_forbidden(submit(client, f"/ledger/entries/{entry_id}/post", form_page="/"), "ledger.entry.post")
    assert fetch(ext, JournalEntry, JournalEntry.id == entry_id).state == "draft"


def test_creating_entries_needs_its_permission(make_client, ext, books):
    client = make_client("viewer@test.example", permissions=("ledger.view",))
    assert "New entry" not in visible(client.get("/ledger/entries"))
    assert_forbidden(client.get("/ledger/entries/new"), "ledger.entry.create")
    form = entry_form([("1000", "10", ""), ("4000", "", "10")], action="draft")
    assert_forbidden(submit(client, "/ledger/entries/new", form, form_page="/"), "ledger.entry.create")
    assert count(ext, JournalEntry) == 0


# --- posting and reversing ---------------------------------------------------------------------------------


def test_a_draft_is_posted_from_its_page(admin_client, ext, entries):
    path = f"/ledger/entries/{entries['may']}"
    response = submit(admin_client, f"{path}/post", form_page=path)
    assert redirect_path(response) == path
    detail = admin_client.get(path)
    assert "Entry GJ/2026/000002 posted." in flashes(detail)
    assert "GJ/2026/000002 posted" in visible(detail)
    assert fetch(ext, JournalEntry, JournalEntry.id == entries["may"]).state == "posted"


def test_an_unbalanced_draft_is_not_posted(admin_client, ext, books):
    draft, _ = add_entry(
        ext, [{"account": "1000", "debit": "5"}, {"account": "4000", "credit": "4"}], post=False
    )
    before = snapshot(ext)
    path = f"/ledger/entries/{draft}"
    response = submit(admin_client, f"{path}/post", form_page=path)
    assert redirect_path(response) == path
    assert any("unbalanced: debits 5.00 != credits 4.00" in f for f in flashes(admin_client.get(path)))
    assert snapshot(ext) == before


def test_a_posted_entry_is_not_posted_again(admin_client, ext, entries):
    path = f"/ledger/entries/{entries['march']}"
    assert f'action="{path}/post"' not in page(admin_client.get(path))
    before = snapshot(ext)
    response = submit(admin_client, f"{path}/post", form_page=path)
    assert redirect_path(response) == path
    assert "entry GJ/2026/000001 is already posted" in flashes(admin_client.get(path))
    assert snapshot(ext) == before


def test_a_posted_entry_is_reversed_from_its_page(admin_client, ext, entries):
    path = f"/ledger/entries/{entries['march']}"
    response = submit(admin_client, f"{path}/reverse", {"date": "2026-03-31"}, form_page=path)
    reversal_id = entry_id_of(response)
    assert reversal_id != entries["march"]
    reversal = admin_client.get(f"/ledger/entries/{reversal_id}")
    assert "Reversed by GJ/2026/000002." in flashes(reversal)
    text = visible(reversal)
    assert "GJ/2026/000002 posted" in text and "Reversal of GJ/2026/000001" in text and "Mar 31, 2026" in text
    assert f'href="{path}"' in page(reversal)
    assert table_column(reversal, 3) == ["", "1,000.00"]  # debits and credits swapped
    original = admin_client.get(path)
    assert "GJ/2026/000001 reversed" in visible(original)
    assert "Reverse" not in visible(original)
    # Reversing again is refused with a message.
    response = submit(admin_client, f"{path}/reverse", form_page=f"/ledger/entries/{reversal_id}")
    assert redirect_path(response) == path
    assert "only posted entries can be reversed; this one is reversed" in flashes(admin_client.get(path))


def test_a_draft_cannot_be_reversed(admin_client, ext, entries):
    before = snapshot(ext)
    path = f"/ledger/entries/{entries['may']}"
    assert redirect_path(submit(admin_client, f"{path}/reverse", form_page=path)) == path
    assert "only posted entries can be reversed; this one is draft" in flashes(admin_client.get(path))
    assert snapshot(ext) == before


def test_reversing_needs_its_permission(make_client, ext, entries):
    client = make_client("poster@test.example", permissions=("ledger.view", "ledger.entry.post"))
    path = f"/ledger/entries/{entries['march']}"
    assert "Reverse" not in visible(client.get(path))
    before = snapshot(ext)
    assert_forbidden(submit(client, f"{path}/reverse", form_page=path), "ledger.entry.reverse")
    assert snapshot(ext) == before


# --- trial balance -----------------------------------------------------------------------------------------


def test_the_trial_balance_totals_are_equal(admin_client, entries):
    response = admin_client.get("/ledger/trial-balance")
    assert response.status_code == 200
    assert table_column(response, 0) == ["1000", "1200", "3000", "4000"]  # drafts are not counted
    assert table_column(response, 5) == ["1,000.00", "250.00", "-1,000.00", "-250.00"]
    body = page(response)
    debit = re.search(r'id="tb-total-debit">([^<]+)<', body).group(1)
    credit = re.search(r'id="tb-total-credit">([^<]+)<', body).group(1)
    assert debit == credit == "1,250.00"


def test_the_trial_balance_as_of_a_date(admin_client, entries):
    response = admin_client.get("/ledger/trial-balance?date_to=2026-03-31")
    assert table_column(response, 0) == ["1000", "3000"]
    assert 'value="2026-03-31"' in page(response)
    assert re.search(r'id="tb-total-debit">1,000.00<', page(response))
    response = admin_client.get("/ledger/trial-balance?date_from=2026-04-01")
    assert table_column(response, 0) == ["1200", "4000"]
    response = admin_client.get("/ledger/trial-balance?date_to=2026-01-31")
    assert "No posted entries in this period." in visible(response)


def test_the_trial_balance_csv(admin_client, entries):
    rows = csv_rows(admin_client.get("/ledger/trial-balance?format=csv&date_to=2026-12-31"))
    assert rows == [
        ["code", "account", "type", "debit", "credit", "balance"],
        ["1000", "Cash", "asset", "1000.00", "0.00", "1000.00"],
        ["1200", "Receivables", "asset", "250.00", "0.00", "250.00"],
        ["3000", "Capital", "equity", "0.00", "1000.00", "-1000.00"],
        ["4000", "Sales", "income", "0.00", "250.00", "-250.00"],
    ]
