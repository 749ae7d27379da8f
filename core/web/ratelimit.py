"""Login and token throttling per IP and per account, shared across workers through Redis."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from core.errors import OfficiumError


class TooManyAttempts(OfficiumError):
    code = "too_many_requests"
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


class LoginThrottle:
    """Counts attempts per IP and per account (email) in a moving window.

    Storage is Redis when ``OFFICIUM_REDIS_URL`` is set (so every worker shares
    the counts), process memory otherwise.
    """

    def __init__(self, storage_uri: str, limit: str) -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.limit = parse(limit)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> LoginThrottle:
        uri = config.get("OFFICIUM_REDIS_URL") or "memory://"
        return cls(uri, config.get("OFFICIUM_LOGIN_LIMIT", "10 per minute"))

    def check(self, ip: str, account: str) -> None:
        """Record one attempt; raise :class:`TooManyAttempts` when either key is over the limit."""
        keys = (f"ip:{ip}", f"account:{account.strip().lower()}")
        for key in keys:
            if not self.limiter.hit(self.limit, "officium-login", key):
                reset, _remaining = self.limiter.get_window_stats(self.limit, "officium-login", key)
                raise TooManyAttempts(max(1, math.ceil(reset - time.time())))

    def reset_account(self, account: str) -> None:
        self.limiter.clear(self.limit, "officium-login", f"account:{account.strip().lower()}")
