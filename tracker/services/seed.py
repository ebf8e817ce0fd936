"""Load the Fachtag data (``tracker/data/*.toml``) idempotently: a second run changes nothing."""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources

import sqlalchemy as sa

from tracker.domain.models import (
    Assignment,
    Body,
    Demand,
    Event,
    EventPart,
    TimelineEntry,
    Topic,
)
from tracker.extensions import db
from tracker.services import bodies as body_service

DATA_FILE = "fachtag-2025-06-18.toml"
SEEDED_BODY_FIELDS = ("name", "short_name", "description", "name_accusative", "short_accusative")


def load_data(name: str = DATA_FILE) -> dict:
    """Read a data file shipped in the package."""
    return tomllib.loads(resources.files("tracker.data").joinpath(name).read_text("utf-8"))


def _upsert(model, slug: str, **values):
    row = db.session.scalar(sa.select(model).where(model.slug == slug))
    if row is None:
        row = model(slug=slug)
        db.session.add(row)
    for key, value in values.items():
        setattr(row, key, value)
    return row


def seed(data: dict | None = None) -> dict[str, int]:
    """Create or update the event, topics, bodies, contacts and demands; return counts added.

    The caller commits (``tracker seed`` and ``tracker bootstrap`` do).
    """
    data = data or load_data()
    with db.session.no_autoflush:  # rows are linked up before the first flush
        added = _seed(data)
        db.session.flush()
    return added


def _seed(data: dict) -> dict[str, int]:
    added = {"demands": 0}
    ev = data["event"]
    event = _upsert(
        Event,
        ev["slug"],
        title=ev["title"],
        date=dt.date.fromisoformat(ev["date"]),
        organiser=ev.get("organiser", ""),
        location=ev.get("location", ""),
        description=ev.get("description", ""),
    )
    db.session.flush()
    parts = {p.slug: p for p in event.parts}
    for position, part in enumerate(ev.get("parts", [])):
        row = parts.get(part["slug"])
        if row is None:
            row = EventPart(event=event, slug=part["slug"])
            db.session.add(row)
        row.kind, row.title = part["kind"], part["title"]
        row.description, row.position = part.get("description", ""), position
        parts[part["slug"]] = row
    topics = {t["slug"]: _upsert(Topic, t["slug"], name=t["name"]) for t in data.get("topics", [])}
    bodies = {}
    for b in data.get("bodies", []):  # through the service: the data keeps the same rules
        existing = db.session.scalar(sa.select(Body).where(Body.slug == b["slug"]))
        body, _changed = body_service.save_body(
            existing,
            **{name: b.get(name, "") for name in SEEDED_BODY_FIELDS},
            slug=b["slug"],
            kind=b.get("kind", "ministry"),
            # staff agree the rhythm with the body; the data file does not know it
            dialogue_rhythm_weeks=existing.dialogue_rhythm_weeks if existing else None,
        )
        known = {c.email for c in body.contacts}
        for c in b.get("contacts", []):
            if c["email"] not in known:
                body_service.add_contact(
                    body,
                    name=c["name"],
                    email=c["email"],
                    escalation_level=c.get("escalation_level", 1),
                )
        bodies[b["slug"]] = body
    db.session.flush()
    for d in data.get("demands", []):
        if db.session.scalar(sa.select(Demand.id).where(Demand.key == d["key"])):
            continue  # already seeded: staff may have moved or edited it since
        part = parts[d["part"]]
        demand = Demand(
            key=d["key"],
            title=d["title"],
            text=d["text"].strip(),
            event=event,
            event_part=part,
            is_public=d.get("public", True),
            state="raised",
            created_at=dt.datetime.combine(event.date, dt.time(16, 0), dt.UTC),
            state_changed_at=dt.datetime.combine(event.date, dt.time(16, 0), dt.UTC),
            topics=[topics[t] for t in d.get("topics", [])],
        )
        for slug in d.get("lead", []):
            demand.assignments.append(Assignment(body=bodies[slug], role="lead"))
        for slug in d.get("involved", []):
            demand.assignments.append(Assignment(body=bodies[slug], role="involved"))
        db.session.add(demand)
        db.session.add(
            TimelineEntry(
                demand=demand,
                kind="created",
                to_state="raised",
                is_public=demand.is_public,
                created_at=demand.created_at,
                author_name=ev.get("organiser", ""),
                # no sentence of its own: the demand names its event and part, in every language
            )
        )
        added["demands"] += 1
    _link_repeats(data.get("demands", []))
    return added


def _link_repeats(specs: list[dict]) -> None:
    """Link each demand with ``repeats = "<key>"`` to that earlier demand (if not yet linked)."""
    wanted = {d["key"]: d["repeats"] for d in specs if d.get("repeats")}
    if not wanted:
        return
    db.session.flush()
    keys = set(wanted) | set(wanted.values())
    by_key = {d.key: d for d in db.session.scalars(sa.select(Demand).where(Demand.key.in_(keys)))}
    for key, earlier in wanted.items():
        if earlier not in by_key:
            raise ValueError(f"demand {key!r} repeats unknown demand {earlier!r}")
        if by_key[key].repeats_id is None:
            by_key[key].repeats = by_key[earlier]
