"""Issue 13's "done when" in a real browser: a consultation with a 12-working-day period, a meeting
with two next steps and a statement with a committed date that staff classify, and where each of
them shows up: the public pages, the statistics, the digest (this week's preview) and the report.

The digest is checked in the staff preview, not sent: sending writes this week's digest of every
body, which the story test (sharing the live server) needs to write itself.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tracker.domain.workdays import add_workdays

EVENT = "fachtag-migration-2025"
BODY = "Landesverwaltungsamt Sachsen-Anhalt"
RECEIVED = dt.date(2026, 11, 2)
TITLE = "Entwurf einer Verordnung zur Wohnsitzauflage (Beispiel)"
STEPS = ("Beispiel: Fallzahlen der Wohnsitzauflage liefern", "Beispiel: Merkblatt abstimmen")
DEMAND = "Beispiel: Härtefälle der Wohnsitzauflage transparent entscheiden"
STATEMENT = "Beispiel: Wir werten die Härtefälle aus und antworten bis zum genannten Datum."
REFERENCE = "LVwA-204 17/2026"


@pytest.fixture
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def no_violations(axe, page) -> None:
    results = axe.run(page)
    violations = results.response["violations"]
    assert not violations, [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def _answered(page) -> tuple[int, int]:
    """Read 'N von M' of the overall share answered on /statistik."""
    page.goto("/statistik")
    item = page.locator("ul.figures li", has_text="mit inhaltlicher Antwort").first
    answered, total = re.search(r"(\d+) von (\d+)", item.inner_text()).groups()
    return int(answered), int(total)


def _digest_preview(staff):
    """Open this week's digest of the body in the staff preview; return its text block."""
    staff.goto("/verwaltung/erinnerungen")
    digest = staff.locator("details", has_text=BODY)
    digest.locator("summary").click()
    return digest.locator("pre")


def test_consultation_meeting_and_commitment_are_seen_everywhere(
    live, staff_page, new_context, axe, shot
):
    import sqlalchemy as sa

    from tracker.domain.models import Event

    staff = staff_page
    deadline = add_workdays(RECEIVED, 12)
    with live.db() as session:
        event_id = session.scalar(sa.select(Event.id).where(Event.slug == EVENT))
    demand_id = live.make_demand(DEMAND, bodies={"lvwa": "lead"}, event_id=event_id)
    public = new_context().new_page()
    answered_before = _answered(public)

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
    staff.get_by_label(DEMAND).check()  # the consultation concerns the example demand too
    staff.get_by_role("button", name="Speichern").click()
    staff.wait_for_url(re.compile(r"/verwaltung/beteiligungen/\d+$"))
    expect(staff.get_by_role("status")).to_contain_text("Gespeichert.")
    expect(staff.get_by_label("Eingang der Anfrage")).to_have_value(RECEIVED.isoformat())
    # the edit form shows the consultation and its demands; saved as shown, nothing changes
    expect(
        staff.get_by_label("Die Stelle hat die LIGA um eine Stellungnahme gebeten")
    ).to_be_checked()
    expect(staff.get_by_label(DEMAND)).to_be_checked()
    expect(
        staff.get_by_label("Migrationsfachdienste frühzeitig bei Gesetzesänderungen")
    ).to_be_checked()
    shot(staff, "evidence-02-consultation-saved")
    staff.get_by_role("button", name="Speichern").click()
    expect(staff.get_by_role("status")).to_contain_text("Keine Änderung.")
    expect(staff.get_by_label(DEMAND)).to_be_checked()

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
    expect(staff.locator("#steps-1-text")).to_have_value(STEPS[1])
    staff.get_by_role("button", name="Speichern").click()
    expect(staff.get_by_role("status")).to_contain_text("Keine Änderung.")
    shot(staff, "evidence-03-meeting-saved")

    # The body answers through the signed link in its digest: a statement, its file reference
    # and the date by which it commits to answer.
    preview = _digest_preview(staff)
    for text in STEPS:
        expect(preview).to_contain_text(text)
    link = re.search(rf"{re.escape(live.url)}/antwort/\S+", preview.inner_text())
    assert link, preview.inner_text()
    promised = dt.date.today() + dt.timedelta(days=21)
    body = new_context().new_page()
    body.goto(link.group(0))
    section = body.locator(f"#forderung-{demand_id}")
    section.get_by_text("Stellungnahme abgeben").click()
    section.get_by_label("Ihre Stellungnahme").fill(STATEMENT)
    section.get_by_label("Ihr Aktenzeichen (freiwillig)").fill(REFERENCE)
    section.get_by_label("Antwort zugesagt bis (freiwillig)").fill(promised.isoformat())
    # nothing on this page lets the body classify its own statement
    expect(section.get_by_label("Einordnung")).to_have_count(0)
    shot(body, "evidence-04-commitment-form")
    section.get_by_role("button", name="Stellungnahme senden").click()
    expect(body.get_by_role("status")).to_contain_text("Vielen Dank")
    expect(body.locator(f"#forderung-{demand_id}")).to_contain_text(
        f"Antwort zugesagt bis: {promised:%d.%m.%Y}"
    )
    # an unclassified statement does not count as answered
    assert _answered(public) == answered_before

    # Until it is answered, the committed date is on the demand's page and is the target in the
    # body's digest (this week's preview), next to the open next steps of the meeting.
    public.goto(f"/forderungen/{demand_id}")
    side = public.get_by_role("complementary")
    expect(side).to_contain_text(f"Aktenzeichen: {REFERENCE}")
    expect(side).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    shot(public, "evidence-05-demand-commitment")
    preview = _digest_preview(staff)
    expect(preview).to_contain_text(DEMAND)
    expect(preview).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    expect(preview).to_contain_text("Offene nächste Schritte aus Gesprächen")
    for text in STEPS:
        expect(preview).to_contain_text(f"{text} (bis {due:%d.%m.%Y})")
    shot(staff, "evidence-06-digest-preview")

    # Staff classify the statement as a substantive answer.
    staff.goto(f"/verwaltung/forderungen/{demand_id}")
    card = staff.locator(".statement").first
    expect(card).to_contain_text("noch nicht eingeordnet")
    card.get_by_label("Einordnung").select_option(label="inhaltliche Antwort")
    card.get_by_role("button", name="Einordnen").click()
    expect(staff.get_by_role("status")).to_contain_text(
        "Die Stellungnahme ist eingeordnet als „inhaltliche Antwort“."
    )
    card = staff.locator(".statement").first
    expect(card).to_contain_text("Eingeordnet als: inhaltliche Antwort")
    # the select shows the current class; sending it as shown is no new classification
    expect(card.get_by_label("Einordnung")).to_have_value("substantive")
    card.get_by_role("button", name="Einordnen").click()
    expect(staff.get_by_role("status")).to_contain_text("Keine Änderung.")
    expect(staff.locator(".statement").first.get_by_label("Einordnung")).to_have_value(
        "substantive"
    )
    shot(staff, "evidence-07-classified")

    # Public pages: the consultation, the dialogue, the body, the demand.
    public.goto("/beteiligungen")
    row = public.locator("tr", has_text=TITLE)
    expect(row).to_contain_text("12 Arbeitstage")
    expect(row).to_contain_text("kurze Frist")
    expect(row).to_contain_text(DEMAND)
    no_violations(axe, public)
    shot(public, "evidence-08-consultations-page")

    public.goto("/dialog")
    for text in STEPS:
        expect(public.get_by_text(text)).to_be_visible()
    expect(public.locator("tr", has_text="Landesverwaltungsamt")).to_contain_text(
        "letztes Gespräch vor 1 Woche"
    )
    no_violations(axe, public)
    shot(public, "evidence-09-dialogue-page")

    public.goto("/stellen/lvwa")
    expect(public.get_by_role("region", name="Beteiligung und Dialog")).to_contain_text(
        "2 offene nächste Schritte"
    )

    # the substantive answer fulfils the commitment: it stays on the timeline
    public.goto(f"/forderungen/{demand_id}")
    expect(public.get_by_role("complementary")).to_contain_text(f"Aktenzeichen: {REFERENCE}")
    timeline = public.locator(".timeline")
    expect(timeline).to_contain_text(STATEMENT)
    expect(timeline).to_contain_text("Stellungnahme eingeordnet: inhaltliche Antwort")
    expect(timeline).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    shot(public, "evidence-10-demand-answered")

    # The statistics: the consultation's period, and the classified statement counts as answered.
    public.goto("/statistik")
    table = public.get_by_role("table", name=re.compile("Beteiligungsverfahren, Median"))
    expect(table.locator("tr", has_text="Landesverwaltungsamt")).to_contain_text("12")
    shot(public, "evidence-11-statistics")
    assert _answered(public) == (answered_before[0] + 1, answered_before[1])

    # The report: the consultation, the next steps and the demand with its answer.
    public.goto(f"/berichte/{EVENT}")
    expect(public.locator("tr", has_text=TITLE)).to_contain_text("12 Arbeitstage")
    for text in STEPS:
        expect(public.get_by_text(text)).to_be_visible()
    entry = public.locator(".report__demand", has_text=DEMAND)
    expect(entry).to_contain_text("inhaltliche Antwort")
    expect(entry).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    expect(entry).to_contain_text(f"Aktenzeichen: {REFERENCE}")
    shot(public, "evidence-12-report")

    public.goto("/")
    public.get_by_role("link", name=re.compile("Migrationsfachdienste frühzeitig")).first.click()
    public.get_by_role("link", name="Belege: Beteiligungsverfahren und ihre Fristen").click()
    expect(public).to_have_url(re.compile(r"/beteiligungen$"))

    # The digest keeps reminding the body of the open next steps.
    preview = _digest_preview(staff)
    for text in STEPS:
        expect(preview).to_contain_text(text)
