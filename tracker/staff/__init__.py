"""Staff pages under /verwaltung: demands, bodies, users. Login required for all of them."""

from flask import Blueprint
from flask_login import login_required

bp = Blueprint("staff", __name__, url_prefix="/verwaltung")


@bp.before_request
@login_required
def require_login():
    """Send anyone not logged in to the login page."""


from . import answers, evidence, imports, reminders, tokens, views  # noqa: E402,F401  (registers the routes)
