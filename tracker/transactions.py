"""One transaction per request, job or command, committed at that edge.

Services only add and flush; whoever called them (a view, an API view, a CLI command, a job)
ends the unit of work here. A view that commits itself is harmless: the commit at the end of
the request then finds nothing left to write.
"""

from __future__ import annotations

import logging
import secrets
from functools import cache

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import Session
from werkzeug.exceptions import Conflict, InternalServerError

from tracker.domain.models import DataVersion, utcnow
from tracker.extensions import db, upsert
from tracker.services.errors import StaleDemand, stale_refused

log = logging.getLogger(__name__)


def commit() -> None:
    """Commit the current transaction; a lost optimistic-locking race becomes StaleDemand."""
    with stale_refused():
        db.session.commit()


WROTE = "tracker.wrote"  # set in Session.info by the first write of a transaction
TOUCHED = "tracker.touched"  # the names of the tables the transaction wrote


def _touched(session) -> set[str]:
    return session.info.setdefault(TOUCHED, set())


def _flushed(session, _context) -> None:
    session.info[WROTE] = True
    tables = _touched(session)  # after_flush still sees what the flush wrote
    for obj in session.new:
        tables.update(_written_by(type(obj), deleted=False))
    for obj in session.dirty:
        tables.update(_changed_by(session, obj))
    for obj in session.deleted:
        tables.update(_written_by(type(obj), deleted=True))


def _changed_by(session, obj) -> set[str]:
    """Name the tables a changed object's flush wrote: its own if a column changed (not set to
    the same value), an association table if that collection changed. A new entry in a list
    (``demand.timeline``) is a row of the entry's own table, which it names as a new object.
    """
    tables = set()
    if session.is_modified(obj, include_collections=False):
        tables |= {table.name for table in sa.inspect(type(obj)).tables}
    state = sa.inspect(obj)
    for relationship in state.mapper.relationships:
        history = state.attrs[relationship.key].history
        if relationship.secondary is not None and history.has_changes():
            tables.add(relationship.secondary.name)
        if relationship.cascade.delete_orphan and history.deleted:  # removed: deleted at flush
            tables |= _written_by(relationship.mapper.class_, deleted=True)
    return tables


def _executed(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:  # Core DML through the session
        state.session.info[WROTE] = True
        # the statement's table as the metadata holds it (an ORM statement's is annotated)
        table = db.metadata.tables.get(getattr(getattr(state.statement, "table", None), "name", ""))
        if table is not None:
            tables = _cascades(table) if state.is_delete else (table.name,)
        else:  # a statement on something else: count it as a write to every table
            tables = set(db.metadata.tables)
        _touched(state.session).update(tables)


@cache
def _written_by(model: type, deleted: bool) -> frozenset[str]:
    """Name the tables a new or deleted object of ``model`` may write: its own, the
    association tables of its collections, and on delete every table the database's ON DELETE
    rules reach from it.
    """
    mapper = sa.inspect(model)
    tables: set[str] = set()
    for table in mapper.tables:
        tables |= _cascades(table) if deleted else {table.name}
    tables |= {r.secondary.name for r in mapper.relationships if r.secondary is not None}
    return frozenset(tables)


@cache
def _cascades(table: sa.Table) -> frozenset[str]:
    """Return ``table`` and the tables whose foreign keys lead to it, however indirectly."""
    found, todo = set(), [table]
    while todo:
        current = todo.pop()
        if current.name in found:
            continue
        found.add(current.name)
        todo += [
            t
            for t in db.metadata.tables.values()
            if t.foreign_keys and any(fk.column.table is current for fk in t.foreign_keys)
        ]
    return frozenset(found)


def _renew_data_versions(session) -> None:
    """Before a commit that wrote, give each table it wrote a new token in the same
    transaction: the cached pages that read those tables miss in every worker from the moment
    the commit lands; the others stay.
    """
    if session.in_nested_transaction():  # a savepoint released: the outer commit renews them
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # learn the tables of what is still pending
    names = sorted(_touched(session) - {DataVersion.__tablename__})
    if not names:
        return
    token, now = secrets.token_hex(16), utcnow()
    # one statement, built once, run for the rows in name order at the end of the transaction:
    # two commits never wait for each other's version rows crosswise
    session.connection().execute(
        _renewal(session.get_bind().dialect.name),
        [{"name": n, "token": token, "changed_at": now} for n in names],
    )


@cache
def _renewal(dialect: str):
    """The upsert of one version row (its parameters: name, token, changed_at)."""
    statement = upsert(DataVersion.__table__)
    return statement.on_conflict_do_update(
        index_elements=["name"],
        set_={"token": statement.excluded.token, "changed_at": statement.excluded.changed_at},
    )


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
        sa.event.listen(Session, "before_commit", _renew_data_versions)
    app.after_request(_end_request)
