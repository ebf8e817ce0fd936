"""Fixtures: an app on a throwaway database, clients, users and small factories."""

from __future__ import annotations

import logging
import os
import re
import shutil
import sys
import uuid
from functools import cache
from pathlib import Path

import flask_babel
import jinja2
import pytest
import sqlalchemy as sa

from tracker import create_app
from tracker.extensions import db as _db
from tracker.models import Body, Contact, Event, EventPart, Topic, User

sys.path.insert(0, str(Path(__file__).parent))  # tests/pgserver.py, tests/smtp.py

pytest_plugins = ["smtp"]  # the SMTP server fixtures, for every test module

PASSWORD = "richtig-langes-passwort"


BACKEND = os.environ.get("TRACKER_TEST_DB", "sqlite")  # "postgresql" runs the suite on PostgreSQL


@pytest.fixture(scope="session")
def postgres():
    """Start one throwaway PostgreSQL server for the session (only when the suite runs on it)."""
    if BACKEND != "postgresql":
        yield None
        return
    from pgserver import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def empty_database_url(postgres, tmp_path):
    """Return the URL of a new, empty database on the backend under test."""
    if postgres is None:
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return postgres.create_database(f"empty_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def _pg_schema_url(postgres):
    """One PostgreSQL database with the schema, emptied after each test (faster than recreating)."""
    if postgres is None:
        return None
    url = postgres.create_database("tracker_test")
    engine = sa.create_engine(url)
    _db.metadata.create_all(engine)
    engine.dispose()
    return url


def make_app(tmp_path, database_url: str, **config):
    """Create an app for tests on ``database_url``."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "MAIL_DIR": str(tmp_path / "mail"),
            "BASE_URL": "http://tracker.test",
            "RATELIMIT_ENABLED": False,
            **config,
        }
    )
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_request_globals)
    app.jinja_env.bytecode_cache = _TEMPLATES  # compile each template once per session
    return app


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Keep compiled templates across the apps of a session (keyed by name and source)."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _MemoryBytecodeCache()


def _fresh_request_globals():
    """Forget what the last request cached on ``g`` (user, locale), as a new request would.

    The fixtures keep one app context open for the whole test and Flask reuses it for every
    request of the test client, so ``g`` would otherwise carry the user and locale over.
    """
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)  # each client has its own session, so its own CSRF token
    flask_babel.refresh()


@pytest.fixture
def app_config():
    """Extra configuration for the ``app`` fixture; override in a module to change it."""
    return {}


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    """One SQLite file with the schema, copied for each test (faster than create_all each time)."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    engine = sa.create_engine(f"sqlite:///{path}")
    _db.metadata.create_all(engine)
    engine.dispose()
    return path


def _no_fsync(dbapi_connection, _record):
    dbapi_connection.execute("PRAGMA synchronous = OFF")


@pytest.fixture
def app(tmp_path, _pg_schema_url, app_config, request):
    if _pg_schema_url is None:
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        app = make_app(tmp_path, f"sqlite:///{path}", **app_config)
        with app.app_context():
            # a throwaway file: no need to wait for the disk on every commit
            sa.event.listen(_db.engine, "connect", _no_fsync)
            yield app
            _db.session.remove()
            _db.engine.dispose()
        return
    app = make_app(tmp_path, _pg_schema_url, **app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        tables = ", ".join(f'"{t.name}"' for t in _db.metadata.sorted_tables)
        with _db.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@cache
def _hash_of_default_password() -> str:
    user = User()
    user.set_password(PASSWORD)
    return user.password_hash


def make_user(
    email="staff@example.org", role="staff", password=PASSWORD, name="Sam Staff", active=True
):
    user = User(email=email, name=name, role=role, active=active)
    if password == PASSWORD:  # a real scrypt hash, computed once: hashing is slow on purpose
        user.password_hash = _hash_of_default_password()
    else:
        user.set_password(password)
    _db.session.add(user)
    _db.session.commit()
    return user


def make_body(
    slug="ms", name="Sozialministerium", contacts=(("Referat", "ref@ms.example.org", 1),)
):
    body = Body(slug=slug, name=name, short_name=name)
    for cname, email, level in contacts:
        body.contacts.append(Contact(name=cname, email=email, escalation_level=level))
    _db.session.add(body)
    _db.session.commit()
    return body


def make_demand(title="Bezahlkarte evaluieren", *, bodies=(), is_public=True, user=None, **fields):
    from tracker.services.demands import assign_bodies, create_demand

    demand = create_demand(
        user,
        title=title,
        text=fields.pop("text", "Text der Forderung."),
        is_public=is_public,
        **fields,
    )
    if bodies:
        roles = {b.id: ("lead" if i == 0 else "involved") for i, b in enumerate(bodies)}
        assign_bodies(demand, user, None, roles)
    _db.session.commit()  # services leave committing to their caller (the edge)
    return demand


@pytest.fixture
def staff(app):
    return make_user()


@pytest.fixture
def admin(app):
    return make_user(email="admin@example.org", role="admin", name="Ada Admin")


@pytest.fixture
def event(app):
    event = Event(
        slug="fachtag", title="Fachtag Migration", date=__import__("datetime").date(2025, 6, 18)
    )
    event.parts.append(EventPart(slug="podium", kind="panel", title="Podium"))
    topic = Topic(slug="bezahlkarte", name="Bezahlkarte")
    _db.session.add_all([event, topic])
    _db.session.commit()
    return event


def csrf_token(html: str) -> str:
    """Return the first CSRF token on a page."""
    match = re.search(
        r'name="(?:[\w-]+-)?csrf_token" type="hidden" value="([^"]+)"', html
    ) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email="staff@example.org", password=PASSWORD):
        page = self.client.get("/anmelden").get_data(as_text=True)
        return self.client.post(
            "/anmelden", data={"email": email, "password": password, "csrf_token": csrf_token(page)}
        )

    def login_as(self, user):
        """Log ``user`` in through the session, skipping the (slow on purpose) password check.

        Tests of the login itself use ``login``; everything else may take this short cut.
        """
        with self.client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True

    def logout(self):
        page = self.client.get("/abmelden").get_data(as_text=True)
        return self.client.post("/abmelden", data={"csrf_token": csrf_token(page)})


@pytest.fixture
def auth(client):
    return Auth(client)


# Helpers for the workflow, CLI and staff tests ------------------------------------------------


def put_in_state(demand, state, outcome=None):
    """Put ``demand`` into ``state`` directly (as if it got there earlier), not via the workflow."""
    demand.state = state
    demand.outcome = outcome if outcome is not None else ("rejected" if state == "closed" else None)
    _db.session.commit()
    return demand


def timeline(demand, kind=None):
    """Return the demand's timeline entries (of ``kind``), read fresh from the database."""
    from tracker.models import TimelineEntry

    stmt = sa.select(TimelineEntry).where(TimelineEntry.demand_id == demand.id)
    if kind:
        stmt = stmt.where(TimelineEntry.kind == kind)
    return _db.session.scalars(stmt.order_by(TimelineEntry.id)).all()


def count(model):
    """Return how many rows ``model`` has."""
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def request_ctx(app):
    """A request context, for services whose messages are translated (they need a locale)."""
    with app.test_request_context():
        yield


@pytest.fixture
def empty_app(tmp_path, empty_database_url, app_config):
    """An app on an empty database without any tables (for migrations and ``bootstrap``)."""
    # Alembic's env.py configures logging from alembic.ini, which disables every logger that
    # exists by then; put them back so that later tests still see their log records.
    loggers = {
        name: logger.disabled
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level = logging.root.level
    app = make_app(tmp_path, empty_database_url, **app_config)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()
    for name, disabled in loggers.items():
        logging.getLogger(name).disabled = disabled
    logging.root.setLevel(root_level)
    for handler in list(logging.root.handlers):
        if type(handler) is logging.StreamHandler:  # alembic.ini's console handler
            logging.root.removeHandler(handler)


def count_statements(db, client, path: str) -> int:
    """Return how many SQL statements a GET of ``path`` runs (it must answer 200)."""
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get(path)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200, path
    return len(statements)
