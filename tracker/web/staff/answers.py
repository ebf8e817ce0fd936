"""Staff actions for answers that count: classify statements, reassign, re-check, repeats."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional, ValidationError

from tracker.domain import labels, rules
from tracker.domain.models import Demand, TimelineEntry
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


def demand_number(text: str) -> int | None:
    """The demand number typed into the repeats field: „12“ or „#12“ (None: not a number)."""
    digits = text.strip().removeprefix("#").strip()
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 9 else None


class RepeatsForm(VersionedForm):
    """The earlier demand by its number, as the staff lists and pages show it (#12).

    A select of every other demand (10,000 on the bench data) was a megabyte of page and no use
    to anyone; the number is checked here and refused with a message, changing nothing.
    """

    repeats = StringField(
        _l("Nummer der früheren Forderung"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric", "autocomplete": "off", "size": 10, "maxlength": 12},
    )
    earlier: Demand | None = None

    def validate_repeats(self, field) -> None:
        number = demand_number(field.data or "")
        if number is None:
            raise ValidationError(
                _l("Bitte die Nummer einer Forderung angeben, zum Beispiel 12 oder #12.")
            )
        self.earlier = db.session.get(Demand, number)
        if self.earlier is None:
            raise ValidationError(
                _l("Es gibt keine Forderung mit der Nummer %(number)s.", number=number)
            )


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

    def write():
        earlier = form.earlier if (form.repeats.data or "").strip() else None
        return repeats.set_repeats(demand, earlier, current_user, form.expected_version())

    return save_on_page(demand, "repeats_form", form, write)
