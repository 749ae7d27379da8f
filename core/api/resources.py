"""Core's API resources: auth, me, plugins, contacts, users, roles, ledger."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_smorest import Blueprint
from sqlalchemy import select
from werkzeug.exceptions import TooManyRequests

from core.api.schemas import (
    AccountPage,
    AccountSchema,
    AccountUpdateSchema,
    ContactPage,
    ContactPatchSchema,
    ContactQuery,
    ContactSchema,
    EntryPage,
    EntryQuery,
    EntrySchema,
    JournalPage,
    JournalSchema,
    ListQuery,
    MarkedRead,
    MeSchema,
    NotificationPage,
    NotificationQuery,
    NotificationSchema,
    PluginSchema,
    ReverseRequest,
    RolePage,
    RoleSchema,
    RoleUpdateSchema,
    TokenRequest,
    TokenResponse,
    TrialBalanceQuery,
    TrialBalanceSchema,
    UserPage,
    UserSchema,
    UserUpdateSchema,
)
from core.app import get_session, officium
from core.context import company_id_of
from core.errors import NotFound, ValidationError
from core.models import Account, Journal, JournalEntry, Role, User
from core.pagination import Page, decode_cursor, keyset_page
from core.permissions import require_permission
from core.services import contacts as contact_service
from core.services import ledger as ledger_service
from core.services import notifications as notification_service
from core.services import users as user_service
from core.web.guards import any_user, public
from core.web.ratelimit import TooManyAttempts

API = "/api/v1"


def _sort(value: str | None, allowed: dict[str, Any], default: str) -> tuple[str, bool]:
    """``name`` ascending, ``-name`` descending; anything else is a 422 on ``sort``."""
    if not value:
        return default, False
    descending = value.startswith("-")
    key = value[1:] if descending else value
    if key not in allowed:
        raise ValidationError(
            "invalid sort",
            fields={"sort": [f"must be one of {', '.join(allowed)} (prefix - for descending)"]},
        )
    return key, descending


def _page(page: Page, dump: Any = None) -> dict[str, Any]:
    items = [dump(item) for item in page.items] if dump else page.items
    return {"items": items, "next_cursor": page.next_cursor}


def _commit() -> None:
    get_session().commit()


# --- auth ------------------------------------------------------------------------------------

auth = Blueprint("api_auth", __name__, url_prefix=f"{API}/auth", description="Tokens")


@auth.route("/token", methods=["POST"])
@auth.arguments(TokenRequest)
@auth.response(201, TokenResponse)
@auth.doc(security=[])
@public
def token(data: dict[str, Any]) -> dict[str, str]:
    """Exchange email and password for a bearer token (rate-limited per IP and account)."""
    try:
        current_app.extensions["officium_throttle"].check(request.remote_addr or "-", data["email"])
    except TooManyAttempts as exc:  # the client needs to know when to come back
        body = {"error": {"code": exc.code, "message": exc.message, "fields": {}}}
        response = jsonify(body)
        response.status_code = 429
        response.headers["Retry-After"] = str(exc.retry_after)
        raise TooManyRequests(response=response) from None
    session = get_session()
    user = user_service.authenticate(session, data["email"], data["password"])
    value = user_service.issue_token(session, user, name=data.get("name") or "api")
    session.commit()
    return {"token": value}


me_blp = Blueprint("api_me", __name__, url_prefix=f"{API}/me", description="The calling user")


@me_blp.route("", methods=["GET"])
@me_blp.response(200, MeSchema)
@any_user
def me() -> dict[str, Any]:
    user = g.officium_actor
    codes = (
        sorted(user_service.all_permissions(get_session()))
        if user.is_admin
        else sorted(user.permission_codes)
    )
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": [r.name for r in user.roles],
        "permissions": codes,
        "company_id": company_id_of(get_session()),
    }


# --- plugins -----------------------------------------------------------------------------------

plugins_blp = Blueprint("api_plugins", __name__, url_prefix=f"{API}/plugins", description="Plugins")


@plugins_blp.route("", methods=["GET"])
@plugins_blp.response(200, PluginSchema(many=True))
@any_user
def plugins_list() -> list[dict[str, Any]]:
    ext = officium()
    ext.refresh_plugins()
    return ext.plugins.describe_all()


@plugins_blp.route("/<name>/<any(enable, disable):action>", methods=["POST"])
@plugins_blp.response(200, PluginSchema)
@require_permission("plugins.manage")
def plugins_action(name: str, action: str) -> dict[str, Any]:
    ext = officium()
    if name not in ext.plugins.plugins:
        raise NotFound(f"no plugin named {name!r} is installed")
    get_session().commit()  # SQLite: release the write lock before migrations run on their own connection
    (ext.plugins.enable if action == "enable" else ext.plugins.disable)(ext.db, [name])
    return ext.plugins.describe(name)


# --- contacts ------------------------------------------------------------------------------------

contacts_blp = Blueprint("api_contacts", __name__, url_prefix=f"{API}/contacts", description="Contacts")


# Built once: a schema instance per row cost more than the query (measured in bench/).
CONTACT_FIELDS = tuple(k for k in ContactSchema().fields if k != "tags")


def _contact(contact: Any) -> dict[str, Any]:
    data = {k: getattr(contact, k) for k in CONTACT_FIELDS}
    data["tags"] = contact.tags
    return data


@contacts_blp.route("", methods=["GET"])
@contacts_blp.arguments(ContactQuery, location="query")
@contacts_blp.response(200, ContactPage)
@require_permission("contacts.view")
def contacts_list(args: dict[str, Any]) -> dict[str, Any]:
    """Contacts by keyset: pass ``next_cursor`` back as ``cursor`` for the next page."""
    sort, descending = _sort(args["sort"], contact_service.SORTS, "name")
    page = contact_service.list_contacts(
        get_session(),
        q=args["q"],
        kind=args["kind"],
        tag=args["tag"],
        sort=sort,
        descending=descending,
        limit=args["limit"],
        after=decode_cursor(args["cursor"], contact_service.SORTS[sort]),
    )
    return _page(page, _contact)


@contacts_blp.route("", methods=["POST"])
@contacts_blp.arguments(ContactSchema)
@contacts_blp.response(201, ContactSchema)
@require_permission("contacts.create")
def contacts_create(data: dict[str, Any]) -> dict[str, Any]:
    contact = contact_service.create_contact(get_session(), **data)
    _commit()
    return _contact(contact)


@contacts_blp.route("/<int:contact_id>", methods=["GET"])
@contacts_blp.response(200, ContactSchema)
@require_permission("contacts.view")
def contacts_get(contact_id: int) -> dict[str, Any]:
    return _contact(contact_service.get_contact(get_session(), contact_id))


@contacts_blp.route("/<int:contact_id>", methods=["PATCH"])
@contacts_blp.arguments(ContactPatchSchema(partial=True))
@contacts_blp.response(200, ContactSchema)
@require_permission("contacts.edit")
def contacts_update(data: dict[str, Any], contact_id: int) -> dict[str, Any]:
    session = get_session()
    contact = contact_service.update_contact(
        session, contact_service.get_contact(session, contact_id), **data
    )
    _commit()
    return _contact(contact)


@contacts_blp.route("/<int:contact_id>", methods=["DELETE"])
@contacts_blp.response(204)
@require_permission("contacts.delete")
def contacts_delete(contact_id: int) -> None:
    session = get_session()
    contact_service.delete_contact(session, contact_service.get_contact(session, contact_id))
    _commit()


# --- users and roles ----------------------------------------------------------------------------------

users_blp = Blueprint("api_users", __name__, url_prefix=f"{API}/users", description="Users")
USER_SORTS = {"email": User.email, "name": User.name, "id": User.id}


def _user(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "active": user.active,
        "roles": sorted(r.name for r in user.roles),
        "created_at": user.created_at,
    }


def _get_user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return user


@users_blp.route("", methods=["GET"])
@users_blp.arguments(ListQuery, location="query")
@users_blp.response(200, UserPage)
@require_permission("users.manage")
def users_list(args: dict[str, Any]) -> dict[str, Any]:
    sort, descending = _sort(args["sort"], USER_SORTS, "email")
    stmt = select(User)
    if args["q"]:
        stmt = stmt.where(User.email.contains(args["q"].lower(), autoescape=True))
    page = keyset_page(
        get_session(),
        stmt,
        column=USER_SORTS[sort],
        id_column=User.id,
        descending=descending,
        after=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return _page(page, _user)


@users_blp.route("", methods=["POST"])
@users_blp.arguments(UserSchema)
@users_blp.response(201, UserSchema)
@require_permission("users.manage")
def users_create(data: dict[str, Any]) -> dict[str, Any]:
    session = get_session()
    user = user_service.create_user(
        session,
        email=data["email"],
        password=data["password"],
        name=data.get("name", ""),
        roles=data["roles"],
        company_ids=[company_id_of(session)],
    )
    _commit()
    return _user(user)


@users_blp.route("/<int:user_id>", methods=["GET"])
@users_blp.response(200, UserSchema)
@require_permission("users.manage")
def users_get(user_id: int) -> dict[str, Any]:
    return _user(_get_user(user_id))


@users_blp.route("/<int:user_id>", methods=["PATCH"])
@users_blp.arguments(UserUpdateSchema)
@users_blp.response(200, UserSchema)
@require_permission("users.manage")
def users_update(data: dict[str, Any], user_id: int) -> dict[str, Any]:
    session = get_session()
    user = _get_user(user_id)
    if "roles" in data:
        user_service.set_roles(session, user, data["roles"])
    if "name" in data:
        user.name = data["name"].strip()
    if "active" in data:
        user_service.set_active(session, user, data["active"])
    if "password" in data:
        user_service.set_password(session, user, data["password"])
    _commit()
    return _user(user)


@users_blp.route("/<int:user_id>", methods=["DELETE"])
@users_blp.response(204)
@require_permission("users.manage")
def users_delete(user_id: int) -> None:
    """Deactivate a user (users are never deleted: history refers to them)."""
    session = get_session()
    user_service.set_active(session, _get_user(user_id), False)
    _commit()


roles_blp = Blueprint("api_roles", __name__, url_prefix=f"{API}/roles", description="Roles")


def _role(role: Role) -> dict[str, Any]:
    return {
        "id": role.id,
        "name": role.name,
        "description": role.description,
        "permissions": sorted(role.permission_codes),
    }


def _get_role(role_id: int) -> Role:
    role = get_session().get(Role, role_id)
    if role is None:
        raise NotFound(f"role {role_id} not found")
    return role


@roles_blp.route("", methods=["GET"])
@roles_blp.arguments(ListQuery, location="query")
@roles_blp.response(200, RolePage)
@require_permission("roles.manage")
def roles_list(args: dict[str, Any]) -> dict[str, Any]:
    _sort(args["sort"], {"name": Role.name}, "name")
    page = keyset_page(
        get_session(),
        select(Role),
        column=Role.name,
        id_column=Role.id,
        descending=(args["sort"] or "").startswith("-"),
        after=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )
    return _page(page, _role)


@roles_blp.route("", methods=["POST"])
@roles_blp.arguments(RoleSchema)
@roles_blp.response(201, RoleSchema)
@require_permission("roles.manage")
def roles_create(data: dict[str, Any]) -> dict[str, Any]:
    role = user_service.create_role(
        get_session(), name=data["name"], permissions=data["permissions"], description=data["description"]
    )
    _commit()
    return _role(role)


@roles_blp.route("/<int:role_id>", methods=["GET"])
@roles_blp.response(200, RoleSchema)
@require_permission("roles.manage")
def roles_get(role_id: int) -> dict[str, Any]:
    return _role(_get_role(role_id))


@roles_blp.route("/<int:role_id>", methods=["PATCH"])
@roles_blp.arguments(RoleUpdateSchema)
@roles_blp.response(200, RoleSchema)
@require_permission("roles.manage")
def roles_update(data: dict[str, Any], role_id: int) -> dict[str, Any]:
    session = get_session()
    role = _get_role(role_id)
    if role.name == "admin":
        raise ValidationError(
            "the admin role cannot change", fields={"permissions": ["admin holds every permission"]}
        )
    if "description" in data:
        role.description = data["description"]
    if "permissions" in data:
        user_service.set_role_permissions(session, role, data["permissions"])
    _commit()
    return _role(role)


@roles_blp.route("/<int:role_id>", methods=["DELETE"])
@roles_blp.response(204)
@require_permission("roles.manage")
def roles_delete(role_id: int) -> None:
    session = get_session()
    role = _get_role(role_id)
    if role.name == "admin":
        raise ValidationError("the admin role cannot be deleted", fields={"id": ["admin is built in"]})
    session.delete(role)
    _commit()


# --- ledger -----------------------------------------------------------------------------------------

ledger_blp = Blueprint("api_ledger", __name__, url_prefix=f"{API}/ledger", description="The shared ledger")
ACCOUNT_SORTS = {"code": Account.code, "name": Account.name, "id": Account.id}
JOURNAL_SORTS = {"code": Journal.code, "name": Journal.name, "id": Journal.id}
ENTRY_SORTS = ledger_service.ENTRY_SORTS


def _account(account: Account) -> dict[str, Any]:
    parent = get_session().get(Account, account.parent_id) if account.parent_id else None
    return {
        "id": account.id,
        "code": account.code,
        "name": account.name,
        "type": account.type,
        "parent": parent.code if parent else None,
        "active": account.active,
    }


def _coded_page(model: Any, sorts: dict[str, Any], args: dict[str, Any]) -> Page:
    """A page of the company's accounts or journals; ``q`` matches the name or the start of the code."""
    sort, descending = _sort(args["sort"], sorts, "code")
    stmt = select(model).where(model.company_id == company_id_of(get_session()))
    if args["q"]:
        stmt = stmt.where(
            model.name.icontains(args["q"], autoescape=True)
            | model.code.startswith(args["q"], autoescape=True)
        )
    return keyset_page(
        get_session(),
        stmt,
        column=sorts[sort],
        id_column=model.id,
        descending=descending,
        after=decode_cursor(args["cursor"]),
        limit=args["limit"],
    )


@ledger_blp.route("/accounts", methods=["GET"])
@ledger_blp.arguments(ListQuery, location="query")
@ledger_blp.response(200, AccountPage)
@require_permission("ledger.view")
def accounts_list(args: dict[str, Any]) -> dict[str, Any]:
    return _page(_coded_page(Account, ACCOUNT_SORTS, args), _account)


@ledger_blp.route("/accounts", methods=["POST"])
@ledger_blp.arguments(AccountSchema)
@ledger_blp.response(201, AccountSchema)
@require_permission("ledger.account.manage")
def accounts_create(data: dict[str, Any]) -> dict[str, Any]:
    account = ledger_service.create_account(get_session(), **data)
    _commit()
    return _account(account)


@ledger_blp.route("/accounts/<int:account_id>", methods=["GET"])
@ledger_blp.response(200, AccountSchema)
@require_permission("ledger.view")
def accounts_get(account_id: int) -> dict[str, Any]:
    return _account(ledger_service.get_account(get_session(), account_id))


@ledger_blp.route("/accounts/<int:account_id>", methods=["PATCH"])
@ledger_blp.arguments(AccountUpdateSchema)
@ledger_blp.response(200, AccountSchema)
@require_permission("ledger.account.manage")
def accounts_update(data: dict[str, Any], account_id: int) -> dict[str, Any]:
    session = get_session()
    account = ledger_service.set_account_active(
        session, ledger_service.get_account(session, account_id), data["active"]
    )
    _commit()
    return _account(account)


@ledger_blp.route("/journals", methods=["GET"])
@ledger_blp.arguments(ListQuery, location="query")
@ledger_blp.response(200, JournalPage)
@require_permission("ledger.view")
def journals_list(args: dict[str, Any]) -> dict[str, Any]:
    page = _coded_page(Journal, JOURNAL_SORTS, args)
    return _page(page, lambda j: {"id": j.id, "code": j.code, "name": j.name, "prefix": j.prefix})


@ledger_blp.route("/journals", methods=["POST"])
@ledger_blp.arguments(JournalSchema)
@ledger_blp.response(201, JournalSchema)
@require_permission("ledger.account.manage")
def journals_create(data: dict[str, Any]) -> dict[str, Any]:
    journal = ledger_service.create_journal(get_session(), **data)
    _commit()
    return {"id": journal.id, "code": journal.code, "name": journal.name, "prefix": journal.prefix}


def _entry(entry: JournalEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "number": entry.number,
        "state": entry.state,
        "journal": entry.journal.code,
        "date": entry.date,
        "memo": entry.memo,
        "reversal_of_id": entry.reversal_of_id,
        "source_plugin": entry.source_plugin,
        "source_ref": entry.source_ref,
        "posted_at": entry.posted_at,
        "lines": [
            {
                "account": line.account.code,
                "debit": line.debit,
                "credit": line.credit,
                "contact_id": line.contact_id,
                "memo": line.memo,
            }
            for line in entry.lines
        ],
    }


@ledger_blp.route("/entries", methods=["GET"])
@ledger_blp.arguments(EntryQuery, location="query")
@ledger_blp.response(200, EntryPage)
@require_permission("ledger.view")
def entries_list(args: dict[str, Any]) -> dict[str, Any]:
    session = get_session()
    sort, descending = _sort(args["sort"], ENTRY_SORTS, "id")
    page = ledger_service.list_entries(
        session,
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=ENTRY_SORTS[sort]),
        limit=args["limit"],
        **{k: args[k] for k in ("journal", "state", "date_from", "date_to")},
    )
    return _page(page, _entry)


@ledger_blp.route("/entries", methods=["POST"])
@ledger_blp.arguments(EntrySchema)
@ledger_blp.response(201, EntrySchema)
@require_permission("ledger.entry.create")
def entries_create(data: dict[str, Any]) -> dict[str, Any]:
    """Create a draft, or post at once with ``"post": true`` (unbalanced, unknown account, locked: 422)."""
    post = data.pop("post")
    entry = ledger_service.create_entry(get_session(), data, post=post)
    _commit()
    return _entry(entry)


@ledger_blp.route("/entries/<int:entry_id>", methods=["GET"])
@ledger_blp.response(200, EntrySchema)
@require_permission("ledger.view")
def entries_get(entry_id: int) -> dict[str, Any]:
    return _entry(ledger_service.get_entry(get_session(), entry_id))


@ledger_blp.route("/entries/<int:entry_id>", methods=["DELETE"])
@ledger_blp.response(204)
@require_permission("ledger.entry.create")
def entries_delete(entry_id: int) -> None:
    """Delete a draft; posted entries are reversed instead (409)."""
    session = get_session()
    ledger_service.delete_draft(session, ledger_service.get_entry(session, entry_id))
    _commit()


@ledger_blp.route("/entries/<int:entry_id>/post", methods=["POST"])
@ledger_blp.response(200, EntrySchema)
@require_permission("ledger.entry.post")
def entries_post(entry_id: int) -> dict[str, Any]:
    session = get_session()
    entry = ledger_service.post_entry(session, ledger_service.get_entry(session, entry_id))
    _commit()
    return _entry(entry)


@ledger_blp.route("/entries/<int:entry_id>/reverse", methods=["POST"])
@ledger_blp.arguments(ReverseRequest)
@ledger_blp.response(201, EntrySchema)
@require_permission("ledger.entry.reverse")
def entries_reverse(data: dict[str, Any], entry_id: int) -> dict[str, Any]:
    """Post the mirror entry; the original becomes ``reversed``. Returns the reversal."""
    session = get_session()
    reversal = ledger_service.reverse_entry(session, ledger_service.get_entry(session, entry_id), **data)
    _commit()
    return _entry(reversal)


@ledger_blp.route("/trial-balance", methods=["GET"])
@ledger_blp.arguments(TrialBalanceQuery, location="query")
@ledger_blp.response(200, TrialBalanceSchema)
@require_permission("ledger.view")
def trial_balance(args: dict[str, Any]) -> dict[str, Any]:
    report = ledger_service.trial_balance(get_session(), **args)
    return {
        "rows": [
            {
                "account": r.code,
                "name": r.name,
                "type": r.type,
                "debit": r.debit,
                "credit": r.credit,
                "balance": r.balance,
            }
            for r in report.rows
        ],
        "total_debit": report.total_debit,
        "total_credit": report.total_credit,
        "date_from": report.date_from,
        "date_to": report.date_to,
    }


# --- messages ----------------------------------------------------------------------------------------

notifications_blp = Blueprint(
    "api_notifications", __name__, url_prefix=f"{API}/notifications", description="Messages to the caller"
)
NOTIFICATION_FIELDS = ("id", "title", "body", "url", "source", "created_at", "read_at")


def _notification(notification: Any) -> dict[str, Any]:
    return {k: getattr(notification, k) for k in NOTIFICATION_FIELDS}


@notifications_blp.route("", methods=["GET"])
@notifications_blp.arguments(NotificationQuery, location="query")
@notifications_blp.response(200, NotificationPage)
@any_user
def notifications_list(args: dict[str, Any]) -> dict[str, Any]:
    """The caller's messages in the current company, newest first (``unread=true`` for unread only)."""
    from core.models import Notification

    page = notification_service.my_notifications(
        get_session(),
        unread_only=args["unread"],
        limit=args["limit"],
        after=decode_cursor(args["cursor"], Notification.id),
    )
    return _page(page, _notification)


@notifications_blp.route("/<int:notification_id>/read", methods=["POST"])
@notifications_blp.response(200, NotificationSchema)
@any_user
def notifications_read(notification_id: int) -> dict[str, Any]:
    session = get_session()
    notification_service.mark_read(session, notification_id)
    _commit()
    return _notification(notification_service.get_mine(session, notification_id))


@notifications_blp.route("/read-all", methods=["POST"])
@notifications_blp.response(200, MarkedRead)
@any_user
def notifications_read_all() -> dict[str, Any]:
    count = notification_service.mark_read(get_session())
    _commit()
    return {"marked": count}


BLUEPRINTS = [auth, me_blp, plugins_blp, contacts_blp, users_blp, roles_blp, ledger_blp, notifications_blp]
