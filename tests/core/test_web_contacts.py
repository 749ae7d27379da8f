"""Contact pages through real HTTP with CSRF on: list, filters, sort, keyset pages, CSV, create,
detail with the Ledger panel, edit and delete."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Contact
from tests.core.web_helpers import (
    add_contact,
    add_contacts,
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
    table_column,
    visible,
)


@pytest.fixture
def people(ext: Any) -> dict[str, int]:
    """Three people and an organisation; emails sort the other way round from names, one has none."""
    return {
        "ada": add_contact(ext, "Ada Lovelace", email="zz.ada@example.com", tags=["vip"]),
        "blaise": add_contact(ext, "Blaise Pascal", email="mm.blaise@example.com"),
        "charles": add_contact(ext, "Charles Babbage", tags=["vip", "engines"]),
        "acme": add_contact(ext, "Difference Engines Ltd", kind="organization", email="aa.info@example.com"),
    }


def names(response: Any) -> list[str]:
    assert response.status_code == 200, page(response)[:2000]
    return table_column(response, 0)


# --- list ----------------------------------------------------------------------------------------------


def test_the_contact_list_shows_every_contact(admin_client, people):
    response = admin_client.get("/contacts")
    assert names(response) == ["Ada Lovelace", "Blaise Pascal", "Charles Babbage", "Difference Engines Ltd"]
    assert table_column(response, 1) == ["Person", "Person", "Person", "Organization"]
    assert table_column(response, 2)[0] == "zz.ada@example.com"
    assert table_column(response, 4)[2] == "engines vip"
    assert f'href="/contacts/{people["ada"]}"' in page(response)
    assert "New contact" in visible(response)
    assert "Export CSV" in visible(response)


def test_an_empty_contact_list_says_so(admin_client):
    response = admin_client.get("/contacts")
    assert response.status_code == 200
    assert "No contacts yet." in visible(response)


def test_a_filter_without_matches_says_so(admin_client, people):
    response = admin_client.get("/contacts?q=nobody-like-this")
    assert "No contacts match." in visible(response)
    assert "<table" not in page(response)


def test_contacts_are_searched_by_name_and_email(admin_client, people):
    assert names(admin_client.get("/contacts?q=pascal")) == ["Blaise Pascal"]
    assert names(admin_client.get("/contacts?q=AA.INFO")) == ["Difference Engines Ltd"]
    assert 'value="pascal"' in page(admin_client.get("/contacts?q=pascal"))  # the filter stays filled in


def test_contacts_are_filtered_by_kind_and_tag(admin_client, people):
    assert names(admin_client.get("/contacts?kind=organization")) == ["Difference Engines Ltd"]
    assert names(admin_client.get("/contacts?kind=person&tag=vip")) == ["Ada Lovelace", "Charles Babbage"]
    assert names(admin_client.get("/contacts?tag=engines")) == ["Charles Babbage"]
    assert len(names(admin_client.get("/contacts?kind=bogus"))) == 4  # an unknown kind is ignored


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sort=name", ["Ada Lovelace", "Blaise Pascal", "Charles Babbage", "Difference Engines Ltd"]),
        (
            "sort=name&dir=desc",
            ["Difference Engines Ltd", "Charles Babbage", "Blaise Pascal", "Ada Lovelace"],
        ),
        # Contacts without an email come last in both directions.
        ("sort=email", ["Difference Engines Ltd", "Blaise Pascal", "Ada Lovelace", "Charles Babbage"]),
        (
            "sort=email&dir=desc",
            ["Ada Lovelace", "Blaise Pascal", "Difference Engines Ltd", "Charles Babbage"],
        ),
    ],
)
def test_contacts_are_sorted_by_name_or_email(admin_client, people, query, expected):
    response = admin_client.get(f"/contacts?{query}")
    assert names(response) == expected
    assert f'aria-sort="{"descending" if "desc" in query else "ascending"}"' in page(response)


def walk(client: Any, path: str) -> tuple[list[str], int]:
    """Follow "Next page" links from ``path``; returns every name seen and the number of pages."""
    seen: list[str] = []
    pages = 0
    next_path: str | None = path
    while next_path:
        response = client.get(next_path)
        if pages:
            assert "« First page" in visible(response)
        seen += names(response)
        next_path = next_page_link(response)
        pages += 1
        assert pages <= 10
    return seen, pages


def test_keyset_pages_walk_through_every_contact_once(admin_client, ext):
    add_contacts(ext, [{"name": f"Contact {n:03d}", "email": f"c{n:03d}@example.com"} for n in range(120)])
    first = admin_client.get("/contacts")
    assert "Next page »" in visible(first) and "« First page" not in visible(first)
    seen, pages = walk(admin_client, "/contacts")
    assert pages == 3
    assert seen == [f"Contact {n:03d}" for n in range(120)]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_keyset_pages_by_email_include_contacts_without_one(admin_client, ext, direction):
    # Every third contact has no email: those come last, after every page of emails.
    add_contacts(
        ext,
        [
            {"name": f"P{n:03d}", "email": None if n % 3 == 0 else f"e{119 - n:03d}@example.com"}
            for n in range(120)
        ],
    )
    seen, pages = walk(admin_client, f"/contacts?sort=email&dir={direction}")
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    with_email = [f"P{n:03d}" for n in range(119, -1, -1) if n % 3]
    if direction == "desc":
        with_email.reverse()
    assert seen[:80] == with_email
    assert sorted(seen[80:]) == [f"P{n:03d}" for n in range(0, 120, 3)]


def test_keyset_pages_keep_sort_and_filters(admin_client, ext):
    add_contacts(
        ext,
        [{"name": f"Member {n:03d}", "tags": ["club"] if n % 2 else []} for n in range(130)],
    )
    seen: list[str] = []
    path: str | None = "/contacts?tag=club&sort=name&dir=desc"
    while path:
        response = admin_client.get(path)
        seen += names(response)
        path = next_page_link(response)
        if path:
            assert "tag=club" in path and "dir=desc" in path
    assert seen == [f"Member {n:03d}" for n in reversed(range(130)) if n % 2]


def test_a_broken_page_link_falls_back_to_the_first_page(admin_client, people):
    response = admin_client.get("/contacts?cursor=not-a-cursor")
    assert response.status_code == 200
    assert "That page link is no longer valid; showing the first page." in flashes(response)
    assert names(response)[0] == "Ada Lovelace"


# --- CSV ---------------------------------------------------------------------------------------------------


def test_the_csv_export_has_the_listed_rows(admin_client, people):
    rows = csv_rows(admin_client.get("/contacts?format=csv&kind=person"))
    assert rows[0] == ["id", "kind", "name", "email", "phone", "city", "country", "tags"]
    assert [r[2] for r in rows[1:]] == ["Ada Lovelace", "Blaise Pascal", "Charles Babbage"]
    assert rows[1] == [str(people["ada"]), "person", "Ada Lovelace", "zz.ada@example.com", "", "", "", "vip"]
    assert rows[3][7] == "engines;vip"
    assert "contacts.csv" in admin_client.get("/contacts?format=csv").headers["Content-Disposition"]


def test_the_csv_export_neutralises_formulas(admin_client, ext):
    add_contact(ext, "=1+2", city="@SUM(A1)", phone="-2+3")
    add_contact(ext, "Plain", phone="-42")
    rows = csv_rows(admin_client.get("/contacts?format=csv"))
    by_name = {r[2]: r for r in rows[1:]}
    assert "'=1+2" in by_name
    formula = by_name["'=1+2"]
    assert formula[4] == "'-2+3"
    assert formula[5] == "'@SUM(A1)"
    assert by_name["Plain"][4] == "-42"  # a plain negative number stays a number


def test_the_csv_export_covers_more_than_one_page(admin_client, ext):
    add_contacts(ext, [{"name": f"Row {n:04d}"} for n in range(620)])
    rows = csv_rows(admin_client.get("/contacts?format=csv"))
    assert [r[2] for r in rows[1:]] == [f"Row {n:04d}" for n in range(620)]


# --- create -------------------------------------------------------------------------------------------------


def test_the_new_contact_form_shows_its_fields(admin_client, people):
    response = admin_client.get("/contacts/new")
    assert response.status_code == 200
    assert "New contact" in visible(response)
    for name in ("name", "email", "phone", "city", "country", "tags", "notes", "parent_id"):
        assert f'name="{name}"' in page(response)
    assert "Difference Engines Ltd" in visible(response)  # organisations to belong to


def test_a_contact_is_created(admin_client, ext, people):
    response = submit(
        admin_client,
        "/contacts/new",
        {
            "kind": "person",
            "name": "  Grace Hopper ",
            "email": "grace@example.com",
            "phone": "+1 555 0100",
            "city": "Arlington",
            "country": "us",
            "tags": "navy, cobol",
            "parent_id": str(people["acme"]),
            "notes": "Found a moth.",
        },
    )
    grace = fetch(ext, Contact, Contact.name == "Grace Hopper")
    assert redirect_path(response) == f"/contacts/{grace.id}"
    assert grace.country == "US" and grace.parent_id == people["acme"]
    detail = admin_client.get(redirect_path(response))
    assert "Contact Grace Hopper created." in flashes(detail)
    text = visible(detail)
    for shown in ("Grace Hopper", "grace@example.com", "+1 555 0100", "Arlington, US", "cobol", "navy"):
        assert shown in text
    assert "Found a moth." in text
    assert f'href="/contacts/{people["acme"]}">Difference Engines Ltd</a>' in page(detail)


def test_an_invalid_contact_shows_the_errors_in_the_form(admin_client, ext):
    response = submit(
        admin_client,
        "/contacts/new",
        {"kind": "person", "name": "  ", "email": "not-an-email", "country": "USA", "tags": "ok, bad<tag>"},
    )
    assert response.status_code == 422
    assert field_error(response, "name") == "is required"
    assert field_error(response, "email") == "is not a valid email address"
    assert field_error(response, "country") == "must be a 2-letter ISO 3166 code"
    assert "invalid tag 'bad<tag>'" in field_error(response, "tags")
    assert "Please correct the marked fields." in flashes(response)
    assert 'value="not-an-email"' in page(response)  # what was typed is kept
    assert 'aria-invalid="true"' in page(response)
    assert count(ext, Contact) == 0


def test_a_contact_cannot_belong_to_a_person(admin_client, ext, people):
    response = submit(admin_client, "/contacts/new", {"name": "Child", "parent_id": str(people["ada"])})
    assert response.status_code == 422
    assert field_error(response, "parent_id") == "must be an organization"
    assert count(ext, Contact) == 4


def test_creating_a_contact_needs_contacts_create(make_client, ext):
    client = make_client("viewer@test.example", permissions=("contacts.view",))
    assert "New contact" not in visible(client.get("/contacts"))
    assert_forbidden(client.get("/contacts/new"), "contacts.create")
    assert_forbidden(
        submit(client, "/contacts/new", {"name": "Eve"}, form_page="/contacts"), "contacts.create"
    )
    assert count(ext, Contact) == 0


# --- detail ----------------------------------------------------------------------------------------------


def test_the_contact_page_shows_details_and_the_ledger_panel(admin_client, ext, people):
    """The Ledger panel comes from core's officium_contact_panels."""
    seed_books(ext)
    _, number = add_entry(ext, sale("250.00", people["ada"]), date="2026-02-03")
    add_entry(ext, sale("1.00", people["ada"]), post=False)  # drafts are not on the panel
    response = admin_client.get(f"/contacts/{people['ada']}")
    assert response.status_code == 200
    text = visible(response)
    assert "Ada Lovelace" in text and "zz.ada@example.com" in text and "vip" in text
    assert "Ledger" in text
    assert "1200 250.00" in text  # receivable balance per account
    assert number in text and "Feb 3, 2026" in text
    assert "Edit" in text and "Delete" in text


def test_the_ledger_panel_without_lines_says_so(admin_client, people):
    response = admin_client.get(f"/contacts/{people['blaise']}")
    assert "No posted ledger lines for this contact." in visible(response)


def test_the_ledger_panel_needs_ledger_view(make_client, ext, people):
    seed_books(ext)
    add_entry(ext, sale("250.00", people["ada"]))
    client = make_client("viewer@test.example", permissions=("contacts.view",))
    response = client.get(f"/contacts/{people['ada']}")
    assert response.status_code == 200
    assert "Ada Lovelace" in visible(response)
    assert "Ledger" not in visible(response)
    assert "250.00" not in visible(response)
    assert "Edit" not in visible(response) and "Delete" not in visible(response)


# --- edit ------------------------------------------------------------------------------------------------


def test_the_edit_form_is_filled_in(admin_client, people):
    response = admin_client.get(f"/contacts/{people['charles']}/edit")
    assert response.status_code == 200
    assert "Edit Charles Babbage" in visible(response)
    assert 'value="Charles Babbage"' in page(response)
    assert 'value="engines, vip"' in page(response)


def test_a_contact_is_edited(admin_client, ext, people):
    path = f"/contacts/{people['charles']}/edit"
    response = submit(admin_client, path, {"kind": "person", "name": "Charles B.", "email": "cb@example.com"})
    assert redirect_path(response) == f"/contacts/{people['charles']}"
    detail = admin_client.get(redirect_path(response))
    assert "Contact saved." in flashes(detail)
    assert "Charles B." in visible(detail) and "cb@example.com" in visible(detail)
    assert fetch(ext, Contact, Contact.id == people["charles"]).name == "Charles B."


def test_an_invalid_edit_changes_nothing(admin_client, ext, people):
    before = snapshot(ext)
    path = f"/contacts/{people['charles']}/edit"
    response = submit(admin_client, path, {"kind": "robot", "name": "", "email": "bad"})
    assert response.status_code == 422
    assert field_error(response, "name") == "is required"
    assert field_error(response, "email") == "is not a valid email address"
    assert field_error(response, "kind") == "must be 'person' or 'organization'"
    assert snapshot(ext) == before


def test_editing_needs_contacts_edit(make_client, ext, people):
    client = make_client("viewer@test.example", permissions=("contacts.view",))
    before = snapshot(ext)
    path = f"/contacts/{people['ada']}/edit"
    assert_forbidden(client.get(path), "contacts.edit")
    assert_forbidden(submit(client, path, {"name": "Hacked"}, form_page="/contacts"), "contacts.edit")
    assert snapshot(ext) == before


# --- delete -----------------------------------------------------------------------------------------------


def test_a_contact_is_deleted(admin_client, ext, people):
    path = f"/contacts/{people['blaise']}"
    response = submit(admin_client, f"{path}/delete", form_page=path)
    assert redirect_path(response) == "/contacts"
    listing = admin_client.get("/contacts")
    assert "Contact deleted." in flashes(listing)
    assert "Blaise Pascal" not in names(listing)
    assert admin_client.get(path).status_code == 404


def test_deleting_an_organisation_detaches_its_members(admin_client, ext, people):
    member = add_contact(ext, "Member", parent_id=people["acme"])
    path = f"/contacts/{people['acme']}"
    assert redirect_path(submit(admin_client, f"{path}/delete", form_page=path)) == "/contacts"
    assert fetch(ext, Contact, Contact.id == member).parent_id is None


def test_a_contact_with_ledger_lines_is_not_deleted(admin_client, ext, people):
    seed_books(ext)
    add_entry(ext, sale("10.00", people["ada"]))
    before = snapshot(ext)
    path = f"/contacts/{people['ada']}"
    response = submit(admin_client, f"{path}/delete", form_page=path)
    assert redirect_path(response) == path
    detail = admin_client.get(path)
    assert "Ada Lovelace has 1 ledger lines; deactivate or merge it instead" in flashes(detail)
    assert snapshot(ext) == before


def test_deleting_needs_contacts_delete(make_client, ext, people):
    client = make_client("editor@test.example", permissions=("contacts.view", "contacts.edit"))
    path = f"/contacts/{people['ada']}"
    assert "Delete" not in visible(client.get(path))
    assert_forbidden(submit(client, f"{path}/delete", form_page=path), "contacts.delete")
    assert count(ext, Contact) == 4


def test_form_inputs_carry_their_extra_attributes(admin_client):
    page = admin_client.get("/contacts/new").get_data(as_text=True)
    assert 'maxlength="2" size="3"' in page
    assert "&#34;" not in page
