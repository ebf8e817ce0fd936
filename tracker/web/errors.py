"""Error pages in the user's language; JSON problem details under /api/."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

from tracker.inputs import InputError

MESSAGES = {
    400: (_l("Ungültige Anfrage"), _l("Die Anfrage konnte nicht verarbeitet werden.")),
    401: (_l("Nicht angemeldet"), _l("Bitte melden Sie sich an.")),
    403: (_l("Kein Zugriff"), _l("Sie haben keinen Zugriff auf diese Seite.")),
    404: (_l("Nicht gefunden"), _l("Diese Seite gibt es nicht (mehr).")),
    405: (_l("Methode nicht erlaubt"), _l("Diese Aktion ist auf dieser Seite nicht möglich.")),
    409: (
        _l("Inzwischen geändert"),
        _l("Die Daten wurden inzwischen geändert. Bitte die Seite neu laden."),
    ),
    410: (_l("Nicht mehr gültig"), _l("Dieser Link ist abgelaufen.")),
    413: (_l("Zu groß"), _l("Die gesendeten Daten sind zu groß.")),
    429: (
        _l("Zu viele Versuche"),
        _l("Zu viele Anfragen in kurzer Zeit. Bitte warten Sie einen Moment."),
    ),
    503: (
        _l("Vorübergehend nicht erreichbar"),
        _l("Die Datenbank ist gerade nicht erreichbar. Bitte in einigen Minuten erneut versuchen."),
    ),
    500: (
        _l("Interner Fehler"),
        _l(
            "Etwas ist schiefgegangen. Der Fehler wurde protokolliert; "
            "bitte später erneut versuchen."
        ),
    ),
}


CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "stale",
    410: "gone",
    413: "payload_too_large",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}

# The API's problem codes beyond the HTTP statuses' own, each with its German title; a problem's
# "type" is <BASE_URL>/api/v1/problems/<code>, which describes it (RFC 9457, section 3.1.1).
PROBLEMS = {
    "invalid_parameter": (400, _l("Ungültiger Parameter")),
    "invalid_json": (400, _l("Ungültiges JSON")),
    "unauthorized": (401, _l("API-Token fehlt oder ist ungültig")),
    "transition_not_allowed": (409, _l("Schritt nicht möglich")),
    "validation_failed": (422, _l("Ungültige Angaben")),
}


def problem_title(code: str, status: int) -> str:
    """Return the German msgid's translation of the title of problem ``code``."""
    if code in PROBLEMS:
        return str(PROBLEMS[code][1])
    known = next((s for s, c in CODES.items() if c == code), status)
    return str(MESSAGES.get(known, MESSAGES[500] if status >= 500 else MESSAGES[400])[0])


def problem_status(code: str) -> int | None:
    """Return the HTTP status that problem ``code`` comes with, or None for an unknown code."""
    if code in PROBLEMS:
        return PROBLEMS[code][0]
    return next((s for s, c in CODES.items() if c == code), None)


def problem(status: int, code: str, detail: str, errors: dict | None = None):
    """Return an RFC 9457 problem details response (application/problem+json)."""
    from tracker.services.links import external_url

    body = {
        "type": external_url("api.problem", code=code),
        "title": problem_title(code, status),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = {name: str(message) for name, message in errors.items()}
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/problem+json"
    return response


# The last resort when even the error page cannot be rendered: German, no database, no template.
FALLBACK = """<!doctype html>
<html lang="de">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} – Forderungstracker</title></head>
<body><header><a href="/">Forderungstracker</a></header>
<main><h1>{title} ({code})</h1><p>{message}</p><p><a href="/">Zur Übersicht der Forderungen</a></p>
</main></body></html>
"""


def render_error(code: int, message: str | None = None, **context):
    """Render the error page (or problem JSON for the API) for ``code``; ``context`` goes to
    the page's template."""
    title, default = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    if request.path.startswith("/api/"):
        return problem(code, CODES.get(code, "error"), message or default)
    _forget_user_if_unloadable()
    kept = context.get("kept")
    if kept is not None and kept.login_needed:  # log in right there, the input carried along
        from tracker.web.auth.forms import LoginForm

        context["login_form"] = LoginForm(formdata=None, kept=kept.sealed())
    try:
        page = render_template(
            "errors/error.html", code=code, title=title, message=message or default, **context
        )
    except Exception:  # the page itself failed (e.g. the database went away meanwhile)
        current_app.logger.exception("The error page for %s could not be rendered", code)
        page = FALLBACK.format(code=code, title=escape(title), message=escape(message or default))
    return page, code


@dataclass
class KeptInput:
    """What a form sent whose CSRF token was refused, to send again with a fresh one."""

    action: str
    fields: list[tuple[str, str]]  # every field as sent, the tokens renewed
    shown: list[str]  # what was typed, for reading and copying
    login_needed: bool  # the form's page needs a login the session no longer has

    def sealed(self) -> str:
        """The input signed, for the login form on the page to carry it through the login."""
        return _seal().dumps([self.action, self.fields])

    @classmethod
    def unsealed(cls, token: object) -> KeptInput | None:
        """The input that :meth:`sealed` carried, its tokens renewed, or None if not ours.

        Only what this site signed in the last day comes back, so the page after a login shows
        nothing a stranger wrote: it is the input the staff member typed before it.
        """
        if not isinstance(token, str) or not token:
            return None
        try:
            action, sent = _seal().loads(token, max_age=KEPT_MAX_AGE)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(action, str) or not action.startswith("/") or action.startswith("//"):
            return None
        return _kept(action, [(str(name), str(value)) for name, value in sent])


TECHNICAL = ("csrf_token", "nonce", "version")  # ends of field names nobody typed
CHOSEN = re.compile(r"y|on|\d*")  # a ticked box's or a chosen option's value: nothing typed
KEPT_MAX_AGE = 86400  # seconds a sealed input may wait for its login


def _seal() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="kept-input")


def kept_input() -> KeptInput | None:
    """Return a refused form's input to offer it again, or None.

    Only for a form of this site's own pages (its ``Origin``, or without one its ``Referer``,
    is this site): a form another site sends gets the plain error page, so no other site can
    put words on ours or have a visitor send them. Never for a password or a file (neither is
    written back into a page) or the API.
    """
    if request.method != "POST" or request.path.startswith("/api/") or not same_origin():
        return None
    if any(file.filename for file in request.files.values()):
        return None
    query = request.query_string.decode("latin-1")
    return _kept(request.path + (f"?{query}" if query else ""), request.form.items(multi=True))


def _kept(action: str, sent) -> KeptInput | None:
    """The input ``sent`` to ``action`` with fresh tokens, or None if nothing was typed."""
    sent = list(sent)
    if not sent or any("password" in name for name, _ in sent):
        return None
    shown = [v for n, v in sent if not (n.endswith(TECHNICAL) or CHOSEN.fullmatch(v.strip()))]
    if not shown:  # nothing typed (a button, a choice): nothing lost, the plain page says reload
        return None
    token = generate_csrf()
    fields = [(name, token if name.endswith("csrf_token") else value) for name, value in sent]
    _forget_user_if_unloadable()
    staff_page = urlsplit(action).path.split("/")[1] == "verwaltung"
    login_needed = staff_page and not current_user.is_authenticated
    return KeptInput(action, fields, shown, login_needed)


def same_origin() -> bool:
    """Tell whether the browser says the request comes from a page of this site."""
    sender = request.headers.get("Origin") or request.headers.get("Referer")
    if not sender or sender == "null":
        return False
    ours = {_origin(request.host_url), _origin(current_app.config["BASE_URL"])}
    return _origin(sender) in ours


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _wait_message():
    """Say how long a client over a rate limit must wait: a moment, or the minutes until its
    window ends (the follow form counts an hour), as ``Retry-After`` says."""
    from tracker.extensions import limiter

    current = limiter.current_limit
    seconds = current.reset_at - time.time() if current is not None else 0
    if seconds <= 90:
        return None  # the default: „Bitte warten Sie einen Moment.“
    return lazy_ngettext(
        "Zu viele Anfragen in kurzer Zeit. Bitte versuchen Sie es in %(num)d Minute erneut.",
        "Zu viele Anfragen in kurzer Zeit. Bitte versuchen Sie es in %(num)d Minuten erneut.",
        math.ceil(int(seconds) / 60),  # whole seconds, as Retry-After counts them
    )


def _rollback() -> None:
    """Roll back the session; a dead connection may refuse even that."""
    from tracker.extensions import db

    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - nothing more to undo on a dead connection
        current_app.logger.warning("Rollback failed", exc_info=True)


def _forget_user_if_unloadable() -> None:
    """Load the logged-in user for the page, or show the page as to anyone if that fails.

    During a database outage the user loader itself fails; the error page must not.
    """
    from tracker.extensions import login_manager

    try:
        current_user._get_current_object()
    except Exception:  # noqa: BLE001 - any failure: the error page is shown without the user
        _rollback()
        g._login_user = login_manager.anonymous_user()


def csrf_refused(_error=None):
    """The page for a form whose CSRF token was refused: its input kept where that is safe."""
    kept = kept_input()
    if kept is None:
        return render_error(
            400,
            _l(
                "Das Formular war abgelaufen oder unvollständig (sein Sicherheitstoken fehlt, "
                "ist zu alt oder gehört zu einer früheren Anmeldung). Bitte die Seite neu "
                "laden und erneut senden."
            ),
        )
    return render_error(
        400,
        _l(
            "Das Formular war abgelaufen (sein Sicherheitstoken ist zu alt oder gehört zu "
            "einer früheren Anmeldung). Ihre Eingaben sind nicht verloren: Sie können sie "
            "unten erneut senden."
        ),
        kept=kept,
    )


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    app.register_error_handler(CSRFError, csrf_refused)

    @app.errorhandler(InputError)
    def input_error(error: InputError):
        return render_error(400, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        message = getattr(error, "user_message", None)
        if error.code == 429:
            message = _wait_message()
        response = current_app.make_response(render_error(error.code, message))
        # keep what the exception tells the client beyond the page: Allow (405), Retry-After, …
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def database_unavailable(error):
        app.logger.exception("Database unavailable on %s %s", request.method, request.path)
        _rollback()
        response = make_response(render_error(503))
        response.headers["Retry-After"] = "60"
        return response

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        _rollback()
        return render_error(InternalServerError.code)
