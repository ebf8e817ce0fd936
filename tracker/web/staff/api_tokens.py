"""Staff page for personal API tokens: create (shown once) and revoke."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tracker.domain import rules
from tracker.domain.models import ApiToken
from tracker.extensions import db
from tracker.services import api_tokens
from tracker.web.forms import ConfirmForm, Form, limited
from tracker.web.staff.blueprint import bp


class TokenForm(Form):
    name = limited(
        _l("Wofür ist der Token?"), rules.TOKEN_NAME_MAX, _l("Bitte einen Namen angeben.")
    )


@bp.route("/api-tokens", methods=["GET", "POST"])
def tokens():
    """List the user's API tokens and create a new one."""
    form = TokenForm()
    plain = None
    status = 200
    if form.validate_on_submit():
        _row, plain = api_tokens.create_token(current_user, form.name.data)
        form = TokenForm(formdata=None)
    elif form.is_submitted():
        status = 422
    rows = db.session.scalars(
        sa.select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc())
    ).all()
    return render_template(
        "staff/tokens.html",
        form=form,
        rows=rows,
        plain=plain,
        revoke_form=ConfirmForm(formdata=None),
    ), status


@bp.post("/api-tokens/<int:token_id>/widerrufen")
def revoke_token(token_id: int):
    """Revoke one of the user's API tokens."""
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        api_tokens.revoke(row)
        flash(_l("Der Token ist widerrufen."), "success")
    return redirect(url_for("staff.tokens"))
