"""Signed, expiring answer links, each scoped to one body."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tracker.domain.models import Body
from tracker.domain.workdays import today
from tracker.inputs import MAX_ID

SALT = "tracker.web.answer.views-link.v1"


class TokenInvalid(Exception):
    """Tampered, foreign or malformed: answer 403."""


class TokenExpired(Exception):
    """Once valid, now too old or its body is gone: answer 410."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def answer_token(body: Body) -> str:
    """Return a signed token that lets ``body`` answer for its own demands.

    It names the body by its id, which never changes and is never given to another body
    (bodies are not deleted; PostgreSQL's sequences and SQLite's row ids do not go back): a
    new slug leaves the links sent before it working. The slug is kept for a reader of the
    payload only.
    """
    return _serializer().dumps({"body": body.id, "slug": body.slug})


def expiry_date() -> dt.date:
    """Return the last day a token made today is valid for the whole day.

    A token lives ANSWER_LINK_DAYS x 24 hours from the moment it is signed, so on the day
    ANSWER_LINK_DAYS from now it dies at the time of day it was made: promise the day before.
    """
    return today() + dt.timedelta(days=max(current_app.config["ANSWER_LINK_DAYS"] - 1, 0))


def body_id_from(token: str) -> int:
    """Check ``token`` and return the id of the body it was made for."""
    max_age = current_app.config["ANSWER_LINK_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired() from None
    except BadSignature:
        raise TokenInvalid() from None
    body = data.get("body") if isinstance(data, dict) else None
    if not isinstance(body, int) or isinstance(body, bool) or not 1 <= body <= MAX_ID:
        raise TokenInvalid()  # an id no row can have: refused before any query
    return body
