"""The two baselines of bench/run.py: plain Flask apps, served by gunicorn like the tracker.

* ``bare()``: a short fixed HTML page — what any Flask page costs here at the least.
* ``same_sql()``: for each benchmarked URL, the SQL statements the tracker ran for it (captured by
  bench/run.py with SQLAlchemy's ``before_cursor_execute`` event, parameters included, pickled into
  ``BENCH_SQL_FILE``), replayed over one DB-API connection per worker (sqlite3 or psycopg, as the
  tracker's), their rows rendered by a minimal Jinja template. No ORM, no forms, no domain
  logic: what the page's data costs in Flask.

    BENCH_SQL_FILE=bench/results/sql-….pickle .venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 \
        --chdir bench 'baseline_app:same_sql()'
"""

from __future__ import annotations

import os
import pickle
import re

from flask import Flask, abort, request

BARE_PAGE = (
    '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Forderungen</title>'
    "</head><body><h1>Forderungen</h1><p>Eine kurze, feste Seite.</p></body></html>"
)
ROWS = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{{ path }}</title>
</head><body>{% for rows in results %}<table>{% for row in rows %}<tr>{% for value in row %}
<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}</table>{% endfor %}</body></html>"""


def bare() -> Flask:
    app = Flask(__name__)
    app.get("/")(lambda: BARE_PAGE)
    return app


def connect(url: str):
    """A DB-API connection to the tracker's database URL (SQLAlchemy form)."""
    if url.startswith("postgresql"):
        import psycopg

        return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    import sqlite3

    return sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)


def same_sql() -> Flask:
    with open(os.environ["BENCH_SQL_FILE"], "rb") as f:
        # {"url": database URL, "pages": {URL: [(SQL, parameters)]}, "missed": the same}
        captured = pickle.load(f)
    app = Flask(__name__)
    template = app.jinja_env.from_string(ROWS)
    connection = []  # opened in the worker, after gunicorn forked

    @app.get("/")
    @app.get("/<path:_path>")
    def replay(_path: str = ""):
        # bench/run.py's misses carry "_=n": the SQL of the page rendered without the cache
        kind = "missed" if "_" in request.args else "pages"
        address = re.sub(r"[?&]_=\d+$", "", request.full_path.removesuffix("?"))
        statements = captured[kind].get(address)
        if statements is None:
            abort(404)
        if not connection:
            connection.append(connect(captured["url"]))
        cursor = connection[0].cursor()
        results = []
        for sql, parameters in statements:
            cursor.execute(sql, parameters)
            results.append(cursor.fetchall() if cursor.description else [])
        connection[0].rollback()  # end the read transaction, as the tracker's session does
        return template.render(path=request.path, results=results)

    return app
