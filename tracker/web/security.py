"""Security headers on every response."""

from flask import Flask, request

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


PERSONAL_BLUEPRINTS = frozenset({"staff", "auth", "answer"})  # a token, a login, a body's link


def init_app(app: Flask) -> None:
    """Add the security headers to every response; keep personal answers out of every cache."""
    wanted = headers_for(app)
    cookies = (
        app.config["SESSION_COOKIE_NAME"],
        app.config.get("REMEMBER_COOKIE_NAME", "remember_token"),
    )

    @app.after_request
    def set_headers(response):
        for name, value in wanted.items():
            response.headers.setdefault(name, value)
        personal = (
            request.blueprint in PERSONAL_BLUEPRINTS
            or "Authorization" in request.headers
            or any(name in request.cookies for name in cookies if name)
        )
        if personal and "Cache-Control" not in response.headers:
            # staff pages, a new API token shown once, a body's answer page: no browser history
            # or proxy keeps them (public pages say how to cache them: tracker/web/page_cache.py)
            response.headers["Cache-Control"] = "private, no-store"
        return response
