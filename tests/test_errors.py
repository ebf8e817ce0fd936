"""Error pages: branded, German, with the security headers, also during a database outage."""

from __future__ import annotations

import pytest
from helpers import BACKEND, make_app

from tracker.extensions import db as _db

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
)


@pytest.fixture
def dead_app(tmp_path):
    """An app whose database cannot be reached (as when it is down or its file unreadable)."""
    if BACKEND == "postgresql":  # nothing listens on port 9: connection refused at once
        url = "postgresql://tracker@127.0.0.1:9/tracker?connect_timeout=2"
    else:  # SQLite cannot open a file in a folder that does not exist
        url = f"sqlite:///{tmp_path / 'fehlt' / 'tracker.sqlite3'}"
    # as in production: an error the handlers miss would be Flask's bare page, not an exception
    app = make_app(tmp_path, url, PROPAGATE_EXCEPTIONS=False)
    with app.app_context():
        yield app
        _db.session.remove()
        _db.engine.dispose()


def _log_in(client, user_id="1:any-session-token"):
    """Put a user id in the session as Flask-Login keeps it (``id:session token``)."""
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True


def _assert_branded(response, code):
    assert response.status_code == code
    for header in SECURITY_HEADERS:
        assert header in response.headers, header
    page = response.get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Forderungstracker" in page
    assert "Internal Server Error" not in page
    return page


PAGES = ["/", "/forderungen/1", "/stellen/ms", "/statistik"]
STAFF_PAGES = [*PAGES, "/verwaltung/", "/anmelden"]  # for the anonymous these need no database


@pytest.mark.parametrize(
    ("who", "path"),
    [("anonymous", p) for p in PAGES] + [("staff", p) for p in STAFF_PAGES],
)
def test_database_outage_is_the_branded_503_page(dead_app, who, path):
    client = dead_app.test_client()
    if who == "staff":
        _log_in(client)  # the user loader itself fails now
    response = client.get(path)
    page = _assert_branded(response, 503)
    assert "Die Datenbank ist gerade nicht erreichbar" in page
    assert response.headers["Retry-After"] == "60"
    assert "Abmelden" not in page  # shown as to anyone: the user could not be loaded


@pytest.mark.parametrize("who", ["anonymous", "staff"])
def test_database_outage_in_the_api_is_a_503_problem(dead_app, who):
    client = dead_app.test_client()
    if who == "staff":
        _log_in(client)
    response = client.get("/api/v1/demands")
    assert response.status_code == 503
    assert response.content_type == "application/problem+json"
    assert response.get_json()["code"] == "service_unavailable"
    for header in SECURITY_HEADERS:
        assert header in response.headers, header


def test_english_outage_page(dead_app):
    response = dead_app.test_client().get("/", headers={"Accept-Language": "en"})
    assert response.status_code == 503
    assert "The database cannot be reached right now" in response.get_data(as_text=True)


@pytest.fixture
def failing_loader(app):
    """Make the user loader fail with something other than a database error."""
    from tracker.extensions import login_manager

    original = login_manager._user_callback

    def broken(user_id):
        raise RuntimeError("loader broke")

    login_manager._user_callback = broken
    yield
    login_manager._user_callback = original


def test_a_failing_user_loader_still_gets_the_branded_500(app, client, staff, failing_loader):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    _log_in(client, staff.get_id())
    page = _assert_branded(client.get("/verwaltung/"), 500)
    assert "Etwas ist schiefgegangen" in page


def test_a_failing_error_page_falls_back_to_a_plain_german_page(app, client, monkeypatch):
    """If even the error template fails, a static German page with the headers answers."""
    import tracker.web.errors

    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(*args, **kwargs):
        raise RuntimeError("template broke")

    monkeypatch.setattr(tracker.web.errors, "render_template", broken)
    page = _assert_branded(client.get("/gibt-es-nicht"), 404)
    assert "Diese Seite gibt es nicht (mehr)." in page
