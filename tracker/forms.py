"""The base of every form: text arrives without control characters (see ``tracker.inputs``)."""

from __future__ import annotations

from flask import has_request_context, request
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto
from werkzeug.datastructures import MultiDict

from .inputs import clean_text


class Form(FlaskForm):
    """A form that drops control characters from what is sent and normalises newlines.

    People paste them in without seeing them (and PostgreSQL cannot store NUL), so a form
    strips them rather than refusing the input.
    """

    class Meta(FlaskForm.Meta):
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


class ConfirmForm(Form):
    """A button-only form (confirm, delete, logout): just the CSRF token."""
