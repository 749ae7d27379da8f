"""Compliance API: segregation-of-duties rules, the actions they may name, and refused actions.

Everything here needs ``compliance.sod.manage``. A rule naming an action no enabled department
declares, ``create`` as the second action, the same action twice or a negative amount is a 422
with field messages; a rule of another company is a 404.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import (
    AuditLog,
    api_commit,
    api_page,
    api_sort,
    declared_actions,
    decode_cursor,
    get_session,
    require_permission,
)

from ..models import SodRule
from ..schemas.sod import (
    SodActionPage,
    SodRefusalPage,
    SodRefusalQuery,
    SodRuleCreateSchema,
    SodRulePage,
    SodRulePatchSchema,
    SodRuleQuery,
    SodRuleSchema,
)
from ..services import sod
from . import blueprint


def _rule(rule: SodRule, declared: dict[str, str]) -> dict[str, Any]:
    enabled = sod.is_available(rule.first_action, declared) and sod.is_available(rule.second_action, declared)
    return {
        "id": rule.id,
        "name": rule.name,
        "first_action": rule.first_action,
        "first_action_description": sod.describe(rule.first_action, declared),
        "second_action": rule.second_action,
        "second_action_description": sod.describe(rule.second_action, declared),
        "min_amount": rule.min_amount,
        "active": rule.active,
        "enforced": rule.active and enabled,
        "departments_enabled": enabled,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


def _one(rule: SodRule) -> dict[str, Any]:
    return _rule(rule, declared_actions(get_session()))


@blueprint.route("/sod-rules", methods=["GET"])
@require_permission("compliance.sod.manage")
@blueprint.arguments(SodRuleQuery, location="query")
@blueprint.response(200, SodRulePage)
def sod_rules_list(args: dict[str, Any]) -> dict[str, Any]:
    """The company's rules by name (``sort``: name, id; ``q`` in the name; ``active``)."""
    session = get_session()
    sort, descending = api_sort(args["sort"], sod.RULE_SORTS, "name")
    page = sod.list_rules(
        session,
        active=args["active"],
        q=args["q"],
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], sod.RULE_SORTS[sort]),
        limit=args["limit"],
    )
    declared = declared_actions(session)
    return api_page(page, lambda rule: _rule(rule, declared))


@blueprint.route("/sod-rules", methods=["POST"])
@require_permission("compliance.sod.manage")
@blueprint.arguments(SodRuleCreateSchema)
@blueprint.response(201, SodRuleSchema)
def sod_rules_create(data: dict[str, Any]) -> dict[str, Any]:
    """A new rule: whoever did ``first_action`` to a record may not do ``second_action`` to it."""
    rule = sod.create_rule(get_session(), data)
    api_commit()
    return _one(rule)


@blueprint.route("/sod-rules/<int:rule_id>", methods=["GET"])
@require_permission("compliance.sod.manage")
@blueprint.response(200, SodRuleSchema)
def sod_rules_get(rule_id: int) -> dict[str, Any]:
    return _one(sod.get_rule(get_session(), rule_id))


@blueprint.route("/sod-rules/<int:rule_id>", methods=["PATCH"])
@require_permission("compliance.sod.manage")
@blueprint.arguments(SodRulePatchSchema)
@blueprint.response(200, SodRuleSchema)
def sod_rules_update(data: dict[str, Any], rule_id: int) -> dict[str, Any]:
    """Change a rule; ``"active": false`` switches it off."""
    session = get_session()
    rule = sod.update_rule(session, sod.get_rule(session, rule_id), data)
    api_commit()
    return _one(rule)


@blueprint.route("/sod-rules/<int:rule_id>", methods=["DELETE"])
@require_permission("compliance.sod.manage")
@blueprint.response(204)
def sod_rules_delete(rule_id: int) -> None:
    session = get_session()
    sod.delete_rule(session, sod.get_rule(session, rule_id))
    api_commit()


@blueprint.route("/sod-actions", methods=["GET"])
@require_permission("compliance.sod.manage")
@blueprint.response(200, SodActionPage)
def sod_actions_list() -> dict[str, Any]:
    """The actions a rule may name: ``create`` (first action only) and every declared action of
    core and the enabled departments."""
    choices = sod.action_choices(get_session())
    items = [
        {"code": c.code, "description": c.description, "as_first": c.as_first, "as_second": c.as_second}
        for c in choices
    ]
    return {"items": items, "next_cursor": None}


@blueprint.route("/sod-refusals", methods=["GET"])
@require_permission("compliance.sod.manage")
@blueprint.arguments(SodRefusalQuery, location="query")
@blueprint.response(200, SodRefusalPage)
def sod_refusals_list(args: dict[str, Any]) -> dict[str, Any]:
    """Refused actions from the audit trail, newest first (``action``, ``user_id`` filter)."""
    page = sod.list_refusals(
        get_session(),
        code=args["action"],
        user_id=args["user_id"],
        after=decode_cursor(args["cursor"], AuditLog.id),
        limit=args["limit"],
    )
    return api_page(
        page,
        lambda r: {
            "id": r.id,
            "at": r.at,
            "user_id": r.user_id,
            "actor": r.actor,
            "via": r.via,
            "action": r.code,
            "model": r.model,
            "record_id": r.record_id,
            "label": r.label,
            "amount": r.amount,
            "reasons": r.reasons,
        },
    )
