"""Errors that services raise for the caller to show; each carries a message for users."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import has_request_context
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from tracker.extensions import db, wait_for_others_on


class ServiceError(Exception):
    """A refused change; nothing was written."""

    code = "invalid"

    def __init__(self, message: str, errors: dict[str, str] | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.errors = errors or {}


def refuse_invalid(errors: dict[str, str]) -> None:
    """Refuse with „Bitte die markierten Angaben prüfen.“ and a message per field, if any."""
    if errors:
        raise ServiceError(_l("Bitte die markierten Angaben prüfen."), errors)


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


class StaleRecord(ServiceError):
    """An event, meeting or consultation was saved by someone else since the form was loaded."""

    code = "stale"

    def __init__(self):
        super().__init__(
            _l(
                "Inzwischen hat jemand anderes hier gespeichert. Bitte die Seite neu laden und "
                "die Änderung noch einmal eintragen."
            )
        )


def refuse_if_changed(item, expected_version: int | None) -> None:
    """Refuse a form of ``item`` loaded at another version than it has now (its ``version``
    counts the saves, its parts' or steps' too); two saves at once wait for each other on its
    row, so the second sees the first. ``None``: not asked (a script without a version)."""
    if item is None or item.id is None or expected_version is None:
        return
    wait_for_others_on(type(item).__table__, item.id)
    db.session.refresh(item, ["version"])
    if item.version != expected_version:
        raise StaleRecord()


@contextlib.contextmanager
def stale_refused() -> Iterator[None]:
    """Around a flush or commit: a lost optimistic-locking race rolls back and is StaleDemand."""
    try:
        yield
    except StaleDataError:
        db.session.rollback()
        raise StaleDemand() from None


class TransitionNotAllowed(ServiceError):
    """The workflow does not allow this trigger from the current state."""

    code = "transition_not_allowed"


class ExchangeError(Exception):
    """A file that cannot be read or imported; the message is for users."""


def german_outside_requests():
    """Translate into German outside requests (CLI), else keep the request's locale."""
    return contextlib.nullcontext() if has_request_context() else force_locale("de")
