"""Shared fixtures of the compliance tests; modules mark themselves ``pytest.mark.plugins("compliance")``
(plus ``"accounting"`` or ``"hr"`` where they need them).

``officer`` is a user holding the "Compliance officer" role; ``clerk`` holds no role at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.testing import ApiClient, api_token, login, make_user


@pytest.fixture
def officer(ext) -> int:
    """The id of officer@example.com, a "Compliance officer" (password: the test default)."""
    return make_user(ext, "officer@example.com", roles=("Compliance officer",))


@pytest.fixture
def clerk(ext) -> int:
    """The id of clerk@example.com, with no role."""
    return make_user(ext, "clerk@example.com")


@pytest.fixture
def officer_client(app, officer) -> Any:
    """A browser-like client logged in as the compliance officer."""
    client = app.test_client()
    assert login(client, "officer@example.com").status_code == 302
    return client


@pytest.fixture
def officer_api(app, officer) -> ApiClient:
    """An API client holding the compliance officer's token."""
    client = app.test_client()
    return ApiClient(client, api_token(client, "officer@example.com"))
