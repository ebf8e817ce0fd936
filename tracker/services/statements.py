"""A body's answers through its signed link: statements and 'still in progress' confirmations."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from tracker.domain import rules
from tracker.domain.models import Assignment, Body, Demand, TimelineEntry, User, utcnow
from tracker.domain.workdays import local_date
from tracker.extensions import db
from tracker.services import outbox, subscriptions
from tracker.services.errors import refuse_invalid
from tracker.services.links import external_url

# the same text from the same body on the same demand within this time is a resend, not news
RESEND_WINDOW = dt.timedelta(minutes=10)


def staff_recipients() -> list[str]:
    """Return where notices for the LIGA staff go: the staff address, else all active users."""
    if current_app.config["STAFF_EMAIL"]:
        return [current_app.config["STAFF_EMAIL"]]
    return list(
        db.session.scalars(sa.select(User.email).where(User.active.is_(True)).order_by(User.id))
    )


def _notify_staff(entry: TimelineEntry, body: Body, demand: Demand) -> None:
    """Queue an e-mail to the LIGA staff about a body's answer."""
    recipients = staff_recipients()
    if not recipients:
        return
    outbox.queue_mail(
        f"{entry.kind}:{entry.id}",
        "statement",
        _l("Rückmeldung von %(body)s: %(title)s", body=body.label, title=demand.title),
        {
            "entry": entry,
            "body": body,
            "demand": demand,
            "demand_url": external_url("public.demand", demand_id=demand.id),
            "staff_url": external_url("staff.demand", demand_id=demand.id),
        },
        kind="staff_notice",
        to=recipients,
        body_id=body.id,
    )


def received_already(assignment: Assignment, text: str, nonce: str = "") -> TimelineEntry | None:
    """Return the statement this one repeats: same form (nonce) or same text just before.

    A double click or a resent form must not record a statement twice; the answer page gives
    each rendered form a one-time nonce that is kept with the statement it produced.
    """
    text = (text or "").strip()
    nonce = (nonce or "")[: rules.NONCE_MAX]
    recent = utcnow() - RESEND_WINDOW
    for entry in db.session.scalars(
        sa.select(TimelineEntry)
        .where(
            TimelineEntry.demand_id == assignment.demand_id,
            TimelineEntry.body_id == assignment.body_id,
            TimelineEntry.kind == "statement",
        )
        .order_by(TimelineEntry.created_at.desc(), TimelineEntry.id.desc())
    ):
        if nonce and (entry.data or {}).get("nonce") == nonce:
            return entry
        created = entry.created_at
        if created.tzinfo is None:  # SQLite hands back naive UTC
            created = created.replace(tzinfo=dt.UTC)
        if created >= recent and entry.text == text:
            return entry
    return None


def add_statement(
    body: Body,
    assignment: Assignment,
    text: str,
    author: str = "",
    reports_addressed: bool = False,
    *,
    file_reference: str | None = None,
    committed_until: dt.date | None = None,
    competent_body: Body | None = None,
    competent_text: str = "",
    nonce: str = "",
) -> TimelineEntry:
    """Record a body's statement on a demand, in its own voice, on the public timeline.

    The body may add its file reference, the date by which it commits to answer (kept on its
    assignment as the target date) and, if not responsible, which body is.
    """
    from tracker.services.answers import check_commitment

    text = (text or "").strip()
    author = (author or "").strip()
    file_reference = (file_reference or "").strip()
    competent_text = (competent_text or "").strip()
    errors = check_commitment(file_reference, committed_until)
    errors |= rules.length_errors(
        {"text": text, "author": author, "competent_text": competent_text}, rules.STATEMENT
    )
    if competent_body is not None and competent_body.id == body.id:
        errors["competent_body"] = str(_l("Bitte eine andere Stelle wählen."))
    if not text:
        errors["text"] = str(_l("Bitte eine Stellungnahme eingeben."))
    refuse_invalid(errors)
    demand = assignment.demand
    data = {"reports_addressed": bool(reports_addressed and demand.state == "raised")}
    if file_reference:
        data["file_reference"] = assignment.file_reference = file_reference
    if committed_until is not None:
        assignment.committed_until = committed_until
        data["committed_until"] = committed_until.isoformat()
    if competent_body is not None:
        data["competent_body_id"] = competent_body.id
        data["competent_body_name"] = competent_body.name
    if competent_text:
        data["competent_text"] = competent_text
    if nonce:
        data["nonce"] = nonce[: rules.NONCE_MAX]
    entry = TimelineEntry(
        demand=demand,
        kind="statement",
        body=body,
        author_name=author,
        is_public=demand.is_public,
        created_at=utcnow(),
        text=text,
        data=data,
    )
    db.session.add(entry)
    db.session.flush()
    _notify_staff(entry, body, demand)
    subscriptions.notify(entry)
    return entry


def confirm_in_progress(body: Body, assignment: Assignment) -> TimelineEntry | None:
    """Record that the body still works on the demand; once a day at most."""
    now = utcnow()
    if assignment.confirmed_at and local_date(assignment.confirmed_at) == local_date(now):
        return None
    assignment.confirmed_at = now
    entry = TimelineEntry(
        demand=assignment.demand,
        kind="confirmation",
        body=body,
        is_public=assignment.demand.is_public,
        created_at=now,
    )
    db.session.add(entry)
    db.session.flush()
    _notify_staff(entry, body, assignment.demand)
    return entry
