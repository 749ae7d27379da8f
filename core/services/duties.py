"""Segregation of duties: services ask before a sensitive action, enabled plugins judge.

A service about to post, approve or confirm something calls :func:`check_duty`
with the action's code (declared through ``officium_duty_actions``), the record
and the amount. Every enabled plugin's ``officium_check_duty`` may give reasons
to refuse (the compliance plugin applies its rules); a refusal raises
:class:`~core.errors.DutyViolation` and is written to the audit trail, while the
action's own transaction rolls back. An allowed action is written to the trail
as performed (``action`` = its code), so a later rule can ask who did it.
Without a judging plugin every action is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core import audit
from core.context import actor_id_of, company_id_of, manager_of
from core.errors import DutyViolation, ValidationError

CORE_DUTY_ACTIONS = [("ledger.entry.post", "Post a journal entry to the ledger")]


@dataclass(frozen=True)
class DutyCheck:
    """An action about to happen, as ``officium_check_duty`` sees it."""

    code: str
    model: str
    record_id: str
    amount: Decimal | None
    user_id: int | None
    company_id: int
    label: str = ""


def declared_actions(session: Session) -> dict[str, str]:
    """Every action code core and the enabled plugins declare, with its description."""
    manager = manager_of(session)
    pairs = manager.collect("officium_duty_actions") if manager is not None else CORE_DUTY_ACTIONS
    return dict(sorted(pairs))


def check_duty(
    session: Session, code: str, record: Any, *, amount: Decimal | None = None, label: str = ""
) -> None:
    """Ask enabled plugins whether the session's user may do ``code`` to ``record`` now.

    Call it before changing anything. Raises :class:`DutyViolation` (403) with the reasons.
    ``label`` names the record for people ("invoice INV/2026/0001").
    """
    manager = manager_of(session)
    if manager is None:
        return
    if code not in declared_actions(session):
        raise ValidationError(f"unknown duty action {code!r}: declare it with officium_duty_actions")
    session.flush()  # the record has its id
    check = DutyCheck(
        code=code,
        model=audit.model_name(record),
        record_id=audit.record_key(record),
        amount=amount,
        user_id=actor_id_of(session),
        company_id=company_id_of(session),
        label=label,
    )
    reasons = [r for r in manager.collect("officium_check_duty", check=check, session=session) if r]
    details = {"amount": amount, "label": label}
    if reasons:
        message = "; ".join(str(r) for r in reasons)
        audit.record_refusal(
            session,
            model=check.model,
            record_id=check.record_id,
            action=f"refused:{code}",
            details={**details, "reasons": [str(r) for r in reasons]},
        )
        raise DutyViolation(code, message)
    audit.record_event(session, model=check.model, record_id=check.record_id, action=code, details=details)
