"""The form to follow a demand by e-mail."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField
from wtforms.validators import DataRequired

from tracker.domain import rules
from tracker.web.forms import Form, checked_by


class FollowForm(Form):
    email = EmailField(
        _l("Ihre E-Mail-Adresse"),
        validators=[
            DataRequired(_l("Bitte eine E-Mail-Adresse eingeben.")),
            checked_by(rules.email_problem),
        ],
        filters=[lambda value: value.strip() if value else value],
    )
