"""``officium hr ...``: set-up and payroll from the command line."""

from __future__ import annotations

import click

from core.plugin_api import get_session

from .services import setup


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
