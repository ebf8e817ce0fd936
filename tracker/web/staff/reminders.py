"""Staff pages for the reminders: this week's preview, the log, the outbox and reminder pauses."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField
from wtforms.validators import DataRequired

from tracker.domain import rules
from tracker.domain.models import Body, OutboxMessage, ReminderPause
from tracker.domain.workdays import today
from tracker.extensions import db
from tracker.jobs import sender
from tracker.services import answers, outbox, rechecks, reminders
from tracker.services import bodies as body_service
from tracker.web.forms import ConfirmForm, Form, limited
from tracker.web.staff.blueprint import bp
from tracker.web.staff.views import added_to_body, delete_from_body


class PauseForm(Form):
    """Dates and reason of a pause; ``services.bodies.add_pause`` checks them."""

    starts_on = DateField(_l("Von"), validators=[DataRequired(_l("Bitte ein Datum angeben."))])
    ends_on = DateField(_l("Bis"), validators=[DataRequired(_l("Bitte ein Datum angeben."))])
    reason = limited(_l("Grund"), rules.REASON_MAX)


def _status_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = dict(rows)
    return {status: counts.get(status, 0) for status in OutboxMessage.STATUSES}


@bp.get("/erinnerungen")
def reminders_page():
    """Show how this week's digests went out, who got none and why, the preview and the log."""
    previews = [
        (digest, subject, text)
        for digest, subject, text, _html in reminders.render_digests(reminders.build_digests())
    ]
    log = db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.kind == "digest")
        .order_by(OutboxMessage.created_at.desc())
        .limit(200)
    ).all()
    status = reminders.week_status()
    return render_template(
        "staff/reminders.html",
        previews=previews,
        log=log,
        counts=_status_counts(),
        action_form=ConfirmForm(formdata=None),
        week=status.week,
        status=status,
        is_uncertain=outbox.is_uncertain,
        due_rechecks=rechecks.due_rechecks(),
        passed_commitments=answers.passed_commitments(),
    )


@bp.post("/erinnerungen/senden")
def send_reminders():
    """Write this week's digests (once per body) and deliver the outbox now."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    week = reminders.iso_week(today())
    # claimed like the scheduler's run, so that a scheduler firing later this week writes nothing
    reminders.claim(reminders.WEEKLY, week)
    # the digests and the staff notice of due re-checks and passed commitments
    written = reminders.write_week(by=f"staff:{current_user.name or current_user.email}")
    db.session.commit()  # the claim and the digests are safe before the first one goes out
    sent = sender.flush()
    if written:
        message = _l(
            "%(written)d neue Erinnerungen geschrieben, %(sent)d Nachrichten versandt.",
            written=len(written),
            sent=sent["sent"],
        )
    else:
        message = _l(
            "Keine neue Erinnerung geschrieben: jede Stelle, die diese Woche eine bekommt, hat "
            "ihre für KW %(week)s schon; die übrigen sind pausiert, ohne Kontaktadresse oder ohne "
            "offene Forderungen (siehe Liste). %(sent)d wartende Nachrichten versandt.",
            week=week.split("-W")[1],
            sent=sent["sent"],
        )
    flash(message, "success")
    return redirect(url_for("staff.reminders_page"))


@bp.get("/postausgang")
def outbox_page():
    """List the outbox: what waits, what was sent, what failed and why."""
    messages = db.session.scalars(
        sa.select(OutboxMessage)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(300)
    ).all()
    return render_template(
        "staff/outbox.html",
        messages=messages,
        counts=_status_counts(),
        action_form=ConfirmForm(formdata=None),
        is_uncertain=outbox.is_uncertain,
    )


@bp.get("/postausgang/<int:message_id>")
def outbox_message(message_id: int):
    """Show one message as it was (or will be) sent."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    return render_template(
        "staff/outbox_message.html",
        message=message,
        action_form=ConfirmForm(formdata=None),
        is_uncertain=outbox.is_uncertain,
    )


@bp.get("/postausgang/<int:message_id>/html")
def outbox_message_html(message_id: int):
    """Return the HTML part, sandboxed so that nothing in it can run."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    response = Response(message.html or "", mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


def _flush_and_report(ignore_backoff: bool):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    sent = sender.flush(ignore_backoff=ignore_backoff)
    said = _l(
        "%(sent)d Nachrichten versandt, %(retry)d werden später erneut versucht.",
        sent=sent["sent"],
        retry=sent["retry"],
    )
    if sent["failed"]:
        said = _l(
            "%(sent)d Nachrichten versandt, %(retry)d werden später erneut versucht, "
            "%(failed)d nicht zugestellt (kein Versuch mehr übrig).",
            sent=sent["sent"],
            retry=sent["retry"],
            failed=sent["failed"],
        )
    flash(said, "success" if not sent["failed"] else "error")
    return redirect(url_for("staff.outbox_page"))


@bp.post("/postausgang/senden")
def flush_outbox():
    """Deliver due messages now."""
    return _flush_and_report(ignore_backoff=False)


@bp.post("/postausgang/alle-senden")
def flush_all_outbox():
    """Deliver every pending message now, also those waiting for their next attempt."""
    return _flush_and_report(ignore_backoff=True)


@bp.post("/postausgang/<int:message_id>/erneut")
def retry_message(message_id: int):
    """Queue a failed (or uncertain) message again."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if message.status != "failed":
        flash(_l("Diese Nachricht ist nicht fehlgeschlagen; nichts geändert."), "error")
    else:
        outbox.retry(message)
        flash(_l("Die Nachricht wird erneut versandt."), "success")
    return redirect(url_for("staff.outbox_message", message_id=message.id))


@bp.post("/postausgang/<int:message_id>/zugestellt")
def confirm_delivered(message_id: int):
    """Book an uncertain message as delivered (staff checked that it arrived)."""
    message = db.session.get(OutboxMessage, message_id) or abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not outbox.is_uncertain(message):
        flash(_l("Nur eine ungewisse Nachricht kann als zugestellt markiert werden."), "error")
    else:
        outbox.confirm_delivered(message, current_user.name or current_user.email)
        flash(_l("Die Nachricht ist als zugestellt vermerkt."), "success")
    return redirect(url_for("staff.outbox_message", message_id=message.id))


@bp.route("/stellen/<int:body_id>/pausen", methods=["GET", "POST"])
def pauses(body_id: int):
    """List and add reminder pauses of a body."""
    body = db.session.get(Body, body_id) or abort(404)
    form = PauseForm()
    said = _l("Die Pause ist eingetragen.")
    added = added_to_body(body, form, body_service.add_pause, said, "staff.pauses")
    if added:
        return added
    delete_form = ConfirmForm(formdata=None)
    page = render_template("staff/pauses.html", body=body, form=form, delete_form=delete_form)
    return page, (422 if form.is_submitted() else 200)


@bp.post("/stellen/<int:body_id>/pausen/<int:pause_id>/loeschen")
def delete_pause(body_id: int, pause_id: int):
    """End a reminder pause early by removing it."""
    return delete_from_body(
        ReminderPause, pause_id, body_id, _l("Die Pause ist entfernt."), "staff.pauses"
    )
