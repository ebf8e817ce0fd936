"""The base of every form: text arrives without control characters (see ``tracker.inputs``)
and WTForms' length errors are worded as we do."""

from __future__ import annotations

import secrets

from flask import has_request_context, request
from flask_babel import gettext
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from flask_wtf.i18n import translations as wtforms_translations
from werkzeug.datastructures import MultiDict
from wtforms import HiddenField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from tracker.domain import rules
from tracker.inputs import clean_text

_NOT_OFFERED = {  # a value no option has (a tampered form): WTForms' German lacks some
    "Not a valid choice.",
    "Invalid Choice: could not coerce.",
    "Invalid choice(s): one or more data inputs could not be coerced.",
    "'%(value)s' is not a valid choice for this field.",
}


class Messages:
    """WTForms' messages in our words from our catalogue where we have them, else WTForms' own.

    WTForms' German reads „Feld kann nicht länger als 300 Zeichen sein.“; every ``Length``
    validator of every form says „Höchstens 300 Zeichen.“ instead, and a value no option
    offers gets the services' „Bitte eine der angebotenen Möglichkeiten wählen.“
    """

    def gettext(self, string: str) -> str:
        if string == "Field must be between %(min)d and %(max)d characters long.":
            return gettext("Bitte %(min)d bis %(max)d Zeichen.")  # WTForms fills in the numbers
        if string in _NOT_OFFERED:
            return gettext("Bitte eine der angebotenen Möglichkeiten wählen.")
        return wtforms_translations.gettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if singular in _NOT_OFFERED:
            return gettext("Bitte eine der angebotenen Möglichkeiten wählen.")
        if singular == "Field cannot be longer than %(max)d character.":
            return gettext("Höchstens %(num)d Zeichen.", num=n)
        if singular == "Field must be at least %(min)d character long.":
            return gettext("Mindestens %(num)d Zeichen.", num=n)
        if singular == "Field must be exactly %(max)d character long.":
            return gettext("Genau %(num)d Zeichen.", num=n)
        return wtforms_translations.ngettext(singular, plural, n)


MESSAGES = Messages()


class Form(FlaskForm):
    """A form that drops control characters from what is sent and normalises newlines.

    People paste them in without seeing them (and PostgreSQL cannot store NUL), so a form
    strips them rather than refusing the input.
    """

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return MESSAGES

        def wrap_formdata(self, form, formdata):
            if formdata is _Auto and has_request_context() and request.is_json:
                # our forms are HTML forms: a JSON body fills no field (and is not parsed)
                formdata = MultiDict()
            formdata = super().wrap_formdata(form, formdata)
            if formdata is None:
                return None
            return MultiDict(
                (key, clean_text(value) if isinstance(value, str) else value)
                for key, value in formdata.items(multi=True)
            )

    def values(self) -> dict:
        """Return the fields' data by name, without the CSRF token: a service call's keywords."""
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class _NonceField(HiddenField):
    """A hidden field whose data is what was sent, "" when nothing was (not its default)."""

    def process_formdata(self, valuelist):
        self.data = valuelist[0] if valuelist else ""


def one_time_nonce() -> HiddenField:
    """A hidden field with a new random value each time its form is rendered: a second
    submission of the same rendered form (a double click, a page sent again) is recognised by
    it and records nothing. A request without it (the API, a script) is not checked: its
    data is then ""."""
    return _NonceField(
        default=lambda: secrets.token_urlsafe(16),
        validators=[Optional(), Length(max=rules.NONCE_MAX)],
    )


def limited(label, limit: int, required=None, *, field=StringField, **kwargs):
    """Return a text field of at most ``limit`` characters (one of ``tracker.domain.rules``).

    ``required`` is the message for a missing value; without one the field is optional.
    """
    first = DataRequired(required) if required else Optional()
    return field(label, validators=[first, Length(max=limit)], **kwargs)


def checked_by(problem):
    """Return a validator that refuses what a domain rule refuses, in the rule's words.

    ``problem(value)`` is one of ``tracker.domain.rules``' checks: a message, or None.
    """

    def validate(form, field) -> None:
        message = problem(field.data)
        if message:
            raise ValidationError(message)

    return validate


class ConfirmForm(Form):
    """A button-only form (confirm, delete, logout): just the CSRF token."""
