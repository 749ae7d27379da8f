"""Officium: a small Flask core (users, permissions, contacts, ledger) with departments as plugins."""

__version__ = "0.1.0"
