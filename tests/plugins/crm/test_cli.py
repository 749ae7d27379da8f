"""``officium crm ...`` from the shell: lead import and the forecast."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.testing import run_cli
from plugins.crm.models import Lead
from plugins.crm.services import deals

pytestmark = pytest.mark.plugins("crm")


def count_leads(session) -> int:
    count = session.scalar(select(func.count()).select_from(Lead))
    session.rollback()  # SQLite: release the write lock before the next command runs
    return count


def test_importing_leads_reports_bad_rows_and_imports_all_or_the_valid_ones(runner, session, tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text("name,email,source\nAda Lovelace,ada@example.org,event\nBad,not-an-email,web\n")
    session.close()

    dry = run_cli(runner, "crm", "import-leads", str(path), "--dry-run")
    assert dry.exit_code == 0 and "1 valid rows, 1 invalid; nothing stored" in dry.output
    assert "row 2: email is not a valid email address" in dry.output

    refused = run_cli(runner, "crm", "import-leads", str(path))
    assert refused.exit_code == 1 and "nothing imported" in refused.output
    assert count_leads(session) == 0

    partial = run_cli(runner, "crm", "import-leads", str(path), "--skip-invalid")
    assert partial.exit_code == 0 and "imported 1 leads, skipped 1" in partial.output
    assert session.scalars(select(Lead.name)).all() == ["Ada Lovelace"]


def test_the_forecast_prints_weighted_revenue_by_month(runner, session, customer, stages):
    # 10,000.00 at Proposal (50%) closing in June: 5,000.00 weighted.
    deal = deals.create_deal(
        session,
        {
            "title": "Big",
            "contact_id": customer,
            "expected_revenue": "10000.00",
            "expected_close": "2026-06-10",
        },
    )
    deals.move_deal(session, deal, stages["Proposal"].id)
    session.commit()
    session.close()
    result = run_cli(runner, "crm", "forecast")
    assert result.exit_code == 0, result.output
    june = next(line for line in result.output.splitlines() if line.startswith("Jun 2026"))
    assert june.split()[-3:] == ["1", "10000.00", "5000.00"]
    assert "win rate n/a (0 won, 0 lost)" in result.output
