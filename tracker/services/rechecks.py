"""After closing: a demand closed as implemented is re-checked after some months.

Closed as „umgesetzt“ or „teilweise umgesetzt“, a demand is due for a re-check
``RECHECK_MONTHS`` (default 6) after it was closed: did it reach practice? Staff record the
result as a ``recheck`` timeline entry; the next closing starts the clock again.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from tracker.domain import labels, rules
from tracker.domain.models import Demand, TimelineEntry, User, utcnow
from tracker.domain.workdays import local_date, today
from tracker.extensions import db
from tracker.services import outbox
from tracker.services.errors import ServiceError, refuse_invalid
from tracker.services.links import external_url

OUTCOMES = ("implemented", "partly_implemented")


def add_months(day: dt.date, months: int) -> dt.date:
    """Return the same day ``months`` later (the month's last day if it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(demand: Demand) -> dt.date | None:
    """Return when a demand closed as implemented is due for its re-check (None otherwise)."""
    if demand.state != "closed" or demand.outcome not in OUTCOMES:
        return None
    return add_months(local_date(demand.state_changed_at), current_app.config["RECHECK_MONTHS"])


def last_recheck(demand: Demand) -> TimelineEntry | None:
    """Return the re-check recorded since the demand was last closed."""
    return db.session.scalar(
        sa.select(TimelineEntry)
        .where(
            TimelineEntry.demand_id == demand.id,
            TimelineEntry.kind == "recheck",
            TimelineEntry.created_at >= demand.state_changed_at,
        )
        .order_by(TimelineEntry.created_at.desc(), TimelineEntry.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class DueRecheck:
    demand: Demand
    due: dt.date


def due_rechecks(on: dt.date | None = None) -> list[DueRecheck]:
    """Return the demands whose re-check is due on ``on`` and not yet recorded."""
    on = on or today()
    checked = (
        sa.select(TimelineEntry.id)
        .where(
            TimelineEntry.demand_id == Demand.id,
            TimelineEntry.kind == "recheck",
            TimelineEntry.created_at >= Demand.state_changed_at,
        )
        .exists()
    )
    candidates = db.session.scalars(
        sa.select(Demand)
        .where(Demand.state == "closed", Demand.outcome.in_(OUTCOMES), ~checked)
        .order_by(Demand.state_changed_at, Demand.id)
    ).all()
    due = [DueRecheck(d, due_date(d)) for d in candidates]
    return [item for item in due if item.due <= on]


def record_recheck(
    demand: Demand, user: User | None, result: str, note: str, *, is_public: bool = True
) -> TimelineEntry:
    """Record whether a closed demand reached practice, as a timeline entry (flushed only)."""
    note = (note or "").strip()
    if demand.state != "closed" or demand.outcome not in OUTCOMES:
        raise ServiceError(
            _l("Nachprüfen lässt sich nur eine als (teilweise) umgesetzt abgeschlossene Forderung.")
        )
    errors = {}
    if result not in labels.RECHECK_RESULT_LABELS:
        errors["result"] = str(_l("Bitte eine der angebotenen Möglichkeiten wählen."))
    errors |= rules.length_errors({"note": note}, {"note": rules.NOTE_MAX})
    refuse_invalid(errors)
    entry = TimelineEntry(
        demand=demand,
        kind="recheck",
        author=user,
        author_name=user.name if user else "",
        is_public=demand.is_public and is_public,
        created_at=utcnow(),
        text=note,
        data={"result": result},
    )
    db.session.add(entry)
    demand.updated_at = utcnow()
    db.session.flush()
    return entry


def queue_staff_notice(on: dt.date, week: str) -> bool:
    """Queue one mail to staff about due re-checks and passed commitments (once per week)."""
    from tracker.services.answers import passed_commitments
    from tracker.services.statements import staff_recipients

    rechecks, passed = due_rechecks(on), passed_commitments(on)
    recipients = staff_recipients()
    if not (rechecks or passed) or not recipients:
        return False
    context = {
        "rechecks": rechecks,
        "passed": passed,
        "staff_url": external_url("staff.reminders_page"),
        "demand_url": lambda d: external_url("staff.demand", demand_id=d.id),
    }
    subject = _l("Nachprüfungen und überschrittene Zusagen – KW %(week)s", week=week)
    message = outbox.queue_mail(
        f"staff-due:{week}", "staff_due", subject, context, kind="staff_notice", to=recipients
    )
    return message is not None
