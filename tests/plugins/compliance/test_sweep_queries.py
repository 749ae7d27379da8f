"""List pages run a fixed number of queries, however many rows they show (no query per row)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from core.context import set_company
from core.services import companies
from plugins.compliance.services import controls, risks

pytestmark = pytest.mark.plugins("compliance")


@contextmanager
def counting(ext: Any) -> Iterator[list[str]]:
    """The SELECT statements run meanwhile."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(ext.db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(ext.db.engine, "before_cursor_execute", record)


def add_controls(ext: Any, count: int) -> None:
    """``count`` controls, each mitigating a risk of its own."""
    with ext.db.transaction() as session:
        ext.plugins.refresh(session)
        set_company(session, companies.first_company(session).id)
        for number in range(count):
            risk = risks.create_risk(
                session, {"title": f"Risk {number}", "category": "it", "likelihood": 2, "impact": 2}
            )
            controls.create_control(session, {"name": f"Control {number}", "risk_ids": [risk.id]})


@pytest.mark.parametrize("query", [{}, {"format": "csv"}])
def test_the_controls_list_does_not_query_once_per_control(ext, officer_client, query):
    add_controls(ext, 2)
    officer_client.get("/compliance/controls", query_string=query)  # caches warmed
    with counting(ext) as few:
        page = officer_client.get("/compliance/controls", query_string=query)
    assert page.status_code == 200
    add_controls(ext, 10)
    with counting(ext) as many:
        page = officer_client.get("/compliance/controls", query_string=query)
    assert page.status_code == 200
    assert "RISK-0012" in page.get_data(as_text=True)
    assert len(many) == len(few), "\n".join(many)
