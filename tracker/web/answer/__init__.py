"""A body's answer page, reached by the signed link in its reminder (no account)."""

from tracker.web.answer.views import bp

__all__ = ["bp"]
