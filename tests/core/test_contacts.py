"""Contacts: the people and organisations every department shares."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.context import company_id_of, set_actor, set_company
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.models import Contact, ContactTag, JournalLine
from core.services import ledger
from core.services.companies import create_company
from core.services.contacts import (
    create_contact,
    create_contacts,
    delete_contact,
    get_contact,
    list_contacts,
    merge_contacts,
    search_contacts,
    update_contact,
)
from core.services.users import create_role, create_user

NAMES = ["Ada", "Bea", "Cyd", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy", "Joe"]


def contact_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Contact))


def tag_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ContactTag))


# --- creating and validating ------------------------------------------------------------------------


def test_a_person_is_created_with_tidied_fields(ext, session):
    ada = create_contact(
        session,
        name="  Ada Lovelace ",
        email=" ada@example.org ",
        phone="",
        city=" London ",
        country="gb",
        tags=["vip", " vip ", "math", ""],
        custom={"orcid": "0000-0001"},
    )
    session.commit()
    with ext.db.session(read_only=True) as fresh:
        found = fresh.get(Contact, ada.id)
        assert found.kind == "person"
        assert (found.name, found.email, found.phone, found.city, found.country) == (
            "Ada Lovelace",
            "ada@example.org",
            None,
            "London",
            "GB",
        )
        assert found.tags == ["math", "vip"]
        assert found.custom == {"orcid": "0000-0001"}
        assert found.active is True
        assert found.parent_id is None


def test_people_belong_to_an_organization(session):
    acme = create_contact(session, kind="organization", name="Acme Ltd")
    bob = create_contact(session, name="Bob", parent_id=acme.id)
    session.commit()
    assert acme.kind == "organization"
    assert bob.parent is acme
    assert get_contact(session, bob.id) is bob


INVALID_CONTACTS = [
    ({"name": ""}, "name", "is required"),
    ({"name": "   "}, "name", "is required"),
    ({"email": "ada@example.org"}, "name", "is required"),
    ({"name": "N" * 201}, "name", "must be at most 200 characters"),
    ({"name": "Ada", "email": "ada-at-example.org"}, "email", "is not a valid email address"),
    ({"name": "Ada", "email": "ada@localhost"}, "email", "is not a valid email address"),
    ({"name": "Ada", "kind": "robot"}, "kind", "must be 'person' or 'organization'"),
    ({"name": "Ada", "country": "GBR"}, "country", "must be a 2-letter ISO 3166 code"),
    ({"name": "Ada", "country": "1A"}, "country", "must be a 2-letter ISO 3166 code"),
    ({"name": "Ada", "nickname": "A"}, "nickname", "unknown field"),
    ({"name": "Ada", "phone": 5551234}, "phone", "must be text"),
    ({"name": "Ada", "postal_code": "9" * 21}, "postal_code", "must be at most 20 characters"),
    ({"name": "Ada", "active": "yes"}, "active", "must be true or false"),
    ({"name": "Ada", "custom": ["x"]}, "custom", "must be an object"),
    ({"name": "Ada", "parent_id": 987654}, "parent_id", "no such contact"),
    ({"name": "Ada", "tags": "vip"}, "tags", "must be a list of text tags"),
    ({"name": "Ada", "tags": ["vip", 7]}, "tags", "must be a list of text tags"),
    (
        {"name": "Ada", "tags": ["vip", "<script>"]},
        "tags",
        "invalid tag '<script>' (letters, digits, spaces, .&/+-, at most 50)",
    ),
    (
        {"name": "Ada", "tags": ["x" * 51]},
        "tags",
        f"invalid tag {'x' * 51!r} (letters, digits, spaces, .&/+-, at most 50)",
    ),
]


def test_invalid_contacts_are_refused_with_a_message_per_field(session):
    for data, field, message in INVALID_CONTACTS:
        with pytest.raises(ValidationError, match="invalid contact") as refused:
            create_contact(session, **data)
        assert refused.value.fields == {field: [message]}, data
    assert contact_count(session) == 0


def test_every_bad_field_is_reported_at_once(session):
    with pytest.raises(ValidationError) as refused:
        create_contact(session, name="", email="nope", kind="robot", country="XYZ", colour="red")
    assert set(refused.value.fields) == {"name", "email", "kind", "country", "colour"}


def test_a_parent_must_be_an_organization(session):
    bob = create_contact(session, name="Bob")
    with pytest.raises(ValidationError) as refused:
        create_contact(session, name="Bob junior", parent_id=bob.id)
    assert refused.value.fields == {"parent_id": ["must be an organization"]}
    assert contact_count(session) == 1


# --- reading and updating --------------------------------------------------------------------------


def test_an_unknown_contact_is_not_found(session):
    with pytest.raises(NotFound, match="contact 987654 not found"):
        get_contact(session, 987654)
    with pytest.raises(NotFound):
        get_contact(session, "1")


def test_another_companys_contacts_are_invisible(session):
    ours = create_contact(session, name="Ours", kind="organization")
    home = company_id_of(session)
    other = create_company(session, name="Other Ltd")
    set_company(session, other.id)
    theirs = create_contact(session, name="Theirs", kind="organization")
    with pytest.raises(ValidationError) as refused:
        create_contact(session, name="Spy", parent_id=ours.id)
    assert refused.value.fields == {"parent_id": ["no such contact"]}
    set_company(session, home)
    with pytest.raises(NotFound, match=f"contact {theirs.id} not found"):
        get_contact(session, theirs.id)
    assert [c.name for c in list_contacts(session).items] == ["Ours"]
    assert search_contacts(session, "Theirs") == []


def test_a_contact_is_updated_field_by_field(ext, session):
    ada = create_contact(session, name="Ada", email="ada@example.org", city="London", tags=["math", "vip"])
    session.commit()
    update_contact(session, ada, email="ADA@example.com", city="", tags=["vip", "poetry"], country="fr")
    session.commit()
    with ext.db.session(read_only=True) as fresh:
        found = fresh.get(Contact, ada.id)
        assert (found.name, found.email, found.city, found.country) == ("Ada", "ADA@example.com", None, "FR")
        assert found.tags == ["poetry", "vip"]
    assert tag_count(session) == 2


def test_an_invalid_update_changes_nothing(ext, session):
    acme = create_contact(session, kind="organization", name="Acme", email="info@acme.example")
    session.commit()
    with pytest.raises(ValidationError) as refused:
        update_contact(session, acme, name=" ", email="broken", kind="robot")
    assert set(refused.value.fields) == {"name", "email", "kind"}
    with pytest.raises(ValidationError) as refused:
        update_contact(session, acme, parent_id=acme.id)
    assert refused.value.fields == {"parent_id": ["a contact cannot be its own parent"]}
    session.commit()
    with ext.db.session(read_only=True) as fresh:
        found = fresh.get(Contact, acme.id)
        assert (found.name, found.email, found.kind, found.parent_id) == (
            "Acme",
            "info@acme.example",
            "organization",
            None,
        )


def test_a_contact_can_be_deactivated_and_filtered_out(session):
    ada = create_contact(session, name="Ada")
    create_contact(session, name="Bea")
    update_contact(session, ada, active=False)
    assert [c.name for c in list_contacts(session, active=True).items] == ["Bea"]
    assert [c.name for c in list_contacts(session, active=False).items] == ["Ada"]
    assert [c.name for c in list_contacts(session).items] == ["Ada", "Bea"]


# --- listing: keyset pagination and filters ---------------------------------------------------------


@pytest.fixture
def crowd(session: Session) -> list[int]:
    """120 contacts with many duplicate names and emails, a third of them without an email."""
    rows = []
    for i in range(120):
        name = NAMES[(i * 7) % len(NAMES)]
        rows.append(
            {
                "name": name,
                "kind": "organization" if i % 4 == 0 else "person",
                "email": None if i % 3 == 0 else f"{name.lower()}{i % 5}@example.org",
                "tags": ["vip"] if i % 10 == 0 else [],
            }
        )
    ids = create_contacts(session, rows)
    session.commit()
    return ids


def walk(session: Session, **options: object) -> tuple[list[Contact], int]:
    """Every page from the first to the last, 25 at a time."""
    items: list[Contact] = []
    after = None
    for pages in range(1, 100):
        page = list_contacts(session, limit=25, after=after, **options)
        assert len(page.items) <= 25
        items += page.items
        if page.next_after is None:
            return items, pages
        after = page.next_after
    raise AssertionError("pagination never ended")


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
def test_paging_walks_every_contact_once_in_order(session, crowd, descending):
    for sort in ("name", "email", "created_at", "id"):
        items, pages = walk(session, sort=sort, descending=descending)
        ids = [c.id for c in items]
        assert len(ids) == len(set(ids)), f"by {sort}: a contact appeared on two pages"
        assert sorted(ids) == sorted(crowd), f"by {sort}: {len(set(crowd) - set(ids))} contacts were skipped"
        assert pages == 5
        # The pages join up into exactly the order of one big page.
        everything = list_contacts(session, sort=sort, descending=descending, limit=500)
        assert everything.next_after is None
        assert ids == [c.id for c in everything.items], f"by {sort}: pages out of order"


def test_names_sort_alphabetically_then_by_id(session, crowd):
    items, _pages = walk(session, sort="name")
    assert [(c.name, c.id) for c in items] == sorted((c.name, c.id) for c in items)
    items, _pages = walk(session, sort="name", descending=True)
    assert [(c.name, c.id) for c in items] == sorted(((c.name, c.id) for c in items), reverse=True)


def test_contacts_without_an_email_come_last_either_way(session, crowd):
    for descending in (False, True):
        items, _pages = walk(session, sort="email", descending=descending)
        emails = [c.email for c in items]
        assert None in emails, f"descending={descending}: contacts without an email are missing"
        first_missing = emails.index(None)
        assert first_missing == 80
        assert all(e is None for e in emails[first_missing:])
        missing_ids = [c.id for c in items[first_missing:]]
        assert missing_ids == sorted(missing_ids, reverse=descending)


def test_paging_through_a_filtered_list(session, crowd):
    items, pages = walk(session, kind="person", sort="email")
    assert len(items) == 90 and pages == 4
    assert all(c.kind == "person" for c in items)
    assert len({c.id for c in items}) == 90


def test_contacts_are_found_by_name_or_email_ignoring_case(session):
    lovelace = create_contact(session, name="Ada Lovelace")
    fan = create_contact(session, name="Charles", email="Ada.Fan@Example.org")
    create_contact(session, name="Grace", email="grace@example.org")
    assert [c.id for c in list_contacts(session, q="ADA").items] == [lovelace.id, fan.id]
    assert [c.id for c in list_contacts(session, q="  love ").items] == [lovelace.id]
    assert [c.id for c in list_contacts(session, q="fan@example").items] == [fan.id]
    assert [c.id for c in search_contacts(session, "ada")] == [lovelace.id, fan.id]
    assert list_contacts(session, q="nobody").items == []


def test_contacts_are_filtered_by_kind_and_tag(session, crowd):
    organizations = list_contacts(session, kind="organization", limit=500).items
    assert len(organizations) == 30
    assert all(c.kind == "organization" for c in organizations)
    vips = list_contacts(session, tag="vip", limit=500).items
    assert sorted(c.id for c in vips) == sorted(crowd[i] for i in range(0, 120, 10))
    assert list_contacts(session, tag="nobody-has-this", limit=500).items == []
    both = list_contacts(session, kind="organization", tag="vip", limit=500).items
    assert sorted(c.id for c in both) == sorted(crowd[i] for i in range(0, 120, 20))


def test_a_bad_sort_or_kind_is_refused(session):
    with pytest.raises(ValidationError) as refused:
        list_contacts(session, sort="password")
    assert refused.value.fields == {"sort": ["must be one of name, email, created_at, id"]}
    with pytest.raises(ValidationError) as refused:
        list_contacts(session, kind="robot")
    assert "kind" in refused.value.fields


# --- bulk creation -----------------------------------------------------------------------------------


def test_bulk_creation_returns_the_new_ids_in_order(ext, session):
    rows = [{"name": f"Person {n:03d}", "email": f"p{n}@example.org", "tags": ["import"]} for n in range(7)]
    rows.append({"name": "Acme", "kind": "organization", "country": "de", "active": False})
    ids = create_contacts(session, rows, chunk_size=3)
    session.commit()
    assert len(ids) == 8 == len(set(ids))
    with ext.db.session(read_only=True) as fresh:
        found = [fresh.get(Contact, i) for i in ids]
        assert [c.name for c in found] == [r["name"] for r in rows]
        assert [c.tags for c in found] == [["import"]] * 7 + [[]]
        assert (found[-1].kind, found[-1].country, found[-1].active) == ("organization", "DE", False)
        assert found[0].active is True
        assert found[0].custom == {}


def test_one_bad_row_refuses_the_whole_import(session):
    create_contact(session, name="Already here")
    session.commit()
    rows = [
        {"name": "One", "tags": ["a"]},
        {"name": "Two"},
        {"name": "Three"},
        {"name": "Four", "email": "bad"},
    ]
    for chunk_size in (2000, 2):
        with pytest.raises(ValidationError) as refused:
            create_contacts(session, rows, chunk_size=chunk_size)
        assert refused.value.message == "row 4: invalid contact"
        assert refused.value.fields == {"email": ["is not a valid email address"]}
        session.rollback()
        assert contact_count(session) == 1
        assert tag_count(session) == 0


# --- deleting and merging ---------------------------------------------------------------------------


@pytest.fixture
def books(session: Session) -> None:
    ledger.create_account(session, code="1200", name="Receivables", type="asset")
    ledger.create_account(session, code="4000", name="Sales", type="income")
    ledger.create_journal(session, code="GJ", name="General journal")
    session.commit()


def invoice(session: Session, contact: Contact, amount: str, *, post: bool = True) -> None:
    data = {
        "journal": "GJ",
        "date": "2026-03-01",
        "lines": [
            {"account": "1200", "debit": amount, "contact_id": contact.id},
            {"account": "4000", "credit": amount},
        ],
    }
    ledger.create_entry(session, data, post=post)


def test_a_contact_without_ledger_lines_can_be_deleted(session):
    acme = create_contact(session, kind="organization", name="Acme", tags=["supplier"])
    bob = create_contact(session, name="Bob", parent_id=acme.id)
    session.commit()
    delete_contact(session, acme)
    session.commit()
    with pytest.raises(NotFound):
        get_contact(session, acme.id)
    session.refresh(bob)
    assert bob.parent_id is None
    assert contact_count(session) == 1
    assert tag_count(session) == 0


def test_a_contact_with_ledger_lines_cannot_be_deleted(session, books):
    acme = create_contact(session, kind="organization", name="Acme")
    bob = create_contact(session, name="Bob")
    invoice(session, acme, "100.00")
    invoice(session, bob, "5.00", post=False)  # a draft's lines count too
    session.commit()
    with pytest.raises(Conflict, match="Acme has 1 ledger lines; deactivate or merge it instead"):
        delete_contact(session, acme)
    with pytest.raises(Conflict, match="Bob has 1 ledger lines"):
        delete_contact(session, bob)
    session.rollback()
    assert [c.name for c in list_contacts(session).items] == ["Acme", "Bob"]


def test_merging_moves_every_reference_and_removes_the_duplicate(ext, session, books):
    session.rollback()  # SQLite: release the write lock before another connection migrates
    ext.plugins.enable(ext.db, ["notes"])
    ext.plugins.refresh(session)
    duplicate = create_contact(
        session,
        kind="organization",
        name="ACME ltd",
        email="info@acme.example",
        phone="+1 555 0100",
        city="Springfield",
        tags=["supplier", "vip"],
        custom={"vat": "OLD", "since": "2019"},
    )
    keeper = create_contact(
        session,
        kind="organization",
        name="Acme Ltd",
        city="Shelbyville",
        tags=["customer"],
        custom={"vat": "NEW"},
    )
    employee = create_contact(session, name="Bob", parent_id=duplicate.id)
    invoice(session, duplicate, "100.00")
    invoice(session, keeper, "20.00")
    invoice(session, duplicate, "5.00", post=False)
    session.execute(
        text(
            "INSERT INTO notes_note (company_id, title, contact_id) VALUES (:company, 'Call back', :contact)"
        ),
        {"company": duplicate.company_id, "contact": duplicate.id},
    )
    session.commit()
    duplicate_id = duplicate.id

    merged = merge_contacts(session, duplicate, keeper)
    session.commit()

    assert merged is keeper
    with pytest.raises(NotFound):
        get_contact(session, duplicate_id)
    lines = session.execute(
        select(JournalLine.contact_id).where(JournalLine.contact_id.is_not(None))
    ).scalars()
    assert set(lines) == {keeper.id}
    assert ledger.contact_balances(session, keeper.id) == {"1200": Decimal("120.00")}
    session.refresh(employee)
    assert employee.parent_id == keeper.id
    assert keeper.tags == ["customer", "supplier", "vip"]
    # The keeper's own values win; its empty ones are filled in from the duplicate.
    assert (keeper.name, keeper.city, keeper.email, keeper.phone) == (
        "Acme Ltd",
        "Shelbyville",
        "info@acme.example",
        "+1 555 0100",
    )
    assert keeper.custom == {"vat": "NEW", "since": "2019"}
    notes = session.execute(text("SELECT contact_id FROM notes_note WHERE title = 'Call back'")).scalars()
    assert list(notes) == [keeper.id]
    assert tag_count(session) == 3


def test_a_child_merged_into_its_parent_loses_the_parent_link(session):
    acme = create_contact(session, kind="organization", name="Acme")
    branch = create_contact(session, kind="organization", name="Acme branch", parent_id=acme.id)
    merge_contacts(session, acme, branch)
    session.commit()
    assert branch.parent_id is None
    assert [c.name for c in list_contacts(session).items] == ["Acme branch"]


def test_a_contact_cannot_be_merged_into_itself(session):
    ada = create_contact(session, name="Ada")
    with pytest.raises(ValidationError, match="cannot merge a contact into itself"):
        merge_contacts(session, ada, ada)
    assert get_contact(session, ada.id) is ada


# --- permissions -------------------------------------------------------------------------------------


@pytest.fixture
def viewer(session: Session):
    """A user whose only role lets them look at contacts."""
    create_role(session, name="Viewer", permissions=["contacts.view"])
    return create_user(session, email="viewer@example.org", password=None, roles=["Viewer"])


def test_a_user_without_the_permission_cannot_create_contacts(session, viewer):
    existing = create_contact(session, name="Ada")
    set_actor(session, viewer)
    with pytest.raises(PermissionDenied, match="needs contacts.create") as refused:
        create_contact(session, name="Mallory")
    assert refused.value.permission == "contacts.create"
    with pytest.raises(PermissionDenied, match="needs contacts.create"):
        create_contacts(session, [{"name": "Mallory"}])
    with pytest.raises(PermissionDenied, match="needs contacts.edit"):
        update_contact(session, existing, name="Eve")
    with pytest.raises(PermissionDenied, match="needs contacts.delete"):
        delete_contact(session, existing)
    with pytest.raises(PermissionDenied, match="needs contacts.merge"):
        merge_contacts(session, existing, existing)
    # Looking is allowed.
    assert [c.name for c in list_contacts(session).items] == ["Ada"]
    assert get_contact(session, existing.id).name == "Ada"
    assert contact_count(session) == 1


def test_a_deactivated_user_may_do_nothing(session, viewer):
    viewer.active = False
    set_actor(session, viewer)
    with pytest.raises(PermissionDenied, match="needs contacts.view"):
        list_contacts(session)
