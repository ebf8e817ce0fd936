"""The staff blueprint: every page under /verwaltung needs a login; views report what they saved."""

from flask import Blueprint, flash
from flask_babel import lazy_gettext as _l
from flask_login import login_required

bp = Blueprint("staff", __name__, url_prefix="/verwaltung")


@bp.before_request
@login_required
def require_login():
    """Send anyone not logged in to the login page."""


def flash_saved(changed: bool, saved=None) -> None:
    """Say „Gespeichert.“ (or ``saved``) after a change and „Keine Änderung.“ when nothing changed.

    The request's edge commits (``tracker.transactions``); a view only reports.
    """
    flash((saved or _l("Gespeichert.")) if changed else _l("Keine Änderung."), "success")
