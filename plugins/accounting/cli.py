"""``officium accounting ...``: set-up, reports, batch posting, statement import, period lock.

Each command is one business action on the services, as the system operator;
a user mistake prints one line and exits non-zero (core's CLI translates errors).
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from decimal import Decimal
from typing import Any

import click
from sqlalchemy import select

from core.plugin_api import OfficiumError, ValidationError, company_id_of, get_session

from .models import Invoice
from .services import chart, invoices, periods, reports, statements


def _date(value: str | None, option: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"must be a date (YYYY-MM-DD), not {value!r}", param_hint=option) from None


def _table(header: list[str], rows: list[list[Any]], as_csv: bool) -> None:
    if as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(header)
        writer.writerows(rows)
        return
    widths = [max(len(str(x)) for x in [h, *[r[i] for r in rows]]) for i, h in enumerate(header)]
    for row in [header, *rows]:
        click.echo(
            "  ".join(
                str(cell).rjust(width) if isinstance(cell, Decimal) else str(cell).ljust(width)
                for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


@click.group()
def accounting() -> None:
    """Accounting: chart of accounts, reports, posting, bank statements, period lock."""


@accounting.command("setup")
def setup_command() -> None:
    """Create what is missing of the default chart of accounts, journals, taxes and terms."""
    session = get_session()
    created = chart.install_chart(session)
    session.commit()
    click.echo("created: " + ", ".join(created) if created else "nothing to do: the chart is complete")


@accounting.command("report")
@click.argument(
    "name",
    type=click.Choice(
        ["trial-balance", "profit-and-loss", "balance-sheet", "aged-receivables", "aged-payables"]
    ),
)
@click.option("--from", "date_from", help="Period start (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Period end, or the balance sheet's date (YYYY-MM-DD).")
@click.option("--as-of", "as_of", help="Date of the aged reports (default today).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
def report_command(
    name: str, date_from: str | None, date_to: str | None, as_of: str | None, as_csv: bool
) -> None:
    """Print a financial report."""
    session = get_session()
    start, end = _date(date_from, "--from"), _date(date_to, "--to")
    today = dt.date.today()
    if name == "trial-balance":
        tb = reports.trial_balance(session, date_from=start, date_to=end)
        rows = [[r.code, r.name, r.debit, r.credit, r.balance] for r in tb.rows]
        rows.append(["", "total", tb.total_debit, tb.total_credit, tb.total_debit - tb.total_credit])
        _table(["code", "account", "debit", "credit", "balance"], rows, as_csv)
    elif name == "profit-and-loss":
        pnl = reports.profit_and_loss(
            session, date_from=start or today.replace(month=1, day=1), date_to=end or today
        )
        rows = [["income", r.code, r.name, r.amount, r.previous] for r in pnl.income.rows]
        rows += [["expenses", r.code, r.name, r.amount, r.previous] for r in pnl.expenses.rows]
        rows.append(["", "", "net profit", pnl.net_profit, pnl.previous_net_profit])
        previous = f"{pnl.previous_from}..{pnl.previous_to}"
        _table(["section", "code", "account", f"{pnl.date_from}..{pnl.date_to}", previous], rows, as_csv)
    elif name == "balance-sheet":
        sheet = reports.balance_sheet(session, date_to=end or today, date_from=start)
        rows = []
        for section in (sheet.assets, sheet.liabilities, sheet.equity):
            rows += [[section.title, r.code, r.name, r.amount, r.previous] for r in section.rows]
            rows.append([section.title, "", "total", section.total, section.previous_total])
        _table(["section", "code", "account", str(sheet.date), str(sheet.previous_date)], rows, as_csv)
        if not sheet.balanced:
            raise click.ClickException("the balance sheet does not balance")
    else:
        side = "receivable" if name == "aged-receivables" else "payable"
        aged = reports.aged(session, side, as_of=_date(as_of, "--as-of"))
        rows = [[r.contact, *r.buckets, r.total] for r in aged.rows]
        rows.append(["total", *aged.totals, aged.total])
        _table(["contact", *reports.AGED_BUCKETS, "total"], rows, as_csv)


@accounting.command("post-drafts")
@click.option("--until", "until", help="Only drafts dated on or before this date (YYYY-MM-DD).")
def post_drafts_command(until: str | None) -> None:
    """Post every draft invoice and bill, one transaction each, with a progress bar.

    A draft that cannot be posted is reported and left as a draft; the exit
    status is non-zero if any was refused.
    """
    session = get_session()
    stmt = select(Invoice.id).where(Invoice.company_id == company_id_of(session), Invoice.state == "draft")
    if until:
        stmt = stmt.where(Invoice.date <= _date(until, "--until"))
    ids = list(session.scalars(stmt.order_by(Invoice.date, Invoice.id)))
    session.rollback()
    refused: list[str] = []
    with click.progressbar(ids, label="Posting drafts", file=sys.stderr) as bar:
        for invoice_id in bar:
            invoice = session.get(Invoice, invoice_id)
            try:
                invoices.post_invoice(session, invoice)
                session.commit()
            except OfficiumError as exc:
                session.rollback()
                refused.append(f"draft #{invoice_id}: {exc.message}")
    click.echo(f"posted {len(ids) - len(refused)} of {len(ids)}")
    for line in refused:
        click.echo(line, err=True)
    if refused:
        raise SystemExit(1)


@accounting.command("import-statement")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--journal", default="BNK", show_default=True, help="Bank or cash journal code.")
@click.option("--name", default="", help="Statement name (default: the file name).")
def import_statement_command(path: str, journal: str, name: str) -> None:
    """Import a bank statement CSV (date,description,amount)."""
    session = get_session()
    with open(path, "rb") as handle:
        content = handle.read()
    try:
        statement = statements.import_statement(
            session, bank_journal_ref=journal, content=content, name=name or click.format_filename(path)
        )
    except ValidationError as exc:
        rows = [f"{field} {'; '.join(texts)}" for field, texts in exc.fields.items()]
        raise click.ClickException(f"{exc.message} ({len(rows)} problems): " + "; ".join(rows[:5])) from exc
    session.commit()
    matches = sum(1 for line in statement.lines if statements.suggestions(session, line))
    click.echo(
        f"imported {len(statement.lines)} lines into statement #{statement.id}; {matches} with suggestions"
    )


@accounting.command("lock")
@click.argument("lock_date", required=False)
@click.option("--clear", is_flag=True, help="Remove the lock date.")
def lock_command(lock_date: str | None, clear: bool) -> None:
    """Close the books through LOCK_DATE: postings on or before it are refused."""
    if not clear and lock_date is None:
        raise click.UsageError("give a date (YYYY-MM-DD) or --clear")
    session = get_session()
    company = periods.lock_period(session, None if clear else lock_date)
    session.commit()
    click.echo(f"books locked through {company.lock_date}" if company.lock_date else "lock date cleared")
