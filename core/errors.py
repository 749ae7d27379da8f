"""Errors a user can cause, translated once at the edges (API: 4xx JSON, UI: form message, CLI: one line)."""

from __future__ import annotations


class OfficiumError(Exception):
    """Base class for every error a user or operator can cause."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class ValidationError(OfficiumError):
    """Input that breaks a business rule; ``fields`` maps field names to messages."""

    code = "validation_error"
    status = 422


class NotFound(OfficiumError):
    code = "not_found"
    status = 404


class Conflict(OfficiumError):
    code = "conflict"
    status = 409


class PermissionDenied(OfficiumError):
    """The actor lacks a permission; the message names it so an admin knows what to grant."""

    code = "permission_denied"
    status = 403

    def __init__(self, permission: str, message: str | None = None) -> None:
        super().__init__(message or f"needs {permission}")
        self.permission = permission


class AuthenticationFailed(OfficiumError):
    code = "unauthorized"
    status = 401


class PluginError(OfficiumError):
    """Enabling, disabling or loading a plugin failed; nothing was changed."""

    code = "plugin_error"
    status = 409


class DutyViolation(PermissionDenied):
    """A segregation-of-duties rule refuses this user this action on this record.

    The refusal is written to the audit trail even though the action's own
    transaction rolls back.
    """

    code = "segregation_of_duties"

    def __init__(self, action: str, message: str) -> None:
        super().__init__(action, message)
        self.action = action
