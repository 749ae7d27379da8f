"""Policies and their acknowledgement: numbered versions, who must read them, who did.

A policy's text lives in versions numbered 1, 2, 3... Each version takes effect on its effective
date; the version in effect is the latest one whose date is on or before today (a later one is
"upcoming"). Effective dates never go backwards: a new version takes effect on or after the one
before it. A policy is assigned to roles (everyone holding one, with access to the company) and to
single users; each of them acknowledges the version in effect, and a new version asks everyone
again (acknowledgements are per version). An archived policy (``active`` false) asks nobody.

``compliance.view`` reads policies, ``compliance.policy.manage`` writes, publishes and assigns them;
either sees who acknowledged. Every user reads and acknowledges the policies assigned to them.
Bodies are Markdown or HTML as written, and always sanitized when rendered (:func:`render_body`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.plugin_api import (
    Conflict,
    NotFound,
    Page,
    PermissionDenied,
    Role,
    User,
    ValidationError,
    actor_of,
    company_id_of,
    emit,
    has_permission,
    keyset_page,
    notifications,
    require_permission,
    users,
    validation,
)

from ..models import POLICY_FORMATS, Policy, PolicyAcknowledgement, PolicyAssignment, PolicyVersion
from .text import parse_text, search_text

VIEW = "compliance.view"
MANAGE = "compliance.policy.manage"
SOURCE = "compliance"
TITLE_LIMIT = 200
SUMMARY_LIMIT = 5_000
BODY_LIMIT = 200_000
NOTE_LIMIT = 500
ROLE_LIMIT = 100
# Everyone with access to the company, when working out who a role assignment covers.
COMPANY_USER_LIMIT = 100_000
POLICY_SORTS = {"title": Policy.title, "created_at": Policy.created_at}
ACK_STATUSES = ("acknowledged", "pending", "not_in_effect")

T = TypeVar("T")


def today() -> dt.date:
    """The date versions are judged against (effective or upcoming)."""
    return dt.date.today()


# --- rendering ------------------------------------------------------------------------------------

# Raw HTML inside Markdown is allowed by the parser and then goes through the same sanitizer.
_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
        "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p",
        "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
        "th", "thead", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
}
# No javascript:, data: or vbscript: links; images are not kept (the page loads nothing remote).
URL_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def sanitize_html(html: str) -> str:
    """HTML reduced to text formatting, lists, tables and links: no script, style, event handler,
    form, frame, image or dangerous link survives."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def render_body(body: str, body_format: str) -> str:
    """A version's text as safe HTML: Markdown is rendered first, then everything is sanitized."""
    html = _MARKDOWN.render(body or "") if body_format == "markdown" else body or ""
    return sanitize_html(html)


# --- finding records ---------------------------------------------------------------------------------


def _get(session: Session, model: type[T], record_id: Any, label: str) -> T:
    """A record of the current company by id; another company's is "not found" like an unknown one."""
    found_id = validation.parse_id(record_id)
    record = session.get(model, found_id) if found_id is not None else None
    if record is None or getattr(record, "company_id", None) != company_id_of(session):
        raise NotFound(f"{label} {record_id} not found")
    return record


def _can(session: Session, code: str) -> bool:
    return has_permission(actor_of(session), code)


def actor_user(session: Session) -> User:
    """The signed-in user acting through ``session`` (the command line has no policies to read)."""
    actor = actor_of(session)
    user = getattr(actor, "actor", actor)  # a user granted extra codes is still that user
    if not isinstance(user, User):
        raise NotFound("policies are read and acknowledged by a signed-in user")
    return user


def user_label(user: User | None) -> str:
    """How a user is named on pages and in exports: their name, else their email."""
    if user is None:
        return ""
    return user.name or user.email


@require_permission(VIEW)
def get_policy(session: Session, policy_id: Any) -> Policy:
    """A policy of the current company, else :class:`NotFound`."""
    return _get(session, Policy, policy_id, "policy")


def _title_taken(session: Session, title: str, exclude_id: int | None = None) -> bool:
    # Compared here, not with SQL lower(): SQLite's leaves non-ASCII letters ("É") as they are.
    stmt = select(Policy.title).where(Policy.company_id == company_id_of(session))
    if exclude_id is not None:
        stmt = stmt.where(Policy.id != exclude_id)
    return any(other.casefold() == title.casefold() for other in session.scalars(stmt))


def _owner_id(session: Session, value: Any, errors: dict[str, list[str]]) -> int | None:
    if value in (None, ""):
        return None
    user_id = validation.parse_id(value)
    user = users.company_user(session, user_id) if user_id is not None else None
    if user is None:
        errors["owner_id"] = ["no such user"]
        return None
    return user.id


# --- policies ----------------------------------------------------------------------------------------


def _policy_fields(
    session: Session, data: Mapping[str, Any], policy: Policy | None, errors: dict[str, list[str]]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if "title" in data or policy is None:
        title = parse_text(data.get("title"), "title", errors, limit=TITLE_LIMIT, required=True)
        if title and "title" not in errors and _title_taken(session, title, policy.id if policy else None):
            errors["title"] = ["another policy has this title"]
        found["title"] = title
    if "summary" in data:
        found["summary"] = parse_text(data.get("summary") or "", "summary", errors, limit=SUMMARY_LIMIT)
    if "owner_id" in data:
        found["owner_id"] = _owner_id(session, data.get("owner_id"), errors)
    if "active" in data:
        if not isinstance(data["active"], bool):
            errors["active"] = ["must be true or false"]
        else:
            found["active"] = data["active"]
    return found


@require_permission(MANAGE)
def create_policy(session: Session, data: Mapping[str, Any]) -> Policy:
    """Add a policy: ``title`` (unique in the company, whatever its case), ``summary``, ``owner_id``
    (a user of the company). Its text comes with its first published version."""
    errors: dict[str, list[str]] = {}
    values = _policy_fields(session, data, None, errors)
    validation.raise_if(errors, "invalid policy")
    policy = Policy(company_id=company_id_of(session), **{"summary": "", **values})
    session.add(policy)
    session.flush()
    emit(session, "compliance.policy.created", {"id": policy.id, "title": policy.title})
    return policy


@require_permission(MANAGE)
def update_policy(session: Session, policy: Policy, data: Mapping[str, Any]) -> Policy:
    """Change the given fields of ``title``, ``summary``, ``owner_id`` and ``active`` (an archived
    policy asks nobody to acknowledge it)."""
    errors: dict[str, list[str]] = {}
    values = _policy_fields(session, data, policy, errors)
    validation.raise_if(errors, "invalid policy")
    for name, value in values.items():
        setattr(policy, name, value)
    session.flush()
    emit(session, "compliance.policy.updated", {"id": policy.id, "fields": sorted(values)})
    return policy


def _has_acknowledgements(session: Session, policy: Policy) -> bool:
    return (
        session.scalar(
            select(PolicyAcknowledgement.id)
            .join(PolicyVersion, PolicyVersion.id == PolicyAcknowledgement.version_id)
            .where(PolicyVersion.policy_id == policy.id)
            .limit(1)
        )
        is not None
    )


@require_permission(MANAGE)
def delete_policy(session: Session, policy: Policy) -> None:
    """Delete a policy nobody has acknowledged yet, with its versions and assignments; one with
    acknowledgements is a :class:`Conflict` (they are a record to keep: archive it instead)."""
    validation.lock_row(session, policy)
    if _has_acknowledgements(session, policy):
        raise Conflict(
            f"policy “{policy.title}” has acknowledgements: archive it instead of deleting it",
            fields={"policy": ["has acknowledgements"]},
        )
    payload = {"id": policy.id, "title": policy.title}
    session.delete(policy)
    session.flush()
    emit(session, "compliance.policy.deleted", payload)


@require_permission(VIEW)
def list_policies(
    session: Session,
    *,
    q: str | None = None,
    active: bool | None = None,
    sort: str = "title",
    descending: bool = False,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
) -> Page:
    """A page of the company's policies, by title (or ``created_at``); ``q`` searches titles,
    ``active`` keeps the active (True) or the archived (False) ones."""
    stmt = select(Policy).where(Policy.company_id == company_id_of(session))
    q = search_text(q)
    if q:
        stmt = stmt.where(_title_like(q))
    if active is not None:
        stmt = stmt.where(Policy.active.is_(active))
    column = POLICY_SORTS.get(sort, Policy.title)
    return keyset_page(
        session, stmt, column=column, id_column=Policy.id, descending=descending, after=after, limit=limit
    )


def _title_like(query: str) -> Any:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return Policy.title.ilike(f"%{escaped}%", escape="\\")


@require_permission(VIEW)
def search(session: Session, query: str, limit: int = 10) -> list[Policy]:
    """Policies of the company whose title contains ``query``, by title."""
    query = search_text(query)
    if not query:
        return []
    return list(
        session.scalars(
            select(Policy)
            .where(Policy.company_id == company_id_of(session), _title_like(query))
            .order_by(Policy.title, Policy.id)
            .limit(limit)
        )
    )


# --- versions ----------------------------------------------------------------------------------------


def _effective_versions(
    session: Session, policy_ids: Sequence[int], on: dt.date | None = None
) -> dict[int, PolicyVersion]:
    """Each policy's version in effect ``on`` a day (today): the latest one dated on or before it."""
    if not policy_ids:
        return {}
    on = on or today()
    latest = (
        select(PolicyVersion.policy_id, func.max(PolicyVersion.version).label("number"))
        .where(
            PolicyVersion.company_id == company_id_of(session),
            PolicyVersion.policy_id.in_(list(policy_ids)),
            PolicyVersion.effective_date <= on,
        )
        .group_by(PolicyVersion.policy_id)
        .subquery()
    )
    rows = session.scalars(
        select(PolicyVersion).join(
            latest,
            (PolicyVersion.policy_id == latest.c.policy_id) & (PolicyVersion.version == latest.c.number),
        )
    )
    return {version.policy_id: version for version in rows}


def _upcoming_versions(
    session: Session, policy_ids: Sequence[int], on: dt.date | None = None
) -> dict[int, PolicyVersion]:
    """Each policy's next version to take effect after ``on`` (today), if one is published."""
    if not policy_ids:
        return {}
    on = on or today()
    first = (
        select(PolicyVersion.policy_id, func.min(PolicyVersion.version).label("number"))
        .where(
            PolicyVersion.company_id == company_id_of(session),
            PolicyVersion.policy_id.in_(list(policy_ids)),
            PolicyVersion.effective_date > on,
        )
        .group_by(PolicyVersion.policy_id)
        .subquery()
    )
    rows = session.scalars(
        select(PolicyVersion).join(
            first, (PolicyVersion.policy_id == first.c.policy_id) & (PolicyVersion.version == first.c.number)
        )
    )
    return {version.policy_id: version for version in rows}


def effective_version(session: Session, policy: Policy, on: dt.date | None = None) -> PolicyVersion | None:
    """The version of ``policy`` in effect ``on`` a day (today), or None before its first one."""
    return _effective_versions(session, [policy.id], on).get(policy.id)


def upcoming_version(session: Session, policy: Policy, on: dt.date | None = None) -> PolicyVersion | None:
    """The next version of ``policy`` to take effect after ``on`` (today), if any."""
    return _upcoming_versions(session, [policy.id], on).get(policy.id)


def version_status(version: PolicyVersion, effective: PolicyVersion | None) -> str:
    """``effective``, ``upcoming`` (dated after today) or ``superseded``."""
    if effective is not None and version.id == effective.id:
        return "effective"
    if version.effective_date > today():
        return "upcoming"
    return "superseded"


@require_permission(VIEW)
def versions_of(session: Session, policy: Policy) -> list[PolicyVersion]:
    """Every version of the policy, newest first."""
    return list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.policy_id == policy.id, PolicyVersion.company_id == policy.company_id)
            .order_by(PolicyVersion.version.desc())
        )
    )


@require_permission(VIEW)
def get_version(session: Session, policy: Policy, number: Any) -> PolicyVersion:
    """Version ``number`` (1, 2...) of the policy, else :class:`NotFound`."""
    found = validation.parse_id(number)
    version = (
        session.scalar(
            select(PolicyVersion).where(PolicyVersion.policy_id == policy.id, PolicyVersion.version == found)
        )
        if found is not None
        else None
    )
    if version is None:
        raise NotFound(f"version {number} of policy {policy.id} not found")
    return version


@require_permission(MANAGE)
def publish_version(session: Session, policy: Policy, data: Mapping[str, Any]) -> PolicyVersion:
    """Publish the next version of an active policy: ``body`` (required), ``format`` (``markdown``
    or ``html``), ``effective_date`` (on or after the previous version's) and a ``change_note``.

    Everyone assigned must acknowledge it once it takes effect; they are notified now.
    """
    validation.lock_row(session, policy)  # two publications never get the same number
    if not policy.active:
        raise Conflict(
            f"policy “{policy.title}” is archived: make it active before publishing",
            fields={"policy": ["is archived"]},
        )
    errors: dict[str, list[str]] = {}
    body = data.get("body")
    if isinstance(body, str):
        body = body.replace("\r\n", "\n")
    parse_text(body, "body", errors, limit=BODY_LIMIT, required=True)
    body_format = data.get("format") or "markdown"
    if body_format not in POLICY_FORMATS:
        errors["format"] = [f"must be one of {', '.join(POLICY_FORMATS)}"]
    effective_date = validation.parse_date(data.get("effective_date"), "effective_date", errors)
    note = parse_text(data.get("change_note") or "", "change_note", errors, limit=NOTE_LIMIT)
    previous = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.policy_id == policy.id)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )
    if effective_date is not None and previous is not None and effective_date < previous.effective_date:
        errors["effective_date"] = [
            f"must be on or after {previous.effective_date.isoformat()} (version {previous.version}'s)"
        ]
    validation.raise_if(errors, "invalid version")
    assert effective_date is not None
    actor_id = getattr(actor_of(session), "id", None)
    version = PolicyVersion(
        company_id=policy.company_id,
        policy_id=policy.id,
        version=(previous.version + 1) if previous else 1,
        # The source as written (only trailing blanks dropped); it is sanitized when rendered.
        body=str(body).rstrip(),
        body_format=body_format,
        effective_date=effective_date,
        change_note=note,
        published_by_id=actor_id,
    )
    session.add(version)
    session.flush()
    session.expire(policy, ["versions"])
    emit(
        session,
        "compliance.policy.published",
        {
            "policy_id": policy.id,
            "version": version.version,
            "effective_date": effective_date.isoformat(),
        },
    )
    recipients = [user.id for user in assigned_users(session, policy) if user.id != actor_id]
    if recipients:
        notifications.notify(
            session,
            recipients,
            f"Policy “{policy.title}” version {version.version}: please read and acknowledge it",
            body=f"In effect from {effective_date.isoformat()}. {note}".strip(),
            url=f"/compliance/my-policies/{policy.id}",
            source=SOURCE,
        )
    return version


# --- assignments ------------------------------------------------------------------------------------


def _company_users(session: Session) -> list[User]:
    """Active users with access to the company, by name."""
    return users.company_users(session, limit=COMPANY_USER_LIMIT)


def _covers(assignments: Iterable[PolicyAssignment], user: User) -> list[PolicyAssignment]:
    role_ids = {role.id for role in user.roles}
    return [
        a for a in assignments if a.user_id == user.id or (a.role_id is not None and a.role_id in role_ids)
    ]


def assigned_users(session: Session, policy: Policy) -> list[User]:
    """The active users of the company the policy is assigned to (directly or by a role), by name."""
    assignments = list(policy.assignments)
    if not assignments:
        return []
    return [user for user in _company_users(session) if _covers(assignments, user)]


@dataclass(frozen=True)
class Assignment:
    """An assignment with what it names: ``label`` is the role's or the user's name."""

    assignment: PolicyAssignment
    kind: str  # "role" or "user"
    label: str


def _describe(session: Session, assignments: Iterable[PolicyAssignment]) -> list[Assignment]:
    assignments = list(assignments)
    role_ids = {a.role_id for a in assignments if a.role_id is not None}
    user_ids = {a.user_id for a in assignments if a.user_id is not None}
    roles = (
        {r.id: r.name for r in session.scalars(select(Role).where(Role.id.in_(role_ids)))} if role_ids else {}
    )
    people = (
        {u.id: user_label(u) for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    found = [
        Assignment(a, "role", roles.get(a.role_id, "?"))
        if a.role_id is not None
        else Assignment(a, "user", people.get(a.user_id, "?"))
        for a in assignments
    ]
    return sorted(found, key=lambda item: (item.kind, item.label.casefold(), item.assignment.id))


@require_permission(VIEW)
def assignments_of(session: Session, policy: Policy) -> list[Assignment]:
    """Who the policy is assigned to: roles first, then users, by name."""
    return _describe(session, policy.assignments)


@require_permission(MANAGE)
def add_assignment(session: Session, policy: Policy, *, role: Any = None, user_id: Any = None) -> Assignment:
    """Assign the policy to a ``role`` (by name) or to one user (``user_id``, a user of the company):
    exactly one of them. Assigning the same role or user twice is a field error."""
    validation.lock_row(session, policy)  # two identical assignments are not both added
    errors: dict[str, list[str]] = {}
    has_role = role not in (None, "")
    has_user = user_id not in (None, "")
    found_role: Role | None = None
    found_user: User | None = None
    if has_role == has_user:
        errors["role"] = ["give either a role or a user, not both" if has_role else "choose a role or a user"]
    elif has_role:
        name = parse_text(role, "role", errors, limit=ROLE_LIMIT, required=True)
        if "role" not in errors:
            found_role = session.scalar(select(Role).where(Role.name == name))
            if found_role is None:
                errors["role"] = ["no such role"]
    else:
        found_id = validation.parse_id(user_id)
        found_user = users.company_user(session, found_id) if found_id is not None else None
        if found_user is None:
            errors["user_id"] = ["no such user"]
    if not errors:
        for existing in policy.assignments:
            if (found_role is not None and existing.role_id == found_role.id) or (
                found_user is not None and existing.user_id == found_user.id
            ):
                errors["role" if found_role is not None else "user_id"] = ["is already assigned this policy"]
    validation.raise_if(errors, "invalid assignment")
    assignment = PolicyAssignment(
        company_id=policy.company_id,
        policy_id=policy.id,
        role_id=found_role.id if found_role else None,
        user_id=found_user.id if found_user else None,
    )
    session.add(assignment)
    session.flush()
    session.expire(policy, ["assignments"])
    emit(
        session,
        "compliance.policy.assigned",
        {"policy_id": policy.id, "role_id": assignment.role_id, "user_id": assignment.user_id},
    )
    return _describe(session, [assignment])[0]


@require_permission(VIEW)
def get_assignment(session: Session, policy: Policy, assignment_id: Any) -> PolicyAssignment:
    """One of the policy's assignments, else :class:`NotFound`."""
    assignment = _get(session, PolicyAssignment, assignment_id, "assignment")
    if assignment.policy_id != policy.id:
        raise NotFound(f"assignment {assignment_id} not found")
    return assignment


@require_permission(MANAGE)
def remove_assignment(session: Session, assignment: PolicyAssignment) -> None:
    """Stop asking that role or user; acknowledgements already given stay on record."""
    payload = {
        "policy_id": assignment.policy_id,
        "role_id": assignment.role_id,
        "user_id": assignment.user_id,
    }
    policy = session.get(Policy, assignment.policy_id)
    session.delete(assignment)
    session.flush()
    if policy is not None:
        session.expire(policy, ["assignments"])
    emit(session, "compliance.policy.unassigned", payload)


def role_names(session: Session) -> list[str]:
    """Every role's name, for the assignment form."""
    return list(session.scalars(select(Role.name).order_by(Role.name)))


def company_users(session: Session) -> list[User]:
    """Active users of the company by name, for the owner and assignment forms."""
    return _company_users(session)


# --- overview ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicySummary:
    """A policy as its list shows it: the version in effect, the next one, who it is assigned to and
    how many of them acknowledged the version in effect."""

    policy: Policy
    current: PolicyVersion | None
    upcoming: PolicyVersion | None
    assignments: list[Assignment] = field(default_factory=list)
    owner: User | None = None
    assigned: int = 0
    acknowledged: int = 0


@require_permission(VIEW)
def summaries(session: Session, policies: Sequence[Policy]) -> list[PolicySummary]:
    """:class:`PolicySummary` of each policy, in the same order (a few queries for the whole list)."""
    ids = [p.id for p in policies]
    if not ids:
        return []
    current = _effective_versions(session, ids)
    upcoming = _upcoming_versions(session, ids)
    rows = list(session.scalars(select(PolicyAssignment).where(PolicyAssignment.policy_id.in_(ids))))
    by_policy: dict[int, list[PolicyAssignment]] = {}
    for row in rows:
        by_policy.setdefault(row.policy_id, []).append(row)
    described: dict[int, list[Assignment]] = {}
    for item in _describe(session, rows):
        described.setdefault(item.assignment.policy_id, []).append(item)
    people = _company_users(session) if rows else []
    acks: set[tuple[int, int]] = set()
    version_ids = [v.id for v in current.values()]
    if version_ids:
        acks = {
            (version_id, user_id)
            for version_id, user_id in session.execute(
                select(PolicyAcknowledgement.version_id, PolicyAcknowledgement.user_id).where(
                    PolicyAcknowledgement.version_id.in_(version_ids)
                )
            )
        }
    owner_ids = {p.owner_id for p in policies if p.owner_id is not None}
    owners = (
        {u.id: u for u in session.scalars(select(User).where(User.id.in_(owner_ids)))} if owner_ids else {}
    )
    found = []
    for policy in policies:
        assigned = [u for u in people if _covers(by_policy.get(policy.id, []), u)]
        version = current.get(policy.id)
        done = sum(1 for u in assigned if version is not None and (version.id, u.id) in acks)
        found.append(
            PolicySummary(
                policy=policy,
                current=version,
                upcoming=upcoming.get(policy.id),
                assignments=described.get(policy.id, []),
                owner=owners.get(policy.owner_id) if policy.owner_id else None,
                assigned=len(assigned),
                acknowledged=done,
            )
        )
    return found


# --- acknowledgement report ------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """An assigned user, what assigns them (role names, or "directly"), and when they acknowledged
    the version in effect (None: pending)."""

    user: User
    through: list[str]
    acknowledged_at: dt.datetime | None
    in_effect: bool = True

    @property
    def status(self) -> str:
        """``acknowledged``, ``pending`` or ``not_in_effect`` (the policy has no version in effect)."""
        if not self.in_effect:
            return "not_in_effect"
        return "pending" if self.acknowledged_at is None else "acknowledged"


@dataclass(frozen=True)
class Report:
    """A policy's acknowledgement report: the version in effect (None before the first) and a row per
    assigned user."""

    policy: Policy
    version: PolicyVersion | None
    rows: list[ReportRow]

    @property
    def acknowledged(self) -> int:
        return sum(1 for row in self.rows if row.acknowledged_at is not None)


def check_report_access(session: Session) -> None:
    """Acknowledgement reports are for ``compliance.view`` or ``compliance.policy.manage`` holders."""
    if not (_can(session, VIEW) or _can(session, MANAGE)):
        raise PermissionDenied(VIEW, f"needs {VIEW} or {MANAGE}")


def report_policy(session: Session, policy_id: Any) -> Policy:
    """The policy whose acknowledgement report is asked for (see :func:`check_report_access`)."""
    check_report_access(session)
    return _get(session, Policy, policy_id, "policy")


def acknowledgement_report(session: Session, policy: Policy, status: str | None = None) -> Report:
    """Everyone the policy is assigned to, by name, with when they acknowledged the version in effect;
    ``status`` keeps the ``pending``, ``acknowledged`` (or ``not_in_effect``) ones."""
    check_report_access(session)
    version = effective_version(session, policy)
    acks: dict[int, dt.datetime] = {}
    if version is not None:
        acks = dict(
            session.execute(
                select(PolicyAcknowledgement.user_id, PolicyAcknowledgement.acknowledged_at).where(
                    PolicyAcknowledgement.version_id == version.id
                )
            ).all()
        )
    described = {item.assignment.id: item for item in _describe(session, policy.assignments)}
    rows = []
    for user in assigned_users(session, policy):
        through = [
            described[a.id].label if a.role_id is not None else "directly"
            for a in _covers(policy.assignments, user)
        ]
        rows.append(
            ReportRow(
                user=user,
                through=sorted(through),
                acknowledged_at=acks.get(user.id),
                in_effect=version is not None,
            )
        )
    if status in ACK_STATUSES:
        rows = [row for row in rows if row.status == status]
    return Report(policy=policy, version=version, rows=rows)


# --- my policies ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyPolicy:
    """A policy assigned to the signed-in user: the version in effect, the next one, and when they
    acknowledged the one in effect."""

    policy: Policy
    version: PolicyVersion | None
    upcoming: PolicyVersion | None
    acknowledged_at: dt.datetime | None

    @property
    def status(self) -> str:
        """``acknowledged``, ``pending`` or ``not_in_effect`` (no version in effect yet)."""
        if self.version is None:
            return "not_in_effect"
        return "pending" if self.acknowledged_at is None else "acknowledged"

    @property
    def pending(self) -> bool:
        return self.status == "pending"


def _assigned_to(me: User) -> Any:
    role_ids = [role.id for role in me.roles]
    condition = PolicyAssignment.user_id == me.id
    if role_ids:
        condition = or_(condition, PolicyAssignment.role_id.in_(role_ids))
    return condition


def _mine(session: Session, me: User, policy_ids: Sequence[int] | None = None) -> list[MyPolicy]:
    assigned = select(PolicyAssignment.policy_id).where(
        PolicyAssignment.company_id == company_id_of(session), _assigned_to(me)
    )
    stmt = select(Policy).where(
        Policy.company_id == company_id_of(session), Policy.active.is_(True), Policy.id.in_(assigned)
    )
    if policy_ids is not None:
        stmt = stmt.where(Policy.id.in_(list(policy_ids)))
    policies = list(session.scalars(stmt.order_by(Policy.title, Policy.id)))
    ids = [p.id for p in policies]
    current = _effective_versions(session, ids)
    upcoming = _upcoming_versions(session, ids)
    acks: dict[int, dt.datetime] = {}
    if current:
        acks = dict(
            session.execute(
                select(PolicyAcknowledgement.version_id, PolicyAcknowledgement.acknowledged_at).where(
                    PolicyAcknowledgement.user_id == me.id,
                    PolicyAcknowledgement.version_id.in_([v.id for v in current.values()]),
                )
            ).all()
        )
    return [
        MyPolicy(
            policy=p,
            version=current.get(p.id),
            upcoming=upcoming.get(p.id),
            acknowledged_at=acks.get(current[p.id].id) if p.id in current else None,
        )
        for p in policies
    ]


def my_policies(session: Session) -> list[MyPolicy]:
    """The active policies assigned to the signed-in user (directly or by one of their roles), by title."""
    return _mine(session, actor_user(session))


def pending_policies(session: Session) -> list[MyPolicy]:
    """The signed-in user's policies whose version in effect they have not acknowledged yet."""
    actor = actor_of(session)
    if not isinstance(getattr(actor, "actor", actor), User):
        return []
    return [item for item in my_policies(session) if item.pending]


def my_policy(session: Session, policy_id: Any) -> MyPolicy:
    """One policy assigned to the signed-in user; any other (unknown, another company's, archived or
    not assigned to them) is :class:`NotFound`."""
    me = actor_user(session)
    policy = _get(session, Policy, policy_id, "policy")
    found = _mine(session, me, [policy.id])
    if not found:
        raise NotFound(f"policy {policy_id} is not assigned to you")
    return found[0]


def acknowledge(
    session: Session, policy_id: Any, version_id: Any = None
) -> tuple[PolicyAcknowledgement, bool]:
    """The signed-in user reads and accepts the version in effect of a policy assigned to them.

    With ``version_id`` (the version they read), it must still be the one in effect, else a
    :class:`Conflict`: they accept only what they saw. A policy not assigned to them is refused
    (:class:`PermissionDenied` for those who may see policies, else :class:`NotFound`), as is one
    with no version in effect or an archived one (:class:`Conflict`). Acknowledging again changes
    nothing. Returns the acknowledgement and whether it was recorded now.
    """
    me = actor_user(session)
    policy = _get(session, Policy, policy_id, "policy")
    if version_id is not None and validation.parse_id(version_id) is None:
        raise ValidationError("invalid acknowledgement", fields={"version_id": ["must be a version id"]})
    validation.lock_row(session, policy)  # a version published meanwhile is seen, and waited for
    assigned = session.scalar(
        select(PolicyAssignment.id).where(PolicyAssignment.policy_id == policy.id, _assigned_to(me)).limit(1)
    )
    if assigned is None:
        if _can(session, VIEW):
            raise PermissionDenied(VIEW, f"policy “{policy.title}” is not assigned to you")
        raise NotFound(f"policy {policy_id} not found")
    if not policy.active:
        raise Conflict(f"policy “{policy.title}” is archived: it needs no acknowledgement")
    version = effective_version(session, policy)
    if version is None:
        raise Conflict(f"policy “{policy.title}” has no version in effect yet")
    if version_id is not None and validation.parse_id(version_id) != version.id:
        raise Conflict(
            f"the version you read is not the one in effect: read version {version.version} of "
            f"“{policy.title}” and acknowledge it",
            fields={"version_id": [f"version {version.version} is in effect"]},
        )
    existing = _acknowledgement(session, version, me)
    if existing is not None:
        return existing, False
    ack = PolicyAcknowledgement(company_id=policy.company_id, version_id=version.id, user_id=me.id)
    try:
        with session.begin_nested():
            session.add(ack)
            session.flush()
    except IntegrityError:
        # The same user acknowledged at the same moment (another tab): theirs stands.
        existing = _acknowledgement(session, version, me)
        if existing is None:
            raise
        return existing, False
    emit(
        session,
        "compliance.policy.acknowledged",
        {"policy_id": policy.id, "version": version.version, "user_id": me.id},
    )
    return ack, True


def _acknowledgement(session: Session, version: PolicyVersion, user: User) -> PolicyAcknowledgement | None:
    return session.scalar(
        select(PolicyAcknowledgement).where(
            PolicyAcknowledgement.version_id == version.id, PolicyAcknowledgement.user_id == user.id
        )
    )
