"""CRM: leads, deals pipeline, activities, quotes and forecast — the front office."""

from core.plugin_api import PluginInfo

PLUGIN = PluginInfo(
    name="crm",
    title="CRM",
    version="1.0.0",
    description="Leads, a deals pipeline board, activities, quotes, web-to-lead and a sales forecast, "
    "on the shared contacts.",
    category="front office",
)
