"""Staff pages for the evidence: consultations and meetings with their next steps."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, Optional

from tracker.domain import labels, rules
from tracker.domain.models import Body, Consultation, Demand, Meeting
from tracker.extensions import db
from tracker.services import consultations as consultation_service
from tracker.services import meetings as meeting_service
from tracker.services.errors import ServiceError
from tracker.web.forms import MESSAGES, limited
from tracker.web.staff.blueprint import bp, record_page
from tracker.web.staff.forms import (
    REQUIRED,
    DayField,
    MultiCheckboxField,
    VersionedForm,
    optional_int,
    rows_filled,
)


def _bodies() -> list[Body]:
    return db.session.scalars(sa.select(Body).order_by(Body.name)).all()


# --------------------------------------------------------------------------- consultations


class ConsultationForm(VersionedForm):
    body_id = SelectField(_l("Stelle"), coerce=optional_int, validators=[DataRequired(REQUIRED)])
    kind = SelectField(
        _l("Art"),
        choices=[SelectChoice(k, label) for k, label in labels.choices("consultation_kind")],
    )
    title = limited(_l("Titel des Vorhabens"), rules.TITLE_MAX, REQUIRED)
    url = limited(_l("Link zum Entwurf"), rules.URL_MAX)
    consulted = RadioField(
        _l("Beteiligung"),
        choices=[
            SelectChoice("1", _l("Die Stelle hat die LIGA um eine Stellungnahme gebeten")),
            SelectChoice("0", _l("Eingeführt ohne Beteiligung der LIGA")),
        ],
        default="1",
    )
    received_on = DayField(_l("Eingang der Anfrage"))
    deadline_on = DayField(_l("Frist für die Stellungnahme"))
    statement_on = DayField(_l("Stellungnahme der LIGA am"))
    statement_url = limited(_l("Link zur Stellungnahme"), rules.URL_MAX)
    statement_text = limited(
        _l("Stellungnahme (Text oder Auszug)"), rules.TEXT_MAX, field=TextAreaField
    )
    learned_on = DayField(_l("Bekannt geworden am"))
    source = limited(_l("Quelle"), rules.URL_MAX)
    demands = MultiCheckboxField(
        _l("Betrifft die Forderungen"), coerce=int, validators=[Optional()]
    )


def _consultation_form(item: Consultation | None, formdata=None) -> ConsultationForm:
    form = ConsultationForm(formdata=formdata, obj=item)
    if item is not None and formdata is None:
        # WTForms prefers ``obj``'s attributes over keyword data: ``item.consulted`` (a bool)
        # matches neither radio and ``item.demands`` (ORM objects) no checkbox, so saving the
        # form as shown failed or dropped the linked demands. Set them as the form's choices.
        form.consulted.data = "1" if item.consulted else "0"
        form.demands.data = [d.id for d in item.demands]
    form.body_id.choices = [SelectChoice("", _l("– bitte wählen –"))] + [
        SelectChoice(b.id, b.name) for b in _bodies()
    ]
    form.demands.choices = [
        SelectChoice(d.id, d.title)
        for d in db.session.scalars(sa.select(Demand).order_by(Demand.title))
    ]
    return form


@bp.get("/beteiligungen")
def consultations():
    """List the consultations recorded so far."""
    return render_template(
        "staff/consultations.html",
        items=consultation_service.list_consultations(),
        svc=consultation_service,
    )


def _save_consultation(item: Consultation | None, form: ConsultationForm):
    values = form.values()
    ids = values.pop("demands") or []
    demands = db.session.scalars(sa.select(Demand).where(Demand.id.in_(ids))).all()
    values["consulted"] = values["consulted"] == "1"
    values["version"] = form.expected_version()
    return consultation_service.save_consultation(item, demands=demands, **values)


@bp.route("/beteiligungen/neu", methods=["GET", "POST"], endpoint="new_consultation")
@bp.route("/beteiligungen/<int:consultation_id>", methods=["GET", "POST"])
def consultation(consultation_id: int | None = None):
    """Record a consultation (or a measure without one), or change one."""
    return record_page(
        Consultation,
        consultation_id,
        _consultation_form,
        _save_consultation,
        "staff/consultation.html",
        "staff.consultation",
        "consultation_id",
    )


# --------------------------------------------------------------------------- meetings


class StepForm(SubForm):
    """One next step inside the meeting form (its CSRF token is the meeting form's)."""

    class Meta:
        def get_translations(self, form):
            return MESSAGES  # WTForms' messages as every form words them

    id = HiddenField()
    text = limited(_l("Nächster Schritt"), rules.STEP_MAX)
    due_on = DayField(_l("fällig bis"))
    body_id = SelectField(_l("zuständig"), coerce=optional_int, validators=[Optional()])
    done = BooleanField(_l("erledigt"))


class MeetingForm(VersionedForm):
    body_id = SelectField(_l("Stelle"), coerce=optional_int, validators=[DataRequired(REQUIRED)])
    held_on = DayField(_l("Datum des Gesprächs"))
    format = SelectField(
        _l("Form"),
        choices=[SelectChoice(k, label) for k, label in labels.choices("meeting_format")],
    )
    participants = limited(_l("Teilnehmende"), rules.TEXT_MAX, field=TextAreaField)
    topics = limited(_l("Themen"), rules.TEXT_MAX, field=TextAreaField)
    summary = limited(
        _l("Öffentliche Zusammenfassung"), rules.TEXT_MAX, REQUIRED, field=TextAreaField
    )
    steps = FieldList(
        FormField(StepForm),
        _l("Nächste Schritte"),
        min_entries=3,
        max_entries=rules.STEPS_MAX,  # rows past it, which WTForms drops: ``_save_meeting``
    )


EMPTY_STEP_ROWS = 2  # offered for new steps below the maximum


def _meeting_form(item: Meeting | None, formdata=None) -> MeetingForm:
    if formdata is None and item is not None:
        steps = [
            {
                "id": str(s.id),
                "text": s.text,
                "due_on": s.due_on,
                "body_id": s.body_id,
                "done": s.is_done,
            }
            for s in item.next_steps
        ] + [{}] * max(0, min(EMPTY_STEP_ROWS, rules.STEPS_MAX - len(item.next_steps)))
        form = MeetingForm(formdata=None, obj=item, steps=steps)
    else:
        form = MeetingForm(formdata=formdata)
    bodies = _bodies()
    form.body_id.choices = [SelectChoice("", _l("– bitte wählen –"))] + [
        SelectChoice(b.id, b.name) for b in bodies
    ]
    for entry in form.steps:
        entry.form.body_id.choices = [SelectChoice("", _l("die LIGA"))] + [
            SelectChoice(b.id, b.label) for b in bodies
        ]
    return form


@bp.get("/gespraeche")
def meetings():
    """List the meetings recorded so far."""
    return render_template(
        "staff/meetings.html", items=meeting_service.list_meetings(), svc=meeting_service
    )


def _save_meeting(item: Meeting | None, form: MeetingForm):
    if rows_filled(request.form, "steps", ("text",)) > rules.STEPS_MAX:
        too_many = meeting_service.TOO_MANY_STEPS  # rows WTForms dropped: the service saw none
        raise ServiceError(too_many, {"steps": str(too_many)})
    steps = [
        meeting_service.StepValues(
            text=entry.form.text.data or "",
            due_on=entry.form.due_on.data,
            body_id=entry.form.body_id.data,
            done=bool(entry.form.done.data),
            id=optional_int(entry.form.id.data),  # tampered: -1, refused as unknown
        )
        for entry in form.steps
    ]
    values = {**form.values(), "steps": steps, "version": form.expected_version()}
    return meeting_service.save_meeting(item, **values)


@bp.route("/gespraeche/neu", methods=["GET", "POST"], endpoint="new_meeting")
@bp.route("/gespraeche/<int:meeting_id>", methods=["GET", "POST"])
def meeting(meeting_id: int | None = None):
    """Record a meeting with its agreed next steps, or change one (also: mark steps done)."""
    template, endpoint = "staff/meeting.html", "staff.meeting"
    return record_page(
        Meeting, meeting_id, _meeting_form, _save_meeting, template, endpoint, "meeting_id"
    )
