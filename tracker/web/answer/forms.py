"""The form on a body's answer page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import Optional

from tracker.domain import rules
from tracker.domain.models import Body
from tracker.web.forms import Form, limited, one_time_nonce

ASK_STATEMENT = _l("Bitte eine Stellungnahme eingeben.")


class StatementForm(Form):
    text = limited(
        _l("Ihre Stellungnahme"), rules.STATEMENT_MAX, ASK_STATEMENT, field=TextAreaField
    )
    author = limited(_l("Name und Funktion (erscheint öffentlich, freiwillig)"), rules.NAME_MAX)
    reports_addressed = BooleanField(_l("Wir haben diese Forderung aufgegriffen"))
    file_reference = limited(_l("Ihr Aktenzeichen (freiwillig)"), rules.FILE_REFERENCE_MAX)
    committed_until = DateField(
        _l("Antwort zugesagt bis (freiwillig)"),
        validators=[Optional()],
        render_kw={"type": "date"},
    )
    competent_body = SelectField(_l("Zuständig ist aus unserer Sicht"), validators=[Optional()])
    competent_text = limited(_l("… oder eine andere Stelle (Name)"), rules.COMPETENT_TEXT_MAX)

    nonce = one_time_nonce()

    def fill_bodies(self, own: Body, bodies: list[Body]) -> StatementForm:
        """Offer every other body as the competent one."""
        self.competent_body.choices = [("", _l("– keine Angabe –"))] + [
            (str(b.id), b.name) for b in bodies if b.id != own.id
        ]
        return self
