"""Bodies (Stellen), their contacts and their reminder pauses: the one place that writes them.

Each function checks everything first and refuses with a German message per field
(``ServiceError``), changing nothing; nothing here commits: the request's edge does.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain import rules
from tracker.domain.models import Body, Contact, FormerSlug, ReminderPause
from tracker.domain.workdays import today
from tracker.extensions import db
from tracker.services.errors import refuse_invalid
from tracker.services.meetings import RHYTHM_CHOICES

BODY_FIELDS = (
    "name",
    "short_name",
    "name_accusative",
    "short_accusative",
    "slug",
    "kind",
    "description",
    "dialogue_rhythm_weeks",
)
TEXT_FIELDS = BODY_FIELDS[:5] + ("description",)
REQUIRED = rules.REQUIRED
CHOOSE = _l("Bitte eine der angebotenen Möglichkeiten wählen.")


def save_body(body: Body | None, **values) -> tuple[Body, bool]:
    """Create (``body`` None) or change a body; return it and whether anything changed."""
    values = {name: values.get(name) for name in BODY_FIELDS}
    for name in TEXT_FIELDS:
        values[name] = (values[name] or "").strip()
    errors = rules.length_errors(values, rules.BODY)
    if not values["name"]:
        errors["name"] = str(REQUIRED)
    problem = rules.slug_problem(values["slug"])
    if problem:
        errors["slug"] = problem
    else:
        other = db.session.scalar(sa.select(Body).where(Body.slug == values["slug"]))
        former = _former_owner(values["slug"])
        if other is not None and other is not body:
            errors["slug"] = str(_l("Dieses Kürzel ist schon vergeben."))
        elif former is not None and former is not body:
            errors["slug"] = str(
                _l(
                    "Dieses Kürzel hatte früher „%(body)s“; Links darauf führen weiter dorthin. "
                    "Bitte ein anderes wählen.",
                    body=former.label,
                )
            )
    if values["kind"] not in Body.KINDS:
        errors["kind"] = str(CHOOSE)
    weeks = values["dialogue_rhythm_weeks"]
    if weeks is not None and weeks not in dict(RHYTHM_CHOICES):
        errors["dialogue_rhythm_weeks"] = str(CHOOSE)
    refuse_invalid(errors)
    if body is None:
        body = Body(**values)
        db.session.add(body)
        db.session.flush()  # its id; the caller's edge commits
        return body, True
    if values["slug"] != body.slug:
        _retire_slug(body, values["slug"])
    for name, value in values.items():
        setattr(body, name, value)
    return body, db.session.is_modified(body)


def find(slug: str) -> tuple[Body | None, bool]:
    """Return the body ``slug`` names and whether that is a former slug of it (it moved)."""
    body = db.session.scalar(sa.select(Body).where(Body.slug == slug))
    if body is not None:
        return body, False
    body = _former_owner(slug)
    return body, body is not None


def _former_owner(slug: str) -> Body | None:
    return db.session.scalar(
        sa.select(Body)
        .join(FormerSlug, FormerSlug.body_id == Body.id)
        .where(FormerSlug.slug == slug)
    )


def _retire_slug(body: Body, new_slug: str) -> None:
    """Keep the body's slug as a former one, its links leading on; it may take one back."""
    db.session.execute(sa.delete(FormerSlug).where(FormerSlug.slug == new_slug))
    db.session.add(FormerSlug(slug=body.slug, body_id=body.id))


def add_contact(body: Body, *, name: str, email: str, escalation_level: int = 1) -> Contact:
    """Add a contact address to a body."""
    name, email = (name or "").strip(), (email or "").strip()
    errors = rules.length_errors({"name": name}, rules.CONTACT)
    if not name:
        errors["name"] = str(REQUIRED)
    problem = rules.email_problem(email)
    if problem:
        errors["email"] = problem
    elif any(rules.normal_email(c.email) == rules.normal_email(email) for c in body.contacts):
        # the same mailbox in other capitals: the digest would reach it twice
        errors["email"] = str(_l("Diese Adresse ist bei dieser Stelle schon eingetragen."))
    if escalation_level not in Contact.LEVELS:
        errors["escalation_level"] = str(CHOOSE)
    refuse_invalid(errors)
    contact = Contact(body=body, name=name, email=email, escalation_level=escalation_level)
    db.session.add(contact)
    db.session.flush()
    return contact


def add_pause(
    body: Body, *, starts_on: dt.date | None, ends_on: dt.date | None, reason: str = ""
) -> ReminderPause:
    """Pause a body's weekly reminders from ``starts_on`` to ``ends_on`` (both included)."""
    reason = (reason or "").strip()
    errors = rules.length_errors({"reason": reason}, rules.PAUSE)
    for name, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if day is None:
            errors[name] = str(_l("Bitte ein Datum angeben."))
        elif problem := rules.day_problem(day, today()):
            errors[name] = problem
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = str(_l("Das Ende darf nicht vor dem Beginn liegen."))
    refuse_invalid(errors)
    pause = ReminderPause(body=body, starts_on=starts_on, ends_on=ends_on, reason=reason)
    db.session.add(pause)
    db.session.flush()
    return pause


def row_of(model: type[Contact] | type[ReminderPause], row_id: int, body_id: int):
    """Return the contact or pause ``row_id`` if it belongs to the body ``body_id``, else None."""
    row = db.session.get(model, row_id)
    return row if row is not None and row.body_id == body_id else None


def remove(row: Contact | ReminderPause) -> None:
    """Remove a contact or a pause from its body."""
    db.session.delete(row)
    db.session.flush()
