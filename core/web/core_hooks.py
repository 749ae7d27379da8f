"""Core's own answers to the UI hooks: its menu, dashboard widgets, contact panel and search.

Registered with the plugin manager under the name ``core``; always on.
"""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from core.app import get_session
from core.context import company_id_of
from core.hookspecs import hookimpl
from core.models import Account, Contact, JournalEntry, JournalLine
from core.permissions import has_permission
from core.plugin_api import MenuItem, Panel, SearchResult, Widget
from core.services import contacts as contact_service
from core.services import ledger as ledger_service
from core.web import charts


@hookimpl
def officium_menu_items(user: Any) -> list[MenuItem]:
    return [
        MenuItem(_("Dashboard"), "core.dashboard", order=0),
        MenuItem(_("Contacts"), "core.contacts", permission="contacts.view", order=10),
        MenuItem(_("Journal entries"), "core.entries", permission="ledger.view", order=20, section="ledger"),
        MenuItem(_("Accounts"), "core.accounts", permission="ledger.view", order=21, section="ledger"),
        MenuItem(_("Journals"), "core.journals", permission="ledger.view", order=22, section="ledger"),
        MenuItem(
            _("Trial balance"), "core.trial_balance", permission="ledger.view", order=23, section="ledger"
        ),
        MenuItem(_("Apps"), "core.apps", permission="plugins.manage", order=900, section="settings"),
        MenuItem(_("Users"), "core.users", permission="users.manage", order=910, section="settings"),
        MenuItem(_("Roles"), "core.roles", permission="roles.manage", order=920, section="settings"),
    ]


@hookimpl
def officium_dashboard_widgets(user: Any) -> list[Widget]:
    session = get_session()
    company_id = company_id_of(session)
    widgets = []
    if has_permission(user, "ledger.view"):
        report = ledger_service.trial_balance(session)
        by_type: dict[str, Any] = {}
        for row in report.rows:
            sign = 1 if row.type in ("asset", "expense") else -1
            by_type[row.type] = by_type.get(row.type, 0) + sign * row.balance
        order = ["asset", "liability", "equity", "income", "expense"]
        labels = [_(t.capitalize()) for t in order]
        values = [by_type.get(t, 0) for t in order]
        widgets.append(
            Widget(
                _("Balances by account type"),
                str(charts.bar(labels, values, title=_("Balances by account type"))),
                order=10,
            )
        )
        posted = session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.company_id == company_id, JournalEntry.state != "draft")
        )
        drafts = session.scalar(
            select(func.count())
            .select_from(JournalEntry)
            .where(JournalEntry.company_id == company_id, JournalEntry.state == "draft")
        )
        widgets.append(
            Widget(
                _("Journal entries"),
                render_template(
                    "core/widget_counts.html",
                    counts=[(_("Posted"), posted), (_("Drafts"), drafts)],
                    link=url_for("core.entries"),
                ),
                order=20,
            )
        )
    if has_permission(user, "contacts.view"):
        kinds = dict(
            session.execute(
                select(Contact.kind, func.count())
                .where(Contact.company_id == company_id)
                .group_by(Contact.kind)
            ).all()
        )
        if kinds:
            labels = [_("People"), _("Organizations")]
            values = [kinds.get("person", 0), kinds.get("organization", 0)]
            widgets.append(
                Widget(_("Contacts"), str(charts.donut(labels, values, title=_("Contacts"))), order=30)
            )
    return widgets


@hookimpl
def officium_contact_panels(contact: Any, user: Any) -> list[Panel]:
    if not has_permission(user, "ledger.view"):
        return []
    session = get_session()
    balances = ledger_service.contact_balances(session, contact.id)
    lines = session.execute(
        select(
            JournalEntry.id,
            JournalEntry.number,
            JournalEntry.date,
            Account.code,
            JournalLine.debit,
            JournalLine.credit,
        )
        .join(JournalEntry, JournalEntry.id == JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .where(JournalLine.contact_id == contact.id, JournalEntry.state != "draft")
        .order_by(JournalEntry.date.desc(), JournalEntry.id.desc())
        .limit(10)
    ).all()
    return [
        Panel(
            _("Ledger"), render_template("core/panel_ledger.html", balances=balances, lines=lines), order=50
        )
    ]


@hookimpl
def officium_search(query: str, user: Any) -> list[SearchResult]:
    if not has_permission(user, "contacts.view"):
        return []
    return [
        SearchResult(
            title=c.name,
            url=url_for("core.contact_detail", contact_id=c.id),
            kind=_("Contact"),
            summary=c.email or "",
        )
        for c in contact_service.search_contacts(get_session(), query, limit=10)
    ]


@hookimpl
def officium_duty_actions() -> list[tuple[str, str]]:
    from core.services.duties import CORE_DUTY_ACTIONS

    return CORE_DUTY_ACTIONS


@hookimpl
def officium_personal_data(contact: Any, session: Any) -> dict[str, Any]:
    """The contact record (fields, tags, custom fields) and the ledger lines naming it."""
    from core.services import privacy

    return privacy.personal_data(session, contact)


@hookimpl
def officium_personal_data_retained(contact: Any, session: Any) -> list[str]:
    """Posted ledger lines naming the contact are bookkeeping records: they are kept."""
    from core.services import privacy

    return privacy.retained(session, contact)


@hookimpl(trylast=True)
def officium_erase_personal_data(contact: Any, session: Any, anonymize: bool) -> list[str]:
    """The contact itself, after every plugin erased its records (hence ``trylast``)."""
    from core.services import privacy

    if anonymize:
        return privacy.anonymize_contact(session, contact)
    return privacy.delete_contact(session, contact)
