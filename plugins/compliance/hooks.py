"""Compliance's hook implementations: what it brings to the platform."""

from __future__ import annotations

from typing import Any

from core.plugin_api import MenuItem, Panel, SearchResult, Widget, has_permission, hookimpl

from .models import Risk

PERMISSIONS = [
    ("compliance.view", "See the risk register, controls, policies, period locks and the heat map"),
    ("compliance.audit.view", "Browse and export the audit trail; see any record's history"),
    ("compliance.policy.manage", "Write, publish and assign policies; see acknowledgement reports"),
    ("compliance.risk.manage", "Add, assess and review risks"),
    ("compliance.control.manage", "Define controls and record control tests"),
    ("compliance.sod.manage", "Configure segregation-of-duties rules"),
    ("compliance.gdpr", "Export, anonymize or delete a person's data on request"),
]


@hookimpl
def officium_permissions() -> list[tuple[str, str]]:
    return PERMISSIONS


@hookimpl
def officium_blueprints() -> list[Any]:
    from .api import blueprint as api_blueprint
    from .views import blueprint

    return [blueprint, api_blueprint]


@hookimpl
def officium_extensible_models() -> list[Any]:
    return [Risk]


@hookimpl
def officium_plugin_enabled(session: Any) -> None:
    """The "Compliance officer" role and example segregation-of-duties rules (inactive)."""
    from .services.setup import install_defaults

    install_defaults(session)


@hookimpl
def officium_menu_items(user: Any) -> list[MenuItem]:
    entries = [
        ("Audit log", "compliance.audit_log", "compliance.audit.view"),
        ("Risk register", "compliance.risks", "compliance.view"),
        ("Controls", "compliance.controls", "compliance.view"),
        ("Policies", "compliance.policies", "compliance.view"),
        ("My policies", "compliance.my_policies", None),
        ("Segregation of duties", "compliance.sod_rules", "compliance.sod.manage"),
        ("Period locks", "compliance.period_locks", "compliance.view"),
        ("GDPR requests", "compliance.gdpr_requests", "compliance.gdpr"),
    ]
    return [
        MenuItem(label, endpoint, permission, order=60 + index, section="Compliance")
        for index, (label, endpoint, permission) in enumerate(entries)
    ]


@hookimpl
def officium_dashboard_widgets(user: Any) -> list[Widget]:
    from .views import dashboard_widgets

    return dashboard_widgets(user)


@hookimpl
def officium_contact_panels(contact: Any, user: Any) -> list[Panel]:
    if not has_permission(user, "compliance.gdpr"):
        return []
    from .views.gdpr import contact_panel

    panel = contact_panel(contact, user)
    return [panel] if panel is not None else []


@hookimpl
def officium_record_panels(record: Any, user: Any) -> list[Panel]:
    if not has_permission(user, "compliance.audit.view"):
        return []
    from .views.audit import history_panel

    panel = history_panel(record, user)
    return [panel] if panel is not None else []


@hookimpl
def officium_search(query: str, user: Any) -> list[SearchResult]:
    if not has_permission(user, "compliance.view") or len(query) < 2:
        return []
    from .views import search_results

    return search_results(query, user)


@hookimpl
def officium_check_duty(check: Any, session: Any) -> list[str]:
    """Apply the company's active segregation-of-duties rules for ``check.code``."""
    from .services.sod import judge

    return judge(check, session)


@hookimpl
def officium_personal_data(contact: Any, session: Any) -> dict[str, Any]:
    """The GDPR requests made about the contact (they are part of what is held about them)."""
    from .services.gdpr import personal_data

    return personal_data(contact, session)


@hookimpl
def officium_contacts_merged(source_id: int, target_id: int, session: Any) -> None:
    from .services.gdpr import contacts_merged

    contacts_merged(source_id, target_id, session)
