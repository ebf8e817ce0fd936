"""The staff blueprint: every page under /verwaltung needs a login; views report what they saved."""

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from tracker.extensions import db
from tracker.services.errors import ServiceError
from tracker.web.errors import kept_input, render_error

bp = Blueprint("staff", __name__, url_prefix="/verwaltung")
INVALID = 422  # a form sent with something to correct: shown again with the messages


@bp.before_request
def require_login():
    """Send anyone not logged in to the login page (as ``login_required`` does).

    A form sent after the login ended (logged out in another tab, the session over) is not
    thrown away with that redirect: the page shows it, to send again once logged in.
    """
    if current_user.is_authenticated:
        return None
    if request.method == "POST" and (kept := kept_input()) is not None:
        message = _l(
            "Sie sind nicht mehr angemeldet, darum wurde nichts gespeichert. Ihre Eingaben "
            "sind nicht verloren: Melden Sie sich unten an, dann können Sie sie erneut senden."
        )
        return render_error(401, message, kept=kept)
    return current_app.login_manager.unauthorized()


def saved_message(changed: bool, saved=None):
    """Return „Gespeichert.“ (or ``saved``) after a change, else „Keine Änderung.“."""
    return (saved or _l("Gespeichert.")) if changed else _l("Keine Änderung.")


def flash_saved(changed: bool, saved=None) -> None:
    """Say what ``saved_message`` says. The request's edge commits; a view only reports.

    As plain text: a lazy string would be kept as markup in the session, and a name typed into
    it (a topic's) would reach the page unescaped.
    """
    flash(str(saved_message(changed, saved)), "success")


def show_refusal(form, error) -> None:
    """Show a service's refusal (``ServiceError``) at the fields it names, else above the form.

    A name like ``steps-0-text`` reaches into the field lists and sub-forms; what a whole list
    is refused for (``steps``) is said above the form.
    """
    for name, message in error.errors.items():
        target = form
        for part in name.split("-"):
            try:
                target = target[int(part)] if part.isdigit() else target[part]
                target = getattr(target, "form", target)
            except (KeyError, IndexError, TypeError):
                target = None
                break
        shown = not hasattr(target, "entries")  # a field list's errors are its rows'
        if shown and isinstance(getattr(target, "errors", None), list | tuple):
            target.errors = [*target.errors, message]
        elif message not in form.form_errors:
            form.form_errors.append(message)
    if error.message not in form.form_errors:
        form.form_errors.append(error.message)


def submit(form, save) -> tuple[bool, object]:
    """Validate a submitted ``form``, then run ``save()``: the service call that stores it.

    Returns ``(True, what save returned)``; ``(False, None)`` when the form is invalid and
    ``(False, the ServiceError)`` when the service refused, its messages shown on the form.
    """
    if not form.validate_on_submit():
        return False, None
    try:
        return True, save()
    except ServiceError as error:
        show_refusal(form, error)
        return False, error


def record_page(model, item_id, build_form, save, template: str, endpoint: str, key: str):
    """Record a new ``model`` row (``item_id`` None) or change one through ``save(item, form)``."""
    item = None if item_id is None else (db.session.get(model, item_id) or abort(404))
    form = build_form(item, formdata=request.form if request.method == "POST" else None)
    ok, result = submit(form, lambda: save(item, form))
    if ok:
        saved, changed = result
        flash_saved(changed)
        return redirect(url_for(endpoint, **{key: saved.id}))
    status = INVALID if form.is_submitted() else 200
    if isinstance(result, ServiceError) and result.code == "stale":
        status = 409  # someone saved meanwhile: reload, as for a demand
    return render_template(template, form=form, item=item), status
