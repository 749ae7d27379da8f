"""Controls API: controls (``/controls``) and their tests (``/controls/<id>/tests``).

Reading needs ``compliance.view``; defining controls and recording tests need
``compliance.control.manage``. Tests are recorded as JSON without a file (evidence files are
uploaded through the control's page); a test's ``evidence`` links to its file when it has one.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from core.plugin_api import api_commit, api_sort, decode_cursor, get_session, require_permission

from ..models import Control, ControlTest
from ..schemas.controls import (
    ControlCreateSchema,
    ControlPage,
    ControlPatchSchema,
    ControlQuery,
    ControlSchema,
    ControlTestCreateSchema,
    ControlTestPage,
    ControlTestSchema,
)
from ..services import controls
from ..services.risks import user_names
from . import blueprint


def _dump_all(items: list[Control]) -> list[dict[str, Any]]:
    session = get_session()
    latest = controls.latest_tests(session, [c.id for c in items])
    names = user_names(session, [c.owner_id for c in items])
    result = []
    for control in items:
        last = latest.get(control.id)
        result.append(
            {
                "id": control.id,
                "reference": control.reference,
                "name": control.name,
                "description": control.description,
                "owner_id": control.owner_id,
                "owner_name": names.get(control.owner_id) if control.owner_id else None,
                "frequency": control.frequency,
                "next_test_date": control.next_test_date,
                "test_overdue": controls.is_test_overdue(control),
                "active": control.active,
                "risk_ids": sorted(r.id for r in control.risks),
                "last_result": last.result if last else None,
                "last_tested_on": last.tested_on if last else None,
                "created_at": control.created_at,
                "updated_at": control.updated_at,
            }
        )
    return result


def _dump(control: Control) -> dict[str, Any]:
    return _dump_all([control])[0]


def _test(test: ControlTest, names: dict[int, str] | None = None) -> dict[str, Any]:
    if names is None:
        names = user_names(get_session(), [test.tester_id])
    evidence = None
    if test.evidence_stored_name:
        evidence = {
            "filename": test.evidence_filename,
            "content_type": test.evidence_content_type,
            "size": test.evidence_size,
            "sha256": test.evidence_sha256,
            "url": url_for("compliance.control_test_evidence", test_id=test.id),
        }
    return {
        "id": test.id,
        "control_id": test.control_id,
        "tested_on": test.tested_on,
        "tester_id": test.tester_id,
        "tester_name": names.get(test.tester_id) if test.tester_id else None,
        "result": test.result,
        "evidence_note": test.evidence_note,
        "evidence": evidence,
        "created_at": test.created_at,
    }


@blueprint.route("/controls", methods=["GET"])
@require_permission("compliance.view")
@blueprint.arguments(ControlQuery, location="query")
@blueprint.response(200, ControlPage)
def controls_list(args: dict[str, Any]) -> dict[str, Any]:
    """Controls by keyset, by reference (``sort``: reference, name, next_test_date; ``-`` for
    descending). Filters: ``q`` (reference, name), ``owner_id``, ``frequency``, ``active``,
    ``overdue`` (active controls past their next test date), ``result`` (latest: pass, fail, untested)."""
    sort, descending = api_sort(args.pop("sort"), controls.CONTROL_SORTS, "reference")
    after = decode_cursor(args.pop("cursor"), column=controls.CONTROL_SORTS[sort])
    limit = args.pop("limit")
    page = controls.list_controls(
        get_session(), sort=sort, descending=descending, after=after, limit=limit, **args
    )
    return {"items": _dump_all(page.items), "next_cursor": page.next_cursor}


@blueprint.route("/controls", methods=["POST"])
@require_permission("compliance.control.manage")
@blueprint.arguments(ControlCreateSchema)
@blueprint.response(201, ControlSchema)
def controls_create(data: dict[str, Any]) -> dict[str, Any]:
    """Define a control: ``name``, ``frequency`` (quarterly by default), ``risk_ids`` it mitigates,
    ``owner_id``, ``next_test_date`` (one period from today by default)."""
    control = controls.create_control(get_session(), data)
    api_commit()
    return _dump(control)


@blueprint.route("/controls/<int:control_id>", methods=["GET"])
@require_permission("compliance.view")
@blueprint.response(200, ControlSchema)
def controls_get(control_id: int) -> dict[str, Any]:
    """A control with its linked risks and latest test result."""
    return _dump(controls.get_control(get_session(), control_id))


@blueprint.route("/controls/<int:control_id>", methods=["PATCH"])
@require_permission("compliance.control.manage")
@blueprint.arguments(ControlPatchSchema)
@blueprint.response(200, ControlSchema)
def controls_update(data: dict[str, Any], control_id: int) -> dict[str, Any]:
    """Change a control (``risk_ids`` replaces its risks; ``active`` false retires it)."""
    session = get_session()
    control = controls.update_control(session, controls.get_control(session, control_id), data)
    api_commit()
    return _dump(control)


@blueprint.route("/controls/<int:control_id>", methods=["DELETE"])
@require_permission("compliance.control.manage")
@blueprint.response(204)
def controls_delete(control_id: int) -> None:
    """Delete a control never tested; one with tests is 409 (deactivate it instead)."""
    session = get_session()
    controls.delete_control(session, controls.get_control(session, control_id))
    api_commit()


@blueprint.route("/controls/<int:control_id>/tests", methods=["GET"])
@require_permission("compliance.view")
@blueprint.response(200, ControlTestPage)
def control_tests_list(control_id: int) -> dict[str, Any]:
    """A control's test history, the latest first."""
    session = get_session()
    tests = controls.tests_of(session, controls.get_control(session, control_id))
    names = user_names(session, [t.tester_id for t in tests])
    return {"items": [_test(t, names) for t in tests], "next_cursor": None}


@blueprint.route("/controls/<int:control_id>/tests", methods=["POST"])
@require_permission("compliance.control.manage")
@blueprint.arguments(ControlTestCreateSchema)
@blueprint.response(201, ControlTestSchema)
def control_tests_create(data: dict[str, Any], control_id: int) -> dict[str, Any]:
    """Record a test: ``tested_on`` (not in the future), ``result`` pass or fail, ``tester_id``
    (the caller by default), ``evidence_note``. The next test date moves to the latest test date
    plus the control's frequency; an inactive control is 409."""
    session = get_session()
    test = controls.record_test(session, controls.get_control(session, control_id), data)
    api_commit()
    return _test(test)
