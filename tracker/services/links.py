"""Absolute links for e-mails and feeds, built from TRACKER_BASE_URL (no request needed)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def external_url(endpoint: str, **values) -> str:
    """Return the absolute URL of ``endpoint`` under the configured base URL."""
    return external_urls()(endpoint, **values)


def external_urls():
    """Return a function like ``external_url`` that binds the URL map once, for many links."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path.rstrip("/") or "/", url_scheme=base.scheme or "https"
    )

    def build(endpoint: str, **values) -> str:
        return adapter.build(endpoint, values, force_external=True)

    return build
