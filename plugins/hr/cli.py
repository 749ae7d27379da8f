"""``officium hr ...``: set-up and payroll from the command line."""

from __future__ import annotations

from typing import Any

import click

from core.plugin_api import get_session

from .services import payroll, setup


@click.group()
def hr() -> None:
    """HR: set-up and payroll runs."""


@hr.command("setup")
def setup_command() -> None:
    """Create what is missing of the leave types, payroll items, payroll accounts and HR roles."""
    session = get_session()
    created = setup.install_defaults(session)
    session.commit()
    click.echo("\n".join(created) if created else "nothing to create: HR is set up")


@hr.group("payroll")
def payroll_group() -> None:
    """Payroll runs: compute (and confirm) a month, list the runs."""


class _Progress:
    """A click progress bar opened when the run knows how many payslips it computes."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.done = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="Computing payslips", show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@payroll_group.command("run")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month to pay.")
@click.option("--confirm", is_flag=True, help="Also confirm the run: post it to the ledger and lock it.")
@click.option(
    "--payment-date", metavar="YYYY-MM-DD", help="The entry's date (default: the month's last day)."
)
def payroll_run_command(month: str, confirm: bool, payment_date: str | None) -> None:
    """Compute the regular payroll run of a month, print its totals, and with --confirm post it.

    With --confirm it is all or nothing: a run that cannot be posted is not kept either.
    """
    session = get_session()
    errors: dict[str, list[str]] = {}
    year, number = payroll.parse_period(month, errors)
    if errors:
        raise click.ClickException(f"--month must be a month (YYYY-MM), not {month!r}")
    progress = _Progress()
    try:
        run = payroll.create_run(session, year, number, payment_date=payment_date, progress=progress)
    finally:
        progress.close()
    if confirm:
        payroll.confirm_run(session, run)
    session.commit()
    click.echo(
        f"Payroll {run.period}: {run.employee_count} employees, gross {run.total_gross}, "
        f"deductions {run.total_deductions}, net {run.total_net}, "
        f"employer contributions {run.total_contributions}"
    )
    if confirm:
        entry = payroll.entry_numbers(session, [run]).get(run.entry_id)
        click.echo(f"confirmed: run #{run.id} posted as entry {entry}, dated {run.payment_date.isoformat()}")
    else:
        click.echo(f"draft run #{run.id}: review it, then confirm it in the app or with --confirm")


@payroll_group.command("list")
def payroll_list_command() -> None:
    """List the payroll runs, newest first."""
    session = get_session()
    runs: list[Any] = []
    after = None
    while True:
        page = payroll.list_runs(session, limit=500, after=after)
        runs += page.items
        if page.next_after is None:
            break
        after = page.next_after
    if not runs:
        click.echo("no payroll run yet")
        return
    numbers = payroll.entry_numbers(session, runs)
    click.echo(
        f"{'id':>6} {'month':<8} {'kind':<11} {'state':<10} {'staff':>6} {'gross':>14} {'net':>14}  entry"
    )
    for run in runs:
        entry = numbers.get(run.entry_id, "") if run.entry_id else ""
        click.echo(
            f"{run.id:>6} {run.period:<8} {run.kind:<11} {run.state:<10} {run.employee_count:>6} "
            f"{run.total_gross:>14} {run.total_net:>14}  {entry}"
        )
