"""Open data for everyone: Atom feeds of public changes, target dates as iCal, the list as CSV."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request
from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager, selectinload

from tracker import inputs
from tracker.domain import labels, workflow
from tracker.domain.models import Assignment, Body, Demand, TimelineEntry, utcnow
from tracker.domain.workdays import today
from tracker.extensions import db
from tracker.services import csv_export, queries
from tracker.services.links import external_url, external_urls
from tracker.services.progress import progress_of
from tracker.web.redirects import body_or_404

bp = Blueprint("feeds", __name__)

FEED_LIMIT = 50
ATOM = "application/atom+xml; charset=utf-8"
PUBLISHER = "LIGA der freien Wohlfahrtspflege Sachsen-Anhalt"
CSV_PAGE = 500
# Characters XML 1.0 forbids, besides the control characters (see tracker.inputs).
NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """Drop control characters and the characters an XML document cannot hold."""
    return NOT_XML.sub("", inputs.clean_text(text))


def _host() -> str:
    return urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"


def _tag(path: str) -> str:
    """Return a permanent id (RFC 4151 tag URI) for a feed or an entry."""
    return f"tag:{_host()},2025:forderungstracker/{path}"


def _public_entries(*where) -> list[TimelineEntry]:
    """Return the newest public timeline entries of public demands."""
    stmt = (
        sa.select(TimelineEntry)
        .join(TimelineEntry.demand)
        .where(*queries.visible(TimelineEntry, Demand), *where)
        .options(contains_eager(TimelineEntry.demand), selectinload(TimelineEntry.body))
        .order_by(TimelineEntry.created_at.desc(), TimelineEntry.id.desc())
        .limit(FEED_LIMIT)
    )
    return db.session.scalars(stmt).all()


def _content(entry: TimelineEntry, body_names: dict[str, str]) -> str:
    """Return the entry's text with the details the timeline shows."""
    data = entry.data or {}
    lines = []
    if entry.kind == "created":
        lines.append(entry.demand.text)
    elif entry.kind == "transition":
        if data.get("outcome"):
            lines.append(
                _("Ergebnis:")
                + " "
                + str(workflow.OUTCOME_LABELS.get(data["outcome"], data["outcome"]))
            )
        if data.get("participants"):
            lines.append(_("Beteiligt an der Evaluation:") + " " + data["participants"])
    elif entry.kind == "assigned":
        after = data.get("after") or {}
        lines.append(
            ", ".join(
                f"{body_names.get(slug, slug)} ({labels.role_label(role)})"
                for slug, role in after.items()
            )
            or _("keine Stelle")
        )
    elif entry.kind == "statement":
        if data.get("file_reference"):
            lines.append(_("Aktenzeichen:") + " " + data["file_reference"])
        if data.get("committed_until"):
            committed = dt.date.fromisoformat(data["committed_until"])
            lines.append(_("Antwort zugesagt bis:") + " " + format_date(committed, "medium"))
    if entry.text:
        lines.append(entry.text)
    return "\n\n".join(lines) or _entry_title(entry)


def _entry_title(entry: TimelineEntry) -> str:
    return f"{labels.timeline_label(entry)} – {entry.demand.title}"


def _author(entry: TimelineEntry) -> str:
    if entry.kind in ("statement", "confirmation") and entry.body:
        return entry.body.name
    return entry.author_name or PUBLISHER


def _entry_times(entries) -> list[dt.datetime]:
    """Return a distinct time (to the second) for each entry, newest first, tie-broken by id.

    Entries made together (the Fachtag's demands, an import) share one time; feed readers that
    sort or deduplicate by ``updated`` would shuffle or drop them. The newest keeps its time, each
    older one that would not be earlier is moved one second before the one above it, so the
    times only depend on the entries above and stay the same when older ones leave the feed.
    """
    times: list[dt.datetime] = []
    for entry in entries:  # newest first: (created_at, id) descending
        at = entry.created_at.astimezone(dt.UTC).replace(microsecond=0)
        if times and at >= times[-1]:
            at = times[-1] - dt.timedelta(seconds=1)
        times.append(at)
    return times


def _atom(title: str, feed_id: str, self_url: str, page_url: str, entries) -> Response:
    """Render ``entries`` (newest first) as an Atom 1.0 feed."""
    from feedgen.feed import FeedGenerator  # lxml and friends: imported when a feed is asked for

    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(_xml(title))
    fg.subtitle(_("Neue Einträge in der Chronik der öffentlichen Forderungen der LIGA"))
    fg.author({"name": PUBLISHER})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=page_url, rel="alternate", type="text/html")
    fg.language(str(get_locale() or "de"))
    fg.generator("Forderungstracker")
    times = _entry_times(entries)
    fg.updated(times[0] if entries else utcnow().replace(microsecond=0))
    slugs = {s for e in entries if e.kind == "assigned" for s in (e.data or {}).get("after", {})}
    body_names = (
        dict(db.session.execute(sa.select(Body.slug, Body.name).where(Body.slug.in_(slugs))).all())
        if slugs
        else {}
    )
    entry_tag = _tag("eintrag/")
    demand_url = external_urls()("public.demand", demand_id=0)[:-1]  # …/forderungen/: once
    for entry, at in zip(entries, times, strict=True):
        item = fg.add_entry(order="append")
        item.id(f"{entry_tag}{entry.id}")
        item.title(_xml(_entry_title(entry)))
        item.updated(at)
        item.published(at)
        item.link(href=f"{demand_url}{entry.demand_id}", rel="alternate", type="text/html")
        item.author({"name": _xml(_author(entry))})
        item.content(_xml(_content(entry, body_names)), type="text")
    response = Response(fg.atom_str(pretty=True), content_type=ATOM)
    return response


@bp.get("/feed.atom")
def all_changes():
    """Serve the public changes of all public demands as an Atom feed."""
    return _atom(
        _("Forderungstracker der LIGA Sachsen-Anhalt: Änderungen"),
        _tag("feed"),
        external_url("feeds.all_changes"),
        external_url("public.index"),
        _public_entries(),
    )


@bp.get("/stellen/<slug>/feed.atom")
def body_changes(slug: str):
    """Serve the public changes of the demands a body is responsible for."""
    body = body_or_404(slug)
    return _atom(
        _("Änderungen: Forderungen an %(body)s", body=body.name),
        _tag(f"feed/stellen/{body.slug}"),
        external_url("feeds.body_changes", slug=body.slug),
        external_url("public.body", slug=body.slug),
        _public_entries(Demand.assignments.any(Assignment.body_id == body.id)),
    )


@bp.get("/forderungen/<int:demand_id>/feed.atom")
def demand_changes(demand_id: int):
    """Serve the public changes of one public demand."""
    demand = db.session.get(Demand, demand_id)
    if demand is None or not queries.shown(demand):
        abort(404)
    return _atom(
        _("Änderungen: %(title)s", title=demand.title),
        _tag(f"feed/forderungen/{demand.id}"),
        external_url("feeds.demand_changes", demand_id=demand.id),
        external_url("public.demand", demand_id=demand.id),
        _public_entries(TimelineEntry.demand_id == demand.id),
    )


# The serialised VTIMEZONE of a zone for the years around a given one: built by icalendar once.
_TIMEZONES: dict[tuple[str, int], bytes] = {}


def _ical_text(text: str) -> str:
    """Escape a TEXT value as RFC 5545 (3.3.11) wants, as icalendar does."""
    return (
        text.replace(r"\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def _ical_line(line: str) -> bytes:
    """Return a content line folded to lines of fewer than 75 octets, ending in CRLF.

    A fold never splits a UTF-8 sequence, nor a backslash from the character it escapes.
    """
    data = line.encode()
    if len(data) < 75:
        return data + b"\r\n"
    parts, start, size = [], 0, len(data)
    while size - start >= 75:
        cut = start + 74
        while data[cut] & 0xC0 == 0x80:  # inside a UTF-8 sequence: fold before it
            cut -= 1
        if cut - start > 1 and data[cut - 1] in b"\\^":
            cut -= 1
        parts.append(data[start:cut])
        start = cut
    parts.append(data[start:])
    return b"\r\n ".join(parts) + b"\r\n"


def _ical_timezone(tzid: str, year: int) -> bytes:
    """Return the VTIMEZONE of ``tzid`` from the year before ``year`` to three years after."""
    key = (tzid, year)
    if key not in _TIMEZONES:
        import icalendar

        zone = icalendar.Timezone.from_tzid(
            tzid, first_date=dt.date(year - 1, 1, 1), last_date=dt.date(year + 3, 1, 1)
        )
        _TIMEZONES[key] = zone.to_ical()
    return _TIMEZONES[key]


def _ical_utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@bp.get("/stellen/<slug>/termine.ics")
def body_calendar(slug: str):
    """Serve the target dates of a body's open public demands as all-day iCal events.

    The calendar's header and time zone come from icalendar (the zone built once); the events,
    many and all alike, are written here: the same lines icalendar writes, at a fraction of the
    cost.
    """
    body = body_or_404(slug)
    import icalendar  # imported when a calendar is asked for: it costs 50 ms of every start

    cal = icalendar.Calendar()
    cal.add("prodid", "-//LIGA Sachsen-Anhalt//Forderungstracker//DE")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", _("Zieltermine: %(body)s", body=body.label))
    end = b"END:VCALENDAR\r\n"
    head = cal.to_ical().removesuffix(end)  # the events and the zone go before the end
    # RFC 5545 wants at least one component: the calendar's time zone keeps a body without open
    # demands a valid (empty) calendar rather than a broken one.
    out = [head, _ical_timezone(current_app.config["TIMEZONE"], today().year)]
    made_at = _ical_utc(utcnow())  # DTSTAMP: when this calendar was made
    host = _host()
    # The messages translated once, their fields filled in for each event.
    state_since = _("Zustand „%(state)s“ seit %(since)s.")
    role_of = _("Rolle von %(body)s: %(role)s")
    promised = _("Antwort zugesagt bis %(date)s.")
    overdue = _("Überfällig seit %(num)d Arbeitstagen.")
    target_of = _("Zieltermin: %(title)s")
    medium_dates: dict[dt.date, str] = {}
    default_dates: dict[dt.date, str] = {}
    url_of = external_urls()
    line = _ical_line
    for demand in queries.body_page_rows(body):  # rows: its role, its and the leads' dates
        if demand.state not in workflow.OPEN_STATES:
            continue
        committed = demand.committed_until or demand.lead_committed_until
        p = progress_of(demand.state, demand.state_changed_at, committed_until=committed)
        if p.target is None:
            continue
        url = url_of("public.demand", demand_id=demand.id)
        if p.since not in medium_dates:
            medium_dates[p.since] = format_date(p.since, "medium")
        description = [
            state_since
            % {"state": workflow.state_label(demand.state), "since": medium_dates[p.since]},
            role_of % {"body": body.label, "role": labels.role_label(demand.role)},
        ]
        if committed:
            if p.target not in default_dates:
                default_dates[p.target] = format_date(p.target)
            description.append(promised % {"date": default_dates[p.target]})
        if p.overdue:
            description.append(overdue % {"num": p.overdue_by})
        description.append(url)
        # In icalendar's order: its canonical properties first, then the others by name.
        out += [
            b"BEGIN:VEVENT\r\n",
            line("SUMMARY:" + _ical_text(target_of % {"title": demand.title})),
            b"DTSTART;VALUE=DATE:%b\r\n" % p.target.strftime("%Y%m%d").encode(),
            b"DTEND;VALUE=DATE:%b\r\n"
            % (p.target + dt.timedelta(days=1)).strftime("%Y%m%d").encode(),
            line("DTSTAMP:" + made_at),
            line(f"UID:forderung-{demand.id}@{_ical_text(host)}"),
            line("DESCRIPTION:" + _ical_text("\n".join(description))),
            line("LAST-MODIFIED:" + _ical_utc(demand.updated_at)),
            b"TRANSP:TRANSPARENT\r\n",
            line("URL:" + url),
            b"END:VEVENT\r\n",
        ]
    out.append(end)
    response = Response(b"".join(out), content_type="text/calendar; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="termine-{body.slug}.ics"'
    return response


def _all_matching(f: queries.DemandFilter):
    """Yield every public demand matching ``f``, a page of rows at a time."""
    first = queries.list_demands(f, page=1, per_page=CSV_PAGE)
    yield from first.items
    for page in range(2, first.pages + 1):
        yield from queries.list_demands(f, page=page, per_page=CSV_PAGE, total=first.total).items


@bp.get("/forderungen.csv")
def demands_csv():
    """Download the (filtered) public demands as a CSV file for spreadsheets."""
    f = queries.DemandFilter.from_args(request.args)
    data = csv_export.demands_csv(_all_matching(f))
    filename = f"forderungen-{today().isoformat()}.csv"
    response = Response(data, content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
