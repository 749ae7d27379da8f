"""Compliance API: policies, their versions and assignments, and acknowledgements.

Reading policies needs ``compliance.view``; writing, publishing and assigning them
``compliance.policy.manage``. Every user lists and acknowledges the policies assigned to them
(``/acknowledgements``); a policy's acknowledgement report (``?policy_id=``) needs
``compliance.view`` or ``compliance.policy.manage``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.plugin_api import (
    Page,
    any_user,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
)

from ..models import Policy, PolicyVersion
from ..schemas.policies import (
    PolicyAcknowledgementCreateSchema,
    PolicyAcknowledgementPage,
    PolicyAcknowledgementQuery,
    PolicyAcknowledgementSchema,
    PolicyAssignmentCreateSchema,
    PolicyAssignmentPage,
    PolicyAssignmentSchema,
    PolicyCreateSchema,
    PolicyPage,
    PolicyPatchSchema,
    PolicyQuery,
    PolicySchema,
    PolicyVersionCreateSchema,
    PolicyVersionPage,
    PolicyVersionSchema,
)
from ..services import policies as service
from . import blueprint

VIEW = "compliance.view"
MANAGE = "compliance.policy.manage"


def _policy(summary: service.PolicySummary) -> dict[str, Any]:
    policy = summary.policy
    return {
        "id": policy.id,
        "title": policy.title,
        "summary": policy.summary,
        "owner_id": policy.owner_id,
        "owner": service.user_label(summary.owner) or None,
        "active": policy.active,
        "current_version": summary.current.version if summary.current else None,
        "effective_date": summary.current.effective_date if summary.current else None,
        "upcoming_version": summary.upcoming.version if summary.upcoming else None,
        "upcoming_date": summary.upcoming.effective_date if summary.upcoming else None,
        "assigned": summary.assigned,
        "acknowledged": summary.acknowledged,
        "created_at": policy.created_at,
        "updated_at": policy.updated_at,
    }


def _one(session: Session, policy: Policy) -> dict[str, Any]:
    return _policy(service.summaries(session, [policy])[0])


def _version(version: PolicyVersion, effective: PolicyVersion | None) -> dict[str, Any]:
    return {
        "id": version.id,
        "policy_id": version.policy_id,
        "version": version.version,
        "body": version.body,
        "format": version.body_format,
        "html": service.render_body(version.body, version.body_format),
        "effective_date": version.effective_date,
        "status": service.version_status(version, effective),
        "change_note": version.change_note,
        "published_by_id": version.published_by_id,
        "published_at": version.published_at,
    }


def _assignment(item: service.Assignment) -> dict[str, Any]:
    assignment = item.assignment
    return {
        "id": assignment.id,
        "policy_id": assignment.policy_id,
        "role_id": assignment.role_id,
        "role": item.label if item.kind == "role" else None,
        "user_id": assignment.user_id,
        "user": item.label if item.kind == "user" else None,
    }


# --- policies ----------------------------------------------------------------------------------------


@blueprint.route("/policies", methods=["GET"])
@require_permission(VIEW)
@blueprint.arguments(PolicyQuery, location="query")
@blueprint.response(200, PolicyPage)
def policies_list(args: dict[str, Any]) -> dict[str, Any]:
    """Policies by title (``sort``: ``title``, ``created_at``, ``-`` for descending), with the version
    in effect and acknowledgement progress; ``q`` searches titles, ``active`` filters."""
    session = get_session()
    sort, descending = api_sort(args["sort"], service.POLICY_SORTS, "title")
    page = service.list_policies(
        session,
        q=args["q"] or None,
        active=args["active"],
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=service.POLICY_SORTS[sort]),
        limit=args["limit"],
    )
    summaries = service.summaries(session, page.items)
    return api_page(Page(summaries, page.next_after), _policy)


@blueprint.route("/policies", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(PolicyCreateSchema)
@blueprint.response(201, PolicySchema)
def policies_create(data: dict[str, Any]) -> dict[str, Any]:
    """Add a policy (``title`` unique in the company); publish its text as version 1 next."""
    session = get_session()
    policy = service.create_policy(session, data)
    api_commit()
    return _one(session, policy)


@blueprint.route("/policies/<int:policy_id>", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, PolicySchema)
def policies_get(policy_id: int) -> dict[str, Any]:
    session = get_session()
    return _one(session, service.get_policy(session, policy_id))


@blueprint.route("/policies/<int:policy_id>", methods=["PATCH"])
@require_permission(MANAGE)
@blueprint.arguments(PolicyPatchSchema)
@blueprint.response(200, PolicySchema)
def policies_update(data: dict[str, Any], policy_id: int) -> dict[str, Any]:
    """Change ``title``, ``summary``, ``owner_id`` or ``active`` (false archives the policy)."""
    session = get_session()
    policy = service.update_policy(session, service.get_policy(session, policy_id), data)
    api_commit()
    return _one(session, policy)


@blueprint.route("/policies/<int:policy_id>", methods=["DELETE"])
@require_permission(MANAGE)
@blueprint.response(204)
def policies_delete(policy_id: int) -> None:
    """Delete a policy nobody acknowledged; one with acknowledgements is 409 (archive it instead)."""
    session = get_session()
    service.delete_policy(session, service.get_policy(session, policy_id))
    api_commit()


# --- versions ----------------------------------------------------------------------------------------


@blueprint.route("/policies/<int:policy_id>/versions", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, PolicyVersionPage)
def policies_versions_list(policy_id: int) -> dict[str, Any]:
    """Every version, newest first, with its sanitized ``html`` and ``status``."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    effective = service.effective_version(session, policy)
    return {
        "items": [_version(v, effective) for v in service.versions_of(session, policy)],
        "next_cursor": None,
    }


@blueprint.route("/policies/<int:policy_id>/versions", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(PolicyVersionCreateSchema)
@blueprint.response(201, PolicyVersionSchema)
def policies_versions_publish(data: dict[str, Any], policy_id: int) -> dict[str, Any]:
    """Publish the next version (1, 2, 3...): ``body``, ``format`` (markdown or html),
    ``effective_date`` (not before the previous version's), ``change_note``. Everyone assigned must
    acknowledge it once it is in effect."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    version = service.publish_version(session, policy, data)
    api_commit()
    return _version(version, service.effective_version(session, policy))


# --- assignments ---------------------------------------------------------------------------------------


@blueprint.route("/policies/<int:policy_id>/assignments", methods=["GET"])
@require_permission(VIEW)
@blueprint.response(200, PolicyAssignmentPage)
def policies_assignments_list(policy_id: int) -> dict[str, Any]:
    """The roles and users the policy is assigned to."""
    session = get_session()
    items = service.assignments_of(session, service.get_policy(session, policy_id))
    return {"items": [_assignment(item) for item in items], "next_cursor": None}


@blueprint.route("/policies/<int:policy_id>/assignments", methods=["POST"])
@require_permission(MANAGE)
@blueprint.arguments(PolicyAssignmentCreateSchema)
@blueprint.response(201, PolicyAssignmentSchema)
def policies_assignments_create(data: dict[str, Any], policy_id: int) -> dict[str, Any]:
    """Assign the policy to ``{"role": name}`` (everyone holding it) or ``{"user_id": n}``."""
    session = get_session()
    item = service.add_assignment(
        session, service.get_policy(session, policy_id), role=data.get("role"), user_id=data.get("user_id")
    )
    api_commit()
    return _assignment(item)


@blueprint.route("/policies/<int:policy_id>/assignments/<int:assignment_id>", methods=["DELETE"])
@require_permission(MANAGE)
@blueprint.response(204)
def policies_assignments_delete(policy_id: int, assignment_id: int) -> None:
    """Stop asking that role or user; acknowledgements already given stay."""
    session = get_session()
    policy = service.get_policy(session, policy_id)
    service.remove_assignment(session, service.get_assignment(session, policy, assignment_id))
    api_commit()


# --- acknowledgements ------------------------------------------------------------------------------------


def _mine(item: service.MyPolicy, user: Any) -> dict[str, Any]:
    return {
        "policy_id": item.policy.id,
        "policy": item.policy.title,
        "version_id": item.version.id if item.version else None,
        "version": item.version.version if item.version else None,
        "user_id": user.id,
        "user": service.user_label(user),
        "status": item.status,
        "acknowledged_at": item.acknowledged_at,
    }


@blueprint.route("/acknowledgements", methods=["GET"])
@any_user
@blueprint.arguments(PolicyAcknowledgementQuery, location="query")
@blueprint.response(200, PolicyAcknowledgementPage)
def policies_acknowledgements_list(args: dict[str, Any]) -> dict[str, Any]:
    """The policies assigned to me and whether I acknowledged the version in effect; with
    ``policy_id``, that policy's report: everyone assigned, acknowledged or pending."""
    session = get_session()
    status = args["status"]
    if args["policy_id"] is None:
        me = service.actor_user(session)
        items = [_mine(item, me) for item in service.my_policies(session)]
        return {"items": [i for i in items if status in (None, i["status"])], "next_cursor": None}
    policy = service.report_policy(session, args["policy_id"])
    report = service.acknowledgement_report(session, policy, status)
    version = report.version
    items = [
        {
            "policy_id": policy.id,
            "policy": policy.title,
            "version_id": version.id if version else None,
            "version": version.version if version else None,
            "user_id": row.user.id,
            "user": service.user_label(row.user),
            "status": row.status,
            "acknowledged_at": row.acknowledged_at,
        }
        for row in report.rows
    ]
    return {"items": items, "next_cursor": None}


@blueprint.route("/acknowledgements", methods=["POST"])
@any_user
@blueprint.arguments(PolicyAcknowledgementCreateSchema)
@blueprint.response(201, PolicyAcknowledgementSchema)
def policies_acknowledgements_create(data: dict[str, Any]) -> Any:
    """I acknowledge the version in effect of ``policy_id`` (assigned to me; else 403, or 404 for
    those who may not see policies). With ``version_id``, the version I read: 409 if another is in
    effect now. No version in effect, or an archived policy: 409. Again: 200, nothing changes."""
    session = get_session()
    _ack, created = service.acknowledge(session, data["policy_id"], data["version_id"])
    api_commit()
    item = service.my_policy(session, data["policy_id"])
    return _mine(item, service.actor_user(session)), 201 if created else 200
