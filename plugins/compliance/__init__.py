"""Compliance: audit log browser, policies, risk register, controls, segregation of duties, GDPR."""

from core.plugin_api import PluginInfo

PLUGIN = PluginInfo(
    name="compliance",
    title="Compliance",
    version="1.0.0",
    description="Browse the tamper-evident audit trail, run the risk register with its heat map and "
    "controls, publish policies for acknowledgement, enforce segregation of duties, set period locks, "
    "and answer GDPR export and erasure requests.",
    category="back office",
)
