"""Statistics and printable progress reports: public pages, staff also see internal demands."""

from tracker.web.reports.views import bp

__all__ = ["bp"]
