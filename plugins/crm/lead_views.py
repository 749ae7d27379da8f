"""CRM's lead pages: the list, the form, qualify and disqualify, CSV import, the public web-to-lead
form, and the stages settings. Registered on ``views.blueprint``; views only translate between HTTP
and ``services``."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from typing import Any

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.routing import BuildError

from core.plugin_api import (
    Company,
    Conflict,
    User,
    ValidationError,
    company_id_of,
    csv_response,
    decode_cursor,
    get_session,
    granting,
    public,
    require_permission,
    users,
)

from .models import LEAD_SOURCES, LEAD_STATUSES, STAGE_KINDS, Lead
from .services import leads as lead_service
from .services import pipeline as pipeline_service
from .views import blueprint

PAGE_SIZE = 50
LEAD_FIELDS = ("name", "company_name", "email", "phone", "source", "owner_id", "notes")
# The CSV travels back to the server in a form field on confirmation: it must stay under the
# size Flask accepts for one form field (500 KB), whatever the encoding.
MAX_IMPORT_BYTES = 400_000
DEFAULT_WEB_LEAD_LIMIT = "5 per minute"
SOURCE_LABELS = {
    "web": _l("Web"),
    "referral": _l("Referral"),
    "event": _l("Event"),
    "campaign": _l("Campaign"),
    "email": _l("Email"),
    "phone": _l("Phone"),
    "other": _l("Other"),
}
STATUS_LABELS = {
    "new": _l("New"),
    "contacted": _l("Contacted"),
    "qualified": _l("Qualified"),
    "disqualified": _l("Disqualified"),
}
KIND_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}


@blueprint.app_template_global("crm_lead_labels")
def crm_lead_labels() -> dict[str, Any]:
    return {"sources": SOURCE_LABELS, "statuses": STATUS_LABELS, "kinds": KIND_LABELS}


# --- shared by the pages --------------------------------------------------------------------------------


def _actor_can(code: str) -> bool:
    actor = g.get("officium_actor")
    return bool(actor is not None and actor.has_permission(code))


def _url_or_none(endpoint: str, **values: Any) -> str | None:
    """A URL of another CRM page that may not be there (written separately, or a plugin's absent)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _errors_of(exc: ValidationError | Conflict, default_field: str = "form") -> dict[str, list[str]]:
    return exc.fields or {default_field: [exc.message]}


def _owner_choices(session: Any, keep: Any = None) -> list[User]:
    """Active users, by name (and the one already chosen, even if inactive now)."""
    owners = users.company_users(session)
    if keep not in (None, "") and not any(str(u.id) == str(keep) for u in owners):
        text = str(keep)
        chosen = (
            session.get(User, int(text)) if text.isascii() and text.isdigit() and len(text) < 18 else None
        )
        if chosen is not None:
            owners.insert(0, chosen)
    return owners


# --- lead list ------------------------------------------------------------------------------------------


@blueprint.get("/leads")
@require_permission("crm.view")
def leads() -> Any:
    """Leads, filtered by status and text, newest first unless a header was clicked; CSV of every match."""
    session = get_session()
    sort = request.args.get("sort", "id")
    if sort not in lead_service.LEAD_SORTS:
        sort = "id"
    descending = request.args.get("dir", "desc") == "desc"
    status = request.args.get("status", "")
    filters = {
        "status": status if status in LEAD_STATUSES else "",
        "q": request.args.get("q", "").strip()[:200],
    }
    query = {"status": filters["status"] or None, "q": filters["q"] or None}
    if request.args.get("format") == "csv":
        return csv_response(
            "leads.csv",
            ["id", "name", "company_name", "email", "phone", "source", "status", "owner", "created_at"],
            _csv_leads(session, sort, descending, query),
        )
    try:
        after = decode_cursor(request.args.get("cursor"), column=lead_service.LEAD_SORTS[sort])
    except ValidationError:
        flash(_("That page link is no longer valid; showing the first page."), "error")
        after = None
    page = lead_service.list_leads(
        session, sort=sort, descending=descending, after=after, limit=PAGE_SIZE, **query
    )
    return render_template(
        "crm/leads.html", page=page, sort=sort, descending=descending, filters=filters, statuses=LEAD_STATUSES
    )


def _csv_leads(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = lead_service.list_leads(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for lead in page.items:
            yield [
                lead.id,
                lead.name,
                lead.company_name,
                lead.email or "",
                lead.phone,
                lead.source,
                lead.status,
                lead.owner.email if lead.owner else "",
                lead.created_at.isoformat() if lead.created_at else "",
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- lead form ------------------------------------------------------------------------------------------


def _render_form(lead: Lead | None, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    shown = (*LEAD_FIELDS, "status")
    return render_template(
        "crm/lead_form.html",
        lead=lead,
        data=data,
        errors=errors,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in shown],
        sources=LEAD_SOURCES,
        owners=_owner_choices(session, data.get("owner_id")),
    ), 422 if errors else 200


def _posted_lead(editing: bool) -> dict[str, Any]:
    data = {key: request.form.get(key, "").strip() for key in LEAD_FIELDS}
    if editing:
        data["status"] = request.form.get("status", "").strip()
    return data


@blueprint.route("/leads/new", methods=["GET", "POST"])
@require_permission("crm.lead.manage")
def lead_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = _posted_lead(editing=False)
        try:
            lead = lead_service.create_lead(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_form(None, data, _errors_of(exc))
        flash(_("Lead %(name)s created.", name=lead.name), "success")
        return redirect(url_for("crm.lead_detail", lead_id=lead.id))
    actor = g.get("officium_actor")
    data = {key: "" for key in LEAD_FIELDS}
    data.update(source="other", owner_id=str(actor.id) if actor is not None else "")
    return _render_form(None, data, {})


def _refuse_closed(lead: Lead) -> Any:
    if lead.status == "qualified":
        flash(_("This lead is qualified: it cannot be changed."), "error")
    else:
        flash(_("This lead is disqualified: it cannot be changed."), "error")
    return redirect(url_for("crm.lead_detail", lead_id=lead.id))


@blueprint.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@require_permission("crm.lead.manage")
def lead_edit(lead_id: int) -> Any:
    session = get_session()
    lead = lead_service.get_lead(session, lead_id)
    if lead.status in ("qualified", "disqualified"):
        return _refuse_closed(lead)
    if request.method == "POST":
        data = _posted_lead(editing=True)
        try:
            lead_service.update_lead(session, lead, data)
            session.commit()
        except Conflict:  # qualified or disqualified meanwhile
            session.rollback()
            return _refuse_closed(lead_service.get_lead(session, lead_id))
        except ValidationError as exc:
            session.rollback()
            return _render_form(lead_service.get_lead(session, lead_id), data, _errors_of(exc))
        flash(_("Lead saved."), "success")
        return redirect(url_for("crm.lead_detail", lead_id=lead_id))
    data = {
        "name": lead.name,
        "company_name": lead.company_name,
        "email": lead.email or "",
        "phone": lead.phone,
        "source": lead.source,
        "owner_id": str(lead.owner_id or ""),
        "notes": lead.notes,
        "status": lead.status,
    }
    return _render_form(lead, data, {})


# --- lead detail, disqualify ----------------------------------------------------------------------------


@blueprint.get("/leads/<int:lead_id>")
@require_permission("crm.view")
def lead_detail(lead_id: int) -> Any:
    return _render_detail(lead_service.get_lead(get_session(), lead_id))


def _render_detail(lead: Lead, errors: dict[str, list[str]] | None = None, reason: str = "") -> Any:
    # Activities are planned through the activity page's endpoint (it comes back here after).
    activity_url = _url_or_none("crm.activity_new") if _actor_can("crm.deal.manage") else None
    return render_template(
        "crm/lead_detail.html",
        lead=lead,
        errors=errors or {},
        reason=reason,
        deal_url=_url_or_none("crm.deal_detail", deal_id=lead.deal_id) if lead.deal_id else None,
        activity_url=activity_url,
        owners=_owner_choices(get_session()) if activity_url else [],
        can_manage=_actor_can("crm.lead.manage"),
    ), 422 if errors else 200


@blueprint.post("/leads/<int:lead_id>/disqualify")
@require_permission("crm.lead.manage")
def lead_disqualify(lead_id: int) -> Any:
    """Close a lead that will not buy; the reason is required."""
    session = get_session()
    lead = lead_service.get_lead(session, lead_id)
    reason = request.form.get("reason", "").strip()
    try:
        lead_service.disqualify_lead(session, lead, reason)
        session.commit()
    except Conflict:
        session.rollback()
        return _refuse_closed(lead_service.get_lead(session, lead_id))
    except ValidationError as exc:
        session.rollback()
        return _render_detail(lead_service.get_lead(session, lead_id), _errors_of(exc, "reason"), reason)
    flash(_("Lead disqualified."), "success")
    return redirect(url_for("crm.lead_detail", lead_id=lead_id))


# --- qualify --------------------------------------------------------------------------------------------

DEAL_FIELDS = ("title", "expected_revenue", "expected_close")


@blueprint.route("/leads/<int:lead_id>/qualify", methods=["GET", "POST"])
@require_permission("crm.lead.manage")
def lead_qualify(lead_id: int) -> Any:
    """Turn the lead into a contact (an email match is offered, never duplicated silently) and a deal."""
    session = get_session()
    lead = lead_service.get_lead(session, lead_id)
    if lead.status in ("qualified", "disqualified"):
        return _refuse_closed(lead)
    errors: dict[str, list[str]] = {}
    data = {
        "contact": "",
        "title": lead.company_name or lead.name,
        "expected_revenue": "",
        "expected_close": "",
    }
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in ("contact", *DEAL_FIELDS)}
        choice = data["contact"]
        deal = {key: data[key] for key in DEAL_FIELDS}
        deal["expected_revenue"] = deal["expected_revenue"] or "0"
        try:
            lead_service.qualify_lead(
                session,
                lead,
                contact_id=choice if choice not in ("", "new") else None,
                create_contact=choice == "new",
                deal=deal,
            )
            session.commit()
        except Conflict:
            session.rollback()
            return _refuse_closed(lead_service.get_lead(session, lead_id))
        except ValidationError as exc:
            session.rollback()
            errors = _errors_of(exc)
            lead = lead_service.get_lead(session, lead_id)
        else:
            flash(_("Lead qualified: the deal is open."), "success")
            return redirect(
                _url_or_none("crm.deal_detail", deal_id=lead.deal_id)
                or url_for("crm.lead_detail", lead_id=lead_id)
            )
    matches = lead_service.matching_contacts(session, lead)
    if not matches and not data["contact"]:
        data["contact"] = "new"
    shown = ("contact_id", *DEAL_FIELDS)
    return render_template(
        "crm/lead_qualify.html",
        lead=lead,
        matches=matches,
        data=data,
        errors=errors,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in shown],
    ), 422 if errors else 200


# --- CSV import -----------------------------------------------------------------------------------------


def _decoded(content: bytes | str) -> str:
    """The CSV as text, at most MAX_IMPORT_BYTES (raises a ValidationError on the ``file`` field)."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    if not raw.strip():
        raise ValidationError("empty file", fields={"file": [_("Choose a CSV file with a header row.")]})
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationError(
            "file too large",
            fields={"file": [_("is larger than %(size)d KB: split it", size=MAX_IMPORT_BYTES // 1000)]},
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("not UTF-8", fields={"file": [_("must be a UTF-8 CSV file")]}) from None


def _render_import(errors: dict[str, list[str]] | None = None) -> Any:
    return render_template(
        "crm/lead_import.html",
        stage="upload",
        errors=errors or {},
        columns=lead_service.IMPORT_COLUMNS,
        max_kb=MAX_IMPORT_BYTES // 1000,
    ), 422 if errors else 200


def _render_preview(content: str, preview: Any, errors: dict[str, list[str]] | None = None) -> Any:
    return render_template(
        "crm/lead_import.html",
        stage="preview",
        content=content,
        preview=preview,
        invalid=sorted(preview.errors.items()),
        errors=errors or {},
        columns=lead_service.IMPORT_COLUMNS,
    ), 422 if errors else 200


@blueprint.route("/leads/import", methods=["GET", "POST"])
@require_permission("crm.lead.manage")
def lead_import() -> Any:
    """Upload a CSV: the preview shows the valid rows and each invalid row's errors; nothing is stored."""
    if request.method == "GET":
        return _render_import()
    session = get_session()
    upload = request.files.get("file")
    try:
        content = _decoded(upload.read(MAX_IMPORT_BYTES + 1) if upload is not None else b"")
        preview = lead_service.preview_import(session, content)
    except ValidationError as exc:
        session.rollback()
        return _render_import(_errors_of(exc, "file"))
    session.rollback()  # a preview stores nothing
    return _render_preview(content, preview)


@blueprint.post("/leads/import/confirm")
@require_permission("crm.lead.manage")
def lead_import_confirm() -> Any:
    """Import what the preview showed: the valid rows, or every row when none was invalid.

    The file comes back from the preview page's form and is checked again here: what is stored
    is what this request validates, never what a page claims.
    """
    session = get_session()
    skip_invalid = request.form.get("mode") == "valid"
    try:
        content = _decoded(request.form.get("content", ""))
        leads = lead_service.import_leads(session, content, skip_invalid=skip_invalid)
        session.commit()
    except ValidationError as exc:
        session.rollback()
        if "file" in (exc.fields or {}):
            return _render_import(_errors_of(exc, "file"))
        try:
            preview = lead_service.preview_import(session, content)
        finally:
            session.rollback()
        return _render_preview(
            content, preview, {"form": [_("Nothing was imported: %(problem)s", problem=exc.message)]}
        )
    flash(_("%(count)d leads imported.", count=len(leads)), "success")
    return redirect(url_for("crm.leads"))


# --- web-to-lead (public) -------------------------------------------------------------------------------
#
# "Embedding" the form means linking to this page from the company's website (a button, a
# pop-up window): the page is served by this site, so its CSRF token is the site's own, issued
# in the visitor's session cookie and checked on POST like every form here. Framing it on
# another site is refused by the site-wide frame-ancestors policy, and the SameSite=Lax session
# cookie would not reach a third-party frame anyway.


def _web_lead_limiter() -> tuple[MovingWindowRateLimiter, Any]:
    """One moving-window limiter per app: Redis when ``OFFICIUM_REDIS_URL`` is set (every worker
    shares the counts), process memory otherwise; ``OFFICIUM_WEB_LEAD_LIMIT`` (default 5 per minute)."""
    limiter = current_app.extensions.get("crm_web_lead_limiter")
    if limiter is None:
        uri = current_app.config.get("OFFICIUM_REDIS_URL") or "memory://"
        limit = current_app.config.get("OFFICIUM_WEB_LEAD_LIMIT") or DEFAULT_WEB_LEAD_LIMIT
        limiter = (MovingWindowRateLimiter(storage_from_string(uri)), parse(limit))
        current_app.extensions["crm_web_lead_limiter"] = limiter
    return limiter


def _over_limit() -> int | None:
    """Seconds to wait when this IP sent too many forms, else None (this one is counted)."""
    limiter, limit = _web_lead_limiter()
    key = request.remote_addr or "-"
    if limiter.hit(limit, "officium-crm-web-lead", key):
        return None
    reset, _remaining = limiter.get_window_stats(limit, "officium-crm-web-lead", key)
    return max(1, math.ceil(reset - time.time()))


def _company_name(session: Any) -> str:
    company = session.get(Company, company_id_of(session))
    return company.name if company is not None else ""


def _render_web_lead(data: Mapping[str, Any], errors: dict[str, list[str]], status: int = 200) -> Any:
    session = get_session()
    return render_template(
        "crm/web_lead.html",
        company_name=_company_name(session),
        data=data,
        errors=errors,
        general_errors=[m for k, ms in errors.items() if k not in WEB_FIELDS for m in ms],
    ), (422 if errors and status == 200 else status)


WEB_FIELDS = ("name", "company_name", "email", "phone", "notes")


@blueprint.route("/web-lead", methods=["GET", "POST"])
@public
def web_lead() -> Any:
    """The public "contact us" form: a lead with source web; rate-limited per IP; a honeypot."""
    if request.method == "GET":
        return _render_web_lead({key: "" for key in WEB_FIELDS}, {})
    data = {key: request.form.get(key, "").strip() for key in WEB_FIELDS}
    wait = _over_limit()
    if wait is not None:
        response, status = _render_web_lead(
            data,
            {
                "form": [
                    _("Too many requests from your address: try again in %(seconds)d seconds.", seconds=wait)
                ]
            },
            429,
        )
        return response, status, {"Retry-After": str(wait)}
    session = get_session()
    try:
        # The honeypot ("website", hidden from people) makes the service store nothing for bots.
        lead = lead_service.web_lead(session, {**data, "website": request.form.get("website", "")})
        if lead is not None:
            session.commit()
    except ValidationError as exc:
        session.rollback()
        return _render_web_lead(data, _errors_of(exc))
    # Bots get the same answer as people: they learn nothing from it.
    return redirect(url_for("crm.web_lead_thanks"))


@blueprint.get("/web-lead/thanks")
@public
def web_lead_thanks() -> Any:
    return render_template("crm/web_lead_thanks.html", company_name=_company_name(get_session()))


# --- stages settings ------------------------------------------------------------------------------------

STAGE_FIELDS = ("name", "probability", "kind", "sequence")


@blueprint.get("/stages")
@require_permission("crm.settings")
def stages() -> Any:
    """The default pipeline's stages, in board order."""
    session = get_session()
    with granting(session, "crm.view"):  # configuring the stages implies reading them
        pipeline = pipeline_service.default_pipeline(session)
    return render_template("crm/stages.html", pipeline=pipeline)


def _render_stage_form(stage: Any, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    return render_template(
        "crm/stage_form.html",
        stage=stage,
        data=data,
        errors=errors,
        kinds=STAGE_KINDS,
        general_errors=[f"{k}: {'; '.join(m)}" for k, m in errors.items() if k not in STAGE_FIELDS],
    ), 422 if errors else 200


def _posted_stage() -> dict[str, str]:
    return {key: request.form.get(key, "").strip() for key in STAGE_FIELDS}


@blueprint.route("/stages/new", methods=["GET", "POST"])
@require_permission("crm.settings")
def stage_new() -> Any:
    session = get_session()
    if request.method == "POST":
        data = _posted_stage()
        values = {k: v for k, v in data.items() if k != "sequence" or v}  # blank: at the end
        try:
            with granting(session, "crm.view"):
                pipeline = pipeline_service.default_pipeline(session)
            stage = pipeline_service.create_stage(session, pipeline, **values)
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            return _render_stage_form(None, data, _errors_of(exc))
        flash(_("Stage %(name)s created.", name=stage.name), "success")
        return redirect(url_for("crm.stages"))
    return _render_stage_form(None, {"name": "", "probability": "10", "kind": "open", "sequence": ""}, {})


def _stage(session: Any, stage_id: int) -> Any:
    with granting(session, "crm.view"):
        return pipeline_service.get_stage(session, stage_id)


@blueprint.route("/stages/<int:stage_id>/edit", methods=["GET", "POST"])
@require_permission("crm.settings")
def stage_edit(stage_id: int) -> Any:
    session = get_session()
    stage = _stage(session, stage_id)
    if request.method == "POST":
        data = _posted_stage()
        try:
            pipeline_service.update_stage(session, stage, **data)
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            return _render_stage_form(_stage(session, stage_id), data, _errors_of(exc))
        flash(_("Stage %(name)s saved.", name=stage.name), "success")
        return redirect(url_for("crm.stages"))
    data = {
        "name": stage.name,
        "probability": str(stage.probability),
        "kind": stage.kind,
        "sequence": str(stage.sequence),
    }
    return _render_stage_form(stage, data, {})


@blueprint.post("/stages/<int:stage_id>/delete")
@require_permission("crm.settings")
def stage_delete(stage_id: int) -> Any:
    """Delete a stage; refused while deals are in it."""
    session = get_session()
    stage = _stage(session, stage_id)
    name = stage.name
    try:
        pipeline_service.delete_stage(session, stage)
        session.commit()
    except Conflict as exc:
        session.rollback()
        flash(_("Stage %(name)s was not deleted: %(problem)s", name=name, problem=exc.message), "error")
    else:
        flash(_("Stage %(name)s deleted.", name=name), "success")
    return redirect(url_for("crm.stages"))
