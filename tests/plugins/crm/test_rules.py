"""Rules that keep deals, stages, quotes and imports honest when people push on them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.errors import Conflict, ValidationError
from core.services import companies
from core.testing import make_user
from plugins.crm.models import Lead, Quote
from plugins.crm.services import deals, leads, pipeline, quotes

pytestmark = pytest.mark.plugins("crm", "accounting")

LINE = {"description": "Licences", "quantity": "1", "unit_price": "500.00"}


def test_a_second_quote_cannot_be_accepted_once_the_deal_is_won(session, make_deal):
    from plugins.accounting.models import Invoice

    deal = make_deal(title="Two offers")
    first = quotes.create_quote(session, deal, {"lines": [LINE]})
    second = quotes.create_quote(session, deal, {"lines": [{**LINE, "unit_price": "900.00"}]})
    quotes.accept_quote(session, first)
    assert (deal.state, deal.expected_revenue, second.state) == ("won", Decimal("500.00"), "declined")
    with pytest.raises(Conflict) as refused:
        quotes.accept_quote(session, second)
    assert refused.value.fields == {"deal_id": ["is won"]}
    invoice = session.scalar(select(Invoice).where(Invoice.origin == f"crm.deal:{deal.id}"))
    assert invoice.total == deal.expected_revenue == Decimal("500.00")


def test_a_stage_with_deals_keeps_its_kind_and_a_pipeline_keeps_every_kind(session, stages, make_deal):
    make_deal(title="In proposal", stage=stages["Proposal"].id)
    with pytest.raises(Conflict) as refused:
        pipeline.update_stage(session, stages["Proposal"], kind="won")
    assert "kind" in refused.value.fields
    with pytest.raises(Conflict) as refused:
        pipeline.update_stage(session, stages["Won"], kind="open")
    assert refused.value.fields == {"kind": ["the pipeline would have no won stage"]}
    with pytest.raises(Conflict):
        pipeline.delete_stage(session, stages["Lost"])
    session.rollback()
    assert {s.kind for s in pipeline.default_pipeline(session).stages} == {"open", "won", "lost"}


def test_owners_are_users_of_the_company(ext, session, customer):
    session.close()
    stranger = make_user(ext, "stranger@other.example")
    with ext.db.transaction() as tx:
        other = companies.create_company(tx, name="Other Ltd", base_currency="EUR")
        from core.models import UserCompany

        tx.query(UserCompany).filter_by(user_id=stranger).update({"company_id": other.id})
    with pytest.raises(ValidationError) as refused:
        deals.create_deal(session, {"title": "X", "contact_id": customer, "owner_id": stranger})
    assert refused.value.fields == {"owner_id": ["no such user"]}
    session.rollback()


def test_an_unreadable_csv_is_a_field_error_not_a_crash(session):
    huge_cell = "name,notes\nAda," + "a" * 200_000 + "\n"
    with pytest.raises(ValidationError) as refused:
        leads.preview_import(session, huge_cell)
    assert "file" in refused.value.fields
    preview = leads.preview_import(session, "name,email\rAda,ada@example.org\rBob,bob@example.org\r")
    assert [row["name"] for row in preview.rows] == ["Ada", "Bob"]
    assert session.scalar(select(func.count()).select_from(Lead)) == 0


def test_more_quote_lines_than_allowed_are_refused_not_dropped(session, make_deal):
    deal = make_deal(title="Long")
    with pytest.raises(ValidationError) as refused:
        quotes.create_quote(session, deal, {"lines": [LINE] * 501})
    assert refused.value.fields == {"lines": ["at most 500 lines"]}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Quote)) == 0


def test_the_quote_form_survives_absurd_numbers(admin_client, session, make_deal):
    from core.testing import csrf_token

    deal_id = make_deal(title="Absurd").id
    session.close()
    form = f"/crm/deals/{deal_id}/quotes/new"
    response = admin_client.post(
        form,
        data={
            "csrf_token": csrf_token(admin_client, form),
            "line_description": "X",
            "line_quantity": "1e999999",
            "line_unit_price": "1e999999",
            "line_discount": "",
        },
    )
    assert response.status_code == 422


def test_my_activities_and_the_forecast_export_to_csv(admin_client, session, make_deal, stages):
    deal = make_deal(title="Export me", expected_revenue="2000.00", expected_close="2026-06-10")
    deals.move_deal(session, deal, stages["Proposal"].id)
    session.commit()
    session.close()
    forecast = admin_client.get("/crm/forecast?format=csv").get_data(as_text=True).splitlines()
    assert forecast[0] == "by,label,deals,revenue,weighted"
    assert "month,Jun 2026,1,2000.00,1000.00" in forecast
    assert "stage,Proposal,1,2000.00,1000.00" in forecast
    activities = admin_client.get("/crm/activities?format=csv")
    assert activities.mimetype == "text/csv"
    assert (
        activities.get_data(as_text=True).splitlines()[0]
        == "kind,subject,due_date,overdue,done,deal,lead,contact"
    )
