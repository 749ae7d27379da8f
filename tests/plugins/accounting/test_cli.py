"""``officium accounting ...``: reports, batch posting, statement import and the lock, from the shell."""

from __future__ import annotations

import pytest

from core.cli import cli
from core.testing import run_cli
from plugins.accounting.models import Invoice
from plugins.accounting.services import invoices

pytestmark = pytest.mark.plugins("accounting")


def test_setup_is_idempotent_on_a_seeded_company(runner):
    result = run_cli(runner, "accounting", "setup")
    assert result.exit_code == 0
    assert "nothing to do" in result.output


def test_post_drafts_posts_each_draft_and_reports_the_refused_ones(runner, session, customer):
    good = invoices.create_invoice(
        session,
        {
            "contact_id": customer,
            "date": "2026-03-10",
            "lines": [{"description": "Audit", "quantity": "1", "unit_price": "300.00"}],
        },
    )
    empty = invoices.create_invoice(session, {"contact_id": customer, "date": "2026-03-11", "lines": []})
    session.commit()
    good_id, empty_id = good.id, empty.id
    session.close()

    result = run_cli(runner, "accounting", "post-drafts")

    assert result.exit_code == 1
    assert "posted 1 of 2" in result.output
    assert f"draft #{empty_id}" in result.output and "at least one line" in result.output
    posted = session.get(Invoice, good_id)
    assert (posted.state, posted.number) == ("posted", "INV/2026/0001")
    assert session.get(Invoice, empty_id).state == "draft"


def test_profit_and_loss_report_as_csv(runner, session, customer, sales_tax, make_invoice):
    make_invoice(
        customer,
        date="2026-03-10",
        lines=[{"description": "Consulting", "quantity": "2", "unit_price": "500.00", "tax": sales_tax.id}],
    )
    session.close()
    result = run_cli(
        runner,
        "accounting",
        "report",
        "profit-and-loss",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--csv",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "section,code,account,2026-03-01..2026-03-31,2026-02-01..2026-02-28"
    assert "income,4000,Sales,1000.00,0.00" in lines
    assert lines[-1] == ",,net profit,1000.00,0.00"


def test_aged_receivables_table(runner, session, customer, make_invoice):
    make_invoice(customer, date="2026-01-01", due_date="2026-01-01")  # 100.00, due 2026-01-01
    session.close()
    result = run_cli(runner, "accounting", "report", "aged-receivables", "--as-of", "2026-03-15")
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("Acme"))
    # 2026-01-01 -> 2026-03-15 is 73 days past due: the 61-90 bucket.
    assert row.split()[-5:] == ["0.00", "0.00", "100.00", "0.00", "100.00"]


def test_a_bad_date_is_one_line_and_a_non_zero_exit(runner):
    result = runner.invoke(cli, ["accounting", "report", "trial-balance", "--to", "31/03/2026"])
    assert result.exit_code != 0
    assert "must be a date" in result.output


def test_import_statement_and_lock(runner, session, customer, make_invoice, tmp_path):
    invoice = make_invoice(customer, date="2026-03-10")
    number = invoice.number
    session.close()
    path = tmp_path / "march.csv"
    path.write_text(f"date,description,amount\n2026-03-20,Payment {number},100.00\n2026-03-21,Fee,-2.50\n")
    result = run_cli(runner, "accounting", "import-statement", str(path), "--journal", "BNK")
    assert result.exit_code == 0, result.output
    assert "imported 2 lines" in result.output and "1 with suggestions" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text("2026-03-20,Payment,abc\n")
    result = runner.invoke(cli, ["accounting", "import-statement", str(bad)])
    assert result.exit_code == 1
    assert "rows.1.amount" in result.output

    result = run_cli(runner, "accounting", "lock", "2026-03-31")
    assert result.exit_code == 0 and "locked through 2026-03-31" in result.output
    draft = invoices.create_invoice(
        session,
        {
            "contact_id": customer,
            "date": "2026-03-30",
            "lines": [{"description": "Late", "quantity": "1", "unit_price": "10.00"}],
        },
    )
    with pytest.raises(Exception, match="locked"):
        invoices.post_invoice(session, draft)
    session.rollback()


def test_commands_of_a_disabled_plugin_refuse_to_run(runner, ext):
    ext.plugins.disable(ext.db, ["accounting"])
    result = runner.invoke(cli, ["accounting", "report", "trial-balance"])
    assert result.exit_code == 1
    assert "accounting plugin is not enabled" in result.output
