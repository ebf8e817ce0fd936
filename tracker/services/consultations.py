"""Consultations (Beteiligungsverfahren): record them, count their periods, figures per body.

The period of a consultation is the number of working days (Sachsen-Anhalt's holidays) from the
day the request was received to the deadline. Under 20 working days is a short period, 5 or
fewer a very short one. Services validate and change the session; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import statistics as pystats
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from tracker.domain import rules
from tracker.domain.models import Body, Consultation, Demand, utcnow
from tracker.domain.workdays import today, workdays_between
from tracker.extensions import db, wait_for_others_on
from tracker.services.errors import refuse_if_changed, refuse_invalid

SHORT_WORKDAYS = 20  # fewer than this: „kurze Frist“
VERY_SHORT_WORKDAYS = 5  # this many or fewer: „sehr kurze Frist“
# the fields staff and the API can set
FIELDS = (
    "body_id",
    "kind",
    "title",
    "url",
    "consulted",
    "received_on",
    "deadline_on",
    "learned_on",
    "source",
    "statement_on",
    "statement_text",
    "statement_url",
)


def period_workdays(item: Consultation) -> int | None:
    """Return the working days from receipt to deadline, or None without both dates."""
    if not item.consulted or item.received_on is None or item.deadline_on is None:
        return None
    return workdays_between(item.received_on, item.deadline_on)


def period_class(days: int | None) -> str | None:
    """Classify a period: 'very_short' (<= 5), 'short' (< 20), 'normal', or None."""
    if days is None:
        return None
    if days <= VERY_SHORT_WORKDAYS:
        return "very_short"
    if days < SHORT_WORKDAYS:
        return "short"
    return "normal"


def _is_url(value: str) -> bool:
    return value.startswith(("https://", "http://")) and " " not in value and len(value) > 8


def save_consultation(
    item: Consultation | None,
    *,
    demands: Iterable[Demand] = (),
    version: int | None = None,
    **values,
) -> tuple[Consultation, bool]:
    """Validate ``values`` and create or update a consultation; return it and whether it changed.

    Raises ServiceError (with a message per field) and changes nothing when a value is wrong;
    StaleRecord when someone saved it since the form was loaded at ``version``.
    """
    refuse_if_changed(item, version)
    errors: dict[str, str] = {}
    values = {k: values.get(k) for k in FIELDS}
    for name in ("title", "url", "source", "statement_text", "statement_url"):
        values[name] = (values[name] or "").strip()
    values["consulted"] = bool(values["consulted"])
    if values["body_id"] is None or db.session.get(Body, values["body_id"]) is None:
        errors["body_id"] = str(_l("Bitte eine Stelle wählen."))
    if values["kind"] not in Consultation.KINDS:
        errors["kind"] = str(_l("Bitte eine Art wählen."))
    if not values["title"]:
        errors["title"] = str(_l("Bitte einen Titel angeben."))
    for name in ("url", "statement_url"):
        if values[name] and not _is_url(values[name]):
            errors[name] = str(_l("Bitte eine Adresse angeben, die mit https:// beginnt."))
    errors |= rules.length_errors(values, rules.CONSULTATION)
    for name in ("received_on", "deadline_on", "statement_on", "learned_on"):
        if problem := rules.day_problem(values[name], today()):
            errors[name] = problem
        elif name != "deadline_on" and values[name] and values[name] > today():
            errors[name] = str(_l("Das Datum darf nicht in der Zukunft liegen."))  # recorded after
    if values["consulted"]:
        if values["received_on"] is None:
            errors["received_on"] = str(_l("Bitte das Eingangsdatum angeben."))
        if values["deadline_on"] is None:
            errors["deadline_on"] = str(_l("Bitte die Frist angeben."))
        elif values["received_on"] and values["deadline_on"] < values["received_on"]:
            errors["deadline_on"] = str(_l("Die Frist kann nicht vor dem Eingang liegen."))
        if (
            values["statement_on"]
            and values["received_on"]
            and values["statement_on"] < values["received_on"]
        ):
            errors["statement_on"] = str(_l("Die Stellungnahme kann nicht vor dem Eingang liegen."))
        values["learned_on"], values["source"] = None, ""
    else:
        if values["learned_on"] is None:
            errors["learned_on"] = str(_l("Bitte angeben, wann die LIGA davon erfahren hat."))
        if not values["source"]:
            errors["source"] = str(_l("Bitte angeben, woher die LIGA davon weiß."))
        values.update(received_on=None, deadline_on=None, statement_on=None)
        values.update(statement_text="", statement_url="")
    refuse_invalid(errors)
    demands = sorted(set(demands), key=lambda d: d.id)
    if item is None:
        earlier = _recorded_already(values, demands)
        if earlier is not None:
            return earlier, True
        item = Consultation(**values, demands=demands)
        db.session.add(item)
        db.session.flush()  # its id; the caller's edge commits
        return item, True
    changed = False
    for name, value in values.items():
        if getattr(item, name) != value:
            setattr(item, name, value)
            changed = True
    if [d.id for d in item.demands] != [d.id for d in demands]:
        item.demands = demands
        changed = True
    if changed:
        item.version += 1
    return item, changed


def _recorded_already(values: dict, demands: list[Demand]) -> Consultation | None:
    """Return the consultation recorded in the last day with just these values, if any: the
    form sent twice. A second request at the same moment waits for the first (on the body's
    row) and then finds it."""
    wait_for_others_on(Body.__table__, values["body_id"])
    recent = sa.select(Consultation).where(
        Consultation.body_id == values["body_id"],
        Consultation.title == values["title"],
        Consultation.created_at >= utcnow() - dt.timedelta(days=1),
    )
    for consultation in db.session.scalars(recent.options(selectinload(Consultation.demands))):
        same = all(getattr(consultation, name) == value for name, value in values.items())
        if same and [d.id for d in consultation.demands] == [d.id for d in demands]:
            return consultation
    return None


def list_consultations(body: Body | None = None, year: int | None = None) -> list[Consultation]:
    """Return the consultations (newest first), optionally of one body and one year."""
    date = sa.func.coalesce(Consultation.received_on, Consultation.learned_on)
    stmt = sa.select(Consultation).options(
        joinedload(Consultation.body), selectinload(Consultation.demands)
    )
    if body is not None:
        stmt = stmt.where(Consultation.body_id == body.id)
    if year is not None:
        stmt = stmt.where(date >= dt.date(year, 1, 1), date < dt.date(year + 1, 1, 1))
    return list(db.session.scalars(stmt.order_by(date.desc(), Consultation.id.desc())))


def years() -> list[int]:
    """Return the years in which consultations were received or measures learned of."""
    dates = db.session.scalars(
        sa.select(sa.func.coalesce(Consultation.received_on, Consultation.learned_on))
    )
    return sorted({d.year for d in dates if d is not None}, reverse=True)


@dataclass
class ConsultationFigures:
    """Figures of the consultations of one body (or all): how much time the LIGA was given."""

    body: Body | None = None
    periods: list[int] = field(default_factory=list)
    without_consultation: int = 0

    @property
    def count(self) -> int:
        return len(self.periods)

    @property
    def median_period(self) -> float | None:
        return float(pystats.median(self.periods)) if self.periods else None

    @property
    def short(self) -> int:
        return sum(p < SHORT_WORKDAYS for p in self.periods)

    @property
    def very_short(self) -> int:
        return sum(p <= VERY_SHORT_WORKDAYS for p in self.periods)

    @property
    def short_share(self) -> float | None:
        return self.short / self.count if self.count else None

    @property
    def very_short_share(self) -> float | None:
        return self.very_short / self.count if self.count else None


def figures(items: Iterable[Consultation]) -> tuple[ConsultationFigures, list[ConsultationFigures]]:
    """Return the figures over all ``items`` and per body (by body name)."""
    total = ConsultationFigures()
    per_body: dict[int, ConsultationFigures] = {}
    for item in items:
        entry = per_body.setdefault(item.body_id, ConsultationFigures(body=item.body))
        _count(item, entry, total)
    return total, sorted(per_body.values(), key=lambda f: f.body.name)


def _count(item, *into: ConsultationFigures) -> None:
    """Add one consultation (or a row with its columns) to the figures ``into``."""
    if not item.consulted:
        for f in into:
            f.without_consultation += 1
        return
    if item.received_on is not None and item.deadline_on is not None:
        days = workdays_between(item.received_on, item.deadline_on)
        for f in into:
            f.periods.append(days)


def figures_by_body() -> tuple[ConsultationFigures, list[ConsultationFigures]]:
    """Return the figures over all consultations and per body that has any, in one query."""
    rows = db.session.execute(
        sa.select(
            Body,
            Consultation.consulted,
            Consultation.received_on,
            Consultation.deadline_on,
        ).join(Consultation, Consultation.body_id == Body.id)
    ).all()
    total = ConsultationFigures()
    per_body: dict[int, ConsultationFigures] = {}
    for row in rows:
        entry = per_body.setdefault(row.Body.id, ConsultationFigures(body=row.Body))
        _count(row, entry, total)
    return total, sorted(per_body.values(), key=lambda f: f.body.name)


def body_figures(body: Body) -> ConsultationFigures:
    """Return the consultation figures of one body, in one query."""
    rows = db.session.execute(
        sa.select(Consultation.consulted, Consultation.received_on, Consultation.deadline_on).where(
            Consultation.body_id == body.id
        )
    ).all()
    result = ConsultationFigures(body=body)
    for row in rows:
        _count(row, result)
    return result


def concerning(demand: Demand) -> list[Consultation]:
    """Return the consultations that concern ``demand`` (newest first), in one query."""
    return list(db.session.scalars(_concerning(), {"demand_id": demand.id}))


@cache
def _concerning() -> sa.Select:
    """Built once: a demand's page runs it whenever it is rendered."""
    date = sa.func.coalesce(Consultation.received_on, Consultation.learned_on)
    return (
        sa.select(Consultation)
        .where(Consultation.demands.any(Demand.id == sa.bindparam("demand_id")))
        .options(joinedload(Consultation.body))
        .order_by(date.desc(), Consultation.id.desc())
    )
