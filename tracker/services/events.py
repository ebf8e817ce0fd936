"""Events (Veranstaltungen) with their parts, and topics: the one place staff write them.

Each function checks everything first and refuses with a German message per field
(``ServiceError``), changing nothing; nothing here commits: the request's edge does. A slug is
given once, when the event or topic is made: it is in addresses and filters that others keep.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from tracker.domain import rules
from tracker.domain.models import Demand, Event, EventPart, Topic, demand_topics
from tracker.domain.workdays import today
from tracker.extensions import db
from tracker.services.errors import refuse_if_changed, refuse_invalid

EVENT_TEXTS = ("title", "organiser", "location", "description")
TOO_MANY_PARTS = _l("Zu viele Teile.")


@dataclass
class PartValues:
    """What is asked for one part; ``id`` names an existing one to keep."""

    title: str
    kind: str
    slug: str = ""
    description: str = ""
    id: int | None = None

    def is_blank(self) -> bool:
        return not (self.title or "").strip() and not (self.slug or "").strip()


def _slug_errors(model, slug: str) -> dict[str, str]:
    problem = rules.slug_problem(slug)
    if problem is None and db.session.scalar(sa.select(model.id).where(model.slug == slug)):
        problem = str(_l("Dieses Kürzel ist schon vergeben."))
    return {"slug": problem} if problem else {}


def save_event(
    item: Event | None,
    *,
    date: dt.date | None,
    slug: str = "",
    parts: list[PartValues] = (),
    version: int | None = None,
    **texts: str,
) -> tuple[Event, bool]:
    """Create (``item`` None, with ``slug``) or change an event and its parts; return it and
    whether anything changed. Parts not listed any more are removed, unless demands come from
    them; blank rows are ignored. ``version``: the one the form was loaded at (StaleRecord if
    someone saved since)."""
    refuse_if_changed(item, version)
    texts = {name: (texts.get(name) or "").strip() for name in EVENT_TEXTS}
    errors = rules.length_errors(texts, rules.EVENT)
    if item is None:
        slug = (slug or "").strip()
        errors |= _slug_errors(Event, slug)
    if not texts["title"]:
        errors["title"] = str(rules.REQUIRED)
    if date is None:
        errors["date"] = str(_l("Bitte das Datum der Veranstaltung angeben."))
    elif problem := rules.day_problem(date, today()):
        errors["date"] = problem
    known = {p.id: p for p in item.parts} if item is not None else {}
    rows = [(index, p) for index, p in enumerate(parts) if not p.is_blank()]  # form row numbers
    parts = [p for _index, p in rows]
    if len(parts) > rules.PARTS_MAX:
        errors["parts"] = str(TOO_MANY_PARTS)
    errors |= _part_errors(rows, known)
    refuse_invalid(errors)

    changed = item is None
    if item is None:
        item = Event(slug=slug)
        db.session.add(item)
    for name, value in {"date": date, **texts}.items():
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    listed = {values.id for values in parts}
    if any(i not in listed for i in known):  # gone first: a listed part may take its slug
        item.parts = [p for p in item.parts if p.id in listed]
        changed = True
        db.session.flush()
    renamed = [known[v.id] for v in parts if v.id in known and known[v.id].slug != v.slug.strip()]
    for row in renamed:  # parts that swap slugs: out of each other's way first (no slug has "~")
        row.slug = f"~{row.id}"
    if renamed:
        db.session.flush()
    kept = []
    for position, values in enumerate(parts):
        row = known.get(values.id) if values.id is not None else None
        if row is None:
            row, changed = EventPart(), True
        new = {
            "slug": values.slug.strip(),
            "kind": values.kind,
            "title": values.title.strip(),
            "description": (values.description or "").strip(),
            "position": position,
        }
        for name, value in new.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        kept.append(row)
    if [id(p) for p in item.parts] != [id(p) for p in kept]:
        item.parts = kept
        changed = True
    if changed and item.id is not None:
        item.version += 1  # also when only a part changed
    db.session.flush()  # a new event gets its id; the caller's edge commits
    return item, changed


def _part_errors(rows: list[tuple[int, PartValues]], known: dict[int, EventPart]) -> dict[str, str]:
    """Check each listed part; a part left out that demands come from may not go."""
    errors: dict[str, str] = {}
    seen: set[str] = set()
    ids: set[int | None] = {None}
    for index, part in rows:
        texts = {"slug": (part.slug or "").strip(), "title": (part.title or "").strip()}
        texts["description"] = (part.description or "").strip()
        for name, message in rules.length_errors(texts, rules.EVENT_PART).items():
            errors[f"parts-{index}-{name}"] = message
        if not texts["title"]:
            errors[f"parts-{index}-title"] = str(rules.REQUIRED)
        problem = rules.slug_problem(texts["slug"])
        if problem is None and texts["slug"] in seen:
            problem = str(_l("Zwei Teile können nicht dasselbe Kürzel haben."))
        if problem:
            errors[f"parts-{index}-slug"] = problem
        seen.add(texts["slug"])
        if part.kind not in EventPart.KINDS:
            errors[f"parts-{index}-kind"] = str(_l("Bitte eine Art wählen."))
        if part.id is not None and (part.id not in known or part.id in ids):
            errors[f"parts-{index}-title"] = str(_l("Unbekannter Teil."))  # its id is hidden
        ids.add(part.id)
    left_out = set(known) - {p.id for _index, p in rows}
    if left_out:
        used = db.session.scalars(
            sa.select(Demand.event_part_id).where(Demand.event_part_id.in_(left_out)).distinct()
        ).all()
        if used:
            names = ", ".join(sorted(known[i].title for i in used))
            errors["parts"] = str(
                _l(
                    "Aus „%(parts)s“ stammen Forderungen; ein Teil mit Forderungen bleibt.",
                    parts=names,
                )
            )
    return errors


def save_topic(item: Topic | None, *, name: str, slug: str = "") -> tuple[Topic, bool]:
    """Create (``item`` None, with ``slug``) or rename a topic; return it and if it changed."""
    name = (name or "").strip()
    errors = rules.length_errors({"name": name}, rules.TOPIC)
    if not name:
        errors["name"] = str(rules.REQUIRED)
    elif db.session.scalar(
        sa.select(Topic.id).where(
            sa.func.lower(Topic.name) == name.lower(), Topic.id != (item.id if item else -1)
        )
    ):
        errors["name"] = str(_l("Ein Thema dieses Namens gibt es schon."))
    if item is None:
        slug = (slug or "").strip()
        errors |= _slug_errors(Topic, slug)
    refuse_invalid(errors)
    if item is None:
        item = Topic(slug=slug, name=name)
        db.session.add(item)
        db.session.flush()
        return item, True
    changed = item.name != name
    item.name = name
    return item, changed


def list_events() -> list[Event]:
    """The events, newest first, with their parts."""
    statement = sa.select(Event).options(selectinload(Event.parts))
    return list(db.session.scalars(statement.order_by(Event.date.desc(), Event.id.desc())))


def demand_counts() -> dict[tuple[str, int], int]:
    """How many demands come from each event and each topic: („event“|„topic“, id) → count."""
    counts = {
        ("event", event_id): n
        for event_id, n in db.session.execute(
            sa.select(Demand.event_id, sa.func.count()).group_by(Demand.event_id)
        )
        if event_id is not None
    }
    topic_id = demand_topics.c.topic_id
    counts |= {
        ("topic", t): n
        for t, n in db.session.execute(sa.select(topic_id, sa.func.count()).group_by(topic_id))
    }
    return counts
