"""The hooks core offers for controls and personal data, answered by a plugin written here:
``officium_duty_actions`` and ``officium_check_duty`` (refusing an action, recorded though it rolls
back), ``officium_record_panels`` (a section on a detail page), and the personal-data hooks called
with each answer named by the plugin that gave it."""

from __future__ import annotations

import types

import pytest
from sqlalchemy import select

from core.context import set_company
from core.errors import DutyViolation, PluginError
from core.hookspecs import hookimpl
from core.models import AuditLog, Contact
from core.plugin_api import Panel, call_hook_by_plugin, check_duty, declared_actions
from core.plugins import PluginInfo
from core.services import contacts
from core.services.companies import first_company
from core.testing import ADMIN_EMAIL, login, make_user


def auditor_plugin() -> types.ModuleType:
    """Refuses "auditor.sign" to users other than the first (the command line may); adds a
    panel; holds notes about people."""
    module = types.ModuleType("auditor_plugin")
    module.__file__ = None
    module.PLUGIN = PluginInfo(name="auditor", title="Auditor", version="1.0.0")

    @hookimpl
    def officium_duty_actions():
        return [("auditor.sign", "Sign a contact off")]

    @hookimpl
    def officium_check_duty(check, session):
        if check.code == "auditor.sign" and check.user_id not in (None, 1):
            return [f"only the first user signs {check.label} off"]
        return None

    @hookimpl
    def officium_record_panels(record, user):
        if isinstance(record, Contact):
            return [Panel("Auditor's note", f"<p>checked {record.id}</p>", order=5)]
        return []

    @hookimpl
    def officium_personal_data(contact, session):
        return {"auditor_notes": [f"note about {contact.name}"]}

    @hookimpl
    def officium_personal_data_retained(contact, session):
        return ["kept for the auditors"]

    @hookimpl
    def officium_erase_personal_data(contact, session, anonymize):
        if contact.name == "Broken":
            raise RuntimeError("the notes store is down")
        return [f"notes {'blanked' if anonymize else 'deleted'}"]

    for name, value in list(locals().items()):
        if name.startswith("officium_"):
            setattr(module, name, value)
    return module


@pytest.fixture
def app(make_app, database_url):
    app = make_app(database_url, OFFICIUM_EXTRA_PLUGINS=[auditor_plugin()])
    ext = app.extensions["officium"]
    ext.plugins.enable(ext.db, ["auditor"])
    return app


def company_session(ext):
    session = ext.db.session()
    ext.plugins.refresh(session)
    set_company(session, first_company(session).id)
    return session


def test_a_plugins_duty_actions_are_declared_next_to_cores(ext):
    with company_session(ext) as session:
        actions = declared_actions(session)
    assert actions["auditor.sign"] == "Sign a contact off"
    assert "ledger.entry.post" in actions


def test_a_refused_action_raises_and_is_kept_in_the_trail_though_rolled_back(ext):
    make_user(ext, "first@example.com")
    second = make_user(ext, "second@example.com")
    with company_session(ext) as session:
        contact = contacts.create_contact(session, kind="person", name="Ada")
        session.commit()
        from core.context import set_actor
        from core.models import User

        set_actor(session, session.get(User, second))
        with pytest.raises(DutyViolation, match="only the first user signs Ada off"):
            check_duty(session, "auditor.sign", contact, label="Ada")
        session.rollback()
        [row] = session.scalars(select(AuditLog).where(AuditLog.action == "refused:auditor.sign")).all()
        assert row.user_id == second and row.record_id == str(contact.id)
        assert row.changes["reasons"] == ["only the first user signs Ada off"]


def test_an_allowed_action_is_recorded_as_performed(ext):
    with company_session(ext) as session:
        contact = contacts.create_contact(session, kind="person", name="Ada")
        check_duty(session, "auditor.sign", contact)  # the command line is never refused here
        session.commit()
        assert session.scalar(select(AuditLog.record_id).where(AuditLog.action == "auditor.sign")) == str(
            contact.id
        )


def test_the_contact_page_shows_a_plugins_record_panel(app, ext):
    make_user(ext, ADMIN_EMAIL, roles=("admin",))
    with company_session(ext) as session:
        contact = contacts.create_contact(session, kind="person", name="Ada")
        session.commit()
    client = app.test_client()
    login(client, ADMIN_EMAIL)
    html = client.get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert "Auditor&#39;s note" in html or "Auditor's note" in html
    assert f"checked {contact.id}" in html


def test_personal_data_answers_are_named_by_the_plugin_that_gave_them(ext):
    with company_session(ext) as session:
        contact = contacts.create_contact(session, kind="person", name="Ada", email="ada@example.com")
        data = call_hook_by_plugin(session, "officium_personal_data", contact=contact, session=session)
        kept = call_hook_by_plugin(
            session, "officium_personal_data_retained", contact=contact, session=session
        )
        done = call_hook_by_plugin(
            session, "officium_erase_personal_data", contact=contact, session=session, anonymize=True
        )
    assert data["auditor"] == {"auditor_notes": ["note about Ada"]}
    assert kept["auditor"] == ["kept for the auditors"]
    assert done["auditor"] == ["notes blanked"]


def test_an_unguarded_call_names_the_plugin_that_failed(ext):
    with company_session(ext) as session:
        contact = contacts.create_contact(session, kind="person", name="Broken")
        guarded = call_hook_by_plugin(
            session, "officium_erase_personal_data", contact=contact, session=session, anonymize=False
        )
        assert "auditor" not in guarded  # logged and skipped
        with pytest.raises(PluginError, match="auditor could not answer .*the notes store is down"):
            call_hook_by_plugin(
                session,
                "officium_erase_personal_data",
                unguarded=True,
                contact=contact,
                session=session,
                anonymize=False,
            )
