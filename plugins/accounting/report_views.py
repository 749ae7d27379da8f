"""Accounting's report, chart of accounts, tax, fiscal year and bank statement pages."""

from __future__ import annotations

from .views import blueprint  # noqa: F401
