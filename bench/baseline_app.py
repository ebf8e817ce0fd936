"""The baseline for bench/run.py: a bare Flask app (no extensions, no ORM) serving the same data.

For every benchmarked URL it runs the SQL the tracker emits (captured with a
``before_cursor_execute`` listener, see ``bench/run.py --show-sql``) by hand through sqlite3 or
psycopg, and renders a minimal Jinja template (bench/baseline_templates/, compiled once)
listing the same data. Where the tracker computes figures in Python (working days, overdue,
medians, month-end states), the baseline computes the same figures in plain Python with a
prefix-sum table of working days. It is what "the least this page could cost in Flask" looks
like, to compare against.

    BENCH_DATABASE_URL=sqlite:////path/to/data.sqlite3 \
        .venv/bin/gunicorn -w 2 -b 127.0.0.1:8001 --chdir bench 'baseline_app:create_app()'
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import os
import statistics as pystats
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, Response, abort, g, render_template, request
from jinja2 import FileSystemLoader

BERLIN = ZoneInfo("Europe/Berlin")
STATES = ("raised", "addressed", "evaluated", "closed")
OPEN_STATES = ("raised", "addressed", "evaluated")
LABELS = {
    "raised": "erhoben",
    "addressed": "aufgegriffen",
    "evaluated": "evaluiert",
    "closed": "abgeschlossen",
}
TARGETS = {"raised": 20, "addressed": 60, "evaluated": 40, "closed": None}
TRIGGERS = {
    "raised": ["address", "close"],
    "addressed": ["evaluate", "close"],
    "evaluated": ["close"],
    "closed": ["reopen"],
}
STEPS = (("raised", "addressed"), ("addressed", "evaluated"))
PAGE_SIZE = 50
BASE_URL = "http://127.0.0.1:5000"

TEMPLATES = Path(__file__).resolve().parent / "baseline_templates"


# --- working days: one prefix-sum table instead of counting day by day ---------------------------


def _workday_table(first: dt.date = dt.date(2015, 1, 1), last: dt.date = dt.date(2035, 12, 31)):
    import holidays

    free = set(holidays.Germany(subdiv="ST", years=range(first.year, last.year + 1)).keys())
    cumulative, count, day = [], 0, first
    while day <= last:
        count += day.weekday() < 5 and day not in free
        cumulative.append(count)
        day += dt.timedelta(days=1)
    return first, cumulative


FIRST_DAY, CUMULATIVE = _workday_table()


def workdays_between(start: dt.date, end: dt.date) -> int:
    if end <= start:
        return 0
    return CUMULATIVE[(end - FIRST_DAY).days] - CUMULATIVE[(start - FIRST_DAY).days]


def add_workdays(start: dt.date, days: int) -> dt.date:
    wanted = CUMULATIVE[(start - FIRST_DAY).days] + days
    return FIRST_DAY + dt.timedelta(days=bisect.bisect_left(CUMULATIVE, wanted))


def as_datetime(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def local_date(value) -> dt.date:
    return as_datetime(value).astimezone(BERLIN).date()


def standing(state: str, changed_at, today: dt.date) -> tuple[int, int]:
    """Return (working days waited, working days overdue)."""
    since = local_date(changed_at)
    target = TARGETS[state]
    overdue = workdays_between(add_workdays(since, target), today) if target is not None else 0
    return workdays_between(since, today), overdue


# --- the database, by hand ---------------------------------------------------------------------


class Database:
    """One connection per worker process; SQL written with '?' placeholders."""

    def __init__(self, url: str):
        self.postgres = url.startswith("postgres")
        if self.postgres:
            import psycopg

            self.conn = psycopg.connect(
                url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
            )
            self.true = "true"
        else:
            import sqlite3

            self.conn = sqlite3.connect(url.removeprefix("sqlite:///"), check_same_thread=False)
            self.true = "1"

    def all(self, sql: str, params=()) -> list[tuple]:
        if self.postgres:
            sql = sql.replace("?", "%s")
        cursor = self.conn.cursor()
        cursor.execute(sql.replace("{TRUE}", self.true), params)
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def one(self, sql: str, params=()):
        rows = self.all(sql, params)
        return rows[0] if rows else None


def db() -> Database:
    if "db" not in g:
        g.db = _connection()
    return g.db


_CONNECTION: Database | None = None


def _connection() -> Database:
    global _CONNECTION
    if _CONNECTION is None:
        _CONNECTION = Database(os.environ["BENCH_DATABASE_URL"])
    return _CONNECTION


def placeholders(values) -> str:
    return ", ".join("?" * len(values))


# --- the queries the tracker runs ----------------------------------------------------------------

DEMAND_COLUMNS = (
    'demands.id, demands."key", demands.title, demands.text, demands.event_id, '
    "demands.event_part_id, demands.state, demands.state_changed_at, demands.outcome, "
    "demands.is_public, demands.created_at, demands.updated_at, demands.version"
)
PART_COLUMNS = (
    "event_parts_1.id AS id_1, event_parts_1.event_id AS event_id_1, event_parts_1.slug, "
    "event_parts_1.kind, event_parts_1.title AS title_1, event_parts_1.description, "
    "event_parts_1.position"
)


def _filters(args) -> tuple[list[str], list, list[str], list]:
    """Return the WHERE clauses without and with the state filter, as the tracker builds them."""
    clauses, params = ["demands.is_public IS {TRUE}"], []
    # bench/run.py sets BENCH_FILTER_SQL to the form the tracker emits: correlated EXISTS, or
    # IN (subquery) starting from the topic or body
    by_subquery = os.environ.get("BENCH_FILTER_SQL") == "in"
    if args.get("topic"):
        clauses.append(
            "demands.id IN (SELECT demand_topics.demand_id FROM demand_topics JOIN topics ON "
            "topics.id = demand_topics.topic_id WHERE topics.slug = ?)"
            if by_subquery
            else "EXISTS (SELECT 1 FROM demand_topics, topics WHERE demands.id = "
            "demand_topics.demand_id AND topics.id = demand_topics.topic_id "
            "AND topics.slug = ?)"
        )
        params.append(args["topic"][:80])
    if args.get("body"):
        clauses.append(
            "demands.id IN (SELECT assignments.demand_id FROM assignments JOIN bodies ON "
            "bodies.id = assignments.body_id WHERE bodies.slug = ?)"
            if by_subquery
            else "EXISTS (SELECT 1 FROM assignments WHERE demands.id = assignments.demand_id "
            "AND (EXISTS (SELECT 1 FROM bodies WHERE bodies.id = assignments.body_id "
            "AND bodies.slug = ?)))"
        )
        params.append(args["body"][:80])
    if args.get("event"):
        clauses.append(
            "EXISTS (SELECT 1 FROM events WHERE events.id = demands.event_id AND events.slug = ?)"
        )
        params.append(args["event"][:80])
    q = args.get("q", "").strip()[:200]
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if db().postgres:
            clauses.append(
                "(to_tsvector('german'::regconfig, demands.title || ' ' || demands.text)"
                " @@ websearch_to_tsquery('german'::regconfig, ?) "
                "OR demands.title ILIKE ? ESCAPE '\\')"
            )
            params += [q, pattern]
        else:
            clauses.append(
                "(lower(demands.title) LIKE lower(?) ESCAPE '\\' "
                "OR lower(demands.text) LIKE lower(?) ESCAPE '\\')"
            )
            params += [pattern, pattern]
    state = args.get("state", "")
    with_state, state_params = list(clauses), list(params)
    if state == "open":
        with_state.insert(1, f"demands.state IN ({placeholders(OPEN_STATES)})")
        state_params[0:0] = OPEN_STATES
    elif state in STATES:
        with_state.insert(1, "demands.state = ?")
        state_params[0:0] = [state]
    return clauses, params, with_state, state_params


def _attach(demands: list[dict]) -> None:
    """Load the bodies and topics of ``demands`` in two queries (as selectinload does)."""
    ids = [d["id"] for d in demands]
    by_id = {d["id"]: d for d in demands}
    for d in demands:
        d["bodies"], d["topics"] = [], []
    if not ids:
        return
    for demand_id, _body_id, role, confirmed, _bid, slug, name, short, _kind, _desc in db().all(
        "SELECT assignments.demand_id, assignments.body_id, assignments.role, "
        "assignments.confirmed_at, bodies_1.id, bodies_1.slug, bodies_1.name, "
        "bodies_1.short_name, bodies_1.kind, bodies_1.description FROM assignments "
        "LEFT OUTER JOIN bodies AS bodies_1 ON bodies_1.id = assignments.body_id "
        f"WHERE assignments.demand_id IN ({placeholders(ids)}) "
        "ORDER BY assignments.role DESC, assignments.body_id",
        ids,
    ):
        by_id[demand_id]["bodies"].append(
            {
                "slug": slug,
                "name": name,
                "label": short or name,
                "role": role,
                "confirmed_at": confirmed,
            }
        )
    for demand_id, _tid, slug, name in db().all(
        "SELECT demand_topics.demand_id, topics.id, topics.slug, topics.name FROM demand_topics "
        "JOIN topics ON topics.id = demand_topics.topic_id "
        f"WHERE demand_topics.demand_id IN ({placeholders(ids)}) ORDER BY topics.name",
        ids,
    ):
        by_id[demand_id]["topics"].append({"slug": slug, "name": name})


def _demand(row, today: dt.date) -> dict:
    waited, overdue = standing(row[6], row[7], today)
    return {
        "id": row[0],
        "title": row[2],
        "text": row[3],
        "event_id": row[4],
        "state": row[6],
        "state_changed_at": row[7],
        "outcome": row[8],
        "is_public": row[9],
        "created_at": row[10],
        "updated_at": row[11],
        "version": row[12],
        "part_slug": row[15] if len(row) > 15 else None,
        "part": row[17] if len(row) > 17 else None,
        "waited": waited,
        "overdue": overdue,
    }


def _overview(args, page: int, per_page: int):
    today = dt.datetime.now(BERLIN).date()
    clauses, params, with_state, state_params = _filters(args)
    counts = dict(
        db().all(
            f"SELECT demands.state, count(*) AS count_1 FROM demands WHERE {' AND '.join(clauses)} "
            "GROUP BY demands.state",
            params,
        )
    )
    counts = {s: counts.get(s, 0) for s in STATES}
    state = args.get("state", "")
    matching = (
        sum(counts[s] for s in OPEN_STATES)
        if state == "open"
        else counts[state]
        if state in STATES
        else sum(counts.values())
    )
    rows = db().all(
        f"SELECT {DEMAND_COLUMNS}, {PART_COLUMNS} FROM demands LEFT OUTER JOIN event_parts AS "
        "event_parts_1 ON event_parts_1.id = demands.event_part_id "
        f"WHERE {' AND '.join(with_state)} ORDER BY demands.id LIMIT ? OFFSET ?",
        [*state_params, per_page, (page - 1) * per_page],
    )
    demands = [_demand(r, today) for r in rows]
    _attach(demands)
    return counts, matching, demands


def create_app() -> Flask:
    app = Flask(__name__)
    app.jinja_loader = FileSystemLoader(TEMPLATES)

    @app.get("/")
    def index():
        page = max(request.args.get("page", 1, type=int) or 1, 1)
        counts, matching, demands = _overview(request.args, page, PAGE_SIZE)
        choices = db().all(
            "SELECT ? AS kind, topics.slug, topics.name AS label, ? AS name, CAST(NULL AS DATE) AS "
            "date FROM topics UNION ALL SELECT ? AS anon_1, bodies.slug, bodies.short_name, "
            "bodies.name, CAST(NULL AS DATE) AS anon_2 FROM bodies UNION ALL SELECT ? AS anon_3, "
            "events.slug, events.title, ? AS anon_4, events.date FROM events ORDER BY kind, label",
            ("topic", "", "body", "event", ""),
        )
        return render_template(
            "index.html",
            counts=counts,
            total=sum(counts.values()),
            labels=LABELS,
            q=request.args.get("q", ""),
            demands=demands,
            matching=matching,
            page=page,
            pages=max(-(-matching // PAGE_SIZE), 1),
            topics=[(r[1], r[2]) for r in choices if r[0] == "topic"],
            bodies=sorted(
                ((r[1], r[2] or r[3]) for r in choices if r[0] == "body"), key=lambda b: b[1]
            ),
            events=[(r[1], r[2], r[4]) for r in choices if r[0] == "event"],
        )

    @app.get("/forderungen/<int:demand_id>")
    def demand(demand_id: int):
        today = dt.datetime.now(BERLIN).date()
        row = db().one(
            f"SELECT {DEMAND_COLUMNS}, {PART_COLUMNS} FROM demands LEFT OUTER JOIN event_parts AS "
            "event_parts_1 ON event_parts_1.id = demands.event_part_id WHERE demands.id = ?",
            (demand_id,),
        )
        if row is None or not row[9]:
            abort(404)
        d = _demand(row, today)
        _attach([d])
        event = None
        if d["event_id"]:
            e = db().one(
                "SELECT events.id, events.slug, events.title, events.date, "
                "events.organiser, events.location, events.description FROM events "
                "WHERE events.id IN (?)",
                (d["event_id"],),
            )
            event = {"slug": e[1], "title": e[2], "date": e[3]}
        entries = db().all(
            "SELECT timeline_entries.id, timeline_entries.demand_id, timeline_entries.kind, "
            "timeline_entries.created_at, timeline_entries.author_id, "
            "timeline_entries.author_name, "
            'timeline_entries.body_id, timeline_entries.is_public, timeline_entries."trigger", '
            "timeline_entries.from_state, timeline_entries.to_state, timeline_entries.text, "
            "timeline_entries.data, bodies_1.id AS id_1, bodies_1.slug, bodies_1.name, "
            "bodies_1.short_name, bodies_1.kind, bodies_1.description FROM timeline_entries "
            "LEFT OUTER JOIN bodies AS bodies_1 ON bodies_1.id = timeline_entries.body_id "
            "WHERE timeline_entries.demand_id = ? AND timeline_entries.is_public IS {TRUE} "
            "ORDER BY timeline_entries.created_at DESC, timeline_entries.id DESC",
            (demand_id,),
        )
        names = {e[6]: e[16] or e[15] for e in entries if e[6] is not None}
        timeline = [
            {
                "created_at": e[3],
                "kind": e[2],
                "author_name": e[5],
                "body": names.get(e[6]),
                "from_state": e[9],
                "to_state": e[10],
                "text": e[11],
                "data": e[12],
            }
            for e in entries
        ]
        return render_template("demand.html", d=d, event=event, timeline=timeline, labels=LABELS)

    @app.get("/stellen/<slug>")
    def body(slug: str):
        today = dt.datetime.now(BERLIN).date()
        b = db().one(
            "SELECT bodies.id, bodies.slug, bodies.name, bodies.short_name, bodies.kind, "
            "bodies.description FROM bodies WHERE bodies.slug = ?",
            (slug,),
        )
        if b is None:
            abort(404)
        rows = db().all(
            f"SELECT {DEMAND_COLUMNS}, assignments.role, {PART_COLUMNS} FROM demands JOIN "
            "assignments ON assignments.demand_id = demands.id LEFT OUTER JOIN event_parts AS "
            "event_parts_1 ON event_parts_1.id = demands.event_part_id "
            "WHERE assignments.body_id = ? AND demands.is_public IS {TRUE} ORDER BY demands.id",
            (b[0],),
        )
        demands = []
        for r in rows:
            d = _demand(r[:13] + r[14:], today)
            d["role"] = r[13]
            demands.append(d)
        _attach(demands)
        by_state = defaultdict(list)
        for d in demands:
            by_state[d["state"]].append(d)
        records = _records(
            "AND (EXISTS (SELECT 1 FROM assignments WHERE demands.id = "
            "assignments.demand_id AND assignments.body_id = ?))",
            (b[0],),
        )
        figures = _figures(records, today, body_id=b[0])
        return render_template(
            "body.html",
            body={"name": b[2], "description": b[5]},
            by_state=by_state,
            states=STATES,
            labels=LABELS,
            figures=figures,
        )

    @app.get("/statistik")
    def statistics():
        today = dt.datetime.now(BERLIN).date()
        records = _records()
        by_id = {r["id"]: r for r in records}
        assigned = defaultdict(list)
        for demand_id, body_id in db().all(
            "SELECT assignments.demand_id, assignments.body_id FROM assignments JOIN demands ON "
            "demands.id = assignments.demand_id WHERE demands.is_public IS {TRUE}"
        ):
            if demand_id in by_id:
                assigned[body_id].append(by_id[demand_id])
        ids = list(assigned)
        bodies = db().all(
            "SELECT bodies.id, bodies.slug, bodies.name, bodies.short_name, bodies.kind, "
            f"bodies.description FROM bodies WHERE bodies.id IN ({placeholders(ids)})",
            ids,
        )
        return render_template(
            "statistics.html",
            states=STATES,
            overall=_figures(records, today),
            by_month=_by_month(records, today),
            bodies=[
                ({"slug": r[1], "label": r[3] or r[2]}, _figures(assigned[r[0]], today, r[0]))
                for r in sorted(bodies, key=lambda r: r[2])
            ],
        )

    @app.get("/api/v1/demands")
    def api_demands():
        page = request.args.get("page", "1")
        per_page = request.args.get("per_page", "50")
        page = int(page) if page.isdigit() else 0
        per_page = int(per_page) if per_page.isdigit() else 0
        if page < 1 or not 1 <= per_page <= 100:
            abort(400)
        counts, matching, demands = _overview(request.args, page, per_page)
        event_ids = sorted({d["event_id"] for d in demands if d["event_id"]})
        events = {}
        if event_ids:
            events = {
                r[0]: r[1]
                for r in db().all(
                    "SELECT events.id, events.slug FROM events "
                    f"WHERE events.id IN ({placeholders(event_ids)})",
                    event_ids,
                )
            }
        pages = max(-(-matching // per_page), 1)

        def link(n):
            return f"{BASE_URL}/api/v1/demands?page={n}&per_page={per_page}"

        def iso(value):
            return as_datetime(value).isoformat() if value is not None else None

        items = [
            {
                "id": d["id"],
                "title": d["title"],
                "text": d["text"],
                "state": d["state"],
                "state_label": LABELS[d["state"]],
                "state_since": iso(d["state_changed_at"]),
                "waited_workdays": d["waited"],
                "overdue": d["overdue"] > 0,
                "overdue_workdays": d["overdue"],
                "outcome": d["outcome"],
                "is_public": bool(d["is_public"]),
                "version": d["version"],
                "topics": [t["slug"] for t in d["topics"]],
                "bodies": [
                    {"slug": b["slug"], "name": b["name"], "role": b["role"]} for b in d["bodies"]
                ],
                "event": events.get(d["event_id"]),
                "event_part": d["part_slug"],
                "created_at": iso(d["created_at"]),
                "updated_at": iso(d["updated_at"]),
                "allowed_triggers": TRIGGERS[d["state"]],
                "url": f"{BASE_URL}/forderungen/{d['id']}",
            }
            for d in demands
        ]
        links = {"self": link(page), "first": link(1), "last": link(pages)}
        if page < pages:
            links["next"] = link(page + 1)
        if page > 1:
            links["prev"] = link(page - 1)
        body = {
            "items": items,
            "page": page,
            "per_page": per_page,
            "total": matching,
            "links": links,
        }
        return Response(json.dumps(body), mimetype="application/json")

    return app


# --- the figures of the statistics and body pages ------------------------------------------------


def _records(extra: str = "", params=()) -> list[dict]:
    rows = db().all(
        "SELECT demands.id, demands.state, demands.state_changed_at, demands.created_at, "
        "timeline_entries.kind, timeline_entries.created_at AS at, timeline_entries.from_state, "
        "timeline_entries.to_state, timeline_entries.body_id FROM demands LEFT OUTER JOIN "
        "timeline_entries ON timeline_entries.demand_id = demands.id AND "
        "(timeline_entries.kind IN (?, ?) OR timeline_entries.kind = ? AND "
        "timeline_entries.is_public IS {TRUE}) WHERE demands.is_public IS {TRUE} "
        + extra
        + " ORDER BY demands.id, timeline_entries.created_at, timeline_entries.id",
        ("created", "transition", "statement", *params),
    )
    records: dict[int, dict] = {}
    for demand_id, state, changed, created, kind, at, source, dest, body_id in rows:
        r = records.get(demand_id)
        if r is None:
            r = records[demand_id] = {
                "id": demand_id,
                "state": state,
                "changed": changed,
                "start": as_datetime(created),
                "transitions": [],
                "answered_by": set(),
            }
        if kind == "created":
            r["start"] = as_datetime(at)
        elif kind == "transition":
            r["transitions"].append((as_datetime(at), source, dest))
        elif kind == "statement":
            r["answered_by"].add(body_id)
    return list(records.values())


def _durations(r: dict) -> dict:
    entered = {"raised": r["start"]}
    found = {}
    for at, source, dest in r["transitions"]:
        step = (source, dest)
        if step in STEPS and step not in found and source in entered:
            found[step] = workdays_between(local_date(entered[source]), local_date(at))
        if dest:
            entered[dest] = at
    return found


def _figures(records: list[dict], today: dt.date, body_id: int | None = None) -> dict:
    open_records = [r for r in records if r["state"] in OPEN_STATES]
    overdue = sum(standing(r["state"], r["changed"], today)[1] > 0 for r in open_records)
    samples = defaultdict(list)
    for r in records:
        for step, days in _durations(r).items():
            samples[step].append(days)
    answered = sum(
        bool(r["answered_by"] if body_id is None else body_id in r["answered_by"]) for r in records
    )

    def median(values):
        return float(pystats.median(values)) if values else None

    return {
        "demands": len(records),
        "open": len(open_records),
        "overdue": overdue,
        "median_to_addressed": median(samples[STEPS[0]]),
        "median_to_evaluated": median(samples[STEPS[1]]),
        "answered": answered,
    }


def _by_month(records: list[dict], today: dt.date) -> list:
    """Count the states at each month end: one pass over each record's history, not per month."""
    if not records:
        return []
    first = min(local_date(r["start"]) for r in records).replace(day=1)
    ends, month = [], first
    while month <= today:
        following = (month + dt.timedelta(days=32)).replace(day=1)
        ends.append((month, dt.datetime.combine(following, dt.time(), BERLIN)))
        month = following
    moments = [end for _, end in ends]
    table = [dict.fromkeys(STATES, 0) for _ in ends]
    for r in records:
        position = bisect.bisect_right(moments, r["start"])  # first month end after the start
        for at, source, _dest in r["transitions"]:
            stop = bisect.bisect_right(moments, at)  # month ends up to ``at``: still ``source``
            state = source or r["state"]
            if state in STATES:
                for i in range(position, stop):
                    table[i][state] += 1
            position = max(position, stop)
        for i in range(position, len(ends)):
            table[i][r["state"]] += 1
    return [(month, counts) for (month, _), counts in zip(ends, table, strict=True)]


if __name__ == "__main__":  # a quick look: BENCH_DATABASE_URL=... python bench/baseline_app.py
    create_app().run(port=8001)
