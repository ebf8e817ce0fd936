"""Statistics and printable progress reports: public pages, staff also see internal demands."""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import format_date, format_decimal, format_percent
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.security import safe_join

from tracker.domain import workflow
from tracker.domain.models import Event
from tracker.domain.workdays import today
from tracker.extensions import db, limiter
from tracker.services import event_report
from tracker.services import statistics as stats
from tracker.services.links import external_url

bp = Blueprint("reports", __name__)


@bp.app_template_filter("stat_number")
def stat_number(value: float | None) -> str:
    """Format a median for reading: at most one decimal, in the user's locale."""
    return "–" if value is None else format_decimal(value, format="#,##0.#")


@bp.app_template_filter("stat_percent")
def stat_percent(value: float | None) -> str:
    """Format a share as a whole percentage in the user's locale."""
    return "–" if value is None else format_percent(value)


@bp.app_template_filter("stat_month")
def stat_month(value: dt.date, short: bool = False) -> str:
    """Format the month of ``value``: 'Juni 2025', or 'Jun. 25' when ``short``."""
    return format_date(value, "LLL yy" if short else "LLLL yyyy")


@bp.get("/statistik")
def statistics():
    """Show the figures of all public demands, per body, and demands by state over time."""
    return render_template("reports/statistics.html", stats=stats.statistics())


def _include_internal() -> bool:
    """Staff see internal demands and entries unless they ask for the public version."""
    return current_user.is_authenticated and request.args.get("fassung") != "oeffentlich"


def _render_report(slug: str, for_pdf: bool = False) -> str:
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug)) or abort(404)
    include_internal = _include_internal()
    items = event_report.event_report(event, include_internal=include_internal)
    counts = {s.name: 0 for s in workflow.STATES}
    for item in items:
        counts[item.demand.state] += 1
    return render_template(
        "reports/report.html",
        event=event,
        items=items,
        counts=counts,
        as_of=today(),
        include_internal=include_internal,
        for_pdf=for_pdf,
        pdf_available=pdf_available(),
    )


@bp.get("/berichte/<slug>")
def report(slug: str):
    """Show a printable progress report on the demands of an event."""
    return _render_report(slug)


@bp.get("/berichte/<slug>.pdf")
@limiter.limit(lambda: current_app.config["PDF_RATE_LIMIT"])  # renders only: hits come first
def report_pdf(slug: str):
    """Render the progress report of an event as PDF (needs WeasyPrint and Pango)."""
    if not pdf_available():
        abort(404)
    html = _render_report(slug, for_pdf=True)
    from weasyprint import HTML

    # WeasyPrint warns about every screen-only CSS rule it skips; only its errors matter here.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)

    # PDF/UA-1: a tagged PDF (structure tree for screen readers) with its title and language.
    # relative links resolve under TRACKER_BASE_URL, as the HTML report's absolute ones do
    base_url = external_url("public.index")
    pdf = HTML(string=html, base_url=base_url, url_fetcher=_static_fetcher()).write_pdf(
        stylesheets=[_pdf_stylesheet()], pdf_variant="pdf/ua-1"
    )
    name = f"bericht-{slug}-{today().isoformat()}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def _css_string(text: str) -> str:
    """Quote ``text`` as a CSS string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _pdf_stylesheet():
    """Return the PDF's page furniture: page numbers, and the page of each demand in the list."""
    from weasyprint import CSS

    # Placeholders that no translation contains; each becomes a CSS counter.
    label = _("Seite %(page)s von %(pages)s", page="\x00page\x00", pages="\x00pages\x00")
    content = _css_string(label)
    for name in ("page", "pages"):
        content = content.replace(f"\x00{name}\x00", f'" counter({name}) "')
    return CSS(
        string=f"""
        @page {{ @bottom-right {{ content: {content}; font-size: 9pt; }} }}
        .report__toc a::after {{
            content: " " leader(".") " " target-counter(attr(href), page);
        }}
        """
    )


@cache
def pdf_available() -> bool:
    """Tell whether WeasyPrint and the Pango libraries it loads are installed."""
    try:
        import weasyprint  # noqa: F401
    except (ImportError, OSError):  # OSError: the Pango system libraries are missing
        return False
    return True


def _static_fetcher():
    """Return a WeasyPrint URL fetcher that reads our static files and fetches nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    static_url = external_url("static", filename="")
    folder = current_app.static_folder

    class StaticOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if not url.startswith(static_url):
                raise ValueError(f"not fetched while rendering a PDF: {url}")
            path = safe_join(folder, url[len(static_url) :].split("?")[0])
            if path is None or not Path(path).is_file():
                raise ValueError(f"no such static file: {url}")
            mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, Path(path).read_bytes(), {"Content-Type": mimetype})

    return StaticOnly(allowed_protocols=())
