"""One rendered page for every anonymous visitor: a server-side cache of public GET responses.

Public pages are read far more often than the data changes, and everyone who is not logged in
gets the same page. So an anonymous GET is answered from the cache when it holds the page for

    the address (host and path with query), the language, today's date and the data version

and otherwise rendered and stored. The data version is one row (``DataVersion``) that every
commit touching public data renews inside its own transaction (tracker/transactions.py): the
first request after a write, in any worker, misses and shows it. Reading the version costs one
small statement per request.

Never cached: a request with a session or remember cookie (staff, flashed messages, a form's
CSRF token), with an ``Authorization`` header (API tokens), anything but GET/HEAD and 200, a
response that sets a cookie or touched the session, and the staff, login and answer-link pages.
Cached responses carry an ``ETag`` and ``Last-Modified``; conditional requests get a 304.

Memory: in-process (``SimpleCache``) at most ``CACHE_ENTRIES`` pages per worker, none over
``CACHE_MAX_PAGE`` bytes; with ``CACHE_URL`` (``redis://…``) all workers share one Redis.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, Response, current_app, request, session
from flask_babel import get_locale
from flask_caching import Cache

from tracker import shipped
from tracker.domain.models import DataVersion
from tracker.domain.workdays import today
from tracker.extensions import db

cache = Cache()

UNCACHED_BLUEPRINTS = frozenset({"staff", "auth", "answer"})
UNCACHED_ENDPOINTS = frozenset({"public.healthz", "static", "public.favicon", "public.language"})
KEY = "tracker.page_key"
HIT = "tracker.page_hit"


def init_app(app: Flask) -> None:
    """Bind the cache (in-process, or Redis with CACHE_URL) and the request hooks."""
    entries = int(app.config["CACHE_ENTRIES"])
    app.config["CACHE_ENTRIES"] = entries
    if entries <= 0:
        settings = {"CACHE_TYPE": "NullCache", "CACHE_NO_NULL_WARNING": True}
    elif app.config["CACHE_URL"]:
        settings = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": app.config["CACHE_URL"],
            # a Redis that hangs must not hold the pages up: give up and render
            "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    else:
        # SimpleCache prunes once it holds more than its threshold, before adding one
        settings = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": entries - 1}
    settings |= {"CACHE_DEFAULT_TIMEOUT": 24 * 3600, "CACHE_KEY_PREFIX": f"page:{_release()}:"}
    cache.init_app(app, config=settings)
    if entries > 0:
        app.before_request(_serve_from_cache)
        app.after_request(_store)


def _release() -> str:
    """Name the code and templates that render the pages: after an update (a new release, a
    changed template) the cache, which in Redis outlives restarts, never serves older pages.
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=8)
    for folder in (package, shipped("templates")):
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".html", ".txt", ".mo", ".toml") and path.is_file():
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def _quietly(operation, *args):
    """Run a cache operation; if the cache (Redis) is away, log it and carry on without it."""
    try:
        return operation(*args)
    except Exception as error:  # redis.ConnectionError, TimeoutError, …: render the page
        current_app.logger.warning("page cache unavailable: %s", error)
        return None


def _cacheable_request() -> bool:
    if request.method not in ("GET", "HEAD") or request.endpoint is None:
        return False
    if request.blueprint in UNCACHED_BLUEPRINTS or request.endpoint in UNCACHED_ENDPOINTS:
        return False
    config = current_app.config
    cookies = request.cookies
    if (
        config["SESSION_COOKIE_NAME"] in cookies
        or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
    ):
        return False
    return "Authorization" not in request.headers


def data_version() -> tuple[str, dt.datetime | None] | None:
    """Return the data version's token and time, or None if it cannot be read."""
    try:
        row = db.session.execute(
            sa.select(DataVersion.token, DataVersion.changed_at).where(DataVersion.id == 1)
        ).first()
    except sa.exc.SQLAlchemyError:  # no table yet (an old schema), or the database is away
        db.session.rollback()
        current_app.logger.warning("page cache off for this request: no data version")
        return None
    return (row.token, row.changed_at) if row else ("", None)


def _serve_from_cache():
    if not _cacheable_request():
        return None
    found = data_version()
    if found is None:
        return None
    token, changed_at = found
    day = today()
    # the host too: a page with absolute links (the report) must not reach another host's readers
    key = f"{get_locale()}|{day.isoformat()}|{token}|{request.host_url}|{request.full_path}"
    request.environ[KEY] = (key, changed_at, day)  # not g: tests share one app context
    stored = _quietly(cache.get, key)
    if stored is None:
        return None
    status, headers, body = stored
    request.environ[HIT] = True
    response = Response(body, status=status, headers=headers)
    return response.make_conditional(request)


def _store(response: Response) -> Response:
    found = request.environ.get(KEY)
    if found is None or request.environ.get(HIT):
        return response
    key, changed_at, day = found
    if (
        response.status_code != 200
        or response.direct_passthrough
        or session.modified
        or "Set-Cookie" in response.headers
        or response.cache_control.private
        or response.cache_control.no_store
    ):
        return response
    body = response.get_data()
    if len(body) > current_app.config["CACHE_MAX_PAGE"]:
        return response
    response.set_etag(hashlib.blake2b(body, digest_size=16).hexdigest())
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)  # pages count days too
    response.last_modified = max(changed_at, midnight) if changed_at else midnight
    response.cache_control.public = True
    response.cache_control.max_age = 0
    response.cache_control.must_revalidate = True
    response.vary.update(("Accept-Language", "Cookie"))
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    _quietly(cache.set, key, (response.status_code, headers, body))
    return response.make_conditional(request)
