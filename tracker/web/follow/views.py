"""Following a demand by e-mail: subscribe, confirm (double opt-in), end with one click."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from tracker.extensions import csrf, limiter
from tracker.services import queries, subscriptions
from tracker.web.follow.forms import FollowForm
from tracker.web.forms import ConfirmForm

bp = Blueprint("follow", __name__)


@bp.route("/forderungen/<int:demand_id>/folgen", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def subscribe(demand_id: int):
    """Offer the form to follow a demand; on sending it, ask for a confirmation mail.

    The form has a page of its own so that the demand page needs no CSRF token (and no
    session) and can come from the page cache.
    """
    demand = queries.visible_demand(demand_id, include_internal=False) or abort(404)
    form = FollowForm()
    if request.method != "POST":  # GET, HEAD
        return render_template("follow/form.html", demand=demand, form=form)
    if not form.validate_on_submit():
        return render_template("follow/form.html", demand=demand, form=form), 422
    subscriptions.subscribe(demand, form.email.data)
    return render_template("follow/sent.html", demand=demand)


def _subscription(token: str):
    sub = subscriptions.by_token(token)
    if sub is None:
        abort(404)
    return sub


def _on_confirm(token: str, action: str, change, said):
    """Ask before ``action``; the button makes ``change(subscription)`` and says ``said``."""
    sub = _subscription(token)
    form = ConfirmForm()
    if form.validate_on_submit():
        change(sub)
        flash(said, "success")
        return redirect(url_for("public.demand", demand_id=sub.demand_id))
    return render_template("follow/confirm.html", sub=sub, form=form, action=action)


@bp.route("/folgen/<token>/bestaetigen", methods=["GET", "POST"])
def confirm(token: str):
    """Confirm following a demand (the second step of the double opt-in)."""
    said = _l("Bestätigt: Sie erhalten eine E-Mail, wenn sich an dieser Forderung etwas ändert.")
    return _on_confirm(token, "confirm", subscriptions.confirm, said)


@bp.route("/folgen/<token>/abmelden", methods=["GET", "POST"])
def end(token: str):
    """Stop following a demand."""
    said = _l("Abgemeldet: Sie erhalten zu dieser Forderung keine E-Mails mehr.")
    return _on_confirm(token, "end", subscriptions.end, said)


@bp.route("/folgen/<token>/abmelden/ein-klick", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client posts without session or form; the token is the proof
@limiter.limit("30 per minute")
def one_click(token: str):
    """End following with one POST from the mail client (List-Unsubscribe-Post)."""
    sub = _subscription(token)
    if request.method != "POST":  # a person, or a link checker (GET, HEAD): ask first
        return redirect(url_for("follow.end", token=token))
    subscriptions.end(sub)
    return render_template("follow/ended.html", sub=sub)
