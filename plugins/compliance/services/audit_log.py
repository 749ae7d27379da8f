"""The audit trail as an officer reads it: filtered lists, one row, a record's history, CSV rows,
and verifying the hash chain.

The trail is core's (``audit_log``, written at every commit); this module only reads it, plus the
one row that records each verification (action ``audit.verified``). What a company sees is its own
rows and the instance-wide ones (users, roles, plugins: ``company_id`` NULL), never another
company's.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from core.plugin_api import (
    AuditLog,
    NotFound,
    Page,
    audit,
    company_id_of,
    declared_actions,
    keyset_page,
    require_permission,
    users,
    validation,
)

CHANGE_ACTIONS = ("create", "update", "delete")
REFUSED = "refused"
VERIFIED = "audit.verified"
VIAS = ("web", "api", "cli", "system")
FILTER_KEYS = ("user_id", "model", "record_id", "date_from", "date_to", "action", "via")
MODEL_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ACTION_RE = re.compile(r"^[a-z][a-z0-9_.:-]{0,99}$")
RECORD_ID_LIMIT = 64
HISTORY_PANEL_ROWS = 10
CSV_BATCH = 500
SHOWN_VALUE_LIMIT = 300

ACTION_LABELS = {
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    REFUSED: _l("Refused (any action)"),
    VERIFIED: _l("Audit trail verified"),
}
REFUSED_LABEL = _l("Refused")
VIA_LABELS = {"web": _l("Web"), "api": _l("API"), "cli": _l("Command line"), "system": _l("System")}
# Core's tables by the name people use for them; plugin tables read as "CRM: Deal".
CORE_MODEL_LABELS = {
    "company": _l("Company"),
    "user_account": _l("User"),
    "role": _l("Role"),
    "role_permission": _l("Role permission"),
    "user_role": _l("User's role"),
    "user_company": _l("User's company access"),
    "api_token": _l("API token"),
    "contact": _l("Contact"),
    "contact_tag": _l("Contact tag"),
    "ledger_account": _l("Ledger account"),
    "ledger_journal": _l("Journal"),
    "ledger_entry": _l("Journal entry"),
    "ledger_line": _l("Journal line"),
    "plugin_state": _l("Enabled department"),
    "notification": _l("Notification"),
    "audit_log": _l("Audit trail"),
    "custom_field": _l("Custom field"),
    "automation_rule": _l("Automation rule"),
    "webhook": _l("Webhook"),
}
PLUGIN_PREFIXES = {"crm": "CRM", "hr": "HR", "accounting": "Accounting", "compliance": "Compliance"}


@dataclass(frozen=True)
class AuditFilters:
    """What the list is narrowed to; every field None means the whole trail the company sees."""

    user_id: int | None = None
    model: str | None = None
    record_id: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    action: str | None = None
    via: str | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, key) is not None for key in FILTER_KEYS)


@dataclass(frozen=True)
class Change:
    """One line of a row's changes: ``field`` went from ``old`` to ``new`` (as text), or, for a row
    that is not a data change (a refusal, a verification), ``field`` had the value ``new``."""

    field: str
    old: str | None
    new: str | None
    pair: bool


def model_label(model: str) -> str:
    """A table name as people read it: "contact" -> "Contact", "crm_deal" -> "CRM: Deal"."""
    if model in CORE_MODEL_LABELS:
        return str(CORE_MODEL_LABELS[model])
    prefix, _sep, rest = model.partition("_")
    if prefix in PLUGIN_PREFIXES and rest:
        return f"{PLUGIN_PREFIXES[prefix]}: {rest.replace('_', ' ').capitalize()}"
    return model.replace("_", " ").capitalize()


def action_label(action: str, descriptions: Mapping[str, str] | None = None) -> str:
    """An action as people read it: Changed, "Refused: Post a customer invoice", a duty's description."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    described = dict(descriptions or {})
    if action.startswith(f"{REFUSED}:"):
        code = action.split(":", 1)[1]
        return f"{REFUSED_LABEL}: {described.get(code, code)}"
    return described.get(action, action)


# --- reading filters --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse_filters(raw: Mapping[str, Any]) -> AuditFilters:
    """Read the list's filters from form or API values; every bad one is a field message.

    ``user_id`` a user id; ``model`` a table name; ``record_id`` up to 64 characters;
    ``date_from``/``date_to`` ISO dates, whole days in UTC, from not after to; ``action`` one of
    create, update, delete, refused (every refusal), ``refused:<code>`` or a duty action code;
    ``via`` web, api, cli or system. Empty values filter nothing.
    """
    errors: dict[str, list[str]] = {}
    user_id = None
    if _text(raw.get("user_id")):
        user_id = validation.parse_id(raw.get("user_id"))
        if user_id is None:
            errors["user_id"] = ["choose a user from the list"]
    model = _text(raw.get("model")) or None
    if model is not None and not MODEL_RE.match(model):
        errors["model"] = ["choose a record type from the list"]
        model = None
    record_id = _text(raw.get("record_id")) or None
    if record_id is not None and (len(record_id) > RECORD_ID_LIMIT or "\x00" in record_id):
        errors["record_id"] = [f"must be at most {RECORD_ID_LIMIT} characters"]
        record_id = None
    date_from = validation.parse_date(raw.get("date_from"), "date_from", errors, required=False)
    date_to = validation.parse_date(raw.get("date_to"), "date_to", errors, required=False)
    if date_from is not None and date_to is not None and date_from > date_to:
        errors["date_to"] = ["must not be before the start date"]
    action = _text(raw.get("action")) or None
    if action is not None and not ACTION_RE.match(action):
        errors["action"] = ["choose an action from the list"]
        action = None
    via = _text(raw.get("via")) or None
    if via is not None and via not in VIAS:
        errors["via"] = [f"must be one of {', '.join(VIAS)}"]
        via = None
    validation.raise_if(errors, "invalid filter")
    return AuditFilters(user_id, model, record_id, date_from, date_to, action, via)


# --- queries ----------------------------------------------------------------------------------------


def visible(session: Session) -> ColumnElement[bool]:
    """The rows the session's company sees: its own and the instance-wide ones."""
    return or_(AuditLog.company_id == company_id_of(session), AuditLog.company_id.is_(None))


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _query(session: Session, filters: AuditFilters) -> Select:
    stmt = select(AuditLog).where(visible(session))
    if filters.user_id is not None:
        stmt = stmt.where(AuditLog.user_id == filters.user_id)
    if filters.model is not None:
        stmt = stmt.where(AuditLog.model == filters.model)
    if filters.record_id is not None:
        stmt = stmt.where(AuditLog.record_id == filters.record_id)
    if filters.date_from is not None:
        stmt = stmt.where(AuditLog.at >= _start_of(filters.date_from))
    # The whole last day: before the next midnight (9899-12-31 has no next day to name).
    if filters.date_to is not None and filters.date_to < validation.DATE_MAX:
        stmt = stmt.where(AuditLog.at < _start_of(filters.date_to + dt.timedelta(days=1)))
    if filters.action == REFUSED:
        stmt = stmt.where(AuditLog.action.startswith(f"{REFUSED}:", autoescape=True))
    elif filters.action is not None:
        stmt = stmt.where(AuditLog.action == filters.action)
    if filters.via is not None:
        stmt = stmt.where(AuditLog.via == filters.via)
    return stmt


@require_permission("compliance.audit.view")
def list_rows(
    session: Session,
    filters: AuditFilters,
    *,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
    newest_first: bool = True,
) -> Page:
    """One page of the trail the company sees, newest first (by ``seq``), narrowed by ``filters``."""
    return keyset_page(
        session,
        _query(session, filters),
        column=AuditLog.seq,
        id_column=AuditLog.id,
        descending=newest_first,
        after=after,
        limit=limit,
    )


@require_permission("compliance.audit.view")
def iter_rows(session: Session, filters: AuditFilters) -> Iterator[AuditLog]:
    """Every matching row, newest first, read in batches (for a CSV of any size)."""
    after = None
    while True:
        page = keyset_page(
            session,
            _query(session, filters),
            column=AuditLog.seq,
            id_column=AuditLog.id,
            descending=True,
            after=after,
            limit=CSV_BATCH,
        )
        yield from page.items
        if page.next_after is None:
            return
        after = page.next_after


@require_permission("compliance.audit.view")
def get_row(session: Session, row_id: int) -> AuditLog:
    """One row of the trail the company sees, else :class:`NotFound`."""
    row_id = validation.parse_id(row_id) or 0
    row = session.scalar(select(AuditLog).where(AuditLog.id == row_id, visible(session)))
    if row is None:
        raise NotFound("audit log row not found")
    return row


@require_permission("compliance.audit.view")
def record_history(session: Session, record: Any, limit: int = HISTORY_PANEL_ROWS) -> list[AuditLog]:
    """A record's last rows the company sees, newest first; [] for something the trail cannot name."""
    try:
        model, record_id = audit.model_name(record), audit.record_key(record)
    except Exception:  # not a mapped record (no table, no primary key)
        return []
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.model == model, AuditLog.record_id == record_id, visible(session))
            .order_by(AuditLog.seq.desc())
            .limit(limit)
        )
    )


# --- choices for the filters ------------------------------------------------------------------------


@require_permission("compliance.audit.view")
def user_choices(session: Session) -> list[tuple[int, str]]:
    """The company's users (former ones too: their rows stay), as (id, "Name <email>")."""
    return [
        (user.id, f"{user.name} <{user.email}>" if user.name else user.email)
        for user in users.company_users(session, active=False)
    ]


@require_permission("compliance.audit.view")
def model_choices(session: Session) -> list[tuple[str, str]]:
    """The record types present in the trail the company sees, as (table name, label) by label."""
    models = session.scalars(select(AuditLog.model).where(visible(session)).group_by(AuditLog.model))
    return sorted(((m, model_label(m)) for m in models), key=lambda pair: pair[1].casefold())


@require_permission("compliance.audit.view")
def action_choices(session: Session) -> list[tuple[str, str]]:
    """Create, update, delete, every refusal, then each duty action core and plugins declare."""
    descriptions = declared_actions(session)
    choices = [(a, action_label(a)) for a in (*CHANGE_ACTIONS, REFUSED)]
    choices += [(code, description) for code, description in descriptions.items()]
    choices.append((VERIFIED, str(ACTION_LABELS[VERIFIED])))
    return choices


# --- showing a row ----------------------------------------------------------------------------------


def shown_value(value: Any, limit: int = SHOWN_VALUE_LIMIT) -> str | None:
    """A stored value as a short text (None stays None); JSON for lists and objects."""
    if value is None:
        return None
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def changes_of(row: AuditLog) -> list[Change]:
    """A row's changes as lines: ``field: old -> new`` for a data change, ``field: value`` else.

    Masked secrets stay masked (the trail never held them).
    """
    changes = row.changes if isinstance(row.changes, dict) else {}
    lines = []
    for key in sorted(changes):
        value = changes[key]
        if row.action in CHANGE_ACTIONS and isinstance(value, list) and len(value) == 2:
            lines.append(Change(str(key), shown_value(value[0]), shown_value(value[1]), True))
        else:
            lines.append(Change(str(key), None, shown_value(value), False))
    return lines


def row_dict(row: AuditLog) -> dict[str, Any]:
    """A row as the API and the CSV give it."""
    return {
        "id": row.id,
        "seq": row.seq,
        "at": row.at,
        "company_id": row.company_id,
        "user_id": row.user_id,
        "actor": row.actor,
        "via": row.via,
        "token": row.token,
        "ip": row.ip,
        "request_id": row.request_id,
        "model": row.model,
        "record_id": row.record_id,
        "action": row.action,
        "changes": row.changes if isinstance(row.changes, dict) else {},
        "hash": row.hash,
    }


# --- verifying the chain ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """A verification of the chain: its verdict, and who ran it when (None until it is stored)."""

    ok: bool
    rows: int
    head_hash: str
    problem: str
    seq: int | None
    at: dt.datetime | None = None
    actor: str = ""
    via: str = ""


@require_permission("compliance.audit.view")
def verify_chain(session: Session) -> Verification:
    """Walk the whole hash chain and note the verdict in the trail (written when ``session`` commits).

    The chain is the instance's, not one company's: every row is checked.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        # One snapshot for the head and the rows: a commit landing between the two reads would
        # otherwise look like rows cut off the end.
        with bind.engine.execution_options(isolation_level="REPEATABLE READ").connect() as connection:
            verdict = audit.verify(connection)
    else:
        # SQLite: this session's transaction already holds the write lock (no commit can land
        # meanwhile), and a second connection would queue behind it.
        verdict = audit.verify(session.connection())
    details = {
        "ok": verdict.ok,
        "rows": verdict.rows,
        "problem": verdict.problem,
        "head_hash": verdict.head_hash,
        "seq": verdict.seq,
    }
    audit.record_event(session, model="audit_log", record_id="", action=VERIFIED, details=details)
    return Verification(verdict.ok, verdict.rows, verdict.head_hash, verdict.problem, verdict.seq)


@require_permission("compliance.audit.view")
def last_verification(session: Session) -> Verification | None:
    """The latest stored verification the company sees, or None if the chain was never verified here."""
    row = session.scalar(
        select(AuditLog)
        .where(AuditLog.model == "audit_log", AuditLog.action == VERIFIED, visible(session))
        .order_by(AuditLog.seq.desc())
        .limit(1)
    )
    if row is None:
        return None
    details = row.changes if isinstance(row.changes, dict) else {}
    rows = details.get("rows")
    seq = details.get("seq")
    return Verification(
        ok=details.get("ok") is True,
        rows=rows if isinstance(rows, int) else 0,
        head_hash=str(details.get("head_hash") or ""),
        problem=str(details.get("problem") or ""),
        seq=seq if isinstance(seq, int) else None,
        at=row.at,
        actor=row.actor,
        via=row.via,
    )
