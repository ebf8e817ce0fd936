"""Fixtures: an app on a throwaway database, clients, users and small factories."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis.configuration import set_hypothesis_home_dir

from tracker.domain.models import Event, EventPart, Topic
from tracker.extensions import db as _db

sys.path.insert(0, str(Path(__file__).parent))  # tests/pgserver.py, tests/smtp.py

from helpers import BACKEND, Auth, make_app, make_user  # noqa: E402

pytest_plugins = ["smtp"]  # the SMTP server fixtures, for every test module

# Hypothesis (under schemathesis) keeps its example database and caches outside the checkout;
# set before collection, which already draws examples.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / f"forderungstracker-hypothesis-{os.getuid()}")

CHECKOUT = Path(__file__).resolve().parent.parent
# not the tests' doing: git, virtualenvs, the interpreter's bytecode, ruff run beside the tests
UNWATCHED = (".git", "__pycache__", ".ruff_cache")
_BEFORE = pytest.StashKey[set]()


def _checkout_paths() -> set[str]:
    """Every file and folder in the checkout, except in virtualenvs (.venv*) and UNWATCHED."""
    paths = set()
    for folder, subfolders, names in os.walk(CHECKOUT):
        subfolders[:] = [d for d in subfolders if d not in UNWATCHED and not d.startswith(".venv")]
        paths.update(str(Path(folder, name).relative_to(CHECKOUT)) for name in subfolders + names)
    return paths


def pytest_sessionstart(session):
    session.config.stash[_BEFORE] = _checkout_paths()


def pytest_sessionfinish(session, exitstatus):
    """Fail the run if a file or folder appeared in the checkout: tests write only to pytest's
    temporary directories (``tmp_path``, ``tmp_path_factory``). Changes to existing files are
    not checked, so that editing the code while the suite runs does not fail it."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    new = sorted(_checkout_paths() - before)
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write("\n")
            reporter.write_sep("=", "tests wrote into the checkout", red=True)
            for path in new:
                reporter.write_line(path)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


# Apps made while the tests are collected (the schemathesis module serves its document from one)
# need an instance folder outside the checkout before any fixture runs.
_COLLECTION_INSTANCE = tempfile.mkdtemp(prefix="tracker-instance-")
os.environ.setdefault("TRACKER_INSTANCE_PATH", _COLLECTION_INSTANCE)


@pytest.fixture(scope="session", autouse=True)
def _instance_folder(tmp_path_factory):
    """Point every app of the session, and the subprocesses started with its environment, at an
    instance folder outside the checkout (not the developer's ``instance/`` and its config.py)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKER_INSTANCE_PATH", str(tmp_path_factory.mktemp("instance")))
        yield


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
def clock(time_machine):
    """Stop every clock of this process (time-machine): ``clock.move_to(when)`` travels to a
    datetime (or timestamp) and holds there, ``clock.shift(delta)`` moves on. It starts stopped at
    the real time. ``utcnow()``, ``today()``, ``time.time()`` and itsdangerous' timestamps follow;
    ``time.monotonic()`` (the tests' deadlines) and subprocesses keep the real time.
    """
    time_machine.move_to(dt.datetime.now(dt.UTC), tick=False)
    return time_machine


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def staff(app):
    return make_user()


@pytest.fixture
def admin(app):
    return make_user(email="admin@example.org", role="admin", name="Ada Admin")


@pytest.fixture
def event(app):
    event = Event(slug="fachtag", title="Fachtag Migration", date=dt.date(2025, 6, 18))
    event.parts.append(EventPart(slug="podium", kind="panel", title="Podium"))
    topic = Topic(slug="bezahlkarte", name="Bezahlkarte")
    _db.session.add_all([event, topic])
    _db.session.commit()
    return event


@pytest.fixture
def auth(client):
    return Auth(client)


# Helpers for the workflow, CLI and staff tests ------------------------------------------------


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
