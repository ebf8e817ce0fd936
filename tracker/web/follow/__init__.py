"""Following a demand by e-mail: subscribe, confirm (double opt-in), end with one click."""

from tracker.web.follow.views import bp

__all__ = ["bp"]
