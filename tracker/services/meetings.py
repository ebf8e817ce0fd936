"""The dialogue register: meetings of the LIGA with a body, agreed next steps, regularity.

Each body may have an agreed rhythm (``Body.dialogue_rhythm_weeks``, 13 = quarterly); a body whose
last meeting lies further back than that is flagged. Services validate and change the session;
the caller commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from tracker.domain import rules
from tracker.domain.models import Body, Meeting, NextStep, utcnow
from tracker.domain.workdays import today
from tracker.extensions import db, wait_for_others_on
from tracker.services.errors import refuse_if_changed, refuse_invalid

TOO_MANY_STEPS = _l("Zu viele nächste Schritte.")
RHYTHM_CHOICES = (
    (4, _l("monatlich")),
    (6, _l("alle sechs Wochen")),
    (8, _l("alle zwei Monate")),
    (13, _l("vierteljährlich")),
    (26, _l("halbjährlich")),
    (52, _l("jährlich")),
)


@dataclass
class StepValues:
    """What is asked for one next step; ``id`` names an existing one to keep."""

    text: str
    due_on: dt.date | None = None
    body_id: int | None = None
    done: bool = False
    id: int | None = None


def save_meeting(
    item: Meeting | None,
    *,
    body_id: int | None,
    held_on: dt.date | None,
    format: str,
    participants: str = "",
    topics: str = "",
    summary: str = "",
    steps: list[StepValues] = (),
    on: dt.date | None = None,
    version: int | None = None,
) -> tuple[Meeting, bool]:
    """Validate and create or update a meeting with its next steps; return it and if it changed.

    Steps not listed any more are removed; a step marked done keeps the day it was first marked.
    Raises ServiceError and changes nothing when a value is wrong.
    """
    refuse_if_changed(item, version)  # a form loaded before someone else's save
    on = on or today()
    errors: dict[str, str] = {}
    if body_id is None or db.session.get(Body, body_id) is None:
        errors["body_id"] = str(_l("Bitte eine Stelle wählen."))
    if held_on is None:
        errors["held_on"] = str(_l("Bitte das Datum des Gesprächs angeben."))
    elif held_on > on + dt.timedelta(days=366):
        errors["held_on"] = str(_l("Das Datum liegt zu weit in der Zukunft."))
    elif problem := rules.day_problem(held_on, on):
        errors["held_on"] = problem
    if format not in Meeting.FORMATS:
        errors["format"] = str(_l("Bitte eine Form wählen."))
    texts = {"participants": participants, "topics": topics, "summary": summary}
    texts = {k: (v or "").strip() for k, v in texts.items()}
    errors |= rules.length_errors(texts, rules.MEETING)
    if not texts["summary"]:
        errors["summary"] = str(_l("Bitte eine öffentliche Zusammenfassung angeben."))
    known = {s.id: s for s in item.next_steps} if item is not None else {}
    rows = list(enumerate(steps))  # the form's row numbers: each message at its own row
    for index, step in rows:
        typed = step.due_on is not None or step.body_id is not None or step.done
        if not (step.text or "").strip() and step.id is None and typed:
            errors[f"steps-{index}-text"] = str(
                _l("Bitte den Schritt beschreiben oder die Zeile leeren.")
            )
    rows = [(index, step) for index, step in rows if (step.text or "").strip()]
    if len(rows) > rules.STEPS_MAX:
        errors["steps"] = str(TOO_MANY_STEPS)
    ids: set[int | None] = {None}  # each step in one row only
    for index, step in rows:
        if len(step.text.strip()) > rules.STEP_MAX:
            errors[f"steps-{index}-text"] = rules.too_long(rules.STEP_MAX)
        if problem := rules.day_problem(step.due_on, on):
            errors[f"steps-{index}-due_on"] = problem
        if step.body_id is not None and db.session.get(Body, step.body_id) is None:
            errors[f"steps-{index}-body_id"] = str(_l("Unbekannte Stelle."))
        if step.id is not None and (step.id not in known or step.id in ids):
            errors[f"steps-{index}-text"] = str(_l("Unbekannter Schritt."))  # its id is hidden
        ids.add(step.id)
    steps = [step for _index, step in rows]
    refuse_invalid(errors)

    changed = item is None
    if item is None:
        earlier = _recorded_already(body_id, held_on, format, texts, steps)
        if earlier is not None:
            return earlier, True
        item = Meeting()
        db.session.add(item)
    for name, value in {"body_id": body_id, "held_on": held_on, "format": format, **texts}.items():
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    kept: list[NextStep] = []
    for position, values in enumerate(steps):
        row = known.get(values.id) if values.id is not None else None
        if row is None:
            row = NextStep()
            changed = True
        done_on = (row.done_on or on) if values.done else None
        new = {
            "position": position,
            "text": values.text.strip(),
            "due_on": values.due_on,
            "body_id": values.body_id,
            "done_on": done_on,
        }
        for name, value in new.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        kept.append(row)
    if [id(r) for r in item.next_steps] != [id(r) for r in kept]:
        item.next_steps = kept
        changed = True
    if changed and item.id is not None:
        item.updated_at = utcnow()  # also when only a next step changed (feeds sort by it)
        item.version += 1
    db.session.flush()  # a new meeting gets its id; the caller's edge commits
    return item, changed


def _recorded_already(body_id, held_on, format, texts, steps) -> Meeting | None:
    """Return the meeting recorded in the last day with just these values, if any: the form
    sent twice (a double click, a page sent again). A second request at the same moment waits
    for the first (on the body's row) and then finds it."""
    wait_for_others_on(Body.__table__, body_id)
    recent = sa.select(Meeting).where(
        Meeting.body_id == body_id,
        Meeting.held_on == held_on,
        Meeting.created_at >= utcnow() - dt.timedelta(days=1),
    )
    wanted = (
        {"format": format, **texts},
        [(s.text.strip(), s.due_on, s.body_id, s.done) for s in steps],
    )
    for meeting in db.session.scalars(recent.options(selectinload(Meeting.next_steps))):
        values = {name: getattr(meeting, name) for name in wanted[0]}
        kept = [(s.text, s.due_on, s.body_id, s.done_on is not None) for s in meeting.next_steps]
        if (values, kept) == wanted:
            return meeting
    return None


def list_meetings(body: Body | None = None, year: int | None = None) -> list[Meeting]:
    """Return the meetings (newest first), optionally of one body and one year."""
    stmt = sa.select(Meeting).options(
        joinedload(Meeting.body), selectinload(Meeting.next_steps).joinedload(NextStep.body)
    )
    if body is not None:
        stmt = stmt.where(Meeting.body_id == body.id)
    if year is not None:
        stmt = stmt.where(
            Meeting.held_on >= dt.date(year, 1, 1), Meeting.held_on < dt.date(year + 1, 1, 1)
        )
    return list(db.session.scalars(stmt.order_by(Meeting.held_on.desc(), Meeting.id.desc())))


def years() -> list[int]:
    """Return the years in which meetings were held."""
    dates = db.session.scalars(sa.select(Meeting.held_on))
    return sorted({d.year for d in dates}, reverse=True)


def open_steps(body: Body | None = None, on: dt.date | None = None) -> list[NextStep]:
    """Return the open next steps (of one responsible body), the earliest due first."""
    stmt = (
        sa.select(NextStep)
        .join(NextStep.meeting)
        .where(NextStep.done_on.is_(None))
        .options(selectinload(NextStep.meeting).selectinload(Meeting.body))
    )
    if body is not None:
        stmt = stmt.where(NextStep.body_id == body.id)
    rows = db.session.scalars(stmt).all()
    return sorted(rows, key=lambda s: (s.due_on or dt.date.max, s.meeting.held_on, s.id))


def open_steps_by_body(body_ids: list[int]) -> dict[int, list[NextStep]]:
    """Return the open next steps of the bodies ``body_ids``, earliest due first, in one query."""
    rows = db.session.scalars(
        sa.select(NextStep)
        .join(NextStep.meeting)
        .where(NextStep.done_on.is_(None), NextStep.body_id.in_(body_ids))
        .options(contains_eager(NextStep.meeting))
        .order_by(NextStep.due_on.is_(None), NextStep.due_on, Meeting.held_on, NextStep.id)
    ).all()
    result: dict[int, list[NextStep]] = {}
    for step in rows:
        result.setdefault(step.body_id, []).append(step)
    return result


def is_step_overdue(step: NextStep, on: dt.date | None = None) -> bool:
    """Tell whether an open step is past its due date."""
    return step.done_on is None and step.due_on is not None and step.due_on < (on or today())


@dataclass
class DialogueStanding:
    """How regular the dialogue with one body is."""

    body: Body
    last_held_on: dt.date | None
    meetings: int
    open_steps: int
    on: dt.date

    @property
    def weeks_since(self) -> int | None:
        return (
            None if self.last_held_on is None else max((self.on - self.last_held_on).days, 0) // 7
        )

    @property
    def rhythm_weeks(self) -> int | None:
        return self.body.dialogue_rhythm_weeks

    @property
    def due_on(self) -> dt.date | None:
        """The day by which the next meeting is due under the agreed rhythm."""
        if self.rhythm_weeks is None or self.last_held_on is None:
            return None
        return self.last_held_on + dt.timedelta(weeks=self.rhythm_weeks)

    @property
    def missed(self) -> bool:
        """The agreed rhythm was not kept: no meeting yet, or the last one is too long ago."""
        if self.rhythm_weeks is None:
            return False
        return self.due_on is None or self.due_on < self.on


def standings(on: dt.date | None = None, body: Body | None = None) -> list[DialogueStanding]:
    """Return the dialogue standing of every body (or one), by name, in one query."""
    on = on or today()
    held = sa.select(Meeting).where(Meeting.body_id == Body.id, Meeting.held_on <= on)
    last = held.with_only_columns(sa.func.max(Meeting.held_on)).scalar_subquery()
    count = held.with_only_columns(sa.func.count(Meeting.id)).scalar_subquery()
    steps = (
        sa.select(sa.func.count(NextStep.id))
        .where(NextStep.body_id == Body.id, NextStep.done_on.is_(None))
        .scalar_subquery()
    )
    stmt = sa.select(Body, last, count, steps).order_by(Body.name)
    if body is not None:
        stmt = stmt.where(Body.id == body.id)
    return [
        DialogueStanding(body=b, last_held_on=last_on, meetings=n, open_steps=o, on=on)
        for b, last_on, n, o in db.session.execute(stmt)
    ]


def standing_of(body: Body, on: dt.date | None = None) -> DialogueStanding:
    """Return the dialogue standing of one body."""
    return standings(on, body)[0]


@dataclass
class ReportMeeting:
    """A meeting as the progress report shows it: plain values, read in one query."""

    id: int
    body: str
    held_on: dt.date
    format: str
    summary: str
    steps: list[tuple[str, dt.date | None, str | None, bool]]  # text, due, responsible, done


@dataclass
class ReportConsultation:
    """A consultation as the progress report shows it."""

    id: int
    body: str
    title: str
    consulted: bool
    period: int | None
    on: dt.date


def evidence_since(day: dt.date) -> tuple[list[ReportConsultation], list[ReportMeeting]]:
    """Return the consultations and meetings (with next steps) since ``day``, in one query.

    The report keeps to its query budget: consultations, meetings and their next steps come as
    one UNION ALL of plain columns.
    """
    from tracker.domain.models import Consultation
    from tracker.domain.workdays import workdays_between

    def label(body):
        return sa.func.coalesce(sa.func.nullif(body.short_name, ""), body.name)

    def kind(letter: str):
        return sa.literal_column(f"'{letter}'", sa.String).label("kind")

    step_body = sa.orm.aliased(Body)
    when = sa.func.coalesce(Consultation.received_on, Consultation.learned_on)
    no_text = sa.cast(sa.null(), sa.String)
    no_date = sa.cast(sa.null(), sa.Date)
    no_flag = sa.cast(sa.null(), sa.Boolean)
    no_position = sa.cast(sa.null(), sa.Integer)
    consultations = (
        sa.select(
            kind("c"),
            Consultation.id.label("id"),
            label(Body).label("body"),
            when.label("on"),
            Consultation.title.label("text"),
            Consultation.consulted.label("flag"),
            Consultation.received_on.label("d1"),
            Consultation.deadline_on.label("d2"),
            no_text.label("extra"),
            no_position.label("position"),
        )
        .join(Body, Body.id == Consultation.body_id)
        .where(when >= day)
    )
    meetings = (
        sa.select(
            kind("m"),
            Meeting.id,
            label(Body),
            Meeting.held_on,
            Meeting.summary,
            no_flag,
            no_date,
            no_date,
            Meeting.format,
            no_position,
        )
        .join(Body, Body.id == Meeting.body_id)
        .where(Meeting.held_on >= day)
    )
    steps = (
        sa.select(
            kind("s"),
            Meeting.id,
            no_text,
            Meeting.held_on,
            NextStep.text,
            NextStep.done_on.is_not(None),
            NextStep.due_on,
            no_date,
            label(step_body),
            NextStep.position,
        )
        .join(Meeting, Meeting.id == NextStep.meeting_id)
        .outerjoin(step_body, step_body.id == NextStep.body_id)
        .where(Meeting.held_on >= day)
    )
    union = sa.union_all(consultations, meetings, steps).subquery()
    rows = db.session.execute(
        sa.select(union).order_by(
            union.c.on, union.c.kind, union.c.id, union.c.position, union.c.text
        )
    ).all()
    found_c: list[ReportConsultation] = []
    found_m: dict[int, ReportMeeting] = {}
    for row in rows:
        if row.kind == "c":
            period = workdays_between(row.d1, row.d2) if row.flag and row.d1 and row.d2 else None
            found_c.append(
                ReportConsultation(row.id, row.body, row.text, bool(row.flag), period, row.on)
            )
        elif row.kind == "m":
            found_m[row.id] = ReportMeeting(row.id, row.body, row.on, row.extra, row.text, [])
        elif row.id in found_m:
            found_m[row.id].steps.append((row.text, row.d1, row.extra, bool(row.flag)))
    return found_c, list(found_m.values())
