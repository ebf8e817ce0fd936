"""Evidence in a real browser: a consultation with a 12-working-day period, a meeting with two next
steps, and where they show up: the public pages, the statistics, the report and the digest."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from browserkit import shot
from playwright.sync_api import expect

from tracker.workdays import add_workdays

EVENT = "fachtag-migration-2025"
BODY = "Landesverwaltungsamt Sachsen-Anhalt"
RECEIVED = dt.date(2026, 11, 2)
TITLE = "Entwurf einer Verordnung zur Wohnsitzauflage (Beispiel)"
STEPS = ("Beispiel: Fallzahlen der Wohnsitzauflage liefern", "Beispiel: Merkblatt abstimmen")


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def no_violations(axe, page) -> None:
    results = axe.run(page)
    violations = results.response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_consultation_and_meeting_are_seen_everywhere(live, staff_page, new_context, axe):
    staff = staff_page
    deadline = add_workdays(RECEIVED, 12)

    # A form sent with a deadline before the receipt is refused with a German message.
    staff.goto("/verwaltung/beteiligungen/neu")
    staff.get_by_label("Stelle (Pflichtangabe)", exact=True).select_option(label=BODY)
    staff.get_by_label("Titel des Vorhabens").fill(TITLE)
    staff.get_by_label("Eingang der Anfrage").fill(RECEIVED.isoformat())
    staff.get_by_label("Frist für die Stellungnahme").fill("2026-10-01")
    with staff.expect_response(re.compile(r"/beteiligungen/neu$")) as response:
        staff.get_by_role("button", name="Speichern").click()
    assert response.value.status == 422
    expect(staff.get_by_role("alert")).to_contain_text(
        "Die Frist kann nicht vor dem Eingang liegen."
    )
    no_violations(axe, staff)
    shot(staff, "evidence-01-consultation-errors")

    staff.get_by_label("Frist für die Stellungnahme").fill(deadline.isoformat())
    staff.get_by_label("Migrationsfachdienste frühzeitig bei Gesetzesänderungen").check()
    staff.get_by_role("button", name="Speichern").click()
    staff.wait_for_url(re.compile(r"/verwaltung/beteiligungen/\d+$"))
    expect(staff.get_by_role("status")).to_contain_text("Gespeichert.")
    expect(staff.get_by_label("Eingang der Anfrage")).to_have_value(RECEIVED.isoformat())
    shot(staff, "evidence-02-consultation-saved")

    # A meeting with two agreed next steps, both for the body.
    due = dt.date.today() + dt.timedelta(days=30)
    staff.goto("/verwaltung/gespraeche/neu")
    staff.get_by_label("Stelle (Pflichtangabe)", exact=True).select_option(label=BODY)
    staff.get_by_label("Datum des Gesprächs").fill(
        (dt.date.today() - dt.timedelta(days=7)).isoformat()
    )
    staff.get_by_label("Form", exact=True).select_option(label="Videokonferenz")
    staff.get_by_label("Teilnehmende").fill("LIGA Fachausschuss Migration, Referat 21 (Beispiel)")
    staff.get_by_label("Öffentliche Zusammenfassung").fill(
        "Beispiel: Austausch zur Wohnsitzauflage."
    )
    for index, text in enumerate(STEPS):
        staff.locator(f"#steps-{index}-text").fill(text)
        staff.locator(f"#steps-{index}-due_on").fill(due.isoformat())
        staff.locator(f"#steps-{index}-body_id").select_option(label="Landesverwaltungsamt")
    no_violations(axe, staff)
    staff.get_by_role("button", name="Speichern").click()
    staff.wait_for_url(re.compile(r"/verwaltung/gespraeche/\d+$"))
    expect(staff.get_by_role("status")).to_contain_text("Gespeichert.")
    shot(staff, "evidence-03-meeting-saved")

    public = new_context().new_page()
    public.goto("/beteiligungen")
    row = public.locator("tr", has_text=TITLE)
    expect(row).to_contain_text("12 Arbeitstage")
    expect(row).to_contain_text("kurze Frist")
    no_violations(axe, public)
    shot(public, "evidence-04-consultations-page")

    public.goto("/dialog")
    for text in STEPS:
        expect(public.get_by_text(text)).to_be_visible()
    expect(public.locator("tr", has_text="Landesverwaltungsamt")).to_contain_text(
        "letztes Gespräch vor 1 Woche"
    )
    no_violations(axe, public)
    shot(public, "evidence-05-dialogue-page")

    public.goto("/stellen/lvwa")
    expect(public.get_by_role("region", name="Beteiligung und Dialog")).to_contain_text(
        "2 offene nächste Schritte"
    )

    public.goto("/statistik")
    table = public.get_by_role("table", name=re.compile("Beteiligungsverfahren, Median"))
    expect(table.locator("tr", has_text="Landesverwaltungsamt")).to_contain_text("12")
    shot(public, "evidence-06-statistics")

    public.goto(f"/berichte/{EVENT}")
    expect(public.locator("tr", has_text=TITLE)).to_contain_text("12 Arbeitstage")
    for text in STEPS:
        expect(public.get_by_text(text)).to_be_visible()
    shot(public, "evidence-07-report")

    public.goto("/")
    public.get_by_role("link", name=re.compile("Migrationsfachdienste frühzeitig")).first.click()
    public.get_by_role("link", name="Belege: Beteiligungsverfahren und ihre Fristen").click()
    expect(public).to_have_url(re.compile(r"/beteiligungen$"))

    # The body's digest (preview of this week's) lists the open next steps.
    staff.goto("/verwaltung/erinnerungen")
    digest = staff.locator("details", has_text=BODY)
    digest.locator("summary").click()
    for text in STEPS:
        expect(digest.locator("pre")).to_contain_text(text)
    expect(digest.locator("pre")).to_contain_text("Offene nächste Schritte aus Gesprächen")
    shot(staff, "evidence-08-digest-preview")
