"""Errors that services raise for the caller to show; each carries a message for users."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l


class ServiceError(Exception):
    """A refused change; nothing was written."""

    code = "invalid"

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.errors = errors or {}


class StaleDemand(ServiceError):
    """The demand was changed by someone else since the form was loaded."""

    code = "stale"

    def __init__(self):
        super().__init__(
            _l(
                "Diese Forderung wurde inzwischen geändert. Bitte die Seite neu laden "
                "und die Änderung noch einmal prüfen."
            )
        )


class TransitionNotAllowed(ServiceError):
    """The workflow does not allow this trigger from the current state."""

    code = "transition_not_allowed"
