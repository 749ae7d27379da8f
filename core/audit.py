"""The audit trail: every create, update and delete, in the same transaction, hash-chained.

How it works:

- While a session flushes, the changes of every mapped object (``session.new``, ``dirty``,
  ``deleted``) are noted with their old and new values; bulk ``insert``/``update``/``delete``
  statements run through the session are noted too (their rows are read before and after).
- When the session commits, the notes become ``audit_log`` rows in that same transaction. The
  writer locks the one-row ``audit_head`` first (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite
  already serialises writers), so each row's ``prev_hash`` is the hash of the row committed just
  before it: concurrent transactions never fork the chain. The lock is taken last, at commit,
  so it is held for milliseconds and cannot join a deadlock cycle. A very large transaction
  (thousands of changes) takes it early and writes as it goes, to keep memory flat.
- A rolled back transaction or savepoint drops its notes.

:func:`verify` streams the chain and names the first row that was altered, deleted or moved.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, inspect, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

from core.context import COMPANY, SYSTEM, actor_of
from core.db import utcnow
from core.models import AuditHead, AuditLog

GENESIS = "0" * 64
MASK = "••••••"
PENDING = "officium_audit_pending"
CHAINING = "officium_audit_chaining"
REFUSALS = "officium_audit_refusals"
# Past this many notes in one transaction, rows are written as they come (the chain lock is
# then held until commit) rather than all kept in memory.
EARLY_WRITE_THRESHOLD = 5_000
# Bookkeeping that is not a business record: the trail itself, cache counters, request
# de-duplication and number counters (the numbers appear on the records that take them).
SKIPPED_TABLES = frozenset({"audit_log", "audit_head", "state_version", "idempotency_key", "number_sequence"})
# Columns whose every change would be noise (an API token's last use, each minute).
SKIPPED_COLUMNS = frozenset({"updated_at", "last_used_at"})
SECRET_COLUMN = re.compile(
    r"password|secret|(^|_)token(_hash)?$|(^|_)hash$|api_key|private_key", re.IGNORECASE
)
TEXT_LIMIT = 10_000


@dataclass(frozen=True)
class Origin:
    """How a change reached the database: through the web UI, the API (and which token), the CLI."""

    via: str
    request_id: str | None = None
    ip: str | None = None
    token: str | None = None


def _origin(session: Session) -> Origin:
    from flask import g, has_request_context, request

    if has_request_context():
        return Origin(
            via="api" if request.path.startswith("/api/") else "web",
            request_id=g.get("request_id") or None,
            ip=(request.remote_addr or None),
            token=g.get("officium_token_prefix"),
        )
    return Origin(via="cli" if actor_of(session) is SYSTEM else "system")


def is_secret(column_name: str) -> bool:
    """Whether a column's values are masked in the trail (password hashes, token hashes, secrets)."""
    return bool(SECRET_COLUMN.search(column_name))


def plain(value: Any) -> Any:
    """A JSON value for the trail that reads back identically (so hashes can be recomputed)."""
    if value is None or isinstance(value, bool | int | str):
        if isinstance(value, str) and len(value) > TEXT_LIMIT:
            return value[:TEXT_LIMIT] + f"… ({len(value)} characters)"
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    if isinstance(value, dict | list | tuple):
        return json.loads(json.dumps(value, default=str))
    return str(value)


def _pair(key: str, old: Any, new: Any) -> list[Any]:
    if is_secret(key):
        return [MASK if old is not None else None, MASK if new is not None else None]
    return [plain(old), plain(new)]


# --- noting changes while the session works -----------------------------------------------


@dataclass
class _Note:
    transaction: SessionTransaction
    row: dict[str, Any]


def _note(
    session: Session,
    *,
    model: str,
    record_id: str,
    action: str,
    changes: dict[str, Any],
    company_id: int | None,
) -> None:
    actor = actor_of(session)
    origin = _origin(session)
    user_id = getattr(actor, "id", None)
    row = {
        "company_id": company_id if company_id is not None else session.info.get(COMPANY),
        "user_id": user_id,
        "actor": _actor_label(actor, user_id, origin),
        "via": origin.via,
        "token": origin.token,
        "model": model,
        "record_id": record_id[:64],
        "action": action,
        "changes": changes,
        "request_id": origin.request_id,
        "ip": origin.ip,
    }
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # an event noted before anything else in the transaction
        session.connection()
        transaction = session.get_transaction()
    assert transaction is not None
    session.info.setdefault(PENDING, []).append(_Note(transaction, row))


def _actor_label(actor: Any, user_id: int | None, origin: Origin) -> str:
    if user_id is not None:
        return getattr(actor, "email", "") or f"user {user_id}"
    if origin.via in ("web", "api"):
        return "anonymous"  # a public page (the login form, a web-to-lead form)
    return getattr(actor, "label", "") or origin.via


def record_event(
    session: Session, *, model: str, record_id: Any, action: str, details: dict[str, Any] | None = None
) -> None:
    """Add a row that is not a data change (a refused action, an export) to the trail.

    It is written when ``session`` commits, like every other row.
    """
    company_id = session.info.get(COMPANY)
    _note(
        session,
        model=model,
        record_id="" if record_id is None else str(record_id),
        action=action,
        changes={key: MASK if is_secret(key) else plain(value) for key, value in (details or {}).items()},
        company_id=company_id,
    )


def record_refusal(
    session: Session, *, model: str, record_id: Any, action: str, details: dict[str, Any] | None = None
) -> None:
    """Add a refused action to the trail; it is kept even when the transaction rolls back.

    Written with the transaction if it commits anyway, else right after the rollback in a
    transaction of its own.
    """
    record_event(session, model=model, record_id=record_id, action=action, details=details)
    note = session.info[PENDING].pop()
    session.info.setdefault(REFUSALS, []).append(note.row)


def performed_by(session: Session, *, model: str, record_id: str, action: str) -> set[int]:
    """The users who did ``action`` ("create", or a duty code) to the record, committed or
    noted in this transaction."""
    users = {
        user_id
        for user_id in session.scalars(
            select(AuditLog.user_id).where(
                AuditLog.model == model, AuditLog.record_id == record_id, AuditLog.action == action
            )
        )
        if user_id is not None
    }
    for note in session.info.get(PENDING, ()):
        row = note.row
        same = row["model"] == model and row["record_id"] == record_id and row["action"] == action
        if same and row["user_id"] is not None:
            users.add(row["user_id"])
    return users


def _record_id(mapper: Any, obj: Any) -> str:
    return ",".join("" if v is None else str(v) for v in mapper.primary_key_from_instance(obj))


def _company_of(obj: Any) -> int | None:
    value = getattr(obj, "company_id", None)
    return value if isinstance(value, int) else None


def _on_flush(session: Session, _context: Any) -> None:
    for obj in session.new:
        _note_object(session, obj, "create")
    for obj in session.dirty:
        _note_object(session, obj, "update")
    for obj in session.deleted:
        _note_object(session, obj, "delete")
    _maybe_write_early(session)


def _note_object(session: Session, obj: Any, action: str) -> None:
    state = inspect(obj)
    mapper = state.mapper
    table = mapper.local_table
    if table.name in SKIPPED_TABLES:
        return
    changes: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if action == "update":
            if key in SKIPPED_COLUMNS:
                continue
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            changes[key] = _pair(key, old, new)
        elif action == "create":
            value = state.dict.get(key)
            if value is not None:
                changes[key] = _pair(key, None, value)
        else:
            if key in state.dict:
                changes[key] = _pair(key, state.dict[key], None)
    if action == "update" and not changes:
        return
    _note(
        session,
        model=table.name,
        record_id=_record_id(mapper, obj),
        action=action,
        changes=changes,
        company_id=_company_of(obj),
    )


def _on_execute(state: ORMExecuteState) -> Any:
    """Note the rows a bulk ``insert``/``update``/``delete`` through the session touches."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return None
    statement = state.statement
    table = getattr(statement, "table", None)
    if table is None or getattr(table, "name", None) in SKIPPED_TABLES or not hasattr(table, "primary_key"):
        return None
    session = state.session
    keys = list(table.primary_key.columns)
    if state.is_insert:
        return _bulk_insert(state, session, table, keys)
    where = statement.whereclause
    params = state.parameters
    if where is None and isinstance(params, list) and params:
        # ORM bulk update/delete by primary key: the keys are in the parameter rows.
        pks = [tuple(p.get(c.key) for c in keys) for p in params]
        where = tuple_(*keys).in_(pks) if len(pks) <= 1000 else None
    query = select(*table.columns)
    if where is not None:
        query = query.where(where)
    before = {_key(row, keys): row._mapping for row in session.connection().execute(query)}
    result = state.invoke_statement()
    if state.is_delete:
        for record_id, row in before.items():
            changes = {c.key: _pair(c.key, row[c], None) for c in table.columns if row[c] is not None}
            _note(
                session,
                model=table.name,
                record_id=record_id,
                action="delete",
                changes=changes,
                company_id=row.get("company_id"),
            )
    elif before:
        pk_values = [tuple(row[c] for c in keys) for row in before.values()]
        after_rows: dict[str, Any] = {}
        for chunk in _chunks(pk_values, 500):
            after_query = select(*table.columns).where(tuple_(*keys).in_(chunk))
            for row in session.connection().execute(after_query):
                after_rows[_key(row, keys)] = row._mapping
        for record_id, old in before.items():
            new = after_rows.get(record_id)
            if new is None:
                continue
            changes = {
                c.key: _pair(c.key, old[c], new[c])
                for c in table.columns
                if c.key not in SKIPPED_COLUMNS and old[c] != new[c]
            }
            if changes:
                _note(
                    session,
                    model=table.name,
                    record_id=record_id,
                    action="update",
                    changes=changes,
                    company_id=new.get("company_id"),
                )
    _maybe_write_early(session)
    return result


def _bulk_insert(state: ORMExecuteState, session: Session, table: Any, keys: list[Any]) -> Any:
    params = state.parameters
    rows: list[dict[str, Any]] = list(params) if isinstance(params, list) else [params] if params else []
    if not rows:
        multi = getattr(state.statement, "_multi_values", None) or ()
        single = getattr(state.statement, "_values", None)
        if multi:
            rows = [dict(values) for batch in multi for values in batch]
        elif single:
            rows = [{getattr(k, "key", k): getattr(v, "value", v) for k, v in single.items()}]
    result = state.invoke_statement()
    returned: list[Any] = []
    if rows and state.statement.returning_column_descriptions:
        frozen = result.freeze()
        returned = frozen().all()
        result = frozen()
    for index, values in enumerate(rows):
        values = {getattr(k, "key", k): v for k, v in values.items()}
        ids = [values.get(c.key) for c in keys]
        if any(v is None for v in ids) and index < len(returned):
            found = returned[index]._mapping
            ids = [found.get(c.key, found.get(c)) for c in keys]
        elif any(v is None for v in ids) and len(rows) == 1:
            inserted = getattr(result, "inserted_primary_key", None)
            ids = list(inserted) if inserted else ids
        changes = {k: _pair(k, None, v) for k, v in values.items() if v is not None}
        _note(
            session,
            model=table.name,
            record_id=",".join("" if v is None else str(v) for v in ids),
            action="create",
            changes=changes,
            company_id=values.get("company_id"),
        )
    _maybe_write_early(session)
    return result


def _key(row: Any, keys: list[Any]) -> str:
    return ",".join(str(row._mapping[c]) for c in keys)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- writing the chain ----------------------------------------------------------------------


def row_hash(row: dict[str, Any] | Any, prev_hash: str) -> str:
    """The SHA-256 of one row's content and the hash of the row before it."""
    get = row.get if isinstance(row, dict) else row._mapping.get
    at = get("at")
    content = [
        get("seq"),
        at.astimezone(dt.UTC).isoformat() if at is not None else None,
        get("company_id"),
        get("user_id"),
        get("actor"),
        get("via"),
        get("token"),
        get("model"),
        get("record_id"),
        get("action"),
        get("changes"),
        get("request_id"),
        get("ip"),
        prev_hash,
    ]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _maybe_write_early(session: Session) -> None:
    if session.info.get(CHAINING) or len(session.info.get(PENDING, ())) >= EARLY_WRITE_THRESHOLD:
        _write(session)


def _write(session: Session) -> None:
    notes: list[_Note] = session.info.pop(PENDING, None) or []
    if not notes:
        return
    # Marked before the first statement: the lock is held from here until the transaction ends.
    session.info[CHAINING] = True
    _append(session.connection(), [note.row for note in notes])


def _append(connection: Connection, notes: list[dict[str, Any]]) -> None:
    head_table = AuditHead.__table__
    head = connection.execute(
        select(head_table.c.seq, head_table.c.hash).where(head_table.c.id == 1).with_for_update()
    ).one_or_none()
    if head is None:
        connection.execute(head_table.insert().values(id=1, seq=0, hash=GENESIS))
        seq, prev = 0, GENESIS
    else:
        seq, prev = head.seq, head.hash
    now = utcnow()
    rows = []
    for note in notes:
        seq += 1
        row = dict(note, seq=seq, at=now, prev_hash=prev)
        row["hash"] = prev = row_hash(row, prev)
        rows.append(row)
    connection.execute(AuditLog.__table__.insert(), rows)
    connection.execute(update(head_table).where(head_table.c.id == 1).values(seq=seq, hash=prev))


def write_pending(session: Session) -> None:
    """Write the rows noted so far, for a session whose connection is committed by someone else
    (enabling a plugin runs inside the migration's connection)."""
    session.flush()
    _write(session)


def _before_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: its notes wait for the outer commit
    session.flush()
    refusals = session.info.get(REFUSALS)
    if refusals:
        # Written with the commit; kept noted until it succeeds (see _after_commit), so a
        # failing COMMIT still leaves them to be written on their own.
        transaction = session.get_transaction()
        assert transaction is not None
        session.info.setdefault(PENDING, []).extend(_Note(transaction, row) for row in refusals)
    _write(session)


def _after_commit(session: Session) -> None:
    session.info.pop(REFUSALS, None)


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    notes: list[_Note] | None = session.info.get(PENDING)
    if not previous.nested:
        session.info.pop(PENDING, None)
        return
    if notes:
        session.info[PENDING] = [n for n in notes if not _inside(n.transaction, previous)]


def _inside(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    session.info.pop(CHAINING, None)
    refusals = session.info.pop(REFUSALS, None)
    bind = session.get_bind()
    if refusals and not isinstance(bind, Connection):
        # The refused action was rolled back or the session closed (and its connection, with
        # SQLite's lock, is released by now): the refusal is written in a transaction of its own.
        with bind.begin() as connection:
            _append(connection, refusals)


_LISTENERS: list[tuple[str, Callable[..., Any], dict[str, Any]]] = [
    ("after_flush", _on_flush, {}),
    ("do_orm_execute", _on_execute, {}),
    ("before_commit", _before_commit, {}),
    ("after_commit", _after_commit, {}),
    ("after_soft_rollback", _after_soft_rollback, {}),
    ("after_transaction_end", _after_transaction_end, {}),
]


def install(factory: sessionmaker) -> None:
    """Audit every session ``factory`` makes (done by :func:`core.app.create_app`)."""
    for name, listener, kwargs in _LISTENERS:
        if not sa_event.contains(factory, name, listener):
            sa_event.listen(factory, name, listener, **kwargs)


def uninstall(factory: sessionmaker) -> None:
    """Stop auditing ``factory``'s sessions: only for measuring what auditing costs (bench/)."""
    for name, listener, _kwargs in _LISTENERS:
        if sa_event.contains(factory, name, listener):
            sa_event.remove(factory, name, listener)


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`: ``ok``, how many rows were checked, and the first break."""

    ok: bool
    rows: int
    head_hash: str
    problem: str = ""
    seq: int | None = None
    row_id: int | None = None


def chain_length(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(AuditLog.__table__)).scalar_one()


def verify(connection: Connection, progress: Callable[[int], None] | None = None) -> Verdict:
    """Walk the chain in ``seq`` order, streaming, and report the first row that breaks it.

    A changed row no longer matches its hash; a deleted row leaves a gap in ``seq`` and its
    successor's ``prev_hash`` pointing at nothing; a moved row (``seq`` changed) fails its
    hash; rows cut off the end leave the head pointing past the last row.
    """
    table = AuditLog.__table__
    head = connection.execute(
        select(AuditHead.__table__.c.seq, AuditHead.__table__.c.hash).where(AuditHead.__table__.c.id == 1)
    ).one_or_none()
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, GENESIS)
    expected_seq, prev = 1, GENESIS
    checked = 0
    query = select(table).order_by(table.c.seq).execution_options(stream_results=True, yield_per=5_000)
    for row in connection.execute(query):
        if row.seq != expected_seq:
            if row.seq > expected_seq:
                missing = (
                    f"row {expected_seq} is missing"
                    if row.seq == expected_seq + 1
                    else f"rows {expected_seq} to {row.seq - 1} are missing"
                )
                return Verdict(False, checked, head_hash, f"{missing} (deleted)", expected_seq, None)
            return Verdict(False, checked, head_hash, f"row {row.seq} appears twice", row.seq, row.id)
        if row.prev_hash != prev:
            return Verdict(
                False,
                checked,
                head_hash,
                f"row {row.seq} does not follow row {row.seq - 1} (rows deleted, inserted or moved)",
                row.seq,
                row.id,
            )
        if row_hash(row, prev) != row.hash:
            return Verdict(
                False,
                checked,
                head_hash,
                f"row {row.seq} was altered (its content no longer matches its hash)",
                row.seq,
                row.id,
            )
        prev = row.hash
        expected_seq += 1
        checked += 1
        if progress is not None and checked % 5_000 == 0:
            progress(5_000)
    if progress is not None and checked % 5_000:
        progress(checked % 5_000)
    if head_seq != checked or head_hash != prev:
        return Verdict(
            False,
            checked,
            head_hash,
            f"the chain ends at row {checked} but its head records row {head_seq} (rows cut off the end)",
            checked + 1,
            None,
        )
    return Verdict(True, checked, head_hash)


def history(session: Session, model: str, record_id: Any, limit: int = 50) -> list[AuditLog]:
    """A record's rows in the trail, newest first."""
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.model == model, AuditLog.record_id == str(record_id))
            .order_by(AuditLog.seq.desc())
            .limit(limit)
        )
    )


def model_name(obj: Any) -> str:
    """The name a record's rows carry in the trail (its table name)."""
    return inspect(obj).mapper.local_table.name


def record_key(obj: Any) -> str:
    """The ``record_id`` a record's rows carry in the trail."""
    state = inspect(obj)
    return _record_id(state.mapper, obj)
