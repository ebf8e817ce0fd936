"""Generate large, realistic data sets for the benchmarks (not part of the test suite).

Profiles:

* ``10k`` (the page bench's): 10,000 demands, 50 bodies with contacts, 100,000 timeline entries,
  3 events with parts, 12 topics, 60 consultations, 40 meetings with next steps, 1 lead +
  0-2 involved bodies per demand, states spread over the workflow with realistic
  ``state_changed_at`` dates (some overdue, some not); ``1k`` and ``100k`` the same with a tenth
  and ten times the demands and timeline entries (for how cost grows with the data).
* ``weekly``: 200 bodies with 10 open public demands each (lead only), for the weekly digest.

Every profile has five staff users (password „bench“) and an API token (``TOKEN``) of the first.
The schema comes from the migrations (``flask_migrate.upgrade()``), the rows go in with Core bulk
inserts (``insert(table)`` with lists of rows, explicit ids) into the models' tables.

    .venv/bin/python bench/generate.py                      # SQLite file in bench/results/
    .venv/bin/python bench/generate.py --profile 100k
    TRACKER_DATABASE_URL=sqlite:////tmp/x.sqlite3 .venv/bin/python bench/generate.py
    .venv/bin/python bench/generate.py --postgres           # into a throwaway PostgreSQL, then stop

``ensure_sqlite()`` (used by bench/run.py) caches the SQLite file in bench/results/, keyed by the
profile, this file and the migrations, so a second run reuses it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # tests/pgserver.py

PAGES = {"bodies": 50, "consultations": 60, "meetings": 40, "weekly": False}
WEEKLY = {"consultations": 0, "meetings": 0, "weekly": True}
PROFILES = {
    "1k": {**PAGES, "demands": 1_000, "timeline": 10_000},
    "10k": {**PAGES, "demands": 10_000, "timeline": 100_000},
    "100k": {**PAGES, "demands": 100_000, "timeline": 1_000_000},
    "weekly": {**WEEKLY, "demands": 2_000, "bodies": 200, "timeline": 2_000},
}
CHUNK = 20_000
TOKEN = "ft_bench-token-of-referentin1-not-a-secret"  # the API token of user 1 (an admin)
SEARCH_TERM = "Bezahlkarte"

TOPICS = [
    ("dialog", "Dialogkultur"),
    ("transparenz", "Transparenz"),
    ("beteiligung", "Beteiligung der Migrationsdienste"),
    ("bezahlkarte", "Bezahlkarte"),
    ("dublin", "Dublin-Verfahren"),
    ("gesundheit", "Gesundheitsversorgung"),
    ("eu-buerger", "Sozialleistungen für EU-Bürger*innen"),
    ("selbstfuersorge", "Selbstfürsorge der Beratenden"),
    ("rassismus", "Rassismus entgegenwirken"),
    ("integration", "Integrationsleitbild"),
    ("wohnen", "Wohnen"),
    ("arbeit", "Arbeitsmarktzugang"),
]
REAL_BODIES = [
    ("ms", "Ministerium für Arbeit, Soziales, Gesundheit und Gleichstellung", "MS", "ministry"),
    ("mi", "Ministerium für Inneres und Sport", "MI", "ministry"),
    (
        "bamf-halberstadt",
        "Bundesamt für Migration und Flüchtlinge, Außenstelle Halberstadt",
        "BAMF Halberstadt",
        "authority",
    ),
    ("mj", "Ministerium für Justiz und Verbraucherschutz", "MJ", "ministry"),
    ("mb", "Ministerium für Bildung", "MB", "ministry"),
    ("mw", "Ministerium für Wirtschaft, Tourismus, Landwirtschaft und Forsten", "MW", "ministry"),
    ("lvwa", "Landesverwaltungsamt Sachsen-Anhalt", "LVwA", "authority"),
    ("stk", "Staatskanzlei und Ministerium für Kultur", "StK", "ministry"),
    (
        "ba-rd",
        "Bundesagentur für Arbeit, Regionaldirektion Sachsen-Anhalt-Thüringen",
        "BA Regionaldirektion",
        "authority",
    ),
    ("lsta", "Landesamt für Verbraucherschutz", "LAV", "authority"),
]
PLACES = [
    "Magdeburg",
    "Halle (Saale)",
    "Dessau-Roßlau",
    "Altmarkkreis Salzwedel",
    "Anhalt-Bitterfeld",
    "Börde",
    "Burgenlandkreis",
    "Harz",
    "Jerichower Land",
    "Mansfeld-Südharz",
    "Saalekreis",
    "Salzlandkreis",
    "Stendal",
    "Wittenberg",
    "Zerbst",
    "Köthen",
    "Naumburg",
    "Quedlinburg",
]
SUBJECTS = [
    "die Bezahlkarte",
    "den Leistungsausschluss in Dublin-Fällen",
    "die Gesundheitsversorgung von Geflüchteten",
    "Sozialleistungen für EU-Bürger*innen",
    "die Selbstfürsorge der Beratenden",
    "rassistische Diskriminierung in Behörden",
    "Gesetzesänderungen im Aufenthaltsrecht",
    "die Finanzierung der Migrationsberatung",
    "Sprachmittlung im Gesundheitswesen",
    "den Zugang zu Integrationskursen",
    "die Wohnsitzauflage",
    "Arbeitsverbote",
    "die Anerkennung ausländischer Berufsabschlüsse",
    "die Unterbringung in Gemeinschaftsunterkünften",
    "die Erstaufnahmeeinrichtung",
    "Abschiebungen aus Schulen und Kitas",
    "den Familiennachzug",
    "psychosoziale Versorgung",
    "die Ausländerbehörden",
    "die Einbürgerung",
]
ACTIONS = [
    "{s} gemeinsam mit der Zivilgesellschaft evaluieren",
    "Migrationsdienste frühzeitig über {s} informieren",
    "regelmäßigen Dialog über {s} einrichten",
    "Probleme bei {s} stringent identifizieren",
    "weitere Ministerien in {s} einbeziehen",
    "Transparenz über {s} herstellen",
    "verbindliche Standards für {s} festlegen",
    "{s} im Landesintegrationskonzept verankern",
    "Mittel für {s} dauerhaft sichern",
]
SENTENCES = [
    "Die LIGA fordert, die Bezahlkarte gemeinsam mit der Zivilgesellschaft zu evaluieren.",
    "Die Beratungsstellen berichten von wachsenden Wartezeiten bei den Ausländerbehörden.",
    "Gesetzesänderungen erreichen die Migrationsdienste oft erst, wenn sie schon gelten.",
    "Ein regelmäßiger Austausch mit Sozialministerium, Innenministerium und BAMF ist nötig.",
    "Die Teilnehmenden des Workshops schilderten Fälle, in denen Leistungen verweigert wurden.",
    "Probleme sollen stringent identifiziert und mit klaren Zuständigkeiten bearbeitet werden.",
    "Eine gemeinsame Vision von Integration muss von allen Beteiligten getragen werden.",
    "Sprachmittlung im Gesundheitswesen ist bislang nicht verlässlich finanziert.",
    "Beratende benötigen Supervision und Zeit für Selbstfürsorge.",
    "Rassismus in Behörden und im Alltag muss benannt und abgebaut werden.",
    "Der Leistungsausschluss in Dublin-Fällen trifft vor allem Familien mit Kindern.",
    "EU-Bürger*innen fallen häufig durch alle Raster der sozialen Sicherung.",
    "Das Ministerium hat eine Arbeitsgruppe angekündigt, die im Herbst tagen soll.",
    "Ein erster Entwurf liegt vor und wird derzeit zwischen den Ressorts abgestimmt.",
    "Die Evaluation soll bis Jahresende abgeschlossen sein.",
    "Die Stelle verweist auf die Zuständigkeit des Bundes.",
    "Im Fachgespräch wurde vereinbart, die Zahlen quartalsweise zu veröffentlichen.",
    "Die Kommunen wünschen sich eine landesweit einheitliche Praxis.",
]
OUTCOMES = ["implemented", "partly_implemented", "rejected", "obsolete"]
STATE_WEIGHTS = {"raised": 30, "addressed": 30, "evaluated": 15, "closed": 25}
KIND_WEIGHTS = {"update": 45, "statement": 20, "reminder": 25, "confirmation": 10}


def schema_key() -> str:
    """Hash this generator and the migrations' names (revisions): a change makes a new file."""
    h = hashlib.sha256(Path(__file__).read_bytes())
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        h.update(path.name.encode())
    return h.hexdigest()[:10]


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.sample(SENTENCES, rng.randint(low, high)))


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        return start
    return start + (end - start) * rng.random()


def build_rows(params: dict, seed: int = 20250618):
    """Return {table name: list of row dicts} and the metadata of the sample URLs."""
    from werkzeug.security import generate_password_hash

    demands, bodies, timeline, weekly = (
        params[k] for k in ("demands", "bodies", "timeline", "weekly")
    )
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    rows: dict[str, list[dict]] = {}

    rows["users"] = [
        {
            "id": i,
            "email": f"referentin{i}@example.org",
            "name": f"Referentin {i}",
            "password_hash": generate_password_hash("bench", method="pbkdf2:sha256:1000"),
            "role": "admin" if i == 1 else "staff",
            "active": True,
            "created_at": now,
        }
        for i in range(1, 6)
    ]
    user_names = {u["id"]: u["name"] for u in rows["users"]}
    rows["api_tokens"] = [
        {
            "id": 1,
            "user_id": 1,
            "name": "bench",
            "token_hash": hashlib.sha256(TOKEN.encode()).hexdigest(),
            "prefix": TOKEN[:10],
            "created_at": now,
        }
    ]

    rows["events"], rows["event_parts"] = [], []
    parts_of: dict[int, list[int]] = {}
    event_dates = [dt.date(2025, 6, 18), dt.date(2024, 11, 6), dt.date(2026, 3, 12)]
    for e, date in enumerate(event_dates, start=1):
        rows["events"].append(
            {
                "id": e,
                "slug": f"fachtag-{date.isoformat()}",
                "title": f"Fachtag Migration {date.year}",
                "date": date,
                "organiser": "Fachausschuss Migration der LIGA",
                "location": "Magdeburg",
                "description": _text(rng, 2, 3),
            }
        )
        kinds = ["input", "panel", "workshop", "workshop", "workshop", "workshop"]
        for position, kind in enumerate(kinds):
            pid = len(rows["event_parts"]) + 1
            rows["event_parts"].append(
                {
                    "id": pid,
                    "event_id": e,
                    "slug": f"{kind}-{position}",
                    "kind": kind,
                    "title": f"{kind.capitalize()} {position}: {rng.choice(SUBJECTS)}",
                    "description": _text(rng, 1, 2),
                    "position": position,
                }
            )
            parts_of.setdefault(e, []).append(pid)

    rows["topics"] = [{"id": i, "slug": s, "name": n} for i, (s, n) in enumerate(TOPICS, start=1)]

    rows["bodies"], rows["contacts"] = [], []
    for b in range(1, bodies + 1):
        if b <= len(REAL_BODIES):
            slug, name, short, kind = REAL_BODIES[b - 1]
        else:
            place = PLACES[b % len(PLACES)]
            kind = rng.choice(["authority", "authority", "other"])
            slug = f"auslaenderbehoerde-{b:04d}"
            name, short = f"Ausländerbehörde {place} ({b})", f"ABH {place} {b}"
        rows["bodies"].append(
            {
                "id": b,
                "slug": slug,
                "name": name,
                "short_name": short,
                "kind": kind,
                "description": _text(rng, 1, 2),
            }
        )
        levels = [1] * rng.randint(1, 2) + ([2] if rng.random() < 0.7 else [])
        levels += [3] if rng.random() < 0.4 else []
        for n, level in enumerate(levels):
            rows["contacts"].append(
                {
                    "id": len(rows["contacts"]) + 1,
                    "body_id": b,
                    "name": f"Referat {n + 1}",
                    "email": f"referat{n + 1}@{slug}.example.org",
                    "escalation_level": level,
                }
            )
    body_slugs = {r["id"]: r["slug"] for r in rows["bodies"]}

    # Some bodies are asked much more often than others (weights 1/(rank+5)).
    body_ids = list(range(1, bodies + 1))
    body_weights = [1 / (rank + 5) for rank in range(bodies)]
    rows["demands"], rows["demand_topics"], rows["assignments"] = [], [], []
    states = list(STATE_WEIGHTS)
    if weekly:
        states = ["raised", "addressed", "evaluated"]
    state_w = [STATE_WEIGHTS[s] for s in states]
    structural: list[list[dict]] = []
    for d in range(1, demands + 1):
        state = rng.choices(states, state_w)[0]
        age_days = min(730.0, rng.expovariate(1 / 200)) + 2
        created = now - dt.timedelta(days=age_days, seconds=rng.randint(0, 86399))
        # how far along its life the demand entered its current state
        share = {
            "raised": 0.0 if rng.random() < 0.85 else rng.uniform(0.5, 0.95),
            "addressed": rng.uniform(0.1, 0.8),
            "evaluated": rng.uniform(0.4, 0.9),
            "closed": rng.uniform(0.5, 0.98),
        }[state]
        changed = created + (now - created) * share
        path = {
            "raised": [],
            "addressed": ["address"],
            "evaluated": ["address", "evaluate"],
            "closed": rng.choice(
                [["close"], ["address", "close"], ["address", "evaluate", "close"]]
            ),
        }[state]
        if state == "raised" and share:
            path = ["close", "reopen"]
        outcome = None
        if state == "closed":  # "implemented" only after an evaluation, as the guard demands
            outcome = rng.choice(OUTCOMES if "evaluate" in path else OUTCOMES[2:])
        event_id = rng.choice([1, 1, 1, 2, 3])
        part_id = rng.choice(parts_of[event_id]) if rng.random() < 0.9 else None
        subject = SUBJECTS[d % len(SUBJECTS)] if weekly else rng.choice(SUBJECTS)
        title = rng.choice(ACTIONS).format(s=subject)
        title = title[0].upper() + title[1:]
        rows["demands"].append(
            {
                "id": d,
                "key": f"bench-{d}",
                "title": title,
                "text": _text(rng, 3, 6),
                "event_id": event_id,
                "event_part_id": part_id,
                "state": state,
                "state_changed_at": changed,
                "outcome": outcome,
                "is_public": True if weekly else rng.random() < 0.92,
                "created_at": created,
                "updated_at": changed,
                "version": 1,
            }
        )
        for t in rng.sample(range(1, len(TOPICS) + 1), rng.randint(1, 3)):
            rows["demand_topics"].append({"demand_id": d, "topic_id": t})
        if weekly:
            assigned = {(d - 1) // 10 % bodies + 1: "lead"}
        else:
            lead = rng.choices(body_ids, body_weights)[0]
            assigned = {lead: "lead"}
            for _ in range(rng.choice([0, 0, 1, 1, 2])):
                other = rng.choice(body_ids)
                assigned.setdefault(other, "involved")
        for b, role in assigned.items():
            confirmed = (
                _between(rng, changed, now)
                if role == "lead" and state != "closed" and rng.random() < 0.2
                else None
            )
            rows["assignments"].append(
                {"demand_id": d, "body_id": b, "role": role, "confirmed_at": confirmed}
            )
        # the entries every demand has: created, assigned, the transitions to its state
        author = rng.randint(1, 5)
        entries = [
            {"kind": "created", "created_at": created, "to_state": "raised", "is_public": True},
            {
                "kind": "assigned",
                "created_at": created + dt.timedelta(minutes=5),
                "is_public": True,
                "data": {"after": {body_slugs[b]: r for b, r in assigned.items()}},
            },
        ]
        previous = "raised"
        for i, trigger in enumerate(path):
            dest = {
                "address": "addressed",
                "evaluate": "evaluated",
                "close": "closed",
                "reopen": "raised",
            }[trigger]
            at = (
                changed
                if i == len(path) - 1
                else _between(rng, created + dt.timedelta(hours=1), changed)
            )
            data = {}
            if trigger == "evaluate":
                data = {"summary": _text(rng, 1, 2), "participants": "MS, MI, LIGA"}
            elif trigger == "close":
                data = {"outcome": outcome or "rejected"}
            elif trigger == "reopen":
                data = {"reason": _text(rng, 1, 1)}
            entries.append(
                {
                    "kind": "transition",
                    "created_at": at,
                    "trigger": trigger,
                    "from_state": previous,
                    "to_state": dest,
                    "is_public": True,
                    "data": data,
                }
            )
            previous = dest
        for e in entries:
            e.setdefault("author_id", author)
            e.setdefault("author_name", user_names[author])
        rows["demands"][-1]["version"] = 1 + len(path) + 1
        structural.append(entries)

    # The rest of the timeline: updates, statements, reminders, confirmations, spread unevenly.
    n_structural = sum(len(e) for e in structural)
    extra = max(timeline - n_structural, 0)
    activity = [rng.lognormvariate(0, 1) for _ in range(demands)]
    assigned_of: dict[int, list[int]] = {}
    for a in rows["assignments"]:
        assigned_of.setdefault(a["demand_id"], []).append(a["body_id"])
    kinds, kind_w = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    for d in rng.choices(range(1, demands + 1), activity, k=extra):
        demand = rows["demands"][d - 1]
        kind = rng.choices(kinds, kind_w)[0]
        at = _between(rng, demand["created_at"] + dt.timedelta(hours=2), now)
        body = rng.choice(assigned_of[d])
        entry = {"kind": kind, "created_at": at, "is_public": True, "data": {}}
        if kind == "update":
            author = rng.randint(1, 5)
            entry.update(
                author_id=author,
                author_name=user_names[author],
                text=_text(rng, 1, 3),
                is_public=rng.random() < 0.85,
            )
        elif kind == "statement":
            entry.update(body_id=body, author_name="Referat 1", text=_text(rng, 1, 4))
        elif kind == "confirmation":
            entry.update(body_id=body, author_name="Referat 1")
        else:
            week = at.isocalendar()
            entry.update(
                body_id=body,
                author_name="Erinnerungsdienst",
                is_public=False,
                text=f"Wöchentliche Erinnerung an referat1@{body_slugs[body]}.example.org",
                data={"week": f"{week[0]}-W{week[1]:02d}", "outbox_id": None},
            )
        structural[d - 1].append(entry)

    rows["timeline_entries"] = []
    for d, entries in enumerate(structural, start=1):
        entries.sort(key=lambda e: e["created_at"])
        for e in entries:
            rows["timeline_entries"].append(
                {
                    "id": len(rows["timeline_entries"]) + 1,
                    "demand_id": d,
                    "kind": e["kind"],
                    "created_at": e["created_at"],
                    "author_id": e.get("author_id"),
                    "author_name": e.get("author_name", ""),
                    "body_id": e.get("body_id"),
                    "is_public": e["is_public"],
                    "trigger": e.get("trigger"),
                    "from_state": e.get("from_state"),
                    "to_state": e.get("to_state"),
                    "text": e.get("text", ""),
                    "data": e.get("data", {}),
                }
            )
        rows["demands"][d - 1]["updated_at"] = max(e["created_at"] for e in entries)

    _evidence(rows, rng, params, now)
    return rows, _sample(rows)


def _evidence(rows: dict, rng: random.Random, params: dict, now: dt.datetime) -> None:
    """Consultations (some linked to demands) and meetings with next steps, for /beteiligungen
    and /dialog: a fixed number, however many demands there are.
    """
    n_bodies, n_demands = len(rows["bodies"]), len(rows["demands"])
    rows["consultations"], rows["consultation_demands"] = [], []
    for c in range(1, params["consultations"] + 1):
        received = (now - dt.timedelta(days=rng.randint(5, 700))).date()
        consulted = rng.random() < 0.8
        answered = consulted and rng.random() < 0.6
        rows["consultations"].append(
            {
                "id": c,
                "body_id": rng.randint(1, min(n_bodies, 10)),
                "kind": rng.choice(["law", "ordinance", "measure"]),
                "title": f"Entwurf zur Regelung über {rng.choice(SUBJECTS)} ({c})",
                "url": f"https://landtag.example.org/drucksache/{c}",
                "consulted": consulted,
                "received_on": received if consulted else None,
                "deadline_on": received + dt.timedelta(days=rng.randint(10, 40))
                if consulted
                else None,
                "learned_on": None if consulted else received,
                "source": "" if consulted else "Pressemitteilung",
                "statement_on": received + dt.timedelta(days=rng.randint(5, 30))
                if answered
                else None,
                "statement_text": _text(rng, 2, 4) if answered else "",
                "created_at": now,
                "updated_at": now,
            }
        )
        for d in rng.sample(range(1, n_demands + 1), rng.randint(0, 3)):
            rows["consultation_demands"].append({"consultation_id": c, "demand_id": d})
    rows["meetings"], rows["next_steps"] = [], []
    for m in range(1, params["meetings"] + 1):
        body = rng.randint(1, min(n_bodies, 10))
        held = (now - dt.timedelta(days=rng.randint(1, 700))).date()
        rows["meetings"].append(
            {
                "id": m,
                "body_id": body,
                "held_on": held,
                "format": rng.choice(["in_person", "video", "phone", "hybrid"]),
                "participants": "LIGA, " + rows["bodies"][body - 1]["short_name"],
                "topics": ", ".join(rng.sample(SUBJECTS, 2)),
                "summary": _text(rng, 2, 4),
                "created_at": now,
                "updated_at": now,
            }
        )
        for position in range(rng.randint(0, 3)):
            due = held + dt.timedelta(days=rng.randint(14, 120))
            rows["next_steps"].append(
                {
                    "id": len(rows["next_steps"]) + 1,
                    "meeting_id": m,
                    "position": position,
                    "text": f"{rng.choice(ACTIONS).format(s=rng.choice(SUBJECTS))}",
                    "due_on": due,
                    "body_id": rng.choice([body, None]),
                    "done_on": due if due < now.date() and rng.random() < 0.5 else None,
                }
            )


def _sample(rows: dict) -> dict:
    """Pick the URLs to benchmark: a typical public demand, a typical body, a search term."""
    per_demand: dict[int, int] = {}
    for e in rows["timeline_entries"]:
        if e["is_public"]:
            per_demand[e["demand_id"]] = per_demand.get(e["demand_id"], 0) + 1
    public = [d for d in rows["demands"] if d["is_public"] and d["state"] == "addressed"]
    counts = sorted(per_demand.get(d["id"], 0) for d in public)
    p75 = counts[len(counts) * 3 // 4] if counts else 0
    demand = next(d for d in public if per_demand.get(d["id"], 0) == p75)
    per_body: dict[int, int] = {}
    public_ids = {d["id"] for d in rows["demands"] if d["is_public"]}
    for a in rows["assignments"]:
        if a["demand_id"] in public_ids:
            per_body[a["body_id"]] = per_body.get(a["body_id"], 0) + 1
    ranked = sorted(per_body, key=lambda b: (per_body[b], b))
    median_body = ranked[len(ranked) // 2]
    slug = next(b["slug"] for b in rows["bodies"] if b["id"] == median_body)
    return {
        "demand_id": demand["id"],
        "demand_public_entries": per_demand.get(demand["id"], 0),
        "body_slug": slug,
        "body_public_demands": per_body[median_body],
        "largest_body_public_demands": max(per_body.values()),
        "q": SEARCH_TERM,
        "event_slug": rows["events"][0]["slug"],
        # the cold path's writes land here: public, not the sample, not on the overview's page 1
        "scratch_demand_id": max(i for i in public_ids if i != demand["id"]),
        "counts": {name: len(r) for name, r in rows.items()},
    }


INSERT_ORDER = [  # parents before children
    "users",
    "api_tokens",
    "events",
    "event_parts",
    "topics",
    "bodies",
    "contacts",
    "demands",
    "demand_topics",
    "assignments",
    "timeline_entries",
    "consultations",
    "consultation_demands",
    "meetings",
    "next_steps",
]


def generate(url: str, profile: str = "10k", seed: int = 20250618) -> dict:
    """Create the schema at ``url`` through the migrations and fill it; return the metadata."""
    import flask_migrate
    import sqlalchemy as sa

    from tracker import create_app
    from tracker.extensions import db

    params = PROFILES[profile]
    started = time.perf_counter()
    rows, meta = build_rows(params, seed)
    built = time.perf_counter()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-generate"})
    with app.app_context():
        flask_migrate.upgrade()
        tables = db.metadata.tables  # the models' tables, with their column types
        if db.session.scalar(sa.select(sa.func.count()).select_from(tables["demands"])):
            raise SystemExit(f"{url} already holds demands; generate into an empty database")
        postgres = db.engine.dialect.name == "postgresql"
        if not postgres:
            db.session.execute(sa.text("PRAGMA synchronous=OFF"))
        for name in INSERT_ORDER:
            for i in range(0, len(rows[name]), CHUNK):
                db.session.execute(sa.insert(tables[name]), rows[name][i : i + CHUNK])
            if postgres and "id" in tables[name].c and rows[name]:  # explicit ids: move on
                db.session.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), :n)"),
                    {"n": max(r["id"] for r in rows[name])},
                )
        db.session.commit()
        if postgres:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE"))
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        db.engine.dispose()
    meta.update(
        profile=profile,
        params=params,
        seed=seed,
        generated_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        build_seconds=round(built - started, 2),
        insert_seconds=round(time.perf_counter() - built, 2),
    )
    return meta


def ensure_sqlite(profile: str = "10k", log=print) -> tuple[Path, dict]:
    """Return the cached SQLite file of ``profile`` (generating it if needed) and its metadata."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"data-{profile}-{schema_key()}.sqlite3"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        return path, json.loads(meta_path.read_text())
    for old in RESULTS.glob(f"data-{profile}-{'?' * 10}.*"):  # stale schemas, after a day
        if time.time() - old.stat().st_mtime > 86400:
            old.unlink()
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    log(f"generating the '{profile}' data set into {path.name} ...")
    meta = generate(f"sqlite:///{tmp}", profile)
    log(f"  built in {meta['build_seconds']} s, inserted in {meta['insert_seconds']} s")
    tmp.rename(path)
    meta_path.write_text(json.dumps(meta, indent=2))
    return path, meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=list(PROFILES), default="10k")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL (tests/pgserver.py), fill it, stop it",
    )
    parser.add_argument("--seed", type=int, default=20250618)
    args = parser.parse_args()
    if args.postgres:
        from pgserver import PostgresServer

        server = PostgresServer()
        server.start()
        try:
            meta = generate(server.create_database("bench"), args.profile, args.seed)
            print(json.dumps(meta, indent=2))
        finally:
            server.stop()
        return
    url = os.environ.get("TRACKER_DATABASE_URL")
    if url:
        print(json.dumps(generate(url, args.profile, args.seed), indent=2))
    else:
        path, meta = ensure_sqlite(args.profile)
        print(path)
        print(json.dumps(meta, indent=2))


if __name__ == "__main__":
    main()
