"""The shapes of /api/v1, declared once (marshmallow): they validate the requests, serialise the
responses and make the OpenAPI document (flask-smorest with apispec).

Lengths come from ``tracker.domain.rules``, fixed sets (states, triggers, outcomes, roles, kinds,
formats) from the domain's constants, each trigger's notes from the workflow's declaration, and
the text rules (control characters, newlines) from ``tracker.inputs``. Slugs and ids in a body
are data, not a fixed set: the views answer an unknown one with 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
import re

import marshmallow as ma
from flask import g
from flask_babel import lazy_gettext as _l
from marshmallow import fields, validate
from marshmallow_oneofschema import OneOfSchema

from tracker import inputs
from tracker.domain import labels, models, rules, workflow
from tracker.services import consultations
from tracker.services.links import external_url
from tracker.services.progress import progress
from tracker.services.repeats import visible_repeats

MAX_PER_PAGE = 100
YEARS = (1990, 2100)  # the years a filter may name
STATES = [s.name for s in workflow.STATES]
TRIGGERS = [t.trigger for t in workflow.TRANSITIONS]

# What every field answers when a value is missing or wrong, in the request's language.
MESSAGES = {
    "required": _l("Diese Angabe fehlt."),
    "null": _l("Diese Angabe darf nicht null sein."),
    "validator_failed": _l("Ungültiger Wert."),
}
FILLED = validate.Regexp(inputs.FILLED_PATTERN, error=_l("Bitte einen Text eingeben."))
PLAIN = validate.Regexp(inputs.TEXT_PATTERN, error=_l("Der Text enthält ein Steuerzeichen."))


# Fields ------------------------------------------------------------------------------------


class Str(fields.String):
    """A string as sent (slugs, codes) or stored (responses)."""

    default_error_messages = {**MESSAGES, "invalid": _l("Text erwartet.")}


class Text(Str):
    """A text of at most ``max_length`` characters without control characters, stored with its
    newlines normalised and stripped; unless ``blank``, it must hold more than white space."""

    def __init__(self, max_length: int, *, blank: bool = False, **kwargs):
        length = validate.Length(max=max_length, error=_l("Höchstens {max} Zeichen."))
        super().__init__(validate=[length, PLAIN if blank else FILLED], **kwargs)

    def deserialize(self, value, attr=None, data=None, **kwargs):
        value = super().deserialize(value, attr, data, **kwargs)
        return inputs.normalise_newlines(value).strip() if isinstance(value, str) else value


class MaybeText(Str):
    """A stored text that is null where it is empty."""

    def __init__(self, **kwargs):
        super().__init__(allow_none=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return super()._serialize(value or None, attr, obj, **kwargs)


class Uri(Str):
    """An absolute address (``format: uri`` in the document)."""


def choice(values, **kwargs) -> Str:
    """A string from a fixed set (``enum`` in the document)."""
    values = list(values)
    named = ", ".join(v for v in values if v)  # "" (no filter) is allowed, not worth naming
    error = _l("Erlaubt sind: %(choices)s.", choices=named)
    return Str(validate=validate.OneOf(values, error=error), **kwargs)


class Int(fields.Integer):
    """A JSON integer (not a boolean, not a float) from ``minimum`` to ``maximum``."""

    default_error_messages = {**MESSAGES, "invalid": _l("Ganze Zahl erwartet.")}

    def __init__(self, minimum: int = 0, maximum: int | None = inputs.MAX_ID, **kwargs):
        error = _l("Eine Zahl von {min} bis {max} erwartet.")
        bounds = validate.Range(minimum, maximum, error=error)
        super().__init__(strict=True, validate=bounds, **kwargs)


def ident(**kwargs) -> Int:
    """An id: 1 to 2³¹−1, the range of the id columns."""
    return Int(1, **kwargs)


class QueryInt(Int):
    """A number in the query string: ASCII digits (``tracker.inputs.digits``) within bounds;
    empty is not given."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return super().deserialize(ma.missing if value == "" else value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        number = inputs.digits(value) if isinstance(value, str) else None
        if number is None:
            raise self.make_error("invalid")
        return number


class Bool(fields.Boolean):
    """true or false, nothing that merely looks like one (1, "yes")."""

    default_error_messages = {**MESSAGES, "invalid": _l("true oder false erwartet.")}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class Day(fields.Date):
    """A date as YYYY-MM-DD (ASCII digits, as ``format: date`` says)."""

    default_error_messages = {**MESSAGES, "invalid": _l("Datum im Format JJJJ-MM-TT erwartet.")}
    SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

    def _deserialize(self, value, attr, data, **kwargs):
        if not (isinstance(value, str) and self.SHAPE.fullmatch(value)):
            raise self.make_error("invalid")
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None


class Many(fields.List):
    """A list of at most ``maximum`` items (the JSON parser allows no more than MAX_LIST)."""

    default_error_messages = {**MESSAGES, "invalid": _l("Liste erwartet.")}

    def __init__(self, item, maximum: int = inputs.MAX_LIST, **kwargs):
        error = _l("Höchstens {max} Einträge.")
        super().__init__(item, validate=validate.Length(max=maximum, error=error), **kwargs)


class One(fields.Nested):
    """An object of the schema given."""

    default_error_messages = MESSAGES


# Base schemas ------------------------------------------------------------------------------


class Request(ma.Schema):
    """A request body: keys it does not name are refused (``additionalProperties: false``)."""

    error_messages = {"unknown": _l("Unbekanntes Feld."), "type": _l("Ein JSON-Objekt erwartet.")}

    class Meta:
        unknown = ma.RAISE


class Query(ma.Schema):
    """Query parameters: others are ignored."""

    class Meta:
        unknown = ma.EXCLUDE


class Response(Request):
    """A response: every field is always there (``required``) unless OPTIONAL names it, and
    nothing else is (``additionalProperties: false``)."""

    OPTIONAL: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.required = name not in self.OPTIONAL


class With:
    """A row with values computed for its response: the values first, then the row's attributes."""

    def __init__(self, row, **values):
        self.__dict__.update(values)
        self._row = row

    def __getattr__(self, name):
        return getattr(self._row, name)


# Problems ----------------------------------------------------------------------------------


class Problem(Response):
    """RFC 9457 problem details (``application/problem+json``), made by ``tracker.web.errors``."""

    OPTIONAL = ("errors",)
    type = Uri(metadata={"description": "<server>/problems/<code>; GET it for the problem type"})
    title = Str(metadata={"description": "the code's title, in the request's language"})
    status = Int(400, 599)
    detail = Str()
    code = Str(metadata={"description": "stable machine-readable error code"})
    errors = fields.Dict(keys=Str(), values=Str(), metadata={"description": "message per field"})


class ProblemType(Response):
    type = Uri()
    code = Str()
    title = Str()
    status = Int(400, 599, metadata={"description": "the HTTP status it comes with"})


# Demands -----------------------------------------------------------------------------------


class BodyRef(Response):
    slug = Str(attribute="body.slug")
    name = Str(attribute="body.name")
    role = choice(models.Assignment.ROLES)


class Commitment(Response):
    body = Str(attribute="body.slug", metadata={"description": "body slug"})
    file_reference = MaybeText()
    committed_until = Day(
        allow_none=True,
        metadata={"description": "the body commits to answer by this date: its target date"},
    )


class Topic(Response):
    slug = Str()


class Demand(Response):
    id = ident()
    title = Str()
    text = Str()
    state = choice(STATES)
    state_label = Str()
    state_since = fields.DateTime(attribute="state_changed_at")
    target_date = Day(allow_none=True)
    waited_workdays = Int(0)
    overdue = Bool()
    overdue_workdays = Int(0)
    outcome = choice([o for o, _ in workflow.OUTCOMES], allow_none=True)
    is_public = Bool()
    version = Int(metadata={"description": "send it back with a change"})
    topics = fields.Pluck(Topic, "slug", many=True)
    bodies = One(BodyRef, many=True, attribute="assignments")
    event = Str(attribute="event.slug", allow_none=True, dump_default=None)
    event_part = Str(attribute="event_part.slug", allow_none=True, dump_default=None)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    allowed_triggers = Many(choice(TRIGGERS))
    url = Uri()
    repeats = ident(
        allow_none=True,
        metadata={"description": "id of the earlier demand (null too if that one is internal)"},
    )
    commitments = One(Commitment, many=True)

    @ma.pre_dump
    def _computed(self, demand, **kwargs):
        p = progress(demand)
        return With(
            demand,
            state_label=workflow.state_label(demand.state),
            target_date=p.target,
            waited_workdays=p.waited,
            overdue=p.overdue,
            overdue_workdays=p.overdue_by,
            allowed_triggers=[t.trigger for t in workflow.allowed_triggers(demand.state)],
            url=external_url("public.demand", demand_id=demand.id),
            commitments=[a for a in demand.assignments if a.file_reference or a.committed_until],
            repeats=visible_repeats(demand, include_internal=g.get("api_user") is not None),
        )


class TimelineEntry(Response):
    OPTIONAL = ("classification",)
    id = ident()
    kind = choice(models.TimelineEntry.KINDS)
    created_at = fields.DateTime()
    author = MaybeText(attribute="author_name")
    body = Str(attribute="body.slug", allow_none=True, dump_default=None)
    is_public = Bool()
    trigger = choice(TRIGGERS, allow_none=True)
    from_state = choice(STATES, allow_none=True)
    to_state = choice(STATES, allow_none=True)
    text = MaybeText()
    data = fields.Dict()
    classification = choice(
        list(labels.CLASSIFICATION_LABELS),
        allow_none=True,
        metadata={"description": "statements only: the class staff gave last (null: none yet)"},
    )

    @ma.pre_dump
    def _computed(self, entry, **kwargs):
        return With(entry, data={k: v for k, v in (entry.data or {}).items() if k != "before"})


class DemandDetail(Demand):
    timeline = One(TimelineEntry, many=True)
    demanded_since = Day(
        metadata={"description": "earliest event date in the chain of demands this one repeats"}
    )


class Links(Response):
    OPTIONAL = ("next", "prev")
    self_ = Uri(data_key="self", attribute="self")
    first = Uri()
    last = Uri()
    next = Uri()
    prev = Uri()


class DemandPage(Response):
    items = One(Demand, many=True)
    page = Int(1)
    per_page = Int(1, MAX_PER_PAGE)
    total = Int(0)
    links = One(Links)


class TransitionResult(Response):
    demand = One(Demand)
    entry = One(TimelineEntry)


# Bodies, events, workflow ------------------------------------------------------------------


StateCounts = Response.from_dict({s: Int(0) for s in STATES}, name="StateCounts")


class Body(Response):
    slug = Str()
    name = Str()
    short_name = MaybeText()
    kind = choice(models.Body.KINDS)
    counts = One(StateCounts)
    open = Int(0)
    overdue = Int(0)
    url = Uri()

    @ma.pre_dump
    def _computed(self, body, **kwargs):
        """``body`` comes with ``counts`` (demands per state) and ``overdue`` from the view."""
        counts = {s: body.counts.get(s, 0) for s in STATES}
        return With(
            body,
            counts=counts,
            open=sum(counts[s] for s in workflow.OPEN_STATES),
            url=external_url("public.body", slug=body.slug),
        )


class BodyDemand(Demand):
    role = choice(models.Assignment.ROLES)


class BodyDetail(Body):
    demands = One(BodyDemand, many=True)


class BodyList(Response):
    items = One(Body, many=True)


class EventPart(Response):
    slug = Str()
    kind = choice(models.EventPart.KINDS)
    title = Str()


class Event(Response):
    slug = Str()
    title = Str()
    date = Day()
    organiser = Str()
    location = MaybeText()
    description = Str()
    parts = One(EventPart, many=True)
    url = Uri()

    @ma.pre_dump
    def _computed(self, event, **kwargs):
        return With(event, url=external_url("public.event", slug=event.slug))


class EventList(Response):
    items = One(Event, many=True)


class State(Response):
    name = choice(STATES)
    label = Str()
    target_workdays = Int(0, allow_none=True)
    open = Bool(attribute="is_open")


class Note(Response):
    name = Str()
    label = Str()
    required = Bool()
    choices = Many(Str(), allow_none=True)

    @ma.pre_dump
    def _computed(self, note, **kwargs):
        return With(note, choices=[c for c, _ in note.choices] or None)


class Step(Response):
    trigger = choice(TRIGGERS)
    label = Str()
    source = Many(choice(STATES))
    dest = choice(STATES)
    notes = One(Note, many=True)


class Workflow(Response):
    states = One(State, many=True)
    transitions = One(Step, many=True)


# Consultations and meetings ----------------------------------------------------------------


class Consultation(Response):
    id = ident()
    body = Str(attribute="body.slug", metadata={"description": "body slug"})
    kind = choice(models.Consultation.KINDS)
    title = Str()
    url = MaybeText()
    consulted = Bool(metadata={"description": "false: a measure introduced without consulting"})
    received_on = Day(allow_none=True)
    deadline_on = Day(allow_none=True)
    period_workdays = Int(
        0,
        allow_none=True,
        metadata={"description": "working days from receipt to deadline (Saxony-Anhalt)"},
    )
    period_class = choice(list(labels.TABLES["period"]), allow_none=True)
    learned_on = Day(allow_none=True)
    source = MaybeText()
    statement_on = Day(allow_none=True)
    statement_text = MaybeText()
    statement_url = MaybeText()
    demands = Many(ident())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    @ma.pre_dump
    def _computed(self, item, **kwargs):
        days = consultations.period_workdays(item)
        return With(
            item,
            period_workdays=days,
            period_class=consultations.period_class(days),
            demands=[d.id for d in item.demands if d.is_public or g.api_user is not None],
        )


class Figures(Response):
    count = Int(0)
    median_period_workdays = fields.Float(attribute="median_period", allow_none=True)
    short_share = fields.Float(allow_none=True)
    very_short_share = fields.Float(allow_none=True)
    without_consultation = Int(0)


class ConsultationList(Response):
    items = One(Consultation, many=True)
    figures = One(Figures)


class NextStep(Response):
    id = ident()
    text = Str()
    due_on = Day(allow_none=True)
    body = Str(
        attribute="body.slug",
        allow_none=True,
        dump_default=None,
        metadata={"description": "the responsible body; null: the LIGA"},
    )
    done = Bool(attribute="is_done")
    done_on = Day(allow_none=True)


class Meeting(Response):
    id = ident()
    body = Str(attribute="body.slug")
    held_on = Day()
    format = choice(models.Meeting.FORMATS)
    participants = Str()
    topics = Str()
    summary = Str()
    next_steps = One(NextStep, many=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    url = Uri()

    @ma.pre_dump
    def _computed(self, item, **kwargs):
        return With(item, url=external_url("evidence.dialogue") + f"#gespraech-{item.id}")


class MeetingList(Response):
    items = One(Meeting, many=True)


# Requests ----------------------------------------------------------------------------------


class DemandQuery(Query):
    state = choice(["", *STATES, "open"], load_default="", metadata={"description": "open: any"})
    topic = Str(load_default="", validate=PLAIN, metadata={"description": "topic slug"})
    body = Str(load_default="", validate=PLAIN, metadata={"description": "body slug"})
    event = Str(load_default="", validate=PLAIN, metadata={"description": "event slug"})
    q = Str(load_default="", validate=PLAIN, metadata={"description": "search in title and text"})
    page = QueryInt(1, 10**6, load_default=1)
    per_page = QueryInt(1, MAX_PER_PAGE, load_default=50)


class EvidenceQuery(Query):
    body = Str(load_default="", validate=PLAIN, metadata={"description": "body slug"})
    year = QueryInt(*YEARS, load_default=None)


class BodyRole(Request):
    slug = Str(required=True)
    role = choice(models.Assignment.ROLES, required=True)


class NewDemand(Request):
    title = Text(rules.TITLE_MAX, required=True)
    text = Text(rules.TEXT_MAX, required=True)
    is_public = Bool(load_default=True)
    topics = Many(Str(), load_default=list, metadata={"description": "topic slugs"})
    bodies = Many(One(BodyRole), load_default=list)
    event = Str(allow_none=True, load_default=None)
    event_part = Str(allow_none=True, load_default=None)
    repeats = ident(allow_none=True, load_default=None, metadata={"description": "earlier demand"})


class NewUpdate(Request):
    text = Text(rules.NOTE_MAX, required=True)
    is_public = Bool(load_default=True)


def _note_field(note: workflow.Note) -> fields.Field:
    if note.choices:
        values = [c for c, _ in note.choices] + ([] if note.required else [""])
        return choice(values, required=note.required, metadata={"description": str(note.label)})
    return Text(
        rules.NOTE_MAX,
        blank=not note.required,
        required=note.required,
        metadata={"description": str(note.label)},
    )


def _transition_schema(step: workflow.Step) -> type[Request]:
    """The request for one trigger: its notes, the required ones required (the declaration's)."""
    name = step.trigger.title()
    notes = Request.from_dict({n.name: _note_field(n) for n in step.notes}, name=f"{name}Notes")
    required = any(n.required for n in step.notes)
    return Request.from_dict(
        {
            "trigger": choice([step.trigger], required=True),
            "version": Int(required=True, metadata={"description": "the demand's version read"}),
            "notes": One(notes, required=True) if required else One(notes, load_default=dict),
        },
        name=f"{name}Request",
    )


class TransitionRequest(OneOfSchema):
    """A workflow step: the schema of the trigger named (``oneOf``, by ``trigger``)."""

    type_field = "trigger"
    type_field_remove = False
    type_schemas = {t.trigger: _transition_schema(t) for t in workflow.TRANSITIONS}

    def get_data_type(self, data):
        trigger = data.get("trigger")
        if trigger is None:
            raise ma.ValidationError({"trigger": [str(MESSAGES["required"])]})
        if not isinstance(trigger, str) or trigger not in self.type_schemas:
            allowed = ", ".join(self.type_schemas)
            message = _l("Erlaubt sind: %(choices)s.", choices=allowed)
            raise ma.ValidationError({"trigger": [str(message)]})
        return trigger


class ClassificationRequest(Request):
    classification = choice(list(labels.CLASSIFICATION_LABELS), required=True)


class ReassignRequest(Request):
    version = Int(allow_none=True, load_default=None)


class RecheckRequest(Request):
    result = choice(list(labels.RECHECK_RESULT_LABELS), required=True)
    note = Text(rules.NOTE_MAX, blank=True, load_default="")
    is_public = Bool(load_default=True)


class RepeatsRequest(Request):
    repeats = ident(required=True, allow_none=True, metadata={"description": "null: no link"})
    version = Int(required=True)


class NewStep(Request):
    text = Text(rules.STEP_MAX, required=True)
    due_on = Day(allow_none=True, load_default=None)
    body = Str(allow_none=True, load_default=None, metadata={"description": "null: the LIGA"})
    done = Bool(load_default=False)


class NewConsultation(Request):
    body = Str(required=True)
    kind = choice(models.Consultation.KINDS, load_default="law")
    title = Text(rules.TITLE_MAX, required=True)
    url = Text(rules.URL_MAX, blank=True, load_default="")
    consulted = Bool(load_default=True)
    received_on = Day(allow_none=True, load_default=None)
    deadline_on = Day(allow_none=True, load_default=None)
    learned_on = Day(allow_none=True, load_default=None)
    source = Text(rules.URL_MAX, blank=True, load_default="")
    statement_on = Day(allow_none=True, load_default=None)
    statement_text = Text(rules.TEXT_MAX, blank=True, load_default="")
    statement_url = Text(rules.URL_MAX, blank=True, load_default="")
    demands = Many(ident(), load_default=list)


class NewMeeting(Request):
    body = Str(required=True)
    held_on = Day(required=True)
    format = choice(models.Meeting.FORMATS, load_default="in_person")
    participants = Text(rules.TEXT_MAX, blank=True, load_default="")
    topics = Text(rules.TEXT_MAX, blank=True, load_default="")
    summary = Text(rules.TEXT_MAX, required=True)
    next_steps = Many(One(NewStep), maximum=rules.STEPS_MAX, load_default=list)
