"""Template filters and globals shared by all pages and e-mails."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from babel import dates as babel_dates
from flask import Flask, current_app, render_template, request, url_for
from flask_babel import format_date, get_locale, get_timezone, get_translations
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape

from tracker.domain import labels, workflow
from tracker.domain.workdays import today
from tracker.inputs import CONTROL
from tracker.services.changes import describe
from tracker.services.links import external_url
from tracker.services.progress import progress
from tracker.services.rechecks import due_date as recheck_due
from tracker.services.repeats import demanded_since
from tracker.web.diagram import svg as workflow_svg


def init_app(app: Flask) -> None:
    """Register filters and globals."""
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.finalize = _without_control_characters
    filters = {
        "state_label": workflow.state_label,
        # a page repeats few dates (targets, days of events) many times: each formatted once
        "date": date,
        "datetime": date_time,
        "label": labels.label,
        "role_label": labels.role_label,
        "outcome_label": lambda o: labels.text(workflow.OUTCOME_LABELS.get(o, o or "")),
        "classification_label": labels.classification_label,
        "recheck_label": labels.recheck_label,
    }
    for name, func in filters.items():
        app.jinja_env.filters[name] = in_the_readers_language(func)
    # flask_babel's gettext and ngettext for templates, each message translated once per request
    app.jinja_env.install_gettext_callables(
        gettext=labels.gettext_once,
        ngettext=labels.ngettext_once,
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),  # as flask_babel's
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["shorten"] = labels.shorten
    app.jinja_env.filters["iso"] = machine_time
    app.jinja_env.filters["isodate"] = lambda s: dt.date.fromisoformat(s) if s else None
    app.jinja_env.globals.update(
        workflow=workflow,
        progress=progress,
        timeline_details=describe,
        timeline_label=in_the_readers_language(labels.timeline_label),
        workflow_svg=workflow_svg,
        diagram=diagram,
        site_header=site_header,
        current_locale=lambda: str(get_locale()),
        url_with=url_with,
        demanded_since=demanded_since,
        external_url=external_url,
        recheck_due=recheck_due,
        today=today,
        state_badge_html=state_badge,
        standing_html=standing,
        demand_items=demand_items,
        staff_rows=staff_rows,
        bodies_line_html=bodies_line,
        event_items=event_items,
        body_rows=body_rows,
    )


def diagram(current: str | None) -> Markup:
    """Return the workflow figure (templates/_diagram.html) with ``current`` marked.

    It was a sixth of a demand page's cold cost.
    """
    return rendered_once("_diagram.html", (current,), current=current)


def site_header() -> Markup:
    """Return the skip link and the site's header (templates/_site_header.html).

    Its links and which of them is the current page depend only on the endpoint and whether
    someone is logged in: fourteen ``url_for`` and a dozen messages a page, rendered once.
    """
    authenticated = current_user.is_authenticated
    return rendered_once("_site_header.html", (request.endpoint, authenticated))


def rendered_once(template: str, key: tuple, **context) -> Markup:
    """Return ``template`` rendered with ``context``, once per process for each ``key``.

    For fragments that depend on nothing but ``key``, the language and where the app is
    mounted. A few endpoints, states and languages make a few hundred variants at most; the
    memo starts over past that.
    """
    rendered = current_app.extensions.setdefault("tracker.rendered_once", {})
    memo_key = (template, str(get_locale()), request.script_root, *key)
    if memo_key not in rendered:
        if len(rendered) >= 1024:
            rendered.clear()
        rendered[memo_key] = Markup(render_template(template, **context))
    return rendered[memo_key]


def machine_time(value: dt.date | dt.datetime | None) -> str:
    """Format a date, or a time in UTC to the second, for HTML's ``<time datetime>``.

    ``isoformat()`` gives six fractional digits, which HTML does not allow (at most three).
    """
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if value.tzinfo else "")
    return value.isoformat()


def in_the_readers_language(func):
    """Make a filter that depends on the locale run at render time.

    Jinja computes a filter of a constant (``'addressed'|state_label``) once, when it compiles
    the template, in whatever language that request had; a filter that takes the context is
    never folded, so it follows each reader's language.
    """

    @pass_context
    def filter_(_context, *args, **kwargs):
        return func(*args, **kwargs)

    return filter_


def _without_control_characters(value):
    """Print text without control characters: rows stored before they were refused have them."""
    if isinstance(value, str) and CONTROL.search(value):
        cleaned = CONTROL.sub("", value)  # newlines and tabs stay; a CR is harmless in output
        return Markup(cleaned) if isinstance(value, Markup) else cleaned
    return value


def url_with(**changes) -> str:
    """Return the current URL with some query arguments changed (None removes one).

    The overview links each demand's topics so: the same few URLs, each built once a request
    (kept in the request's WSGI environ, which lives exactly as long as the request).
    """
    memo = request.environ.setdefault("tracker.url_with", {})
    key = tuple(changes.items())  # in the order given: new arguments are added in it
    if key not in memo:
        memo[key] = _url_with(changes)
    return memo[key]


def _url_with(changes: dict) -> str:
    args = request.args.to_dict()
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(request.endpoint, **(request.view_args or {}), **args)


# The state badge and the standing line of a demand: lists show them on every row, and a Jinja
# macro costs far more per call than these few lines of Python. Each distinct one is written
# once per request and language (a list repeats few states, targets and waits).


def state_badge(state: str) -> Markup:
    """Return the badge of a state: ``<span class="badge badge--raised">erhoben</span>``."""
    return labels.once(
        ("badge", state),
        lambda: Markup('<span class="badge badge--{}">{}</span>').format(
            state, workflow.state_label(state)
        ),
    )


def standing(demand, p=None) -> Markup:
    """Return how long ``demand`` has waited and until when (or its outcome), as a ``<span>``."""
    p = p or progress(demand)
    if p.target:
        return labels.once(("standing", p.target, p.waited, p.overdue_by), lambda: _standing(p))
    if demand.outcome:
        return labels.once(
            ("outcome", demand.outcome),
            lambda: Markup('<span class="standing">{}</span>').format(
                labels.gettext_once("Ergebnis: %(outcome)s")
                % {
                    "outcome": labels.text(
                        workflow.OUTCOME_LABELS.get(demand.outcome, demand.outcome)
                    )
                }
            ),
        )
    return Markup("")


def _standing(p) -> Markup:
    waited = labels.ngettext_once(
        "seit %(num)d Arbeitstag", "seit %(num)d Arbeitstagen", p.waited
    ) % {"num": p.waited}
    if p.overdue:
        late = labels.ngettext_once(
            "%(num)d Arbeitstag überfällig", "%(num)d Arbeitstage überfällig", p.overdue_by
        ) % {"num": p.overdue_by}
        return Markup(
            f'<span class="standing standing--overdue">{escape(waited)} · '
            f"<strong>{escape(late)}</strong></span>"
        )
    target = labels.gettext_once("Ziel: %(date)s") % {"date": date(p.target)}
    # f-strings with escape(): Markup.format goes through string.Formatter, a tenth of a row
    return Markup(f'<span class="standing">{escape(waited)} · {escape(target)}</span>')


def demand_items(demands) -> Markup:
    """Return the overview's rows, ``<li class="demand-item">`` for each of ``demands``.

    After a write the fifty rows were most of the overview's cost: a Jinja loop with three
    macros per row costs several times these lines, which write the same markup.
    """
    url = escape(url_for("public.demand", demand_id=0)[:-1])  # /forderungen/: once, not per row
    responsible = labels.gettext_once("Zuständig:")
    topics_label = labels.gettext_once("Themen:")
    rows = []
    for d in demands:
        row = [
            f'<li class="demand-item"><h3 class="demand-item__title"><a href="{url}{d.id}">'
            f"{_text(d.title)}</a></h3>"
            f'<p class="demand-item__meta">{state_badge(d.state)} {standing(d)}</p>'
        ]
        if d.assignments:
            row.append(
                f'<p class="demand-item__bodies"><span class="muted">{responsible}</span> '
                f"{bodies_line(d)}</p>"
            )
        if d.topics:
            tags = "".join(
                f'<a class="tag" href="{escape(url_with(topic=t.slug, page=None))}">'
                f"{_text(t.name)}</a>"
                for t in d.topics
            )
            row.append(
                f'<p class="tags"><span class="visually-hidden">{topics_label}</span>{tags}</p>'
            )
        row.append("</li>\n")
        rows.append("".join(row))
    return Markup("".join(rows))


def staff_rows(demands) -> Markup:
    """Return the staff list's rows, a ``<tr>`` for each of ``demands`` (internal ones marked),
    written in Python as ``demand_items`` writes the overview's."""
    url = escape(url_for("staff.demand", demand_id=0)[:-1])  # /verwaltung/forderungen/
    internal = escape(labels.gettext_once("intern"))
    nobody = escape(labels.gettext_once("– noch keine –"))
    rows = []
    for d in demands:
        p = progress(d)
        overdue = ' class="row--overdue"' if p.overdue else ""
        badge = "" if d.is_public else f' <span class="badge badge--internal">{internal}</span>'
        rows.append(
            f"<tr{overdue}>"
            f'<td><span class="muted">#{d.id}</span> <a href="{url}{d.id}">{_text(d.title)}</a>'
            f"{badge}</td><td>{state_badge(d.state)}<br>{standing(d, p)}</td>"
            f"<td>{bodies_line(d) or nobody}</td></tr>\n"
        )
    return Markup("".join(rows))


def event_items(items, with_standing: bool = True) -> Markup:
    """Return an event page's list items, ``<li>`` for each ``(row, progress)`` of ``items``: the
    demand linked, its state and (``with_standing``) its standing, as ``demand_items`` writes
    the overview's (an event lists up to a thousand)."""
    url = escape(url_for("public.demand", demand_id=0)[:-1])
    return Markup(
        "".join(
            f'<li><a href="{url}{d.id}">{_text(d.title)}</a> {state_badge(d.state)}'
            f"{f' {standing(d, p)}' if with_standing else ''}</li>"
            for d, p in items
        )
    )


def body_rows(items) -> Markup:
    """Return a body page's table rows, ``<tr>`` for each ``(row, progress)`` of ``items``: the
    demand linked (internal ones marked), the body's role, the standing and when the body
    last confirmed it (rows of ``queries.body_page_rows``)."""
    url = escape(url_for("public.demand", demand_id=0)[:-1])
    internal = (
        f' <span class="badge badge--internal">{escape(labels.gettext_once("intern"))}</span>'
    )
    confirmed = labels.gettext_once("zuletzt bestätigt: %(date)s")
    overdue = ' class="row--overdue"'
    rows = []
    for d, p in items:
        when = ""
        if d.confirmed_at:
            said = escape(confirmed % {"date": date(d.confirmed_at)})
            when = f'<br><span class="muted">{said}</span>'
        rows.append(
            f"<tr{overdue if p.overdue else ''}>"
            f'<td><a href="{url}{d.id}">{_text(d.title)}</a>{"" if d.is_public else internal}</td>'
            f"<td>{escape(labels.role_label(d.role))}</td><td>{standing(d, p)}{when}</td></tr>\n"
        )
    return Markup("".join(rows))


def date(value) -> str:
    """Format a date (or a time's date, in the reader's time zone) as flask_babel's
    ``format_date(value, "medium")``: a date once per process and language (the consultations
    page shows a hundred and eighty), a time's once per request."""
    if not value:
        return ""
    if type(value) is dt.date:
        return _medium_date(value, get_locale())
    return labels.once(("date", value), lambda: format_date(value, "medium"))


@lru_cache(maxsize=8192)
def _medium_date(value: dt.date, locale) -> str:
    return babel_dates.format_date(value, "medium", locale=locale)


def date_time(value: dt.datetime | None) -> str:
    """Write a time as flask_babel's ``format_date(value, "medium")``, ``format_time(value,
    "short")`` do, in the reader's language and time zone: each once per process (every
    timeline entry on a page shows one; babel took a tenth of a demand page)."""
    if not value:
        return ""
    return _medium_date_time(value, get_locale(), get_timezone())


@lru_cache(maxsize=8192)
def _medium_date_time(value: dt.datetime, locale, zone) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # stored in UTC
    day = babel_dates.format_date(zone.normalize(aware.astimezone(zone)), "medium", locale=locale)
    return f"{day}, {babel_dates.format_time(aware, 'short', tzinfo=zone, locale=locale)}"


def bodies_line(demand) -> Markup:
    """Return the bodies responsible for ``demand``, each lead one marked:
    „MI (federführend), MS“ (lists, the staff list and the report show this line)."""
    lead = escape(labels.role_label("lead"))
    return Markup(
        ", ".join(
            f"{_text(a.body.label)} ({lead})" if a.role == "lead" else _text(a.body.label)
            for a in demand.assignments
        )
    )


def _text(value) -> Markup:
    """Escape ``value`` as a template's ``{{ value }}`` does (control characters removed)."""
    return escape(_without_control_characters(value))
