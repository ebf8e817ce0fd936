"""Error pages in the user's language; JSON problem details under /api/."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: (_l("Ungültige Anfrage"), _l("Die Anfrage konnte nicht verarbeitet werden.")),
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
}


def render_error(code: int, message: str | None = None):
    """Render the error page (or problem JSON for the API) for ``code``."""
    title, default = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    if request.path.startswith("/api/"):
        body = {
            "type": f"https://forderungen.example.org/problems/{CODES.get(code, 'error')}",
            "title": str(title),
            "status": code,
            "detail": str(message or default),
            "code": CODES.get(code, "error"),
        }
        response = jsonify(body)
        response.status_code = code
        response.content_type = "application/problem+json"
        return response
    page = render_template("errors/error.html", code=code, title=title, message=message or default)
    return page, code


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _l(
                "Das Formular war abgelaufen oder unvollständig (Sicherheitstoken fehlt). "
                "Bitte die Seite neu laden und erneut senden."
            ),
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        message = getattr(error, "user_message", None)
        return render_error(error.code, message)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        return render_error(InternalServerError.code)
