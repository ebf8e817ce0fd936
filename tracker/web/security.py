"""Security headers on every response."""

from flask import Flask

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def headers_for(app: Flask) -> dict[str, str]:
    """Return the security headers every response of ``app`` carries (the page cache's too)."""
    if app.config["SESSION_COOKIE_SECURE"]:
        return HEADERS | {"Strict-Transport-Security": "max-age=31536000"}
    return HEADERS


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""
    wanted = headers_for(app)

    @app.after_request
    def set_headers(response):
        for name, value in wanted.items():
            response.headers.setdefault(name, value)
        return response
