"""Staff forms; the transition forms are built from the workflow declaration."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (
    BooleanField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, DateInput, ListWidget, Select, html_params

from tracker.domain import labels, rules, workflow
from tracker.domain.models import Body
from tracker.inputs import digits
from tracker.services.meetings import RHYTHM_CHOICES
from tracker.web.forms import Form, checked_by, limited, one_time_nonce

REQUIRED = rules.REQUIRED

DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y")


class DayField(Field):
    """A date typed as 2026-11-30 (the browser's date input) or 30.11.2026; empty is None."""

    widget = DateInput()

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.isoformat() if self.data else ""

    def process_formdata(self, valuelist):
        text = (valuelist[0] if valuelist else "").strip()
        self.data = None
        if not text:
            return
        for fmt in DATE_FORMATS:
            try:
                self.data = dt.datetime.strptime(text, fmt).date()
                return
            except ValueError:
                continue
        raise ValueError(_l("Bitte ein Datum wie 30.11.2026 angeben."))


def rows_filled(formdata, name: str, fields: tuple[str, ...]) -> int:
    """Count the rows of the field list ``name`` sent with one of ``fields`` filled in, also
    those past the list's maximum, which WTForms drops without a word (``parts-41-title``)."""
    pattern = re.compile(rf"{re.escape(name)}-(\d+)-(?:{'|'.join(map(re.escape, fields))})")
    return len(
        {
            found[1]
            for key, value in formdata.items(multi=True)
            if (found := pattern.fullmatch(key)) and value.strip()
        }
    )


def optional_int(value):
    """A select's value as an id: None for none chosen, -1 for what is no number."""
    if value in (None, "", "None"):
        return None
    number = digits(str(value))
    return -1 if number is None else number


def _strip(value):
    """Drop the spaces that come along when an address is pasted."""
    return value.strip() if isinstance(value, str) else value


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VersionedForm(Form):
    """A form about a demand (an event, a meeting, a consultation) that carries the version it
    was loaded at."""

    version = HiddenField()

    def validate_version(self, field) -> None:
        """Refuse a version that is no plain number (a tampered or broken form)."""
        if field.data and not _is_number(str(field.data)):
            message = str(STALE_FORM)
            self.form_errors.append(message)
            raise ValidationError(message)

    def expected_version(self) -> int | None:
        value = str(self.version.data or "")  # a number when taken from the record itself
        return int(value) if _is_number(value) else -1


STALE_FORM = _l("Das Formular ist ungültig (Versionsangabe). Bitte die Seite neu laden.")


def _is_number(value: str) -> bool:
    return digits(value) is not None


class DemandForm(VersionedForm):
    title = limited(_l("Titel"), rules.TITLE_MAX, REQUIRED)
    text = limited(_l("Text der Forderung"), rules.TEXT_MAX, REQUIRED, field=TextAreaField)
    event_part = SelectField(_l("Herkunft (Veranstaltung und Teil)"), validators=[Optional()])
    topics = MultiCheckboxField(_l("Themen"), validators=[Optional()])
    is_public = BooleanField(_l("Öffentlich sichtbar"), default=True)


class NewDemandForm(DemandForm):
    nonce = one_time_nonce()  # a double click records one demand


class UpdateForm(Form):
    text = limited(_l("Neuer Stand"), rules.NOTE_MAX, REQUIRED, field=TextAreaField)
    is_public = BooleanField(_l("Öffentlich sichtbar"), default=True)
    nonce = one_time_nonce()  # a double click notes it once (and mails its followers once)


class OptionsInOnePass(Select):
    """Render a select as WTForms' ``Select`` does, byte for byte, its options in one pass.

    WTForms builds each option through ``html_params`` and a ``Markup`` of its own, and
    translates each lazy label anew: for the fifty role selects of a demand page (one per body)
    that was a third of the page's time. For fields with plain choices (no groups, no
    per-option ``render_kw``), declared as ``SelectChoice`` objects.
    """

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        return Markup(
            f"<select {html_params(name=field.name, **kwargs)}>{self.options(field)}</select>"
        )

    @staticmethod
    def options(field) -> str:
        """Return the field's ``<option>`` elements, its value selected."""
        data, coerce = field.data, field.coerce
        options = []
        for c in field.choices:  # SelectChoice objects
            # labels.text before any truth test: a lazy label's bool() translates it anew
            label = (labels.text(c.label) if c.label is not None else "") or c.value
            selected = "selected " if coerce(c.value) == data else ""
            options.append(f'<option {selected}value="{escape(c.value)}">{escape(label)}</option>')
        return "".join(options)


ROLE_CHOICES = [SelectChoice("", _l("nicht zuständig"))] + [
    SelectChoice(role, label) for role, label in labels.choices("role")
]


class _RoleForm(VersionedForm):
    """What ``assignment_form`` builds on: the role selects as one piece of HTML."""

    body_fields: list[tuple[Body, SelectField]]

    def role_fields(self) -> Markup:
        """Return the role selects, each as the ``field`` macro writes it (templates/_macros.html).

        Written here, their options once per role: fifty macro and widget calls were a third
        of a demand's staff page.
        """
        options: dict[str, str] = {}  # by the value selected: every select offers the same
        rows = []
        for _body, f in self.body_fields:
            if f.data not in options:
                options[f.data] = OptionsInOnePass.options(f)
            errors = "".join(
                f'<p class="field-error" id="{f.id}-fehler">{escape(m)}</p>' for m in f.errors
            )
            # the attributes in html_params' order (sorted), as the widget writes them
            aria = f' aria-describedby="{f.id}-fehler" aria-invalid="true"' if errors else ""
            rows.append(
                f'<div class="field{" field--error" if errors else ""}">'
                f'<label for="{f.id}">{escape(f.label.text)}</label>'
                f'<select{aria} id="{f.id}" name="{f.name}">{options[f.data]}</select>'
                f"{errors}</div>\n"
            )
        return Markup("".join(rows))


def assignment_form(bodies: list[Body], formdata=None, **kwargs) -> _RoleForm:
    """Build a form with one role choice per body."""

    class AssignmentForm(_RoleForm):
        pass

    for body in bodies:
        setattr(
            AssignmentForm,
            f"body_{body.id}",
            SelectField(
                body.name,
                choices=ROLE_CHOICES,
                default="",
                validate_choice=True,
                widget=OptionsInOnePass(),
            ),
        )
    form = AssignmentForm(formdata=formdata, **kwargs)
    form.body_fields = [(body, form[f"body_{body.id}"]) for body in bodies]
    return form


@cache
def transition_form_class(trigger: str) -> type[VersionedForm]:
    """Return the form class for a workflow trigger, with one field per declared note."""
    transition = workflow.TRANSITION_BY_TRIGGER[trigger]
    fields = {}
    for note in transition.notes:
        validators = [DataRequired(REQUIRED)] if note.required else [Optional()]
        validators.append(Length(max=rules.NOTE_MAX))
        if note.choices:
            choices = [SelectChoice(value, label) for value, label in note.choices]
            fields[note.name] = RadioField(note.label, choices=choices, validators=validators)
        elif note.multiline:
            fields[note.name] = TextAreaField(note.label, validators=validators)
        else:
            fields[note.name] = StringField(note.label, validators=validators)
    return type(f"{trigger.title()}Form", (VersionedForm,), fields)


class BodyForm(Form):
    name = limited(_l("Name"), rules.TITLE_MAX, REQUIRED)
    short_name = limited(_l("Kurzname"), rules.SHORT_NAME_MAX)
    name_accusative = limited(
        _l("Name nach „an“, mit Artikel"),
        rules.NAME_ACCUSATIVE_MAX,
        description=_l("z. B. „die Staatskanzlei und das Ministerium für Kultur …“ (für E-Mails)"),
    )
    short_accusative = limited(
        _l("Kurzname nach „an“, mit Artikel"),
        rules.SHORT_ACCUSATIVE_MAX,
        description=_l("z. B. „das Sozialministerium“"),
    )
    slug = StringField(
        _l("Kürzel für die Adresse"),
        validators=[DataRequired(REQUIRED), checked_by(rules.slug_problem)],
        description=_l("Ein neues Kürzel ändert die Adresse; Links auf die alte führen weiter."),
    )
    kind = SelectField(
        _l("Art"), choices=[SelectChoice(k, label) for k, label in labels.choices("body_kind")]
    )
    description = limited(_l("Beschreibung"), rules.DESCRIPTION_MAX, field=TextAreaField)
    dialogue_rhythm_weeks = SelectField(
        _l("Vereinbarter Gesprächsrhythmus"),
        choices=[SelectChoice("", _l("kein Rhythmus vereinbart"))]
        + [SelectChoice(str(weeks), label) for weeks, label in RHYTHM_CHOICES],
        coerce=optional_int,  # a tampered value is refused, not taken as „kein Rhythmus“
        validators=[Optional()],
    )


class ContactForm(Form):
    # own ids: this form shares the body's page with BodyForm, whose ``name`` field is id="name"
    name = limited(_l("Name oder Funktion"), rules.NAME_MAX, REQUIRED, id="contact-name")
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(REQUIRED), checked_by(rules.email_problem)],
        filters=[_strip],
    )
    escalation_level = SelectField(
        _l("Eskalationsstufe"),
        choices=[SelectChoice(k, label) for k, label in labels.choices("contact_level")],
        coerce=int,
        default=1,
    )


class UserForm(Form):
    name = limited(_l("Name"), rules.USER_NAME_MAX, REQUIRED)
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(REQUIRED), checked_by(rules.email_problem)],
        filters=[_strip],
    )
    role = SelectField(
        _l("Rolle"), choices=[SelectChoice(k, label) for k, label in labels.choices("user_role")]
    )
    password = PasswordField(
        _l("Passwort (mindestens %(num)d Zeichen)", num=rules.PASSWORD_MIN),
        # not Optional(): that would let a password of spaces through unchecked
        validators=[Optional(strip_whitespace=False), checked_by(rules.password_problem)],
    )
    active = BooleanField(_l("Aktiv"), default=True)
