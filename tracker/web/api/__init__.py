"""The JSON API under /api/v1: public reads, staff writes with personal API tokens."""

from tracker.web.api import answers, evidence  # noqa: F401  (register the routes)
from tracker.web.api.views import bp, init_app

__all__ = ["bp", "init_app"]
