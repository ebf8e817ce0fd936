"""Following a demand by e-mail: double opt-in, one message per public change, one-click end."""

from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from tracker.domain import rules, workflow
from tracker.domain.models import Demand, Subscription, TimelineEntry, utcnow
from tracker.extensions import db
from tracker.services import outbox, queries
from tracker.services.links import external_url

# Timeline entries that subscribers hear about (when public): what changed, not the bookkeeping.
NOTIFY_KINDS = ("transition", "update", "statement")


# Anyone may type any address into the form: an address gets at most this many confirmation
# requests a day for demands it does not follow yet, and at most one a day for each demand.
CONFIRMATIONS_PER_DAY = 5


def subscribe(demand: Demand, email: str) -> Subscription | None:
    """Start following ``demand``; queue the confirmation mail for a new or unconfirmed address.

    Returns None when the address already follows it, or has been asked enough today. Callers
    show the same message either way, so the page does not reveal who follows what. Asked again
    before confirming, the address keeps its link (the first mail's still works) and gets it
    again at most once a day.
    """
    email = rules.normal_email(email)
    sub = db.session.scalar(
        sa.select(Subscription).where(
            Subscription.demand_id == demand.id, Subscription.email == email
        )
    )
    if sub is not None and sub.active:
        return None
    now = utcnow()
    if sub is None or sub.ended_at is not None:
        asked = db.session.scalar(
            sa.select(sa.func.count(Subscription.id)).where(
                Subscription.email == email,
                Subscription.confirmed_at.is_(None),
                Subscription.created_at > now - dt.timedelta(days=1),
            )
        )
        if asked >= CONFIRMATIONS_PER_DAY:
            return None
    if sub is None:
        sub = Subscription(demand=demand, email=email, token=secrets.token_urlsafe(32))
        db.session.add(sub)
    elif sub.ended_at is not None:  # ended: a new token, a new confirmation
        sub.token, sub.ended_at, sub.confirmed_at = secrets.token_urlsafe(32), None, None
    db.session.flush()
    outbox.queue_mail(
        f"subscribe:{sub.id}:{sub.token[:16]}:{now.date().isoformat()}",
        "subscribe_confirm",
        _l("Bitte bestätigen: Sie möchten „%(title)s“ folgen", title=demand.title),
        {
            "demand": demand,
            "confirm_url": external_url("follow.confirm", token=sub.token),
            "demand_url": external_url("public.demand", demand_id=demand.id),
        },
        kind="subscription",
        to=[email],
        data=_unsubscribe_links(sub),
    )
    return sub


def _unsubscribe_links(sub: Subscription) -> dict[str, str]:
    """The page to end following (in the text) and the one-click address (in the header)."""
    return {
        "unsubscribe_url": external_url("follow.end", token=sub.token),
        "one_click_url": external_url("follow.one_click", token=sub.token),
    }


def by_token(token: str) -> Subscription | None:
    """Return the subscription a link belongs to."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Subscription).where(Subscription.token == token))


def confirm(sub: Subscription) -> None:
    """Confirm a subscription (the second step of the double opt-in)."""
    if sub.confirmed_at is None:
        sub.confirmed_at = utcnow()
        sub.ended_at = None


def end(sub: Subscription) -> None:
    """Stop sending messages to this subscriber."""
    if sub.ended_at is None:
        sub.ended_at = utcnow()


def notify(entry: TimelineEntry) -> int:
    """Queue one message per active subscriber about a public change; return how many."""
    demand = entry.demand
    if entry.kind not in NOTIFY_KINDS or not queries.shown(entry, demand):
        return 0
    subs = db.session.scalars(
        sa.select(Subscription).where(
            Subscription.demand_id == demand.id,
            Subscription.confirmed_at.is_not(None),
            Subscription.ended_at.is_(None),
        )
    ).all()
    if not subs:
        return 0
    with force_locale("de"):  # the state's name in German, as the rest of the message
        state = workflow.state_label(demand.state)
    subject = _l("Neuigkeiten zu „%(title)s“: %(state)s", title=demand.title, state=state)
    demand_url = external_url("public.demand", demand_id=demand.id)
    for sub in subs:
        outbox.queue_mail(
            f"notify:{entry.id}:{sub.id}",
            "subscription_update",
            subject,
            {
                "demand": demand,
                "entry": entry,
                "demand_url": demand_url,
                "unsubscribe_url": external_url("follow.end", token=sub.token),
            },
            kind="subscription",
            to=[sub.email],
            data=_unsubscribe_links(sub),
        )
    return len(subs)
