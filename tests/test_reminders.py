"""The weekly digest through a real SMTP server: content, links, escalation, pauses, once a week."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from helpers import make_body, make_demand
from smtp import BASE_URL, parts

from tracker.domain.models import OutboxMessage, ReminderPause, TimelineEntry
from tracker.domain.workdays import today
from tracker.jobs import sender
from tracker.services import answer_links, reminders

# Wednesday of 2025-W45; flush "now" in the same week so that the digests have not expired.
ON = dt.date(2025, 11, 5)
NOW = dt.datetime(2025, 11, 5, 9, 0, tzinfo=dt.UTC)
CONTACTS = (
    ("Referat 1", "referat@ms.example.org", 1),
    ("Abteilungsleitung", "leitung@ms.example.org", 2),
    ("Staatssekretärin", "sts@ms.example.org", 3),
)


@pytest.fixture(autouse=True)
def now(clock):
    """It is NOW (Wednesday of 2025-W45): rows are queued then, ``flush(now=NOW)`` finds them due
    and their week not yet over; dates in the digests stay computable by hand."""
    clock.move_to(NOW)


def _since(demand, year, month, day, db):
    """Pretend the demand entered its state on the given day (10:00 UTC)."""
    demand.state_changed_at = dt.datetime(year, month, day, 10, 0, tzinfo=dt.UTC)
    db.session.commit()
    return demand


def _send(on=ON, now=NOW):
    written = reminders.write_digests(on)
    counts = sender.flush(now=now)
    return written, counts


@pytest.fixture
def ms_with_two(db):
    """Sozialministerium with one overdue demand (since 1 Sep) and one fresh one (since 29 Oct)."""
    ms = make_body(contacts=CONTACTS)
    mi = make_body("mi", "Innenministerium", contacts=(("Büro", "buero@mi.example.org", 1),))
    overdue = _since(make_demand("Bezahlkarte evaluieren", bodies=[ms, mi]), 2025, 9, 1, db)
    fresh = _since(make_demand("Sprachkurse <ausbauen> & sichern", bodies=[ms]), 2025, 10, 29, db)
    return ms, mi, overdue, fresh


# 1 -----------------------------------------------------------------------------------------


def test_digest_content_per_body(smtp_app, client, db, mailserver, ms_with_two):
    ms, mi, overdue, fresh = ms_with_two
    written, counts = _send()
    assert len(written) == 2 and counts["sent"] == 2
    by_key = {str(m["X-Tracker-Key"]): m for m in mailserver.messages}
    assert sorted(by_key) == ["digest:mi:2025-W45", "digest:ms:2025-W45"]

    mail = by_key["digest:ms:2025-W45"]
    assert str(mail["Subject"]) == "2 offene Forderungen an Sozialministerium – Erinnerung KW 45"
    assert str(by_key["digest:mi:2025-W45"]["Subject"]) == (
        "1 offene Forderung an Innenministerium – Erinnerung KW 45"
    )
    assert mail.get_content_type() == "multipart/alternative"
    text, html = parts(mail)
    assert text and html

    # The overdue one first: 20 working days after 1 Sep is 29 Sep; on 5 Nov it waited 45
    # working days (3 Oct and 31 Oct do not count), 25 of them past the target date.
    first, second = text.index("Bezahlkarte evaluieren"), text.index("Sprachkurse")
    assert first < second
    assert "1. Bezahlkarte evaluieren – ÜBERFÄLLIG" in text
    assert "Stand: erhoben seit 01.09.2025 (45 Arbeitstage)" in text
    assert "Zieldatum: 29.09.2025 (25 Arbeitstage überfällig)" in text
    assert "2. Sprachkurse <ausbauen> & sichern\n" in text  # plain text: not escaped
    assert "Stand: erhoben seit 29.10.2025 (4 Arbeitstage)" in text
    assert "Zieldatum: 27.11.2025\n" in text  # not overdue: no marker
    assert "1 davon ist überfällig." in text
    assert text.count("Ihre Rolle: federführend") == 2

    assert "Bezahlkarte evaluieren</a>" in html
    assert "Sprachkurse &lt;ausbauen&gt; &amp; sichern</a>" in html  # HTML: escaped
    assert html.count("– überfällig</span>") == 1
    assert "29.09.2025 (25 Arbeitstage überfällig)" in html
    assert "27.11.2025" in html

    promised = answer_links.expiry_date()
    assert f"gültig bis {promised:%d.%m.%Y}" in text and f"gültig bis {promised:%d.%m.%Y}" in html
    assert promised == today() + dt.timedelta(days=smtp_app.config["ANSWER_LINK_DAYS"] - 1)

    # the links in the message resolve
    demand_links = re.findall(re.escape(BASE_URL) + r"(/forderungen/\d+)", text)
    assert demand_links == [f"/forderungen/{overdue.id}", f"/forderungen/{fresh.id}"]
    html_links = re.findall(r'href="' + re.escape(BASE_URL) + r'(/forderungen/\d+)"', html)
    assert html_links == demand_links
    (answer_link,) = set(re.findall(re.escape(BASE_URL) + r"(/antwort/[^\s\"<]+)", text))
    assert re.findall(r'href="' + re.escape(BASE_URL) + r'(/antwort/[^"]+)"', html) == [answer_link]
    body_link = re.search(re.escape(BASE_URL) + r"(/stellen/[\w-]+)", text).group(1)
    assert body_link == "/stellen/ms"
    for link in [*demand_links, body_link]:
        assert client.get(link).status_code == 200, link
    answer = client.get(answer_link)
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "Bezahlkarte evaluieren" in page and "Sprachkurse &lt;ausbauen&gt; &amp; sichern" in page

    # the Innenministerium's digest lists only its own demand, with its own answer link
    mi_text, _ = parts(by_key["digest:mi:2025-W45"])
    assert "Bezahlkarte evaluieren" in mi_text and "Sprachkurse" not in mi_text
    assert "Ihre Rolle: beteiligt" in mi_text
    (mi_link,) = set(re.findall(re.escape(BASE_URL) + r"(/antwort/[^\s\"<]+)", mi_text))
    assert mi_link != answer_link
    mi_page = client.get(mi_link).get_data(as_text=True)
    assert "Innenministerium" in mi_page and "Sprachkurse" not in mi_page


# 2 (CLI; the job is in test_jobs.py) -------------------------------------------------------


def test_reminders_send_twice_in_a_week_sends_one_digest_per_body(
    smtp_app,
    runner,
    db,
    mailserver,
    ms_with_two,
):
    first = runner.invoke(args=["reminders", "send"])
    assert first.exit_code == 0, first.output
    assert "2 new digests" in first.output and "sent 2" in first.output
    second = runner.invoke(args=["reminders", "send"])
    assert second.exit_code == 0, second.output
    assert "0 new digests" in second.output and "sent 0" in second.output
    week = reminders.iso_week(today())
    assert mailserver.keys() == {f"digest:ms:{week}": 1, f"digest:mi:{week}": 1}
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 2


def test_write_digests_is_idempotent_per_week(app, db, ms_with_two):
    assert len(reminders.write_digests(ON)) == 2
    assert reminders.write_digests(ON + dt.timedelta(days=2)) == []  # Friday, same week
    assert len(reminders.write_digests(ON + dt.timedelta(days=7))) == 2  # next week
    keys = db.session.scalars(sa.select(OutboxMessage.key).order_by(OutboxMessage.key)).all()
    assert keys == [
        "digest:mi:2025-W45",
        "digest:mi:2025-W46",
        "digest:ms:2025-W45",
        "digest:ms:2025-W46",
    ]


# 6 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "overdue_by", "cc"),
    [
        (dt.date(2025, 9, 26), 0, []),  # before the target date
        (dt.date(2025, 9, 29), 0, []),  # on the target date
        (dt.date(2025, 10, 14), 10, []),  # exactly ESCALATION_DAYS: not more
        (dt.date(2025, 10, 15), 11, ["leitung@ms.example.org"]),
        (dt.date(2025, 10, 28), 20, ["leitung@ms.example.org"]),  # exactly 2x
        (dt.date(2025, 10, 29), 21, ["leitung@ms.example.org", "sts@ms.example.org"]),
    ],
)
def test_escalation_by_working_days_overdue(app, db, on, overdue_by, cc):
    assert app.config["ESCALATION_DAYS"] == 10
    ms = make_body(contacts=CONTACTS)
    _since(make_demand(bodies=[ms]), 2025, 9, 1, db)  # target: 29 Sep
    (digest,) = reminders.build_digests(on)
    assert digest.items[0].progress.overdue_by == overdue_by
    assert digest.to == ["referat@ms.example.org"]
    assert digest.cc == cc


def test_escalation_follows_the_most_overdue_demand(app, db):
    ms = make_body(contacts=CONTACTS)
    _since(make_demand("alt", bodies=[ms]), 2025, 9, 1, db)  # 11 days overdue on 15 Oct
    _since(make_demand("neu", bodies=[ms]), 2025, 10, 14, db)
    (digest,) = reminders.build_digests(dt.date(2025, 10, 15))
    assert [i.escalation for i in digest.items] == [2, 1]
    assert digest.cc == ["leitung@ms.example.org"]


def test_escalation_headers_on_the_wire(smtp_app, db, mailserver):
    ms = make_body(contacts=CONTACTS)
    level2 = make_body("mi", "Innenministerium", contacts=CONTACTS[:2])
    calm = make_body("mj", "Justizministerium", contacts=CONTACTS)
    _since(make_demand("sehr alt", bodies=[ms, level2]), 2025, 9, 1, db)  # 25 days overdue on ON
    _since(make_demand("ruhig", bodies=[calm]), 2025, 10, 29, db)
    _send()
    by_key = {str(m["X-Tracker-Key"]): m for m in mailserver.messages}
    envelopes = {
        str(m["X-Tracker-Key"]): e
        for m, e in zip(mailserver.messages, mailserver.envelopes, strict=True)
    }

    ms_mail = by_key["digest:ms:2025-W45"]
    assert str(ms_mail["To"]) == "referat@ms.example.org"
    assert str(ms_mail["Cc"]) == "leitung@ms.example.org, sts@ms.example.org"
    assert sorted(envelopes["digest:ms:2025-W45"].rcpt_tos) == [
        "leitung@ms.example.org",
        "referat@ms.example.org",
        "sts@ms.example.org",
    ]

    # a body without a level-3 contact: level 2 in copy, nobody else
    assert str(by_key["digest:mi:2025-W45"]["Cc"]) == "leitung@ms.example.org"

    calm_mail = by_key["digest:mj:2025-W45"]
    assert str(calm_mail["To"]) == "referat@ms.example.org"
    assert calm_mail["Cc"] is None
    assert envelopes["digest:mj:2025-W45"].rcpt_tos == ["referat@ms.example.org"]


def test_body_without_level_one_contact_gets_its_lowest_level_in_to(app, db):
    body = make_body(
        contacts=(
            ("Leitung", "leitung@ms.example.org", 2),
            ("Staatssekretärin", "sts@ms.example.org", 3),
        )
    )
    make_demand(bodies=[body])
    (digest,) = reminders.build_digests(ON)
    assert (digest.to, digest.cc) == (["leitung@ms.example.org"], [])


# 7 -----------------------------------------------------------------------------------------


def test_paused_empty_and_internal_get_nothing(smtp_app, db, mailserver):
    ms = make_body()
    paused = make_body("mi", "Innenministerium", contacts=(("Büro", "buero@mi.example.org", 1),))
    done = make_body("mj", "Justizministerium", contacts=(("Büro", "buero@mj.example.org", 1),))
    internal_only = make_body(
        "mf", "Finanzministerium", contacts=(("Büro", "b@mf.example.org", 1),)
    )
    silent = make_body("mk", "Kultusministerium", contacts=())
    make_body("mw", "Wirtschaftsministerium", contacts=(("Büro", "b@mw.example.org", 1),))  # none

    make_demand("Öffentlich offen", bodies=[ms, paused])
    make_demand("Geheimer Entwurf", bodies=[ms, internal_only], is_public=False)
    closed = make_demand("Schon erledigt", bodies=[ms, done])
    closed.state = "closed"
    make_demand("Ohne Kontakt", bodies=[silent])
    db.session.add_all(
        [
            ReminderPause(
                body=paused, starts_on=ON - dt.timedelta(days=3), ends_on=ON, reason="Umbau"
            ),
            ReminderPause(
                body=ms, starts_on=dt.date(2025, 10, 1), ends_on=ON - dt.timedelta(days=1)
            ),
        ]
    )
    db.session.commit()

    written, counts = _send()
    assert [m.key for m in written] == ["digest:ms:2025-W45"]
    assert counts["sent"] == 1
    (mail,) = mailserver.messages
    assert str(mail["X-Tracker-Key"]) == "digest:ms:2025-W45"
    assert str(mail["Subject"]).startswith("1 offene Forderung an Sozialministerium")
    text, html = parts(mail)
    assert "Öffentlich offen" in text and "Öffentlich offen" in html
    for hidden in ("Geheimer Entwurf", "Schon erledigt"):
        assert hidden not in text and hidden not in html

    # the day after the pause ends, the paused body is reminded again
    assert [d.body.slug for d in reminders.build_digests(ON + dt.timedelta(days=1))] == ["mi", "ms"]


# 11 ----------------------------------------------------------------------------------------


def test_each_sent_digest_leaves_an_internal_reminder_entry(
    smtp_app,
    client,
    auth,
    staff,
    db,
    mailserver,
    ms_with_two,
):
    ms, mi, overdue, fresh = ms_with_two
    _send()
    entries = db.session.scalars(
        sa.select(TimelineEntry).where(TimelineEntry.kind == "reminder").order_by(TimelineEntry.id)
    ).all()
    assert sorted((e.demand_id, e.body_id) for e in entries) == sorted(
        [(overdue.id, ms.id), (fresh.id, ms.id), (overdue.id, mi.id)]
    )
    assert all(not e.is_public and e.data["week"] == "2025-W45" for e in entries)
    ms_entry = next(e for e in entries if e.body_id == ms.id)
    assert "referat@ms.example.org" in ms_entry.text and "sts@ms.example.org" in ms_entry.text

    public = client.get(f"/forderungen/{overdue.id}").get_data(as_text=True)
    assert "Erinnerung verschickt" not in public and "Erinnerungsdienst" not in public
    auth.login()
    internal = client.get(f"/forderungen/{overdue.id}").get_data(as_text=True)
    assert internal.count("Erinnerung verschickt") == 2
    to = "referat@ms.example.org, leitung@ms.example.org, sts@ms.example.org"
    assert f"Wöchentliche Erinnerung verschickt an {to}" in internal
    client.get("/sprache/en")  # the stored German text is not what an English page shows
    english = client.get(f"/verwaltung/forderungen/{overdue.id}").get_data(as_text=True)
    assert english.count("Weekly reminder sent to") == 2
    assert "Wöchentliche" not in english and "Erinnerungsdienst" not in english
    # an entry written before the recipients were kept (entries are append-only for the ORM)
    old = sa.update(TimelineEntry.__table__).where(TimelineEntry.__table__.c.id == ms_entry.id)
    db.session.execute(old.values(data={"week": "2025-W45"}))
    db.session.commit()
    english = client.get(f"/verwaltung/forderungen/{overdue.id}").get_data(as_text=True)
    assert f"Weekly reminder sent to {to}" in english

    # sending again in the same week adds no entry
    _send()
    assert (
        db.session.scalar(
            sa.select(sa.func.count(TimelineEntry.id)).where(TimelineEntry.kind == "reminder")
        )
        == 3
    )


def test_staff_reminders_page_shows_preview_and_log(
    smtp_app,
    client,
    auth,
    staff,
    db,
    mailserver,
    ms_with_two,
):
    assert client.get("/verwaltung/erinnerungen").status_code == 302  # login first
    auth.login()
    before = client.get("/verwaltung/erinnerungen")
    assert before.status_code == 200
    page = before.get_data(as_text=True)
    assert "Vorschau für diese Woche" in page
    assert "Noch keine Erinnerung verschickt." in page
    week = reminders.iso_week(today())
    assert f"2 offene Forderungen an Sozialministerium – Erinnerung KW {week[-2:]}" in page
    assert "referat@ms.example.org" in page and "leitung@ms.example.org" in page  # To and Cc
    assert "Bezahlkarte evaluieren" in page and "Sprachkurse &lt;ausbauen&gt;" in page

    _send()
    after = client.get("/verwaltung/erinnerungen").get_data(as_text=True)
    assert "Noch keine Erinnerung verschickt." not in after
    assert after.count("2025-W45") == 2  # one log line per body
    assert "gesendet" in after

    outbox_page = client.get("/verwaltung/postausgang")
    assert outbox_page.status_code == 200
    listing = outbox_page.get_data(as_text=True)
    assert "2 offene Forderungen an Sozialministerium – Erinnerung KW 45" in listing
    assert "1 offene Forderung an Innenministerium – Erinnerung KW 45" in listing
    row = db.session.scalar(
        sa.select(OutboxMessage).where(OutboxMessage.key == "digest:ms:2025-W45")
    )
    detail = client.get(f"/verwaltung/postausgang/{row.id}")
    assert detail.status_code == 200
    assert "digest:ms:2025-W45" in detail.get_data(as_text=True)
    raw = client.get(f"/verwaltung/postausgang/{row.id}/html")
    assert raw.status_code == 200 and "sandbox" in raw.headers["Content-Security-Policy"]


def test_staff_send_button_writes_and_delivers_once(
    smtp_app,
    client,
    auth,
    staff,
    db,
    mailserver,
    ms_with_two,
):
    from helpers import csrf_token

    auth.login()
    for _ in range(2):
        page = client.get("/verwaltung/erinnerungen").get_data(as_text=True)
        response = client.post(
            "/verwaltung/erinnerungen/senden",
            data={"csrf_token": csrf_token(page)},
            follow_redirects=True,
        )
        assert response.status_code == 200
    week = reminders.iso_week(today())
    assert mailserver.keys() == {f"digest:ms:{week}": 1, f"digest:mi:{week}": 1}


# 13 ----------------------------------------------------------------------------------------


def test_cli_preview_prints_one_bodys_digest(runner, db, ms_with_two):
    result = runner.invoke(args=["reminders", "preview", "--body", "ms"])
    assert result.exit_code == 0, result.output
    out = result.output
    week = reminders.iso_week(today())
    assert out.count("=" * 78) == 1
    assert "To: referat@ms.example.org" in out
    assert f"Subject: 2 offene Forderungen an Sozialministerium – Erinnerung KW {week[-2:]}" in out
    assert "Bezahlkarte evaluieren" in out and "Sprachkurse <ausbauen> & sichern" in out
    assert "Guten Tag," in out and "/antwort/" in out
    assert "Innenministerium" not in out
    # a preview writes nothing
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 0


def test_cli_preview_when_nothing_is_open(runner, db):
    make_body()
    result = runner.invoke(args=["reminders", "preview"])
    assert result.exit_code == 0
    assert "nothing would be sent" in result.output


# pauses (staff) ----------------------------------------------------------------------------


def test_staff_pauses_page_adds_and_removes_a_pause(client, auth, staff, db):
    from helpers import csrf_token

    ms = make_body()
    make_demand(bodies=[ms])
    auth.login()
    url = f"/verwaltung/stellen/{ms.id}/pausen"
    page = client.get(url)
    assert page.status_code == 200 and "Keine Pausen." in page.get_data(as_text=True)
    csrf = csrf_token(page.get_data(as_text=True))

    wrong = client.post(
        url,
        data={"starts_on": "2025-11-09", "ends_on": "2025-11-03", "reason": "", "csrf_token": csrf},
    )
    assert wrong.status_code == 422
    assert "Das Ende darf nicht vor dem Beginn liegen." in wrong.get_data(as_text=True)
    assert (
        client.post(
            url, data={"starts_on": "", "ends_on": "2025-11-03", "csrf_token": csrf}
        ).status_code
        == 422
    )
    assert db.session.scalar(sa.select(sa.func.count(ReminderPause.id))) == 0

    added = client.post(
        url,
        data={
            "starts_on": "2025-11-03",
            "ends_on": "2025-11-09",
            "reason": "Umzug des Referats",
            "csrf_token": csrf,
        },
    )
    assert added.status_code == 302
    listing = client.get(url).get_data(as_text=True)
    assert "Umzug des Referats" in listing and "03.11.2025" in listing
    assert reminders.build_digests(ON) == []
    assert [d.body.slug for d in reminders.build_digests(dt.date(2025, 11, 10))] == ["ms"]

    (pause,) = db.session.scalars(sa.select(ReminderPause)).all()
    other = make_body("mi", "Innenministerium")
    assert (
        client.post(
            f"/verwaltung/stellen/{other.id}/pausen/{pause.id}/loeschen", data={"csrf_token": csrf}
        ).status_code
        == 404
    )
    removed = client.post(f"{url}/{pause.id}/loeschen", data={"csrf_token": csrf})
    assert removed.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(ReminderPause.id))) == 0
    assert [d.body.slug for d in reminders.build_digests(ON)] == ["ms"]


# the plain text's layout ---------------------------------------------------------------------


def _digest_text(on=ON):
    (digest,) = reminders.build_digests(on)
    ((_d, _subject, text, _html),) = reminders.render_digests([digest])
    return text


def test_digest_text_indents_every_line_of_an_item(app, db, ms_with_two):
    ms, mi, overdue, fresh = ms_with_two
    mi.contacts.clear()  # only the Sozialministerium's digest
    db.session.commit()
    text = _digest_text()
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if re.match(r"\d+\. ", line)]
    assert len(starts) == 2
    for start in starts:
        block = []
        for line in lines[start + 1 :]:
            if re.match(r"\d+\. ", line) or (line and not line.startswith(" ")):
                break
            if line:
                block.append(line)
        labels = [line.split(":", 1)[0].strip() for line in block[:-1]]
        assert labels == ["Stand", "Zieldatum", "Ihre Rolle"], block
        assert block[-1].strip().startswith(BASE_URL + "/forderungen/"), block
        assert all(line.startswith("   ") and line[3] != " " for line in block), block


def test_digest_says_how_many_are_overdue_none_some_all(app, db, ms_with_two):
    ms, mi, overdue, fresh = ms_with_two
    mi.contacts.clear()
    db.session.commit()
    text = _digest_text()
    assert (
        "Forderungen der LIGA der freien Wohlfahrtspflege Sachsen-Anhalt offen.\n1 davon ist"
        in (text)
    ), "the overdue count starts a line of its own"
    (digest,) = reminders.build_digests(ON)
    ((_d, _subject, _text, html),) = reminders.render_digests([digest])
    words = re.sub(r"<[^>]+>", "", html)  # as a mail client shows it
    assert "Sachsen-Anhalt offen. 1 davon ist überfällig." in words
    _since(fresh, 2025, 9, 1, db)
    text = _digest_text()
    assert "Alle 2 sind überfällig." in text and "davon" not in text
    _since(overdue, 2025, 11, 3, db)
    _since(fresh, 2025, 11, 3, db)
    text = _digest_text()
    assert "überfällig." not in text.split("Überfällig heißt")[0]
    mi.contacts.append(
        type(ms.contacts[0])(name="Büro", email="b@mi.example.org", escalation_level=1)
    )
    db.session.commit()
    _since(overdue, 2025, 9, 1, db)
    (mi_digest,) = reminders.build_digests(ON, body_slug="mi")
    assert mi_digest.overdue_note == "Sie ist überfällig."


def test_cli_preview_of_an_unknown_body_says_so(runner, db, ms_with_two):
    result = runner.invoke(args=["reminders", "preview", "--body", "nope"])
    assert result.exit_code == 2
    assert "no body has the slug 'nope'" in result.output
    assert "nothing would be sent" not in result.output
