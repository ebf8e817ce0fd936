"""One rendered page for every anonymous visitor: a server-side cache of public GET responses.

Public pages are read far more often than the data changes, and everyone who is not logged in
gets the same page. So an anonymous GET is answered from the cache when it holds the page for

    the address (host and path with query), the language and today's date

and the tables the page read when it was rendered are unchanged; otherwise Flask renders it
and it is stored with the versions of the tables it read. Each table has a version row
(``DataVersion``) that every commit writing to the table renews inside its own transaction
(tracker/transactions.py): the first request after a write, in any worker, misses on every page
that read that table and shows the change, while pages that did not read it stay (a progress
note re-renders the demand's page and the feeds, not the overview or the events). Which tables a
page read is taken from the SQL it ran, so no page has to declare it. A hit is answered by the
WSGI middleware ``PageCache`` before Flask sees the request: reading the versions (one statement
on a DB-API connection the thread keeps for it), one lookup, the stored headers (the security
headers among them) and body.

Never cached: a request with a session or remember cookie (staff, flashed messages, a form's
CSRF token), with an ``Authorization`` header (API tokens), anything but GET/HEAD and 200, a
response that sets a cookie or touched the session, and the staff, login and answer-link pages.
Cached responses carry an ``ETag`` and (once the second of their last change is over)
``Last-Modified``; conditional requests get a 304.

Memory: in-process (``SimpleCache``) at most ``CACHE_ENTRIES`` pages per worker, kept
compressed (gzip, and sent so to readers who accept it), none over ``CACHE_MAX_PAGE`` bytes
compressed; with ``CACHE_URL`` (``redis://…``) all workers share one Redis.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import os
import re
import threading
import time
import weakref
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask import Flask, Response, current_app, has_request_context, request, session
from flask_caching import Cache
from werkzeug.http import HTTP_STATUS_CODES, parse_accept_header, parse_cookie
from werkzeug.wrappers import Request

from tracker import locale_of, shipped
from tracker.domain.workdays import BERLIN, today
from tracker.extensions import db
from tracker.web.security import PERSONAL_BLUEPRINTS, headers_for

cache = Cache()

# The query arguments the public pages, feeds and the API read. A newsletter's tracking
# arguments are dropped before the page is looked up (and rendered: its links stay clean), so
# a link with ``?utm_source=…`` comes from the page everyone reads; an address with any other
# argument is rendered but neither looked up nor stored: random arguments would fill the cache
# with copies and push out the pages people read.
QUERY_ARGS = frozenset(
    {"state", "topic", "body", "event", "q", "page", "per_page", "year"}  # filters, the API
    | {"stand", "stelle", "jahr", "fassung", "next"}  # a demand's version, evidence, reports
)
TRACKING_ARGS = frozenset({"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "ref"})
UNCACHED_ENDPOINTS = frozenset({"public.healthz", "static", "public.favicon", "public.language"})
KEY = "tracker.page_key"
READS = "tracker.page_reads"  # the tables a page being rendered read


def init_app(app: Flask) -> None:
    """Bind the cache (in-process, or Redis with CACHE_URL); answer hits in front of Flask."""
    entries = int(app.config["CACHE_ENTRIES"])
    app.config["CACHE_ENTRIES"] = entries
    if entries <= 0:
        return
    if app.config["CACHE_URL"]:
        settings = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": app.config["CACHE_URL"],
            # a Redis that hangs must not hold the pages up: give up and render
            "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5},
        }
    else:
        # SimpleCache prunes once it holds more than its threshold, before adding one
        settings = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": entries - 1}
    # pages keep the security headers they were sent with: other headers (HSTS on), other pages
    security = hashlib.blake2b(repr(sorted(headers_for(app).items())).encode(), digest_size=4)
    prefix = f"page:{_release()}:{security.hexdigest()}:"
    settings |= {"CACHE_DEFAULT_TIMEOUT": 24 * 3600, "CACHE_KEY_PREFIX": prefix}
    cache.init_app(app, config=settings)
    app.wsgi_app = PageCache(app, app.wsgi_app)
    app.after_request(_store)


class PageCache:
    """WSGI middleware: answer an anonymous read from the cache before Flask sees it.

    A hit costs reading the tables' versions on the thread's own DB-API connection, one cache
    lookup and the WSGI answer; a page stored with other versions of the tables it read, or
    none, goes on to Flask with its key, and ``_store`` keeps what it rendered with the tables
    it read.
    """

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.backend = app.extensions["cache"][cache]
        with app.app_context():
            self.engine = db.engine
        sa.event.listen(self.engine, "before_cursor_execute", _note_reads)
        self.local = threading.local()  # each thread's connection for the versions
        # a pool of one shared connection (in-memory SQLite) keeps it: the data lives in it
        self.own_connections = isinstance(self.engine.pool, sa.pool.QueuePool)
        # every live thread's, as the closing of it: called when the thread ends (a server that
        # starts a thread per request, as the dev server does) or with the engine's pool
        self.opened: set[weakref.finalize] = set()
        self.generation = 0  # counts the disposals: a thread's older connection is closed
        sa.event.listen(self.engine, "engine_disposed", self._close_all)

    def __call__(self, environ, start_response):
        if self.anonymous_read(environ) and _known_query(environ):
            began = time.time()  # before the versions are read (see _conditional)
            versions = self.data_versions()
            if versions is not None:
                day = today()
                key = "|".join((locale_of(environ), str(day), _address(environ)))
                environ[KEY] = (key, versions, day, began)
                environ[READS] = set()
                stored = quietly(self.app, self.backend.get, key)
                if stored is not None and all(
                    versions.get(name, NEVER)[0] == token for name, token in stored[3]
                ):
                    return _answer(stored, environ, start_response, began)
        return self.wsgi_app(environ, start_response)

    def anonymous_read(self, environ: dict) -> bool:
        """Tell whether the request is one everyone gets the same answer to."""
        if environ["REQUEST_METHOD"] not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
            return False
        if "HTTP_COOKIE" not in environ:
            return True
        cookies = parse_cookie(environ["HTTP_COOKIE"])
        config = self.app.config
        remember = config.get("REMEMBER_COOKIE_NAME", "remember_token")
        return config["SESSION_COOKIE_NAME"] not in cookies and remember not in cookies

    def data_versions(self) -> dict[str, tuple] | None:
        """Return each written table's token and time of change (as the driver hands it back:
        ``changed_at`` reads it), or None if they cannot be read.

        They are read on a connection of this thread's own, kept out of the pool: a hit then
        pays neither a checkout with its ping nor the reset at checkin. A connection that fails
        is closed, and the next request opens a new one.
        """
        failures = (sa.exc.SQLAlchemyError, self.engine.dialect.dbapi.Error)
        try:
            connection = self._connection()
        except failures as error:  # the database is away: Flask renders the error page
            self.app.logger.warning("page cache off for this request: %s", error)
            return None
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT name, token, changed_at FROM data_versions")
            rows = cursor.fetchall()
            cursor.close()
        except failures as error:  # an old schema without the table, a lost connection
            self.app.logger.warning("page cache off for this request: %s", error)
            self._drop()
            return None
        finally:
            if not self.own_connections:
                connection.close()  # back to the pool
        return {name: (token, changed_at) for name, token, changed_at in rows}

    def _connection(self):
        """This thread's own DB-API connection in autocommit (each read sees the last commit),
        or a pooled one (see ``own_connections``)."""
        if not self.own_connections:
            return self.engine.raw_connection()
        own = getattr(self.local, "connection", None)
        if own is not None and self.local.opened_in == (os.getpid(), self.generation):
            return own
        pooled = self.engine.raw_connection()  # opened as the engine opens them (its pragmas)
        pooled.rollback()  # the pool's ping may have begun a transaction
        pooled.detach()  # ours now: closing it closes it
        own = pooled.dbapi_connection
        if self.engine.dialect.name == "postgresql":
            own.autocommit = True  # else every read would leave a transaction open
        # sqlite3 begins transactions only before writes: each SELECT reads the last commit
        # The thread's local goes when the thread ends, and with it this token, which closes the
        # connection: a thread per request would otherwise leave one open file per request.
        token = _ThreadEnd()
        closing = weakref.finalize(token, _close, own)
        self.opened = {f for f in self.opened if f.alive}
        self.opened.add(closing)
        self.local.connection, self.local.opened_in = own, (os.getpid(), self.generation)
        self.local.token, self.local.closing = token, closing
        return own

    def _drop(self) -> None:
        """Close this thread's own connection after an error (a new one next time)."""
        closing, self.local.connection = getattr(self.local, "closing", None), None
        if closing is not None:
            self.opened.discard(closing)
            closing()

    def _close_all(self, _engine) -> None:
        """Close every thread's own connection with the pool (tests, a restore, shutdown)."""
        self.generation += 1
        opened, self.opened = self.opened, set()
        for closing in opened:
            closing()


class _ThreadEnd:
    """Kept only in a thread's local: collected when the thread ends."""


def _close(connection) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 (broken already, or closed by its thread)
        pass


def changed_at(value) -> dt.datetime:
    """Return a version's time of change in UTC (SQLite hands it back as text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


NEVER = (None, None)  # the version of a table no commit has written yet


def _note_reads(_connection, _cursor, statement, *_args) -> None:
    """Note the tables of a statement run while an anonymous page renders (engine event)."""
    if has_request_context():
        reads = request.environ.get(READS)
        if reads is not None:
            reads |= _tables_in(statement)


_TABLES_IN: dict[str, frozenset[str]] = {}  # SQL text → the tables it names (SQL repeats)
_WORD = re.compile(r"\w+")


def _tables_in(statement: str) -> frozenset[str]:
    """Name the tables a statement mentions: every word of it that is a table's name.

    A column that shares a table's name only makes a page depend on one table more.
    """
    found = _TABLES_IN.get(statement)
    if found is None:
        if len(_TABLES_IN) >= 4096:  # IN lists of every length give new statements
            _TABLES_IN.clear()
        found = _TABLES_IN[statement] = frozenset(
            db.metadata.tables.keys() & set(_WORD.findall(statement))
        )
    return found


def _release() -> str:
    """Name the code and templates that render the pages: after an update (a new release, a
    changed template) the cache, which in Redis outlives restarts, never serves older pages.
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=8)
    for folder in (package, shipped("templates"), shipped("migrations")):  # a data migration too
        for path in sorted(folder.rglob("*")):
            if path.suffix in (".py", ".html", ".txt", ".mo", ".toml") and path.is_file():
                stat = path.stat()
                digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()


def quietly(app: Flask, operation, *args):
    """Run a cache operation; if the cache (Redis) is away, log it and carry on without it."""
    try:
        return operation(*args)
    except Exception as error:  # redis.ConnectionError, TimeoutError, …: render the page
        app.logger.warning("page cache unavailable: %s", error)
        return None


def _store(response: Response) -> Response:
    """Keep a rendered answer that every anonymous reader may get; mark it for revalidation."""
    found = request.environ.get(KEY)
    if found is None:  # not an anonymous read, or the data version could not be read
        return response
    if (
        response.status_code != 200
        or request.blueprint in PERSONAL_BLUEPRINTS
        or request.endpoint in UNCACHED_ENDPOINTS
        or response.direct_passthrough
        or "Content-Encoding" in response.headers
        or session.modified
        or "Set-Cookie" in response.headers
        or response.cache_control.private
        or response.cache_control.no_store
    ):
        return response
    body = response.get_data()
    packed = gzip.compress(body, 1, mtime=0)  # pages shrink about tenfold: 2 MB fit too
    if len(packed) > current_app.config["CACHE_MAX_PAGE"]:
        return response
    key, versions, day, began = found
    read = tuple(sorted((name, versions.get(name, NEVER)[0]) for name in request.environ[READS]))
    etag = hashlib.blake2b(body, digest_size=16).hexdigest()
    # pages count days (in Germany): the day began at midnight in Berlin, not in UTC, which
    # from 22:00 or 23:00 UTC on would lie in the future and keep every page from a date
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=BERLIN).astimezone(dt.UTC)
    changes = [changed_at(versions[name][1]) for name, token in read if token is not None]
    modified = max([midnight, *changes])
    response.last_modified = modified
    response.cache_control.public = True
    response.cache_control.max_age = 0
    response.cache_control.must_revalidate = True
    response.vary.update(("Accept-Language", "Cookie", "Accept-Encoding"))
    headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
    # the security headers come after this hook (tracker/web/security.py): a hit sends them too
    headers += [(k, v) for k, v in headers_for(current_app).items() if k not in response.headers]
    entry = (response.status_code, headers, packed, read, etag, modified.timestamp())
    quietly(current_app, cache.set, key, entry)
    _encode(response, request, packed, etag, body)
    return _conditional(response, request, began, modified.timestamp())


# what makes a request conditional (werkzeug's make_conditional answers these)
CONDITIONS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_MATCH",
    "HTTP_IF_UNMODIFIED_SINCE",
)


def _conditional(response: Response, request: Request, began: float, modified: float):
    """Answer a conditional request with 304 if the reader has this page.

    HTTP dates count whole seconds: a page changed twice within one second would carry the
    same ``Last-Modified`` both times, and a reader asking ``If-Modified-Since`` would get a
    304 for the older one. So the date is sent (and ``If-Modified-Since`` honoured) only when
    it lies two seconds or more before the versions were read: no later change can fall into
    its second. Nearer to a change, the ``ETag`` alone answers. The server sends ``Date``.
    """
    if not _dated(began, modified):
        del response.headers["Last-Modified"]
    if not any(name in request.environ for name in CONDITIONS):
        return response  # nothing to compare (most requests): a hit skips the parsing
    response = response.make_conditional(request)
    del response.headers["Date"]  # werkzeug adds one; the server (gunicorn …) adds its own
    return response


def _dated(began: float, modified: float) -> bool:
    """Tell whether ``Last-Modified`` may be sent (see ``_conditional``)."""
    return began - modified >= 2


def _answer(stored: tuple, environ: dict, start_response, began: float):
    """Send a stored page: a plain request as the WSGI answer itself, without building a
    response object (most hits); a conditional one through werkzeug's comparison."""
    status, headers, packed, _read, etag, modified = stored
    if any(name in environ for name in CONDITIONS):
        request = Request(environ)
        response = Response(status=status, headers=headers)
        _encode(response, request, packed, etag)
        return _conditional(response, request, began, modified)(environ, start_response)
    body, representation = _representation(environ, packed, etag)
    if not _dated(began, modified):
        headers = [(k, v) for k, v in headers if k != "Last-Modified"]
    headers = [*headers, *representation, ("Content-Length", str(len(body)))]
    start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
    return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _known_query(environ: dict) -> bool:
    """Drop tracking arguments from the query; tell whether every other one is one we read."""
    query = environ.get("QUERY_STRING", "")
    if not query:
        return True
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not (k.startswith("utm_") or k in TRACKING_ARGS)]
    if len(kept) < len(pairs):
        environ["QUERY_STRING"] = urlencode(kept)
    return all(name in QUERY_ARGS for name, _value in kept)


@lru_cache(maxsize=256)
def _takes_gzip(accept_encoding: str) -> bool:
    """Tell whether an ``Accept-Encoding`` header takes gzip (browsers send a handful)."""
    return bool(parse_accept_header(accept_encoding)["gzip"])


def _address(environ: dict) -> str:
    """The host and mount point too: absolute links come from TRACKER_BASE_URL, but should a
    page ever take one from the Host, a forged Host poisons no other key."""
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return (
        f"{environ['wsgi.url_scheme']}://{host}{environ.get('SCRIPT_NAME', '')}|"
        f"{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
    )


def _encode(response: Response, request: Request, packed: bytes, etag: str, body=None):
    """Give the page as kept (gzip) to a reader who accepts it, else unpacked.

    Browsers all accept gzip: they get a tenth of the bytes, and the cache's hit nothing to
    unpack. The gzip form is another representation, so it carries an ETag of its own.
    """
    data, headers = _representation(request.environ, packed, etag, body)
    response.set_data(data)
    for name, value in headers:
        response.headers[name] = value


def _representation(environ: dict, packed: bytes, etag: str, body: bytes | None = None):
    """Return the body for this reader (gzip as kept, or unpacked) and its headers."""
    if _takes_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")):
        return packed, [("Content-Encoding", "gzip"), ("ETag", f'"{etag}-gzip"')]
    return (gzip.decompress(packed) if body is None else body), [("ETag", f'"{etag}"')]
