"""Template filters and globals shared by all pages and e-mails."""

from __future__ import annotations

from flask import Flask, request, url_for
from flask_babel import format_date, format_time, get_locale
from markupsafe import Markup

from . import workflow
from .inputs import CONTROL
from .services.progress import progress


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.finalize = _without_control_characters
    app.jinja_env.filters["state_label"] = workflow.state_label
    app.jinja_env.filters["date"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["datetime"] = lambda d: (
        f"{format_date(d, 'medium')}, {format_time(d, 'short')}" if d else ""
    )
    app.jinja_env.filters["outcome_label"] = lambda o: str(workflow.OUTCOME_LABELS.get(o, o or ""))
    app.jinja_env.globals.update(
        workflow=workflow,
        progress=progress,
        current_locale=lambda: str(get_locale()),
        url_with=url_with,
    )


def _without_control_characters(value):
    """Print text without control characters: rows stored before they were refused have them."""
    if isinstance(value, str) and CONTROL.search(value):
        cleaned = CONTROL.sub("", value)  # newlines and tabs stay; a CR is harmless in output
        return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


def url_with(**changes) -> str:
    """Return the current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)
