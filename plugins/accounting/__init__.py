"""Accounting: chart of accounts, taxes, invoices and bills, payments, bank statements, reports."""

from core.plugin_api import PluginInfo

PLUGIN = PluginInfo(
    name="accounting",
    title="Accounting",
    version="1.0.0",
    description="Chart of accounts, taxes, customer invoices and vendor bills, payments, "
    "bank statement import, financial reports and period closing, on the shared ledger.",
    category="back office",
)
