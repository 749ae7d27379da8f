"""officium accounting ... (placeholder)."""

import click


@click.group()
def accounting() -> None:
    """Accounting: chart of accounts, reports."""
