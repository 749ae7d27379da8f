"""Officium's built-in departments, each an ordinary plugin (see docs/plugins.md)."""
