"""The staff login form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField

from tracker.domain import rules
from tracker.web.forms import Form, limited

ASK_EMAIL = _l("Bitte die E-Mail-Adresse eingeben.")
ASK_PASSWORD = _l("Bitte das Passwort eingeben.")


class LoginForm(Form):
    email = limited(_l("E-Mail-Adresse"), rules.EMAIL_MAX, ASK_EMAIL, field=EmailField)
    password = limited(_l("Passwort"), rules.LOGIN_PASSWORD_MAX, ASK_PASSWORD, field=PasswordField)
    remember = BooleanField(_l("Angemeldet bleiben"))
    kept = HiddenField()  # a refused form's input, sealed (errors.KeptInput), back after the login
