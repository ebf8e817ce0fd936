"""The printable progress report of an event, for the public and for staff, and its PDF."""

from __future__ import annotations

import datetime as dt
import re
import zlib
from pathlib import Path

import pytest
from flask_babel import format_date
from helpers import make_body, make_demand, make_user

from tracker.domain.models import Event
from tracker.services.demands import add_update, advance
from tracker.services.statements import add_statement
from tracker.web.reports import views as reports


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
    # links print with their address: absolute URLs under the base URL, whatever Host said
    assert f'href="http://tracker.test/forderungen/{report_data["done"].id}"' in html
    forged = client.get("/berichte/fachtag", headers={"Host": "evil.test"}).get_data(as_text=True)
    assert "evil.test" not in forged and "http://tracker.test/beteiligungen" in forged
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
    # short demands stay together; none forces a page of its own
    assert ".report__demand--short," in printed and "break-inside: avoid" in printed
    assert "break-after: page" not in printed and "page-break-after: always" not in printed
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
@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True, "PDF_RATE_LIMIT": "1/minute"}])
def test_pdf_renders_are_limited_per_client_and_hits_are_not(client, report_data, app_config):
    """A query argument no page reads gets past the page cache: one client may not have the
    PDF, which takes seconds, rendered again and again; the kept one it may fetch."""
    assert client.get("/berichte/fachtag.pdf").status_code == 200
    assert client.get("/berichte/fachtag.pdf").status_code == 200  # from the page cache
    again = client.get("/berichte/fachtag.pdf?x=1")
    assert again.status_code == 429 and "Bitte warten Sie einen Moment." in again.get_data(True)
    assert client.get("/berichte/fachtag").status_code == 200  # the HTML report is not limited


@pytest.mark.skipif(not reports.pdf_available(), reason="WeasyPrint or Pango is not installed")
def test_pdf_fetches_only_our_stylesheet(app, monkeypatch):
    with app.test_request_context("/berichte/fachtag.pdf"):
        fetcher = reports._static_fetcher()
        response = fetcher.fetch("http://tracker.test/static/style.css")  # under the base URL
        assert b"@media print" in response.read()
        response.close()
        for url in (
            "http://example.org/x.css",
            "http://localhost/static/style.css",  # the request's host is not ours
            "http://tracker.test/static/../reports.py",
            "file:///etc/passwd",
        ):
            with pytest.raises(ValueError):
                fetcher.fetch(url)


@pytest.mark.skipif(not reports.pdf_available(), reason="WeasyPrint or Pango is not installed")
def test_pdf_links_under_the_base_url_whatever_the_host(client, report_data):
    pdf = client.get("/berichte/fachtag.pdf", headers={"Host": "evil.test"}).data
    texts = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            texts.append(zlib.decompress(stream))
        except zlib.error:
            pass  # an image or font
    uris = [uri for text in texts for uri in re.findall(rb"/URI \(([^)]*)\)", text)]
    assert uris and all(uri.startswith(b"http://tracker.test/") for uri in uris), uris


def test_report_starts_with_a_list_of_its_demands(client, report_data):
    html = client.get("/berichte/fachtag").get_data(as_text=True)
    toc = html[html.index('class="report__toc"') : html.index("</nav>", html.index("report__toc"))]
    done, waiting = report_data["done"], report_data["waiting"]
    assert f'href="#forderung-{done.id}">Bezahlkarte evaluieren <' in toc
    assert f'href="#forderung-{waiting.id}">Dialogkultur stärken <' in toc
    assert toc.index("Bezahlkarte") < toc.index("Dialogkultur")
    assert "Interne Vorbereitung" not in toc
    assert html.index("report__toc") < html.index(f'id="forderung-{done.id}"')


@pytest.mark.skipif(not reports.pdf_available(), reason="WeasyPrint or Pango is not installed")
def test_pdf_is_tagged_titled_numbered_and_lets_demands_flow(app, client, event):
    """PDF/UA: structure tree, language, title; page numbers; list of demands; no forced breaks."""
    import io

    from pypdf import PdfReader

    ms = make_body("ms", "Sozialministerium")
    titles = [f"Forderung Nummer {i}" for i in range(1, 7)]
    for i, title in enumerate(titles):  # long and short ones, alternating
        text = ("Ausführlich begründet. " * 70)[:1500] if i % 2 == 0 else "Kurz begründet."
        make_demand(title, bodies=(ms,), event_id=event.id, text=text)
    response = client.get("/berichte/fachtag.pdf")
    assert response.status_code == 200
    pdf = PdfReader(io.BytesIO(response.data))
    root = pdf.trailer["/Root"]
    assert "/StructTreeRoot" in root  # tagged: screen readers get headings, lists, tables
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "de"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert pdf.metadata.title.startswith("Fortschrittsbericht: Fachtag Migration")
    assert b"pdfuaid:part" in root["/Metadata"].get_object().get_data()  # declares PDF/UA-1

    pages = [page.extract_text() for page in pdf.pages]
    # the demands flow: no page of its own for each, no half-empty page before the last
    lines = [len(text.splitlines()) for text in pages]
    assert len(pages) <= 5 and min(lines[:-1]) >= 20, lines
    for number, text in enumerate(pages, start=1):
        assert f"Seite {number} von {len(pages)}" in text
    # the list of demands comes first, each with the page it starts on; then consultations and
    # dialogue since the event, and the first demand right after them, without a forced break
    first = pages[0]
    assert "Die Forderungen in diesem Bericht" in first
    for title in titles:
        assert re.search(rf"{title} \(erhoben\) \.{{5,}}\s*[1-5]\b", first), title
    whole = "\n".join(pages)
    toc_end = whole.index("Forderung Nummer 6 (erhoben)")
    evidence = whole.index("Beteiligung und Dialog seit der Veranstaltung")
    assert toc_end < evidence < whole.index("1. Forderung Nummer 1")
    assert "1. Forderung Nummer 1" in first + pages[1]
