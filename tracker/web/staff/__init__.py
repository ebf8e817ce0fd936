"""Staff pages under /verwaltung: demands, bodies, users. Login required for all of them."""

from tracker.web.staff import answers, api_tokens, evidence, imports, reminders, views  # noqa: F401  (register the routes)
from tracker.web.staff.blueprint import bp

__all__ = ["bp"]
