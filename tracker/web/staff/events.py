"""Staff pages for events (with their parts) and topics: the Fachtage demands come from."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from wtforms import (
    FieldList,
    FormField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as SubForm
from wtforms.validators import DataRequired, InputRequired

from tracker.domain import labels, rules
from tracker.domain.models import Event, Topic
from tracker.extensions import db
from tracker.services import events as event_service
from tracker.services.errors import ServiceError
from tracker.web.forms import MESSAGES, Form, checked_by, limited
from tracker.web.staff.blueprint import INVALID, bp, flash_saved, record_page, submit
from tracker.web.staff.forms import REQUIRED, DayField, VersionedForm, optional_int, rows_filled

SLUG_HINT = _l("Kleinbuchstaben, Ziffern und Bindestriche; bleibt fest, da Links darauf zeigen.")
EMPTY_PART_ROWS = 2  # offered for new parts below the maximum


class PartForm(SubForm):
    """One part inside the event form (its CSRF token is the event form's)."""

    class Meta:
        def get_translations(self, form):
            return MESSAGES  # WTForms' messages as every form words them

    id = HiddenField()
    title = limited(_l("Titel des Teils"), rules.TITLE_MAX)
    kind = SelectField(
        _l("Art"), choices=[SelectChoice(k, name) for k, name in labels.choices("event_part")]
    )
    slug = StringField(_l("Kürzel"))
    description = limited(_l("Beschreibung"), rules.DESCRIPTION_MAX, field=TextAreaField)


class EventForm(VersionedForm):
    slug = StringField(
        _l("Kürzel für die Adresse"),
        validators=[DataRequired(REQUIRED), checked_by(rules.slug_problem)],
        description=SLUG_HINT,
    )
    title = limited(_l("Titel"), rules.TITLE_MAX, REQUIRED)
    date = DayField(_l("Datum"), validators=[InputRequired(REQUIRED)])
    organiser = limited(_l("Veranstalter"), rules.ORGANISER_MAX)
    location = limited(_l("Ort"), rules.ORGANISER_MAX)
    description = limited(_l("Beschreibung"), rules.DESCRIPTION_MAX, field=TextAreaField)
    # rows past the maximum, which WTForms drops, are counted by ``_save_event``
    parts = FieldList(FormField(PartForm), _l("Teile"), min_entries=3, max_entries=rules.PARTS_MAX)


class TopicForm(Form):
    name = limited(_l("Name"), rules.TOPIC_NAME_MAX, REQUIRED)
    slug = StringField(
        _l("Kürzel für Filter und Adressen"),
        validators=[DataRequired(REQUIRED), checked_by(rules.slug_problem)],
        description=SLUG_HINT,
    )


def _event_form(item: Event | None, formdata=None) -> EventForm:
    if formdata is None and item is not None:
        parts = [
            {
                "id": str(p.id),
                "title": p.title,
                "kind": p.kind,
                "slug": p.slug,
                "description": p.description,
            }
            for p in item.parts
        ] + [{}] * max(0, min(EMPTY_PART_ROWS, rules.PARTS_MAX - len(item.parts)))
        # not ``obj=item``: WTForms would take ``item.parts`` over these rows, without the
        # empty ones a new part is typed into
        values = {name: getattr(item, name) for name in event_service.EVENT_TEXTS}
        values |= {"date": item.date, "version": item.version, "parts": parts}
        form = EventForm(formdata=None, data=values)
    else:
        form = EventForm(formdata=formdata)
    if item is not None:
        del form.slug  # given once: the event's page, report and filters are linked with it
    return form


def _save_event(item: Event | None, form: EventForm):
    if rows_filled(request.form, "parts", ("title", "slug")) > rules.PARTS_MAX:
        too_many = event_service.TOO_MANY_PARTS  # rows WTForms dropped: the service saw none
        raise ServiceError(too_many, {"parts": str(too_many)})
    parts = [
        event_service.PartValues(
            title=entry.form.title.data or "",
            kind=entry.form.kind.data,
            slug=entry.form.slug.data or "",
            description=entry.form.description.data or "",
            id=optional_int(entry.form.id.data),  # tampered: -1, refused as unknown
        )
        for entry in form.parts
    ]
    values = {**form.values(), "parts": parts, "version": form.expected_version()}
    return event_service.save_event(item, **values)


def _events_page(topic_form: TopicForm, status: int = 200):
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.name)).all()
    page = render_template(
        "staff/events.html",
        events=event_service.list_events(),
        topics=topics,
        counts=event_service.demand_counts(),
        topic_form=topic_form,
    )
    return page, status


@bp.get("/veranstaltungen/")
def events():
    """List the events and the topics, with how many demands each has."""
    return _events_page(TopicForm(formdata=None))


@bp.route("/veranstaltungen/neu", methods=["GET", "POST"], endpoint="new_event")
@bp.route("/veranstaltungen/<int:event_id>", methods=["GET", "POST"])
def event(event_id: int | None = None):
    """Record an event with its parts, or change one."""
    return record_page(
        Event, event_id, _event_form, _save_event, "staff/event.html", "staff.event", "event_id"
    )


@bp.post("/themen/")
def new_topic():
    """Add a topic (the form is on the events page)."""
    form = TopicForm()
    ok, result = submit(form, lambda: event_service.save_topic(None, **form.values()))
    if ok:
        flash_saved(True, _l("Das Thema „%(name)s“ ist angelegt.", name=result[0].name))
        return redirect(url_for("staff.events") + "#themen")
    return _events_page(form, INVALID)


@bp.route("/themen/<int:topic_id>", methods=["GET", "POST"])
def topic(topic_id: int):
    """Rename a topic (its slug stays)."""
    item = db.session.get(Topic, topic_id) or abort(404)
    form = TopicForm(formdata=request.form if request.method == "POST" else None, obj=item)
    del form.slug
    ok, result = submit(form, lambda: event_service.save_topic(item, **form.values()))
    if ok:
        flash_saved(result[1])
        return redirect(url_for("staff.events") + "#themen")
    status = INVALID if form.is_submitted() else 200
    return render_template("staff/topic.html", form=form, item=item), status
