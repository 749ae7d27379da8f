"""Segregation of duties: the company's rules, how an action is judged against them, and refusals.

A rule reads "whoever did ``first_action`` to a record may not do ``second_action`` to it"
(from ``min_amount`` on, when set). ``first_action`` is ``create`` or a declared duty action,
``second_action`` a declared one (core and the enabled plugins declare them through
``officium_duty_actions``). Services call ``check_duty`` before a sensitive action; core asks
every enabled plugin, and :func:`judge` answers for compliance with the reasons to refuse.
Who did what comes from the audit trail (``audit.performed_by``), so a rule also covers
records created before it was switched on. Refusals are rows of the audit trail whose action
starts with ``refused:``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import false, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.plugin_api import (
    AuditLog,
    DutyCheck,
    NotFound,
    Page,
    ValidationError,
    audit,
    company_id_of,
    declared_actions,
    keyset_page,
    require_permission,
    validation,
)

from ..models import SodRule
from .text import parse_text, search_text

CREATE = "create"
CREATE_DESCRIPTION = "Create the record"
REFUSED_PREFIX = "refused:"
NAME_LIMIT = 200
# How a reason names each kind of action, by the last part of its code: (done, to do).
VERBS = {
    "create": ("created", "create it"),
    "post": ("posted", "post it"),
    "confirm": ("confirmed", "confirm it"),
    "approve": ("approved", "approve it"),
    "register": ("registered a payment on", "register the payment"),
}
RULE_SORTS = {"name": SodRule.name, "id": SodRule.id}


# --- judging ------------------------------------------------------------------------------------


def _verbs(code: str) -> tuple[str, str]:
    return VERBS.get(code.rsplit(".", 1)[-1], (f"did “{code}” on", f"do “{code}”"))


def refusal_reason(rule: SodRule, check: DutyCheck) -> str:
    """The sentence that tells the user which rule refuses them and what to do."""
    done = _verbs(rule.first_action)[0]
    to_do = _verbs(check.code)[1]
    label = check.label or "this record"
    return f"Rule “{rule.name}”: you {done} {label}; someone else must {to_do}."


def judge(check: DutyCheck, session: Session) -> list[str]:
    """The reasons the company's active rules refuse ``check`` (empty: allowed).

    A rule applies when its ``second_action`` is the action about to happen and the amount
    reaches its ``min_amount`` (a rule with a minimum never applies to an action without an
    amount). It refuses when the user did the rule's ``first_action`` to the same record,
    committed earlier or in this very transaction. The command line (no user) is never
    refused. One query for the rules; the trail is read only when a rule applies.
    """
    if check.user_id is None:
        return []
    rules = session.scalars(
        select(SodRule)
        .where(
            SodRule.company_id == check.company_id,
            SodRule.active.is_(True),
            SodRule.second_action == check.code,
        )
        .order_by(SodRule.name, SodRule.id)
    ).all()
    reasons: list[str] = []
    performers: dict[str, set[int]] = {}
    for rule in rules:
        if rule.min_amount is not None and (check.amount is None or check.amount < rule.min_amount):
            continue
        if rule.first_action not in performers:
            performers[rule.first_action] = audit.performed_by(
                session, model=check.model, record_id=check.record_id, action=rule.first_action
            )
        if check.user_id in performers[rule.first_action]:
            reasons.append(refusal_reason(rule, check))
    return reasons


# --- the actions rules may name -------------------------------------------------------------------


@dataclass(frozen=True)
class ActionChoice:
    """An action a rule may name: ``create`` only as the first action."""

    code: str
    description: str
    as_first: bool = True
    as_second: bool = True


def action_choices(session: Session) -> list[ActionChoice]:
    """``create`` then every action core and the enabled plugins declare, by code."""
    declared = declared_actions(session)
    return [ActionChoice(CREATE, CREATE_DESCRIPTION, as_second=False)] + [
        ActionChoice(code, description) for code, description in declared.items()
    ]


def describe(code: str, declared: Mapping[str, str]) -> str:
    """An action's description; a code no enabled department declares is shown as it is."""
    if code == CREATE:
        return CREATE_DESCRIPTION
    return declared.get(code, code)


def is_available(code: str, declared: Mapping[str, str]) -> bool:
    """Whether the department that performs ``code`` is enabled (``create`` always is)."""
    return code == CREATE or code in declared


# --- rules ----------------------------------------------------------------------------------------


@require_permission("compliance.sod.manage")
def list_rules(
    session: Session,
    *,
    active: bool | None = None,
    q: str | None = None,
    sort: str = "name",
    descending: bool = False,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
) -> Page:
    """One page of the company's rules, by name; ``active`` and ``q`` (in the name) filter."""
    if sort not in RULE_SORTS:
        raise ValidationError("invalid sort", fields={"sort": [f"must be one of {', '.join(RULE_SORTS)}"]})
    stmt = select(SodRule).where(SodRule.company_id == company_id_of(session))
    if active is not None:
        stmt = stmt.where(SodRule.active.is_(active))
    q = search_text(q)
    if q:
        stmt = stmt.where(func.lower(SodRule.name).contains(q.lower(), autoescape=True))
    return keyset_page(
        session,
        stmt,
        column=RULE_SORTS[sort],
        id_column=SodRule.id,
        descending=descending,
        after=after,
        limit=limit,
    )


@require_permission("compliance.sod.manage")
def get_rule(session: Session, rule_id: Any) -> SodRule:
    """A rule of the current company; any other id is a 404."""
    number = validation.parse_id(rule_id)
    rule = session.get(SodRule, number) if number is not None else None
    if rule is None or rule.company_id != company_id_of(session):
        raise NotFound(f"segregation-of-duties rule {rule_id} not found")
    return rule


def _clean(session: Session, data: Mapping[str, Any], rule: SodRule | None) -> dict[str, Any]:
    """Check a whole rule (``rule`` is the stored one when editing); raises with every field message."""
    errors: dict[str, list[str]] = {}
    current = {
        "name": rule.name if rule else None,
        "first_action": rule.first_action if rule else None,
        "second_action": rule.second_action if rule else None,
        "min_amount": rule.min_amount if rule else None,
        "active": rule.active if rule else True,
    }
    merged = {**current, **{k: v for k, v in data.items() if k in current}}
    unknown = sorted(set(data) - set(current))
    for key in unknown:
        errors[key] = ["is not a field of a rule"]
    name = parse_text(merged["name"], "name", errors, limit=NAME_LIMIT, required=True)
    declared = declared_actions(session)
    first = merged["first_action"]
    second = merged["second_action"]
    for key, value, allowed_create in (("first_action", first, True), ("second_action", second, False)):
        kept = rule is not None and value == current[key]  # a department switched off since
        if value in (None, ""):
            errors[key] = ["is required"]
        elif not isinstance(value, str):
            errors[key] = ["must be an action code"]
        elif value == CREATE and not allowed_create:
            errors[key] = ["must be an action such as posting or confirming, not “create”"]
        elif not kept and value != CREATE and value not in declared:
            errors[key] = ["is not an action of an enabled department"]
    if "first_action" not in errors and "second_action" not in errors and first == second:
        errors["second_action"] = ["must differ from the first action"]
    amount = merged["min_amount"]
    min_amount: Decimal | None = None
    if amount not in (None, ""):
        min_amount = validation.parse_decimal(amount, "min_amount", errors, minimum=Decimal("0"))
    active = merged["active"]
    if not isinstance(active, bool):
        errors["active"] = ["must be true or false"]
    if "name" not in errors:
        clash = select(SodRule.id).where(
            SodRule.company_id == company_id_of(session), func.lower(SodRule.name) == name.lower()
        )
        if rule is not None:
            clash = clash.where(SodRule.id != rule.id)
        if session.scalar(clash.limit(1)) is not None:
            errors["name"] = ["another rule has this name"]
    validation.raise_if(errors, "invalid rule")
    return {
        "name": name,
        "first_action": first,
        "second_action": second,
        "min_amount": min_amount,
        "active": active,
    }


def _save(session: Session, rule: SodRule) -> None:
    try:
        with session.begin_nested():
            session.add(rule)
            session.flush()
    except IntegrityError as exc:  # the same name saved at the same moment
        raise ValidationError(
            "invalid rule: name another rule has this name", fields={"name": ["another rule has this name"]}
        ) from exc


@require_permission("compliance.sod.manage")
def create_rule(session: Session, data: Mapping[str, Any]) -> SodRule:
    """A new rule: ``name``, ``first_action``, ``second_action``, ``min_amount`` (optional, not
    negative) and ``active`` (default true). Bad input is a field error and nothing is stored."""
    clean = _clean(session, data, None)
    rule = SodRule(company_id=company_id_of(session), **clean)
    _save(session, rule)
    return rule


@require_permission("compliance.sod.manage")
def update_rule(session: Session, rule: SodRule, data: Mapping[str, Any]) -> SodRule:
    """Change some of a rule's fields; the same checks as :func:`create_rule` apply to the result.

    An action left as it was stays valid even if its department has been disabled since.
    """
    clean = _clean(session, data, rule)
    for key, value in clean.items():
        setattr(rule, key, value)
    _save(session, rule)
    return rule


@require_permission("compliance.sod.manage")
def set_active(session: Session, rule: SodRule, active: bool) -> SodRule:
    """Switch a rule on or off."""
    return update_rule(session, rule, {"active": active})


@require_permission("compliance.sod.manage")
def delete_rule(session: Session, rule: SodRule) -> None:
    """Delete a rule (the trail keeps its history and the refusals it caused)."""
    session.delete(rule)
    session.flush()


# --- refusals -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A refused action as the trail recorded it."""

    id: int
    at: Any
    user_id: int | None
    actor: str
    via: str
    code: str
    model: str
    record_id: str
    label: str
    amount: Decimal | None
    reasons: list[str]


def _refusal(row: AuditLog) -> Refusal:
    changes = row.changes if isinstance(row.changes, dict) else {}
    amount = changes.get("amount")
    try:
        value = Decimal(amount) if isinstance(amount, str) else None
    except ArithmeticError:
        value = None
    reasons = changes.get("reasons")
    return Refusal(
        id=row.id,
        at=row.at,
        user_id=row.user_id,
        actor=row.actor,
        via=row.via,
        code=row.action.removeprefix(REFUSED_PREFIX),
        model=row.model,
        record_id=row.record_id,
        label=str(changes.get("label") or ""),
        amount=value,
        reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [],
    )


@require_permission("compliance.sod.manage")
def list_refusals(
    session: Session,
    *,
    code: str | None = None,
    user_id: int | None = None,
    after: tuple[Any, int] | None = None,
    limit: int = 50,
) -> Page:
    """One page of the company's refused actions, newest first (``code``, ``user_id`` filter)."""
    action = (
        AuditLog.action.startswith(REFUSED_PREFIX) if not code else AuditLog.action == REFUSED_PREFIX + code
    )
    if code and "\x00" in code:  # no action is named so (and PostgreSQL refuses NUL in text)
        action = false()
    stmt = select(AuditLog).where(AuditLog.company_id == company_id_of(session), action)
    if user_id is not None:
        stmt = stmt.where(AuditLog.user_id == user_id)
    page = keyset_page(
        session, stmt, column=AuditLog.id, id_column=AuditLog.id, descending=True, after=after, limit=limit
    )
    return Page([_refusal(row) for row in page.items], page.next_after)
