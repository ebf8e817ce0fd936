"""Browser tests: the real app on a free port, a real SMTP server and the system Chromium.

One live server for the whole session, on a temporary SQLite file with the Fachtag data, a staff
user and an admin. Tests that change data create their own demands, so their order does not matter.

Chromium is Debian's (``/usr/bin/chromium``): ``playwright install`` cannot download browsers here.
Without it the browser tests are skipped, except in CI (``CI`` set), where they fail instead.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

sys.path.insert(0, str(Path(__file__).parent))  # browserkit.py, shared with the test modules

from browserkit import (  # noqa: E402
    ADMIN_EMAIL,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    LOGOUT_EMAIL,
    PASSWORD,
    STAFF_EMAIL,
    Live,
    login,
    require_chromium,
)


class _QuietHandler(WSGIRequestHandler):
    """Serve requests without logging each one (failures still show in the test output)."""

    def log_request(self, code="-", size="-") -> None:
        pass


@pytest.fixture(scope="session")
def live(tmp_path_factory) -> Iterator[Live]:
    """Serve the real app on 127.0.0.1 in a thread, sending mail to a real aiosmtpd server."""
    from smtp import MailServer  # tests/smtp.py (on sys.path through tests/conftest.py)

    from tracker import create_app
    from tracker.domain.models import User
    from tracker.extensions import db
    from tracker.services.seed import seed

    folder = tmp_path_factory.mktemp("live")
    mail = MailServer().start()
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "browser-test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'tracker.sqlite3'}",
            "MAIL_DIR": str(folder / "mail"),
            "SMTP_URL": mail.url,
            "RATELIMIT_ENABLED": False,
        }
    )
    with app.app_context():
        db.create_all()
        seed()
        for email, name, role in (
            (STAFF_EMAIL, "Rita Referentin", "staff"),
            (ADMIN_EMAIL, "Ada Admin", "admin"),
            (LOGOUT_EMAIL, "Lena Abmeldung", "staff"),
        ):
            user = User(email=email, name=name, role=role, active=True)
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    url = f"http://127.0.0.1:{server.port}"
    app.config["BASE_URL"] = url  # links in the e-mails point at this server
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield Live(app=app, url=url, mail=mail)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        mail.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# The browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory) -> Path:
    """Where screenshots and axe reports go: ``artifacts/`` in the session's pytest temporary
    directory (pytest keeps the last three; ``--basetemp=DIR`` picks one), not the checkout."""
    return tmp_path_factory.getbasetemp() / "artifacts"


@pytest.fixture
def shot(artifacts):
    """``shot(page, name)`` saves a screenshot of ``page`` as artifacts/screenshots/<name>.png."""
    folder = artifacts / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)

    def save(page, name: str, full_page: bool = True) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return save


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_context(browser, live):
    """Open browser contexts (German by default) that are closed after the test."""
    opened = []

    def open_context(**options):
        options.setdefault("locale", "de-DE")
        options.setdefault("viewport", DESKTOP)
        options.setdefault("timezone_id", "Europe/Berlin")
        context = browser.new_context(base_url=live.url, **options)
        context.set_default_timeout(10_000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()


@pytest.fixture
def page(new_context):
    """A fresh page in a German context without anyone logged in."""
    return new_context().new_page()


@pytest.fixture(scope="session")
def _sessions(browser, live) -> dict:
    """Logged-in storage states (cookies), one login per role for the whole session."""
    states = {}
    for role, email in (("staff", STAFF_EMAIL), ("admin", ADMIN_EMAIL)):
        context = browser.new_context(base_url=live.url, locale="de-DE")
        login(context.new_page(), email)
        states[role] = context.storage_state()
        context.close()
    return states


@pytest.fixture
def staff_page(new_context, _sessions):
    """A page of a logged-in staff member (German)."""
    return new_context(storage_state=_sessions["staff"]).new_page()


@pytest.fixture
def admin_page(new_context, _sessions):
    """A page of a logged-in admin (German)."""
    return new_context(storage_state=_sessions["admin"]).new_page()
