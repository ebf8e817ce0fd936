"""The printable progress report of an event, for the public and for staff, and its PDF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from conftest import make_body, make_demand, make_user
from flask_babel import format_date

from tracker import reports
from tracker.models import Event
from tracker.services.demands import add_update, advance
from tracker.services.statements import add_statement


@pytest.fixture
def report_data(app, event):
    """Two public demands of the Fachtag, one internal one and one of another event."""
    ms = make_body("ms", "Sozialministerium")
    done = make_demand(
        "Bezahlkarte evaluieren", bodies=(ms,), event_id=event.id, event_part_id=event.parts[0].id
    )
    advance(done, "address", None, None, {"note": "Im Ausschuss aufgenommen."})
    add_statement(ms, done.assignments[0], "Wir laden zum Gespräch ein.", author="Referat 42")
    add_update(done, None, "Erstes Gespräch am 5. November.", is_public=True)
    add_update(done, None, "Vertraulich: Das Haus zögert.", is_public=False)
    advance(
        done,
        "evaluate",
        None,
        None,
        {"summary": "Die Karte erschwert Überweisungen.", "participants": "LIGA, MS"},
    )
    advance(done, "close", None, None, {"outcome": "partly_implemented"})
    waiting = make_demand("Dialogkultur stärken", bodies=(ms,), event_id=event.id)
    internal = make_demand("Interne Vorbereitung", event_id=event.id, is_public=False)
    other = Event(slug="anderer-tag", title="Anderer Tag", date=dt.date(2025, 9, 1))
    from tracker.extensions import db

    db.session.add(other)
    db.session.commit()
    make_demand("Forderung eines anderen Tages", event_id=other.id)
    return {"done": done, "waiting": waiting, "internal": internal}


def test_report_lists_each_public_demand_with_state_outcome_statements_and_assessments(
    app, client, report_data
):
    response = client.get("/berichte/fachtag")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.count("<h1") == 1
    assert "Fortschrittsbericht: Fachtag Migration" in html
    with app.test_request_context():
        assert format_date(dt.date(2025, 6, 18), "medium") in html  # the event's date
        assert format_date(reports.today(), "medium") in html  # the report's date
    # both public demands, in order, each with its state
    assert html.index("1. Bezahlkarte evaluieren") < html.index("2. Dialogkultur stärken")
    assert 'badge--closed">abgeschlossen' in html
    assert 'badge--raised">erhoben' in html
    assert "teilweise umgesetzt" in html  # the outcome
    # the body's statement with body and date
    assert "<strong>Sozialministerium</strong>" in html
    assert "Wir laden zum Gespräch ein." in html
    # the LIGA's assessments: public update, notes of the transitions
    assert "Erstes Gespräch am 5. November." in html
    assert "Im Ausschuss aufgenommen." in html
    assert "Die Karte erschwert Überweisungen." in html
    assert "LIGA, MS" in html
    assert "Noch keine Stellungnahme." in html  # the demand nobody answered yet
    # links print with their address: absolute URLs
    assert f'href="http://localhost/forderungen/{report_data["done"].id}"' in html
    assert "Drucken / als PDF speichern" in html
    assert 'style="' not in html


def test_internal_demands_and_entries_are_absent_for_the_public(client, report_data):
    html = client.get("/berichte/fachtag").get_data(as_text=True)
    assert "Interne Vorbereitung" not in html
    assert "Vertraulich: Das Haus zögert." not in html
    assert "Forderung eines anderen Tages" not in html
    assert "badge--internal" not in html


def test_staff_see_internal_demands_and_entries_marked(client, auth, report_data):
    make_user()
    auth.login()
    html = client.get("/berichte/fachtag").get_data(as_text=True)
    assert "Interne Vorbereitung" in html
    assert "Vertraulich: Das Haus zögert." in html
    assert "badge--internal" in html
    assert "Öffentliche Fassung anzeigen" in html
    public = client.get("/berichte/fachtag?fassung=oeffentlich").get_data(as_text=True)
    assert "Interne Vorbereitung" not in public
    assert "Vertraulich: Das Haus zögert." not in public


def test_unknown_event_is_not_found(client, app):
    assert client.get("/berichte/gibt-es-nicht").status_code == 404
    assert client.get("/berichte/gibt-es-nicht.pdf").status_code == 404


def test_event_page_links_to_the_report(client, event):
    html = client.get("/veranstaltungen/fachtag").get_data(as_text=True)
    assert 'href="/berichte/fachtag"' in html


def test_report_of_an_event_without_demands(client, event):
    html = client.get("/berichte/fachtag").get_data(as_text=True)
    assert "Zu dieser Veranstaltung sind noch keine Forderungen erfasst." in html


def test_print_stylesheet_hides_navigation_and_keeps_demands_together(app):
    css = (Path(app.static_folder) / "style.css").read_text(encoding="utf-8")
    printed = css[css.rindex("@media print") :]
    assert ".site-header nav" in printed and ".site-footer" in printed
    assert ".report__demand { break-inside: avoid" in printed
    assert "attr(href)" in printed


@pytest.mark.skipif(not reports.pdf_available(), reason="WeasyPrint or Pango is not installed")
def test_report_as_pdf(client, report_data):
    response = client.get("/berichte/fachtag.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert len(response.data) > 5_000
    assert 'filename="bericht-fachtag-' in response.headers["Content-Disposition"]


@pytest.mark.skipif(not reports.pdf_available(), reason="WeasyPrint or Pango is not installed")
def test_pdf_fetches_only_our_stylesheet(app, monkeypatch):
    with app.test_request_context("/berichte/fachtag.pdf"):
        fetcher = reports._static_fetcher()
        response = fetcher.fetch("http://localhost/static/style.css")
        assert b"@media print" in response.read()
        response.close()
        for url in (
            "http://example.org/x.css",
            "http://localhost/static/../reports.py",
            "file:///etc/passwd",
        ):
            with pytest.raises(ValueError):
                fetcher.fetch(url)
