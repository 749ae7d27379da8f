"""Passwords (argon2id) and API tokens (random, stored as SHA-256)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import ValidationError

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
TOKEN_PREFIX = "off_"  # noqa: S105 - a visible prefix, not a secret

_hasher = PasswordHasher()

# The most common passwords of 12+ characters in public breach lists; a short list is
# enough because length is the main defence.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "password1234",
        "password12345",
        "passwordpassword",
        "qwertyuiop12",
        "qwertyuiopasdf",
        "qwerty123456",
        "123456123456",
        "111111111111",
        "000000000000",
        "123123123123",
        "abcdefghijkl",
        "iloveyou1234",
        "administrator",
        "adminadmin12",
        "letmein12345",
        "welcome12345",
        "changeme1234",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "zaq12wsxcde3",
        "qazwsxedcrfv",
        "monkey123456",
        "football1234",
        "baseball1234",
        "sunshine1234",
        "princess1234",
        "trustno1trustno1",
        "correcthorsebatterystaple",
        "officium1234",
        "password123!",
        "Password1234",
    }
)


def check_password_policy(password: str) -> None:
    """Refuse passwords that are too short, too long or too common (never truncated)."""
    if not isinstance(password, str) or len(password) < PASSWORD_MIN_LENGTH:
        raise ValidationError(
            "password too short",
            fields={"password": [f"must be at least {PASSWORD_MIN_LENGTH} characters"]},
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ValidationError(
            "password too long",
            fields={"password": [f"must be at most {PASSWORD_MAX_LENGTH} characters"]},
        )
    if password.lower() in {p.lower() for p in COMMON_PASSWORDS} or len(set(password)) < 4:
        raise ValidationError("password too common", fields={"password": ["is too common; choose another"]})


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-time check; a missing hash verifies a dummy so timing does not reveal users."""
    if not password_hash:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def new_token() -> tuple[str, str, str]:
    """A new API token: ``(token, sha256 hex, display prefix)``; only the hash is stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token), token[:10]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
