"""Staff login and logout."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import CSRFError

from tracker.domain import rules
from tracker.domain.models import User, check_dummy_password
from tracker.extensions import db, limiter, login_manager
from tracker.services import users as user_service
from tracker.web.auth.forms import LoginForm
from tracker.web.errors import KeptInput, csrf_refused, same_origin
from tracker.web.forms import ConfirmForm
from tracker.web.redirects import safe_next

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Bitte melden Sie sich an, um diese Seite zu sehen.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Return the user of a session or remember cookie, if active and the cookie still valid."""
    number, _sep, token = user_id.partition(":")
    if not (number.isascii() and number.isdigit()) or not token or len(number) > 18:
        return None
    user = db.session.get(User, int(number))
    if user is None or not user.active or not user.matches_session(token):
        return None
    return user


def _password_matches(user: User | None, password: str) -> bool:
    """Check the password; without a usable account check a dummy hash, so both take as long."""
    if user is None or not user.active:
        return check_dummy_password(password)
    return user.check_password(password)


def _start_session(user: User, remember: bool) -> None:
    """Log ``user`` in on a fresh session: new session data and a new CSRF token."""
    locale = session.get("locale")
    session.clear()  # nothing from before the login (also not its CSRF token) carries over
    if locale:
        session["locale"] = locale
    g.pop("csrf_token", None)
    login_user(user, remember=remember)


@bp.route("/anmelden", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Log a staff member in."""
    target = safe_next(request.args.get("next"), url_for("staff.index"))
    if current_user.is_authenticated:
        return redirect(target)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = user_service.by_email(form.email.data)
        if _password_matches(user, form.password.data):
            _start_session(user, remember=form.remember.data)
            if kept := KeptInput.unsealed(form.kept.data):  # the tokens of the new session
                return render_template("auth/resume.html", kept=kept)
            flash(_l("Sie sind angemeldet."), "success")
            return redirect(target)
        form.form_errors.append(_l("E-Mail-Adresse oder Passwort ist falsch."))
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.errorhandler(CSRFError)
def login_form_refused(error):
    """The login form's token was refused: too old, or the session changed in another tab.

    Show the form again with a fresh token; the input it carries from a refused staff form
    waits on, or, logged in meanwhile, comes back at once. Only for a form of this site's own
    pages: nothing another site sends appears on ours.
    """
    if request.endpoint != "auth.login":
        return csrf_refused(error)
    ours = same_origin()
    kept = KeptInput.unsealed(request.form.get("kept")) if ours else None
    if current_user.is_authenticated:
        if kept is not None:
            return render_template("auth/resume.html", kept=kept)
        return redirect(safe_next(request.args.get("next"), url_for("staff.index")))
    form = LoginForm(formdata=None)
    if ours:  # what was typed, but the password
        typed = request.form.get("email", "")[: rules.EMAIL_MAX]
        form.email.data = "".join(ch for ch in typed if ch.isprintable())
        form.kept.data = request.form.get("kept") if kept is not None else ""
    form.form_errors.append(
        _l(
            "Das Anmeldeformular war abgelaufen oder unvollständig. Bitte melden Sie sich "
            "noch einmal an."
        )
    )
    return render_template("auth/login.html", form=form), 400


@bp.route("/abmelden", methods=["GET", "POST"])
@login_required
def logout():
    """Log out (POST); GET shows a button so that a link cannot log anyone out."""
    if request.method == "POST":
        form = ConfirmForm()
        if form.validate_on_submit():
            current_user.end_sessions()
            db.session.commit()
            logout_user()
            flash(_l("Sie sind abgemeldet."), "success")
            return redirect(url_for("public.index"))
    return render_template("auth/logout.html")
