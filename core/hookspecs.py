"""The contract between core and plugins: every hook Officium calls.

Always call hooks with keyword arguments; an implementation may accept a subset
of a hook's arguments, so a hook can gain arguments without breaking plugins.
Only enabled plugins are called. A hook implementation that raises is logged,
recorded against its plugin and skipped (set ``OFFICIUM_STRICT_PLUGINS=1`` to
re-raise while developing a plugin).

``officium hooks`` prints this reference; ``officium hooks --markdown`` writes docs/hooks.md.
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("officium")
hookimpl = pluggy.HookimplMarker("officium")


# --- Setup: what a plugin brings ------------------------------------------------------------


@hookspec
def officium_permissions() -> list[tuple[str, str]]:
    """Declare the permission codes the plugin defines.

    Called when permissions are listed (roles admin, ``officium roles``) and when
    the ``admin`` role is computed. Return a list of ``(code, description)``
    pairs; codes read ``plugin.object.action``, e.g. ``("accounting.entry.post",
    "Post journal entries")``. Results of all plugins are collected.
    """


@hookspec
def officium_blueprints() -> list[Any]:
    """Return the Flask blueprints (UI and API) the plugin mounts.

    Called once at application start for every installed plugin (Flask cannot
    add blueprints later); requests to a disabled plugin's blueprints answer
    404. Results of all plugins are collected.
    """


@hookspec
def officium_cli(cli: Any) -> None:
    """Add click commands to the ``officium`` command group.

    ``cli`` is the click group; call ``cli.add_command(...)``. Called once when
    the command line starts, for every installed plugin; a command of a
    disabled plugin refuses to run with a one-line message. Return value ignored.
    """


@hookspec
def officium_extensible_models() -> list[Any]:
    """Return the model classes that accept custom fields and automation rules.

    A model listed here must have a ``custom`` JSON column (use
    ``CustomFieldsMixin``). Results of all plugins are collected.
    """


# --- Lifecycle -------------------------------------------------------------------------------


@hookspec
def officium_plugin_enabled(session: Any) -> None:
    """Seed a plugin's data right after it is enabled (e.g. a chart of accounts).

    Called only for the plugin being enabled, inside the enabling transaction,
    after its migrations ran: if it raises, the whole enable is rolled back.
    Must be idempotent (a plugin can be disabled and enabled again).
    """


@hookspec
def officium_plugin_disabled(session: Any) -> None:
    """Tidy up when a plugin is disabled; its data stays.

    Called only for the plugin being disabled, inside the disabling transaction.
    """


# --- UI ----------------------------------------------------------------------------------------


@hookspec
def officium_menu_items(user: Any) -> list[Any]:
    """Return navigation entries (``MenuItem``) for ``user``.

    Called on each page render; filter by the user's permissions. Results of all
    plugins are collected and sorted by their ``order``.
    """


@hookspec
def officium_dashboard_widgets(user: Any) -> list[Any]:
    """Return dashboard cards and charts (``Widget``) for ``user``.

    Results of all plugins are collected and sorted by their ``order``.
    """


@hookspec
def officium_contact_panels(contact: Any, user: Any) -> list[Any]:
    """Return sections (``Panel``) for the shared contact page of ``contact``.

    E.g. deals, invoices or the employee file. Results are collected.
    """


@hookspec
def officium_record_panels(record: Any, user: Any) -> list[Any]:
    """Return sections (``Panel``) for the detail page of any ``record`` (a deal, an invoice...).

    Detail pages call ``{{ record_panels(record) }}`` in their template; the
    compliance plugin answers with the record's audit history. Only return what
    ``user`` may see. Results are collected and sorted by ``order``.
    """


@hookspec
def officium_search(query: str, user: Any) -> list[Any]:
    """Return global search results (``SearchResult``) for ``query``.

    Only return what ``user`` may see. Results of all plugins are collected.
    """


# --- Domain events -----------------------------------------------------------------------------


@hookspec
def officium_event(event: Any, session: Any) -> None:
    """React to a domain event (``contact.created``, ``entry.posted``, ...).

    Called after the transaction that emitted ``event`` committed, with a fresh
    ``session`` whose work is committed after all implementations ran. ``event``
    has ``name``, ``payload`` (JSON-able dict), ``company_id`` and ``actor_id``.
    """


@hookspec
def officium_entry_posted(entry: Any, session: Any) -> None:
    """A journal entry was posted; called inside the posting transaction.

    Raise to refuse the posting (the whole transaction rolls back).
    """


@hookspec
def officium_deal_won(deal: Any, session: Any) -> None:
    """A CRM deal was won; called inside the transaction that won it.

    ``deal`` has at least ``id``, ``title``, ``contact_id`` (the customer, a core
    contact) and ``expected_revenue`` (Decimal, company currency). Accounting
    answers by drafting an invoice for that customer and amount, once per deal.
    """


@hookspec
def officium_employee_hired(employee: Any, session: Any) -> None:
    """An employee was hired; called inside the hiring transaction.

    ``employee`` has at least ``id``, ``number``, ``contact_id`` (the person, a core
    contact), ``user_id`` (their login, or None), ``hire_date``, ``department_id``
    and ``company_id``. HR calls it for every new employee, whether entered
    directly or hired from an applicant. Raising aborts the hire.
    """


# --- Data --------------------------------------------------------------------------------------


@hookspec
def officium_contacts_merged(source_id: int, target_id: int, session: Any) -> None:
    """Move every reference to contact ``source_id`` onto ``target_id``.

    Called inside the merge transaction, before ``source_id`` is deleted: a
    plugin whose tables point at contacts must update them here.
    """


# --- Controls ----------------------------------------------------------------------------------


@hookspec
def officium_duty_actions() -> list[tuple[str, str]]:
    """Declare the actions that segregation-of-duties rules may name.

    Return ``(code, description)`` pairs, e.g. ``("accounting.invoice.post",
    "Post a customer invoice")``. A plugin declares each action its services
    check with ``check_duty``; core declares ``ledger.entry.post``. Results of
    all plugins are collected; a rule naming an undeclared action is refused.
    """


@hookspec
def officium_check_duty(check: Any, session: Any) -> list[str] | None:
    """Judge an action about to happen; return the reasons to refuse it (or nothing).

    ``check`` has ``code`` (a declared action), ``model`` and ``record_id`` (the
    record acted on, as the audit trail names it), ``amount`` (Decimal in the
    company currency, or None), ``user_id`` (None for the command line) and
    ``company_id``. Called by ``check_duty`` inside the action's transaction,
    before anything is changed; any reason refuses the action with a 403 that
    names it, and the refusal is written to the audit trail. The compliance
    plugin answers with its segregation-of-duties rules.
    """


# --- Personal data -----------------------------------------------------------------------------


@hookspec
def officium_personal_data(contact: Any, session: Any) -> dict[str, Any] | None:
    """Return everything the plugin holds about ``contact`` (a core contact), JSON-able.

    A dict of sections, e.g. ``{"crm_leads": [...], "crm_deals": [...]}``; amounts as
    decimal strings, dates ISO. The GDPR export gathers every enabled plugin's answer
    into one file.
    """


@hookspec
def officium_personal_data_retained(contact: Any, session: Any) -> list[str] | None:
    """Return why ``contact``'s records must be kept (legal retention), if they must.

    E.g. ``["3 posted invoices (bookkeeping records are kept 10 years)"]``. Any
    reason makes a request to delete the contact a 422 that offers anonymizing instead.
    """


@hookspec
def officium_erase_personal_data(contact: Any, session: Any, anonymize: bool) -> list[str] | None:
    """Erase what the plugin holds about ``contact``; return one line per thing done.

    With ``anonymize`` true, blank the personal fields (names, emails, phones,
    addresses, free-text notes about the person) and keep the records and their
    amounts; otherwise delete the plugin's records about the contact (only called
    when no plugin reported a retention). Called inside the erasure transaction,
    before core anonymizes or deletes the contact itself.
    """
