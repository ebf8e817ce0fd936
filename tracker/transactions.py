"""One transaction per request, job or command, committed at that edge.

Services only add and flush; whoever called them (a view, an API view, a CLI command, a job)
ends the unit of work here. A view that commits itself is harmless: the commit at the end of
the request then finds nothing left to write.
"""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session
from werkzeug.exceptions import Conflict, InternalServerError

from tracker.domain.models import DataVersion, utcnow
from tracker.extensions import db
from tracker.services.errors import StaleDemand, stale_refused

log = logging.getLogger(__name__)


def commit() -> None:
    """Commit the current transaction; a lost optimistic-locking race becomes StaleDemand."""
    with stale_refused():
        db.session.commit()


WROTE = "tracker.wrote"  # set in Session.info by the first write of a transaction
TOUCHED = "tracker.touched"  # the names of the tables the transaction wrote
# What no public page, feed or API read shows: writing only these keeps the cached pages.
PRIVATE_TABLES = frozenset(
    {"users", "api_tokens", "outbox", "subscriptions", "job_runs", "data_version"}
)


def _touched(session) -> set[str]:
    return session.info.setdefault(TOUCHED, set())


def _flushed(session, _context) -> None:
    session.info[WROTE] = True
    tables = _touched(session)  # after_flush still sees what the flush wrote
    changed = [obj for obj in session.dirty if session.is_modified(obj)]  # not set-to-same
    for obj in (*session.new, *changed, *session.deleted):
        tables.add(getattr(getattr(obj, "__table__", None), "name", "?"))


def _executed(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:  # Core DML through the session
        state.session.info[WROTE] = True
        _touched(state.session).add(getattr(getattr(state.statement, "table", None), "name", "?"))


def _renew_data_version(session) -> None:
    """Before a commit that wrote public data, give the data version a new token in the same
    transaction: the page cache then misses in every worker from the moment the commit lands.
    """
    if session.new or session.dirty or session.deleted:
        session.flush()  # learn the tables of what is still pending
    if not _touched(session) - PRIVATE_TABLES:
        return
    values = {"token": secrets.token_hex(16), "changed_at": utcnow()}
    renewed = session.execute(sa.update(DataVersion).where(DataVersion.id == 1).values(**values))
    if renewed.rowcount == 0:  # a schema made by create_all (the tests) has no row yet
        session.execute(sa.insert(DataVersion).values(id=1, **values))


def _ended(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(WROTE, None)
        session.info.pop(TOUCHED, None)


def wrote() -> bool:
    """Tell whether the current transaction wrote (or holds unwritten changes)."""
    session = db.session()
    return bool(session.info.get(WROTE) or session.new or session.dirty or session.deleted)


def _end_request(response):
    """Commit what a successful request wrote; roll back after an error response.

    A request that wrote nothing is left alone (the session closes at teardown), so reading
    pages costs no COMMIT and does not expire what the request loaded.
    """
    if not wrote():
        return response
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
    if not sa.event.contains(Session, "after_flush", _flushed):
        sa.event.listen(Session, "after_flush", _flushed)
        sa.event.listen(Session, "do_orm_execute", _executed)
        sa.event.listen(Session, "after_transaction_end", _ended)
        sa.event.listen(Session, "before_commit", _renew_data_version)
    app.after_request(_end_request)
