"""Alembic environment and core's migration branch (label ``core``)."""
