"""Helpers for the tests: factories for users, bodies and demands, reading pages and counting rows.

Fixtures live in conftest.py; test modules import these with ``from helpers import …``."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import urllib.request
from collections.abc import Callable
from functools import cache

import flask_babel
import jinja2
import pytest
import sqlalchemy as sa

from tracker import create_app
from tracker.domain.models import Body, Contact, User
from tracker.extensions import db as _db

PASSWORD = "richtig-langes-passwort"
BACKEND = os.environ.get("TRACKER_TEST_DB", "sqlite")  # "postgresql" runs the suite on PostgreSQL


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Keep compiled templates across the apps of a session (keyed by name and source)."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = _MemoryBytecodeCache()


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
    app.jinja_env.bytecode_cache = TEMPLATES  # compile each template once per session
    return app


def _fresh_request_globals():
    """Forget what the last request cached on ``g`` (user, locale), as a new request would.

    The fixtures keep one app context open for the whole test and Flask reuses it for every
    request of the test client, so ``g`` would otherwise carry the user and locale over.
    """
    from flask import g

    g.pop("_login_user", None)
    g.pop("csrf_token", None)  # each client has its own session, so its own CSRF token
    flask_babel.refresh()


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


def make_evidence(body):
    """Record one consultation (12 working days) and one meeting with ``body``; return both."""
    from tracker.services import consultations, meetings

    consultation, _ = consultations.save_consultation(
        None,
        body_id=body.id,
        kind="law",
        title="Beispiel: Entwurf",
        consulted=True,
        received_on=dt.date(2026, 11, 2),
        deadline_on=dt.date(2026, 11, 18),
    )
    meeting, _ = meetings.save_meeting(
        None, body_id=body.id, held_on=dt.date(2026, 11, 10), format="video", summary="Austausch."
    )
    _db.session.commit()
    return consultation, meeting


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


def language_link(html: str, locale: str) -> str:
    """Return the href of the page's link to ``locale`` (the footer's language switch)."""
    match = re.search(rf'<a href="([^"]+)" lang="{locale}" hreflang="{locale}"', html)
    assert match, f"no link to the {locale} pages"
    return match.group(1).replace("&amp;", "&")


def put_in_state(demand, state, outcome=None):
    """Put ``demand`` into ``state`` directly (as if it got there earlier), not via the workflow."""
    demand.state = state
    demand.outcome = outcome if outcome is not None else ("rejected" if state == "closed" else None)
    _db.session.commit()
    return demand


def timeline(demand, kind=None):
    """Return the demand's timeline entries (of ``kind``), read fresh from the database."""
    from tracker.domain.models import TimelineEntry

    stmt = sa.select(TimelineEntry).where(TimelineEntry.demand_id == demand.id)
    if kind:
        stmt = stmt.where(TimelineEntry.kind == kind)
    return _db.session.scalars(stmt.order_by(TimelineEntry.id)).all()


def count(model):
    """Return how many rows ``model`` has."""
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def count_statements(db, client, path: str) -> int:
    """Return how many SQL statements a GET of ``path`` runs through SQLAlchemy (it must answer
    200). The page cache's read of the data version, on a DB-API connection, is not counted:
    one per anonymous request, the only one on a hit (tests/test_page_cache.py).
    """
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


def wait_until(
    predicate: Callable[[], object],
    timeout: float,
    message: str,
    context: Callable[[], object] | None = None,
    interval: float = 0.1,
):
    """Poll ``predicate`` until it returns something truthy and return that; after ``timeout``
    seconds fail the test with ``message`` (what it waited for) and ``context()`` if given.

    The deadline is on the monotonic clock, which the ``clock`` fixture does not move.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            details = f"\n{context()}" if context else ""
            pytest.fail(f"timed out after {timeout:g} s waiting for {message}{details}")
        time.sleep(interval)


def answers(url: str) -> bytes | None:
    """Return the body of ``url`` if it answers 200 right now, else None."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read()
    except OSError:
        return None


def wait_for_url(url: str, timeout: float = 60) -> bytes:
    """Wait until ``url`` answers 200 (a server has come up); return its body."""
    return wait_until(lambda: answers(url), timeout, f"{url} to answer")


def send_at_once(app, client, path: str, data, times: int = 2) -> list[int]:
    """POST ``data`` to ``path`` ``times`` at the same moment, as a fast double click does:
    each in its own thread, session and database connection (as in a threaded server), with
    ``client``'s session cookie. Return the statuses."""
    import threading

    session = client.get_cookie("session").value
    _db.session.remove()  # the test's own connection holds nothing while they run
    start, statuses = threading.Barrier(times), []

    def click():
        browser = app.test_client()
        browser.set_cookie("session", session)
        start.wait(10)
        statuses.append(browser.post(path, data=data).status_code)

    threads = [threading.Thread(target=click) for _ in range(times)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses
