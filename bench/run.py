"""Benchmark the tracker: one table of ratios against two baselines, measured in the same run.

    make bench                        # = .venv/bin/python bench/run.py (under ten minutes)
    BENCH_ARGS=--quick make bench     # shorter rounds, a 15 s load step
    .venv/bin/python bench/run.py --only pages --only load

Steps (only 127.0.0.1 is contacted; every measurement is bounded in time and in requests):

1. pages — the 10k data set (bench/generate.py, cached in bench/results/, a copy per run) served
   by gunicorn (2 sync workers, TRACKER_ENV=production), beside bench/baseline_app.py's bare page
   and same-SQL baseline, served the same way. Every anonymous public page against the bare page;
   against the same-SQL baseline, which replays the SQL the tracker ran for that request: the
   staff pages, each page right after a progress note through the API (the most frequent write:
   pages that read no timeline stay cached through it; the baseline's requests follow the same
   writes), and each page rendered (a miss: an address with a query argument no page reads).
   Tracker and baseline take turns in alternating rounds. The queries per page after the note,
   rendered and cached.
2. scale — the cached path and the rendered page at 1k, 10k and 100k demands, beside the same SQL.
3. weekly — the scheduler's weekly job for 200 bodies against aiosmtpd, until the outbox is
   empty, beside raw smtplib sending the same finished messages; the process warmed up with one
   body's preview first, the time split into writing the digests and delivering them.
4. load — a throwaway PostgreSQL, 3 workers, 100 connections for 60 s on the overview and a demand
   page while a staff write lands every second: errors, timeouts, p50/p95/p99, each worker's
   memory, and whether every page fetched after a write shows it.

It prints one table and writes it to bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import pickle
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests"))  # tests/pgserver.py
sys.path.insert(0, str(ROOT))

import generate  # noqa: E402
import load  # noqa: E402

BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-not-for-production-0123456789abcdef"
BASE_URL = "http://127.0.0.1:5000"
TARGET = 0.5  # tracker ÷ baseline: requests/s, mails/s
P99_TARGET_MS = 500
API = {"Authorization": f"Bearer {generate.TOKEN}", "Content-Type": "application/json"}
STAFF_EMAIL, STAFF_PASSWORD = "referentin1@example.org", "bench"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query_budget() -> int | None:
    """The statements a page may run, as tests/test_query_budgets.py holds them."""
    found = re.search(
        r"^BUDGET = (\d+)", (ROOT / "tests" / "test_query_budgets.py").read_text(), re.M
    )
    return int(found[1]) if found else None


# --- pages ---------------------------------------------------------------------------------------


def public_pages(meta: dict) -> list[tuple[str, str]]:
    q = urllib.parse.urlencode({"state": "open", "body": meta["body_slug"], "q": meta["q"]})
    slug = meta["body_slug"]
    return [
        ("overview", "/"),
        ("overview, filtered", f"/?{q}"),
        ("demand page", f"/forderungen/{meta['demand_id']}"),
        ("bodies index", "/stellen/"),
        ("body page", f"/stellen/{slug}"),
        ("statistics", "/statistik"),
        ("workflow", "/ablauf"),
        ("events", "/veranstaltungen/"),
        ("event page", f"/veranstaltungen/{meta['event_slug']}"),
        ("consultations", "/beteiligungen"),
        ("dialogue", "/dialog"),
        ("feed", "/feed.atom"),
        ("iCal of a body", f"/stellen/{slug}/termine.ics"),
        ("API list", "/api/v1/demands"),
    ]


def staff_pages(meta: dict) -> list[tuple[str, str]]:
    return [
        ("staff start page", "/verwaltung/"),
        ("staff demand page", f"/verwaltung/forderungen/{meta['demand_id']}"),
    ]


def scale_pages(meta: dict) -> list[tuple[str, str]]:
    return [
        ("overview", "/"),
        ("demand page", f"/forderungen/{meta['demand_id']}"),
        ("body page", f"/stellen/{meta['body_slug']}"),
        ("API list", "/api/v1/demands"),
    ]


def write_path(meta: dict) -> str:
    return f"/api/v1/demands/{meta['scratch_demand_id']}/updates"


def write_body(n: int) -> bytes:
    return json.dumps({"text": f"Messung {n}: ein neuer Stand.", "is_public": True}).encode()


# --- servers -------------------------------------------------------------------------------------


class Gunicorn:
    """One gunicorn (sync workers) on a free port of 127.0.0.1; its log in bench/results/."""

    def __init__(self, name: str, app: str, env: dict, workers: int, chdir: Path = ROOT):
        self.name, self.port = name, free_port()
        self.log_path = RESULTS / f"gunicorn-{name}.log"
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                *("--workers", str(workers), "--worker-class", "sync"),
                *("--bind", f"127.0.0.1:{self.port}", "--timeout", "120"),
                *("--log-level", "warning", "--chdir", str(chdir), app),
            ],
            env={**os.environ, **env},
            cwd=str(chdir),
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait(self, path: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} gunicorn exited; see {self.log_path}")
            try:
                if load.get(self.port, path).status < 500:
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} gunicorn did not answer in {timeout} s")

    def worker_rss(self) -> list[int]:
        """Each worker's resident memory in MiB (from /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        sizes = []
        for pid in children.read_text().split():
            status = Path(f"/proc/{pid}/status").read_text()
            sizes.append(int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1]) // 1024)
        return sizes

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own session: gunicorn and workers
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log_file.close()


def tracker_env(url: str) -> dict:
    return {
        "TRACKER_DATABASE_URL": url,
        "TRACKER_ENV": "production",
        "TRACKER_SECRET_KEY": SECRET,
        "TRACKER_BASE_URL": BASE_URL,
    }


def start(url: str, workers: int, sql_file: Path | None = None, bare: bool = False) -> dict:
    """Start the tracker and, as asked, the same-SQL baseline and the bare page."""
    servers = {"tracker": Gunicorn("tracker", "tracker:create_app()", tracker_env(url), workers)}
    if sql_file:
        servers["same SQL"] = Gunicorn(
            "same-sql", "baseline_app:same_sql()", {"BENCH_SQL_FILE": str(sql_file)}, workers, BENCH
        )
    if bare:
        servers["bare"] = Gunicorn("bare", "baseline_app:bare()", {}, workers, BENCH)
    try:
        servers["tracker"].wait("/healthz")
        for name in ("same SQL", "bare"):
            if name in servers:
                servers[name].wait("/")
    except Exception:
        stop(servers)
        raise
    return servers


def stop(servers: dict) -> None:
    for server in servers.values():
        server.stop()


def login_form(page: bytes, cookie: str = "") -> tuple[bytes, dict]:
    """The body and headers that log the staff user in, from the login page as served."""
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)[1].decode()
    body = urllib.parse.urlencode(
        {"csrf_token": token, "email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    ).encode()
    return body, {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}


def staff_cookie(port: int) -> str:
    """Log in through the form, as a browser does; return the Cookie header of the session."""
    page = load.get(port, "/anmelden")
    body, headers = login_form(page.body, cookies(page))
    answer = load.post(port, "/anmelden", body, headers)
    if answer.status != 302:
        raise RuntimeError(f"staff login answered {answer.status}")
    return cookies(answer)


def cookies(response: load.Response) -> str:
    lines = response.headers.get("set-cookie", "").splitlines()
    return "; ".join(line.split(";")[0] for line in lines)


# --- the SQL of each page (in-process), for the same-SQL baseline and the query counts ----------


def capture(url: str, meta: dict, pages: list[str], staff: list[str], path: Path) -> dict:
    """Request each page in-process right after a write, then as a miss (``missed``: with a
    query argument it ignores, so that no cached page answers), then once more (cached).

    Pickle both requests' SQL for the same-SQL baseline; return the statements of each:
    ``(after the write, missed, cached)``. After the write, a page that read none of the tables
    the write wrote comes from the cache (no statements).
    """
    import sqlalchemy as sa

    from tracker import create_app
    from tracker.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "ENV": "production",
            "BASE_URL": BASE_URL,
        }
    )
    statements: list[tuple[str, object]] = []
    with app.app_context():
        sa.event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, parameters, _ctx, _many: statements.append((sql, parameters)),
        )
    anonymous, staff_client = app.test_client(), app.test_client()
    body, headers = login_form(staff_client.get("/anmelden").data)
    answer = staff_client.post("/anmelden", data=body, content_type=headers["Content-Type"])
    if answer.status_code != 302:
        raise RuntimeError(f"in-process staff login answered {answer.status_code}")
    after_write, missed, counts = {}, {}, {}
    for n, page in enumerate([*pages, *staff]):
        client = staff_client if page in staff else anonymous
        client.get(page)  # in the cache (a public page) before the write
        written = anonymous.post(write_path(meta), data=write_body(-n), headers=API)
        if written.status_code != 201:
            raise RuntimeError(f"the API write answered {written.status_code}")
        statements.clear()
        if client.get(page).status_code != 200:
            continue
        after_write[page] = list(statements)
        statements.clear()
        client.get(missed_path(page, 0))
        missed[page] = list(statements)
        statements.clear()
        client.get(page)
        counts[page] = (len(after_write[page]), len(missed[page]), len(statements))
    with app.app_context():
        db.engine.dispose()
    path.write_bytes(pickle.dumps({"url": url, "pages": after_write, "missed": missed}))
    return counts


def missed_path(path: str, n: int) -> str:
    """``path`` with a query argument no page reads: a new address, which no cached page has."""
    return f"{path}{'&' if '?' in path else '?'}{MISS}={n}"


# bench/baseline_app.py replays the missed request's SQL for such an address. The page cache
# renders it without storing it (tracker/web/page_cache.py, QUERY_ARGS): the store (gzip at
# level 1 and a digest, about a millisecond) is in the rows after a write, which store the page.
MISS = "_"


# --- measurements --------------------------------------------------------------------------------


@dataclass
class Row:
    measurement: str
    tracker: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None  # None: nothing to compare


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def ratio_row(measurement: str, tracker: load.Load, base: load.Load, base_name: str) -> Row:
    ratio = tracker.rps / base.rps if base.rps else None
    clean = not (tracker.errors or tracker.timeouts or tracker.failed_checks)
    return Row(
        measurement,
        tracker.cell(),
        f"{base_name}: {base.cell()}",
        ratio,
        f"≥ {TARGET}",
        ratio is not None and ratio >= TARGET and clean,
    )


def cold_load(
    port: int, path: str, meta: dict, seconds: float, counter: list[int], writer: int
) -> load.Load:
    """Sequential: a staff write through the tracker's API (on port ``writer``), then the page
    on ``port`` (only the page is timed). The baseline's pages follow the same writes: a write
    keeps the machine busy for a while after its answer (the worker's commit, SQLite's
    journal): it slowed even the bare page from 0.46 to 0.69 ms (p50 of 300 requests each,
    4 Dec 2026), so a baseline without the writes compared a page after a write with one
    served in quiet."""

    def after_a_write() -> str:
        counter[0] += 1
        written = load.post(writer, write_path(meta), write_body(counter[0]), API)
        if written.status != 201:
            raise RuntimeError(f"the API write answered {written.status}: {written.body[:200]}")
        return path

    return one_at_a_time(port, seconds, after_a_write)


def missed_load(port: int, path: str, seconds: float, counter: list[int]) -> load.Load:
    """Sequential: the page at an address no cached page has, so that each request renders."""

    def new_address() -> str:
        counter[0] += 1
        return missed_path(path, counter[0])

    return one_at_a_time(port, seconds, new_address)


def one_at_a_time(port: int, seconds: float, next_path) -> load.Load:
    """Request ``next_path()`` (which may write first) one at a time; time only the page."""
    result = load.Load()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline or not (result.requests or result.errors):
        answer = load.get(port, next_path())
        if answer.status != 200:
            result.errors += 1
            continue
        result.latencies.append(answer.seconds)
        result.seconds += answer.seconds
    return result


def sequential_load(port: int, path: str, seconds: float) -> load.Load:
    """One request after the other on one connection at a time, for comparison with
    cold_load and missed_load."""
    result = load.hammer(port, path, seconds, 1)
    result.seconds = sum(result.latencies)
    return result


def alternate(measure: dict, rounds: int) -> dict[str, load.Load]:
    """Run each measurement ``rounds`` times, taking turns, so that all see the same machine."""
    totals = {name: load.Load() for name in measure}
    for i in range(rounds):
        for name in list(measure)[:: 1 if i % 2 == 0 else -1]:
            totals[name].add(measure[name]())
    return totals


def measure_pages(report: Report, url: str, meta: dict, args, scratch: Path) -> None:
    public, staff = public_pages(meta), staff_pages(meta)
    sql_file = scratch / "sql-10k.pickle"
    counts = capture(url, meta, [p for _, p in public], [p for _, p in staff], sql_file)
    servers = start(url, args.workers, sql_file, bare=True)
    tracker, same_sql, bare = servers["tracker"], servers["same SQL"], servers["bare"]
    writes = [0]
    try:
        cookie = {"Cookie": staff_cookie(tracker.port)}
        for label, path in public:
            if path not in counts:
                report.rows.append(Row(f"{label} `{path}`", "not 200", "–", None, "", False))
                continue
            for server in (tracker, bare):  # warm every worker
                load.hammer(server.port, path if server is tracker else "/", 5, 4, max_requests=4)
            totals = alternate(
                {
                    "tracker": partial(load.hammer, tracker.port, path, args.slice, 4),
                    "bare": partial(load.hammer, bare.port, "/", args.slice, 4),
                },
                args.rounds,
            )
            report.rows.append(
                ratio_row(f"{label} `{path}`", totals["tracker"], totals["bare"], "bare page")
            )
            log(f"{label}: {report.rows[-1].tracker} | bare {totals['bare'].rps:,.0f} rps")
        for label, path in staff:
            totals = alternate(
                {
                    "tracker": partial(
                        load.hammer, tracker.port, path, args.slice, 4, headers=cookie
                    ),
                    "same SQL": partial(load.hammer, same_sql.port, path, args.slice, 4),
                },
                args.rounds,
            )
            report.rows.append(
                ratio_row(f"{label} `{path}`", totals["tracker"], totals["same SQL"], "same SQL")
            )
            log(f"{label}: {report.rows[-1].tracker} | {report.rows[-1].baseline}")
        misses = [0]
        for label, path in public:
            if path not in counts:
                continue
            kept = counts[path][0] == 0
            after_note = partial(
                cold_load, path=path, meta=meta, seconds=args.slice, counter=writes
            )
            missed = missed_path(path, 0)
            for name, measure, baseline in (
                (
                    "after a progress note" + (" (kept: it read nothing the note wrote)" * kept),
                    partial(after_note, tracker.port, writer=tracker.port),
                    partial(after_note, same_sql.port, writer=tracker.port),
                ),
                (
                    "rendered (a miss)",
                    partial(missed_load, tracker.port, path, args.slice, misses),
                    partial(sequential_load, same_sql.port, missed, args.slice),
                ),
            ):
                totals = alternate({"tracker": measure, "same SQL": baseline}, args.rounds)
                report.rows.append(
                    ratio_row(
                        f"{name}: {label} `{path}`",
                        totals["tracker"],
                        totals["same SQL"],
                        "same SQL",
                    )
                )
                log(f"{name} {label}: {report.rows[-1].tracker} | {report.rows[-1].baseline}")
    finally:
        stop(servers)
    budget = query_budget()
    lines = [
        "| page | statements after a progress note (the same-SQL baseline's) | rendered, a miss "
        "(the baseline's) | cached |",
        "| --- | --- | --- | --- |",
    ]
    for _label, path in [*public, *staff]:
        if path in counts:
            after, missed, cached = counts[path]
            over = (
                " (over the budget)"
                if budget and missed > budget and path in dict(public).values()
                else ""
            )
            lines.append(
                f"| `{path}` | {after or '0 (kept in the cache)'} | {missed}{over} | {cached} |"
            )
    worst = max((counts[p][1], p) for _, p in public if p in counts)
    report.rows.append(
        Row(
            "statements per public page, rendered (tests/test_query_budgets.py)",
            f"at most {worst[0]} (`{worst[1]}`)",
            "–",
            None,
            f"≤ {budget}",
            budget is None or worst[0] <= budget,
        )
    )
    kept = [p for _, p in public if p in counts and counts[p][0] == 0]
    report.tables += [
        f"Statements per request (in-process, {len(counts)} pages; the staff pages logged in). "
        f"A progress note writes a timeline entry: {len(kept)} of {len(public)} public pages read "
        "no timeline and stay in the cache through it.",
        "",
        *lines,
        "",
    ]
    report.notes.append(
        f"- after a progress note: each request follows a public progress note through the API "
        f"on demand {meta['scratch_demand_id']} ({writes[0]} writes); rendered (a miss): each "
        f"request has a query argument `{MISS}=n` no page reads, so no cached page answers "
        f"({misses[0]} requests). Only the page is timed, one request at a time, the same-SQL "
        "baseline likewise one at a time, replaying the statements the tracker ran for it"
    )


def measure_scale(report: Report, args, scratch: Path) -> None:
    """Requests/s of the cached path and the rendered page at each size, beside the same SQL's."""
    sizes = ["1k", "10k", "100k"]
    results: dict[tuple[str, str], dict[str, float]] = {}
    for size in sizes:
        url, meta = dataset(size, scratch)
        pages = scale_pages(meta)
        sql_file = scratch / f"sql-{size}.pickle"
        capture(url, meta, [p for _, p in pages], [], sql_file)
        servers = start(url, args.workers, sql_file)
        tracker, same_sql = servers["tracker"], servers["same SQL"]
        try:
            for label, path in pages:
                load.hammer(tracker.port, path, 5, 4, max_requests=4)
                totals = alternate(
                    {
                        "cached": partial(load.hammer, tracker.port, path, args.scale_slice, 4),
                        "rendered": partial(missed_load, tracker.port, path, args.scale_slice, [0]),
                        "same SQL": partial(
                            sequential_load, same_sql.port, missed_path(path, 0), args.scale_slice
                        ),
                    },
                    1,
                )
                for name, total in totals.items():
                    results.setdefault((label, name), {})[size] = total.rps
                log(
                    f"{size} {label}: "
                    + ", ".join(f"{n} {t.rps:,.1f} rps" for n, t in totals.items())
                )
        finally:
            stop(servers)
    lines = [
        "| page | path | " + " | ".join(f"{s} demands" for s in sizes) + " | 100k ÷ 1k |",
        "| --- | --- | " + "--- | " * len(sizes) + "--- |",
    ]
    for (label, name), by_size in results.items():
        growth = by_size["100k"] / by_size["1k"] if by_size.get("1k") else 0
        lines.append(
            f"| {label} | {name} | "
            + " | ".join(load.rate(by_size[s]) for s in sizes)
            + f" | {growth:.2f} |"
        )
    report.tables += [
        "How cost grows: requests/s at 1k, 10k and 100k demands (10 timeline entries each, 50 "
        "bodies; cached: 4 connections; rendered: one request at a time, each a miss; same "
        "SQL: the rendered request's SQL, one at a time):",
        "",
        *lines,
        "",
    ]


def dataset(size: str, scratch: Path) -> tuple[str, dict]:
    """A scratch copy of the cached SQLite data set (the bench writes into it)."""
    path, meta = generate.ensure_sqlite(size, log)
    copy = scratch / f"{size}.sqlite3"
    if not copy.exists():
        shutil.copyfile(path, copy)
    return f"sqlite:///{copy}", meta


# --- the weekly run ------------------------------------------------------------------------------


def smtp_sink(port: int) -> None:
    """Run aiosmtpd on 127.0.0.1:``port``; answer 'count' on stdin with the messages received."""
    from aiosmtpd.controller import Controller

    class Counter:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            self.count += 1
            return "250 OK"

    handler = Counter()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "count":
                print(handler.count, flush=True)
    finally:
        controller.stop()


class Sink:
    """The SMTP sink in its own process, so that it does not share a GIL with the sender."""

    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--smtp-sink", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def count(self) -> int:
        self.process.stdin.write("count\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(15)


def log_tracker_to(path: Path):
    """Log the tracker at INFO into ``path``, as a scheduler logs into its journal; return undo.

    Whether the process generated a data set first must not change the measurement: the
    migrations' ``fileConfig`` then sets the root logger to WARNING and disables the loggers
    that exist, and the weekly run would skip the line it logs per message.
    """
    logger = logging.getLogger("tracker")
    saved = logger.level, logger.propagate, logger.handlers[:]
    handler = logging.FileHandler(path)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    )
    for name, item in logging.root.manager.loggerDict.items():
        if (name == "tracker" or name.startswith("tracker.")) and isinstance(item, logging.Logger):
            item.disabled = False
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers = [handler]

    def undo() -> None:
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate, logger.handlers = saved[1], saved[2]

    return undo


def measure_weekly(report: Report, profile: str, scratch: Path) -> None:
    """The scheduler's weekly job and the flushes until the outbox is empty, then raw smtplib
    sending the same finished messages (built by the tracker's own builder) to the same sink.
    """
    import smtplib
    from email.utils import getaddresses

    import sqlalchemy as sa

    from tracker import create_app
    from tracker.domain.models import OutboxMessage
    from tracker.extensions import db
    from tracker.jobs import scheduler, sender
    from tracker.services import outbox, reminders

    url, meta = dataset(profile, scratch)
    sink = Sink()
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": SECRET,
                "ENV": "production",
                "SMTP_URL": f"smtp://127.0.0.1:{sink.port}?timeout=30",
                "MAIL_DIR": str(scratch / "mail"),
                "BASE_URL": "https://forderungen.example.org",
            }
        )
        undo_logging = log_tracker_to(scratch / "weekly.log")
        with app.app_context():
            # A running scheduler has rendered before: compile the templates, load the holiday
            # tables and the catalogue with one body's preview (its ten demands of the 2,000),
            # as the raw baseline runs warm after the tracker. Nothing is written.
            reminders.render_digests(reminders.build_digests(body_slug=meta["body_slug"]))
            db.session.rollback()
            flushes = []
            flush = sender.flush

            def timed_flush(*args, **kwargs):
                flush_began = time.perf_counter()
                try:
                    return flush(*args, **kwargs)
                finally:
                    flushes.append(time.perf_counter() - flush_began)

            sender.flush = timed_flush  # the job calls it through the module: time the sending
            try:
                began = time.perf_counter()
                result = scheduler.weekly_digest()
                while sender.flush(limit=100_000)["sent"]:  # what the job's flush left
                    pass
                tracker_s = time.perf_counter() - began
            finally:
                sender.flush = flush
                undo_logging()
            send_s = sum(flushes)
            finished = []
            sent = sa.select(OutboxMessage).where(OutboxMessage.status == "sent")
            for message in db.session.scalars(sent.order_by(OutboxMessage.id)):
                email = outbox.build_email(message)  # flattened as smtplib's send_message does
                heads = [email.get_all(h, []) for h in ("To", "Cc", "Bcc")]
                recipients = [a for _, a in getaddresses([x for h in heads for x in h])]
                del email["Bcc"]
                data = email.as_bytes(policy=email.policy.clone(linesep="\r\n"))
                finished.append((email["From"], recipients, data))
            db.engine.dispose()
        received = sink.count()
        raw_began = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
            for sender_address, recipients, data in finished:
                smtp.sendmail(sender_address, recipients, data)
        raw_s = time.perf_counter() - raw_began
        raw_received = sink.count() - received
    finally:
        sink.stop()
    n = len(finished)
    ratio = raw_s / tracker_s if tracker_s else None
    report.rows.append(
        Row(
            f"weekly run: {meta['counts']['bodies']:,} bodies × 10 open demands, SMTP to aiosmtpd",
            f"{tracker_s:,.2f} s ({n / tracker_s:,.0f} mails/s; writing "
            f"{tracker_s - send_s:,.2f} s, delivering {send_s:,.2f} s; {result})",
            f"raw smtplib: {raw_s:,.2f} s ({n / raw_s:,.0f} mails/s)",
            ratio,
            f"≥ {TARGET}",
            ratio is not None and ratio >= TARGET and received == raw_received == n,
        )
    )
    log(
        f"weekly: tracker {tracker_s:.2f} s (delivering {send_s:.2f} s), raw smtplib {raw_s:.2f} s "
        f"({n} messages)"
    )


# --- load on PostgreSQL --------------------------------------------------------------------------


def total_demands(body: bytes) -> int | None:
    """The overview's count of matching demands („10.000 Forderungen“)."""
    found = re.search(rb"(\d[\d.,\xc2\xa0\xe2\x80\xaf]*) Forderungen</h2>", body)
    return int(re.sub(rb"\D", b"", found[1])) if found else None


def measure_load(report: Report, args) -> None:
    """100 connections on the overview and a demand page; a staff write every second."""
    from pgserver import PostgresServer

    pg = PostgresServer()
    pg.start()
    try:
        log("load: generating the 10k data set into PostgreSQL ...")
        url = pg.create_database("bench")
        meta = generate.generate(url, "10k")
        servers = start(url, 3)
        tracker = servers["tracker"]
        overview, demand = "/", f"/forderungen/{meta['demand_id']}"
        try:
            for path in (overview, demand):  # warm every worker
                load.hammer(tracker.port, path, 5, 6, max_requests=12)
            base_total = total_demands(load.get(tracker.port, overview).body)
            outcome = asyncio.run(
                load_with_writes(tracker, meta, overview, demand, base_total, args.load_seconds)
            )
        finally:
            stop(servers)
    finally:
        pg.stop()
    loads, writes, rss = outcome
    for label, path in (("overview", overview), ("demand page", demand)):
        result = loads[path]
        ok = (
            result.percentile(99) < P99_TARGET_MS
            and not (result.errors or result.timeouts or result.failed_checks)
            and writes["failed"] == 0
        )
        report.rows.append(
            Row(
                f"load: {label} `{path}`, PostgreSQL, 3 workers, 100 connections for "
                f"{args.load_seconds} s, a staff write every second",
                f"{load.rate(result.rps)} rps, p50 {result.percentile(50):,.0f} / p95 "
                f"{result.percentile(95):,.0f} / p99 {result.percentile(99):,.0f} ms; "
                f"{result.errors} errors, {result.timeouts} timeouts, "
                f"{result.failed_checks} stale of {result.requests:,}",
                "–",
                None,
                f"p99 < {P99_TARGET_MS} ms, no errors, timeouts or stale pages",
                ok,
            )
        )
    report.notes.append(
        f"- load: {writes['done']} writes (each a new demand and a progress note on demand "
        f"{meta['demand_id']}, through the API), {writes['failed']} failed; a page fetched after "
        "a write counts as stale unless it shows it (the overview's count, the demand's note); "
        "worker memory (RSS) after warm-up / at the end / at most: "
        + ", ".join(f"{a} / {b} / {c} MiB" for a, b, c in rss)
    )


async def load_with_writes(tracker, meta, overview, demand, base_total, seconds):
    """Hammer both pages with 100 connections while a writer adds a demand and a progress note
    every second; every page begun after a write had completed must show that write.
    """
    done: list[tuple[float, int]] = []  # (monotonic time it landed, write number)
    writes = {"done": 0, "failed": 0}
    first_rss = tracker.worker_rss()
    peak = list(first_rss)
    deadline = time.monotonic() + seconds

    def check(path: str, response: load.Response) -> bool:
        landed = [n for at, n in done if at <= response.started]
        if path == overview:  # each write added a demand
            shown = total_demands(response.body)
            return (
                shown is not None and base_total is not None and shown - base_total >= len(landed)
            )
        marks = {int(m) for m in re.findall(rb"Lastprobe (\d+)", response.body)}
        return not landed or max(landed) in marks  # the latest note that had landed

    async def write(path: str, body: dict) -> int:
        answer = await load.fetch(
            tracker.port, path, method="POST", headers=API, body=json.dumps(body).encode()
        )
        return answer.status

    async def write_both(n: int) -> None:
        lead = [{"slug": meta["body_slug"], "role": "lead"}]
        try:
            statuses = [
                await write(
                    "/api/v1/demands",
                    {"title": f"Lastprobe {n}", "text": "Aus dem Lasttest.", "bodies": lead},
                ),
                await write(
                    f"/api/v1/demands/{meta['demand_id']}/updates",
                    {"text": f"Lastprobe {n}: ein neuer Stand.", "is_public": True},
                ),
            ]
        except (OSError, ValueError, TimeoutError) as error:
            statuses = [repr(error)]
        if statuses == [201, 201]:
            done.append((time.monotonic(), n))
            writes["done"] += 1
        else:
            writes["failed"] += 1
            log(f"load: write {n} answered {statuses}")

    async def writer() -> None:
        """Start a write every second, whether or not the one before has landed."""
        started = []
        while time.monotonic() < deadline - 0.5:
            tick = time.monotonic()
            started.append(asyncio.create_task(write_both(len(started) + 1)))
            peak[:] = [max(a, b) for a, b in zip(peak, tracker.worker_rss(), strict=False)]
            await asyncio.sleep(max(0.0, tick + 1 - time.monotonic()))
        await asyncio.gather(*started)

    loads, _ = await asyncio.gather(
        load.hammer_async(tracker.port, [overview, demand], seconds, 100, check=check),
        writer(),
    )
    last = tracker.worker_rss()
    rss = [(a, b, max(b, c)) for a, b, c in zip(first_rss, last, peak, strict=False)]
    return loads, writes, rss


# --- output --------------------------------------------------------------------------------------


def render(report: Report, header: list[str]) -> str:
    lines = [
        "| measurement | tracker | baseline | ratio | target | ok |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in report.rows:
        ratio = "–" if r.ratio is None else f"{r.ratio:.2f}"
        ok = {True: "yes", False: "**no**", None: "–"}[r.ok]
        lines.append(
            f"| {r.measurement} | {r.tracker} | {r.baseline} | {ratio} | {r.target} | {ok} |"
        )
    return "\n".join([*header, "", *lines, "", *report.tables, *report.notes, ""])


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the tracker against two baselines.")
    parser.add_argument("--quick", action="store_true", help="short rounds (about three minutes)")
    parser.add_argument(
        "--only", choices=("pages", "scale", "weekly", "load"), action="append", help="repeatable"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (not for load)")
    parser.add_argument("--smtp-sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_sink:
        smtp_sink(args.smtp_sink)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    args.rounds = 2
    args.slice = 0.6 if args.quick else 1.0  # seconds per round and app
    args.scale_slice = 0.6 if args.quick else 1.0
    args.load_seconds = 15 if args.quick else 60
    steps = args.only or ["pages", "scale", "weekly", "load"]
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    report = Report()
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        for size in ("1k", "10k", "100k") if "scale" in steps else ("10k",):
            generate.ensure_sqlite(size, log)  # before any clock starts
        steps_run = {
            "pages": lambda: measure_pages(report, *dataset("10k", scratch), args, scratch),
            "scale": lambda: measure_scale(report, args, scratch),
            "weekly": lambda: measure_weekly(report, "weekly", scratch),
            "load": lambda: measure_load(report, args),
        }
        took = []
        for step, run_step in steps_run.items():
            if step in steps:
                began = time.perf_counter()
                run_step()
                took.append(f"{step} {time.perf_counter() - began:,.0f} s")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _, meta = generate.ensure_sqlite("10k", log)
    c = meta["counts"]
    header = [
        f"Benchmark of {dt.datetime.now().astimezone().isoformat(timespec='minutes')}"
        f"{' (--quick)' if args.quick else ''} on {os.cpu_count()} cores, Python "
        f"{platform.python_version()}: SQLite (the load step: PostgreSQL), gunicorn "
        f"{args.workers} sync workers per app (the load step: 3); {args.rounds} alternating "
        f"rounds of {args.slice:g} s per page and app, 4 connections (asyncio, bench/load.py).",
        f"Data set: {c['demands']:,} demands, {c['bodies']} bodies, {c['timeline_entries']:,} "
        f"timeline entries, {c['events']} events, {c['consultations']} consultations, "
        f"{c['meetings']} meetings; demand page: {meta['demand_public_entries']} public entries; "
        f"body page: {meta['body_public_demands']} demands (the median body). Ratio: tracker ÷ "
        "baseline in requests (mails) per second; the bare page is a fixed short HTML page, the "
        "same-SQL baseline replays the tracker's statements for that page.",
    ]
    report.notes.append(
        f"- whole run: {time.perf_counter() - started:,.0f} s ({', '.join(took)}); load average "
        "(1 min) "
        f"{load_before:.1f} before, {os.getloadavg()[0]:.1f} at the end"
    )
    text = render(report, header)
    print(text)
    (RESULTS / "latest.md").write_text(text)
    log("written to bench/results/latest.md")


if __name__ == "__main__":
    main()
