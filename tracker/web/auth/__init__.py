"""Staff login and logout."""

from tracker.web.auth.views import bp

__all__ = ["bp"]
