"""The sales forecast: weighted pipeline by month and by owner, win rate, funnel — SQL sums."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, func, select, type_coerce
from sqlalchemy.orm import Session

from core.plugin_api import User, company_id_of, require_permission, validation

from ..models import Deal, Stage

CENT = Decimal("0.01")


def _money(units: int | None, divisor: int = 100) -> Decimal:
    return (Decimal(units or 0) / divisor).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class ForecastRow:
    label: str
    count: int
    revenue: Decimal  # expected revenue of the open deals
    weighted: Decimal  # revenue x probability


@dataclass
class Forecast:
    by_month: list[ForecastRow]  # open deals by expected close month; "No date" last
    by_owner: list[ForecastRow]
    won: int
    lost: int
    won_revenue: Decimal
    funnel: list[ForecastRow]  # every stage of the default pipeline, in order, with its deals

    @property
    def win_rate(self) -> Decimal | None:
        """Won / (won + lost) deals, in percent, or None before any deal closed."""
        closed = self.won + self.lost
        return (
            (Decimal(self.won * 100) / closed).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            if closed
            else None
        )


@require_permission("crm.view")
def forecast(
    session: Session, *, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Forecast:
    """Open deals' revenue and weighted revenue (revenue x probability / 100) by expected close month
    and by owner; won and lost deals closed in the period (all time by default) for the win rate."""
    errors: dict[str, list[str]] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        if value is not None:
            validation.parse_date(value, name, errors)
    validation.raise_if(errors, "invalid period")
    company_id = company_id_of(session)
    units = type_coerce(Deal.expected_revenue, BigInteger)
    open_deals = [Deal.company_id == company_id, Stage.kind == "open"]
    sums = (func.count(), func.sum(units), func.sum(units * Deal.probability))
    months: dict[tuple[int, int] | None, list[int]] = {}
    rows = session.execute(
        select(Deal.expected_close, *sums).join(Stage, Stage.id == Deal.stage_id).where(*open_deals)
        .group_by(Deal.expected_close)
    )  # fmt: skip
    for close, count, revenue, weighted in rows:
        key = (close.year, close.month) if close else None
        bucket = months.setdefault(key, [0, 0, 0])
        bucket[0] += count
        bucket[1] += revenue or 0
        bucket[2] += weighted or 0
    by_month = [
        ForecastRow(dt.date(key[0], key[1], 1).strftime("%b %Y") if key else "No date",
                    c, _money(r), _money(w, 10_000))
        for key, (c, r, w) in sorted(months.items(), key=lambda item: (item[0] is None, item[0] or (0, 0)))
    ]  # fmt: skip
    owners = session.execute(
        select(func.coalesce(func.nullif(User.name, ""), User.email, ""), Deal.owner_id, *sums)
        .join(Stage, Stage.id == Deal.stage_id)
        .outerjoin(User, User.id == Deal.owner_id)
        .where(*open_deals)
        .group_by(Deal.owner_id, User.name, User.email)
    )
    by_owner = sorted(
        (
            ForecastRow(label or "Unassigned", c, _money(r), _money(w, 10_000))
            for label, _id, c, r, w in owners
        ),
        key=lambda row: (-row.weighted, row.label),
    )
    closed = [Deal.company_id == company_id, Stage.kind.in_(("won", "lost"))]
    if date_from is not None:
        closed.append(Deal.closed_on >= date_from)
    if date_to is not None:
        closed.append(Deal.closed_on <= date_to)
    outcome = {
        kind: (count, revenue)
        for kind, count, revenue in session.execute(
            select(Stage.kind, func.count(), func.sum(units))
            .join(Stage, Stage.id == Deal.stage_id)
            .where(*closed)
            .group_by(Stage.kind)
        )  # fmt: skip
    }
    funnel_rows = session.execute(
        select(Stage.name, Stage.sequence, Stage.id, *sums)
        .join(Deal, Deal.stage_id == Stage.id)
        .where(Stage.company_id == company_id)
        .group_by(Stage.id, Stage.name, Stage.sequence)
    ).all()
    from .pipeline import default_pipeline

    counts = {stage_id: (c, r or 0, w or 0) for _name, _seq, stage_id, c, r, w in funnel_rows}
    funnel = []
    for stage in default_pipeline(session).stages:
        count, revenue, weighted = counts.get(stage.id, (0, 0, 0))
        funnel.append(ForecastRow(stage.name, count, _money(revenue), _money(weighted, 10_000)))
    won_count, won_revenue = outcome.get("won", (0, 0))
    return Forecast(
        by_month, by_owner, won_count, outcome.get("lost", (0, 0))[0], _money(won_revenue), funnel
    )
