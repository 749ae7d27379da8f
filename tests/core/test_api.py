"""The REST API v1 through Flask's test client: auth, me, plugins, contacts, users, roles, OpenAPI,
docs, idempotency, deny by default and robustness against bad input. The ledger is in test_api_ledger.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from core.api import PUBLIC_ENDPOINTS
from core.app import officium
from core.models import Contact, IdempotencyKey, User
from core.testing import ADMIN_EMAIL, ADMIN_PASSWORD, ApiClient, api_token, make_user
from core.web.guards import access_of, any_user

API = "/api/v1"
PASSWORD = "another-long-passphrase"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


# --- helpers ------------------------------------------------------------------------------------


def assert_error(response: Any, status: int, code: str | None = None, fields: tuple[str, ...] = ()) -> dict:
    """The response is ``status`` with the API's error shape; ``fields`` are named in ``error.fields``."""
    body = response.get_data(as_text=True)
    assert response.status_code == status, body
    assert response.mimetype == "application/json", body
    assert set(response.json) == {"error"}, body
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"}, body
    assert isinstance(error["message"], str) and error["message"], body
    assert isinstance(error["fields"], dict), body
    if code is not None:
        assert error["code"] == code, body
    for name in fields:  # "tags" is named by "tags" itself or by an item of it ("tags.0")
        named = [k for k in error["fields"] if k == name or k.startswith(f"{name}.")]
        assert named, body
        for key in named:
            assert error["fields"][key] and all(isinstance(m, str) for m in error["fields"][key]), body
    assert "Traceback" not in body
    return error


def assert_security_headers(response: Any) -> None:
    for header in SECURITY_HEADERS:
        assert response.headers.get(header), f"{header} missing on {response.status_code}"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def cursor_of(payload: list) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def create_contact(api: ApiClient, name: str, **fields: Any) -> dict:
    response = api.post(f"{API}/contacts", json={"name": name, **fields})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def walk(api: ApiClient, path: str, **params: Any) -> tuple[list[dict], int]:
    """Every item of a list, page after page with ``next_cursor``; returns (items, pages)."""
    items: list[dict] = []
    cursor = None
    pages = 0
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = api.get(path, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        pages += 1
        assert set(response.json) == {"items", "next_cursor"}
        assert len(response.json["items"]) <= params.get("limit", 50)
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return items, pages
        assert pages < 100, "pagination does not end"


def count_contacts(ext: Any) -> int:
    """Contacts in the database, read in a short session of its own (an open one would lock SQLite)."""
    with ext.db.session() as session:
        return session.scalar(select(func.count()).select_from(Contact))


def openapi_path(rule: str) -> str:
    """``/contacts/<int:contact_id>`` -> ``/contacts/{contact_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


# --- auth: tokens -------------------------------------------------------------------------------


def test_token_is_issued_for_valid_credentials_and_authenticates(client: Any, admin_user: int) -> None:
    response = client.post(f"{API}/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 201
    assert set(response.json) == {"token"}
    token = response.json["token"]
    assert isinstance(token, str) and len(token) >= 20
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["email"] == ADMIN_EMAIL
    # The email is not case sensitive; the scheme name neither.
    again = client.post(f"{API}/auth/token", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD})
    assert again.status_code == 201
    assert again.json["token"] != token
    lower = client.get(f"{API}/me", headers={"Authorization": f"bearer {again.json['token']}"})
    assert lower.status_code == 200


def test_bad_credentials_get_one_message_whoever_asks(client: Any, ext: Any, admin_user: int) -> None:
    make_user(ext, "inactive@test.example", PASSWORD)
    with ext.db.transaction() as session:
        session.scalar(select(User).where(User.email == "inactive@test.example")).active = False
    wrong_password = client.post(f"{API}/auth/token", json={"email": ADMIN_EMAIL, "password": "nope-nope"})
    unknown_user = client.post(
        f"{API}/auth/token", json={"email": "nobody@test.example", "password": "nope-nope"}
    )
    inactive = client.post(f"{API}/auth/token", json={"email": "inactive@test.example", "password": PASSWORD})
    errors = [assert_error(r, 401, "unauthorized") for r in (wrong_password, unknown_user, inactive)]
    assert errors[0] == errors[1] == errors[2]
    assert errors[0]["fields"] == {}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": ADMIN_EMAIL}, ("password",)),
        ({"password": ADMIN_PASSWORD}, ("email",)),
        ({"email": 5, "password": ADMIN_PASSWORD}, ("email",)),
        ({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "admin": True}, ("admin",)),
    ],
)
def test_token_request_is_validated(client: Any, admin_user: int, body: dict, fields: tuple) -> None:
    assert_error(client.post(f"{API}/auth/token", json=body), 422, "validation_error", fields)


def test_token_requests_are_rate_limited_per_ip(client: Any, admin_user: int) -> None:
    for i in range(10):
        response = client.post(
            f"{API}/auth/token", json={"email": f"guess{i}@test.example", "password": "wrong-guess"}
        )
        assert response.status_code == 401
    # The 11th attempt within a minute from this IP is refused, even with the right password.
    response = client.post(f"{API}/auth/token", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    error = assert_error(response, 429, "too_many_requests")
    assert "try again" in error["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert_security_headers(response)
    # Another IP is not affected.
    other = client.post(
        f"{API}/auth/token",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert other.status_code == 201


def test_token_requests_are_rate_limited_per_account(client: Any, admin_user: int) -> None:
    for i in range(10):
        response = client.post(
            f"{API}/auth/token",
            json={"email": ADMIN_EMAIL, "password": "wrong-guess"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"},
        )
        assert response.status_code == 401
    response = client.post(
        f"{API}/auth/token",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) >= 1


# --- authentication and permissions on every route -----------------------------------------------


EVERY_ROUTE = [
    ("get", "/me"),
    ("get", "/plugins"),
    ("post", "/plugins/notes/enable"),
    ("post", "/plugins/notes/disable"),
    ("get", "/contacts"),
    ("post", "/contacts"),
    ("get", "/contacts/1"),
    ("patch", "/contacts/1"),
    ("delete", "/contacts/1"),
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/users/1"),
    ("patch", "/users/1"),
    ("delete", "/users/1"),
    ("get", "/roles"),
    ("post", "/roles"),
    ("get", "/roles/1"),
    ("patch", "/roles/1"),
    ("delete", "/roles/1"),
    ("get", "/ledger/accounts"),
    ("post", "/ledger/accounts"),
    ("get", "/ledger/accounts/1"),
    ("patch", "/ledger/accounts/1"),
    ("get", "/ledger/journals"),
    ("post", "/ledger/journals"),
    ("get", "/ledger/entries"),
    ("post", "/ledger/entries"),
    ("get", "/ledger/entries/1"),
    ("delete", "/ledger/entries/1"),
    ("post", "/ledger/entries/1/post"),
    ("post", "/ledger/entries/1/reverse"),
    ("get", "/ledger/trial-balance"),
    ("get", "/notifications"),
    ("post", "/notifications/1/read"),
    ("post", "/notifications/read-all"),
]


def test_the_route_list_above_covers_every_core_api_route(app: Any) -> None:
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API) or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        if app.extensions["officium"].blueprint_owner.get(rule.endpoint.split(".")[0]):
            continue  # a plugin's
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routed.add((method.lower(), rule.rule))
    listed = set()
    for method, path in EVERY_ROUTE:
        adapter = app.url_map.bind("localhost")
        endpoint, _args = adapter.match(API + path, method=method.upper())
        rule = next(r for r in app.url_map.iter_rules(endpoint) if method.upper() in r.methods)
        listed.add((method, rule.rule))
    assert routed == listed


@pytest.mark.parametrize(("method", "path"), EVERY_ROUTE)
def test_every_route_needs_a_valid_bearer_token(client: Any, admin_user: int, method: str, path: str) -> None:
    call = getattr(client, method)
    body = {} if method in ("post", "patch") else None
    for headers in (
        {},
        {"Authorization": "Bearer not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {base64.b64encode(b'admin:pw').decode()}"},
        {"Authorization": "not-a-real-token"},
    ):
        response = call(API + path, json=body, headers=headers)
        error = assert_error(response, 401, "unauthorized")
        assert "token" in error["message"].lower() or "bearer" in error["message"].lower()
        assert_security_headers(response)


def test_a_browser_session_cookie_is_not_an_api_credential(admin_client: Any) -> None:
    """A browser session (cookie) does not authenticate API calls: only bearer tokens do."""
    assert_error(admin_client.get(f"{API}/me"), 401, "unauthorized")


PERMISSION_OF = {
    ("post", "/plugins/notes/enable"): "plugins.manage",
    ("post", "/plugins/notes/disable"): "plugins.manage",
    ("get", "/contacts"): "contacts.view",
    ("post", "/contacts"): "contacts.create",
    ("get", "/contacts/{contact}"): "contacts.view",
    ("patch", "/contacts/{contact}"): "contacts.edit",
    ("delete", "/contacts/{contact}"): "contacts.delete",
    ("get", "/users"): "users.manage",
    ("post", "/users"): "users.manage",
    ("get", "/users/{user}"): "users.manage",
    ("patch", "/users/{user}"): "users.manage",
    ("delete", "/users/{user}"): "users.manage",
    ("get", "/roles"): "roles.manage",
    ("post", "/roles"): "roles.manage",
    ("get", "/roles/{role}"): "roles.manage",
    ("patch", "/roles/{role}"): "roles.manage",
    ("delete", "/roles/{role}"): "roles.manage",
    ("get", "/ledger/accounts"): "ledger.view",
    ("post", "/ledger/accounts"): "ledger.account.manage",
    ("get", "/ledger/accounts/{account}"): "ledger.view",
    ("patch", "/ledger/accounts/{account}"): "ledger.account.manage",
    ("get", "/ledger/journals"): "ledger.view",
    ("post", "/ledger/journals"): "ledger.account.manage",
    ("get", "/ledger/entries"): "ledger.view",
    ("post", "/ledger/entries"): "ledger.entry.create",
    ("get", "/ledger/entries/{entry}"): "ledger.view",
    ("delete", "/ledger/entries/{entry}"): "ledger.entry.create",
    ("post", "/ledger/entries/{entry}/post"): "ledger.entry.post",
    ("post", "/ledger/entries/{entry}/reverse"): "ledger.entry.reverse",
    ("get", "/ledger/trial-balance"): "ledger.view",
}

VALID_BODIES = {
    ("post", "/contacts"): {"name": "Ada"},
    ("patch", "/contacts/{contact}"): {"name": "Ada L."},
    ("post", "/users"): {"email": "new@test.example", "password": PASSWORD},
    ("patch", "/users/{user}"): {"name": "Renamed"},
    ("post", "/roles"): {"name": "clerks", "permissions": ["contacts.view"]},
    ("patch", "/roles/{role}"): {"description": "changed"},
    ("post", "/ledger/accounts"): {"code": "1000", "name": "Cash", "type": "asset"},
    ("patch", "/ledger/accounts/{account}"): {"active": False},
    ("post", "/ledger/journals"): {"code": "GJ", "name": "General"},
    ("post", "/ledger/entries"): {
        "journal": "GJ",
        "date": "2026-03-01",
        "lines": [{"account": "1000", "debit": "5"}, {"account": "1000", "credit": "5"}],
    },
    ("post", "/ledger/entries/{entry}/reverse"): {},
}


def test_each_route_declares_the_expected_permission(app: Any) -> None:
    ids = {k: 1 for k in ("contact", "user", "role", "account", "entry")}
    adapter = app.url_map.bind("localhost")
    for (method, template), code in PERMISSION_OF.items():
        endpoint, _args = adapter.match(API + template.format(**ids), method=method.upper())
        assert getattr(app.view_functions[endpoint], "officium_permission", None) == code, endpoint
    listed = {(method, template.format(**ids)) for method, template in PERMISSION_OF}
    for_anyone = {
        ("get", "/me"),
        ("get", "/plugins"),
        ("get", "/notifications"),
        ("post", "/notifications/1/read"),
        ("post", "/notifications/read-all"),
    }
    assert listed == set(EVERY_ROUTE) - for_anyone
    for method, path in for_anyone:
        endpoint, _args = adapter.match(API + path, method=method.upper())
        assert access_of(app.view_functions[endpoint]) == "any_user"


def token_client(app: Any, email: str, **grants: Any) -> ApiClient:
    """A user with ``grants`` and an API client for it; each asks for its token from its own address
    (the token endpoint allows 10 attempts a minute per IP)."""
    make_user(officium(app), email, **grants)
    client = app.test_client()
    address = f"10.77.{len(email)}.{sum(map(ord, email)) % 250 + 1}"
    response = client.post(
        f"{API}/auth/token",
        json={"email": email, "password": ADMIN_PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return ApiClient(client, response.json["token"])


def seed_one_of_each(admin_api: ApiClient) -> dict[str, int]:
    """A contact, a role, an account, a journal and a draft entry; returns their ids (and the admin's)."""
    account = admin_api.post(f"{API}/ledger/accounts", json={"code": "1000", "name": "Cash", "type": "asset"})
    assert account.status_code == 201
    assert admin_api.post(f"{API}/ledger/journals", json={"code": "GJ", "name": "General"}).status_code == 201
    return {
        "contact": create_contact(admin_api, "Target")["id"],
        "user": admin_api.get(f"{API}/me").json["id"],
        "role": admin_api.post(f"{API}/roles", json={"name": "victim"}).json["id"],
        "account": account.json["id"],
        "entry": admin_api.post(f"{API}/ledger/entries", json=VALID_BODIES[("post", "/ledger/entries")]).json[
            "id"
        ],
    }


def test_a_user_without_the_permission_gets_403_naming_it(app: Any, admin_api: ApiClient) -> None:
    """Every permission-checked route refuses a user who holds every other permission but that one."""
    ids = seed_one_of_each(admin_api)
    every = sorted(set(PERMISSION_OF.values()))
    lacking = {
        code: token_client(
            app, f"lacks-{code}@test.example", permissions=tuple(c for c in every if c != code)
        )
        for code in every
    }
    for (method, template), code in PERMISSION_OF.items():
        path = API + template.format(**ids)
        response = getattr(lacking[code], method)(path, json=VALID_BODIES.get((method, template)))
        error = assert_error(response, 403, "permission_denied")
        assert error["message"] == f"needs {code}", (method, path, error)
    # Nothing was changed by the refused calls.
    assert admin_api.get(f"{API}/contacts/{ids['contact']}").json["name"] == "Target"
    assert admin_api.get(f"{API}/ledger/entries/{ids['entry']}").json["state"] == "draft"
    assert admin_api.get(f"{API}/roles/{ids['role']}").json["description"] == ""
    assert admin_api.get(f"{API}/ledger/accounts/{ids['account']}").json["active"] is True
    assert len(admin_api.get(f"{API}/users").json["items"]) == 1 + len(every)
    assert not any(p["enabled"] for p in admin_api.get(f"{API}/plugins").json)


def test_a_user_without_any_role_reaches_only_any_user_routes(app: Any, admin_api: ApiClient) -> None:
    ids = {k: 987654 for k in ("contact", "user", "role", "account", "entry")}
    nobody = token_client(app, "nobody@test.example")
    me = nobody.get(f"{API}/me")
    assert me.status_code == 200
    assert me.json["permissions"] == [] and me.json["roles"] == []
    assert nobody.get(f"{API}/plugins").status_code == 200
    # The permission is checked before the object is looked up: 403, not 404, for unknown ids.
    for (method, template), code in PERMISSION_OF.items():
        response = getattr(nobody, method)(
            API + template.format(**ids), json=VALID_BODIES.get((method, template))
        )
        assert assert_error(response, 403, "permission_denied")["message"] == f"needs {code}"


# --- deny by default ------------------------------------------------------------------------------


def undeclared_api_endpoints(app: Any) -> list[str]:
    """API endpoints that are neither public by list nor declare who may call them."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        if rule.endpoint in PUBLIC_ENDPOINTS:
            assert access_of(app.view_functions[rule.endpoint]) == "public", rule.endpoint
            continue
        if access_of(app.view_functions[rule.endpoint]) not in ("permission", "any_user", "public"):
            found.append(rule.endpoint)
    return found


def test_every_api_endpoint_declares_who_may_call_it(app: Any, ext: Any) -> None:
    ext.plugins.enable(ext.db, ["notes"])  # plugins' routes are in the map whether enabled or not
    assert any(r.rule.startswith(f"{API}/notes") for r in app.url_map.iter_rules())
    assert undeclared_api_endpoints(app) == []


def test_an_undeclared_api_route_is_caught_and_is_for_admins_only(make_app: Any, database_url: str) -> None:
    app = make_app(database_url)

    def undeclared() -> Any:
        return {"secret": 42}

    app.add_url_rule(f"{API}/undeclared", "undeclared_probe", undeclared)
    assert undeclared_api_endpoints(app) == ["undeclared_probe"]

    ext = officium(app)
    make_user(ext, ADMIN_EMAIL, roles=("admin",))
    make_user(ext, "clerk@test.example", permissions=("contacts.view", "users.manage", "plugins.manage"))
    client = app.test_client()
    clerk = ApiClient(client, api_token(client, "clerk@test.example"))
    error = assert_error(clerk.get(f"{API}/undeclared"), 403, "permission_denied")
    assert "admin" in error["message"]
    assert_error(client.get(f"{API}/undeclared"), 401, "unauthorized")
    admin = ApiClient(client, api_token(client, ADMIN_EMAIL))
    response = admin.get(f"{API}/undeclared")
    assert response.status_code == 200 and response.json == {"secret": 42}


# --- me -----------------------------------------------------------------------------------------------


def test_me_describes_the_caller(admin_api: ApiClient, make_api_client: Any) -> None:
    me = admin_api.get(f"{API}/me")
    assert me.status_code == 200
    assert me.json["email"] == ADMIN_EMAIL
    assert me.json["roles"] == ["admin"]
    assert "contacts.create" in me.json["permissions"] and "plugins.manage" in me.json["permissions"]
    assert isinstance(me.json["id"], int) and isinstance(me.json["company_id"], int)
    clerk = make_api_client("clerk@test.example", permissions=("contacts.view", "contacts.create"))
    mine = clerk.get(f"{API}/me").json
    assert mine["permissions"] == ["contacts.create", "contacts.view"]
    assert mine["roles"] == ["role-for-clerk@test.example"]
    assert "password" not in json.dumps(mine).lower()


# --- plugins ---------------------------------------------------------------------------------------------


def test_plugins_are_listed_for_any_user(make_api_client: Any) -> None:
    clerk = make_api_client("clerk@test.example")
    response = clerk.get(f"{API}/plugins")
    assert response.status_code == 200
    by_name = {p["name"]: p for p in response.json}
    assert {"notes", "tasks"} <= set(by_name)
    notes = by_name["notes"]
    assert {"name", "title", "version", "description", "depends", "enabled"} <= set(notes)
    assert notes["title"] == "Notes" and notes["version"] == "1.2.0" and notes["enabled"] is False
    assert by_name["tasks"]["depends"] == ["notes"]
    assert by_name["brokenimport"]["status"] == "broken"


def test_enable_and_disable_plugins_with_dependencies(admin_api: ApiClient) -> None:
    enabled = admin_api.post(f"{API}/plugins/tasks/enable")
    assert enabled.status_code == 200, enabled.json
    assert enabled.json["name"] == "tasks" and enabled.json["enabled"] is True
    listed = {p["name"]: p["enabled"] for p in admin_api.get(f"{API}/plugins").json}
    assert listed["tasks"] is True and listed["notes"] is True  # its dependency came along

    error = assert_error(admin_api.post(f"{API}/plugins/notes/disable"), 409)
    assert "notes" in error["message"] and "tasks" in error["message"] and "depend" in error["message"]
    assert {p["name"]: p["enabled"] for p in admin_api.get(f"{API}/plugins").json}["notes"] is True

    assert admin_api.post(f"{API}/plugins/tasks/disable").json["enabled"] is False
    disabled = admin_api.post(f"{API}/plugins/notes/disable")
    assert disabled.status_code == 200 and disabled.json["enabled"] is False
    # Enabling again is fine, and idempotent.
    assert admin_api.post(f"{API}/plugins/notes/enable").json["enabled"] is True
    assert admin_api.post(f"{API}/plugins/notes/enable").json["enabled"] is True


def test_plugin_actions_refuse_unknown_and_broken_plugins(admin_api: ApiClient) -> None:
    error = assert_error(admin_api.post(f"{API}/plugins/nosuchplugin/enable"), 404, "not_found")
    assert "nosuchplugin" in error["message"]
    assert_error(admin_api.post(f"{API}/plugins/nosuchplugin/disable"), 404, "not_found")
    assert_error(admin_api.post(f"{API}/plugins/notes/explode"), 404)  # not an action
    assert_error(admin_api.get(f"{API}/plugins/notes/enable"), 405)
    error = assert_error(admin_api.post(f"{API}/plugins/brokenimport/enable"), 409)
    assert "brokenimport" in error["message"]


def test_plugin_actions_need_plugins_manage(make_api_client: Any) -> None:
    clerk = make_api_client("clerk@test.example", permissions=("contacts.view",))
    error = assert_error(clerk.post(f"{API}/plugins/notes/enable"), 403, "permission_denied")
    assert error["message"] == "needs plugins.manage"


def test_a_disabled_plugins_api_is_404_and_enabled_it_checks_permissions(
    ext: Any, admin_api: ApiClient, make_api_client: Any
) -> None:
    reader = make_api_client("reader@test.example", roles=())
    assert_error(admin_api.get(f"{API}/notes"), 404, "not_found")
    assert_error(admin_api.post(f"{API}/notes", json={"title": "x"}), 404, "not_found")
    assert_error(reader.get(f"{API}/notes"), 404)

    ext.plugins.enable(ext.db, ["notes"])
    listed = admin_api.get(f"{API}/notes")
    assert listed.status_code == 200
    assert [n["title"] for n in listed.json] == ["Welcome note"]
    created = admin_api.post(f"{API}/notes", json={"title": "Call back"})
    assert created.status_code == 201 and created.json["title"] == "Call back"
    assert_error(reader.get(f"{API}/notes"), 403, "permission_denied")
    assert reader.get(f"{API}/notes").json["error"]["message"] == "needs notes.note.view"
    viewer = make_api_client("viewer@test.example", permissions=("notes.note.view",))
    assert viewer.get(f"{API}/notes").status_code == 200
    error = assert_error(viewer.post(f"{API}/notes", json={"title": "no"}), 403)
    assert error["message"] == "needs notes.note.edit"
    assert_error(admin_api.client.get(f"{API}/notes"), 401)  # the same client without its token

    ext.plugins.disable(ext.db, ["notes"])
    assert_error(admin_api.get(f"{API}/notes"), 404)
    assert_error(viewer.get(f"{API}/notes"), 404)


# --- contacts ------------------------------------------------------------------------------------------


def test_contact_crud(admin_api: ApiClient) -> None:
    created = admin_api.post(
        f"{API}/contacts",
        json={
            "kind": "organization",
            "name": "  Acme Corp ",
            "email": "info@acme.example",
            "phone": "+1 555 0100",
            "city": "Springfield",
            "country": "us",
            "tags": ["vip", "supplier"],
            "custom": {"vat": "US123"},
        },
    )
    assert created.status_code == 201
    acme = created.json
    assert isinstance(acme["id"], int)
    assert acme["name"] == "Acme Corp" and acme["kind"] == "organization" and acme["country"] == "US"
    assert acme["tags"] == ["supplier", "vip"] and acme["custom"] == {"vat": "US123"}
    assert acme["active"] is True
    for stamp in ("created_at", "updated_at"):
        assert isinstance(acme[stamp], str)
        dt.datetime.fromisoformat(acme[stamp])  # ISO 8601

    person = create_contact(admin_api, "Wile E.", parent_id=acme["id"])
    assert person["kind"] == "person" and person["parent_id"] == acme["id"]

    fetched = admin_api.get(f"{API}/contacts/{acme['id']}")
    assert fetched.status_code == 200 and fetched.json == acme

    patched = admin_api.patch(f"{API}/contacts/{acme['id']}", json={"phone": None, "tags": ["vip"]})
    assert patched.status_code == 200
    assert patched.json["phone"] is None and patched.json["tags"] == ["vip"]
    assert patched.json["name"] == "Acme Corp"  # untouched fields stay
    assert admin_api.get(f"{API}/contacts/{acme['id']}").json["tags"] == ["vip"]

    deleted = admin_api.delete(f"{API}/contacts/{acme['id']}")
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_error(admin_api.get(f"{API}/contacts/{acme['id']}"), 404, "not_found")
    assert admin_api.get(f"{API}/contacts/{person['id']}").json["parent_id"] is None


def test_unknown_contacts_are_404(admin_api: ApiClient) -> None:
    for method in ("get", "patch", "delete"):
        response = getattr(admin_api, method)(f"{API}/contacts/987654", json={"name": "x"})
        error = assert_error(response, 404, "not_found")
        assert "987654" in error["message"]
    for bad in ("abc", "1.5", "-1", "1e3", "%20", "9" * 40):
        assert_error(admin_api.get(f"{API}/contacts/{bad}"), 404)
        assert_error(admin_api.delete(f"{API}/contacts/{bad}"), 404)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ("name",)),
        ({"name": ""}, ("name",)),
        ({"name": "   "}, ("name",)),
        ({"name": 42}, ("name",)),
        ({"name": None}, ("name",)),
        ({"name": ["a"]}, ("name",)),
        ({"name": "x" * 201}, ("name",)),
        ({"name": "A", "kind": "robot"}, ("kind",)),
        ({"name": "A", "email": "not-an-email"}, ("email",)),
        ({"name": "A", "country": "USA"}, ("country",)),
        ({"name": "A", "tags": "vip"}, ("tags",)),
        ({"name": "A", "tags": [1, 2]}, ("tags",)),
        ({"name": "A", "active": "yes please"}, ("active",)),
        ({"name": "A", "parent_id": "one"}, ("parent_id",)),
        ({"name": "A", "parent_id": 987654}, ("parent_id",)),
        ({"name": "A", "custom": ["not", "a", "dict"]}, ("custom",)),
        ({"name": "A", "favourite_colour": "blue"}, ("favourite_colour",)),
        # Read-only fields are refused: no mass assignment.
        ({"name": "A", "id": 999}, ("id",)),
        ({"name": "A", "created_at": "2020-01-01T00:00:00"}, ("created_at",)),
        ({"name": "A", "updated_at": "2020-01-01T00:00:00"}, ("updated_at",)),
        ({"name": "A", "company_id": 2}, ("company_id",)),
    ],
)
def test_contact_bodies_are_validated(admin_api: ApiClient, ext: Any, body: dict, fields: tuple) -> None:
    assert_error(admin_api.post(f"{API}/contacts", json=body), 422, "validation_error", fields)
    assert count_contacts(ext) == 0


def test_contact_patches_are_validated(admin_api: ApiClient) -> None:
    contact = create_contact(admin_api, "Ada")
    path = f"{API}/contacts/{contact['id']}"
    for body, field in [
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"id": 5}, "id"),
        ({"created_at": "2020-01-01T00:00:00"}, "created_at"),
        ({"kind": "robot"}, "kind"),
        ({"parent_id": contact["id"]}, "parent_id"),
        ({"owner": "me"}, "owner"),
    ]:
        assert_error(admin_api.patch(path, json=body), 422, "validation_error", (field,))
    assert admin_api.get(path).json == contact


def test_contacts_walk_every_page_with_cursors(admin_api: ApiClient) -> None:
    names = [f"Contact {i:02d}" for i in range(11)]
    for name in reversed(names):
        create_contact(admin_api, name)
    create_contact(admin_api, "Contact 05")  # a duplicate name: the id breaks the tie

    items, pages = walk(admin_api, f"{API}/contacts", limit=3)
    assert pages == 4
    assert [c["name"] for c in items] == sorted([*names, "Contact 05"])
    assert len({c["id"] for c in items}) == 12

    items, pages = walk(admin_api, f"{API}/contacts", limit=5, sort="-name")
    assert pages == 3
    assert [c["name"] for c in items] == sorted([*names, "Contact 05"], reverse=True)
    assert len({c["id"] for c in items}) == 12

    for sort in ("id", "-id", "email", "-email", "created_at", "-created_at"):
        items, _pages = walk(admin_api, f"{API}/contacts", limit=4, sort=sort)
        assert len({c["id"] for c in items}) == 12, sort
    ids = [c["id"] for c in walk(admin_api, f"{API}/contacts", limit=4, sort="-id")[0]]
    assert ids == sorted(ids, reverse=True)

    # An exact fit ends without an empty page.
    items, pages = walk(admin_api, f"{API}/contacts", limit=12)
    assert (len(items), pages) == (12, 1)
    first = admin_api.get(f"{API}/contacts", query_string={"limit": 1}).json
    assert len(first["items"]) == 1 and first["next_cursor"]


def test_contacts_search_and_filters(admin_api: ApiClient) -> None:
    create_contact(admin_api, "Ada Lovelace", email="ada@example.org", tags=["math"])
    create_contact(admin_api, "Charles Babbage", tags=["math", "engines"])
    create_contact(admin_api, "Analytical Engines Ltd", kind="organization")

    def names(**query: Any) -> list[str]:
        response = admin_api.get(f"{API}/contacts", query_string=query)
        assert response.status_code == 200, response.json
        return [c["name"] for c in response.json["items"]]

    assert names(q="ada") == ["Ada Lovelace"]
    assert names(q="babb") == ["Charles Babbage"]
    assert names(q="zzz") == []
    assert names(kind="organization") == ["Analytical Engines Ltd"]
    assert names(tag="math") == ["Ada Lovelace", "Charles Babbage"]
    assert names(tag="math", q="charles") == ["Charles Babbage"]


def test_contacts_search_is_literal(admin_api: ApiClient) -> None:
    create_contact(admin_api, "Ada Lovelace")
    create_contact(admin_api, "100% Organic Ltd", kind="organization")
    for q, expected in (("%", ["100% Organic Ltd"]), ("_", []), ("a_a", [])):
        items = admin_api.get(f"{API}/contacts", query_string={"q": q}).json["items"]
        assert [c["name"] for c in items] == expected, q


def test_users_search_is_literal(admin_api: ApiClient) -> None:
    admin_api.post(f"{API}/users", json={"email": "a_b@test.example", "password": PASSWORD})
    for q, expected in (("%", []), ("_", ["a_b@test.example"]), ("a_b", ["a_b@test.example"])):
        items = admin_api.get(f"{API}/users", query_string={"q": q}).json["items"]
        assert [u["email"] for u in items] == expected, q


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "abc"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "-5"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"sort": "password"}, "sort"),
        ({"sort": "--name"}, "sort"),
        ({"sort": "name desc"}, "sort"),
        ({"sort": "x" * 60}, "sort"),
        ({"kind": "robot"}, "kind"),
        ({"q": "x" * 201}, "q"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"cursor": "!!!!"}, "cursor"),
        ({"cursor": cursor_of(["v", "Ada"])}, "cursor"),
        ({"cursor": cursor_of(["v", "Ada", "7"])}, "cursor"),
        ({"cursor": cursor_of(["v", "Ada", True])}, "cursor"),
        ({"cursor": cursor_of(["v", {"a": 1}, 7])}, "cursor"),
        ({"cursor": cursor_of(["zz", "Ada", 7])}, "cursor"),
        ({"cursor": cursor_of(["dt", "yesterday", 7])}, "cursor"),
        ({"cursor": cursor_of(["n", "NaN-ish", 7])}, "cursor"),
        ({"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, "cursor"),
        ({"cursor": "x" * 501}, "cursor"),
    ],
)
def test_contact_list_parameters_are_validated(admin_api: ApiClient, query: dict, field: str) -> None:
    create_contact(admin_api, "Ada")
    assert_error(admin_api.get(f"{API}/contacts", query_string=query), 422, "validation_error", (field,))


def test_a_cursor_from_another_sort_or_with_wrong_types_is_422_not_500(admin_api: ApiClient) -> None:
    for name in ("Ada", "Bob", "Cy"):
        create_contact(admin_api, name)
    by_name = admin_api.get(f"{API}/contacts", query_string={"limit": 1}).json["next_cursor"]
    by_date = admin_api.get(f"{API}/contacts", query_string={"limit": 1, "sort": "created_at"}).json[
        "next_cursor"
    ]
    assert by_name and by_date
    assert_error(
        admin_api.get(f"{API}/contacts", query_string={"sort": "created_at", "cursor": by_name}),
        422,
        "validation_error",
        ("cursor",),
    )
    assert_error(
        admin_api.get(f"{API}/contacts", query_string={"sort": "id", "cursor": by_name}),
        422,
        "validation_error",
        ("cursor",),
    )
    assert_error(
        admin_api.get(f"{API}/contacts", query_string={"cursor": by_date}),
        422,
        "validation_error",
        ("cursor",),
    )
    for forged in (["v", 12, 1], ["v", "Ada", 10**30], ["v", "Ada", -(10**30)], ["n", "1e999999", 1]):
        response = admin_api.get(f"{API}/contacts", query_string={"cursor": cursor_of(forged)})
        assert_error(response, 422, "validation_error", ("cursor",))


# --- users ------------------------------------------------------------------------------------------------


def test_user_lifecycle(admin_api: ApiClient, admin_user: int) -> None:
    role = admin_api.post(f"{API}/roles", json={"name": "clerks", "permissions": ["contacts.view"]}).json
    created = admin_api.post(
        f"{API}/users",
        json={"email": "Clerk@Test.Example", "password": PASSWORD, "name": "Clerk", "roles": ["clerks"]},
    )
    assert created.status_code == 201, created.json
    user = created.json
    assert user["email"] == "clerk@test.example"
    assert user["roles"] == ["clerks"] and user["active"] is True and user["name"] == "Clerk"
    assert "password" not in user and "password_hash" not in json.dumps(user)
    dt.datetime.fromisoformat(user["created_at"])

    assert admin_api.get(f"{API}/users/{user['id']}").json == user
    listed = admin_api.get(f"{API}/users").json
    assert [u["email"] for u in listed["items"]] == [ADMIN_EMAIL, "clerk@test.example"]
    assert listed["next_cursor"] is None
    assert [u["email"] for u in admin_api.get(f"{API}/users", query_string={"q": "CLERK"}).json["items"]] == [
        "clerk@test.example"
    ]
    assert [
        u["email"] for u in admin_api.get(f"{API}/users", query_string={"sort": "-email"}).json["items"]
    ] == [
        "clerk@test.example",
        ADMIN_EMAIL,
    ]
    items, pages = walk(admin_api, f"{API}/users", limit=1)
    assert pages == 2 and [u["id"] for u in items] == [admin_user, user["id"]]

    client = admin_api.client.application.test_client()
    clerk = ApiClient(client, api_token(client, "clerk@test.example", PASSWORD))
    assert clerk.get(f"{API}/contacts").status_code == 200
    assert_error(clerk.get(f"{API}/users"), 403)

    # Roles: replaced by the list sent.
    admin_api.post(f"{API}/roles", json={"name": "managers", "permissions": ["users.manage"]})
    patched = admin_api.patch(f"{API}/users/{user['id']}", json={"roles": ["managers"], "name": "Boss"})
    assert patched.status_code == 200
    assert patched.json["roles"] == ["managers"] and patched.json["name"] == "Boss"
    assert clerk.get(f"{API}/users").status_code == 200
    assert_error(clerk.get(f"{API}/contacts"), 403)
    assert admin_api.patch(f"{API}/users/{user['id']}", json={"roles": []}).json["roles"] == []
    assert role["name"] == "clerks"

    # A new password: the old one and the tokens issued with it stop working.
    changed = admin_api.patch(f"{API}/users/{user['id']}", json={"password": "a-brand-new-passphrase"})
    assert changed.status_code == 200 and "password" not in changed.json
    assert_error(clerk.get(f"{API}/me"), 401)
    old = client.post(f"{API}/auth/token", json={"email": "clerk@test.example", "password": PASSWORD})
    assert_error(old, 401)
    clerk = ApiClient(client, api_token(client, "clerk@test.example", "a-brand-new-passphrase"))
    assert clerk.get(f"{API}/me").status_code == 200

    # Deactivate with PATCH, reactivate, then DELETE (= deactivate).
    off = admin_api.patch(f"{API}/users/{user['id']}", json={"active": False})
    assert off.status_code == 200 and off.json["active"] is False
    assert_error(clerk.get(f"{API}/me"), 401)
    assert admin_api.patch(f"{API}/users/{user['id']}", json={"active": True}).json["active"] is True
    clerk = ApiClient(client, api_token(client, "clerk@test.example", "a-brand-new-passphrase"))
    deleted = admin_api.delete(f"{API}/users/{user['id']}")
    assert deleted.status_code == 204 and deleted.get_data() == b""
    assert_error(clerk.get(f"{API}/me"), 401)
    kept = admin_api.get(f"{API}/users/{user['id']}")
    assert kept.status_code == 200 and kept.json["active"] is False  # deactivated, never deleted
    refused = client.post(
        f"{API}/auth/token", json={"email": "clerk@test.example", "password": "a-brand-new-passphrase"}
    )
    assert_error(refused, 401)


def test_users_cannot_deactivate_themselves(admin_api: ApiClient, admin_user: int) -> None:
    assert_error(
        admin_api.patch(f"{API}/users/{admin_user}", json={"active": False}), 422, fields=("active",)
    )
    assert_error(admin_api.delete(f"{API}/users/{admin_user}"), 422)
    assert admin_api.get(f"{API}/me").status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "fields"),
    [
        ({"password": PASSWORD}, 422, ("email",)),
        ({"email": "x@test.example"}, 422, ("password",)),
        ({"email": "not an email", "password": PASSWORD}, 422, ("email",)),
        ({"email": 5, "password": PASSWORD}, 422, ("email",)),
        ({"email": "x@test.example", "password": 12345678901234}, 422, ("password",)),
        ({"email": "x@test.example", "password": "short"}, 422, ("password",)),
        ({"email": "x@test.example", "password": PASSWORD, "roles": ["nope"]}, 422, ("roles",)),
        ({"email": "x@test.example", "password": PASSWORD, "roles": "admin"}, 422, ("roles",)),
        ({"email": "x@test.example", "password": PASSWORD, "active": False}, 422, ("active",)),
        ({"email": "x@test.example", "password": PASSWORD, "id": 1}, 422, ("id",)),
        ({"email": "x@test.example", "password": PASSWORD, "is_admin": True}, 422, ("is_admin",)),
        ({"email": "x@test.example", "password": PASSWORD, "created_at": "2020-01-01"}, 422, ("created_at",)),
        ({"email": ADMIN_EMAIL.upper(), "password": PASSWORD}, 409, ("email",)),
    ],
)
def test_user_creation_is_validated(admin_api: ApiClient, body: dict, status: int, fields: tuple) -> None:
    assert_error(admin_api.post(f"{API}/users", json=body), status, fields=fields)
    assert len(admin_api.get(f"{API}/users").json["items"]) == 1


def test_user_updates_are_validated_and_unknown_users_404(admin_api: ApiClient, admin_user: int) -> None:
    path = f"{API}/users/{admin_user}"
    for body, field in [
        ({"email": "new@test.example"}, "email"),  # not changeable here
        ({"id": 7}, "id"),
        ({"active": "no"}, "active"),
        ({"roles": ["no-such-role"]}, "roles"),
        ({"password": "short"}, "password"),
        ({"session_generation": 0}, "session_generation"),
    ]:
        assert_error(admin_api.patch(path, json=body), 422, fields=(field,))
    assert admin_api.get(path).json["roles"] == ["admin"]
    for method in ("get", "patch", "delete"):
        assert_error(getattr(admin_api, method)(f"{API}/users/987654", json={}), 404, "not_found")
    assert_error(admin_api.get(f"{API}/users/abc"), 404)
    assert_error(admin_api.get(f"{API}/users", query_string={"sort": "password_hash"}), 422, fields=("sort",))
    assert_error(admin_api.get(f"{API}/users", query_string={"cursor": "zzz"}), 422, fields=("cursor",))


# --- roles ---------------------------------------------------------------------------------------------


def test_role_lifecycle(admin_api: ApiClient) -> None:
    created = admin_api.post(
        f"{API}/roles",
        json={
            "name": "clerks",
            "description": "Front desk",
            "permissions": ["contacts.view", "contacts.edit"],
        },
    )
    assert created.status_code == 201
    role = created.json
    assert role["name"] == "clerks" and role["description"] == "Front desk"
    assert role["permissions"] == ["contacts.edit", "contacts.view"]
    assert admin_api.get(f"{API}/roles/{role['id']}").json == role

    patched = admin_api.patch(
        f"{API}/roles/{role['id']}", json={"permissions": ["ledger.view"], "description": "Books"}
    )
    assert patched.status_code == 200
    assert patched.json["permissions"] == ["ledger.view"] and patched.json["description"] == "Books"
    assert admin_api.patch(f"{API}/roles/{role['id']}", json={"permissions": []}).json["permissions"] == []

    names = [r["name"] for r in admin_api.get(f"{API}/roles").json["items"]]
    assert names == sorted(names) and {"admin", "clerks"} <= set(names)
    assert [
        r["name"] for r in admin_api.get(f"{API}/roles", query_string={"sort": "-name"}).json["items"]
    ] == (sorted(names, reverse=True))
    items, _pages = walk(admin_api, f"{API}/roles", limit=1)
    assert [r["name"] for r in items] == names

    admin_api.post(
        f"{API}/users", json={"email": "c@test.example", "password": PASSWORD, "roles": ["clerks"]}
    )
    deleted = admin_api.delete(f"{API}/roles/{role['id']}")
    assert deleted.status_code == 204
    assert_error(admin_api.get(f"{API}/roles/{role['id']}"), 404, "not_found")
    user = next(u for u in admin_api.get(f"{API}/users").json["items"] if u["email"] == "c@test.example")
    assert user["roles"] == []


def test_roles_are_validated(admin_api: ApiClient) -> None:
    error = assert_error(
        admin_api.post(
            f"{API}/roles", json={"name": "x", "permissions": ["contacts.view", "launch.missiles"]}
        ),
        422,
        "validation_error",
        ("permissions",),
    )
    assert "launch.missiles" in error["message"] + json.dumps(error["fields"])
    assert_error(admin_api.post(f"{API}/roles", json={"permissions": []}), 422, fields=("name",))
    assert_error(admin_api.post(f"{API}/roles", json={"name": ""}), 422, fields=("name",))
    assert_error(admin_api.post(f"{API}/roles", json={"name": 3}), 422, fields=("name",))
    assert_error(
        admin_api.post(f"{API}/roles", json={"name": "x", "permissions": "all"}), 422, fields=("permissions",)
    )
    assert_error(admin_api.post(f"{API}/roles", json={"name": "x", "id": 1}), 422, fields=("id",))
    assert_error(admin_api.post(f"{API}/roles", json={"name": "ADMIN"}), 409, fields=("name",))
    assert [r["name"] for r in admin_api.get(f"{API}/roles").json["items"]] == ["admin"]

    role = admin_api.post(f"{API}/roles", json={"name": "clerks", "permissions": ["contacts.view"]}).json
    path = f"{API}/roles/{role['id']}"
    assert_error(admin_api.patch(path, json={"permissions": ["nope.nope"]}), 422, fields=("permissions",))
    assert_error(admin_api.patch(path, json={"name": "renamed"}), 422, fields=("name",))
    assert admin_api.get(path).json["permissions"] == ["contacts.view"]
    for method in ("get", "patch", "delete"):
        assert_error(getattr(admin_api, method)(f"{API}/roles/987654", json={}), 404, "not_found")
    assert_error(admin_api.get(f"{API}/roles", query_string={"sort": "permissions"}), 422, fields=("sort",))


def test_the_admin_role_is_immutable(admin_api: ApiClient) -> None:
    admin = next(r for r in admin_api.get(f"{API}/roles").json["items"] if r["name"] == "admin")
    path = f"{API}/roles/{admin['id']}"
    assert_error(admin_api.patch(path, json={"permissions": ["contacts.view"]}), 422, "validation_error")
    assert_error(admin_api.patch(path, json={"description": "hacked"}), 422)
    assert_error(admin_api.delete(path), 422, "validation_error")
    assert admin_api.get(path).json == admin
    assert admin_api.get(f"{API}/me").json["roles"] == ["admin"]


# --- robustness ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "{bad json",
        '{"name": "Ada",}',
        "",
        "null",
        "[]",
        '"Ada"',
        "42",
        "\xff\xfe",
        '{"name": "Ada"} trailing',
    ],
)
def test_invalid_json_is_a_4xx_json_error(admin_api: ApiClient, ext: Any, data: str) -> None:
    response = admin_api.post(f"{API}/contacts", data=data.encode("latin-1"), content_type="application/json")
    assert response.status_code in (400, 422), response.get_data(as_text=True)
    assert_error(response, response.status_code)
    assert_security_headers(response)
    assert count_contacts(ext) == 0


def test_a_body_that_is_not_json_is_refused(admin_api: ApiClient) -> None:
    form = admin_api.post(f"{API}/contacts", data={"name": "Ada"})
    assert form.status_code in (400, 415, 422)
    assert_error(form, form.status_code)
    text = admin_api.post(f"{API}/contacts", data='{"name": "Ada"}', content_type="text/plain")
    assert text.status_code in (400, 415, 422)
    assert_error(text, text.status_code)
    assert admin_api.get(f"{API}/contacts").json["items"] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts", {"name": 123}, "name"),
        ("/contacts", {"name": True}, "name"),
        ("/contacts", {"name": {"$gt": ""}}, "name"),
        ("/contacts", {"name": "A", "tags": {"a": 1}}, "tags"),
        ("/roles", {"name": "r", "permissions": [1, 2]}, "permissions"),
        ("/ledger/accounts", {"code": 1000, "name": "Cash", "type": "asset"}, "code"),
        ("/ledger/journals", {"code": "GJ", "name": ["General"]}, "name"),
    ],
)
def test_wrong_types_in_bodies_are_422_naming_the_field(
    admin_api: ApiClient, path: str, body: dict, field: str
) -> None:
    assert_error(admin_api.post(API + path, json=body), 422, "validation_error", (field,))


@pytest.mark.parametrize("path", ["/contacts", "/users", "/roles", "/ledger/accounts", "/ledger/entries"])
def test_wrong_types_in_queries_are_422(admin_api: ApiClient, path: str) -> None:
    assert_error(admin_api.get(API + path, query_string={"limit": "ten"}), 422, fields=("limit",))
    assert_error(admin_api.get(API + path, query_string={"limit": ""}), 422, fields=("limit",))
    assert_error(admin_api.get(API + path, query_string={"limit": "1e2"}), 422, fields=("limit",))
    # Unknown query parameters are ignored (cache busters and the like), unlike unknown body fields.
    assert admin_api.get(API + path, query_string={"limit": "10", "_": "1700000000"}).status_code == 200


def test_nul_characters_are_refused_not_a_500(admin_api: ApiClient) -> None:
    for query in ({"q": "a\x00b"}, {"tag": "\x00"}):
        response = admin_api.get(f"{API}/contacts", query_string=query)
        assert_error(response, 422, "validation_error")
    assert_error(admin_api.get(f"{API}/users", query_string={"q": "\x00"}), 422)
    assert_error(admin_api.post(f"{API}/contacts", json={"name": "A\x00B"}), 422, fields=("name",))
    assert_error(admin_api.post(f"{API}/roles", json={"name": "r\x00"}), 422, fields=("name",))
    assert admin_api.get(f"{API}/contacts").json["items"] == []


def test_a_request_over_the_size_limit_is_413_json(make_app: Any, database_url: str) -> None:
    app = make_app(database_url, MAX_CONTENT_LENGTH=2 * 1024 * 1024)
    make_user(officium(app), ADMIN_EMAIL, roles=("admin",))
    client = app.test_client()
    api = ApiClient(client, api_token(client, ADMIN_EMAIL))
    body = json.dumps({"name": "Ada", "notes": "x" * (2 * 1024 * 1024)})
    response = api.post(f"{API}/contacts", data=body, content_type="application/json")
    assert_error(response, 413, "too_large")
    assert_security_headers(response)
    assert api.get(f"{API}/contacts").json["items"] == []
    # Just under the limit the body is read (and validated: notes are at most 10,000 characters).
    small = api.post(
        f"{API}/contacts",
        data=json.dumps({"name": "Ada", "notes": "x" * 20_000}),
        content_type="application/json",
    )
    assert_error(small, 422, fields=("notes",))


def test_the_default_size_limit_is_2_mib(app: Any, admin_api: ApiClient) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    body = json.dumps({"name": "Ada", "notes": "x" * (2 * 1024 * 1024)})
    response = admin_api.post(f"{API}/contacts", data=body, content_type="application/json")
    assert_error(response, 413, "too_large")


def test_unknown_api_paths_and_methods_are_json(admin_api: ApiClient, client: Any) -> None:
    for response in (admin_api.get(f"{API}/nothing-here"), client.get(f"{API}/nothing-here")):
        assert_error(response, 404, "not_found")
        assert_security_headers(response)
    response = admin_api.put(f"{API}/contacts", json={"name": "x"})
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"] and "GET" in response.headers["Allow"]


def test_responses_carry_security_headers(admin_api: ApiClient, client: Any, make_api_client: Any) -> None:
    clerk = make_api_client("clerk@test.example")
    contact = create_contact(admin_api, "Ada")
    responses = [
        admin_api.get(f"{API}/me"),
        admin_api.get(f"{API}/contacts"),
        admin_api.post(f"{API}/contacts", json={"name": "Bob"}),
        admin_api.delete(f"{API}/contacts/{contact['id']}"),
        admin_api.post(f"{API}/contacts", json={"name": 1}),
        admin_api.get(f"{API}/contacts/99999"),
        clerk.get(f"{API}/contacts"),
        client.get(f"{API}/me"),
        client.post(f"{API}/auth/token", json={"email": "a@b.example", "password": "wrong-password"}),
        client.get(f"{API}/openapi.json"),
        client.get(f"{API}/docs"),
    ]
    assert sorted({r.status_code for r in responses}) == [200, 201, 204, 401, 403, 404, 422]
    for response in responses:
        assert_security_headers(response)
        assert response.headers.get("X-Request-Id")


def test_an_unexpected_error_is_a_generic_500_without_details(make_app: Any, database_url: str) -> None:
    app = make_app(database_url)

    @any_user
    def explode() -> Any:
        raise RuntimeError("secret detail: password=hunter2 at /srv/officium/core/x.py")

    app.add_url_rule(f"{API}/explode", "explode_probe", explode)
    make_user(officium(app), ADMIN_EMAIL, roles=("admin",))
    client = app.test_client()
    api = ApiClient(client, api_token(client, ADMIN_EMAIL))
    response = api.get(f"{API}/explode", headers={"X-Request-Id": "req-12345"})
    error = assert_error(response, 500, "internal_error")
    body = response.get_data(as_text=True)
    for leak in ("secret", "hunter2", "RuntimeError", "Traceback", "/srv/", ".py"):
        assert leak not in body
    assert "req-12345" in error["message"] and response.headers["X-Request-Id"] == "req-12345"
    assert_security_headers(response)
    other = api.get(f"{API}/explode")  # without X-Request-Id: one is made up and shown
    assert other.status_code == 500, other.get_data(as_text=True)
    error_id = re.search(r"Error id: (\S+)", other.json["error"]["message"]).group(1)
    assert error_id and error_id == other.headers["X-Request-Id"]
    # The app keeps serving.
    assert api.get(f"{API}/me").status_code == 200


# --- OpenAPI and docs ---------------------------------------------------------------------------------


def test_openapi_document_is_valid_and_lists_every_core_route(app: Any, client: Any) -> None:
    from openapi_spec_validator import validate

    response = client.get(f"{API}/openapi.json")  # public: no token
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert_security_headers(response)
    spec = response.json
    assert spec["openapi"].startswith("3.")
    validate(spec)
    assert spec["info"]["title"] == "Officium"
    assert "bearer" in spec["components"]["securitySchemes"]

    owners = app.extensions["officium"].blueprint_owner
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API) or rule.endpoint.startswith("api_meta."):
            continue
        if owners.get(rule.endpoint.split(".")[0]):
            continue
        path = openapi_path(rule.rule)
        assert path in spec["paths"], path
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in spec["paths"][path], (method, path)
    assert f"{API}/notes" not in spec["paths"]
    # The token endpoint needs no bearer token; the rest do.
    assert spec["paths"][f"{API}/auth/token"]["post"]["security"] == []
    assert spec["security"] == [{"bearer": []}]
    # Amounts are documented as strings (decimal), not floats.
    line = spec["components"]["schemas"]["Line"]["properties"]
    assert line["debit"]["type"] == "string"
    assert spec["components"]["schemas"]["User"]["properties"]["password"]["writeOnly"] is True


def test_openapi_document_follows_enabled_plugins(ext: Any, client: Any) -> None:
    from openapi_spec_validator import validate

    assert f"{API}/notes" not in client.get(f"{API}/openapi.json").json["paths"]
    ext.plugins.enable(ext.db, ["notes"])
    spec = client.get(f"{API}/openapi.json").json
    validate(spec)
    assert set(spec["paths"][f"{API}/notes"]) >= {"get", "post"}
    assert f"{API}/contacts" in spec["paths"]
    ext.plugins.disable(ext.db, ["notes"])
    assert f"{API}/notes" not in client.get(f"{API}/openapi.json").json["paths"]


def test_api_docs_page_has_no_inline_script_and_nonces_match_the_csp(client: Any) -> None:
    response = client.get(f"{API}/docs")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert_security_headers(response)
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src [^;]*'nonce-([^']+)'", csp).group(1)
    assert "unsafe-inline" not in csp
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts
    for attributes, content in scripts:
        assert content.strip() == "", "inline script"
        assert re.search(r'\bsrc="[^"]+"', attributes), attributes
        assert re.search(rf'\bnonce="{re.escape(nonce)}"', attributes), attributes
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I), "inline event handler"
    assert "javascript:" not in html.lower()
    # Another request gets another nonce.
    again = client.get(f"{API}/docs")
    assert again.headers["Content-Security-Policy"] != csp
    # The scripts and styles it loads are served locally.
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        if src.startswith("/"):
            asset = client.get(src)
            assert asset.status_code == 200, src
            asset.close()
    assert_error(client.get(f"{API}/docs/assets/..%2F..%2Fapp.py"), 404)
    assert_error(client.get(f"{API}/docs/assets/index.html"), 404)


# --- idempotency ------------------------------------------------------------------------------------------


def test_a_retried_post_with_the_same_idempotency_key_runs_once(admin_api: ApiClient, ext: Any) -> None:
    headers = {"Idempotency-Key": "create-ada-1"}
    first = admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    second = admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json == first.json
    assert_security_headers(second)
    assert count_contacts(ext) == 1
    # Another key is another request.
    third = admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers={"Idempotency-Key": "other"})
    assert third.status_code == 201 and third.json["id"] != first.json["id"]
    assert count_contacts(ext) == 2


def test_a_failed_attempt_can_be_retried_with_the_same_key(admin_api: ApiClient) -> None:
    headers = {"Idempotency-Key": "retry-me"}
    failed = admin_api.post(f"{API}/contacts", json={"name": ""}, headers=headers)
    assert_error(failed, 422, fields=("name",))
    assert "Idempotent-Replayed" not in failed.headers
    retried = admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    replayed = admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json == retried.json
    assert len(admin_api.get(f"{API}/contacts").json["items"]) == 1


def test_an_idempotency_key_is_bound_to_its_path(admin_api: ApiClient) -> None:
    headers = {"Idempotency-Key": "one-key"}
    assert admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers).status_code == 201
    error = assert_error(
        admin_api.post(f"{API}/roles", json={"name": "clerks"}, headers=headers),
        422,
        "validation_error",
        ("Idempotency-Key",),
    )
    assert "another request" in error["message"]
    assert [r["name"] for r in admin_api.get(f"{API}/roles").json["items"]] == ["admin"]
    too_long = admin_api.post(f"{API}/contacts", json={"name": "Bob"}, headers={"Idempotency-Key": "k" * 256})
    assert_error(too_long, 422, fields=("Idempotency-Key",))


def test_idempotency_keys_belong_to_their_user(admin_api: ApiClient, make_api_client: Any) -> None:
    clerk = make_api_client("clerk@test.example", permissions=("contacts.create", "contacts.view"))
    headers = {"Idempotency-Key": "shared-key"}
    mine = admin_api.post(f"{API}/contacts", json={"name": "Ada"}, headers=headers)
    theirs = clerk.post(f"{API}/contacts", json={"name": "Bob"}, headers=headers)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers and theirs.json["name"] == "Bob"


def test_a_key_still_in_flight_is_a_409(admin_api: ApiClient, admin_user: int, ext: Any) -> None:
    with ext.db.transaction() as session:
        session.add(
            IdempotencyKey(user_id=admin_user, key="in-flight", method="POST", path=f"{API}/contacts")
        )
    response = admin_api.post(
        f"{API}/contacts", json={"name": "Ada"}, headers={"Idempotency-Key": "in-flight"}
    )
    assert_error(response, 409, "conflict")
    assert admin_api.get(f"{API}/contacts").json["items"] == []
