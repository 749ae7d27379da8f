"""Compliance pages: period locks — the company's lock date, changing it (with
``ledger.period.lock``) and the history of its changes from the audit trail."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _

from core.plugin_api import SearchResult, ValidationError, Widget, get_session, pages, require_permission

from ..services import locks
from . import blueprint


def _page(errors: dict[str, list[str]], value: str | None = None) -> Any:
    session = get_session()
    lock_date = locks.current_lock_date(session)
    return render_template(
        "compliance/locks.html",
        lock_date=lock_date,
        value=value if value is not None else (lock_date.isoformat() if lock_date else ""),
        history=locks.lock_history(session),
        can_lock=pages.actor_can("ledger.period.lock"),
        errors=errors,
        when=lambda at: format_datetime(at, "medium"),
    ), 422 if errors else 200


@blueprint.get("/period-locks", endpoint="period_locks")
@require_permission("compliance.view")
def period_locks_page() -> Any:
    """The lock date, its form for users who may change it, and who changed it when."""
    return _page({})


@blueprint.post("/period-locks", endpoint="period_lock_set")
@require_permission("ledger.period.lock")
def period_lock_set() -> Any:
    """Set the lock date ("Clear" opens every period); a bad date is shown on the form."""
    session = get_session()
    value = "" if request.form.get("action") == "clear" else request.form.get("lock_date", "").strip()
    try:
        company = locks.set_lock(session, value)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _page(exc.fields or {"lock_date": [exc.message]}, value[:100])
    if company.lock_date is None:
        flash(_("The lock date is cleared: every period is open."), "success")
    else:
        flash(
            _(
                "The books are locked through %(date)s: postings dated on or before it are refused.",
                date=company.lock_date.isoformat(),
            ),
            "success",
        )
    return redirect(url_for("compliance.period_locks"))


def widgets(user: Any) -> list[Widget]:
    return []


def search_results(query: str, user: Any) -> list[SearchResult]:
    return []
