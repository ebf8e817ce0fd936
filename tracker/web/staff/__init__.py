"""Staff pages under /verwaltung: demands, bodies, users. Login required for all of them."""

from tracker.web.staff import (  # noqa: F401  (register the routes)
    answers,
    api_tokens,
    events,
    evidence,
    imports,
    reminders,
    views,
)
from tracker.web.staff.blueprint import bp

__all__ = ["bp"]
