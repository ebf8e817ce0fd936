"""The reminders page says how this week's digests went out, who got none and why (issue 9.12)."""

from __future__ import annotations

import datetime as dt
import html as htmllib
import re

import pytest
from helpers import csrf_token, make_body, make_demand

from tracker.domain.models import ReminderPause
from tracker.domain.workdays import today
from tracker.jobs import scheduler as jobs
from tracker.services import reminders


@pytest.fixture
def week_world(smtp_app, db):
    """Two bodies to remind, one paused, one without contact, one with nothing open."""
    ms = make_body()
    mi = make_body("mi", "Innenministerium", (("Büro", "buero@mi.example.org", 1),))
    paused = make_body("lvwa", "Landesverwaltungsamt", (("Amt", "amt@lvwa.example.org", 1),))
    silent = make_body("stk", "Staatskanzlei", ())
    idle = make_body("bamf", "BAMF-Außenstelle", (("Stelle", "stelle@bamf.example.org", 1),))
    for body in (ms, mi, paused, silent):
        make_demand(f"Forderung an {body.slug}", bodies=[body])
    make_demand("Längst erledigt", bodies=[idle]).state = "closed"
    db.session.add(
        ReminderPause(
            body=paused,
            starts_on=today() - dt.timedelta(days=1),
            ends_on=today() + dt.timedelta(days=20),
            reason="Umzug",
        )
    )
    db.session.commit()
    return {"paused_until": today() + dt.timedelta(days=20)}


def _text(response) -> str:
    return " ".join(
        htmllib.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split()
    )


def _row(page: str, name: str) -> str:
    return re.search(
        rf"{name} \d+ \d+ (.*?)(?= [A-ZÄÖÜ][\w-]+ \d+ \d+ |  | \S+ für KW| Nichts Neues)", page
    )[1]


def test_before_the_run_the_page_says_who_will_get_one_and_why_not(client, auth, staff, week_world):
    auth.login_as(staff)
    page = _text(client.get("/verwaltung/erinnerungen"))
    kw = reminders.iso_week(today())[-2:]
    assert f"Für KW {kw} ist noch keine Erinnerung geschrieben." in page
    assert _row(page, "Sozialministerium") == "noch nicht geschrieben"
    assert _row(page, "Innenministerium") == "noch nicht geschrieben"
    assert _row(page, "Landesverwaltungsamt").startswith("keine: pausiert bis")
    assert _row(page, "Staatskanzlei").startswith("keine: keine Kontaktadresse")
    assert _row(page, "BAMF-Außenstelle") == (
        "keine: keine offenen öffentlichen Forderungen und keine offenen nächsten Schritte"
    )
    assert f"2 Erinnerungen für KW {kw} schreiben und jetzt senden" in page


def test_after_the_scheduler_sent_them_the_page_and_button_say_so(
    client, auth, staff, week_world, mailserver
):
    jobs.weekly_digest()  # the catch-up at the first start does exactly this
    assert len(mailserver.messages) == 2
    auth.login_as(staff)
    response = client.get("/verwaltung/erinnerungen")
    page = _text(response)
    assert re.search(
        r"2 Erinnerungen geschrieben am .+?, vom Zeitplan \(tracker scheduler\)\. "
        r"2 gesendet \(zuletzt .+?\)\.",
        page,
    ), page
    assert _row(page, "Sozialministerium").startswith("gesendet")
    assert _row(page, "Landesverwaltungsamt").startswith("keine: pausiert bis")
    assert "Nichts Neues zu schreiben: fällige Nachrichten jetzt senden" in page

    answer = client.post(
        "/verwaltung/erinnerungen/senden",
        data={"csrf_token": csrf_token(response.get_data(as_text=True))},
        follow_redirects=True,
    )
    kw = reminders.iso_week(today())[-2:]
    assert (
        "Keine neue Erinnerung geschrieben: jede Stelle, die diese Woche eine bekommt, "
        f"hat ihre für KW {kw} schon" in _text(answer)
    )
    assert len(mailserver.messages) == 2


def test_staff_run_is_named_on_the_page(client, auth, staff, week_world, mailserver):
    auth.login_as(staff)
    page = client.get("/verwaltung/erinnerungen").get_data(as_text=True)
    client.post("/verwaltung/erinnerungen/senden", data={"csrf_token": csrf_token(page)})
    text = _text(client.get("/verwaltung/erinnerungen"))
    assert f"von {staff.name} mit „jetzt senden“" in text


def test_digests_address_the_bodies_with_their_articles(app, db):
    """Issue 9.17: „an die Staatskanzlei und das Ministerium …“, not „an Staatskanzlei und …“."""
    from tracker.services.seed import seed

    seed()
    db.session.commit()
    rendered = {
        digest.body.slug: (subject, text, html)
        for digest, subject, text, html in reminders.render_digests(reminders.build_digests())
    }
    subject, text, html = rendered["stk"]
    assert "an die Staatskanzlei – Erinnerung KW" in subject
    assert "an die Staatskanzlei und das Ministerium für Kultur des Landes Sachsen-Anhalt" in text
    assert "an die Staatskanzlei und das Ministerium für Kultur" in htmllib.unescape(html)
    assert "an das Sozialministerium – Erinnerung" in rendered["ms"][0]
    assert "an das Ministerium für Arbeit, Soziales" in rendered["ms"][1]
    for slug, (subject, text, _html) in rendered.items():
        assert not re.search(
            r" an (Staatskanzlei|Ministerium|Sozialministerium|Landkreistag)", subject + text
        ), slug


def test_a_body_without_an_accusative_form_keeps_its_plain_name(app, db):
    body = make_body("x", "Amt X", (("A", "a@x.example.org", 1),))
    make_demand("Eine Forderung", bodies=[body])
    ((digest, subject, text, _html),) = reminders.render_digests(reminders.build_digests())
    assert "an Amt X – Erinnerung" in subject and "an Amt X ist derzeit 1 Forderung" in text
