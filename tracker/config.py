"""Settings: defaults, then the instance file, then ``TRACKER_*`` environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

# Environment variable -> config key. Every one is documented in README.md.
ENVIRONMENT = {
    "TRACKER_DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "TRACKER_SECRET_KEY": "SECRET_KEY",
    "TRACKER_SMTP_URL": "SMTP_URL",
    "TRACKER_MAIL_FROM": "MAIL_FROM",
    "TRACKER_BASE_URL": "BASE_URL",
    "TRACKER_REMINDER_CRON": "REMINDER_CRON",
    "TRACKER_TIMEZONE": "TIMEZONE",
    "TRACKER_ADMIN_EMAIL": "ADMIN_EMAIL",
    "TRACKER_ADMIN_PASSWORD": "ADMIN_PASSWORD",
    "TRACKER_RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "TRACKER_STAFF_EMAIL": "STAFF_EMAIL",
    "TRACKER_ENV": "ENV",
    "TRACKER_ESCALATION_DAYS": "ESCALATION_DAYS",
    "TRACKER_ANSWER_LINK_DAYS": "ANSWER_LINK_DAYS",
    "TRACKER_PROXIES": "PROXIES",
    "TRACKER_RECHECK_MONTHS": "RECHECK_MONTHS",
    "TRACKER_OUTBOX_INTERVAL": "OUTBOX_INTERVAL",
    "TRACKER_SMTP_CONNECTIONS": "SMTP_CONNECTIONS",
    "TRACKER_SCHEDULER_LOCK_CHECK": "SCHEDULER_LOCK_CHECK",
    "TRACKER_CACHE_ENTRIES": "CACHE_ENTRIES",
    "TRACKER_CACHE_URL": "CACHE_URL",
}

DEFAULTS = {
    "ENV": "development",
    "SMTP_URL": "",
    "MAIL_FROM": "Forderungstracker der LIGA <tracker@example.org>",
    "STAFF_EMAIL": "",
    "BASE_URL": "http://127.0.0.1:5000",
    "REMINDER_CRON": "0 8 * * mon",
    "TIMEZONE": "Europe/Berlin",
    "ADMIN_EMAIL": "",
    "ADMIN_PASSWORD": "",
    "RATELIMIT_STORAGE_URI": "memory://",
    "LOGIN_RATE_LIMIT": "10 per minute",
    # a PDF report takes seconds to render: one client cannot tie up the workers with new
    # addresses (a query argument no page reads misses the page cache)
    "PDF_RATE_LIMIT": "6 per minute",
    "ESCALATION_DAYS": 10,
    "ANSWER_LINK_DAYS": 56,
    "PROXIES": 0,
    "RECHECK_MONTHS": 6,
    "OUTBOX_INTERVAL": 60,  # seconds between the scheduler's outbox deliveries
    "SMTP_CONNECTIONS": 3,  # connections the outbox delivers over side by side
    "SCHEDULER_LOCK_CHECK": 10,  # seconds between checks that the scheduler still holds its lock
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "RATELIMIT_HEADERS_ENABLED": True,  # every 429 carries Retry-After
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "BABEL_DEFAULT_LOCALE": "de",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Berlin",
    "PAGE_SIZE": 50,
    "CACHE_ENTRIES": 300,  # anonymous pages kept per worker (0: no page cache)
    "CACHE_URL": "",  # redis://host:6379/1: one page cache shared by all workers
    "CACHE_MAX_PAGE": 512 * 1024,  # bytes, compressed; a larger page is rendered each time
}

INTEGER_KEYS = {
    "ESCALATION_DAYS",
    "ANSWER_LINK_DAYS",
    "PROXIES",
    "OUTBOX_INTERVAL",
    "SMTP_CONNECTIONS",
    "SCHEDULER_LOCK_CHECK",
    "RECHECK_MONTHS",
    "CACHE_ENTRIES",
}


def instance_path() -> str | None:
    """The instance folder from TRACKER_INSTANCE_PATH (made absolute), else None: Flask's
    default, ``instance/`` beside the package in a checkout, ``<venv>/var/tracker-instance``
    when installed."""
    path = os.environ.get("TRACKER_INSTANCE_PATH")
    return os.path.abspath(path) if path else None


def load(app, test_config: dict | None = None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and the test mapping."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(DEFAULTS)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'tracker.sqlite3'}"
    app.config["MAIL_DIR"] = str(instance / "mail")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    app.config.from_pyfile("config.py", silent=True)
    for name, key in ENVIRONMENT.items():
        if os.environ.get(name):
            app.config[key] = os.environ[name]
    if test_config:
        app.config.update(test_config)
    app.config["BASE_URL_SET"] = app.config["BASE_URL"] != DEFAULTS["BASE_URL"]
    if os.environ.get("PORT", "").isascii() and os.environ.get("PORT", "").isdigit():
        follow_port(app, "127.0.0.1", int(os.environ["PORT"]))
    for key in INTEGER_KEYS:
        app.config[key] = int(app.config[key])
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["SESSION_COOKIE_SECURE"] = app.config["BASE_URL"].startswith("https://")
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    if not app.config.get("SECRET_KEY"):
        if app.config["ENV"] == "production":
            raise RuntimeError("TRACKER_SECRET_KEY must be set in production.")
        app.config["SECRET_KEY"] = _instance_secret(instance)


def follow_port(app, host: str, port: int) -> None:
    """In development, point BASE_URL at the server's own port unless it was set explicitly."""
    if app.config["BASE_URL_SET"] or app.config["ENV"] == "production":
        return
    if host in ("", "0.0.0.0", "::"):  # listening everywhere: links go to this machine
        host = "127.0.0.1"
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    app.config["BASE_URL"] = f"http://{host}:{port}"


def _normalise_db_url(url: str) -> str:
    """Use psycopg 3 for ``postgres://`` and ``postgresql://`` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _instance_secret(instance: Path) -> str:
    """Return a random development key kept in the instance folder."""
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
