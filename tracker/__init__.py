"""The Forderungstracker: follow up political demands until the ministries have acted on them."""

from __future__ import annotations

import gc
import logging
from functools import lru_cache
from pathlib import Path

import flask_babel
from flask import Flask, has_request_context, request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_cookie
from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import config, inputs
from tracker.extensions import babel, csrf, db, limiter, login_manager, migrate

LOCALES = ("de", "en")
LOCALE_COOKIE = "sprache"  # the reader's choice of language; no session needed for it


def shipped(name: str) -> Path:
    """Return the folder ``templates`` or ``migrations``: inside the package in an installed
    wheel (setup.py maps them there), beside it in the repository (editable install, tests).
    """
    package = Path(__file__).resolve().parent
    for folder in (package / name, package.parent / name):
        if folder.is_dir():
            return folder
    raise RuntimeError(f"{name}/ is missing from the installed package {package}")


def select_locale() -> str:
    """The language of this request (CLI and jobs speak German)."""
    return locale_of(request.environ) if has_request_context() else "de"


def locale_of(environ: dict) -> str:
    """Use the reader's choice (a cookie), else the browser's preference, else German.

    From the WSGI environment: the page cache asks before Flask has made a request of it.
    """
    if "HTTP_COOKIE" in environ:
        chosen = parse_cookie(environ["HTTP_COOKIE"]).get(LOCALE_COOKIE)
        if chosen in LOCALES:
            return chosen
    return _preferred(environ.get("HTTP_ACCEPT_LANGUAGE", ""))


@lru_cache(maxsize=256)
def _preferred(accept_language: str) -> str:
    """The browser's preferred language of ours (browsers send a handful of such headers)."""
    return parse_accept_header(accept_language, LanguageAccept).best_match(LOCALES) or "de"


def _configure_logging(app: Flask) -> None:
    """Log INFO and up to stderr in one readable line each (gunicorn and systemd collect it)."""
    if app.testing:
        return
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s",
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if app.config["ENV"] == "production" and app.config["RATELIMIT_STORAGE_URI"] == "memory://":
        app.logger.warning(
            "TRACKER_RATELIMIT_STORAGE_URI is memory://: each worker counts login attempts "
            "on its own; use shared storage such as redis://localhost:6379 with several workers"
        )


def _tune_sqlite(engine) -> None:
    """Make SQLite commits cheap: WAL with synchronous=NORMAL fsyncs at checkpoints, not at
    every commit (the outbox commits once per message; each commit cost 1-23 ms here), and
    readers no longer block the writer.
    """
    import sqlalchemy as sa

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app; never start the scheduler here."""
    app = Flask(
        __name__,
        instance_path=config.instance_path(),
        instance_relative_config=True,
        template_folder=str(shipped("templates")),
    )
    config.load(app, test_config)
    inputs.init_app(app)
    _configure_logging(app)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=shipped("migrations"))  # also adds ``tracker db …``
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    # Choose the locale afresh for every request, also where requests share an app context.
    app.before_request(flask_babel.refresh)
    login_manager.init_app(app)
    limiter.init_app(app)

    from tracker import cli, transactions
    from tracker.web import (
        answer,
        api,
        auth,
        errors,
        evidence,
        feeds,
        follow,
        page_cache,
        public,
        reports,
        security,
        staff,
        templating,
    )

    templating.init_app(app)
    security.init_app(app)
    page_cache.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(answer.bp)
    api.init_app(app)
    app.register_blueprint(follow.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(evidence.bp)
    transactions.init_app(app)  # last: commits before the other hooks finish the response
    if app.config["PROXIES"]:  # behind nginx & co.: trust their X-Forwarded-For/-Proto headers
        # outermost, so that the page cache's key sees the reader's scheme and host too
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=app.config["PROXIES"], x_proto=app.config["PROXIES"]
        )
    if not app.testing:
        # What the app holds now (modules, routes, mappers, about 180,000 objects) lives as
        # long as the process: the cyclic garbage collector need not walk it again. A full
        # collection over it took 120 ms, paid by whichever request set it off.
        gc.freeze()
    return app
