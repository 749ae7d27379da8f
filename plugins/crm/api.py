"""CRM's REST API under ``/api/v1/crm``: it only translates HTTP to ``services``.

Leads (qualify, disqualify, CSV import), deals and their moves through the
stages, the pipeline's stages, activities, quotes and the forecast. Amounts
travel as decimal strings; errors are core's ``{"error": {"code", "message",
"fields"}}`` (422 bad input, 409 wrong state, 404 unknown).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from core.plugin_api import (
    Contact,
    NotFound,
    User,
    ValidationError,
    actor_of,
    api_commit,
    api_page,
    api_sort,
    decode_cursor,
    get_session,
    require_permission,
    validation,
)

from .models import Activity, Deal, Lead, Quote, Stage
from .schemas import (
    ActivityCreateSchema,
    ActivityPage,
    ActivityQuery,
    ActivitySchema,
    DealCreateSchema,
    DealPage,
    DealPatchSchema,
    DealQuery,
    DealSchema,
    DisqualifyRequest,
    DoneRequest,
    ForecastQuery,
    ForecastSchema,
    LeadCreateSchema,
    LeadImportRequest,
    LeadImportSchema,
    LeadMatchPage,
    LeadPage,
    LeadPatchSchema,
    LeadQuery,
    LeadSchema,
    MoveRequest,
    QualifyRequest,
    QuoteCreateSchema,
    QuotePage,
    QuotePatchSchema,
    QuoteSchema,
    StagePage,
    StagePatchSchema,
    StageQuery,
    StageSchema,
)
from .services import activities, deals, forecast, leads, pipeline, quotes

blueprint = Blueprint("crm_api", __name__, url_prefix="/api/v1/crm", description="CRM")


def _name(user: User | None) -> str | None:
    return (user.name or user.email) if user is not None else None


# --- leads ----------------------------------------------------------------------------------------


def _lead(lead: Lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "name": lead.name,
        "company_name": lead.company_name,
        "email": lead.email,
        "phone": lead.phone,
        "source": lead.source,
        "status": lead.status,
        "owner_id": lead.owner_id,
        "owner_name": _name(lead.owner),
        "notes": lead.notes,
        "disqualify_reason": lead.disqualify_reason,
        "contact_id": lead.contact_id,
        "deal_id": lead.deal_id,
        "created_at": lead.created_at,
        "updated_at": lead.updated_at,
    }


@blueprint.route("/leads", methods=["GET"])
@blueprint.arguments(LeadQuery, location="query")
@blueprint.response(200, LeadPage)
@require_permission("crm.view")
def leads_list(args: dict[str, Any]) -> dict[str, Any]:
    """Leads by keyset, newest first (``sort``: id, name, created_at, status; ``-`` for descending);
    ``q`` matches the name, company and email; ``status`` and ``owner_id`` filter."""
    sort, descending = api_sort(args["sort"], leads.LEAD_SORTS, "id", newest_first=True)
    page = leads.list_leads(
        get_session(),
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=leads.LEAD_SORTS[sort]),
        limit=args["limit"],
        q=args["q"],
        status=args["status"],
        owner_id=args["owner_id"],
    )
    return api_page(page, _lead)


@blueprint.route("/leads", methods=["POST"])
@blueprint.arguments(LeadCreateSchema)
@blueprint.response(201, LeadSchema)
@require_permission("crm.lead.manage")
def leads_create(data: dict[str, Any]) -> dict[str, Any]:
    """Capture a lead (``source``: web, referral, event, campaign, email, phone, other)."""
    lead = leads.create_lead(get_session(), data)
    api_commit()
    return _lead(lead)


@blueprint.route("/leads/import", methods=["POST"])
@blueprint.arguments(LeadImportRequest)
@blueprint.response(200, LeadImportSchema)
@require_permission("crm.lead.manage")
def leads_import(data: dict[str, Any]) -> dict[str, Any]:
    """Import leads from CSV. ``"preview": true`` counts the valid rows and lists each bad row's
    errors, storing nothing. Otherwise a bad row refuses the whole file (422 naming ``rows.N.field``)
    unless ``"skip_invalid": true``, which imports exactly the valid rows the preview counted."""
    session = get_session()
    created: list[Lead] = []
    try:
        preview = leads.preview_import(session, data["csv"])
        if not data["preview"]:
            created = leads.import_leads(session, data["csv"], skip_invalid=data["skip_invalid"])
    except ValidationError as exc:  # the service speaks of a file; here the file is the "csv" field
        fields = {("csv" if key == "file" else key): messages for key, messages in exc.fields.items()}
        raise ValidationError(exc.message, fields=fields) from None
    if not data["preview"]:
        api_commit()
    return {
        "preview": data["preview"],
        "total": preview.total,
        "valid": len(preview.rows),
        "errors": [{"row": number, "fields_": errors} for number, errors in sorted(preview.errors.items())],
        "imported": len(created),
        "lead_ids": [lead.id for lead in created],
    }


@blueprint.route("/leads/<int:lead_id>", methods=["GET"])
@blueprint.response(200, LeadSchema)
@require_permission("crm.view")
def leads_get(lead_id: int) -> dict[str, Any]:
    return _lead(leads.get_lead(get_session(), lead_id))


@blueprint.route("/leads/<int:lead_id>", methods=["PATCH"])
@blueprint.arguments(LeadPatchSchema)
@blueprint.response(200, LeadSchema)
@require_permission("crm.lead.manage")
def leads_update(data: dict[str, Any], lead_id: int) -> dict[str, Any]:
    """Change an open lead; a qualified or disqualified one is 409."""
    session = get_session()
    lead = leads.update_lead(session, leads.get_lead(session, lead_id), data)
    api_commit()
    return _lead(lead)


@blueprint.route("/leads/<int:lead_id>/matches", methods=["GET"])
@blueprint.response(200, LeadMatchPage)
@require_permission("crm.view")
def leads_matches(lead_id: int) -> dict[str, Any]:
    """Contacts with the lead's email: link one when qualifying rather than create a duplicate."""
    session = get_session()
    matches = leads.matching_contacts(session, leads.get_lead(session, lead_id))
    return {
        "items": [
            {"id": c.id, "kind": c.kind, "name": c.name, "email": c.email, "phone": c.phone} for c in matches
        ],
        "next_cursor": None,
    }


@blueprint.route("/leads/<int:lead_id>/qualify", methods=["POST"])
@blueprint.arguments(QualifyRequest)
@blueprint.response(200, LeadSchema)
@require_permission("crm.lead.manage")
def leads_qualify(data: dict[str, Any], lead_id: int) -> dict[str, Any]:
    """Turn the lead into a contact (linked by ``contact_id`` or created) and a deal, at once.

    Returns the lead with its ``contact_id`` and ``deal_id``. The deal's field errors are named
    ``deal.<field>``."""
    session = get_session()
    lead = leads.get_lead(session, lead_id)
    try:
        leads.qualify_lead(
            session,
            lead,
            contact_id=data["contact_id"],
            create_contact=data["create_contact"],
            deal=data["deal"],
        )
    except ValidationError as exc:
        fields = {
            (key if key == "contact_id" else f"deal.{key}"): messages for key, messages in exc.fields.items()
        }
        raise ValidationError(exc.message, fields=fields) from None
    api_commit()
    return _lead(lead)


@blueprint.route("/leads/<int:lead_id>/disqualify", methods=["POST"])
@blueprint.arguments(DisqualifyRequest)
@blueprint.response(200, LeadSchema)
@require_permission("crm.lead.manage")
def leads_disqualify(data: dict[str, Any], lead_id: int) -> dict[str, Any]:
    """Close a lead that will not buy; ``reason`` is required."""
    session = get_session()
    lead = leads.disqualify_lead(session, leads.get_lead(session, lead_id), data["reason"])
    api_commit()
    return _lead(lead)


# --- stages ---------------------------------------------------------------------------------------


def _stage(stage: Stage) -> dict[str, Any]:
    return {
        "id": stage.id,
        "pipeline_id": stage.pipeline_id,
        "name": stage.name,
        "sequence": stage.sequence,
        "probability": stage.probability,
        "kind": stage.kind,
    }


@blueprint.route("/stages", methods=["GET"])
@blueprint.arguments(StageQuery, location="query")
@blueprint.response(200, StagePage)
@require_permission("crm.view")
def stages_list(args: dict[str, Any]) -> dict[str, Any]:
    """The stages of the default pipeline (or of ``pipeline_id``) in board order."""
    found = pipeline.get_pipeline(get_session(), args["pipeline_id"])
    return {
        "pipeline_id": found.id,
        "pipeline": found.name,
        "items": [_stage(stage) for stage in found.stages],
        "next_cursor": None,
    }


@blueprint.route("/stages", methods=["POST"])
@blueprint.arguments(StageSchema)
@blueprint.response(201, StageSchema)
@require_permission("crm.settings")
def stages_create(data: dict[str, Any]) -> dict[str, Any]:
    """Add a stage at the end of a pipeline (``kind``: open, won or lost; ``probability``: the
    default of deals moved there)."""
    session = get_session()
    pipeline_id = data.pop("pipeline_id", None)
    try:
        found = pipeline.get_pipeline(session, pipeline_id)
    except NotFound:
        raise ValidationError("unknown pipeline", fields={"pipeline_id": ["no such pipeline"]}) from None
    stage = pipeline.create_stage(session, found, **data)
    api_commit()
    return _stage(stage)


@blueprint.route("/stages/<int:stage_id>", methods=["PATCH"])
@blueprint.arguments(StagePatchSchema)
@blueprint.response(200, StageSchema)
@require_permission("crm.settings")
def stages_update(data: dict[str, Any], stage_id: int) -> dict[str, Any]:
    """Rename, reorder or re-weight a stage (deals already there keep their probability)."""
    session = get_session()
    stage = pipeline.update_stage(session, pipeline.get_stage(session, stage_id), **data)
    api_commit()
    return _stage(stage)


@blueprint.route("/stages/<int:stage_id>", methods=["DELETE"])
@blueprint.response(204)
@require_permission("crm.settings")
def stages_delete(stage_id: int) -> None:
    """Delete a stage no deal is in; one with deals is 409."""
    session = get_session()
    pipeline.delete_stage(session, pipeline.get_stage(session, stage_id))
    api_commit()


# --- deals ----------------------------------------------------------------------------------------


def _deal(deal: Deal) -> dict[str, Any]:
    return {
        "id": deal.id,
        "title": deal.title,
        "contact_id": deal.contact_id,
        "contact_name": deal.contact.name,
        "expected_revenue": deal.expected_revenue,
        "currency": deal.currency,
        "probability": deal.probability,
        "weighted_revenue": deal.weighted_revenue,
        "expected_close": deal.expected_close,
        "owner_id": deal.owner_id,
        "owner_name": _name(deal.owner),
        "pipeline_id": deal.pipeline_id,
        "stage_id": deal.stage_id,
        "stage": deal.stage.name,
        "state": deal.state,
        "lost_reason": deal.lost_reason,
        "closed_on": deal.closed_on,
        "created_at": deal.created_at,
        "updated_at": deal.updated_at,
    }


@blueprint.route("/deals", methods=["GET"])
@blueprint.arguments(DealQuery, location="query")
@blueprint.response(200, DealPage)
@require_permission("crm.view")
def deals_list(args: dict[str, Any]) -> dict[str, Any]:
    """Deals by keyset, newest first (``sort``: id, title, expected_revenue, expected_close,
    probability; ``-`` for descending); filters ``q``, ``state``, ``stage_id``, ``owner_id``,
    ``contact_id``."""
    sort, descending = api_sort(args["sort"], deals.DEAL_SORTS, "id", newest_first=True)
    page = deals.list_deals(
        get_session(),
        sort=sort,
        descending=descending,
        after=decode_cursor(args["cursor"], column=deals.DEAL_SORTS[sort]),
        limit=args["limit"],
        **{key: args[key] for key in ("q", "state", "stage_id", "owner_id", "contact_id")},
    )
    return api_page(page, _deal)


@blueprint.route("/deals", methods=["POST"])
@blueprint.arguments(DealCreateSchema)
@blueprint.response(201, DealSchema)
@require_permission("crm.deal.manage")
def deals_create(data: dict[str, Any]) -> dict[str, Any]:
    """Create a deal in the pipeline's first stage (or ``stage``); the probability defaults to the
    stage's. Created in a won stage, it is won at once (accounting drafts its invoice)."""
    deal = deals.create_deal(get_session(), data)
    api_commit()
    return _deal(deal)


@blueprint.route("/deals/<int:deal_id>", methods=["GET"])
@blueprint.response(200, DealSchema)
@require_permission("crm.view")
def deals_get(deal_id: int) -> dict[str, Any]:
    return _deal(deals.get_deal(get_session(), deal_id))


@blueprint.route("/deals/<int:deal_id>", methods=["PATCH"])
@blueprint.arguments(DealPatchSchema)
@blueprint.response(200, DealSchema)
@require_permission("crm.deal.manage")
def deals_update(data: dict[str, Any], deal_id: int) -> dict[str, Any]:
    """Change a deal; a new ``stage`` is a move (see ``POST /deals/{deal_id}/move``)."""
    session = get_session()
    deal = deals.update_deal(session, deals.get_deal(session, deal_id), data)
    api_commit()
    return _deal(deal)


@blueprint.route("/deals/<int:deal_id>", methods=["DELETE"])
@blueprint.response(204)
@require_permission("crm.deal.manage")
def deals_delete(deal_id: int) -> None:
    """Delete a deal with its quotes and activities."""
    session = get_session()
    deals.delete_deal(session, deals.get_deal(session, deal_id))
    api_commit()


@blueprint.route("/deals/<int:deal_id>/move", methods=["POST"])
@blueprint.arguments(MoveRequest)
@blueprint.response(200, DealSchema)
@require_permission("crm.deal.manage")
def deals_move(data: dict[str, Any], deal_id: int) -> dict[str, Any]:
    """Move a deal to a stage (id or name): its probability becomes the stage's; Lost needs
    ``lost_reason``; won or lost sets ``closed_on``; Won drafts an invoice when accounting is on."""
    session = get_session()
    deal = deals.move_deal(
        session, deals.get_deal(session, deal_id), data["stage"], lost_reason=data["lost_reason"]
    )
    api_commit()
    return _deal(deal)


# --- activities -----------------------------------------------------------------------------------


def _activity(activity: Activity) -> dict[str, Any]:
    return {
        "id": activity.id,
        "kind": activity.kind,
        "subject": activity.subject,
        "notes": activity.notes,
        "due_date": activity.due_date,
        "assignee_id": activity.assignee_id,
        "assignee_name": _name(activity.assignee),
        "deal_id": activity.deal_id,
        "lead_id": activity.lead_id,
        "contact_id": activity.contact_id,
        "done": activity.done,
        "done_at": activity.done_at,
        "overdue": activities.is_overdue(activity),
        "created_at": activity.created_at,
    }


@blueprint.route("/activities", methods=["GET"])
@blueprint.arguments(ActivityQuery, location="query")
@blueprint.response(200, ActivityPage)
@require_permission("crm.view")
def activities_list(args: dict[str, Any]) -> dict[str, Any]:
    """My open activities, oldest due first (``include_done`` adds the done ones), or the timeline
    of a deal (``deal_id``) or of a contact (``contact_id``, with its deals' and leads'), newest
    first."""
    session = get_session()
    chosen = [key for key in ("deal_id", "contact_id") if args[key] is not None]
    if len(chosen) + bool(args["mine"]) > 1 or (args["mine"] is False and not chosen):
        raise ValidationError(
            "choose whose activities", fields={"mine": ["give one of mine=true, deal_id or contact_id"]}
        )
    if args["deal_id"] is not None:
        items = activities.timeline(session, deal_id=deals.get_deal(session, args["deal_id"]).id)
    elif args["contact_id"] is not None:
        errors: dict[str, list[str]] = {}
        contact: Contact | None = validation.company_contact(
            session, args["contact_id"], "contact_id", errors
        )
        if contact is None:
            raise NotFound(f"contact {args['contact_id']} not found")
        items = activities.timeline(session, contact_id=contact.id)
    else:
        items = activities.my_activities(
            session, getattr(actor_of(session), "id", None), include_done=args["include_done"]
        )
    return {"items": [_activity(activity) for activity in items], "next_cursor": None}


@blueprint.route("/activities", methods=["POST"])
@blueprint.arguments(ActivityCreateSchema)
@blueprint.response(201, ActivitySchema)
@require_permission("crm.deal.manage")
def activities_create(data: dict[str, Any]) -> dict[str, Any]:
    """Plan a call, meeting, email or task on a deal, a lead or a contact, for its ``assignee_id``
    (the creator by default)."""
    activity = activities.create_activity(get_session(), data)
    api_commit()
    return _activity(activity)


@blueprint.route("/activities/<int:activity_id>", methods=["GET"])
@blueprint.response(200, ActivitySchema)
@require_permission("crm.view")
def activities_get(activity_id: int) -> dict[str, Any]:
    return _activity(activities.get_activity(get_session(), activity_id))


@blueprint.route("/activities/<int:activity_id>/done", methods=["POST"])
@blueprint.arguments(DoneRequest)
@blueprint.response(200, ActivitySchema)
@require_permission("crm.deal.manage")
def activities_done(data: dict[str, Any], activity_id: int) -> dict[str, Any]:
    """Mark an activity done (``notes``: what came of it); done already is 409."""
    session = get_session()
    activity = activities.complete_activity(
        session, activities.get_activity(session, activity_id), notes=data["notes"]
    )
    api_commit()
    return _activity(activity)


# --- quotes ---------------------------------------------------------------------------------------


def _quote(quote: Quote) -> dict[str, Any]:
    return {
        "id": quote.id,
        "deal_id": quote.deal_id,
        "deal_title": quote.deal.title,
        "deal_state": quote.deal.state,
        "number": quote.number,
        "state": quote.state,
        "date": quote.date,
        "valid_until": quote.valid_until,
        "notes": quote.notes,
        "currency": quote.currency,
        "subtotal": quote.subtotal,
        "discount_amount": quote.discount_amount,
        "total": quote.total,
        "lines": [
            {
                "id": line.id,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "discount": line.discount,
                "gross": line.gross,
                "total": line.total,
            }
            for line in quote.lines
        ],
    }


@blueprint.route("/deals/<int:deal_id>/quotes", methods=["GET"])
@blueprint.response(200, QuotePage)
@require_permission("crm.view")
def deal_quotes_list(deal_id: int) -> dict[str, Any]:
    """A deal's quotes, oldest first."""
    session = get_session()
    items = quotes.quotes_of(session, deals.get_deal(session, deal_id))
    return {"items": [_quote(quote) for quote in items], "next_cursor": None}


@blueprint.route("/deals/<int:deal_id>/quotes", methods=["POST"])
@blueprint.arguments(QuoteCreateSchema)
@blueprint.response(201, QuoteSchema)
@require_permission("crm.deal.manage")
def deal_quotes_create(data: dict[str, Any], deal_id: int) -> dict[str, Any]:
    """Draft a quote on an open deal (a won or lost one is 409), numbered ``QUO/<year>/0001``; each
    line's total is quantity x unit price less its ``discount`` percent, rounded to cents."""
    session = get_session()
    quote = quotes.create_quote(session, deals.get_deal(session, deal_id), data)
    api_commit()
    return _quote(quote)


@blueprint.route("/quotes/<int:quote_id>", methods=["GET"])
@blueprint.response(200, QuoteSchema)
@require_permission("crm.view")
def quotes_get(quote_id: int) -> dict[str, Any]:
    return _quote(quotes.get_quote(get_session(), quote_id))


@blueprint.route("/quotes/<int:quote_id>", methods=["PATCH"])
@blueprint.arguments(QuotePatchSchema)
@blueprint.response(200, QuoteSchema)
@require_permission("crm.deal.manage")
def quotes_update(data: dict[str, Any], quote_id: int) -> dict[str, Any]:
    """Change a draft (``lines`` replace them all); a sent, accepted or declined quote is 409."""
    session = get_session()
    quote = quotes.update_quote(session, quotes.get_quote(session, quote_id), data)
    api_commit()
    return _quote(quote)


@blueprint.route("/quotes/<int:quote_id>/send", methods=["POST"])
@blueprint.response(200, QuoteSchema)
@require_permission("crm.deal.manage")
def quotes_send(quote_id: int) -> dict[str, Any]:
    """Mark a draft quote sent to the customer."""
    session = get_session()
    quote = quotes.send_quote(session, quotes.get_quote(session, quote_id))
    api_commit()
    return _quote(quote)


@blueprint.route("/quotes/<int:quote_id>/accept", methods=["POST"])
@blueprint.response(200, QuoteSchema)
@require_permission("crm.deal.manage")
def quotes_accept(quote_id: int) -> dict[str, Any]:
    """The customer said yes: the deal takes the quote's total and is won (accounting, when
    enabled, drafts its invoice)."""
    session = get_session()
    quote = quotes.accept_quote(session, quotes.get_quote(session, quote_id))
    api_commit()
    return _quote(quote)


@blueprint.route("/quotes/<int:quote_id>/decline", methods=["POST"])
@blueprint.response(200, QuoteSchema)
@require_permission("crm.deal.manage")
def quotes_decline(quote_id: int) -> dict[str, Any]:
    """The customer said no; the deal stays where it is."""
    session = get_session()
    quote = quotes.decline_quote(session, quotes.get_quote(session, quote_id))
    api_commit()
    return _quote(quote)


# --- forecast -------------------------------------------------------------------------------------


def _rows(rows: list[Any]) -> list[dict[str, Any]]:
    return [{"label": r.label, "count": r.count, "revenue": r.revenue, "weighted": r.weighted} for r in rows]


@blueprint.route("/forecast", methods=["GET"])
@blueprint.arguments(ForecastQuery, location="query")
@blueprint.response(200, ForecastSchema)
@require_permission("crm.view")
def forecast_get(args: dict[str, Any]) -> dict[str, Any]:
    """Open deals' revenue and weighted revenue by expected close month and by owner, the default
    pipeline's funnel, and the deals won and lost (closed between ``date_from`` and ``date_to``, all
    time by default) with the win rate."""
    report = forecast.forecast(get_session(), date_from=args["date_from"], date_to=args["date_to"])
    return {
        "by_month": _rows(report.by_month),
        "by_owner": _rows(report.by_owner),
        "won": report.won,
        "lost": report.lost,
        "win_rate": report.win_rate,
        "won_revenue": report.won_revenue,
        "funnel": _rows(report.funnel),
    }
