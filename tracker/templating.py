"""Template filters and globals shared by all pages and e-mails."""

from __future__ import annotations

import datetime as dt

from flask import Flask, request, url_for
from flask_babel import format_date, format_time, get_locale

from . import workflow
from .services.answers import classification_label
from .services.progress import progress
from .services.rechecks import due_date as recheck_due
from .services.rechecks import result_label
from .services.repeats import demanded_since
from .workdays import today


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["state_label"] = workflow.state_label
    app.jinja_env.filters["date"] = lambda d: format_date(d, "medium") if d else ""
    app.jinja_env.filters["datetime"] = lambda d: (
        f"{format_date(d, 'medium')}, {format_time(d, 'short')}" if d else ""
    )
    app.jinja_env.filters["outcome_label"] = lambda o: str(workflow.OUTCOME_LABELS.get(o, o or ""))
    app.jinja_env.filters["isodate"] = lambda s: dt.date.fromisoformat(s) if s else None
    app.jinja_env.filters["classification_label"] = classification_label
    app.jinja_env.filters["recheck_label"] = result_label
    app.jinja_env.globals.update(
        workflow=workflow,
        progress=progress,
        current_locale=lambda: str(get_locale()),
        url_with=url_with,
        demanded_since=demanded_since,
        recheck_due=recheck_due,
        today=today,
    )


def url_with(**changes) -> str:
    """Return the current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)
