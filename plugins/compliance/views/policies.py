"""Compliance pages: policies — the list, a policy with its version in effect, history and
assignments, publishing a version, the acknowledgement report; and "My policies", where every
user reads and acknowledges what is assigned to them (also from a dashboard card).

Reading needs ``compliance.view``; writing, publishing and assigning ``compliance.policy.manage``
(checked here and again by the services). Policy bodies are shown only as sanitized HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from core.plugin_api import (
    Conflict,
    NotFound,
    SearchResult,
    ValidationError,
    Widget,
    any_user,
    csv_response,
    get_session,
    has_permission,
    pages,
    require_permission,
)

from ..models import Policy, PolicyVersion
from ..services import policies as service
from . import blueprint

VIEW = "compliance.view"
MANAGE = "compliance.policy.manage"
PAGE_SIZE = 50
ACTIVE_FILTERS = ("active", "archived", "all")
VERSION_LABELS = {"effective": _l("In effect"), "upcoming": _l("Upcoming"), "superseded": _l("Superseded")}
ACK_LABELS = {
    "acknowledged": _l("Acknowledged"),
    "pending": _l("Pending"),
    "not_in_effect": _l("Not in effect yet"),
}
FORMAT_LABELS = {"markdown": _l("Markdown"), "html": _l("HTML")}
# Where the acknowledge button sends the user back to (a name, never a URL from the form).
BACK = {"dashboard": "core.dashboard", "mine": "compliance.my_policies", "read": "compliance.my_policy"}


@blueprint.app_template_global("policy_labels")
def policy_labels() -> dict[str, Any]:
    return {"versions": VERSION_LABELS, "acks": ACK_LABELS, "formats": FORMAT_LABELS}


@blueprint.app_template_global("policy_version_status")
def policy_version_status(version: PolicyVersion, effective: PolicyVersion | None) -> str:
    """``effective``, ``upcoming`` or ``superseded``."""
    return service.version_status(version, effective)


@blueprint.app_template_filter("policy_datetime")
def policy_datetime(value: dt.datetime | None) -> str:
    """When something happened, in the user's locale (date and time)."""
    return format_datetime(value, format="medium") if value else ""


def rendered(version: PolicyVersion | None) -> Markup:
    """A version's body as sanitized HTML, safe to place in a page."""
    if version is None:
        return Markup("")
    return Markup(service.render_body(version.body, version.body_format))  # noqa: S704 - sanitized by nh3


def _errors_of(exc: ValidationError | Conflict, default_field: str = "form") -> dict[str, list[str]]:
    return exc.fields or {default_field: [exc.message]}


def _general_errors(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    shown = set(shown)
    return [f"{key}: {'; '.join(messages)}" for key, messages in errors.items() if key not in shown]


def _posted(keys: Iterable[str]) -> dict[str, str]:
    return {key: request.form.get(key, "").strip() for key in keys}


# --- dashboard and search -------------------------------------------------------------------------


def widgets(user: Any) -> list[Widget]:
    """The card "Policies to acknowledge", for any signed-in user with versions in effect they have
    not acknowledged yet; nothing otherwise."""
    if getattr(user, "id", None) is None:
        return []
    pending = service.pending_policies(get_session())
    if not pending:
        return []
    return [
        Widget(
            _("Policies to acknowledge"),
            render_template("compliance/policy_widget.html", items=pending),
            order=5,
        )
    ]


def search_results(query: str, user: Any) -> list[SearchResult]:
    """Policies whose title contains ``query`` (for ``compliance.view`` holders)."""
    if not has_permission(user, VIEW):
        return []
    return [
        SearchResult(
            title=policy.title,
            url=url_for("compliance.policy", policy_id=policy.id),
            kind=_("Policy"),
            summary=policy.summary[:200],
        )
        for policy in service.search(get_session(), query)
    ]


# --- the list -------------------------------------------------------------------------------------


def _active_filter() -> tuple[str, bool | None]:
    status = request.args.get("status", "active")
    if status not in ACTIVE_FILTERS:
        status = "active"
    return status, {"active": True, "archived": False}.get(status)


@blueprint.get("/policies")
@require_permission(VIEW)
def policies() -> Any:
    """Policies by title: the version in effect, its date, who must acknowledge and how many did;
    search, active/archived filter and CSV export."""
    session = get_session()
    q = request.args.get("q", "").strip()[:200]
    status, active = _active_filter()
    if request.args.get("format") == "csv":
        return csv_response(
            "policies.csv",
            [
                "title",
                "version",
                "effective_date",
                "upcoming_version",
                "upcoming_date",
                "assigned_to",
                "acknowledged",
                "assigned",
                "owner",
                "active",
            ],
            _csv_policies(session, q, active),
        )
    page = service.list_policies(
        session, q=q or None, active=active, after=pages.cursor_arg(Policy.title), limit=PAGE_SIZE
    )
    return render_template(
        "compliance/policies.html",
        page=page,
        rows=service.summaries(session, page.items),
        q=q,
        status=status,
        filtered=bool(q) or status != "active",
        can_manage=pages.actor_can(MANAGE),
    )


def _csv_policies(session: Any, q: str, active: bool | None) -> Iterator[list[Any]]:
    after = None
    while True:
        page = service.list_policies(session, q=q or None, active=active, after=after, limit=500)
        for row in service.summaries(session, page.items):
            yield [
                row.policy.title,
                row.current.version if row.current else "",
                row.current.effective_date.isoformat() if row.current else "",
                row.upcoming.version if row.upcoming else "",
                row.upcoming.effective_date.isoformat() if row.upcoming else "",
                "; ".join(item.label for item in row.assignments),
                row.acknowledged,
                row.assigned,
                service.user_label(row.owner),
                "yes" if row.policy.active else "no",
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- new and edit ---------------------------------------------------------------------------------

POLICY_FIELDS = ("title", "summary", "owner_id")


def _render_form(policy: Policy | None, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    return render_template(
        "compliance/policy_form.html",
        policy=policy,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*POLICY_FIELDS, "active")),
        people=service.company_users(get_session()),
    ), 422 if errors else 200


@blueprint.route("/policies/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def policy_new() -> Any:
    """Add a policy: title, summary, owner; its text comes with the first version."""
    session = get_session()
    if request.method == "POST":
        data = _posted(POLICY_FIELDS)
        try:
            policy = service.create_policy(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_form(None, data, _errors_of(exc))
        message = _("Policy “%(title)s” created: publish its first version next.", title=policy.title)
        flash(message, "success")
        return redirect(url_for("compliance.policy", policy_id=policy.id))
    return _render_form(None, {key: "" for key in POLICY_FIELDS}, {})


@blueprint.route("/policies/<int:policy_id>/edit", methods=["GET", "POST"])
@require_permission(MANAGE)
def policy_edit(policy_id: int) -> Any:
    """Change the title, summary, owner, or archive the policy (then nobody is asked)."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    if request.method == "POST":
        data: dict[str, Any] = _posted(POLICY_FIELDS)
        data["active"] = request.form.get("active") == "on"
        try:
            service.update_policy(session, policy, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_form(service.get_policy(session, policy_id), data, _errors_of(exc))
        flash(_("Policy “%(title)s” saved.", title=policy.title), "success")
        return redirect(url_for("compliance.policy", policy_id=policy_id))
    data = {
        "title": policy.title,
        "summary": policy.summary,
        "owner_id": str(policy.owner_id or ""),
        "active": policy.active,
    }
    return _render_form(policy, data, {})


@blueprint.post("/policies/<int:policy_id>/delete")
@require_permission(MANAGE)
def policy_delete(policy_id: int) -> Any:
    """Delete a policy nobody has acknowledged; otherwise say to archive it."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    title = policy.title
    try:
        service.delete_policy(session, policy)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("compliance.policy", policy_id=policy_id))
    flash(_("Policy “%(title)s” deleted.", title=title), "success")
    return redirect(url_for("compliance.policies"))


# --- a policy -------------------------------------------------------------------------------------


def _render_policy(
    policy: Policy, errors: dict[str, list[str]] | None = None, data: dict[str, str] | None = None
) -> Any:
    session = get_session()
    can_manage = pages.actor_can(MANAGE)
    summary = service.summaries(session, [policy])[0]
    return render_template(
        "compliance/policy_detail.html",
        policy=policy,
        summary=summary,
        body=rendered(summary.current),
        versions=service.versions_of(session, policy),
        assignments=service.assignments_of(session, policy),
        roles=service.role_names(session) if can_manage else [],
        people=service.company_users(session) if can_manage else [],
        errors=errors or {},
        data=data or {"role": "", "user_id": ""},
        can_manage=can_manage,
    ), 422 if errors else 200


@blueprint.get("/policies/<int:policy_id>")
@require_permission(VIEW)
def policy(policy_id: int) -> Any:
    """A policy: its version in effect (sanitized), the next one, version history, assignments."""
    return _render_policy(service.get_policy(get_session(), policy_id))


@blueprint.get("/policies/<int:policy_id>/versions/<int:number>")
@require_permission(VIEW)
def policy_version(policy_id: int, number: int) -> Any:
    """One version of a policy as published."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    version = service.get_version(session, policy, number)
    status = service.version_status(version, service.effective_version(session, policy))
    return render_template(
        "compliance/policy_version.html",
        policy=policy,
        version=version,
        status=status,
        body=rendered(version),
    )


VERSION_FIELDS = ("body", "format", "effective_date", "change_note")


def _render_publish(policy: Policy, data: dict[str, str], errors: dict[str, list[str]]) -> Any:
    return render_template(
        "compliance/policy_version_form.html",
        policy=policy,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, VERSION_FIELDS),
    ), (409 if "policy" in errors else 422) if errors else 200


@blueprint.route("/policies/<int:policy_id>/versions/new", methods=["GET", "POST"])
@require_permission(MANAGE)
def policy_publish(policy_id: int) -> Any:
    """Publish a new version: body, format, effective date, change note. Prefilled with the latest
    version's text to edit."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    if request.method == "POST":
        data = _posted(VERSION_FIELDS)
        data["body"] = request.form.get("body", "")  # leading blanks matter in Markdown
        try:
            version = service.publish_version(session, policy, data)
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            return _render_publish(service.get_policy(session, policy_id), data, _errors_of(exc))
        flash(_("Version %(n)s of “%(title)s” published.", n=version.version, title=policy.title), "success")
        return redirect(url_for("compliance.policy", policy_id=policy_id))
    versions = service.versions_of(session, policy)
    latest = versions[0] if versions else None
    data = {
        "body": latest.body if latest else "",
        "format": latest.body_format if latest else "markdown",
        "effective_date": max(
            service.today(), latest.effective_date if latest else service.today()
        ).isoformat(),
        "change_note": "",
    }
    return _render_publish(policy, data, {})


@blueprint.post("/policies/<int:policy_id>/assignments")
@require_permission(MANAGE)
def policy_assign(policy_id: int) -> Any:
    """Assign the policy to a role (everyone holding it) or to one user."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    data = _posted(("role", "user_id"))
    try:
        item = service.add_assignment(
            session, policy, role=data["role"] or None, user_id=data["user_id"] or None
        )
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_policy(service.get_policy(session, policy_id), _errors_of(exc, "role"), data)
    flash(_("Assigned to %(name)s.", name=item.label), "success")
    return redirect(url_for("compliance.policy", policy_id=policy_id) + "#assignments")


@blueprint.post("/policies/<int:policy_id>/assignments/<int:assignment_id>/delete")
@require_permission(MANAGE)
def policy_unassign(policy_id: int, assignment_id: int) -> Any:
    """Stop asking that role or user (acknowledgements given stay on record)."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    service.remove_assignment(session, service.get_assignment(session, policy, assignment_id))
    session.commit()
    flash(_("Assignment removed."), "success")
    return redirect(url_for("compliance.policy", policy_id=policy_id) + "#assignments")


# --- the acknowledgement report -------------------------------------------------------------------


@blueprint.get("/policies/<int:policy_id>/acknowledgements")
@any_user
def policy_report(policy_id: int) -> Any:
    """Everyone assigned, with when they acknowledged the version in effect or "pending" (for
    ``compliance.view`` or ``compliance.policy.manage`` holders); status filter and CSV export."""
    session = get_session()
    policy = service.report_policy(session, policy_id)
    status = request.args.get("status", "")
    if status not in service.ACK_STATUSES:
        status = ""
    report = service.acknowledgement_report(session, policy, status or None)
    if request.args.get("format") == "csv":
        version = report.version
        return csv_response(
            f"policy-{policy.id}-acknowledgements.csv",
            ["policy", "version", "user", "email", "assigned_through", "status", "acknowledged_at"],
            (
                [
                    policy.title,
                    version.version if version else "",
                    row.user.name,
                    row.user.email,
                    "; ".join(row.through),
                    row.status,
                    row.acknowledged_at.isoformat() if row.acknowledged_at else "",
                ]
                for row in report.rows
            ),
        )
    total = report if not status else service.acknowledgement_report(session, policy)
    return render_template(
        "compliance/policy_report.html",
        policy=policy,
        report=report,
        status=status,
        assigned=len(total.rows),
        acknowledged=total.acknowledged,
    )


# --- my policies ----------------------------------------------------------------------------------


@blueprint.get("/my-policies")
@any_user
def my_policies() -> Any:
    """The policies assigned to me: what to read and acknowledge, what I acknowledged and when."""
    return render_template("compliance/policies_mine.html", items=service.my_policies(get_session()))


def _render_read(item: service.MyPolicy, error: str | None = None, status: int = 200) -> Any:
    return render_template(
        "compliance/policy_read.html", item=item, body=rendered(item.version), error=error
    ), status


@blueprint.get("/my-policies/<int:policy_id>")
@any_user
def my_policy(policy_id: int) -> Any:
    """Read the version in effect of a policy assigned to me, and acknowledge it."""
    session = get_session()
    try:
        item = service.my_policy(session, policy_id)
    except NotFound:
        if pages.actor_can(VIEW):  # not assigned to me, but I may read every policy
            service.get_policy(session, policy_id)
            return redirect(url_for("compliance.policy", policy_id=policy_id))
        raise
    return _render_read(item)


@blueprint.post("/my-policies/<int:policy_id>/acknowledge")
@any_user
def policy_acknowledge(policy_id: int) -> Any:
    """The "I have read and accept" button: acknowledge the version I read (``version_id``) if it is
    still the one in effect; again changes nothing. Not assigned to me: 403 (404 for those who may
    not see policies)."""
    session = get_session()
    version_id = request.form.get("version_id", "").strip() or None
    back = request.form.get("next", "mine")
    try:
        _ack, created = service.acknowledge(session, policy_id, version_id)
        session.commit()
    except (Conflict, ValidationError) as exc:
        session.rollback()
        try:
            item = service.my_policy(session, policy_id)
        except NotFound:  # archived meanwhile: nothing to read any more
            flash(exc.message, "error")
            return redirect(url_for("compliance.my_policies"))
        return _render_read(item, exc.message, 409 if isinstance(exc, Conflict) else 422)
    item = service.my_policy(session, policy_id)
    if created:
        flash(
            _("You acknowledged “%(title)s” version %(n)s.", title=item.policy.title, n=item.version.version),
            "success",
        )
    else:
        flash(_("You had already acknowledged “%(title)s”.", title=item.policy.title), "info")
    endpoint = BACK.get(back, "compliance.my_policies")
    if endpoint == "compliance.my_policy":
        return redirect(url_for(endpoint, policy_id=policy_id))
    return redirect(url_for(endpoint))
