"""Staff actions for answers that count: classify statements, reassign, re-check, repeats."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import Select, html_params

from tracker.domain import labels, rules
from tracker.domain.models import Demand, Event, TimelineEntry
from tracker.extensions import db
from tracker.services import answers, rechecks, repeats
from tracker.web.forms import ConfirmForm, Form, limited
from tracker.web.staff.blueprint import bp, submit
from tracker.web.staff.forms import VersionedForm

CHOOSE = _l("Bitte eine der angebotenen Möglichkeiten wählen.")


class ClassifyForm(Form):
    classification = SelectField(
        _l("Einordnung"),
        choices=[SelectChoice("", _l("– bitte wählen –"))]
        + [SelectChoice(value, label) for value, label in labels.choices("classification")],
        validators=[DataRequired(CHOOSE)],
    )


class RecheckForm(Form):
    result = RadioField(
        _l("In der Praxis angekommen?"),
        choices=[SelectChoice(value, label) for value, label in labels.choices("recheck")],
        validators=[DataRequired(CHOOSE)],
    )
    note = limited(_l("Notiz zur Nachprüfung"), rules.NOTE_MAX, field=TextAreaField)
    is_public = BooleanField(_l("Öffentlich sichtbar"), default=True)


class OptionsInOnePass(Select):
    """Render a select as WTForms' ``Select`` does, byte for byte, its options in one pass.

    The repeats select offers every other demand (10,000 on the bench data): WTForms builds
    each option through ``html_params`` and a ``Markup`` of its own, which took a second.
    """

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        # (value, label) pairs, as repeats_choices() gives them: no Choice objects per option
        options = "".join(
            f"<option {'selected ' if field.coerce(value) == field.data else ''}"
            f'value="{escape(value)}">{escape(label or value)}</option>'
            for value, label in field.choices
        )
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class RepeatsForm(VersionedForm):
    repeats = SelectField(
        _l("Wiederholt die frühere Forderung"), validators=[Optional()], widget=OptionsInOnePass()
    )


def repeats_choices(demand: Demand) -> list[tuple[str, str]]:
    """Offer every other demand, the oldest events first."""
    rows = db.session.execute(
        sa.select(Demand.id, Demand.title, Event.date)
        .outerjoin(Event, Event.id == Demand.event_id)
        .where(Demand.id != demand.id)
        .order_by(Event.date.is_(None), Event.date, Demand.id)
    ).all()
    dates = {d: f" ({d:%d.%m.%Y})" for d in {row[2] for row in rows} if d}  # once per event
    return [("", _l("– keine –"))] + [
        (str(id_), f"#{id_} {title[:80]}{dates.get(date, '')}") for id_, title, date in rows
    ]


def context(demand: Demand, forms: dict) -> dict:
    """Return what the staff demand page shows for statements, re-check and repeats."""
    classes = answers.classifications(demand.timeline)
    assigned = {a.body_id for a in demand.assignments}
    rows = []
    for entry in demand.timeline:
        if entry.kind != "statement":
            continue
        form = forms.get(f"classify_{entry.id}") or ClassifyForm(
            formdata=None, prefix=f"c{entry.id}", classification=classes.get(entry.id, "")
        )
        competent = answers.competent_body(entry)
        can_reassign = (
            classes.get(entry.id) == "not_responsible"
            and competent is not None
            and entry.body_id in assigned
            and competent.id != entry.body_id
        )
        rows.append((entry, classes.get(entry.id), form, competent if can_reassign else None))
    rows.reverse()  # newest first, like the timeline
    repeats_form = forms.get("repeats_form") or RepeatsForm(
        formdata=None,
        prefix="repeats",
        version=demand.version,
        repeats=str(demand.repeats_id or ""),
    )
    repeats_form.repeats.choices = repeats_choices(demand)
    due = rechecks.due_date(demand)
    return {
        "statement_rows": rows,
        "reassign_form": ConfirmForm(formdata=None),
        "recheck_form": forms.get("recheck_form") or RecheckForm(formdata=None, prefix="recheck"),
        "recheck_due": due,
        "recheck_done": rechecks.last_recheck(demand) if due else None,
        "repeats_form": repeats_form,
    }


def _statement(demand: Demand, entry_id: int) -> TimelineEntry:
    entry = db.session.get(TimelineEntry, entry_id)
    if entry is None or entry.demand_id != demand.id or entry.kind != "statement":
        abort(404)
    return entry


@bp.post("/forderungen/<int:demand_id>/stellungnahmen/<int:entry_id>/einordnen")
def classify(demand_id: int, entry_id: int):
    """Classify a body's statement (substantive, interim, boilerplate, not responsible)."""
    from tracker.web.staff.views import _demand_or_404, save_on_page

    demand = _demand_or_404(demand_id)
    statement = _statement(demand, entry_id)
    form = ClassifyForm(prefix=f"c{entry_id}")

    def write():
        if answers.classifications(demand.timeline).get(statement.id) == form.classification.data:
            return None  # the form shows the current class: saving it as shown is no change
        return answers.classify(statement, form.classification.data, current_user)

    saved = _l(
        "Die Stellungnahme ist eingeordnet als „%(label)s“.",
        label=labels.classification_label(form.classification.data),
    )
    return save_on_page(
        demand, f"classify_{entry_id}", form, write, saved, anchor="#stellungnahmen-titel"
    )


@bp.post("/forderungen/<int:demand_id>/stellungnahmen/<int:entry_id>/uebertragen")
def reassign(demand_id: int, entry_id: int):
    """Move the assignment from a body that is not responsible to the body it named."""
    from tracker.web.staff.views import _demand_or_404, _render_demand

    demand = _demand_or_404(demand_id)
    statement = _statement(demand, entry_id)
    ok, error = submit(ConfirmForm(), lambda: answers.reassign(statement, current_user, None))
    if ok:
        flash(_l("Zuständigkeit übertragen."), "success")
        return redirect(url_for("staff.demand", demand_id=demand.id))
    if error is None:  # no valid CSRF token
        abort(400)
    db.session.rollback()
    flash(error.message, "error")  # a button's refusal: said at the top of the page
    return _render_demand(_demand_or_404(demand_id), 409 if error.code == "stale" else 422)


@bp.post("/forderungen/<int:demand_id>/nachpruefung")
def recheck(demand_id: int):
    """Record whether a demand closed as implemented reached practice."""
    from tracker.web.staff.views import note_on_demand

    saved = _l("Die Nachprüfung steht in der Chronik.")
    return note_on_demand(demand_id, RecheckForm, "recheck", rechecks.record_recheck, saved)


@bp.post("/forderungen/<int:demand_id>/wiederholt")
def set_repeats(demand_id: int):
    """Link a demand to the earlier demand it repeats (or remove the link)."""
    from tracker.web.staff.views import _demand_or_404, save_on_page

    demand = _demand_or_404(demand_id)
    form = RepeatsForm(prefix="repeats")
    form.repeats.choices = repeats_choices(demand)

    def write():
        earlier = db.session.get(Demand, int(form.repeats.data)) if form.repeats.data else None
        return repeats.set_repeats(demand, earlier, current_user, form.expected_version())

    return save_on_page(demand, "repeats_form", form, write)
