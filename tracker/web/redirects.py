"""Redirects: one check for every user-given target (``next``): same site, path only; and
the permanent redirect from a body's former address to its page."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote, urlsplit, urlunsplit

from flask import abort, request, url_for
from werkzeug.routing import RequestRedirect

from tracker.domain.models import Body
from tracker.services import bodies


def _clean(target: str) -> str:
    """Drop control characters (browsers skip tabs and newlines in URLs); read ``\\`` as ``/``."""
    text = "".join(ch for ch in target if unicodedata.category(ch) != "Cc")
    return text.strip().replace("\\", "/")


def safe_next(target: object, default: str) -> str:
    """Return ``target`` if it is a path on this site, else ``default``.

    What a browser would read as another host (``//x``, ``/\\x``, ``/%09/x``, ``https://x``) or
    as a script (``javascript:``) is refused; what is left is a path with its query and fragment.
    """
    if not isinstance(target, str) or not target:
        return default
    text = _clean(target)
    if text.startswith("//"):  # also ``///x``: a browser reads any number of slashes as a host
        return default
    try:
        parts = urlsplit(text)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    if parts.path.startswith("//"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, parts.fragment))


class MovedPermanently(RequestRedirect):
    code = 301


def body_or_404(slug: str) -> Body:
    """Return the body ``slug`` names, or 404; a former slug of one redirects (301) to the same
    page (feed, calendar, API) under its slug now, with the query as it was."""
    body, moved = bodies.find(slug)
    if body is None:
        abort(404)
    if moved:
        target = url_for(request.endpoint, **{**request.view_args, "slug": body.slug})
        # the query as sent (`%ff` stays `%ff`); raw bytes outside ASCII get escaped
        query = quote(request.query_string, safe="%&=+;/?:@,$!*'()~[]")
        raise MovedPermanently(f"{target}?{query}" if query else target)
    return body
