"""Staff login and logout."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .extensions import db, limiter, login_manager
from .forms import ConfirmForm, Form
from .models import User

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Bitte melden Sie sich an, um diese Seite zu sehen.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the logged-in user, if still active."""
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    return user if user and user.active else None


class LoginForm(Form):
    email = EmailField(
        _l("E-Mail-Adresse"),
        validators=[DataRequired(_l("Bitte die E-Mail-Adresse eingeben.")), Length(max=254)],
    )
    password = PasswordField(
        _l("Passwort"),
        validators=[DataRequired(_l("Bitte das Passwort eingeben.")), Length(max=1000)],
    )
    remember = BooleanField(_l("Angemeldet bleiben"))


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("staff.index")


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log a staff member in."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
        if user and user.active and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            flash(_l("Sie sind angemeldet."), "success")
            return redirect(_safe_next(request.args.get("next")))
        form.form_errors.append(_l("E-Mail-Adresse oder Passwort ist falsch."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.route("/abmelden", methods=["GET", "POST"])
@login_required
def logout():
    """Log out (POST); GET shows a button so that a link cannot log anyone out."""
    if request.method == "POST":
        form = ConfirmForm()
        if form.validate_on_submit():
            logout_user()
            flash(_l("Sie sind abgemeldet."), "success")
            return redirect(url_for("public.index"))
    return render_template("auth/logout.html")
