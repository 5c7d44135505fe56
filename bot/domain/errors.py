"""Errors the domain raises for the user to read (the listeners show them ephemerally)."""

from __future__ import annotations


class DomainError(Exception):
    """A request that is understood but cannot be carried out; nothing was changed."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotFound(DomainError):
    pass


class PermissionDenied(DomainError):
    pass


class Conflict(DomainError):
    pass
