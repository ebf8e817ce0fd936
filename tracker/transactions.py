"""One transaction per request, job or command, committed at that edge.

Services only add and flush; whoever called them (a view, an API view, a CLI command, a job)
ends the unit of work here. A view that commits itself is harmless: the commit at the end of
the request then finds nothing left to write.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import Conflict, InternalServerError

from .extensions import db
from .services.errors import StaleDemand

log = logging.getLogger(__name__)


def commit() -> None:
    """Commit the current transaction; a lost optimistic-locking race becomes StaleDemand."""
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise StaleDemand() from None


def _end_request(response):
    """Commit what a successful request wrote; roll back after an error response."""
    if response.status_code >= 400:
        db.session.rollback()
        return response
    try:
        commit()
    except StaleDemand as error:
        conflict = Conflict()
        conflict.user_message = error.message
        return current_app.handle_http_exception(conflict)
    except Exception:  # nothing was stored: say so instead of the page that claims success
        db.session.rollback()
        log.exception("commit at the end of the request failed")
        return current_app.handle_http_exception(InternalServerError())
    return response


def init_app(app: Flask) -> None:
    """Commit at the end of every request (registered last, so it runs before other hooks)."""
    app.after_request(_end_request)
