"""CRM's pages: the pipeline board, deals, activities, quotes, the forecast, the dashboard and contact panel.

Leads, their CSV import, the web-to-lead form and the stage settings are in
``lead_views``, on the same blueprint. Views only translate between HTTP and
``services``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import BuildError

from core.plugin_api import (
    Company,
    Conflict,
    Contact,
    NotFound,
    Panel,
    User,
    ValidationError,
    Widget,
    charts,
    company_id_of,
    csv_response,
    get_session,
    pages,
    require_permission,
    users,
    validation,
)

from .models import ACTIVITY_KINDS, Deal, Pipeline, Quote
from .services import activities as activity_service
from .services import deals as deal_service
from .services import forecast as forecast_service
from .services import leads as lead_service
from .services import pipeline as pipeline_service
from .services import quotes as quote_service

blueprint = Blueprint("crm", __name__, url_prefix="/crm", template_folder="templates")

# Plugin assets are served by a declared view: a blueprint ``static_folder`` would add an
# endpoint that declares no access (deny-by-default would make it admin-only).
ASSET_DIR = Path(__file__).parent / "static" / "crm"
ASSETS = frozenset({"crm.js", "crm.css", "print.css"})
PAGE_SIZE = 50
BLANK_LINES = 5  # empty line rows offered by the quote form (more with the JS "Add line")
DEAL_STATE_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}
ACTIVITY_KIND_LABELS = {
    "call": _l("Call"),
    "meeting": _l("Meeting"),
    "email": _l("Email"),
    "task": _l("Task"),
}
QUOTE_STATE_LABELS = {
    "draft": _l("Draft"),
    "sent": _l("Sent"),
    "accepted": _l("Accepted"),
    "declined": _l("Declined"),
}


@blueprint.app_template_global("crm_labels")
def crm_labels() -> dict[str, Any]:
    return {
        "deal_states": DEAL_STATE_LABELS,
        "activity_kinds": ACTIVITY_KIND_LABELS,
        "quote_states": QUOTE_STATE_LABELS,
        # Core's badge colours, so that a closed deal stands out on core's pages too.
        "deal_badges": {"open": "", "won": "state-posted", "lost": "status-broken"},
    }


@blueprint.app_template_global("crm_url_if_any")
def crm_url_if_any(endpoint: str, **values: Any) -> str | None:
    """A link to a page that may not exist (another plugin's, or one not built yet)."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


pages.serve_assets(blueprint, ASSET_DIR, ASSETS)

# Shared with every department's pages (core.plugin_api.pages).
_actor_can = pages.actor_can
_int_arg = pages.int_arg
_plain = pages.form_decimal
_cursor = pages.cursor_arg
_sort = pages.sort_args


def _flash_error(exc: ValidationError | Conflict) -> None:
    """The service's message, and each field message when there are several."""
    flash(exc.message, "error")
    if len(exc.fields or {}) > 1:
        for key, messages in exc.fields.items():
            flash(f"{key}: {'; '.join(messages)}", "error")


def _general_errors(errors: dict[str, list[str]], shown: Iterable[str]) -> list[str]:
    """Messages of fields the form does not show next to an input."""
    shown = set(shown)
    return [f"{key}: {'; '.join(messages)}" for key, messages in errors.items() if key not in shown]


def _company_contact(session: Any, contact_id: int | None) -> Contact | None:
    if contact_id is None:
        return None
    contact = session.get(Contact, contact_id)
    return contact if contact is not None and contact.company_id == company_id_of(session) else None


def _contact_choices(session: Any, keep: Any = None) -> list[Contact]:
    return pages.contact_choices(session, keep)


def _user_choices(session: Any) -> list[User]:
    """Active users of the company, the people a deal or an activity can be given to."""
    return users.company_users(session, limit=500)


def _company(session: Any) -> Company:
    return session.get(Company, company_id_of(session))


# --- the pipeline board ---------------------------------------------------------------------------------


@blueprint.get("/")
@blueprint.get("/pipeline")
@require_permission("crm.view")
def board() -> Any:
    """A column per stage of a pipeline, its deals as cards; cards move by drag and drop or a form."""
    session = get_session()
    pipeline = pipeline_service.get_pipeline(session, request.args.get("pipeline_id") or None)
    return _render_board(pipeline, _int_arg(request.args.get("owner_id")))


def _render_board(
    pipeline: Pipeline,
    owner_id: int | None = None,
    move_errors: dict[int, dict[str, list[str]]] | None = None,
    move_data: dict[int, dict[str, str]] | None = None,
) -> Any:
    session = get_session()
    columns = pipeline_service.board(session, pipeline, owner_id=owner_id)
    open_columns = [c for c in columns if c.stage.kind == "open"]
    return render_template(
        "crm/board.html",
        pipeline=pipeline,
        pipelines=pipeline_service.list_pipelines(session),
        columns=columns,
        open_total=sum((c.total for c in open_columns), Decimal("0.00")),
        open_weighted=sum((c.weighted for c in open_columns), Decimal("0.00")),
        open_count=sum(c.count for c in open_columns),
        users=_user_choices(session),
        owner_id=owner_id,
        currency=_company(session).base_currency,
        can_manage=_actor_can("crm.deal.manage"),
        move_errors=move_errors or {},
        move_data=move_data or {},
    ), 422 if move_errors else 200


def _wants_json() -> bool:
    """The board's script asks for JSON; a plain form post gets a page."""
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@blueprint.post("/deals/<int:deal_id>/move")
@require_permission("crm.deal.manage")
def deal_move(deal_id: int) -> Any:
    """Move a deal to another stage (``stage``; ``lost_reason`` for Lost): the board's drag and drop
    (which asks for JSON) and the no-JavaScript forms of the board and the deal page post here."""
    session = get_session()
    deal = deal_service.get_deal(session, deal_id)
    back = request.form.get("next", "board")
    data = {key: request.form.get(key, "").strip() for key in ("stage", "lost_reason")}
    try:
        deal_service.move_deal(session, deal, data["stage"], lost_reason=data["lost_reason"])
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        fields = exc.fields or {"stage": [exc.message]}
        if _wants_json():
            return jsonify(
                {"error": {"code": exc.code, "message": exc.message, "fields": fields}}
            ), exc.status
        deal = deal_service.get_deal(session, deal_id)
        if back == "detail":
            return _render_deal(deal, move_errors=fields, move_data=data)
        return _render_board(deal.pipeline, move_errors={deal.id: fields}, move_data={deal.id: data})
    flash(_("“%(title)s” moved to %(stage)s.", title=deal.title, stage=deal.stage.name), "success")
    if _wants_json():
        return jsonify(
            {"id": deal.id, "stage_id": deal.stage_id, "stage": deal.stage.name, "state": deal.state}
        )
    if back == "detail":
        return redirect(url_for("crm.deal_detail", deal_id=deal.id))
    return redirect(url_for("crm.board", pipeline_id=deal.pipeline_id))


# --- deal list ------------------------------------------------------------------------------------------


@blueprint.get("/deals")
@require_permission("crm.view")
def deals() -> Any:
    """Every deal, filtered by state, stage, owner and text; keyset pages; CSV export."""
    session = get_session()
    sort, descending = _sort(deal_service.DEAL_SORTS, "id")
    pipelines = pipeline_service.list_pipelines(session)
    stage_ids = {stage.id for p in pipelines for stage in p.stages}
    state = request.args.get("state", "")
    stage_id = _int_arg(request.args.get("stage_id"))
    owner_id = _int_arg(request.args.get("owner_id"))
    contact = _company_contact(session, _int_arg(request.args.get("contact_id")))
    filters = {
        "state": state if state in deal_service.STATES else "",
        "stage_id": stage_id if stage_id in stage_ids else None,
        "owner_id": owner_id,
        "q": request.args.get("q", "").strip()[:200],
        "contact": contact,
    }
    query = {
        "state": filters["state"] or None,
        "stage_id": _or_nothing(filters["stage_id"], "stage_id"),
        "owner_id": _or_nothing(owner_id, "owner_id"),
        "contact_id": _or_nothing(contact.id if contact else None, "contact_id"),
        "q": filters["q"] or None,
    }
    if request.args.get("format") == "csv":
        return csv_response(
            "deals.csv",
            [
                "id",
                "title",
                "customer",
                "pipeline",
                "stage",
                "state",
                "expected_revenue",
                "probability",
                "weighted_revenue",
                "currency",
                "expected_close",
                "owner",
                "closed_on",
                "lost_reason",
            ],
            _csv_deals(session, sort, descending, query),
        )
    page = deal_service.list_deals(
        session,
        sort=sort,
        descending=descending,
        after=_cursor(deal_service.DEAL_SORTS[sort]),
        limit=PAGE_SIZE,
        **query,
    )
    return render_template(
        "crm/deals.html",
        page=page,
        sort=sort,
        descending=descending,
        filters=filters,
        pipelines=pipelines,
        users=_user_choices(session),
        filtered=any(request.args.get(key) for key in ("q", "state", "stage_id", "owner_id", "contact_id")),
        can_manage=_actor_can("crm.deal.manage"),
    )


def _or_nothing(value: int | None, arg: str) -> int | None:
    """A filter's id; an unknown one (given but not found) matches nothing rather than everything."""
    if value is not None:
        return value
    return -1 if request.args.get(arg) else None


def _csv_deals(session: Any, sort: str, descending: bool, query: dict[str, Any]) -> Iterator[list[Any]]:
    after = None
    while True:
        page = deal_service.list_deals(
            session, sort=sort, descending=descending, after=after, limit=500, **query
        )
        for d in page.items:
            yield [
                d.id,
                d.title,
                d.contact.name,
                d.pipeline.name,
                d.stage.name,
                d.state,
                d.expected_revenue,
                d.probability,
                d.weighted_revenue,
                d.currency,
                d.expected_close.isoformat() if d.expected_close else "",
                (d.owner.name or d.owner.email) if d.owner else "",
                d.closed_on.isoformat() if d.closed_on else "",
                d.lost_reason,
            ]
        if page.next_after is None:
            return
        after = page.next_after


# --- deal form ------------------------------------------------------------------------------------------

DEAL_FIELDS = (
    "title",
    "contact_id",
    "expected_revenue",
    "probability",
    "expected_close",
    "owner_id",
    "stage",
    "lost_reason",
)


def _render_deal_form(deal: Deal | None, data: dict[str, Any], errors: dict[str, list[str]]) -> Any:
    session = get_session()
    return render_template(
        "crm/deal_form.html",
        deal=deal,
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, (*DEAL_FIELDS, "pipeline_id")),
        contacts=_contact_choices(session, data.get("contact_id")),
        users=_user_choices(session),
        pipelines=[deal.pipeline] if deal else pipeline_service.list_pipelines(session),
    ), 422 if errors else 200


@blueprint.route("/deals/new", methods=["GET", "POST"])
@require_permission("crm.deal.manage")
def deal_new() -> Any:
    """A new deal (``?contact_id=`` preselects the customer, e.g. from the contact page)."""
    session = get_session()
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in (*DEAL_FIELDS, "pipeline_id")}
        try:
            deal = deal_service.create_deal(session, data)
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_deal_form(None, data, exc.fields or {"form": [exc.message]})
        flash(_("Deal “%(title)s” created.", title=deal.title), "success")
        return redirect(url_for("crm.deal_detail", deal_id=deal.id))
    pipeline = pipeline_service.get_pipeline(session, request.args.get("pipeline_id") or None)
    data = {key: "" for key in DEAL_FIELDS}
    data.update(
        contact_id=request.args.get("contact_id", ""),
        owner_id=str(g.officium_actor.id),
        pipeline_id=str(pipeline.id),
        stage=str(pipeline.stages[0].id) if pipeline.stages else "",
    )
    return _render_deal_form(None, data, {})


@blueprint.route("/deals/<int:deal_id>/edit", methods=["GET", "POST"])
@require_permission("crm.deal.manage")
def deal_edit(deal_id: int) -> Any:
    session = get_session()
    deal = deal_service.get_deal(session, deal_id)
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in DEAL_FIELDS}
        try:
            deal_service.update_deal(session, deal, data)
            session.commit()
        except (ValidationError, Conflict) as exc:
            session.rollback()
            return _render_deal_form(
                deal_service.get_deal(session, deal_id), data, exc.fields or {"form": [exc.message]}
            )
        flash(_("Deal saved."), "success")
        return redirect(url_for("crm.deal_detail", deal_id=deal.id))
    data = {
        "title": deal.title,
        "contact_id": str(deal.contact_id),
        "expected_revenue": _plain(deal.expected_revenue),
        "probability": str(deal.probability),
        "expected_close": deal.expected_close.isoformat() if deal.expected_close else "",
        "owner_id": str(deal.owner_id or ""),
        "stage": str(deal.stage_id),
        "lost_reason": deal.lost_reason,
    }
    return _render_deal_form(deal, data, {})


# --- deal page ------------------------------------------------------------------------------------------


@blueprint.get("/deals/<int:deal_id>")
@require_permission("crm.view")
def deal_detail(deal_id: int) -> Any:
    """A deal: its figures, a stage move form, its activities, and its quotes."""
    return _render_deal(deal_service.get_deal(get_session(), deal_id))


ACTIVITY_FIELDS = ("kind", "subject", "due_date", "assignee_id", "notes")


def _render_deal(
    deal: Deal,
    *,
    move_errors: dict[str, list[str]] | None = None,
    move_data: dict[str, str] | None = None,
    activity_errors: dict[str, list[str]] | None = None,
    activity_data: dict[str, str] | None = None,
) -> Any:
    session = get_session()
    errors = {**(move_errors or {}), **(activity_errors or {})}
    return render_template(
        "crm/deal_detail.html",
        deal=deal,
        timeline=activity_service.timeline(session, deal_id=deal.id),
        quotes=quote_service.quotes_of(session, deal),
        users=_user_choices(session),
        kinds=ACTIVITY_KINDS,
        today=dt.date.today(),
        is_overdue=activity_service.is_overdue,
        can_manage=_actor_can("crm.deal.manage"),
        move_errors=move_errors or {},
        move_data=move_data or {"stage": str(deal.stage_id), "lost_reason": ""},
        activity_errors=activity_errors or {},
        activity_general=_general_errors(activity_errors or {}, ACTIVITY_FIELDS),
        activity_data=activity_data or _blank_activity(),
    ), 422 if errors else 200


def _blank_activity() -> dict[str, str]:
    return {
        "kind": "call",
        "subject": "",
        "due_date": "",
        "assignee_id": str(g.officium_actor.id),
        "notes": "",
    }


# --- activities -----------------------------------------------------------------------------------------

TARGETS = ("deal_id", "lead_id", "contact_id")


def _activity_target(session: Any, data: dict[str, str]) -> tuple[str, Any] | None:
    """What the activity is planned on, for the page's heading (the service checks it again)."""
    try:
        if _int_arg(data.get("deal_id")):
            return "deal", deal_service.get_deal(session, data["deal_id"])
        if _int_arg(data.get("lead_id")):
            return "lead", lead_service.get_lead(session, data["lead_id"])
    except NotFound:  # the service reports it as a field error
        return None
    contact = _company_contact(session, _int_arg(data.get("contact_id")))
    return ("contact", contact) if contact else None


def _after_activity(data: dict[str, str], back: str) -> str:
    if back == "activities":
        return url_for("crm.my_activities")
    if _int_arg(data.get("deal_id")):
        return url_for("crm.deal_detail", deal_id=int(data["deal_id"]))
    if _int_arg(data.get("lead_id")):
        lead_url = crm_url_if_any("crm.lead_detail", lead_id=int(data["lead_id"]))
        if lead_url:
            return lead_url
    if _int_arg(data.get("contact_id")):
        return url_for("core.contact_detail", contact_id=int(data["contact_id"]))
    return url_for("crm.my_activities")


@blueprint.route("/activities/new", methods=["GET", "POST"])
@require_permission("crm.deal.manage")
def activity_new() -> Any:
    """Plan a call, meeting, email or task on a deal, a lead or a contact (``deal_id``, ``lead_id``
    or ``contact_id``); the deal page, the lead page and the contact panel post here."""
    session = get_session()
    back = request.values.get("next", "")
    if request.method == "POST":
        data = {key: request.form.get(key, "").strip() for key in (*ACTIVITY_FIELDS, *TARGETS)}
        try:
            activity = activity_service.create_activity(
                session, {key: value for key, value in data.items() if key in ACTIVITY_FIELDS or value}
            )
            session.commit()
        except ValidationError as exc:
            session.rollback()
            errors = exc.fields or {"form": [exc.message]}
            target = _activity_target(session, data)
            if back == "deal" and target and target[0] == "deal":
                return _render_deal(
                    target[1],
                    activity_errors=errors,
                    activity_data={key: data[key] for key in ACTIVITY_FIELDS},
                )
            return _render_activity_form(data, errors, back)
        flash(_("Activity “%(subject)s” planned.", subject=activity.subject), "success")
        return redirect(_after_activity(data, back))
    data = {**_blank_activity(), **{key: request.args.get(key, "") for key in TARGETS}}
    return _render_activity_form(data, {}, back)


def _render_activity_form(data: dict[str, str], errors: dict[str, list[str]], back: str) -> Any:
    session = get_session()
    return render_template(
        "crm/activity_form.html",
        data=data,
        errors=errors,
        general_errors=_general_errors(errors, ACTIVITY_FIELDS),
        target=_activity_target(session, data),
        users=_user_choices(session),
        kinds=ACTIVITY_KINDS,
        back=back,
        cancel_url=_after_activity(data, back),
    ), 422 if errors else 200


@blueprint.post("/activities/<int:activity_id>/done")
@require_permission("crm.deal.manage")
def activity_done(activity_id: int) -> Any:
    """Mark an activity done (optionally with ``notes`` on what came of it)."""
    session = get_session()
    activity = activity_service.get_activity(session, activity_id)
    targets = {
        "deal_id": str(activity.deal_id or ""),
        "lead_id": str(activity.lead_id or ""),
        "contact_id": str(activity.contact_id or ""),
    }
    back = request.form.get("next", "activities")
    notes = request.form.get("notes", "").strip()
    try:
        activity_service.complete_activity(session, activity, notes=notes or None)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        flash(_("Done: %(subject)s.", subject=activity.subject), "success")
    if back == "deal" and targets["deal_id"]:
        return redirect(url_for("crm.deal_detail", deal_id=int(targets["deal_id"])))
    if back == "lead" and targets["lead_id"]:
        return redirect(_after_activity({"lead_id": targets["lead_id"]}, ""))
    if back == "contact" and targets["contact_id"]:
        return redirect(url_for("core.contact_detail", contact_id=int(targets["contact_id"])))
    return redirect(url_for("crm.my_activities"))


@blueprint.get("/activities")
@require_permission("crm.view")
def my_activities() -> Any:
    """The current user's activities, the oldest due first, the overdue ones highlighted."""
    session = get_session()
    include_done = request.args.get("done") == "1"
    activities = activity_service.my_activities(session, g.officium_actor.id, include_done=include_done)
    today = dt.date.today()
    if request.args.get("format") == "csv":
        return csv_response(
            "my-activities.csv",
            ["kind", "subject", "due_date", "overdue", "done", "deal", "lead", "contact"],
            (
                [
                    a.kind,
                    a.subject,
                    a.due_date,
                    activity_service.is_overdue(a, today),
                    a.done,
                    a.deal.title if a.deal else "",
                    a.lead.name if a.lead else "",
                    a.contact.name if a.contact else "",
                ]
                for a in activities
            ),
        )
    return render_template(
        "crm/activities.html",
        activities=activities,
        include_done=include_done,
        overdue_count=sum(1 for a in activities if activity_service.is_overdue(a, today)),
        today=today,
        is_overdue=activity_service.is_overdue,
        can_manage=_actor_can("crm.deal.manage"),
    )


# --- quotes ---------------------------------------------------------------------------------------------

LINE_FIELDS = ("description", "quantity", "unit_price", "discount")
QUOTE_FIELDS = ("date", "valid_until", "notes")


def _form_lines() -> list[dict[str, str]]:
    """The filled line rows of the posted form (a row with no description, quantity or price is blank)."""
    columns = {name: request.form.getlist(f"line_{name}") for name in LINE_FIELDS}
    rows = []
    for index in range(max(len(values) for values in columns.values())):
        row = {name: values[index].strip() if index < len(values) else "" for name, values in columns.items()}
        if row["description"] or row["quantity"] or row["unit_price"]:
            rows.append(row)
    return rows


def _quote_payload(data: dict[str, Any]) -> dict[str, Any]:
    lines = []
    for row in data["lines"]:
        line = {
            "description": row["description"],
            "unit_price": row["unit_price"],
            "discount": row["discount"],
        }
        if row["quantity"]:  # blank: the service's default of 1
            line["quantity"] = row["quantity"]
        lines.append(line)
    return {**{key: data[key] for key in QUOTE_FIELDS if key in data}, "lines": lines}


def _preview(rows: list[dict[str, str]]) -> tuple[list[Decimal | None], dict[str, Decimal] | None]:
    """Each row's amount and the totals, computed the service's way, as far as the rows parse."""
    amounts: list[Decimal | None] = []
    subtotal = total = Decimal("0.00")
    complete = True
    for row in rows:
        try:
            quantity = Decimal(row["quantity"] or "1")
            price = Decimal(row["unit_price"])
            discount = Decimal(row["discount"] or "0")
            if not (quantity.is_finite() and price.is_finite() and discount.is_finite()):
                raise InvalidOperation
            gross, amount = quote_service.line_amounts(quantity, price, discount)
        except (ArithmeticError, ValueError):  # InvalidOperation and Overflow are ArithmeticErrors
            amounts.append(None)
            complete = False
            continue
        amounts.append(amount)
        subtotal += gross
        total += amount
    if not rows or not complete:
        return amounts, None
    return amounts, {"subtotal": subtotal, "discount": subtotal - total, "total": total}


def _blank_line() -> dict[str, str]:
    return {name: "" for name in LINE_FIELDS}


def _render_quote_form(
    deal: Deal, quote: Quote | None, data: dict[str, Any], errors: dict[str, list[str]]
) -> Any:
    filled = list(data["lines"])
    amounts, totals = _preview(filled)
    rows = filled + [_blank_line() for _ in range(max(BLANK_LINES - len(filled), 2))]
    shown = (*QUOTE_FIELDS, "lines")
    general = [
        f"{key}: {'; '.join(messages)}"
        for key, messages in errors.items()
        if key not in shown and not re.fullmatch(r"lines\.\d+\.\w+", key)
    ]
    return render_template(
        "crm/quote_form.html",
        deal=deal,
        quote=quote,
        data={**data, "lines": rows},
        amounts=amounts,
        totals=totals,
        errors=errors,
        general_errors=general,
    ), 422 if errors else 200


def _posted_quote() -> dict[str, Any]:
    data: dict[str, Any] = {key: request.form.get(key, "").strip() for key in QUOTE_FIELDS}
    data["lines"] = _form_lines()
    return data


@blueprint.route("/deals/<int:deal_id>/quotes/new", methods=["GET", "POST"])
@require_permission("crm.deal.manage")
def quote_new(deal_id: int) -> Any:
    """A draft quote on an open deal: lines with quantity, unit price and discount %."""
    session = get_session()
    deal = deal_service.get_deal(session, deal_id)
    if deal.state != "open":
        flash(
            _("The deal is %(state)s: it takes no new quote.", state=DEAL_STATE_LABELS[deal.state]), "error"
        )
        return redirect(url_for("crm.deal_detail", deal_id=deal.id))
    if request.method == "POST":
        data = _posted_quote()
        try:
            quote = quote_service.create_quote(session, deal, _quote_payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            return _render_quote_form(
                deal_service.get_deal(session, deal_id), None, data, exc.fields or {"form": [exc.message]}
            )
        except Conflict as exc:
            session.rollback()
            _flash_error(exc)
            return redirect(url_for("crm.deal_detail", deal_id=deal_id))
        flash(_("Quote %(number)s saved as a draft.", number=quote.number), "success")
        return redirect(url_for("crm.quote_detail", quote_id=quote.id))
    data = {"date": dt.date.today().isoformat(), "valid_until": "", "notes": "", "lines": []}
    return _render_quote_form(deal, None, data, {})


@blueprint.route("/quotes/<int:quote_id>/edit", methods=["GET", "POST"])
@require_permission("crm.deal.manage")
def quote_edit(quote_id: int) -> Any:
    session = get_session()
    quote = quote_service.get_quote(session, quote_id)
    if request.method == "POST":
        data = _posted_quote()
        data["date"] = quote.date.isoformat()  # the number's year comes from it: fixed once numbered
        try:
            quote_service.update_quote(session, quote, _quote_payload(data))
            session.commit()
        except ValidationError as exc:
            session.rollback()
            quote = quote_service.get_quote(session, quote_id)
            return _render_quote_form(quote.deal, quote, data, exc.fields or {"form": [exc.message]})
        except Conflict as exc:
            session.rollback()
            _flash_error(exc)
            return redirect(url_for("crm.quote_detail", quote_id=quote_id))
        flash(_("Quote %(number)s saved.", number=quote.number), "success")
        return redirect(url_for("crm.quote_detail", quote_id=quote.id))
    if quote.state != "draft":
        flash(
            _("Quote %(number)s is %(state)s and cannot be changed.", number=quote.number,
              state=QUOTE_STATE_LABELS[quote.state]),
            "error",
        )  # fmt: skip
        return redirect(url_for("crm.quote_detail", quote_id=quote.id))
    data = {
        "date": quote.date.isoformat(),
        "valid_until": quote.valid_until.isoformat() if quote.valid_until else "",
        "notes": quote.notes,
        "lines": [
            {
                "description": line.description,
                "quantity": _plain(line.quantity, 0),
                "unit_price": _plain(line.unit_price),
                "discount": _plain(line.discount, 0),
            }
            for line in quote.lines
        ],
    }
    return _render_quote_form(quote.deal, quote, data, {})


@blueprint.get("/quotes/<int:quote_id>")
@require_permission("crm.view")
def quote_detail(quote_id: int) -> Any:
    """A quote: its lines and totals, and Send / Accept / Decline."""
    quote = quote_service.get_quote(get_session(), quote_id)
    return render_template("crm/quote_detail.html", quote=quote, can_manage=_actor_can("crm.deal.manage"))


@blueprint.post("/quotes/<int:quote_id>/<any(send, accept, decline):action>")
@require_permission("crm.deal.manage")
def quote_action(quote_id: int, action: str) -> Any:
    """Send a draft; the customer accepts (the deal is won) or declines a draft or sent quote."""
    session = get_session()
    quote = quote_service.get_quote(session, quote_id)
    change = {
        "send": quote_service.send_quote,
        "accept": quote_service.accept_quote,
        "decline": quote_service.decline_quote,
    }[action]
    try:
        change(session, quote)
        session.commit()
    except (ValidationError, Conflict) as exc:
        session.rollback()
        _flash_error(exc)
    else:
        messages = {
            "send": _("Quote %(number)s marked as sent.", number=quote.number),
            "accept": _(
                "Quote %(number)s accepted: the deal is won at %(total)s.",
                number=quote.number,
                total=format_decimal(quote.total, format="#,##0.00"),
            ),
            "decline": _("Quote %(number)s declined.", number=quote.number),
        }
        flash(messages[action], "success")
    return redirect(url_for("crm.quote_detail", quote_id=quote_id))


@blueprint.get("/quotes/<int:quote_id>/print")
@require_permission("crm.view")
def quote_print(quote_id: int) -> Any:
    """The quote on its own page, laid out for paper (the browser's Print command)."""
    session = get_session()
    quote = quote_service.get_quote(session, quote_id)
    return render_template("crm/quote_print.html", quote=quote, company=_company(session))


# --- forecast -------------------------------------------------------------------------------------------


@blueprint.get("/forecast")
@require_permission("crm.view")
def forecast() -> Any:
    """Weighted pipeline by month and by owner; won and lost deals (in a period) for the win rate."""
    session = get_session()
    errors: dict[str, list[str]] = {}
    data = {key: request.args.get(key, "").strip() for key in ("date_from", "date_to")}
    date_from = validation.parse_date(data["date_from"], "date_from", errors, required=False)
    date_to = validation.parse_date(data["date_to"], "date_to", errors, required=False)
    if date_from and date_to and date_to < date_from:
        errors["date_to"] = [_("must not be before the start date")]
    if errors:
        date_from = date_to = None
    result = forecast_service.forecast(session, date_from=date_from, date_to=date_to)
    if request.args.get("format") == "csv":
        rows = [["month", r.label, r.count, r.revenue, r.weighted] for r in result.by_month]
        rows += [["owner", r.label, r.count, r.revenue, r.weighted] for r in result.by_owner]
        rows += [["stage", r.label, r.count, r.revenue, r.weighted] for r in result.funnel]
        return csv_response("forecast.csv", ["by", "label", "deals", "revenue", "weighted"], rows)
    return render_template(
        "crm/forecast.html",
        forecast=result,
        data=data,
        errors=errors,
        currency=_company(session).base_currency,
        month_chart=_month_chart(result),
        funnel_chart=_funnel_chart(result),
        month_totals=_totals(result.by_month),
        owner_totals=_totals(result.by_owner),
    ), 422 if errors else 200


def _totals(rows: list[Any]) -> dict[str, Any]:
    return {
        "count": sum(r.count for r in rows),
        "revenue": sum((r.revenue for r in rows), Decimal("0.00")),
        "weighted": sum((r.weighted for r in rows), Decimal("0.00")),
    }


def _funnel_chart(result: Any) -> Any:
    return charts.bar(
        [row.label for row in result.funnel], [row.count for row in result.funnel], title=_("Sales funnel")
    )


def _month_chart(result: Any) -> Any:
    return charts.bar(
        [row.label for row in result.by_month],
        [row.weighted for row in result.by_month],
        title=_("Revenue forecast (weighted)"),
    )


# --- dashboard and contact page ----------------------------------------------------------------------


def dashboard_widgets() -> list[Widget]:
    """A funnel chart (deals per stage) and a revenue forecast chart (weighted revenue by month)."""
    session = get_session()
    result = forecast_service.forecast(session)
    currency = _company(session).base_currency
    return [
        Widget(
            _("Sales funnel"),
            render_template("crm/widget_funnel.html", chart=_funnel_chart(result), forecast=result),
            order=20,
        ),
        Widget(
            _("Revenue forecast (weighted)"),
            render_template(
                "crm/widget_forecast.html",
                chart=_month_chart(result),
                forecast=result,
                totals=_totals(result.by_month),
                currency=currency,
            ),
            order=21,
        ),
    ]


def contact_panel(contact: Any) -> Panel:
    """The contact's deals, open activities and last interaction (the most recent done activity)."""
    session = get_session()
    deals = list(
        session.scalars(
            deal_service.deals_query(session, contact_id=contact.id).order_by(Deal.id.desc()).limit(20)
        )
    )
    activities = activity_service.timeline(session, contact_id=contact.id, limit=500)
    todo = sorted(
        (a for a in activities if not a.done),
        key=lambda a: (a.due_date is None, a.due_date or dt.date.min, a.id),
    )
    done = [a for a in activities if a.done]
    last = max(done, key=lambda a: (a.done_at.timestamp() if a.done_at else 0.0, a.id), default=None)
    return Panel(
        _("Sales"),
        render_template(
            "crm/contact_panel.html",
            contact=contact,
            deals=deals,
            todo=todo,
            last=last,
            today=dt.date.today(),
            is_overdue=activity_service.is_overdue,
            can_manage=_actor_can("crm.deal.manage"),
        ),
        order=20,
    )


from . import lead_views  # noqa: E402,F401 - registers its routes on ``blueprint``
