"""The staff login form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from tracker.domain import rules
from tracker.web.forms import Form


class LoginForm(Form):
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[
            DataRequired(_l("Bitte die E-Mail-Adresse eingeben.")),
            Length(max=rules.EMAIL_MAX),
        ],
    )
    password = PasswordField(
        _l("Passwort"),
        validators=[
            DataRequired(_l("Bitte das Passwort eingeben.")),
            Length(max=rules.LOGIN_PASSWORD_MAX),
        ],
    )
    remember = BooleanField(_l("Angemeldet bleiben"))
