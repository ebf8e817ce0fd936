"""Benchmark the tracker against a bare-Flask baseline; print and save one table.

    .venv/bin/python bench/run.py            # full run, SQLite (under ten minutes on 2 cores)
    .venv/bin/python bench/run.py --quick    # shorter measurements (under two minutes)
    .venv/bin/python bench/run.py --postgres # the same on a throwaway PostgreSQL
    make bench                               # = the full run; BENCH_ARGS="--quick" make bench

What it does:

1. generates the data sets (bench/generate.py; cached in bench/results/ for SQLite),
2. starts gunicorn (2 sync workers on 127.0.0.1, a free port) for ``tracker:create_app()``
   (TRACKER_ENV=production) and for ``bench/baseline_app.py``, and measures requests per second and
   latency p50/p95/p99 for each page, tracker and baseline one after the other in the same run
   (``wrk`` if installed, else a small keep-alive http.client load generator in threads),
3. times the weekly run for 1,000 bodies with 10 open demands each against a local aiosmtpd server
   (``reminders.write_digests()`` + ``sender.flush()``) beside raw smtplib sending the same
   pre-rendered messages,
4. times the app start (``create_app()`` in a fresh interpreter) beside a bare Flask app's,
5. prints | measurement | tracker | baseline | ratio | target | ok | and writes it to
   bench/results/latest.md (with the queries per page and where the time went).

Only 127.0.0.1 is ever contacted; every measurement is bounded in time and count.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

PYTHON = sys.executable
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-not-for-production-0123456789abcdef"
PAGE_TARGET = 0.5  # tracker rps / baseline rps
WEEKLY_TARGET = 0.5  # tracker speed / raw smtplib speed
START_TARGET = 3.0  # tracker start time / bare Flask start time
MAX_REQUESTS = 200_000  # per measurement, whatever the duration

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-JSON {\\"requests\\": %d, \\"duration_us\\": %d, \\"errors\\": %d, \\"non2xx\\": %d, "
    .. "\\"p50\\": %d, \\"p95\\": %d, \\"p99\\": %d}\\n",
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- load generation -----------------------------------------------------------------------------


@dataclass
class Load:
    requests: int
    seconds: float
    errors: int
    p50: float  # milliseconds
    p95: float
    p99: float
    latencies: list[float] | None = None  # the Python client keeps them all

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def cell(self) -> str:
        text = (
            f"{self.rps:,.1f} rps (p50 {self.p50:,.1f} / p95 {self.p95:,.1f} / "
            f"p99 {self.p99:,.1f} ms)"
        )
        return text + (f", {self.errors} errors" if self.errors else "")

    @classmethod
    def combine(cls, rounds: list[Load]) -> Load:
        """Add up rounds; exact percentiles if all latencies are known, else request-weighted."""
        requests = sum(r.requests for r in rounds)
        seconds = sum(r.seconds for r in rounds)
        errors = sum(r.errors for r in rounds)
        if all(r.latencies is not None for r in rounds):
            every = [x for r in rounds for x in r.latencies]
            return cls(
                requests,
                seconds,
                errors,
                _percentile(every, 50),
                _percentile(every, 95),
                _percentile(every, 99),
                every,
            )
        weight = max(requests, 1)
        return cls(
            requests,
            seconds,
            errors,
            *(
                sum(getattr(r, p) * r.requests for r in rounds) / weight
                for p in ("p50", "p95", "p99")
            ),
        )


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def python_load(
    url: str, seconds: float, connections: int, max_requests: int = MAX_REQUESTS
) -> Load:
    """Keep ``connections`` threads busy on ``url`` for ``seconds`` (at most ``max_requests``)."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname == "127.0.0.1", "only 127.0.0.1"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    budget = [max_requests]
    start = time.perf_counter()
    deadline = start + seconds
    ends: list[float] = []

    def worker():
        conn, mine, failed = None, [], 0
        while time.perf_counter() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=60)
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Accept-Language": "de"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                failed += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            mine.append((time.perf_counter() - began) * 1000)
        if conn is not None:
            conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed
            ends.append(time.perf_counter())

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(ends) - start  # in-flight requests finish and count: fair to slow pages
    return Load(
        len(latencies),
        elapsed,
        errors[0],
        _percentile(latencies, 50),
        _percentile(latencies, 95),
        _percentile(latencies, 99),
        latencies,
    )


def wrk_load(url: str, seconds: float, connections: int) -> Load:
    """Run wrk on ``url`` for ``seconds`` and read its percentiles from a Lua done() hook."""
    assert urllib.parse.urlsplit(url).hostname == "127.0.0.1", "only 127.0.0.1"
    script = RESULTS / "wrk-report.lua"
    if not script.exists():
        script.write_text(WRK_SCRIPT)
    threads = max(1, min(2, connections))
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-H",
            "Accept-Language: de",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH-JSON "))
    data = json.loads(line.removeprefix("BENCH-JSON "))
    return Load(
        data["requests"],
        data["duration_us"] / 1e6,
        data["errors"] + data["non2xx"],
        data["p50"] / 1000,
        data["p95"] / 1000,
        data["p99"] / 1000,
    )


# --- servers -------------------------------------------------------------------------------------


class Gunicorn:
    """One gunicorn (sync workers) on a free port of 127.0.0.1; logs into bench/results/."""

    def __init__(
        self, name: str, app: str, env: dict, workers: int, chdir: Path = ROOT, path: str = ""
    ):
        self.name, self.port = name, free_port()
        self.log_path = RESULTS / f"gunicorn-{name}.log"
        self.log_file = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "--timeout",
                "120",
                "--chdir",
                str(chdir),
                *(["--pythonpath", path] if path else []),
                app,
            ],
            env={**os.environ, **env},
            cwd=str(chdir),
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, path: str = "/", timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} gunicorn exited; see {self.log_path}")
            try:
                status, _ = get(self.base + path)
                if status < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} gunicorn did not answer in {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # our own session: gunicorn + its workers
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log_file.close()


def get(url: str) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=120)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- the SMTP sink (its own process, so that it does not share a GIL with the sender) -----------


def smtp_sink(port: int) -> None:
    """Run aiosmtpd on 127.0.0.1:``port``; answer 'count' on stdin with the messages received."""
    from aiosmtpd.controller import Controller

    class Counter:
        def __init__(self):
            self.count = 0

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
    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            [PYTHON, str(Path(__file__).resolve()), "--smtp-sink", str(self.port)],
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


# --- measurements --------------------------------------------------------------------------------


@dataclass
class Row:
    measurement: str
    tracker: str
    baseline: str
    ratio: float | None
    target: str
    ok: bool | None  # None: skipped
    note: str = ""


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)


def page_urls(meta: dict) -> list[tuple[str, str]]:
    q = urllib.parse.urlencode({"state": "open", "body": meta["body_slug"], "q": meta["q"]})
    return [
        ("overview `/`", "/"),
        ("overview with filters `/?state=open&body=…&q=…`", f"/?{q}"),
        ("demand page `/forderungen/<id>`", f"/forderungen/{meta['demand_id']}"),
        ("body page `/stellen/<slug>`", f"/stellen/{meta['body_slug']}"),
        ("statistics `/statistik`", "/statistik"),
        ("API list `/api/v1/demands`", "/api/v1/demands"),
    ]


def measure_pages(report: Report, url: str, meta: dict, args, load) -> None:
    """Measure each page on both apps in alternating rounds, so both see the same machine load."""
    env = {
        "TRACKER_DATABASE_URL": url,
        "TRACKER_ENV": "production",
        "TRACKER_SECRET_KEY": SECRET,
        "TRACKER_BASE_URL": "http://127.0.0.1:5000",
    }
    src = args.tracker_src or ROOT
    tracker = Gunicorn(
        "tracker", "tracker:create_app()", env, args.workers, chdir=src, path=str(src)
    )
    baseline = Gunicorn(
        "baseline",
        "baseline_app:create_app()",
        {"BENCH_DATABASE_URL": url},
        args.workers,
        chdir=BENCH,
    )
    try:
        tracker.wait("/healthz")
        baseline.wait("/api/v1/demands?per_page=1")
        for label, path in page_urls(meta):
            fastest = float("inf")
            for _ in range(3):  # the fastest of three sequential requests (the first warms up)
                began = time.perf_counter()
                status, body = get(tracker.base + path)
                fastest = min(fastest, time.perf_counter() - began)
            if status == 404 and path == "/statistik":
                report.rows.append(
                    Row(
                        label,
                        "skipped: 404",
                        "–",
                        None,
                        f"≥ {PAGE_TARGET}",
                        None,
                        "the statistics page does not exist yet",
                    )
                )
                log(f"{label}: 404 at the tracker, skipped")
                continue
            if status != 200:
                report.rows.append(
                    Row(label, f"HTTP {status}", "–", None, f"≥ {PAGE_TARGET}", False)
                )
                log(f"{label}: tracker answered {status}")
                continue
            b_fastest = float("inf")
            for _ in range(3):
                began = time.perf_counter()
                b_status, b_body = get(baseline.base + path)
                if b_status != 200:
                    raise RuntimeError(f"baseline answered {b_status} for {path}")
                b_fastest = min(b_fastest, time.perf_counter() - began)
            # wrk drops the requests still in flight when its time is up, which undercounts pages
            # that take seconds: those are measured with the Python client, for both apps.
            chosen = load if max(fastest, b_fastest) < 0.3 else python_load
            servers = {"tracker": tracker, "baseline": baseline}
            for server in servers.values():  # warm every worker: a few requests each
                python_load(server.base + path, 60, args.connections, 2 * args.connections)
            rounds: dict[str, list[Load]] = {"tracker": [], "baseline": []}
            for i in range(args.rounds):
                order = ("tracker", "baseline") if i % 2 == 0 else ("baseline", "tracker")
                for name in order:
                    rounds[name].append(
                        chosen(servers[name].base + path, args.slice, args.connections)
                    )
            t, b = Load.combine(rounds["tracker"]), Load.combine(rounds["baseline"])
            ratio = t.rps / b.rps if b.rps else None
            report.rows.append(
                Row(
                    label,
                    t.cell(),
                    b.cell(),
                    ratio,
                    f"≥ {PAGE_TARGET}",
                    ratio is not None and ratio >= PAGE_TARGET and not t.errors,
                )
            )
            client = "wrk" if chosen is wrk_load else "Python client"
            report.details.append(
                f"- `{path}`: {client}; tracker {len(body):,} bytes, baseline {len(b_body):,} "
                f"bytes; {t.requests:,} and {b.requests:,} requests measured"
            )
            log(
                f"{label}: tracker {t.rps:.1f} rps, baseline {b.rps:.1f} rps, ratio "
                f"{ratio if ratio is None else round(ratio, 2)} ({client})"
            )
    finally:
        tracker.stop()
        baseline.stop()


def query_profile(report: Report, url: str, meta: dict, show_sql: bool, backend: str) -> None:
    """Request each page in-process: note the queries and time of tracker and baseline.

    Also sets BENCH_FILTER_SQL for the baseline to the form of filter the tracker emits
    (correlated EXISTS or IN (subquery)), so that both keep running the same SQL.
    """
    import baseline_app
    import sqlalchemy as sa

    from tracker import create_app
    from tracker.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET,
            "ENV": "production",
            "BASE_URL": "http://127.0.0.1:5000",
        }
    )
    captured: list[tuple[str, object]] = []
    with app.app_context():
        sa.event.listen(
            db.engine,
            "before_cursor_execute",
            lambda c, cur, stmt, params, ctx, many: captured.append((stmt, params)),
        )
    tracker_client = app.test_client()
    runs: dict[str, tuple[int, float, list]] = {}
    for _label, path in page_urls(meta):
        if tracker_client.get(path).status_code != 200:
            continue
        best = float("inf")
        for _ in range(3):
            captured.clear()
            began = time.perf_counter()
            tracker_client.get(path)
            best = min(best, time.perf_counter() - began)
        runs[path] = (len(captured), best * 1000, list(captured))
    with app.app_context():
        db.engine.dispose()
    every = " ".join(stmt for _n, _ms, stmts in runs.values() for stmt, _p in stmts)
    subquery = "IN (SELECT assignments.demand_id" in every
    os.environ["BENCH_FILTER_SQL"] = "in" if subquery else "exists"
    os.environ["BENCH_DATABASE_URL"] = url
    baseline_app._CONNECTION = None
    base_client = baseline_app.create_app().test_client()
    counted = [0]
    original = baseline_app.Database.all

    def counting(self, sql, params=()):
        counted[0] += 1
        return original(self, sql, params)

    baseline_app.Database.all = counting
    lines = [
        "| page | tracker queries | baseline queries | tracker ms | baseline ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    sql_dump = []
    try:
        for path, (n_tracker, t_ms, stmts) in runs.items():
            sql_dump.append(f"===== {path}: {n_tracker} queries")
            sql_dump += [f"{stmt}\n  -- {params!r}"[:3000] for stmt, params in stmts]
            base_client.get(path)
            best = float("inf")
            for _ in range(3):
                counted[0] = 0
                began = time.perf_counter()
                base_client.get(path)
                best = min(best, time.perf_counter() - began)
            lines.append(
                f"| `{path}` | {n_tracker} | {counted[0]} | {t_ms:,.1f} | {best * 1000:,.1f} |"
            )
    finally:
        baseline_app.Database.all = original
    report.tables += [
        "Queries and time per request in-process (no HTTP, fastest of three; the baseline's "
        f"filters use {'IN (subquery)' if subquery else 'correlated EXISTS'} like the tracker's):",
        "",
        *lines,
        "",
    ]
    if show_sql:
        path = RESULTS / f"sql-tracker-{backend}.txt"
        path.write_text("\n".join(sql_dump) + "\n")
        log(f"the tracker's SQL per page is in {path.relative_to(ROOT)}")


def measure_weekly(report: Report, url: str, meta: dict) -> None:
    """Time write_digests() + flush() against aiosmtpd, then raw smtplib with the same messages."""
    import smtplib
    from email.message import EmailMessage
    from email.policy import SMTP as SMTP_POLICY  # CRLF line ends, as SMTP wants them

    import sqlalchemy as sa

    from tracker import create_app
    from tracker.domain.models import OutboxMessage
    from tracker.extensions import db
    from tracker.jobs import sender
    from tracker.services import reminders

    sink = Sink()
    try:
        mail_dir = tempfile.mkdtemp(prefix="bench-mail-")
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": SECRET,
                "ENV": "production",
                "SMTP_URL": f"smtp://127.0.0.1:{sink.port}?timeout=30",
                "MAIL_DIR": mail_dir,
                "BASE_URL": "https://forderungen.example.org",
            }
        )
        with app.app_context():
            began = time.perf_counter()
            written = reminders.write_digests()
            db.session.commit()
            wrote = time.perf_counter()
            counts = sender.flush(limit=100_000)
            flushed = time.perf_counter()
            messages = db.session.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.status == "sent")
                .order_by(OutboxMessage.id)
            ).all()
            sender = app.config["MAIL_FROM"]
            prepared = []
            for m in messages:  # pre-rendered: the same subjects, bodies and recipients
                email = EmailMessage()
                email["Subject"], email["From"], email["To"] = m.subject, sender, ", ".join(m.to)
                if m.cc:
                    email["Cc"] = ", ".join(m.cc)
                email.set_content(m.text)
                if m.html:
                    email.add_alternative(m.html, subtype="html")
                prepared.append((m.to + m.cc, email.as_bytes(policy=SMTP_POLICY)))
            db.engine.dispose()
        received_tracker = sink.count()
        raw_began = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", sink.port, timeout=30) as smtp:
            for recipients, data in prepared:
                smtp.sendmail(sender, recipients, data)
        raw = time.perf_counter() - raw_began
        received_raw = sink.count() - received_tracker
        shutil.rmtree(mail_dir, ignore_errors=True)
    finally:
        sink.stop()
    tracker_s = flushed - began
    n = len(written)
    ok_delivery = counts["sent"] == n == received_tracker == received_raw
    ratio = raw / tracker_s if tracker_s else None
    report.rows.append(
        Row(
            f"weekly run: {meta['counts']['bodies']:,} bodies × 10 open demands, SMTP to aiosmtpd",
            f"{tracker_s:,.2f} s = write_digests {wrote - began:,.2f} s + flush "
            f"{flushed - wrote:,.2f} s "
            f"({n / tracker_s:,.0f} mails/s)",
            f"raw smtplib {raw:,.2f} s ({len(prepared) / raw:,.0f} mails/s)",
            ratio,
            f"≥ {WEEKLY_TARGET}",
            ratio is not None and ratio >= WEEKLY_TARGET and ok_delivery,
        )
    )
    report.details.append(
        f"- weekly: {n} digests written, {counts} by flush, {received_tracker} received from the "
        f"tracker and {received_raw} from raw smtplib"
    )
    log(f"weekly: tracker {tracker_s:.2f} s, raw smtplib {raw:.2f} s")


def measure_start(report: Report, url: str, runs: int, scratch: Path, src: Path) -> None:
    """Time a fresh interpreter creating the app, beside one creating a bare Flask app.

    The two take turns (so both see the same machine load); the median wall time is compared,
    the median CPU time (user + system of the child) is shown too. As deployed, with bytecode
    caches (written to a scratch PYTHONPYCACHEPREFIX, not into the repository); the tracker is
    also timed without them (PYTHONDONTWRITEBYTECODE=1, as in this sandbox's environment, compiles
    the tracker's own modules at every start).
    """
    import resource

    env = {
        **os.environ,
        "TRACKER_DATABASE_URL": url,
        "TRACKER_ENV": "production",
        "TRACKER_SECRET_KEY": SECRET,
        "PYTHONPYCACHEPREFIX": str(scratch / "pycache"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    tracker_code = "from tracker import create_app; create_app()"
    codes = {
        "tracker": tracker_code,
        "bare": "from flask import Flask; app = Flask(__name__); app.get('/')(lambda: 'ok')",
        "uncached": f"import sys; sys.dont_write_bytecode = True; sys.pycache_prefix = None; "
        f"{tracker_code}",
    }
    walls: dict[str, list[float]] = {name: [] for name in codes}
    cpus: dict[str, list[float]] = {name: [] for name in codes}

    def once(code: str) -> tuple[float, float]:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(
            [PYTHON, "-c", code],
            env=env,
            cwd=str(src),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        return wall, cpu

    for code in codes.values():  # warm the file cache and the bytecode
        once(code)
    for _ in range(runs):
        for name, code in codes.items():
            wall, cpu = once(code)
            walls[name].append(wall)
            cpus[name].append(cpu)
    wall = {name: statistics.median(values) * 1000 for name, values in walls.items()}
    cpu = {name: statistics.median(values) * 1000 for name, values in cpus.items()}
    ratio = wall["tracker"] / wall["bare"]
    report.rows.append(
        Row(
            'app start: `python -c "from tracker import create_app; create_app()"` (median of '
            f"{runs})",
            f"{wall['tracker']:,.0f} ms (CPU {cpu['tracker']:,.0f} ms; without bytecode cache "
            f"{wall['uncached']:,.0f} ms)",
            f"bare Flask app {wall['bare']:,.0f} ms (CPU {cpu['bare']:,.0f} ms)",
            ratio,
            f"≤ {START_TARGET:g}×",
            ratio <= START_TARGET,
        )
    )
    log(f"start: tracker {wall['tracker']:.0f} ms, bare Flask {wall['bare']:.0f} ms")


# --- output --------------------------------------------------------------------------------------


def render(report: Report, header: list[str]) -> str:
    lines = [
        "| measurement | tracker | baseline | ratio | target | ok |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in report.rows:
        ratio = (
            "–" if r.ratio is None else (f"{r.ratio:.1f}×" if "×" in r.target else f"{r.ratio:.2f}")
        )
        ok = {True: "yes", False: "**no**", None: "skipped"}[r.ok]
        tracker = r.tracker + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {r.measurement} | {tracker} | {r.baseline} | {ratio} | {r.target} | {ok} |"
        )
    return (
        "\n".join([*header, "", *lines, "", *report.tables, *report.notes, *report.details]) + "\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the tracker against a bare baseline.")
    parser.add_argument("--quick", action="store_true", help="short measurements (< 2 minutes)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="use a throwaway PostgreSQL (tests/pgserver.py) instead of SQLite",
    )
    parser.add_argument(
        "--duration", type=int, help="seconds per page and app, split into alternating rounds"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="rounds per page (tracker and baseline take "
        "turns, so that both see the same machine load)",
    )
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument(
        "--only",
        choices=("pages", "weekly", "start"),
        action="append",
        help="run only these parts (repeatable)",
    )
    parser.add_argument(
        "--show-sql", action="store_true", help="write the tracker's SQL per page to bench/results/"
    )
    parser.add_argument(
        "--tracker-src",
        type=Path,
        help="benchmark the tracker of another checkout (a scratch copy with proposed changes: "
        "its tracker/, templates/ and migrations/)",
    )
    parser.add_argument("--smtp-sink", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_sink:
        smtp_sink(args.smtp_sink)
        return
    args.duration = args.duration or (4 if args.quick else 12)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.slice = max(1, round(args.duration / args.rounds))
    parts = set(args.only or ("pages", "weekly", "start"))
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    load = wrk_load if use_wrk else python_load
    RESULTS.mkdir(parents=True, exist_ok=True)
    import generate  # (puts this repository on sys.path: before a --tracker-src goes in front)

    if args.tracker_src:
        args.tracker_src = args.tracker_src.resolve()
        sys.path.insert(0, str(args.tracker_src))
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(args.tracker_src), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    report = Report()
    weekly_profile = "weekly-quick" if args.quick else "weekly"
    pg = None
    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    try:
        if args.postgres:
            from pgserver import PostgresServer

            pg = PostgresServer()
            pg.start()
            log("generating the data sets into PostgreSQL ...")
            pages_url = pg.create_database("bench_pages")
            pages_meta = generate.generate(pages_url, "pages")
            weekly_url = pg.create_database("bench_weekly")
            weekly_meta = generate.generate(weekly_url, weekly_profile)
        else:
            src = args.tracker_src or ROOT
            pages_path, pages_meta = generate.ensure_sqlite("pages", log, src)
            pages_url = f"sqlite:///{pages_path}"
            weekly_path, weekly_meta = generate.ensure_sqlite(weekly_profile, log, src)
            copy = scratch / "weekly.sqlite3"  # the weekly run writes: use a copy
            shutil.copyfile(weekly_path, copy)
            weekly_url = f"sqlite:///{copy}"
        if "pages" in parts:
            query_profile(
                report, pages_url, pages_meta, args.show_sql, "postgresql" if pg else "sqlite"
            )
            measure_pages(report, pages_url, pages_meta, args, load)
        if "weekly" in parts:
            measure_weekly(report, weekly_url, weekly_meta)
        if "start" in parts:
            measure_start(
                report, pages_url, 3 if args.quick else 7, scratch, args.tracker_src or ROOT
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if pg is not None:
            pg.stop()

    c = pages_meta["counts"]
    client = (
        ("wrk" if use_wrk else "Python http.client threads")
        + f", {args.connections} connections, {args.rounds} alternating rounds of {args.slice} s "
        f"per page and app after {2 * args.connections} warm-up requests"
    )
    header = [
        f"Benchmark of {dt.datetime.now().astimezone().isoformat(timespec='minutes')}"
        f"{' (--quick)' if args.quick else ''}"
        f"{f' of the tracker in {args.tracker_src}' if args.tracker_src else ''}: "
        f"{'PostgreSQL' if pg else 'SQLite'}, gunicorn {args.workers} sync workers per app, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; load: {client}.",
        f"Data set: {c['demands']:,} demands, {c['bodies']} bodies, {c['contacts']} contacts, "
        f"{c['timeline_entries']:,} timeline entries, {c['events']} events, "
        f"{c['assignments']:,} assignments; demand page: {pages_meta['demand_public_entries']} "
        f"public entries; body page: {pages_meta['body_public_demands']} demands (the median "
        f"body; the largest has {pages_meta['largest_body_public_demands']}). "
        "Ratio: tracker ÷ baseline for requests per second and mails per second, "
        "start time tracker ÷ bare Flask.",
    ]
    load_end = os.getloadavg()[0]
    report.notes.append(
        f"Whole run: {time.perf_counter() - started:,.0f} s. Load average (1 min): "
        f"{load_start:.1f} before the run, {load_end:.1f} at its end (the run itself keeps "
        f"{os.cpu_count()} cores busy; more than that means other processes took CPU time, which "
        "lowers absolute numbers — tracker and baseline take turns, so the ratios stay fair)."
    )
    report.notes.append("")
    text = render(report, header)
    print(text)
    backend = "postgresql" if pg else "sqlite"
    names = (
        [f"tracker-src-{backend}.md"] if args.tracker_src else ["latest.md", f"latest-{backend}.md"]
    )
    for name in names:  # a scratch tracker's results never replace the repository's
        (RESULTS / name).write_text(text)
    log(f"written to bench/results/{names[0]}")


if __name__ == "__main__":
    main()
