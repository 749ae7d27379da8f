"""Core's pages: login, dashboard, Apps, contacts, ledger, users and roles, search.

Views only translate between HTTP and the services in ``core.services``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import (
    session as cookie,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from core.app import get_session, officium
from core.errors import AuthenticationFailed, Conflict, OfficiumError, ValidationError
from core.models import ENTRY_STATES, Account, JournalEntry, Role, User
from core.pagination import decode_cursor, keyset_page
from core.permissions import require_permission
from core.services import contacts as contact_service
from core.services import ledger as ledger_service
from core.services import users as user_service
from core.web.downloads import csv_response
from core.web.guards import any_user, check_declared_access, public
from core.web.ratelimit import TooManyAttempts

blueprint = Blueprint("core", __name__)


@blueprint.before_app_request
def _require_login() -> Any:
    if request.path.startswith("/api/") or request.endpoint in (None, "static"):
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "officium_access", None) == "public":
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("core.login", next=request.full_path if request.method == "GET" else None))
    check_declared_access()
    return None


# --- helpers ---------------------------------------------------------------------------------------


def _form(*keys: str) -> dict[str, str]:
    return {k: request.form.get(k, "").strip() for k in keys}


def _or_none(value: str) -> str | None:
    return value or None


def _sort_args(allowed: Sequence[str], default: str) -> tuple[str, bool]:
    sort = request.args.get("sort", default)
    if sort not in allowed:
        sort = default
    return sort, request.args.get("dir") == "desc"


def _parse_date_arg(name: str) -> dt.date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        flash(_("%(field)s is not a date (YYYY-MM-DD)", field=name), "error")
        return None


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would let a phishing link reuse our login page.
    # Control characters are refused too: "/\t/evil.example" would reach the browser as "//evil.example".
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return target
    return url_for("core.dashboard")


# --- login -------------------------------------------------------------------------------------------


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    error = None
    email = ""
    if request.method == "POST":
        email = request.form.get("email", "").strip()
        password = request.form.get("password", "")
        try:
            current_app.extensions["officium_throttle"].check(request.remote_addr or "-", email)
            session = get_session()
            user = user_service.authenticate(session, email, password)
            session.commit()
        except TooManyAttempts as exc:
            return (
                render_template("core/login.html", error=exc.message, email=email),
                429,
                {"Retry-After": str(exc.retry_after)},
            )
        except AuthenticationFailed:
            error = _("Invalid email or password.")
        else:
            cookie.clear()  # a new session at login: no fixation
            cookie["gen"] = user.session_generation
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    return render_template("core/login.html", error=error, email=email), 401 if error else 200


@blueprint.post("/logout")
@any_user
def logout() -> Any:
    session = get_session()
    user = session.get(User, current_user.id)
    user.session_generation += 1  # ends this user's sessions everywhere
    session.commit()
    logout_user()
    cookie.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("core.login"))


@blueprint.route("/account/password", methods=["GET", "POST"])
@any_user
def change_password() -> Any:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        session = get_session()
        user = session.get(User, current_user.id)
        if request.form.get("new_password") != request.form.get("confirm_password"):
            errors["confirm_password"] = [_("does not match the new password")]
        else:
            try:
                user_service.change_own_password(
                    session,
                    user,
                    request.form.get("current_password", ""),
                    request.form.get("new_password", ""),
                )
                session.commit()
            except ValidationError as exc:
                session.rollback()
                errors = exc.fields
            else:
                cookie["gen"] = user.session_generation  # keep this session, end the others
                flash(_("Password changed. Other sessions and API tokens were ended."), "success")
                return redirect(url_for("core.dashboard"))
    return render_template("core/password.html", errors=errors), 422 if errors else 200


# --- dashboard and search ------------------------------------------------------------------------


@blueprint.get("/")
@any_user
def dashboard() -> Any:
    widgets = officium().plugins.collect("officium_dashboard_widgets", user=g.officium_actor)
    return render_template("core/dashboard.html", widgets=sorted(widgets, key=lambda w: w.order))


@blueprint.get("/search")
@any_user
def search() -> Any:
    query = request.args.get("q", "").strip()[:200]
    results = (
        officium().plugins.collect("officium_search", query=query, user=g.officium_actor) if query else []
    )
    return render_template("core/search.html", query=query, results=results)


# --- apps ---------------------------------------------------------------------------------------------


@blueprint.get("/apps")
@require_permission("plugins.manage")
def apps() -> Any:
    ext = officium()
    ext.refresh_plugins()
    plugins = ext.plugins.describe_all()
    return render_template("core/apps.html", plugins=plugins)


@blueprint.route("/apps/<name>/<any(enable, disable):action>", methods=["GET", "POST"])
@require_permission("plugins.manage")
def app_action(name: str, action: str) -> Any:
    ext = officium()
    plugin = ext.plugins.plugins.get(name)
    if plugin is None:
        abort(404)
    ext.refresh_plugins()
    problem, also = None, []
    try:
        if action == "enable":
            also = [
                n
                for n in ext.plugins.resolve_enable_order([name])
                if n != name and not ext.plugins.is_enabled(n)
            ]
        else:
            also = ext.plugins.dependents(name, ext.plugins.enabled)
            if also:
                problem = _(
                    "%(name)s cannot be disabled while %(others)s depends on it.",
                    name=name,
                    others=", ".join(also),
                )
    except OfficiumError as exc:
        problem = exc.message
    if request.method == "POST" and problem is None:
        # SQLite: the request's session must not hold the write lock while migrations run.
        get_session().commit()
        try:
            changed = (ext.plugins.enable if action == "enable" else ext.plugins.disable)(ext.db, [name])
        except OfficiumError as exc:
            flash(exc.message, "error")
        else:
            verb = _("Enabled") if action == "enable" else _("Disabled")
            flash(f"{verb}: {', '.join(changed) or name}", "success")
        return redirect(url_for("core.apps"))
    info = ext.plugins.describe(name)
    return render_template("core/app_confirm.html", plugin=info, action=action, also=also, problem=problem)


# --- contacts -----------------------------------------------------------------------------------------

CONTACT_FIELDS = ("kind", "name", "email", "phone", "street", "city", "postal_code", "country", "notes")


def _contact_form_data() -> dict[str, Any]:
    data: dict[str, Any] = {k: request.form.get(k, "").strip() for k in CONTACT_FIELDS}
    parent = request.form.get("parent_id", "").strip()
    data["parent_id"] = int(parent) if parent.isdigit() else (parent or None)
    data["tags"] = [t.strip() for t in request.form.get("tags", "").split(",") if t.strip()]
    return data


@blueprint.get("/contacts")
@require_permission("contacts.view")
def contacts() -> Any:
    session = get_session()
    sort, descending = _sort_args(contact_service.SORTS, "name")
    kind = request.args.get("kind") or None
    if kind not in (None, *contact_service.KINDS):
        kind = None
    filters = {
        "q": request.args.get("q", "").strip()[:200] or None,
        "kind": kind,
        "tag": request.args.get("tag", "").strip() or None,
    }
    if request.args.get("format") == "csv":

        def rows() -> Iterable[Sequence[Any]]:
            after = None
            while True:
                page = contact_service.list_contacts(
                    session, sort=sort, descending=descending, limit=500, after=after, **filters
                )
                for c in page.items:
                    yield [c.id, c.kind, c.name, c.email, c.phone, c.city, c.country, ";".join(c.tags)]
                if page.next_after is None:
                    return
                after = page.next_after

        return csv_response(
            "contacts.csv", ["id", "kind", "name", "email", "phone", "city", "country", "tags"], rows()
        )
    try:
        after = decode_cursor(request.args.get("cursor"))
    except ValidationError:
        after = None
        flash(_("That page link is no longer valid; showing the first page."), "error")
    page = contact_service.list_contacts(
        session, sort=sort, descending=descending, after=after, limit=50, **filters
    )
    return render_template("core/contacts.html", page=page, sort=sort, descending=descending, filters=filters)


@blueprint.route("/contacts/new", methods=["GET", "POST"])
@require_permission("contacts.create")
def contact_new() -> Any:
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {"kind": request.args.get("kind", "person")}
    if request.method == "POST":
        data = _contact_form_data()
        session = get_session()
        try:
            contact = contact_service.create_contact(session, **data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("Contact %(name)s created.", name=contact.name), "success")
            return redirect(url_for("core.contact_detail", contact_id=contact.id))
    return render_template(
        "core/contact_form.html", data=data, errors=errors, contact=None, organizations=_organizations()
    ), 422 if errors else 200


def _organizations() -> list[Any]:
    return contact_service.list_contacts(get_session(), kind="organization", limit=500).items


@blueprint.get("/contacts/<int:contact_id>")
@require_permission("contacts.view")
def contact_detail(contact_id: int) -> Any:
    contact = contact_service.get_contact(get_session(), contact_id)
    panels = officium().plugins.collect("officium_contact_panels", contact=contact, user=g.officium_actor)
    return render_template(
        "core/contact_detail.html", contact=contact, panels=sorted(panels, key=lambda p: p.order)
    )


@blueprint.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@require_permission("contacts.edit")
def contact_edit(contact_id: int) -> Any:
    session = get_session()
    contact = contact_service.get_contact(session, contact_id)
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {k: getattr(contact, k) or "" for k in CONTACT_FIELDS}
    data["tags"] = contact.tags
    data["parent_id"] = contact.parent_id
    if request.method == "POST":
        data = _contact_form_data()
        try:
            contact_service.update_contact(session, contact, **data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("Contact saved."), "success")
            return redirect(url_for("core.contact_detail", contact_id=contact.id))
    return render_template(
        "core/contact_form.html", data=data, errors=errors, contact=contact, organizations=_organizations()
    ), 422 if errors else 200


@blueprint.post("/contacts/<int:contact_id>/delete")
@require_permission("contacts.delete")
def contact_delete(contact_id: int) -> Any:
    session = get_session()
    contact = contact_service.get_contact(session, contact_id)
    try:
        contact_service.delete_contact(session, contact)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("core.contact_detail", contact_id=contact_id))
    flash(_("Contact deleted."), "success")
    return redirect(url_for("core.contacts"))


# --- ledger --------------------------------------------------------------------------------------------

ACCOUNT_SORTS = {"code": Account.code, "name": Account.name, "type": Account.type}


@blueprint.get("/ledger/accounts")
@require_permission("ledger.view")
def accounts() -> Any:
    return _listing(
        select(Account).where(Account.company_id == _company_id()),
        ACCOUNT_SORTS,
        "code",
        Account.id,
        "core/accounts.html",
        "accounts.csv",
        ["code", "name", "type", "active"],
        lambda a: [a.code, a.name, a.type, a.active],
    )


def _company_id() -> int:
    from core.context import company_id_of

    return company_id_of(get_session())


def _cursor(column: Any = None) -> tuple[Any, int] | None:
    try:
        return decode_cursor(request.args.get("cursor"), column=column)
    except ValidationError:
        flash(_("That page link is no longer valid; showing the first page."), "error")
        return None


def _listing(
    stmt: Any,
    sorts: dict[str, Any],
    default_sort: str,
    id_column: Any,
    template: str,
    csv_name: str,
    csv_header: list[str],
    csv_row: Any,
    **context: Any,
) -> Any:
    """A sortable list page: CSV of every row with ``?format=csv``, else one keyset page."""
    session = get_session()
    sort, descending = _sort_args(sorts, default_sort)
    if request.args.get("format") == "csv":
        rows = session.scalars(stmt.order_by(sorts[sort], id_column)).all()
        return csv_response(csv_name, csv_header, (csv_row(row) for row in rows))
    page = keyset_page(
        session,
        stmt,
        column=sorts[sort],
        id_column=id_column,
        descending=descending,
        after=_cursor(sorts[sort]),
        limit=100,
    )
    return render_template(template, page=page, sort=sort, descending=descending, **context)


@blueprint.route("/ledger/accounts/new", methods=["GET", "POST"])
@require_permission("ledger.account.manage")
def account_new() -> Any:
    errors: dict[str, list[str]] = {}
    data = {"code": "", "name": "", "type": "asset", "parent": ""}
    if request.method == "POST":
        data = _form("code", "name", "type", "parent")
        session = get_session()
        try:
            ledger_service.create_account(
                session,
                code=data["code"],
                name=data["name"],
                type=data["type"],
                parent=_or_none(data["parent"]),
            )
            session.commit()
        except (ValidationError, Conflict) as exc:  # a duplicate code is a Conflict
            session.rollback()
            errors = exc.fields or {"code": [exc.message]}
        else:
            flash(_("Account %(code)s created.", code=data["code"]), "success")
            return redirect(url_for("core.accounts"))
    return render_template("core/account_form.html", data=data, errors=errors), 422 if errors else 200


@blueprint.post("/ledger/accounts/<int:account_id>/toggle")
@require_permission("ledger.account.manage")
def account_toggle(account_id: int) -> Any:
    session = get_session()
    account = ledger_service.get_account(session, account_id)
    ledger_service.set_account_active(session, account, not account.active)
    session.commit()
    return redirect(url_for("core.accounts"))


@blueprint.get("/ledger/journals")
@require_permission("ledger.view")
def journals() -> Any:
    items = ledger_service.list_journals(get_session())
    if request.args.get("format") == "csv":
        return csv_response(
            "journals.csv", ["code", "name", "prefix"], ([j.code, j.name, j.prefix] for j in items)
        )
    return render_template("core/journals.html", journals=items)


@blueprint.route("/ledger/journals/new", methods=["GET", "POST"])
@require_permission("ledger.account.manage")
def journal_new() -> Any:
    errors: dict[str, list[str]] = {}
    data = {"code": "", "name": "", "prefix": ""}
    if request.method == "POST":
        data = _form("code", "name", "prefix")
        session = get_session()
        try:
            ledger_service.create_journal(
                session, code=data["code"], name=data["name"], prefix=_or_none(data["prefix"])
            )
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            errors = exc.fields or {"code": [exc.message]}
        else:
            flash(_("Journal %(code)s created.", code=data["code"]), "success")
            return redirect(url_for("core.journals"))
    return render_template("core/journal_form.html", data=data, errors=errors), 422 if errors else 200


ENTRY_SORTS = ledger_service.ENTRY_SORTS


@blueprint.get("/ledger/entries")
@require_permission("ledger.view")
def entries() -> Any:
    session = get_session()
    sort, descending = _sort_args(ENTRY_SORTS, "id")
    if "dir" not in request.args:
        descending = True
    filters = {
        "journal": request.args.get("journal", ""),
        "state": request.args.get("state", ""),
        "date_from": _parse_date_arg("date_from"),
        "date_to": _parse_date_arg("date_to"),
    }
    journals = ledger_service.list_journals(session)
    # The form only offers valid choices; anything else in the URL is ignored, not an error page.
    query = {
        "journal": filters["journal"] if filters["journal"] in {j.code for j in journals} else None,
        "state": filters["state"] if filters["state"] in ENTRY_STATES else None,
        "date_from": filters["date_from"],
        "date_to": filters["date_to"],
    }
    if request.args.get("format") == "csv":
        rows = session.scalars(ledger_service.entries_query(session, **query).order_by(JournalEntry.id)).all()
        return csv_response(
            "journal-entries.csv",
            ["number", "date", "journal", "memo", "state", "amount"],
            ([e.number, e.date, e.journal.code, e.memo, e.state, e.total_debit] for e in rows),
        )
    page = ledger_service.list_entries(
        session, sort=sort, descending=descending, after=_cursor(ENTRY_SORTS[sort]), limit=50, **query
    )
    return render_template(
        "core/entries.html", page=page, sort=sort, descending=descending, filters=filters, journals=journals
    )


@blueprint.route("/ledger/entries/new", methods=["GET", "POST"])
@require_permission("ledger.entry.create")
def entry_new() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {
        "journal": "",
        "date": dt.date.today().isoformat(),
        "memo": "",
        "lines": [{"account": "", "debit": "", "credit": "", "memo": ""}] * 2,
    }
    if request.method == "POST":
        accounts_ = request.form.getlist("line_account")
        debits = request.form.getlist("line_debit")
        credits = request.form.getlist("line_credit")
        memos = request.form.getlist("line_memo")
        lines = [
            {"account": a.strip(), "debit": d.strip() or "0", "credit": c.strip() or "0", "memo": m.strip()}
            for a, d, c, m in zip(accounts_, debits, credits, memos, strict=False)
            if a.strip() or d.strip() or c.strip()
        ]
        data = {**_form("journal", "date", "memo"), "lines": lines or data["lines"]}
        post = request.form.get("action") == "post"
        try:
            entry = ledger_service.create_entry(
                session, {**{k: data[k] for k in ("journal", "date", "memo")}, "lines": lines}, post=post
            )
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(
                _("Entry %(number)s posted.", number=entry.number) if post else _("Draft saved."), "success"
            )
            return redirect(url_for("core.entry_detail", entry_id=entry.id))
    return render_template(
        "core/entry_form.html",
        data=data,
        errors=errors,
        journals=ledger_service.list_journals(session),
        accounts=ledger_service.list_accounts(session, active=True),
    ), 422 if errors else 200


@blueprint.get("/ledger/entries/<int:entry_id>")
@require_permission("ledger.view")
def entry_detail(entry_id: int) -> Any:
    entry = ledger_service.get_entry(get_session(), entry_id)
    return render_template("core/entry_detail.html", entry=entry)


@blueprint.post("/ledger/entries/<int:entry_id>/post")
@require_permission("ledger.entry.post")
def entry_post(entry_id: int) -> Any:
    session = get_session()
    entry = ledger_service.get_entry(session, entry_id)
    try:
        ledger_service.post_entry(session, entry)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        flash(exc.message, "error")
    else:
        flash(_("Entry %(number)s posted.", number=entry.number), "success")
    return redirect(url_for("core.entry_detail", entry_id=entry_id))


@blueprint.post("/ledger/entries/<int:entry_id>/reverse")
@require_permission("ledger.entry.reverse")
def entry_reverse(entry_id: int) -> Any:
    session = get_session()
    entry = ledger_service.get_entry(session, entry_id)
    try:
        reversal = ledger_service.reverse_entry(session, entry, date=request.form.get("date") or None)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("core.entry_detail", entry_id=entry_id))
    flash(_("Reversed by %(number)s.", number=reversal.number), "success")
    return redirect(url_for("core.entry_detail", entry_id=reversal.id))


@blueprint.get("/ledger/trial-balance")
@require_permission("ledger.view")
def trial_balance() -> Any:
    date_to = _parse_date_arg("date_to")
    date_from = _parse_date_arg("date_from")
    report = ledger_service.trial_balance(get_session(), date_to=date_to, date_from=date_from)
    if request.args.get("format") == "csv":
        return csv_response(
            "trial-balance.csv",
            ["code", "account", "type", "debit", "credit", "balance"],
            ([r.code, r.name, r.type, r.debit, r.credit, r.balance] for r in report.rows),
        )
    return render_template("core/trial_balance.html", report=report)


# --- users and roles ------------------------------------------------------------------------------------

USER_SORTS = {"email": User.email, "name": User.name}


@blueprint.get("/admin/users")
@require_permission("users.manage")
def users() -> Any:
    return _listing(
        select(User),
        USER_SORTS,
        "email",
        User.id,
        "core/users.html",
        "users.csv",
        ["email", "name", "active", "roles"],
        lambda u: [u.email, u.name, u.active, ";".join(r.name for r in u.roles)],
    )


@blueprint.route("/admin/users/new", methods=["GET", "POST"])
@require_permission("users.manage")
def user_new() -> Any:
    session = get_session()
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {"email": "", "name": "", "roles": []}
    if request.method == "POST":
        data = {**_form("email", "name"), "roles": request.form.getlist("roles")}
        try:
            user_service.create_user(
                session,
                email=data["email"],
                name=data["name"],
                password=request.form.get("password", ""),
                roles=data["roles"],
                company_ids=[_company_id()],
            )
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            errors = exc.fields or {"email": [exc.message]}
        else:
            flash(_("User %(email)s created.", email=data["email"].lower()), "success")
            return redirect(url_for("core.users"))
    return render_template(
        "core/user_form.html",
        data=data,
        errors=errors,
        user=None,
        roles=session.scalars(select(Role).order_by(Role.name)).all(),
    ), 422 if errors else 200


@blueprint.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@require_permission("users.manage")
def user_edit(user_id: int) -> Any:
    session = get_session()
    user = session.get(User, user_id) or abort(404)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            user_service.set_active(session, user, request.form.get("active") == "on")
            user_service.set_roles(session, user, request.form.getlist("roles"))
            user.name = request.form.get("name", user.name).strip()
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.fields
        else:
            flash(_("User saved."), "success")
            return redirect(url_for("core.users"))
    return render_template(
        "core/user_form.html",
        data={"email": user.email, "name": user.name, "roles": [r.name for r in user.roles]},
        errors=errors,
        user=user,
        roles=session.scalars(select(Role).order_by(Role.name)).all(),
    ), 422 if errors else 200


@blueprint.get("/admin/roles")
@require_permission("roles.manage")
def roles() -> Any:
    session = get_session()
    counts = dict(
        session.execute(select(Role.id, func.count(User.id)).join(Role, User.roles).group_by(Role.id)).all()
    )
    return _listing(
        select(Role),
        {"name": Role.name},
        "name",
        Role.id,
        "core/roles.html",
        "roles.csv",
        ["name", "description", "permissions"],
        lambda r: [r.name, r.description, ";".join(sorted(r.permission_codes))],
        counts=counts,
    )


def _permissions_by_plugin() -> dict[str, list[tuple[str, str]]]:
    grouped: dict[str, list[tuple[str, str]]] = {}
    for code, description in user_service.all_permissions(get_session()).items():
        grouped.setdefault(code.split(".")[0], []).append((code, description))
    return grouped


@blueprint.route("/admin/roles/new", methods=["GET", "POST"])
@require_permission("roles.manage")
def role_new() -> Any:
    return _role_form(None)


@blueprint.route("/admin/roles/<int:role_id>", methods=["GET", "POST"])
@require_permission("roles.manage")
def role_edit(role_id: int) -> Any:
    return _role_form(role_id)


def _role_form(role_id: int | None) -> Any:
    session = get_session()
    role = session.get(Role, role_id) if role_id is not None else None
    if role_id is not None and role is None:
        abort(404)
    errors: dict[str, list[str]] = {}
    data = {
        "name": role.name if role else "",
        "description": role.description if role else "",
        "permissions": sorted(role.permission_codes) if role else [],
    }
    if request.method == "POST":
        data = {**_form("name", "description"), "permissions": request.form.getlist("permissions")}
        try:
            if role is None:
                role = user_service.create_role(
                    session,
                    name=data["name"],
                    description=data["description"],
                    permissions=data["permissions"],
                )
            elif role.name == "admin":
                raise ValidationError(
                    "admin", fields={"name": [_("the admin role always holds every permission")]}
                )
            else:
                role.description = data["description"]
                user_service.set_role_permissions(session, role, data["permissions"])
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            errors = exc.fields or {"name": [exc.message]}
        else:
            flash(_("Role %(name)s saved.", name=role.name), "success")
            return redirect(url_for("core.roles"))
    return render_template(
        "core/role_form.html", data=data, errors=errors, role=role, grouped=_permissions_by_plugin()
    ), 422 if errors else 200


# --- messages (in-app notifications) ----------------------------------------------------------------


@blueprint.get("/messages")
@any_user
def notifications() -> Any:
    from core.models import Notification
    from core.services import notifications as notification_service
    from core.web.pages import cursor_arg

    unread_only = request.args.get("unread") == "1"
    page = notification_service.my_notifications(
        get_session(), unread_only=unread_only, after=cursor_arg(Notification.id)
    )
    return render_template("core/messages.html", page=page, unread_only=unread_only)


@blueprint.post("/messages/<int:notification_id>/open")
@any_user
def notification_open(notification_id: int) -> Any:
    """Mark a message read and follow its link (or come back to the list)."""
    from core.services import notifications as notification_service

    session = get_session()
    notification = notification_service.get_mine(session, notification_id)
    target = notification.url
    notification_service.mark_read(session, notification_id)
    session.commit()
    return redirect(_safe_next(target) if target else url_for("core.notifications"))


@blueprint.post("/messages/read-all")
@any_user
def notifications_read_all() -> Any:
    from core.services import notifications as notification_service

    session = get_session()
    count = notification_service.mark_read(session)
    session.commit()
    flash(_("%(n)s messages marked as read.", n=count), "success")
    return redirect(url_for("core.notifications"))
