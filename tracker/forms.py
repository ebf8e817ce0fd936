"""The base of every form: drops NUL characters, which PostgreSQL cannot store."""

from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict


def _clean(value: str) -> str:
    """Drop NUL; browsers send every line break of a textarea as CRLF: keep plain newlines,
    so that a text saved unchanged is unchanged."""
    return value.replace("\x00", "").replace("\r\n", "\n")


class Form(FlaskForm):
    """A form that drops NUL characters from what is sent: PostgreSQL cannot store them."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            formdata = super().wrap_formdata(form, formdata)
            if formdata is None:
                return None
            return MultiDict(
                (key, _clean(value) if isinstance(value, str) else value)
                for key, value in formdata.items(multi=True)
            )


class ConfirmForm(Form):
    """A button-only form (confirm, delete, logout): just the CSRF token."""
