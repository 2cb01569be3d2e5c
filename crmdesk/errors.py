"""Typed errors raised by the service layer.

Every error carries a message template (English source text, also the key for
its translation in the "errors" context) and the values to fill it with, so the
command line prints it in English and the GUI shows it in the user's language.
Templates are marked with QT_TRANSLATE_NOOP so Qt's lupdate collects them.
"""

from __future__ import annotations

from crmdesk.texts import QT_TRANSLATE_NOOP


class CrmdeskError(Exception):
    """Base of every error a person can act on."""

    exit_code = 1

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return self.template.format(**self.params)


class NotFound(CrmdeskError):
    exit_code = 3


class InvalidInput(CrmdeskError):
    """A value a person typed or imported is not acceptable.

    ``field`` names what is wrong, so a form can point at it."""

    exit_code = 2

    def __init__(self, template: str, *, field: str | None = None, **params: object) -> None:
        self.field = field
        super().__init__(template, **params)


class Conflict(CrmdeskError):
    """The operation clashes with data already there (duplicate, stale state)."""

    exit_code = 4


class PermissionDenied(CrmdeskError):
    exit_code = 5


class AuthenticationFailed(CrmdeskError):
    """Wrong name, password or PIN, or the account is locked. ``field``: which PIN, where a form asks for two."""

    exit_code = 6

    def __init__(self, template: str, *, field: str | None = None, **params: object) -> None:
        self.field = field
        super().__init__(template, **params)


class DatabaseError(CrmdeskError):
    """The database cannot be used: unreachable, foreign, or too new."""

    exit_code = 7


class DatabaseUnavailable(DatabaseError):
    pass


class NotACrmdeskDatabase(DatabaseError):
    pass


class DatabaseTooNew(DatabaseError):
    pass


class NotInitialised(DatabaseError):
    pass


# Templates shared by several services.
MSG_NOT_INITIALISED = QT_TRANSLATE_NOOP(
    "errors",
    "This database has no owner yet. Run 'crmdesk init --owner NAME' or start the app to set it up.",
)
