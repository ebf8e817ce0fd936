"""The form to follow a demand by e-mail."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField
from wtforms.validators import DataRequired, Email, Length

from tracker.web.forms import Form


class FollowForm(Form):
    email = EmailField(
        _l("Ihre E-Mail-Adresse"),
        validators=[
            DataRequired(_l("Bitte eine E-Mail-Adresse eingeben.")),
            Email(_l("Bitte eine gültige E-Mail-Adresse eingeben.")),
            Length(max=254),
        ],
        filters=[lambda value: value.strip() if value else value],
    )
