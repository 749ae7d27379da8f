"""Administration pages through real HTTP with CSRF on: Apps (enable/disable plugins live),
users and roles."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from core.models import Role, User
from core.testing import ADMIN_EMAIL, login, make_user
from tests.core.web_helpers import (
    assert_forbidden,
    assert_login_redirect,
    count,
    csv_rows,
    fetch,
    field_error,
    flashes,
    menu_labels,
    page,
    redirect_path,
    snapshot,
    submit,
    table_column,
    visible,
)

# --- apps ---------------------------------------------------------------------------------------------------


def cards(response: Any) -> dict[str, dict[str, Any]]:
    """The Apps page as a user reads it: per plugin, its title, status, metadata, error and button."""
    assert response.status_code == 200, page(response)[:2000]
    found = {}
    for name, body in re.findall(
        r'<article class="card app[^"]*" aria-labelledby="app-([\w-]+)">(.*?)</article>', page(response), re.S
    ):

        def text(fragment: str) -> str:
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())

        meta = dict(re.findall(r"<dt>(.*?)</dt><dd>(.*?)</dd>", body))
        error = re.search(r'<p class="field-error">(.*?)</p>', body, re.S)
        button = re.search(r'<a class="button[^"]*" href="([^"]+)">(.*?)</a>', body)
        found[name] = {
            "title": text(re.search(r"<h2[^>]*>(.*?)</h2>", body, re.S).group(1)),
            "status": text(re.search(r'<span class="badge[^"]*">(.*?)</span>', body, re.S).group(1)),
            "version": text(meta["Version"]),
            "category": text(meta["Category"]),
            "needs": text(meta["Needs"]),
            "error": text(error.group(1)) if error else None,
            "button": (button.group(2), button.group(1)) if button else None,
        }
    return found


def test_the_apps_page_shows_a_card_per_plugin(admin_client):
    shown = cards(admin_client.get("/apps"))
    assert {"notes", "tasks", "hookfail", "brokenimport", "badmigration", "seedfail", "orphan"} <= set(shown)
    assert shown["notes"] == {
        "title": "Notes",
        "status": "Disabled",
        "version": "1.2.0",
        "category": "front office",
        "needs": "—",
        "error": None,
        "button": ("Enable", "/apps/notes/enable"),
    }
    assert shown["tasks"]["needs"] == "notes"
    assert shown["tasks"]["category"] == "back office"
    assert shown["tasks"]["version"] == "0.3.0"
    broken = shown["brokenimport"]
    assert broken["status"] == "Broken"
    assert "this plugin needs a library that is not installed" in broken["error"]
    assert broken["button"] is None
    assert "Notes about contacts (test plugin)." in visible(admin_client.get("/apps"))


def test_enabling_a_plugin_enables_its_dependencies_and_its_menu_appears(admin_client, ext):
    assert "Notes" not in menu_labels(admin_client.get("/"))
    assert admin_client.get("/notes/").status_code == 404

    confirm = admin_client.get("/apps/tasks/enable")
    assert confirm.status_code == 200
    assert "Enable Tasks?" in visible(confirm)
    assert "This also enables: notes" in visible(confirm)

    response = submit(admin_client, "/apps/tasks/enable")
    assert redirect_path(response) == "/apps"
    apps = admin_client.get("/apps")
    assert "Enabled: notes, tasks" in flashes(apps)
    shown = cards(apps)
    assert shown["notes"]["status"] == "Enabled" and shown["tasks"]["status"] == "Enabled"
    assert shown["notes"]["button"] == ("Disable", "/apps/notes/disable")
    assert ext.plugins.enabled >= {"notes", "tasks"}

    # The very next page load has the plugin's menu item and pages; no restart.
    dashboard = admin_client.get("/")
    assert "Notes" in menu_labels(dashboard)
    assert '<a href="/notes/"' in page(dashboard)
    assert admin_client.get("/notes/").get_json() == {"notes": 1}  # its seed data


def test_a_plugin_with_enabled_dependents_cannot_be_disabled(admin_client, ext):
    ext.plugins.enable(ext.db, ["tasks"])
    confirm = admin_client.get("/apps/notes/disable")
    assert confirm.status_code == 200
    assert "notes cannot be disabled while tasks depends on it." in visible(confirm)
    assert "<form" not in page(confirm).split('<main id="main">')[1]  # no Disable button to press
    before = snapshot(ext)
    response = submit(admin_client, "/apps/notes/disable", form_page="/apps")
    assert response.status_code == 200
    assert "notes cannot be disabled while tasks depends on it." in visible(response)
    assert snapshot(ext) == before
    assert "Notes" in menu_labels(admin_client.get("/"))


def test_disabling_a_plugin_hides_its_menu_and_pages(admin_client, ext):
    ext.plugins.enable(ext.db, ["tasks"])
    assert "Its menus and pages disappear for everyone." in visible(admin_client.get("/apps/tasks/disable"))
    assert redirect_path(submit(admin_client, "/apps/tasks/disable")) == "/apps"
    assert redirect_path(submit(admin_client, "/apps/notes/disable")) == "/apps"
    apps = admin_client.get("/apps")
    assert "Disabled: notes" in flashes(apps)
    assert cards(apps)["notes"]["status"] == "Disabled"
    assert "Notes" not in menu_labels(admin_client.get("/"))
    assert admin_client.get("/notes/").status_code == 404


def test_a_plugin_with_a_missing_dependency_is_explained(admin_client, ext):
    confirm = admin_client.get("/apps/orphan/enable")
    assert confirm.status_code == 200
    assert "orphan needs ghost, which is not installed" in visible(confirm)
    before = snapshot(ext)
    response = submit(admin_client, "/apps/orphan/enable", form_page="/apps")
    assert "orphan needs ghost, which is not installed" in visible(response)
    assert snapshot(ext) == before


def test_a_failed_enable_is_reported_and_changes_nothing(admin_client, ext):
    response = submit(admin_client, "/apps/seedfail/enable")
    assert redirect_path(response) == "/apps"
    apps = admin_client.get("/apps")
    assert any("enabling seedfail failed, nothing was changed" in f for f in flashes(apps))
    card = cards(apps)["seedfail"]
    assert card["status"] == "Disabled"
    assert "seed data could not be created" in (card["error"] or "")
    assert not ext.plugins.is_enabled("seedfail")


def test_a_plugin_whose_hooks_raise_does_not_break_the_pages(admin_client, ext):
    assert redirect_path(submit(admin_client, "/apps/hookfail/enable")) == "/apps"
    dashboard = admin_client.get("/")
    assert dashboard.status_code == 200
    assert "Contacts" in menu_labels(dashboard)  # core's menu is still there
    assert admin_client.get("/admin/roles/new").status_code == 200  # permissions hook raises too
    card = cards(admin_client.get("/apps"))["hookfail"]
    assert card["status"] == "Enabled"
    assert "exploded" in (card["error"] or "")


def test_managing_apps_needs_plugins_manage(make_client, ext):
    client = make_client("hr@test.example", permissions=("users.manage", "roles.manage"))
    assert "Apps" not in menu_labels(client.get("/"))
    before = snapshot(ext)
    assert_forbidden(client.get("/apps"), "plugins.manage")
    assert_forbidden(client.get("/apps/notes/enable"), "plugins.manage")
    assert_forbidden(submit(client, "/apps/notes/enable", form_page="/"), "plugins.manage")
    assert snapshot(ext) == before
    assert not ext.plugins.is_enabled("notes")


def test_a_non_admin_holding_plugins_manage_may_manage_apps(make_client, ext):
    client = make_client("ops@test.example", permissions=("plugins.manage",))
    assert "Apps" in menu_labels(client.get("/"))
    assert redirect_path(submit(client, "/apps/notes/enable")) == "/apps"
    assert ext.plugins.is_enabled("notes")
    assert "Notes" not in menu_labels(client.get("/"))  # enabling notes does not grant its permissions


# --- users --------------------------------------------------------------------------------------------------


def test_users_are_listed(admin_client, ext):
    make_user(ext, "zed@test.example", permissions=("contacts.view",))
    response = admin_client.get("/admin/users")
    assert response.status_code == 200
    assert table_column(response, 0) == [ADMIN_EMAIL, "zed@test.example"]
    assert table_column(response, 2) == ["admin", "role-for-zed@test.example"]
    assert table_column(response, 3) == ["Active", "Active"]
    assert table_column(admin_client.get("/admin/users?sort=email&dir=desc"), 0) == [
        "zed@test.example",
        ADMIN_EMAIL,
    ]


def test_the_users_csv(admin_client, ext):
    make_user(ext, "zed@test.example", permissions=())
    rows = csv_rows(admin_client.get("/admin/users?format=csv"))
    assert rows == [
        ["email", "name", "active", "roles"],
        [ADMIN_EMAIL, "", "True", "admin"],
        ["zed@test.example", "", "True", "role-for-zed@test.example"],
    ]


def test_a_user_is_created_and_can_log_in(app, admin_client, ext):
    form = admin_client.get("/admin/users/new")
    assert form.status_code == 200
    assert 'type="checkbox" name="roles" value="admin"' in page(form)
    make_user(ext, "x@test.example", permissions=("contacts.view",))
    response = submit(
        admin_client,
        "/admin/users/new",
        {
            "email": " New@Test.Example ",
            "name": "New Person",
            "password": "a-long-enough-password",
            "roles": ["role-for-x@test.example"],
        },
    )
    assert redirect_path(response) == "/admin/users"
    assert "User new@test.example created." in flashes(admin_client.get("/admin/users"))
    user = fetch(ext, User, User.email == "new@test.example")
    assert user.name == "New Person"
    newcomer = app.test_client()
    assert login(newcomer, "new@test.example", "a-long-enough-password").status_code == 302
    assert newcomer.get("/contacts").status_code == 200
    assert_forbidden(newcomer.get("/admin/users"), "users.manage")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"email": "weak@test.example", "password": "short"}, "password", "must be at least 12 characters"),
        (
            {"email": "weak@test.example", "password": "password1234"},
            "password",
            "is too common; choose another",
        ),
        (
            {"email": "not-an-email", "password": "a-long-enough-password"},
            "email",
            "is not a valid email address",
        ),
        ({"email": ADMIN_EMAIL.upper(), "password": "a-long-enough-password"}, "email", "already in use"),
        (
            {"email": "r@test.example", "password": "a-long-enough-password", "roles": ["ghost"]},
            "roles",
            "unknown role 'ghost'",
        ),
    ],
)
def test_an_invalid_user_is_refused_with_the_reason(admin_client, ext, form, field, message):
    before = snapshot(ext)
    response = submit(admin_client, "/admin/users/new", {"name": "Kept Name", **form})
    assert response.status_code == 422
    assert field_error(response, field) == message
    assert 'value="Kept Name"' in page(response)
    assert form["password"] not in page(response)  # a password is never sent back
    assert snapshot(ext) == before


def test_a_users_roles_and_name_are_edited(app, admin_client, ext):
    user_id = make_user(ext, "clerk@test.example", permissions=("contacts.view",))
    clerk = app.test_client()
    assert login(clerk, "clerk@test.example").status_code == 302
    assert_forbidden(clerk.get("/admin/roles"), "roles.manage")

    path = f"/admin/users/{user_id}"
    form = admin_client.get(path)
    assert form.status_code == 200
    assert "clerk@test.example" in visible(form)
    assert 'value="role-for-clerk@test.example" checked' in page(form)
    response = submit(admin_client, path, {"name": "Clerk Kent", "roles": ["admin"], "active": "on"})
    assert redirect_path(response) == "/admin/users"
    assert "User saved." in flashes(admin_client.get("/admin/users"))
    user = fetch(ext, User, User.id == user_id)
    assert user.name == "Clerk Kent"
    assert [r.name for r in user.roles] == ["admin"]
    assert clerk.get("/admin/roles").status_code == 200  # the new role applies at once


def test_deactivating_a_user_ends_their_session(app, admin_client, ext):
    user_id = make_user(ext, "leaver@test.example", permissions=("contacts.view",))
    leaver = app.test_client()
    assert login(leaver, "leaver@test.example").status_code == 302
    response = submit(admin_client, f"/admin/users/{user_id}", {"name": "", "roles": []})
    assert redirect_path(response) == "/admin/users"
    assert table_column(admin_client.get("/admin/users"), 3) == ["Active", "Inactive"]
    assert_login_redirect(leaver.get("/contacts"))


def test_an_administrator_cannot_deactivate_themselves(admin_client, ext, admin_user):
    before = snapshot(ext)
    response = submit(admin_client, f"/admin/users/{admin_user}", {"name": "Me", "roles": []})
    assert response.status_code == 422
    assert field_error(response, "active") == "you cannot deactivate yourself"
    assert snapshot(ext) == before
    assert admin_client.get("/admin/users").status_code == 200


def test_managing_users_needs_users_manage(make_client, ext):
    client = make_client("roles@test.example", permissions=("roles.manage",))
    assert "Users" not in menu_labels(client.get("/"))
    before = snapshot(ext)
    assert_forbidden(client.get("/admin/users"), "users.manage")
    assert_forbidden(
        submit(
            client,
            "/admin/users/new",
            {"email": "x@test.example", "password": "a-long-enough-password", "roles": ["admin"]},
            form_page="/",
        ),
        "users.manage",
    )
    assert snapshot(ext) == before


# --- roles --------------------------------------------------------------------------------------------------


def permission_groups(response: Any) -> dict[str, list[str]]:
    groups = re.findall(
        r'<fieldset class="card">\s*<legend>(.*?)</legend>(.*?)</fieldset>', page(response), re.S
    )
    return {legend: re.findall(r'name="permissions" value="([^"]+)"', body) for legend, body in groups}


def test_roles_are_listed(admin_client, ext):
    make_user(ext, "a@test.example", permissions=("contacts.view", "ledger.view"))
    response = admin_client.get("/admin/roles")
    assert response.status_code == 200
    assert table_column(response, 0) == ["admin", "role-for-a@test.example"]
    assert table_column(response, 2) == ["all", "2"]
    assert table_column(response, 3) == ["1", "1"]  # users holding each role
    rows = csv_rows(admin_client.get("/admin/roles?format=csv"))
    assert rows[2] == ["role-for-a@test.example", "", "contacts.view;ledger.view"]


def test_the_new_role_form_groups_permissions_by_plugin(admin_client, ext):
    groups = permission_groups(admin_client.get("/admin/roles/new"))
    assert {"contacts", "ledger", "users", "roles", "plugins"} <= set(groups)
    assert "notes" not in groups
    assert "ledger.entry.post" in groups["ledger"]
    ext.plugins.enable(ext.db, ["notes"])
    response = admin_client.get("/admin/roles/new")
    groups = permission_groups(response)
    assert groups["notes"] == ["notes.note.edit", "notes.note.view"]
    assert "See notes" in visible(response)


def test_a_role_is_created_and_grants_its_permissions(app, admin_client, ext):
    ext.plugins.enable(ext.db, ["notes"])
    response = submit(
        admin_client,
        "/admin/roles/new",
        {
            "name": "Note takers",
            "description": "Read notes",
            "permissions": ["notes.note.view", "contacts.view"],
        },
    )
    assert redirect_path(response) == "/admin/roles"
    listing = admin_client.get("/admin/roles")
    assert "Role Note takers saved." in flashes(listing)
    assert "Note takers" in table_column(listing, 0)
    role = fetch(ext, Role, Role.name == "Note takers")
    assert role.permission_codes == {"notes.note.view", "contacts.view"}
    make_user(ext, "taker@test.example", roles=("Note takers",))
    taker = app.test_client()
    assert login(taker, "taker@test.example").status_code == 302
    assert menu_labels(taker.get("/")) == ["Dashboard", "Contacts", "Notes"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"name": "", "permissions": ["contacts.view"]}, "is required (at most 100 characters)"),
        ({"name": "ADMIN"}, "already in use"),
    ],
)
def test_an_invalid_role_name_is_refused(admin_client, ext, form, message):
    before = snapshot(ext)
    response = submit(admin_client, "/admin/roles/new", form)
    assert response.status_code == 422
    assert field_error(response, "name") == message
    assert snapshot(ext) == before


def test_an_unknown_permission_is_refused(admin_client, ext):
    before = snapshot(ext)
    response = submit(admin_client, "/admin/roles/new", {"name": "odd", "permissions": ["bogus.perm"]})
    assert response.status_code == 422
    assert field_error(response, "permissions") == "unknown permission 'bogus.perm'"
    assert snapshot(ext) == before


def test_a_roles_permissions_are_edited(app, admin_client, ext):
    make_user(ext, "clerk@test.example", permissions=("contacts.view",))
    role = fetch(ext, Role, Role.name == "role-for-clerk@test.example")
    clerk = app.test_client()
    assert login(clerk, "clerk@test.example").status_code == 302
    path = f"/admin/roles/{role.id}"
    form = admin_client.get(path)
    assert "Role role-for-clerk@test.example" in visible(form)
    assert 'value="contacts.view" checked' in page(form)
    response = submit(admin_client, path, {"description": "Bookkeeping", "permissions": ["ledger.view"]})
    assert redirect_path(response) == "/admin/roles"
    assert fetch(ext, Role, Role.id == role.id).permission_codes == {"ledger.view"}
    assert clerk.get("/ledger/accounts").status_code == 200
    assert_forbidden(clerk.get("/contacts"), "contacts.view")


def test_the_admin_role_cannot_be_changed(admin_client, ext):
    admin_role = fetch(ext, Role, Role.name == "admin")
    path = f"/admin/roles/{admin_role.id}"
    form = admin_client.get(path)
    assert form.status_code == 200
    assert "The admin role holds every permission" in visible(form)
    assert 'name="permissions"' not in page(form)
    before = snapshot(ext)
    response = submit(admin_client, path, {"description": "hacked", "permissions": ["contacts.view"]})
    assert response.status_code == 422
    assert field_error(response, "name") == "the admin role always holds every permission"
    assert snapshot(ext) == before


def test_managing_roles_needs_roles_manage(make_client, ext):
    client = make_client("users@test.example", permissions=("users.manage",))
    assert "Roles" not in menu_labels(client.get("/"))
    before = snapshot(ext)
    assert_forbidden(client.get("/admin/roles"), "roles.manage")
    assert_forbidden(client.get("/admin/roles/new"), "roles.manage")
    response = submit(
        client, "/admin/roles/new", {"name": "x", "permissions": ["users.manage"]}, form_page="/"
    )
    assert_forbidden(response, "roles.manage")
    assert snapshot(ext) == before
    assert count(ext, Role) == 2
