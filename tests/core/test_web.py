"""The web UI shell through real HTTP with CSRF on: login, logout, password, dashboard, search,
security headers, error pages, and the checks every page must pass (login, permission, CSRF, 404).

Pages of contacts, the ledger and administration are in test_web_contacts.py,
test_web_ledger.py and test_web_admin.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.models import Contact, User
from core.services import notifications
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD, csrf_token, login, make_user
from core.web.guards import access_of
from tests.core.web_helpers import (
    add_contact,
    add_entry,
    assert_forbidden,
    assert_login_redirect,
    fetch,
    field_error,
    flashes,
    menu_labels,
    page,
    redirect_path,
    sale,
    seed_books,
    snapshot,
    submit,
    system_session,
    visible,
)

NEW_PASSWORD = "another-long-passphrase"


@pytest.fixture
def world(ext: Any) -> dict[str, int]:
    """One of everything a page can be about: books, a contact, a posted and a draft entry, a user."""
    from core.models import Account, Role

    seed_books(ext)
    contact = add_contact(ext, "Ada Lovelace", email="ada@example.com")
    posted, _ = add_entry(ext, sale("100.00", contact))
    draft, _ = add_entry(ext, sale("5.00"), post=False)
    user = make_user(ext, "clerk@test.example", permissions=("contacts.view",))
    account = fetch(ext, Account, Account.code == "6000").id
    role = fetch(ext, Role, Role.name == "role-for-clerk@test.example").id
    with system_session(ext) as session:
        message = notifications.notify(session, user, "Welcome")[0].id
    return {
        "message": message,
        "contact": contact,
        "posted": posted,
        "draft": draft,
        "user": user,
        "account": account,
        "role": role,
    }


# Every UI route: method, path (ids from ``world``), the permission it needs, and a valid form for POSTs.
ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("GET", "/", "any_user", {}),
    ("GET", "/search?q=ada", "any_user", {}),
    ("GET", "/account/password", "any_user", {}),
    (
        "POST",
        "/account/password",
        "any_user",
        {"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    ),
    ("POST", "/logout", "any_user", {}),
    ("GET", "/apps", "plugins.manage", {}),
    ("GET", "/apps/notes/enable", "plugins.manage", {}),
    ("POST", "/apps/notes/enable", "plugins.manage", {}),
    ("GET", "/contacts", "contacts.view", {}),
    ("GET", "/contacts?format=csv", "contacts.view", {}),
    ("GET", "/contacts/new", "contacts.create", {}),
    ("POST", "/contacts/new", "contacts.create", {"kind": "person", "name": "Grace Hopper"}),
    ("GET", "/contacts/{contact}", "contacts.view", {}),
    ("GET", "/contacts/{contact}/edit", "contacts.edit", {}),
    ("POST", "/contacts/{contact}/edit", "contacts.edit", {"kind": "person", "name": "Ada King"}),
    ("POST", "/contacts/{contact}/delete", "contacts.delete", {}),
    ("GET", "/ledger/accounts", "ledger.view", {}),
    ("GET", "/ledger/accounts/new", "ledger.account.manage", {}),
    (
        "POST",
        "/ledger/accounts/new",
        "ledger.account.manage",
        {"code": "1100", "name": "Bank", "type": "asset"},
    ),
    ("POST", "/ledger/accounts/{account}/toggle", "ledger.account.manage", {}),
    ("GET", "/ledger/journals", "ledger.view", {}),
    ("GET", "/ledger/journals/new", "ledger.account.manage", {}),
    ("POST", "/ledger/journals/new", "ledger.account.manage", {"code": "PJ", "name": "Purchases"}),
    ("GET", "/ledger/entries", "ledger.view", {}),
    ("GET", "/ledger/entries/new", "ledger.entry.create", {}),
    (
        "POST",
        "/ledger/entries/new",
        "ledger.entry.create",
        {
            "journal": "GJ",
            "date": "2026-03-02",
            "line_account": ["1000", "3000"],
            "line_debit": ["50", ""],
            "line_credit": ["", "50"],
            "line_memo": ["", ""],
            "action": "draft",
        },
    ),
    ("GET", "/ledger/entries/{posted}", "ledger.view", {}),
    ("POST", "/ledger/entries/{draft}/post", "ledger.entry.post", {}),
    ("POST", "/ledger/entries/{posted}/reverse", "ledger.entry.reverse", {"date": "2026-03-05"}),
    ("GET", "/ledger/trial-balance", "ledger.view", {}),
    ("GET", "/admin/users", "users.manage", {}),
    ("GET", "/admin/users/new", "users.manage", {}),
    (
        "POST",
        "/admin/users/new",
        "users.manage",
        {"email": "new@test.example", "password": "a-long-enough-password", "roles": []},
    ),
    ("GET", "/admin/users/{user}", "users.manage", {}),
    ("POST", "/admin/users/{user}", "users.manage", {"name": "Renamed", "roles": ["admin"], "active": "on"}),
    ("GET", "/admin/roles", "roles.manage", {}),
    ("GET", "/admin/roles/new", "roles.manage", {}),
    ("POST", "/admin/roles/new", "roles.manage", {"name": "auditor", "permissions": ["ledger.view"]}),
    ("GET", "/admin/roles/{role}", "roles.manage", {}),
    ("POST", "/admin/roles/{role}", "roles.manage", {"description": "x", "permissions": ["ledger.view"]}),
    ("GET", "/messages", "any_user", {}),
    ("POST", "/messages/{message}/open", "any_user", {}),
    ("POST", "/messages/read-all", "any_user", {}),
]


def routes(world: dict[str, int], *, method: str | None = None) -> list[tuple[str, str, str, dict]]:
    return [(m, p.format(**world), perm, data) for m, p, perm, data in ROUTES if method in (None, m)]


def request(client: Any, method: str, path: str, data: dict[str, Any], *, token: str | None = None) -> Any:
    if method == "GET":
        return client.get(path)
    return client.post(path, data={**data, **({"csrf_token": token} if token else {})})


# --- every page -------------------------------------------------------------------------------------


def test_the_route_table_covers_every_ui_endpoint(app):
    tested = {(m, re.sub(r"\{\w+\}", "1", p).split("?")[0]) for m, p, _, _ in ROUTES}
    adapter = app.url_map.bind("localhost")
    untested = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/", "/static/")) or not rule.endpoint.startswith("core."):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            matched = [
                p for m, p in tested if m == method and adapter.match(p, method=method)[0] == rule.endpoint
            ]
            if not matched and rule.endpoint != "core.login":
                untested.append(f"{method} {rule.rule}")
    assert untested == []


def test_every_page_redirects_to_login_when_logged_out(client, world, ext):
    before = snapshot(ext)
    token = csrf_token(client, "/login")  # a logged-out browser still has a CSRF token
    for method, path, _permission, data in routes(world):
        response = request(client, method, path, data, token=token)
        assert response.status_code == 302, (method, path, response.status_code)
        assert_login_redirect(response)
    assert snapshot(ext) == before


def test_a_logged_out_user_returns_to_the_page_after_logging_in(client, admin_user):
    target = redirect_path(client.get("/contacts?kind=person"))
    assert target == "/login?next=/contacts?kind%3Dperson"
    token = csrf_token(client, target)
    response = client.post(
        target, data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token}
    )
    assert redirect_path(response) == "/contacts?kind=person"
    assert client.get("/contacts?kind=person").status_code == 200


def test_every_page_is_refused_without_its_permission_and_names_it(make_client, world, ext):
    client = make_client("nobody@test.example")
    token = csrf_token(client, "/")
    before = snapshot(ext)
    checked = 0
    for method, path, permission, data in routes(world):
        if permission == "any_user":
            continue
        response = request(client, method, path, data, token=token)
        assert response.status_code == 403, (method, path, response.status_code)
        assert_forbidden(response, permission)
        checked += 1
    assert checked > 30
    assert snapshot(ext) == before


def test_a_user_holding_one_permission_is_refused_the_next_one(make_client, world):
    client = make_client("viewer@test.example", permissions=("contacts.view",))
    assert client.get("/contacts").status_code == 200
    assert_forbidden(client.get("/contacts/new"), "contacts.create")
    assert_forbidden(client.get(f"/contacts/{world['contact']}/edit"), "contacts.edit")
    assert_forbidden(client.get("/ledger/accounts"), "ledger.view")


def test_every_post_without_a_csrf_token_is_refused_and_changes_nothing(admin_client, world, ext):
    before = snapshot(ext)
    for method, path, _permission, data in routes(world, method="POST"):
        response = request(admin_client, method, path, data)
        assert response.status_code == 400, (path, response.status_code)
        assert "reload the page and try again" in visible(response)
        assert '<nav class="sidebar"' in page(response)  # in the layout
        assert response.headers["X-Request-Id"]
        assert snapshot(ext) == before, path
    assert admin_client.get("/").status_code == 200  # /logout without a token did not log out


def test_a_csrf_token_of_another_session_is_refused(app, admin_client, world, ext):
    stranger = app.test_client()
    foreign_token = csrf_token(stranger, "/login")
    before = snapshot(ext)
    response = admin_client.post("/contacts/new", data={"name": "Mallory", "csrf_token": foreign_token})
    assert response.status_code == 400
    response = admin_client.post("/contacts/new", data={"name": "Mallory", "csrf_token": "forged"})
    assert response.status_code == 400
    assert snapshot(ext) == before


def test_the_login_form_itself_needs_a_csrf_token(client, admin_user, ext):
    response = client.post("/login", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert_login_redirect(client.get("/"))
    assert fetch(ext, User, User.id == admin_user).last_login_at is None


def test_unknown_ids_are_404_pages(admin_client, world, ext):
    token = csrf_token(admin_client, "/")
    before = snapshot(ext)
    for method, path in [
        ("GET", "/contacts/999999"),
        ("GET", "/contacts/999999/edit"),
        ("POST", "/contacts/999999/edit"),
        ("POST", "/contacts/999999/delete"),
        ("POST", "/ledger/accounts/999999/toggle"),
        ("GET", "/ledger/entries/999999"),
        ("POST", "/ledger/entries/999999/post"),
        ("POST", "/ledger/entries/999999/reverse"),
        ("GET", "/admin/users/999999"),
        ("POST", "/admin/users/999999"),
        ("GET", "/admin/roles/999999"),
        ("POST", "/admin/roles/999999"),
        ("GET", "/apps/ghost/enable"),
        ("POST", "/apps/ghost/disable"),
        ("GET", "/no/such/page"),
    ]:
        response = request(admin_client, method, path, {"name": "x"}, token=token)
        assert response.status_code == 404, (method, path, response.status_code)
        assert "Not found" in visible(response), path
        assert '<nav class="sidebar"' in page(response), path
    assert snapshot(ext) == before


def test_error_pages_render_in_the_layout(admin_client, make_client, client, world):
    response = admin_client.get(f"/contacts/{world['contact'] + 1000}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert f"contact {world['contact'] + 1000} not found" in visible(response)
    assert "Contacts" in menu_labels(response)
    assert "Back to the dashboard" in visible(response)

    clerk = make_client("limited@test.example", permissions=("contacts.view",))
    response = clerk.get("/admin/users")
    assert response.status_code == 403
    assert "needs users.manage" in visible(response)
    assert "Ask an administrator to grant you this permission." in visible(response)
    assert menu_labels(response) == ["Dashboard", "Contacts"]

    response = client.get("/no/such/page")  # logged out: the layout without navigation
    assert response.status_code == 404
    assert "Not found" in visible(response)
    assert '<nav class="sidebar"' not in page(response)


def test_every_view_declares_who_may_use_it(app):
    """Deny by default: a UI view without @public, @any_user or @require_permission is admin-only."""
    deliberately_admin_only: set[str] = set()
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.endpoint == "static":
            continue
        if access_of(app.view_functions[rule.endpoint]) == "admin":
            undeclared.append(rule.endpoint)
    assert sorted(undeclared) == sorted(deliberately_admin_only)
    assert access_of(app.view_functions["core.login"]) == "public"
    assert access_of(app.view_functions["core.dashboard"]) == "any_user"
    assert access_of(app.view_functions["core.contacts"]) == "permission"


def test_an_undeclared_view_is_for_administrators_only(app, make_client):
    @app.get("/undeclared-test-page")  # before the app's first request
    def undeclared() -> str:
        return "secret"

    clerk = make_client("clerk2@test.example", permissions=("contacts.view", "users.manage"))
    response = clerk.get("/undeclared-test-page")
    assert response.status_code == 403
    assert "needs the admin role" in visible(response)
    boss = make_client("boss@test.example", roles=("admin",))
    assert boss.get("/undeclared-test-page").get_data(as_text=True) == "secret"


# --- security headers ---------------------------------------------------------------------------------


def check_security_headers(response: Any, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, where
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, where
    assert directives.get("frame-ancestors") == ["'none'"], where
    assert directives.get("object-src") == ["'none'"], where
    nonces = [s[len("'nonce-") : -1] for s in script_src if s.startswith("'nonce-")]
    assert len(nonces) == 1 and len(nonces[0]) >= 16, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
    if response.mimetype == "text/html":
        body = page(response)
        for tag in re.findall(r"<script\b[^>]*>", body):
            assert f'nonce="{nonces[0]}"' in tag, (where, tag)
        assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", body), f"{where}: inline event handler"
        assert not re.search(r'href="javascript:', body), where


def test_every_page_sends_security_headers_and_nonced_scripts(client, admin_client, world):
    pages = [
        path for method, path, _perm, _data in routes(world, method="GET") if "format=csv" not in path
    ] + [
        "/contacts?format=csv",
        "/ledger/entries/new",
        "/contacts/999999",
        "/no/such/page",
        "/apps/tasks/enable",
    ]
    nonces = set()
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        check_security_headers(response, path)
        nonces.add(response.headers["Content-Security-Policy"])
        if response.status_code == 200 and response.mimetype == "text/html":
            assert response.headers.get("Cache-Control") == "no-store", path
    assert len(nonces) == len(pages)  # a fresh nonce per response
    for path in ("/login", "/no/such/page"):
        check_security_headers(client.get(path), f"logged out {path}")
    check_security_headers(client.post("/login", data={}), "CSRF failure")


def test_the_entry_form_script_carries_the_nonce_of_its_response(admin_client, world):
    response = admin_client.get("/ledger/entries/new")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", page(response))
    assert scripts and all(f'nonce="{nonce}"' in s and 'src="/static/' in s for s in scripts)


def test_an_oversized_request_is_refused(admin_client):
    token = csrf_token(admin_client, "/contacts/new")
    response = admin_client.post("/contacts/new", data={"name": "x" * (3 * 1024 * 1024), "csrf_token": token})
    assert response.status_code == 413


# --- login ----------------------------------------------------------------------------------------------


def test_the_login_page_shows_a_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Log in" in visible(response)
    assert 'name="email"' in page(response) and 'type="password"' in page(response)
    assert '<nav class="sidebar"' not in page(response)


def test_logging_in_opens_the_dashboard(client, admin_user):
    response = login(client, ADMIN_EMAIL)
    assert redirect_path(response) == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Dashboard" in visible(dashboard)
    assert ADMIN_EMAIL in visible(dashboard)
    assert "Log out" in visible(dashboard)


def test_a_wrong_password_and_an_unknown_user_get_the_same_message(client, admin_user, ext):
    wrong = login(client, ADMIN_EMAIL, "not-the-password")
    unknown = login(client, "nobody@test.example", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert flashes(response) == ["Invalid email or password."]
        assert_login_redirect(client.get("/"))
    assert visible(wrong).replace(ADMIN_EMAIL, "EMAIL") == visible(unknown).replace(
        "nobody@test.example", "EMAIL"
    )
    assert 'value="nobody@test.example"' in page(unknown)  # the email is kept, the password is not
    assert "not-the-password" not in page(unknown)


def test_a_deactivated_user_cannot_log_in(client, ext):
    user_id = make_user(ext, "gone@test.example")
    with system_session(ext) as session:
        session.get(User, user_id).active = False
    response = login(client, "gone@test.example")
    assert response.status_code == 401
    assert flashes(response) == ["Invalid email or password."]


def test_login_is_rate_limited_after_ten_attempts(client, admin_user):
    for _ in range(10):
        assert login(client, ADMIN_EMAIL, "wrong-password").status_code == 401
    response = login(client, ADMIN_EMAIL, "wrong-password")
    assert response.status_code == 429
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert "too many attempts" in visible(response)
    refused = login(client, ADMIN_EMAIL)  # even the right password waits
    assert refused.status_code == 429
    assert_login_redirect(client.get("/"))


def test_login_is_rate_limited_per_account_across_addresses(app, admin_user):
    client = app.test_client()
    for attempt in range(10):
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{attempt + 1}"
        assert login(client, ADMIN_EMAIL, "wrong-password").status_code == 401
    client.environ_base["REMOTE_ADDR"] = "10.0.1.1"
    response = login(client, ADMIN_EMAIL.upper())
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1


def test_the_session_cookie_is_http_only_and_same_site_lax(client, admin_user):
    response = login(client, ADMIN_EMAIL)
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in cookies[-1].split(";")[1:]}
    assert "httponly" in attributes
    assert attributes.get("samesite", "").lower() == "samesite=lax"


def test_logging_in_starts_a_new_session(client, admin_user):
    client.get("/login")
    before = client.get_cookie("session").value
    login(client, ADMIN_EMAIL)
    assert client.get_cookie("session").value != before


@pytest.mark.parametrize(
    ("next_", "expected"),
    [
        ("/contacts?kind=person", "/contacts?kind=person"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("/\t/evil.example", "/"),  # browsers drop the tab: "//evil.example"
        ("/\n/evil.example", "/"),
        ("/\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_login_only_follows_local_next_paths(client, admin_user, next_, expected):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login",
        query_string={"next": next_},
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token},
    )
    assert redirect_path(response) == expected


# --- logout ----------------------------------------------------------------------------------------------


def test_logout_ends_the_session_everywhere(app, admin_client, ext, admin_user):
    other_device = app.test_client()
    assert login(other_device, ADMIN_EMAIL).status_code == 302
    old_cookie = admin_client.get_cookie("session").value

    response = submit(admin_client, "/logout", form_page="/")
    assert redirect_path(response) == "/login"
    assert "You are logged out." in flashes(admin_client.get("/login"))
    assert_login_redirect(admin_client.get("/"))

    replay = app.test_client()
    replay.set_cookie("session", old_cookie)
    assert_login_redirect(replay.get("/"))
    assert_login_redirect(other_device.get("/contacts"))
    assert fetch(ext, User, User.id == admin_user).session_generation == 1

    assert login(admin_client, ADMIN_EMAIL).status_code == 302  # a new login works
    assert admin_client.get("/").status_code == 200


def test_logout_is_post_only(admin_client):
    assert admin_client.get("/logout").status_code == 405
    assert admin_client.get("/").status_code == 200


# --- password --------------------------------------------------------------------------------------------


def change_password(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return submit(
        client,
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )


def test_the_password_page_shows_its_form(admin_client):
    response = admin_client.get("/account/password")
    assert response.status_code == 200
    assert "Change password" in visible(response)
    assert "At least 12 characters." in visible(response)


@pytest.mark.parametrize(
    ("current", "new", "confirm", "field", "message"),
    [
        ("wrong-password-entirely", NEW_PASSWORD, None, "current_password", "is not correct"),
        (ADMIN_PASSWORD, "short", None, "password", "must be at least 12 characters"),
        (
            ADMIN_PASSWORD,
            NEW_PASSWORD,
            NEW_PASSWORD + "x",
            "confirm_password",
            "does not match the new password",
        ),
    ],
)
def test_a_bad_password_change_is_refused(
    admin_client, ext, admin_user, current, new, confirm, field, message
):
    before = snapshot(ext)
    response = change_password(admin_client, current, new, confirm)
    assert response.status_code == 422
    if field == "password":
        assert message in visible(response)
    else:
        assert field_error(response, field) == message
    assert snapshot(ext) == before
    assert admin_client.get("/").status_code == 200


def test_changing_the_password_ends_other_sessions_only(app, admin_client, admin_user, ext):
    other_device = app.test_client()
    assert login(other_device, ADMIN_EMAIL).status_code == 302

    response = change_password(admin_client, ADMIN_PASSWORD, NEW_PASSWORD)
    assert redirect_path(response) == "/"
    assert "Password changed. Other sessions and API tokens were ended." in flashes(admin_client.get("/"))
    assert admin_client.get("/contacts").status_code == 200  # this session goes on
    assert_login_redirect(other_device.get("/"))

    fresh = app.test_client()
    assert login(fresh, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 401
    assert login(fresh, ADMIN_EMAIL, NEW_PASSWORD).status_code == 302


# --- dashboard --------------------------------------------------------------------------------------------


def widgets(response: Any) -> dict[str, str]:
    found = re.findall(
        r'<section class="card widget[^"]*" aria-label="([^"]+)">(.*?)</section>', page(response), re.S
    )
    return dict(found)


def test_the_dashboard_shows_charts_for_an_administrator(admin_client, world):
    """Core's officium_dashboard_widgets: inline SVG charts and counts."""
    response = admin_client.get("/")
    assert response.status_code == 200
    shown = widgets(response)
    assert set(shown) == {"Balances by account type", "Journal entries", "Contacts"}
    assert '<svg class="chart"' in shown["Balances by account type"]
    assert "<rect" in shown["Balances by account type"]
    assert '<svg class="chart"' in shown["Contacts"]
    assert "People (100%)" in shown["Contacts"]
    counts = " ".join(re.sub(r"<[^>]+>", " ", shown["Journal entries"]).split())
    assert "Posted 1" in counts and "Drafts 1" in counts


def test_a_user_without_ledger_view_sees_no_ledger_widget(make_client, world):
    client = make_client("sales@test.example", permissions=("contacts.view",))
    shown = widgets(client.get("/"))
    assert list(shown) == ["Contacts"]
    assert '<svg class="chart"' in shown["Contacts"]
    assert "Balances by account type" not in visible(client.get("/"))


def test_a_user_without_permissions_sees_an_empty_dashboard(make_client, world):
    client = make_client("nobody@test.example")
    response = client.get("/")
    assert response.status_code == 200
    assert widgets(response) == {}
    assert "Nothing to show yet." in visible(response)
    assert menu_labels(response) == ["Dashboard"]


# --- search -------------------------------------------------------------------------------------------------


def test_search_finds_a_contact_by_name(admin_client, ext):
    """Core's officium_search answers with contacts."""
    ada = add_contact(ext, "Ada Lovelace", email="ada@example.com")
    add_contact(ext, "Charles Babbage")
    response = admin_client.get("/search?q=lovelace")
    assert response.status_code == 200
    assert f'<a href="/contacts/{ada}">Ada Lovelace</a>' in page(response)
    assert "Charles Babbage" not in visible(response)
    assert "ada@example.com" in visible(response)
    assert 'value="lovelace"' in page(response)  # the query stays in the search box


def test_search_with_no_match_or_no_query_says_so(admin_client):
    assert "No results." in visible(admin_client.get("/search?q=zzz"))
    assert "Type something in the search box." in visible(admin_client.get("/search"))


def test_search_only_shows_what_the_user_may_see(make_client, ext):
    add_contact(ext, "Ada Lovelace")
    client = make_client("nobody@test.example")
    response = client.get("/search?q=ada")
    assert response.status_code == 200
    assert "Ada Lovelace" not in visible(response)
    assert "No results." in visible(response)


def test_search_escapes_the_query(admin_client):
    response = admin_client.get("/search", query_string={"q": '<img src=x onerror="alert(1)">'})
    assert response.status_code == 200
    body = page(response)
    assert "<img src=x" not in body
    assert "&lt;img src=x onerror=" in body
    assert '<img src=x onerror="alert(1)">' in visible(response)


# --- XSS ----------------------------------------------------------------------------------------------------


def test_a_contact_named_like_a_script_is_shown_escaped_everywhere(admin_client, ext):
    evil = "<script>alert(1)</script>"
    response = submit(
        admin_client, "/contacts/new", {"kind": "person", "name": evil, "notes": evil, "tags": ""}
    )
    detail_path = redirect_path(response)
    contact_id = fetch(ext, Contact, Contact.name == evil).id
    assert detail_path == f"/contacts/{contact_id}"
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    for path in ("/contacts", detail_path, "/search?q=script", f"{detail_path}/edit", "/contacts?q=alert"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        body = page(response)
        assert "<script>alert(1)" not in body, path
        assert escaped in body, path
        assert evil in visible(response), path
    # The flash message after saving is escaped too.
    response = submit(admin_client, f"/contacts/{contact_id}/edit", {"kind": "person", "name": evil})
    assert "<script>alert(1)" not in page(admin_client.get(redirect_path(response)))
