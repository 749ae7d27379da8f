"""Compliance pages: segregation-of-duties rules (list, form, switch on and off, delete) and the
actions they refused. Every page needs ``compliance.sod.manage``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from core.plugin_api import (
    AuditLog,
    ValidationError,
    csv_response,
    declared_actions,
    decode_cursor,
    get_session,
    pages,
    require_permission,
)

from ..models import SodRule
from ..services import sod
from . import blueprint

RULE_FIELDS = ("name", "first_action", "second_action", "min_amount")
RECENT_REFUSALS = 20
PAGE_SIZE = 50


def widgets(user: Any) -> list[Any]:
    return []


def search_results(query: str, user: Any) -> list[Any]:
    return []


def _rule_rows(rules: list[SodRule], declared: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "rule": rule,
            "first": sod.describe(rule.first_action, declared),
            "second": sod.describe(rule.second_action, declared),
            "enabled": sod.is_available(rule.first_action, declared)
            and sod.is_available(rule.second_action, declared),
        }
        for rule in rules
    ]


@blueprint.get("/sod-rules")
@require_permission("compliance.sod.manage")
def sod_rules() -> Any:
    """The company's rules by name, with the most recent refusals under them."""
    session = get_session()
    show = request.args.get("show", "")
    active = {"active": True, "inactive": False}.get(show)
    page = sod.list_rules(session, active=active, limit=500)
    declared = declared_actions(session)
    refusals = sod.list_refusals(session, limit=RECENT_REFUSALS)
    return render_template(
        "compliance/sod_rules.html",
        rows=_rule_rows(page.items, declared),
        more_rules=page.next_cursor is not None,
        show=show if active is not None else "",
        refusals=refusals.items,
        more_refusals=refusals.next_cursor is not None,
        descriptions=declared,
    )


@blueprint.get("/sod-refusals")
@require_permission("compliance.sod.manage")
def sod_refusals() -> Any:
    """Every refused action, newest first, a page at a time; ``format=csv`` exports them all."""
    session = get_session()
    code = request.args.get("action", "").strip()[:100] or None
    if request.args.get("format") == "csv":
        return csv_response(
            "sod-refusals.csv",
            ["at", "user", "via", "action", "record", "amount", "reasons"],
            _refusal_rows(session, code),
        )
    try:
        after = decode_cursor(request.args.get("cursor"), AuditLog.id)
    except ValidationError:
        after = None
    page = sod.list_refusals(session, code=code, after=after, limit=PAGE_SIZE)
    return render_template(
        "compliance/sod_refusals.html",
        page=page,
        action=code or "",
        descriptions=declared_actions(session),
    )


def _refusal_rows(session: Any, code: str | None) -> Iterator[list[Any]]:
    after = None
    while True:
        page = sod.list_refusals(session, code=code, after=after, limit=500)
        for r in page.items:
            yield [
                r.at.isoformat() if r.at else "",
                r.actor,
                r.via,
                r.code,
                r.label or f"{r.model} #{r.record_id}",
                "" if r.amount is None else f"{r.amount:f}",
                " | ".join(r.reasons),
            ]
        if page.next_after is None:
            return
        after = page.next_after


def _render_form(rule: SodRule | None, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    choices = sod.action_choices(session)
    declared = declared_actions(session)
    first = [(c.code, f"{c.description} ({c.code})") for c in choices if c.as_first]
    second = [(c.code, f"{c.description} ({c.code})") for c in choices if c.as_second]
    if rule is not None:
        # A rule keeps an action whose department was disabled since; offer it so it is not lost.
        for options, code in ((first, rule.first_action), (second, rule.second_action)):
            if all(value != code for value, _label in options):
                options.append((code, _("%(code)s (department not enabled)", code=code)))
    shown = (*RULE_FIELDS, "active")
    return render_template(
        "compliance/sod_rule_form.html",
        rule=rule,
        data=data,
        errors=errors,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in shown],
        first_choices=first,
        second_choices=second,
        descriptions=declared,
    ), 422 if errors else 200


def _posted() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in RULE_FIELDS}
    data["active"] = bool(request.form.get("active"))
    return data


def _errors_of(exc: ValidationError) -> dict[str, list[str]]:
    return exc.fields or {"form": [exc.message]}


@blueprint.route("/sod-rules/new", methods=["GET", "POST"])
@require_permission("compliance.sod.manage")
def sod_rule_new() -> Any:
    """A new rule; it is active unless the box is cleared."""
    session = get_session()
    if request.method == "GET":
        data: dict[str, Any] = {key: "" for key in RULE_FIELDS}
        data["first_action"] = sod.CREATE
        data["active"] = True
        return _render_form(None, data, {})
    data = _posted()
    try:
        rule = sod.create_rule(session, data)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_form(None, data, _errors_of(exc))
    flash(_("Rule “%(name)s” created.", name=rule.name), "success")
    return redirect(url_for("compliance.sod_rules"))


@blueprint.route("/sod-rules/<int:rule_id>/edit", methods=["GET", "POST"])
@require_permission("compliance.sod.manage")
def sod_rule_edit(rule_id: int) -> Any:
    session = get_session()
    rule = sod.get_rule(session, rule_id)
    if request.method == "GET":
        data = {
            "name": rule.name,
            "first_action": rule.first_action,
            "second_action": rule.second_action,
            "min_amount": pages.form_decimal(rule.min_amount) if rule.min_amount is not None else "",
            "active": rule.active,
        }
        return _render_form(rule, data, {})
    data = _posted()
    try:
        sod.update_rule(session, rule, data)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_form(sod.get_rule(session, rule_id), data, _errors_of(exc))
    flash(_("Rule “%(name)s” saved.", name=rule.name), "success")
    return redirect(url_for("compliance.sod_rules"))


@blueprint.post("/sod-rules/<int:rule_id>/<any(activate, deactivate):action>")
@require_permission("compliance.sod.manage")
def sod_rule_switch(rule_id: int, action: str) -> Any:
    """Switch a rule on or off."""
    session = get_session()
    rule = sod.get_rule(session, rule_id)
    try:
        sod.set_active(session, rule, action == "activate")
        session.commit()
    except ValidationError as exc:
        session.rollback()
        flash(_("The rule was not changed: %(reason)s", reason=exc.message), "error")
        return redirect(url_for("compliance.sod_rules"))
    if action == "activate":
        flash(_("Rule “%(name)s” is active.", name=rule.name), "success")
    else:
        flash(_("Rule “%(name)s” is switched off.", name=rule.name), "success")
    return redirect(url_for("compliance.sod_rules"))


@blueprint.post("/sod-rules/<int:rule_id>/delete")
@require_permission("compliance.sod.manage")
def sod_rule_delete(rule_id: int) -> Any:
    session = get_session()
    rule = sod.get_rule(session, rule_id)
    name = rule.name
    sod.delete_rule(session, rule)
    session.commit()
    flash(_("Rule “%(name)s” deleted.", name=name), "success")
    return redirect(url_for("compliance.sod_rules"))
