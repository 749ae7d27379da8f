"""CRM's hook implementations: what it brings to the platform."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from core.plugin_api import (
    MenuItem,
    Panel,
    SearchResult,
    Widget,
    company_id_of,
    get_session,
    has_permission,
    hookimpl,
)

from .models import Activity, Deal, Lead

PERMISSIONS = [
    ("crm.view", "See leads, deals, the pipeline, activities, quotes and the forecast"),
    ("crm.lead.manage", "Create, import, qualify and disqualify leads"),
    ("crm.deal.manage", "Create and move deals; plan activities; make quotes"),
    ("crm.settings", "Configure pipelines and stages"),
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
def officium_cli(cli: Any) -> None:
    from .cli import crm

    cli.add_command(crm)


@hookimpl
def officium_extensible_models() -> list[Any]:
    return [Lead, Deal]


@hookimpl
def officium_plugin_enabled(session: Any) -> None:
    """The default pipeline (New, Qualified, Proposal, Negotiation, Won, Lost) and a Salesperson role."""
    from .services.pipeline import install_defaults

    install_defaults(session)


@hookimpl
def officium_menu_items(user: Any) -> list[MenuItem]:
    return [
        MenuItem("Pipeline", "crm.board", "crm.view", order=20, section="CRM"),
        MenuItem("Leads", "crm.leads", "crm.view", order=21, section="CRM"),
        MenuItem("Deals", "crm.deals", "crm.view", order=22, section="CRM"),
        MenuItem("My activities", "crm.my_activities", "crm.view", order=23, section="CRM"),
        MenuItem("Forecast", "crm.forecast", "crm.view", order=24, section="CRM"),
        MenuItem("Stages", "crm.stages", "crm.settings", order=25, section="CRM"),
    ]


@hookimpl
def officium_dashboard_widgets(user: Any) -> list[Widget]:
    if not has_permission(user, "crm.view"):
        return []
    from .views import dashboard_widgets

    return dashboard_widgets()


@hookimpl
def officium_contact_panels(contact: Any, user: Any) -> list[Panel]:
    if not has_permission(user, "crm.view"):
        return []
    from .views import contact_panel

    return [contact_panel(contact)]


@hookimpl
def officium_search(query: str, user: Any) -> list[SearchResult]:
    if not has_permission(user, "crm.view") or len(query) < 2:
        return []
    from flask import url_for

    session = get_session()
    pattern = f"%{query.lower()}%"
    company_id = company_id_of(session)
    deals = session.scalars(
        select(Deal).where(Deal.company_id == company_id, func.lower(Deal.title).like(pattern)).limit(10)
    ).all()
    leads = session.scalars(
        select(Lead)
        .where(
            Lead.company_id == company_id,
            func.lower(Lead.name).like(pattern) | func.lower(Lead.company_name).like(pattern),
        )
        .limit(10)
    ).all()
    return [
        SearchResult(
            title=deal.title,
            url=url_for("crm.deal_detail", deal_id=deal.id),
            kind="Deal",
            summary=f"{deal.contact.name} · {deal.expected_revenue} {deal.currency} · {deal.stage.name}",
        )
        for deal in deals
    ] + [
        SearchResult(
            title=lead.name,
            url=url_for("crm.lead_detail", lead_id=lead.id),
            kind="Lead",
            summary=f"{lead.company_name} · {lead.status}",
        )
        for lead in leads
    ]


@hookimpl
def officium_contacts_merged(source_id: int, target_id: int, session: Any) -> None:
    for model in (Deal, Lead, Activity):
        session.execute(
            update(model)
            .where(model.contact_id == source_id)
            .values(contact_id=target_id)
            .execution_options(synchronize_session=False)
        )


@hookimpl
def officium_personal_data(contact: Any, session: Any) -> dict[str, Any]:
    """The contact's leads (linked or by email), deals, activities and quotes."""
    from .privacy import personal_data

    return personal_data(session, contact)


@hookimpl
def officium_erase_personal_data(contact: Any, session: Any, anonymize: bool) -> list[str]:
    """Blank the contact's leads and activity notes, or delete its CRM records."""
    from .privacy import erase

    return erase(session, contact, anonymize=anonymize)
