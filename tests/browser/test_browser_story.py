"""The whole story in a real browser: record, assign, move, remind, answer by mail link, close."""

from __future__ import annotations

import re

from browserkit import login
from playwright.sync_api import expect
from smtp import parts

STALE = "Diese Forderung wurde inzwischen geändert"


def transition_form(page, trigger: str):
    return page.locator(f"form[action$='/schritt/{trigger}']")


def test_staff_member_follows_a_demand_from_raised_to_closed(live, new_context, shot):
    staff = new_context().new_page()

    # A typo in the password is told plainly, without saying which of the two was wrong.
    staff.goto("/anmelden")
    staff.get_by_label("E-Mail-Adresse").fill("referentin@example.org")
    staff.get_by_label("Passwort (Pflichtangabe)", exact=True).fill("falsches-passwort")
    staff.get_by_role("button", name="Anmelden").click()
    expect(staff.get_by_role("alert")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch.")
    shot(staff, "story-01-login-wrong-password")

    login(staff)
    expect(staff.get_by_role("status")).to_contain_text("Sie sind angemeldet.")
    shot(staff, "story-02-logged-in")

    # Record the demand.
    staff.goto("/verwaltung/forderungen/neu")
    staff.get_by_label("Titel").fill("Dolmetschkosten in der Gesundheitsversorgung übernehmen")
    staff.get_by_label("Text der Forderung").fill(
        "Das Land soll die Kosten für Sprachmittlung bei Arztbesuchen Geflüchteter übernehmen."
    )
    staff.get_by_label("Herkunft (Veranstaltung und Teil)").select_option(index=1)
    staff.get_by_label("Gesundheit").check()
    shot(staff, "story-03-new-demand-form")
    staff.get_by_role("button", name="Forderung anlegen").click()
    staff.wait_for_url(re.compile(r"/verwaltung/forderungen/\d+$"))
    demand_id = int(staff.url.rsplit("/", 1)[1])
    expect(staff.get_by_role("status")).to_contain_text("Die Forderung wurde angelegt.")
    shot(staff, "story-04-demand-created")

    # Assign two bodies: the Sozialministerium leads, the Innenministerium is involved.
    ms, mi = live.body_id("ms"), live.body_id("mi")
    staff.locator(f"#assign-body_{ms}").select_option("lead")
    staff.locator(f"#assign-body_{mi}").select_option("involved")
    staff.get_by_role("button", name="Zuständigkeit speichern").click()
    expect(staff.get_by_role("status")).to_contain_text("Zuständige Stellen gespeichert.")
    expect(staff.locator(f"#assign-body_{ms}")).to_have_value("lead")
    expect(staff.locator(f"#assign-body_{mi}")).to_have_value("involved")
    shot(staff, "story-05-bodies-assigned")

    # raised -> addressed, with the optional note.
    form = transition_form(staff, "address")
    form.get_by_label("Wie wurde die Forderung aufgegriffen?").fill(
        "Im Gespräch mit dem Sozialministerium am 2. Juli zugesagt, eine Lösung zu prüfen."
    )
    form.get_by_role("button", name="Als aufgegriffen markieren").click()
    expect(staff.get_by_role("status")).to_contain_text("Neuer Zustand: aufgegriffen.")
    shot(staff, "story-06-addressed")

    # The weekly digest, sent by the staff button, arrives at the real SMTP server.
    staff.goto("/verwaltung/erinnerungen")
    shot(staff, "story-07-reminders-preview")
    staff.get_by_role("button", name=re.compile(r"jetzt senden$")).click()
    expect(staff.get_by_role("status")).to_contain_text("Nachrichten versandt")
    shot(staff, "story-08-reminders-sent")
    live.mail.wait_for(1)
    digests = [m for m in live.mail.of_kind("digest:ms:")]
    assert len(digests) == 1, live.mail.keys()
    text, html = parts(digests[0])
    assert "Dolmetschkosten in der Gesundheitsversorgung übernehmen" in text
    assert "migration@ms.example.org" in str(digests[0]["To"])
    link = re.search(rf"{re.escape(live.url)}/antwort/\S+", text)
    assert link, text
    assert link.group(0) in html

    # The ministry answers through the link, without an account.
    ministry = new_context().new_page()
    ministry.goto(link.group(0))
    expect(ministry.get_by_role("heading", level=1)).to_contain_text(
        "Rückmeldung von Ministerium für Arbeit"
    )
    section = ministry.locator(f"#forderung-{demand_id}")
    section.get_by_text("Stellungnahme abgeben").click()
    section.get_by_label("Ihre Stellungnahme").fill(
        "Wir bereiten eine Förderrichtlinie für Sprachmittlung vor; Entwurf bis Ende des Jahres."
    )
    section.get_by_label("Name und Funktion").fill("Referat 34, Migration und Integration")
    shot(ministry, "story-09-answer-form")
    section.get_by_role("button", name="Stellungnahme senden").click()
    expect(ministry.get_by_role("status")).to_contain_text("Vielen Dank. Ihre Stellungnahme")
    shot(ministry, "story-10-answer-sent")

    # addressed -> evaluated, with summary and participants; then closed with an outcome.
    staff.goto(f"/verwaltung/forderungen/{demand_id}")
    form = transition_form(staff, "evaluate")
    form.get_by_label("Zusammenfassung der Evaluation").fill(
        "Die Sprachmittlung wird seit drei Monaten in zwei Landkreisen erprobt."
    )
    form.get_by_label("Wer hat an der Evaluation teilgenommen?").fill(
        "LIGA, Sozialministerium, zwei Migrationsberatungsstellen"
    )
    form.get_by_role("button", name="Evaluation festhalten").click()
    expect(staff.get_by_role("status")).to_contain_text("Neuer Zustand: evaluiert.")
    shot(staff, "story-11-evaluated")

    form = transition_form(staff, "close")
    form.get_by_label("teilweise umgesetzt").check()
    form.get_by_label("Begründung oder Anmerkung").fill("Landesweit ab 2027, zunächst befristet.")
    form.get_by_role("button", name="Abschließen").click()
    expect(staff.get_by_role("status")).to_contain_text("Neuer Zustand: abgeschlossen.")
    shot(staff, "story-12-closed")
    assert live.demand_state(demand_id) == "closed"

    # The public page shows the statement and the whole timeline.
    public = new_context().new_page()
    public.goto(f"/forderungen/{demand_id}")
    expect(public.get_by_role("heading", level=1)).to_have_text(
        "Dolmetschkosten in der Gesundheitsversorgung übernehmen"
    )
    timeline = public.locator(".timeline")
    expect(timeline).to_contain_text("Wir bereiten eine Förderrichtlinie für Sprachmittlung vor")
    expect(timeline).to_contain_text("Stellungnahme: Sozialministerium")
    for heading in (
        "Forderung erhoben",
        "Zuständigkeit geändert",
        "erhoben → aufgegriffen",
        "aufgegriffen → evaluiert",
        "evaluiert → abgeschlossen",
    ):
        expect(timeline).to_contain_text(heading)
    expect(timeline).to_contain_text("teilweise umgesetzt")
    expect(timeline).to_contain_text("LIGA, Sozialministerium, zwei Migrationsberatungsstellen")
    # the reminder is on the timeline too, but internal: it names the contacts' addresses
    expect(timeline).not_to_contain_text("Erinnerung verschickt")
    shot(public, "story-13-public-demand")
    staff.goto(f"/forderungen/{demand_id}")
    expect(staff.locator(".timeline")).to_contain_text("Erinnerung verschickt")


def test_a_stale_form_in_a_second_tab_is_refused(live, new_context, _sessions, shot):
    demand_id = live.make_demand("Zwei Tabs, ein Stand", bodies={"ms": "lead"})
    context = new_context(storage_state=_sessions["staff"])
    first, second = context.new_page(), context.new_page()
    first.goto(f"/verwaltung/forderungen/{demand_id}")
    second.goto(f"/verwaltung/forderungen/{demand_id}")

    transition_form(first, "address").get_by_role("button").click()
    expect(first.get_by_role("status")).to_contain_text("Neuer Zustand: aufgegriffen.")

    form = transition_form(second, "close")
    form.get_by_label("abgelehnt").check()
    with second.expect_response(re.compile(r"/schritt/close$")) as response:
        form.get_by_role("button", name="Abschließen").click()
    assert response.value.status == 409
    expect(second.get_by_role("alert")).to_contain_text(STALE)
    shot(second, "story-14-stale-second-tab")
    assert live.demand_state(demand_id) == "addressed"  # the first tab won, nothing else changed


def test_wrong_password_is_refused(page):
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill("referentin@example.org")
    page.get_by_label("Passwort (Pflichtangabe)", exact=True).fill("nicht-das-passwort")
    with page.expect_response(re.compile(r"/anmelden$")) as response:
        page.get_by_role("button", name="Anmelden").click()
    assert response.value.status == 401
    expect(page.get_by_role("alert")).to_contain_text("E-Mail-Adresse oder Passwort ist falsch.")
    expect(page).to_have_url(re.compile(r"/anmelden$"))


MAIN_PAGES = {
    "overview": "/",
    "demand": None,  # the first seeded demand
    "body": "/stellen/ms",
    "statistics": "/statistik",
    "event": "/veranstaltungen/fachtag-migration-2025",
    "login": "/anmelden",
}


def test_main_pages_at_phone_and_desktop_width(live, new_context, shot):
    from tracker.domain.models import Demand

    with live.db() as session:
        first = (
            session.query(Demand.id).filter(Demand.is_public.is_(True)).order_by(Demand.id).first()
        )
    for width in (360, 1440):
        page = new_context(viewport={"width": width, "height": 800}).new_page()
        for name, path in MAIN_PAGES.items():
            response = page.goto(path or f"/forderungen/{first.id}")
            assert response.status == 200, (name, response.status)
            # nothing may force sideways scrolling of the whole page on a phone
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
            shot(page, f"page-{name}-{width}")
