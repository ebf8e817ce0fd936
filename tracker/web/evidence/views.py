"""Public evidence for the Fachtag's own demands: consultations and dialogue with the bodies.

Both pages have their CSV and Atom feed; the demands about early involvement and about dialogue
culture link here (by their key in the data set).
"""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.domain import labels
from tracker.domain.models import Body, Demand, utcnow
from tracker.domain.workdays import today
from tracker.extensions import db
from tracker.inputs import int_arg
from tracker.services import consultations as consultation_service
from tracker.services import meetings as meeting_service
from tracker.services import queries
from tracker.services.csv_export import safe_cell
from tracker.services.links import external_url

bp = Blueprint("evidence", __name__)

# demand key (tracker/data/*.toml) -> the evidence page for it
EVIDENCE_LINKS = {
    "fruehzeitige-einbeziehung": (
        "evidence.consultations",
        _l("Belege: Beteiligungsverfahren und ihre Fristen"),
    ),
    "dialogkultur": ("evidence.dialogue", _l("Belege: Gespräche mit den Stellen (Dialogregister)")),
}


def evidence_link(demand: Demand) -> tuple[str, str] | None:
    """Return (url, label) of the evidence page for ``demand``, if it has one."""
    found = EVIDENCE_LINKS.get(demand.key or "")
    return (url_for(found[0]), str(found[1])) if found else None


@bp.record_once
def _register_globals(state):
    """Offer the evidence helpers to every template, also inside imported macros."""
    state.app.jinja_env.globals.update(
        {
            "evidence_link": evidence_link,
            "period_class": consultation_service.period_class,
            "consultation_figures_of": consultation_service.body_figures,
            "consultation_figures_all": consultation_service.figures_by_body,
            "dialogue_standing_of": meeting_service.standing_of,
            "dialogue_standings": meeting_service.standings,
            "evidence_since": meeting_service.evidence_since,
            "consultations_concerning": consultation_service.concerning,
            "period_workdays": consultation_service.period_workdays,
        }
    )


def _filters() -> tuple[Body | None, int | None]:
    """Read the body and year filters; a value that names no body or year is a 400 saying so
    (as on the overview), not a page that silently shows everything."""
    slug = request.args.get("stelle", "")
    body = db.session.scalar(sa.select(Body).where(Body.slug == slug)) if slug else None
    if slug and body is None:
        raise queries.unknown_filter("stelle", slug)
    return body, int_arg(request.args, "jahr", None, minimum=1990, maximum=2100)


def _bodies() -> list[Body]:
    return db.session.scalars(sa.select(Body).order_by(Body.name)).all()


def _csv(rows, name: str) -> Response:
    """Answer ``rows`` as CSV for Excel in Germany (UTF-8 with BOM, ``;``), formulas defused."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    response = Response(
        ("\ufeff" + out.getvalue()).encode(), content_type="text/csv; charset=utf-8"
    )
    filename = f"{name}-{today().isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _atom(title: str, feed_id: str, self_url: str, page_url: str, entries) -> Response:
    """Render ``entries`` — (id, title, updated, url, text) — as an Atom feed."""
    from feedgen.feed import FeedGenerator

    from tracker.web.feeds.views import PUBLISHER, _tag, _xml

    fg = FeedGenerator()
    fg.id(_tag(feed_id))
    fg.title(_xml(title))
    fg.author({"name": PUBLISHER})
    fg.link(href=self_url, rel="self", type="application/atom+xml")
    fg.link(href=page_url, rel="alternate", type="text/html")
    fg.updated(max((e[2] for e in entries), default=utcnow()))
    for entry_id, entry_title, updated, url, text in entries:
        item = fg.add_entry(order="append")
        item.id(_tag(entry_id))
        item.title(_xml(entry_title))
        item.updated(updated)
        item.link(href=url, rel="alternate", type="text/html")
        item.content(_xml(text or entry_title), type="text")
    response = Response(
        fg.atom_str(pretty=True), content_type="application/atom+xml; charset=utf-8"
    )
    return response


# --------------------------------------------------------------------------- consultations


@bp.get("/beteiligungen")
def consultations():
    """List the consultations with filters by body and year, and the figures per body."""
    body, year = _filters()
    items = consultation_service.list_consultations(body, year)
    total, per_body = consultation_service.figures(items)
    return render_template(
        "evidence/consultations.html",
        items=items,
        total=total,
        per_body=per_body,
        bodies=_bodies(),
        years=consultation_service.years(),
        body=body,
        year=year,
        svc=consultation_service,
    )


def consultation_rows(items):
    """Yield the CSV rows (German header) of consultations."""
    svc = consultation_service
    yield [
        "id",
        "stelle",
        "art",
        "titel",
        "link",
        "beteiligt",
        "eingang",
        "frist",
        "arbeitstage",
        "einordnung",
        "erfahren_am",
        "quelle",
        "stellungnahme_am",
        "stellungnahme_link",
        "forderungen",
    ]
    with force_locale("de"):
        for c in items:
            days = svc.period_workdays(c)
            kind = svc.period_class(days)
            yield [
                c.id,
                c.body.name,
                labels.label(c.kind, "consultation_kind"),
                c.title,
                c.url,
                "ja" if c.consulted else "nein",
                c.received_on.isoformat() if c.received_on else "",
                c.deadline_on.isoformat() if c.deadline_on else "",
                "" if days is None else days,
                labels.label(kind, "period"),
                c.learned_on.isoformat() if c.learned_on else "",
                c.source,
                c.statement_on.isoformat() if c.statement_on else "",
                c.statement_url,
                ", ".join(str(d.id) for d in c.demands if queries.shown(d)),
            ]


@bp.get("/beteiligungen.csv")
def consultations_csv():
    """Download the (filtered) consultations as CSV."""
    body, year = _filters()
    items = consultation_service.list_consultations(body, year)
    return _csv(consultation_rows(items), "beteiligungen")


@bp.get("/beteiligungen/feed.atom")
def consultations_feed():
    """Serve the newest consultations as an Atom feed."""
    items = sorted(
        consultation_service.list_consultations(), key=lambda c: c.updated_at, reverse=True
    )[:50]
    page = external_url("evidence.consultations")
    entries = []
    for c in items:
        days = consultation_service.period_workdays(c)
        if c.consulted:
            text = _(
                "%(body)s: Frist %(num)d Arbeitstage (Eingang %(received)s, Frist %(deadline)s).",
                body=c.body.name,
                num=days or 0,
                received=c.received_on.isoformat(),
                deadline=c.deadline_on.isoformat(),
            )
        else:
            text = _("%(body)s: ohne Beteiligung der LIGA eingeführt.", body=c.body.name)
        entries.append(
            (f"beteiligung/{c.id}", c.title, c.updated_at, f"{page}#beteiligung-{c.id}", text)
        )
    return _atom(
        _("Beteiligungsverfahren"),
        "feed/beteiligungen",
        external_url("evidence.consultations_feed"),
        page,
        entries,
    )


# --------------------------------------------------------------------------- dialogue


@bp.get("/dialog")
def dialogue():
    """List the meetings with their next steps, and each body's dialogue standing."""
    body, year = _filters()
    standings = meeting_service.standings()  # every body, by name: also the filter's choices
    return render_template(
        "evidence/dialogue.html",
        items=meeting_service.list_meetings(body, year),
        standings=standings,
        bodies=[s.body for s in standings],
        years=meeting_service.years(),
        body=body,
        year=year,
        svc=meeting_service,
        today=today(),
    )


def meeting_rows(items):
    """Yield the CSV rows (German header) of meetings, one row per meeting."""
    yield [
        "id",
        "stelle",
        "datum",
        "form",
        "teilnehmende",
        "themen",
        "zusammenfassung",
        "naechste_schritte",
        "offene_schritte",
    ]
    with force_locale("de"):
        for m in items:
            steps = [
                f"{s.text} ({s.body.label if s.body else 'LIGA'}"
                f"{', bis ' + s.due_on.isoformat() if s.due_on else ''}"
                f"{', erledigt' if s.is_done else ''})"
                for s in m.next_steps
            ]
            yield [
                m.id,
                m.body.name,
                m.held_on.isoformat(),
                labels.label(m.format, "meeting_format"),
                m.participants,
                m.topics,
                m.summary,
                " | ".join(steps),
                sum(not s.is_done for s in m.next_steps),
            ]


@bp.get("/dialog.csv")
def dialogue_csv():
    """Download the (filtered) meetings as CSV."""
    body, year = _filters()
    return _csv(meeting_rows(meeting_service.list_meetings(body, year)), "dialog")


@bp.get("/dialog/feed.atom")
def dialogue_feed():
    """Serve the newest meetings as an Atom feed."""
    items = sorted(meeting_service.list_meetings(), key=lambda m: m.updated_at, reverse=True)[:50]
    page = external_url("evidence.dialogue")
    entries = [
        (
            f"gespraech/{m.id}",
            _("Gespräch mit %(body)s am %(date)s", body=m.body.label, date=m.held_on.isoformat()),
            m.updated_at,
            f"{page}#gespraech-{m.id}",
            m.summary,
        )
        for m in items
    ]
    return _atom(
        _("Gespräche mit den Stellen"),
        "feed/dialog",
        external_url("evidence.dialogue_feed"),
        page,
        entries,
    )
