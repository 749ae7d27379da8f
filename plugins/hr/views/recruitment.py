"""HR pages: recruitment (being written)."""

from __future__ import annotations

from . import blueprint  # noqa: F401
