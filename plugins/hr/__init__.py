"""HR: employees, departments, contracts, leave, payroll to the ledger, recruitment, training."""

from core.plugin_api import PluginInfo

PLUGIN = PluginInfo(
    name="hr",
    title="HR",
    version="1.0.0",
    description="Employees and the org chart, contracts, leave with approval and a team calendar, "
    "payroll posted to the shared ledger, recruitment, training and a skills matrix, with self-service.",
    category="back office",
)
