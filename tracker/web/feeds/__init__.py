"""Open data for everyone: Atom feeds of public changes, target dates as iCal, the list as CSV."""

from tracker.web.feeds.views import bp

__all__ = ["bp"]
