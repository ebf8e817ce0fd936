"""Every page type and the HTML part of every e-mail pass the Nu HTML Checker (vnu.jar).

The checker runs on Java; ``.ci/run`` installs it (npm package ``vnu-jar``) outside the checkout.
Without Java or vnu.jar the test is skipped, except under CI, where a missing tool is a failure.
Set ``TRACKER_VNU_JAR`` to use another copy of vnu.jar.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, csrf_token, make_demand, make_user

from tracker.domain.models import Demand, Event, OutboxMessage, ReminderPause, Subscription, User
from tracker.services import (
    answer_links,
    answers,
    api_tokens,
    consultations,
    meetings,
    rechecks,
    reminders,
    repeats,
    subscriptions,
)
from tracker.services.demands import add_update, advance
from tracker.services.seed import seed
from tracker.services.statements import add_statement, confirm_in_progress
from tracker.web.errors import MESSAGES, render_error

DEFAULT_JAR = Path.home() / ".cache/forderungstracker/vnu/node_modules/vnu-jar/build/dist/vnu.jar"

# GET routes that answer something other than an HTML page (data, documents, static files).
NOT_HTML = {
    "static",
    "public.healthz",
    "reports.report_pdf",
    "feeds.all_changes",
    "feeds.body_changes",
    "feeds.demand_changes",
    "feeds.body_calendar",
    "feeds.demands_csv",
    "evidence.consultations_csv",
    "evidence.consultations_feed",
    "evidence.dialogue_csv",
    "evidence.dialogue_feed",
    "public.favicon",
    "public.workflow_mermaid",
    "follow.one_click",  # a GET only redirects to the confirm page
    "public.language",  # sets the cookie and redirects back
}


def _vnu() -> list[str] | None:
    """Return the command that starts the checker, or None when Java or vnu.jar is missing."""
    jar = Path(os.environ.get("TRACKER_VNU_JAR") or DEFAULT_JAR)
    java = shutil.which("java")
    if java is None or not jar.is_file():
        return None
    return [java, "-Xss4m", "-jar", str(jar)]


@pytest.fixture(scope="module")
def vnu():
    command = _vnu()
    if command is None:
        message = "Java or vnu.jar is missing (.ci/run installs both; or set TRACKER_VNU_JAR)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return command


def check_html(vnu: list[str], folder: Path) -> list[str]:
    """Run the checker once over every ``*.html`` in ``folder``; return its errors, readable."""
    files = sorted(str(p) for p in folder.glob("*.html"))
    result = subprocess.run(
        [*vnu, "--errors-only", "--format", "json", "--exit-zero-always", *files],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    messages = json.loads(result.stderr)["messages"]
    return [
        f"{Path(urlsplit(m.get('url', '')).path).name}:{m.get('lastLine')}: {m['message']}"
        f"\n    {m.get('extract', '').strip()}"
        for m in messages
        if m.get("type") in ("error", "non-document-error")
    ]


class _Forms(HTMLParser):
    """Collect a page's data-entry forms (``method=post novalidate``) with their hidden inputs."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if a.get("method") == "post" and "novalidate" in a:
                self._current = (a.get("action") or "", {})
                self.forms.append(self._current)
        elif tag == "input" and self._current and a.get("type") == "hidden" and a.get("name"):
            self._current[1][a["name"]] = a.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


@pytest.fixture
def app_config():
    return {"STAFF_EMAIL": "team@liga.example.org"}


@pytest.fixture
def world(app, db):
    """The Fachtag data with demands in every state, statements, updates, followers and mail.

    Also a classified statement with a committed date, a re-check, a repeated demand, a
    consultation, a measure without one and a meeting with next steps (all examples).
    """
    seed()
    admin = make_user(email="admin@example.org", role="admin", name="Ada Admin")
    make_user(email="gesperrt@example.org", name="Gesperrt", active=False)
    demands = db.session.scalars(sa.select(Demand).order_by(Demand.id)).all()
    first, second, third = demands[0], demands[1], demands[2]
    body = first.assignments[0].body
    advance(first, "address", admin, None, {"note": "Im Ausschuss aufgenommen."})
    on = dt.date.today()
    statement = add_statement(
        body,
        first.assignments[0],
        "Wir laden zum Gespräch ein.",
        author="Referat 42",
        file_reference="42-0815/2025",
        committed_until=on + dt.timedelta(days=30),
    )
    answers.classify(statement, "interim", admin)
    add_update(first, admin, "Erstes Gespräch am 5. November.", is_public=True)
    add_update(first, admin, "Vertraulich: Das Haus zögert.", is_public=False)
    advance(second, "address", admin, None, {})
    advance(
        second,
        "evaluate",
        admin,
        None,
        {"summary": "Die Karte erschwert Überweisungen.", "participants": "LIGA, MS"},
    )
    advance(second, "close", admin, None, {"outcome": "partly_implemented"})
    rechecks.record_recheck(second, admin, "partly", "Erst in einem Landkreis angekommen.")
    earlier_event = Event(slug="fachtag-2024", title="Fachtag 2024", date=dt.date(2024, 6, 12))
    db.session.add(earlier_event)
    db.session.flush()
    earlier = make_demand("Bezahlkarte früher", bodies=(body,), event_id=earlier_event.id)
    repeats.set_repeats(first, earlier, admin, None)
    confirm_in_progress(third.assignments[0].body, third.assignments[0])
    third.is_public = False
    db.session.add(
        ReminderPause(
            body=body,
            starts_on=dt.date(2030, 1, 1),
            ends_on=dt.date(2030, 1, 31),
            reason="Umzug",
        )
    )
    consultation, _ = consultations.save_consultation(
        None,
        demands=[first],
        body_id=body.id,
        kind="law",
        title="Beispiel: Entwurf eines Aufnahmegesetzes",
        url="https://landtag.example.org/drs/8-1234.pdf",
        consulted=True,
        received_on=on - dt.timedelta(days=30),
        deadline_on=on - dt.timedelta(days=14),
        statement_on=on - dt.timedelta(days=15),
        statement_text="Die LIGA nimmt Stellung.",
    )
    consultations.save_consultation(
        None,
        body_id=body.id,
        kind="measure",
        title="Beispiel: Erlass ohne Beteiligung",
        consulted=False,
        learned_on=on - dt.timedelta(days=7),
        source="Presse",
    )
    meeting, _ = meetings.save_meeting(
        None,
        body_id=body.id,
        held_on=on - dt.timedelta(days=10),
        format="video",
        participants="LIGA, Referat 42",
        topics="Bezahlkarte",
        summary="Beispiel: Austausch zur Bezahlkarte.",
        steps=[
            meetings.StepValues("Zahlen liefern", on + dt.timedelta(days=20), body.id),
            meetings.StepValues("Protokoll versenden"),
        ],
    )
    db.session.commit()
    sub = subscriptions.subscribe(first, "leser@example.org")
    subscriptions.confirm(sub)
    db.session.commit()
    add_update(first, admin, "Zweiter Stand", is_public=True)  # a notice to the follower
    api_tokens.create_token(admin, "Auswertung")
    reminders.write_digests()
    db.session.commit()
    return {
        "admin": admin,
        "public": first,
        "closed": second,
        "internal": third,
        "body": body,
        "consultation": consultation,
        "meeting": meeting,
    }


def _pages(app, world) -> tuple[dict[str, str], dict[str, str]]:
    """Return the pages to check as the public and as staff, each name -> path."""
    db_session = app.extensions["sqlalchemy"].session
    body = world["body"]
    event_slug = world["public"].event.slug
    sub = db_session.scalar(sa.select(Subscription))
    message = db_session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "digest").order_by(OutboxMessage.id)
    )
    other_user = db_session.scalar(sa.select(User).where(User.email == "gesperrt@example.org"))
    with app.test_request_context():
        answer = answer_links.answer_token(body)
    public = {
        "index": "/",
        "index-filtered": f"/?state=open&body={body.slug}&q=Bezahlkarte",
        "demand": f"/forderungen/{world['public'].id}",
        "follow": f"/forderungen/{world['public'].id}/folgen",
        "demand-closed": f"/forderungen/{world['closed'].id}",
        "bodies": "/stellen/",
        "body": f"/stellen/{body.slug}",
        "events": "/veranstaltungen/",
        "event": f"/veranstaltungen/{event_slug}",
        "statistics": "/statistik",
        "report": f"/berichte/{event_slug}",
        "workflow": "/ablauf",
        "workflow-state": "/ablauf?stand=addressed",
        "consultations": "/beteiligungen",
        "consultations-filtered": f"/beteiligungen?stelle={body.slug}&jahr={dt.date.today().year}",
        "dialogue": "/dialog",
        "login": "/anmelden",
        "answer": f"/antwort/{answer}",
        "follow-confirm": f"/folgen/{sub.token}/bestaetigen",
        "follow-end": f"/folgen/{sub.token}/abmelden",
    }
    staff = {
        "staff-index": "/verwaltung/",
        "staff-demand-new": "/verwaltung/forderungen/neu",
        "staff-demand": f"/verwaltung/forderungen/{world['public'].id}",
        "staff-demand-closed": f"/verwaltung/forderungen/{world['closed'].id}",
        "staff-demand-internal": f"/verwaltung/forderungen/{world['internal'].id}",
        "staff-bodies": "/verwaltung/stellen/",
        "staff-body-new": "/verwaltung/stellen/neu",
        "staff-body": f"/verwaltung/stellen/{body.id}",
        "staff-pauses": f"/verwaltung/stellen/{body.id}/pausen",
        "staff-consultations": "/verwaltung/beteiligungen",
        "staff-consultation-new": "/verwaltung/beteiligungen/neu",
        "staff-consultation": f"/verwaltung/beteiligungen/{world['consultation'].id}",
        "staff-meetings": "/verwaltung/gespraeche",
        "staff-meeting-new": "/verwaltung/gespraeche/neu",
        "staff-meeting": f"/verwaltung/gespraeche/{world['meeting'].id}",
        "staff-events": "/verwaltung/veranstaltungen/",
        "staff-event-new": "/verwaltung/veranstaltungen/neu",
        "staff-event": f"/verwaltung/veranstaltungen/{world['public'].event.id}",
        "staff-topic": f"/verwaltung/themen/{world['public'].topics[0].id}",
        "staff-users": "/verwaltung/benutzer/",
        "staff-user": f"/verwaltung/benutzer/{other_user.id}",
        "staff-import": "/verwaltung/import",
        "staff-tokens": "/verwaltung/api-tokens",
        "staff-reminders": "/verwaltung/erinnerungen",
        "staff-outbox": "/verwaltung/postausgang",
        "staff-outbox-message": f"/verwaltung/postausgang/{message.id}",
        "staff-outbox-html": f"/verwaltung/postausgang/{message.id}/html",
        "staff-report": f"/berichte/{event_slug}",
        "staff-public-demand": f"/forderungen/{world['public'].id}",
        "staff-statistics": "/statistik",
        "logout": "/abmelden",
    }
    return public, staff


def _save(folder: Path, name: str, response, expected=(200,)) -> str:
    assert response.status_code in expected, (name, response.status_code)
    assert response.mimetype == "text/html", (name, response.mimetype)
    html = response.get_data(as_text=True)
    (folder / f"{name}.html").write_text(html, encoding="utf-8")
    return html


def _submit_forms(client, folder: Path, name: str, path: str, html: str) -> None:
    """Submit each data-entry form as it would go out empty: the form-error pages."""
    parser = _Forms()
    parser.feed(html)
    for i, (action, hidden) in enumerate(parser.forms):
        target = urljoin(path, action or path)
        response = client.post(target, data=hidden, follow_redirects=True)
        _save(folder, f"{name}-form{i}", response, expected=(200, 400, 409, 422))


def test_every_page_type_and_email_is_valid_html(app, client, auth, world, vnu, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    public, staff = _pages(app, world)
    visited = set()
    adapter = app.url_map.bind("tracker.test")

    def visit(name, path, forms=True):
        visited.add(adapter.match(urlsplit(path).path)[0])
        html = _save(pages, name, client.get(path))
        if forms:
            _submit_forms(client, pages, name, path, html)

    for name, path in public.items():
        visit(name, path, forms=name not in ("follow-confirm", "follow-end"))

    auth.login_as(world["admin"])
    for name, path in staff.items():
        visit(name, path)

    # error pages, as they are reached and for every code that has a message
    _save(pages, "error-404", client.get("/forderungen/999999"), expected=(404,))
    _save(pages, "error-405", client.get("/verwaltung/erinnerungen/senden"), expected=(405,))
    _save(pages, "error-400-csrf", client.post("/verwaltung/forderungen/neu"), expected=(400,))
    kept = {"title": "Titel", "text": "Zeile 1\r\nZeile 2", "is_public": "y", "csrf_token": "alt"}
    origin = {"Origin": "http://localhost"}  # a form of these pages: its input is offered again
    sent = client.post("/verwaltung/forderungen/neu", data=kept, headers=origin)
    _save(pages, "error-400-csrf-kept", sent, expected=(400,))
    client.post("/abmelden", data={"csrf_token": csrf_token(client.get("/abmelden").text)})
    _save(pages, "error-404-public", client.get("/stellen/unbekannt"), expected=(404,))
    kept["csrf_token"] = csrf_token(client.get("/anmelden").text)  # valid, but logged out
    sent = client.post("/verwaltung/forderungen/neu", data=kept, headers=origin)
    _save(pages, "error-401-kept", sent, expected=(401,))
    sealed = re.search(r'name="kept" type="hidden" value="([^"]+)"', sent.text)[1]
    again = {"email": world["admin"].email, "kept": sealed, "csrf_token": "alt"}
    refused = client.post("/anmelden", data=again, headers=origin)
    _save(pages, "login-expired-kept", refused, expected=(400,))
    again["password"], again["csrf_token"] = PASSWORD, csrf_token(client.get("/anmelden").text)
    _save(pages, "login-kept-resumed", client.post("/anmelden", data=again, headers=origin))
    _save(pages, "error-answer-link", client.get("/antwort/kaputt"), expected=(403,))
    for code in MESSAGES:
        with app.test_request_context("/"):
            html, status = render_error(code)
        (pages / f"error-{code}-rendered.html").write_text(html, encoding="utf-8")

    # the HTML part of every kind of e-mail the tracker sends
    messages = app.extensions["sqlalchemy"].session.scalars(sa.select(OutboxMessage)).all()
    kinds = {m.kind for m in messages if m.html}
    assert {"digest", "staff_notice", "subscription"} <= kinds, kinds
    for m in messages:
        if m.html:
            (pages / f"email-{m.kind}-{m.id}.html").write_text(m.html, encoding="utf-8")

    # every HTML page the app serves by GET was visited
    html_routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in rule.methods
        and rule.endpoint not in NOT_HTML
        and not rule.endpoint.startswith("api.")
    }
    assert html_routes <= visited, f"add these pages to the check: {html_routes - visited}"

    errors = check_html(vnu, pages)
    assert not errors, f"{len(errors)} HTML errors:\n" + "\n".join(errors)


def test_the_checker_finds_errors(vnu, tmp_path):
    """The check can fail: a page with the errors once found in ours is reported."""
    (tmp_path / "bad.html").write_text(
        '<!doctype html><html lang="de"><head><title>x</title></head><body>'
        '<pre aria-label="Diagramm">a</pre>'
        '<time datetime="2025-06-18T10:00:00.123456+00:00">18.06.2025</time></body></html>',
        encoding="utf-8",
    )
    errors = check_html(vnu, tmp_path)
    assert len(errors) == 2 and "aria-label" in errors[0] and "fraction" in errors[1]
