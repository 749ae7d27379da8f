"""Shared fixtures of the CRM tests; modules mark themselves ``pytest.mark.plugins("crm")``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.services import contacts
from plugins.crm.models import Stage
from plugins.crm.services import deals, pipeline


@pytest.fixture
def customer(session) -> int:
    """A customer contact (committed)."""
    contact = contacts.create_contact(
        session, kind="organization", name="Acme Corporation", email="buy@acme.example"
    )
    session.commit()
    return contact.id


@pytest.fixture
def stages(session) -> dict[str, Stage]:
    """The default pipeline's stages by name: New, Qualified, Proposal, Negotiation, Won, Lost."""
    return {stage.name: stage for stage in pipeline.default_pipeline(session).stages}


@pytest.fixture
def make_deal(session, customer) -> Callable[..., Any]:
    """``make_deal(title="...", expected_revenue="1000.00", stage="Proposal", ...)`` (committed)."""

    def factory(**data: Any) -> Any:
        deal = deals.create_deal(
            session, {"title": "Deal", "contact_id": customer, "expected_revenue": "1000.00", **data}
        )
        session.commit()
        return deal

    return factory
