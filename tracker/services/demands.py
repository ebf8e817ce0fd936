"""Create, edit and move demands; every change writes its timeline entry in the same transaction.

Nothing here commits: the caller's edge (request, command, job) does, once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain import rules, workflow
from tracker.domain.models import Assignment, Body, Demand, TimelineEntry, Topic, User, utcnow
from tracker.extensions import db, wait_for_others_on
from tracker.services import subscriptions
from tracker.services.errors import (
    ServiceError,
    StaleDemand,
    TransitionNotAllowed,
    refuse_invalid,
    stale_refused,
)

EDITABLE = ("title", "text", "event_id", "event_part_id", "is_public")
REQUIRED = ("title", "text")


def _flush() -> None:
    """Write the changes (no commit), turning a lost optimistic-locking race into StaleDemand."""
    with stale_refused():
        db.session.flush()


def _check_version(demand: Demand, expected_version: int | None) -> None:
    if expected_version is not None and demand.version != expected_version:
        raise StaleDemand()


def _entry(demand: Demand, user: User | None, kind: str, **fields: Any) -> TimelineEntry:
    entry = TimelineEntry(
        demand=demand,
        kind=kind,
        author=user,
        author_name=fields.pop("author_name", user.name if user else ""),
        created_at=utcnow(),
        **fields,
    )
    db.session.add(entry)
    return entry


def check_texts(fields: dict[str, Any]) -> dict[str, str]:
    """Strip a demand's title and text in ``fields``; return a message per one that is refused.

    Both are required and limited (``rules.DEMAND``); fields not given are not checked.
    """
    for name in REQUIRED:
        if name in fields:
            fields[name] = (fields[name] or "").strip()
    errors = {name: str(rules.REQUIRED) for name in REQUIRED if fields.get(name) == ""}
    return rules.length_errors(fields, rules.DEMAND) | errors


def roles_problem(roles: Iterable[str]) -> str | None:
    """Return why bodies with these roles cannot be responsible for a demand, or None.

    Each role is one of ``Assignment.ROLES``; bodies, if any, include at least one lead body.
    """
    roles = list(roles)
    if any(role not in Assignment.ROLES for role in roles):
        return str(_l("Unbekannte Rolle."))
    if roles and "lead" not in roles:
        return str(_l("Mindestens eine Stelle muss federführend sein."))
    return None


def create_demand(
    user: User | None, *, topics: Iterable[Topic] = (), nonce: str = "", **fields: Any
) -> Demand:
    """Record a new demand in state 'raised'; refuse a missing or too long title or text.

    ``nonce``: the rendered form's; the same form sent again with the same values returns the
    demand it made (sent again with any value changed, after going back, it is new).
    """
    fields = {name: "" for name in REQUIRED} | fields
    refuse_invalid(check_texts(fields))
    nonce, topics = (nonce or "")[: rules.NONCE_MAX], list(topics)

    def same(entry: TimelineEntry) -> bool:  # every field the form sent, the topics too
        made = entry.demand
        return all(getattr(made, name) == value for name, value in fields.items()) and {
            t.id for t in made.topics
        } == {t.id for t in topics}

    earlier = _made_with("created", nonce, same, user)
    if earlier is not None:
        return earlier.demand
    demand = Demand(state=workflow.STATES[0].name, state_changed_at=utcnow(), **fields)
    demand.topics = topics
    db.session.add(demand)
    data = {"nonce": nonce} if nonce else {}
    _entry(demand, user, "created", to_state=demand.state, is_public=demand.is_public, data=data)
    _flush()
    return demand


def edit_demand(
    demand: Demand,
    user: User | None,
    expected_version: int | None,
    *,
    topics: Iterable[Topic] | None = None,
    **fields: Any,
) -> TimelineEntry | None:
    """Change a demand's texts, source, visibility or topics; the timeline keeps the old values."""
    _check_version(demand, expected_version)
    refuse_invalid(check_texts(fields))
    before, after = {}, {}
    for name, value in fields.items():
        if name not in EDITABLE:
            raise ValueError(name)
        if getattr(demand, name) != value:
            before[name], after[name] = getattr(demand, name), value
            setattr(demand, name, value)
    if topics is not None:
        old = sorted(t.slug for t in demand.topics)
        new = sorted(t.slug for t in topics)
        if old != new:
            before["topics"], after["topics"] = old, new
            demand.topics = list(topics)
    if not after:
        return None
    demand.updated_at = utcnow()
    entry = _entry(demand, user, "edited", is_public=False, data={"before": before, "after": after})
    _flush()
    return entry


def assign_bodies(
    demand: Demand, user: User | None, expected_version: int | None, roles: dict[int, str]
) -> TimelineEntry | None:
    """Set the responsible bodies (body id -> 'lead' or 'involved'); others are removed."""
    _check_version(demand, expected_version)
    problem = roles_problem(roles.values())
    if problem:
        raise ServiceError(problem, {"bodies": problem})
    bodies = {b.id: b for b in db.session.scalars(sa.select(Body).where(Body.id.in_(roles)))}
    if len(bodies) != len(roles):
        raise ServiceError(_l("Unbekannte Stelle."))
    before = {a.body.slug: a.role for a in demand.assignments}
    after = {bodies[i].slug: role for i, role in roles.items()}
    if before == after:
        return None
    current = {a.body_id: a for a in demand.assignments}
    for body_id, assignment in current.items():
        if body_id not in roles:
            demand.assignments.remove(assignment)
    for body_id, role in roles.items():
        if body_id in current:
            current[body_id].role = role
        else:
            demand.assignments.append(Assignment(body=bodies[body_id], role=role))
    demand.updated_at = utcnow()  # bumps the version: assignments are part of the demand
    entry = _entry(
        demand,
        user,
        "assigned",
        is_public=demand.is_public,
        data={"before": before, "after": after},
    )
    _flush()
    return entry


def add_update(
    demand: Demand, user: User | None, text: str, *, is_public: bool, nonce: str = ""
) -> TimelineEntry:
    """Add a progress note by LIGA staff to the timeline.

    ``nonce``: the rendered form's (``web.forms.one_time_nonce``); the same form sent again
    with the same words returns the note it made, and nothing is written or mailed twice (sent
    again with other words, after going back, it is a new note).
    """
    text = (text or "").strip()
    if not text:
        refuse_invalid({"text": str(_l("Bitte einen Text eingeben."))})
    refuse_invalid(rules.length_errors({"text": text}, {"text": rules.NOTE_MAX}))
    nonce = (nonce or "")[: rules.NONCE_MAX]

    def same(entry: TimelineEntry) -> bool:
        return (entry.demand_id, entry.text, entry.is_public) == (demand.id, text, is_public)

    earlier = _made_with("update", nonce, same, user)
    if earlier is not None:
        return earlier
    data = {"nonce": nonce} if nonce else {}
    entry = _entry(demand, user, "update", text=text, is_public=is_public, data=data)
    _flush()
    subscriptions.notify(entry)
    return entry


def _made_with(
    kind: str, nonce: str, same: Callable[[TimelineEntry], bool], user: User | None
) -> TimelineEntry | None:
    """Return the timeline entry of ``kind`` that ``user`` made in the last day from a form
    with ``nonce``, with the ``same`` content, if any: the same rendered form sent twice.

    Two submissions at once (a double click) wait for each other first, on the user's row, so
    that the second sees what the first wrote.
    """
    if not nonce or user is None:
        return None
    wait_for_others_on(User.__table__, user.id)
    recent = sa.select(TimelineEntry).where(
        TimelineEntry.kind == kind,
        TimelineEntry.author_id == user.id,
        TimelineEntry.created_at >= utcnow() - dt.timedelta(days=1),
    )
    entries = db.session.scalars(recent)
    return next((e for e in entries if (e.data or {}).get("nonce") == nonce and same(e)), None)


def check_notes(trigger: str, notes: dict[str, str]) -> dict[str, str]:
    """Return a message per missing or invalid note of ``trigger`` (empty when all is fine).

    ``notes`` are the step's notes as ``advance`` keeps them: stripped, blanks left out.
    """
    errors = {}
    for note in workflow.TRANSITION_BY_TRIGGER[trigger].notes:
        value = notes.get(note.name, "")
        if note.required and not value:
            errors[note.name] = str(_l("Bitte ausfüllen: %(label)s", label=note.label))
        elif note.choices and value and value not in dict(note.choices):
            errors[note.name] = str(_l("Bitte eine der angebotenen Möglichkeiten wählen."))
        elif len(value) > rules.NOTE_MAX:
            errors[note.name] = rules.too_long(rules.NOTE_MAX)
    return errors


def advance(
    demand: Demand,
    trigger: str,
    user: User | None,
    expected_version: int | None,
    notes: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Move ``demand`` by ``trigger`` and write the transition to the timeline, or refuse.

    The machine decides (the state, then the step's guards); the step's effects run as its
    callbacks. Only the notes' form is checked here, after the machine said yes, so that a step the
    state does not offer is refused as such and not for missing notes.
    """
    step = workflow.TRANSITION_BY_TRIGGER.get(trigger)
    notes = {  # the step's notes as given, without blanks
        n.name: value.strip()
        for n in (step.notes if step else ())
        if isinstance(value := (notes or {}).get(n.name), str) and value.strip()
    }
    _check_version(demand, expected_version)
    refused = workflow.refusal(demand, trigger, notes)
    if refused:
        raise TransitionNotAllowed(refused)
    errors = check_notes(trigger, notes)
    if errors:
        raise ServiceError(_l("Bitte die markierten Angaben ergänzen."), errors)
    before = demand.state
    try:
        workflow.fire(demand, trigger, notes)
    except workflow.Refused as refusal:  # the machine allowed it just now: never trust it silently
        raise TransitionNotAllowed(refusal.message) from None
    now = utcnow()
    demand.state_changed_at = now
    demand.updated_at = now
    entry = _entry(
        demand,
        user,
        "transition",
        trigger=trigger,
        from_state=before,
        to_state=demand.state,
        is_public=demand.is_public,
        text=notes.get("summary") or notes.get("reason") or notes.get("note") or "",
        data=notes,
    )
    _flush()
    subscriptions.notify(entry)
    return entry
