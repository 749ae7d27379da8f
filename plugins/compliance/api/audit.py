"""Compliance API: the audit trail (list, one row, verify the chain) and period locks.

The trail the caller's company sees: its own rows and the instance-wide ones (users, roles,
plugins). Browsing and verifying need ``compliance.audit.view``; reading the lock date
``compliance.view``; changing it ``ledger.period.lock``.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import (
    AuditLog,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
)

from ..schemas.audit import (
    AuditPageSchema,
    AuditQuerySchema,
    AuditRowSchema,
    AuditVerificationSchema,
    PeriodLockRequestSchema,
    PeriodLockSchema,
)
from ..services import audit_log, locks
from . import blueprint

SORTS = {"seq": AuditLog.seq}


@blueprint.route("/audit-log", methods=["GET"])
@require_permission("compliance.audit.view")
@blueprint.arguments(AuditQuerySchema, location="query")
@blueprint.response(200, AuditPageSchema)
def audit_log_list(args: dict[str, Any]) -> dict[str, Any]:
    """The trail, newest first (``sort=seq`` for oldest first), narrowed by the filters."""
    _sort, descending = api_sort(args["sort"], SORTS, "seq", newest_first=True)
    filters = audit_log.parse_filters({key: args.get(key) for key in audit_log.FILTER_KEYS})
    page = audit_log.list_rows(
        get_session(),
        filters,
        after=decode_cursor(args["cursor"], column=AuditLog.seq),
        limit=args["limit"],
        newest_first=descending,
    )
    return api_page(page, audit_log.row_dict)


@blueprint.route("/audit-log/<int:row_id>", methods=["GET"])
@require_permission("compliance.audit.view")
@blueprint.response(200, AuditRowSchema)
def audit_log_get(row_id: int) -> dict[str, Any]:
    """One row (another company's is 404)."""
    return audit_log.row_dict(audit_log.get_row(get_session(), row_id))


@blueprint.route("/audit-log/verify", methods=["POST"])
@require_permission("compliance.audit.view")
@blueprint.response(200, AuditVerificationSchema)
def audit_log_verify() -> dict[str, Any]:
    """Walk the whole hash chain; the verdict names the first altered, deleted or moved row and
    is itself written to the trail (action ``audit.verified``)."""
    verification = audit_log.verify_chain(get_session())
    api_commit()
    return {
        "ok": verification.ok,
        "rows": verification.rows,
        "problem": verification.problem,
        "head_hash": verification.head_hash,
        "seq": verification.seq,
    }


def _locks() -> dict[str, Any]:
    session = get_session()
    history = [
        {"at": c.at, "actor": c.actor, "user_id": c.user_id, "via": c.via, "old": c.old, "new": c.new}
        for c in locks.lock_history(session)
    ]
    return {"lock_date": locks.current_lock_date(session), "history": history}


@blueprint.route("/period-locks", methods=["GET"])
@require_permission("compliance.view")
@blueprint.response(200, PeriodLockSchema)
def period_locks_get() -> dict[str, Any]:
    """The company's lock date and its changes, newest first."""
    return _locks()


@blueprint.route("/period-locks", methods=["PUT"])
@require_permission("ledger.period.lock")
@blueprint.arguments(PeriodLockRequestSchema)
@blueprint.response(200, PeriodLockSchema)
def period_locks_set(data: dict[str, Any]) -> dict[str, Any]:
    """Lock the books through ``lock_date`` (``null`` opens every period)."""
    locks.set_lock(get_session(), data["lock_date"])
    api_commit()
    return _locks()
