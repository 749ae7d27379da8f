"""``officium crm ...``: import leads from CSV, print the forecast."""

from __future__ import annotations

import click

from core.plugin_api import ValidationError, get_session

from .services import forecast, leads


@click.group()
def crm() -> None:
    """CRM: lead import and the sales forecast."""


@crm.command("import-leads")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if some rows are invalid.")
@click.option("--dry-run", is_flag=True, help="Check the file and report; store nothing.")
def import_leads_command(path: str, skip_invalid: bool, dry_run: bool) -> None:
    """Import leads from a CSV file (columns: name, company_name, email, phone, source, notes)."""
    session = get_session()
    with open(path, "rb") as handle:
        content = handle.read()
    preview = leads.preview_import(session, content)
    for number, errors in sorted(preview.errors.items()):
        problems = "; ".join(f"{field} {' '.join(messages)}" for field, messages in errors.items())
        click.echo(f"row {number}: {problems}", err=True)
    if dry_run:
        click.echo(f"{len(preview.rows)} valid rows, {len(preview.errors)} invalid; nothing stored")
        return
    try:
        imported = leads.import_leads(session, content, skip_invalid=skip_invalid)
    except ValidationError as exc:
        raise click.ClickException(
            f"{exc.message}: nothing imported (use --skip-invalid to import the rest)"
        ) from exc
    session.commit()
    click.echo(
        f"imported {len(imported)} leads" + (f", skipped {len(preview.errors)}" if preview.errors else "")
    )


@crm.command("forecast")
def forecast_command() -> None:
    """Print the weighted pipeline by month and by owner, and the win rate."""
    result = forecast.forecast(get_session())
    click.echo("month            deals        revenue       weighted")
    for row in result.by_month:
        click.echo(f"{row.label:<14} {row.count:>7} {row.revenue:>14} {row.weighted:>14}")
    click.echo("owner            deals        revenue       weighted")
    for row in result.by_owner:
        click.echo(f"{row.label[:14]:<14} {row.count:>7} {row.revenue:>14} {row.weighted:>14}")
    rate = f"{result.win_rate}%" if result.win_rate is not None else "n/a"
    click.echo(f"win rate {rate} ({result.won} won, {result.lost} lost); won revenue {result.won_revenue}")
