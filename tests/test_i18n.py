"""Languages: German by default, English complete, the compiled catalogue up to date."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale
from helpers import language_link, make_body, make_demand

from tracker.domain import labels, workflow

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "tracker/translations/en/LC_MESSAGES/messages.po"
MO = PO.with_suffix(".mo")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """Extract every user-facing string from the code and templates, as pybabel does."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run(
        [
            Path(sys.executable).parent / "pybabel",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "ngettext:1,2",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return read_po(f)


def test_every_message_has_an_english_translation(extracted):
    with PO.open("rb") as f:
        english = read_po(f)
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = english.get(message.id)
        strings = translated.string if translated else None
        if not strings or (isinstance(strings, tuple) and not all(strings)) or translated.fuzzy:
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    assert not missing, (
        f"{len(missing)} messages lack English (run `make translations`): {missing[:10]}"
    )


def test_compiled_catalogue_is_up_to_date():
    def key(value):
        return tuple(value) if isinstance(value, list | tuple) else value

    with PO.open("rb") as f:
        source = {key(m.id): key(m.string) for m in read_po(f) if m.id and m.string and not m.fuzzy}
    with MO.open("rb") as f:
        compiled = {key(m.id): key(m.string) for m in read_mo(f) if m.id}
    assert compiled == source, "messages.mo is stale: run `make translations`"


def test_german_is_the_default_and_dates_are_german(app, client):
    demand = make_demand(bodies=[make_body()])
    html = client.get(f"/forderungen/{demand.id}").get_data(as_text=True)
    assert '<html lang="de">' in html and "Zuständig" in html
    assert dt.date.today().strftime("%d.%m.%Y") in html or "Arbeitstag" in html


def test_browser_preference_and_choice(app, client):
    make_demand()
    html = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="en">' in html and "Demands" in html
    response = client.get(language_link(html, "de"), headers={"Accept-Language": "en"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="de">' in html, "the user's choice wins over the browser's"


def test_unknown_language_and_foreign_redirect(client):
    assert client.get("/sprache/fr").status_code == 404
    response = client.get("/sprache/en", query_string={"next": "//evil.example"})
    assert response.headers["Location"] == "/"


GERMAN_STATES = re.compile(r"\b(erhoben|aufgegriffen|evaluiert|abgeschlossen)\b")


@pytest.mark.parametrize("path", ["/statistik", "/berichte/fachtag", "/ablauf", "/"])
def test_english_pages_name_states_in_english_after_a_german_visit(client, event, path):
    make_demand(bodies=[make_body()], event_id=event.id)
    assert client.get(path, headers={"Accept-Language": "de"}).status_code == 200
    page = client.get(path, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "raised" in page
    assert GERMAN_STATES.findall(page) == [], path


def test_names_remembered_in_a_request_follow_a_change_of_language(app):
    """Labels and template messages are translated once per request, but per language."""
    page = app.jinja_env.from_string(
        "{{ _('Forderungen') }} | {{ ngettext('seit %(num)d Arbeitstag', "
        "'seit %(num)d Arbeitstagen', 2) }} | {{ 'raised'|state_label }} | {{ day|date }}"
    )
    day = dt.date(2025, 6, 18)
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        german = "Forderungen | seit 2 Arbeitstagen | erhoben | 18.06.2025"
        assert page.render(day=day) == german
        assert (workflow.state_label("raised"), labels.role_label("lead")) == (
            "erhoben",
            "federführend",
        )
        with force_locale("en"):
            assert page.render(day=day) == "Demands | for 2 working days | raised | Jun 18, 2025"
            assert (workflow.state_label("raised"), labels.role_label("lead")) == (
                "raised",
                "lead",
            )
        assert page.render(day=day) == german
        assert labels.role_label("lead") == "federführend"


def test_dates_are_written_in_the_readers_language_as_flask_babel_writes_them(app):
    """The ``date`` filter keeps a date's text per process and language: it must still follow
    each reader's language, and a time's date the reader's time zone."""
    from flask_babel import format_date

    from tracker.web.templating import date

    day = dt.date(2026, 3, 2)
    late = dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC)  # 3 March in Berlin
    with app.test_request_context():
        for _ in range(2):  # the second time from the memo
            with force_locale("de"):
                assert date(day) == format_date(day, "medium") == "02.03.2026"
                assert date(late) == format_date(late, "medium") == "03.03.2026"
            with force_locale("en"):
                assert date(day) == format_date(day, "medium") == "Mar 2, 2026"
                assert date(late) == "Mar 3, 2026"
        assert date(None) == ""


def test_times_are_written_in_the_readers_language_and_zone_as_flask_babel_writes_them(app):
    """The ``datetime`` filter keeps a time's text per process, language and time zone: it
    must still follow each reader's language and write the time in Berlin's."""
    from flask_babel import format_date, format_time

    from tracker.web.templating import date_time

    stored = dt.datetime(2026, 3, 2, 23, 30)  # naive, as SQLite hands it back: UTC
    summer = dt.datetime(2026, 7, 1, 6, 5, tzinfo=dt.UTC)
    with app.test_request_context():
        for _ in range(2):  # the second time from the memo
            for language, late in (
                ("de", "03.03.2026, 00:30"),
                ("en", "Mar 3, 2026, 12:30\u202fAM"),
            ):
                with force_locale(language):
                    for value in (stored, summer):
                        expected = f"{format_date(value, 'medium')}, {format_time(value, 'short')}"
                        assert date_time(value) == expected
                    assert date_time(stored) == late
            with force_locale("de"):
                assert date_time(summer) == "01.07.2026, 08:05"  # Berlin's summer time
        assert date_time(None) == ""
