"""Accounting's business rules, as functions over a Session; views, API and CLI only translate."""

from . import chart, invoices, payments, periods, reports, statements, taxes

__all__ = ["chart", "invoices", "payments", "periods", "reports", "statements", "taxes"]
