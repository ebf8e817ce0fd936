"""What a timeline entry changed, in names people know instead of ids, slugs and column names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker.domain.labels import FIELD_LABELS, field_label, part_label, role_label, shorten
from tracker.domain.models import Body, Event, EventPart, TimelineEntry, Topic
from tracker.extensions import db

TEXT_WIDTH = 160  # how much of an old or new demand text the staff timeline shows


@dataclass(frozen=True)
class Change:
    """One changed field of an edit: its label and the old and new value as text."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class Details:
    """What the timeline shows of an entry besides its text."""

    bodies: list[str]  # an assignment: "Sozialministerium (federführend)", …
    changes: list[Change]  # an edit: one row per changed field


def describe(entries: Iterable[TimelineEntry]) -> dict[int, Details]:
    """Return the details of each assignment and edit in ``entries``, keyed by entry id."""
    entries = [e for e in entries if e.kind in ("assigned", "edited")]
    names = _Names(entries)
    details = {}
    for e in entries:
        data = e.data if isinstance(e.data, dict) else {}
        if e.kind == "assigned":
            after = data.get("after") if isinstance(data.get("after"), dict) else {}
            bodies = [f"{names.body(slug)} ({role_label(role)})" for slug, role in after.items()]
            details[e.id] = Details(bodies=bodies, changes=[])
        else:
            before = data.get("before") if isinstance(data.get("before"), dict) else {}
            after = data.get("after") if isinstance(data.get("after"), dict) else {}
            order = list(FIELD_LABELS)
            fields = sorted(after, key=lambda f: order.index(f) if f in order else len(order))
            changes = [
                Change(field_label(f), names.value(f, before.get(f)), names.value(f, after.get(f)))
                for f in fields
            ]
            details[e.id] = Details(bodies=[], changes=changes)
    return details


class _Names:
    """Look up, in one query per table, the names behind the ids and slugs of some entries."""

    def __init__(self, entries: list[TimelineEntry]):
        slugs, topics, events, parts = set(), set(), set(), set()
        for e in entries:
            data = e.data if isinstance(e.data, dict) else {}
            for side in ("before", "after"):
                values = data.get(side) if isinstance(data.get(side), dict) else {}
                if e.kind == "assigned":
                    slugs.update(str(s) for s in values)
                    continue
                if isinstance(values.get("topics"), list):
                    topics.update(str(t) for t in values["topics"])
                for key, into in (("event_id", events), ("event_part_id", parts)):
                    if isinstance(values.get(key), int):
                        into.add(values[key])
        lookups = _lookups()
        self.bodies = self._map(lookups["bodies"], slugs)
        self.topics = self._map(lookups["topics"], topics)
        self.events = self._map(lookups["events"], events)
        self.parts = self._map(lookups["parts"], parts)

    @staticmethod
    def _map(stmt, wanted: set) -> dict:
        if not wanted:
            return {}
        return {row[0]: row[1:] for row in db.session.execute(stmt, {"wanted": list(wanted)})}

    def body(self, slug: str) -> str:
        short_name, name = self.bodies.get(slug, ("", slug))
        return short_name or name

    def value(self, field: str, value: Any) -> str:
        """Return a field's old or new value as people read it."""
        if value is None or value == [] or value == "":
            return "—"
        if field == "topics" and isinstance(value, list):
            return ", ".join(self.topics.get(str(t), (str(t),))[0] for t in value)
        if field == "event_id":
            return self.events[value][0] if value in self.events else _("(gelöscht)")
        if field == "event_part_id":
            return part_label(*self.parts[value]) if value in self.parts else _("(gelöscht)")
        if field == "is_public":
            return _("ja") if value else _("nein")
        if field == "text":
            return shorten(str(value), TEXT_WIDTH)
        return str(value)


@cache
def _lookups() -> dict[str, sa.Select]:
    """The names behind the ids and slugs, by table: built once, a timeline shows them."""
    wanted = sa.bindparam("wanted", expanding=True)
    return {
        "bodies": sa.select(Body.slug, Body.short_name, Body.name).where(Body.slug.in_(wanted)),
        "topics": sa.select(Topic.slug, Topic.name).where(Topic.slug.in_(wanted)),
        "events": sa.select(Event.id, Event.title).where(Event.id.in_(wanted)),
        "parts": sa.select(EventPart.id, Event.title, EventPart.title)
        .join(Event)
        .where(EventPart.id.in_(wanted)),
    }
