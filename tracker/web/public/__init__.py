"""Public pages: progress of all demands, one demand, bodies, events, health."""

from tracker.web.public.views import bp

__all__ = ["bp"]
