"""Answers that count in a real browser: a body commits to a date, staff classify its statement."""

from __future__ import annotations

import datetime as dt
import re

from browserkit import shot
from playwright.sync_api import expect

EVENT = "fachtag-migration-2025"


def _answered(page) -> tuple[int, int]:
    """Read 'N von M' of the overall share answered on /statistik."""
    page.goto("/statistik")
    item = page.locator("ul.figures li", has_text="mit inhaltlicher Antwort").first
    answered, total = re.search(r"(\d+) von (\d+)", item.inner_text()).groups()
    return int(answered), int(total)


def test_body_commits_and_staff_classify_the_statement(live, new_context, staff_page):
    from tracker.models import Event

    with live.db() as session:
        import sqlalchemy as sa

        event_id = session.scalar(sa.select(Event.id).where(Event.slug == EVENT))
    demand_id = live.make_demand(
        "Integrationskurse ohne Wartezeit anbieten",
        bodies={"bamf": "lead"},
        event_id=event_id,
    )
    public = new_context().new_page()
    before = _answered(public)
    promised = dt.date.today() + dt.timedelta(days=21)

    # The BAMF answers through its link: a statement, its file reference and a committed date.
    body = new_context().new_page()
    body.goto(f"/antwort/{live.answer_token('bamf')}")
    section = body.locator(f"#forderung-{demand_id}")
    section.get_by_text("Stellungnahme abgeben").click()
    section.get_by_label("Ihre Stellungnahme").fill(
        "Wir prüfen zusätzliche Kursträger und antworten bis zum genannten Datum."
    )
    section.get_by_label("Ihr Aktenzeichen (freiwillig)").fill("BAMF-MD 12/2026")
    section.get_by_label("Antwort zugesagt bis (freiwillig)").fill(promised.isoformat())
    # nothing on this page lets the body classify its own statement
    expect(section.get_by_label("Einordnung")).to_have_count(0)
    shot(body, "answers-01-commitment-form")
    section.get_by_role("button", name="Stellungnahme senden").click()
    expect(body.get_by_role("status")).to_contain_text("Vielen Dank")
    expect(body.locator(f"#forderung-{demand_id}")).to_contain_text(
        f"Antwort zugesagt bis: {promised:%d.%m.%Y}"
    )

    # Public: the commitment is on the demand page.
    public.goto(f"/forderungen/{demand_id}")
    side = public.get_by_role("complementary")
    expect(side).to_contain_text("Aktenzeichen: BAMF-MD 12/2026")
    expect(side).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    shot(public, "answers-02-public-commitment")
    # an unclassified statement does not count as answered
    assert _answered(public) == before

    # The digest preview names the committed date as the target.
    staff_page.goto("/verwaltung/erinnerungen")
    preview = staff_page.locator("details", has_text="Bundesamt")
    preview.locator("summary").click()
    expect(preview).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    shot(staff_page, "answers-03-digest-preview")

    # Staff classify the statement as a substantive answer.
    staff_page.goto(f"/verwaltung/forderungen/{demand_id}")
    card = staff_page.locator(".statement").first
    expect(card).to_contain_text("noch nicht eingeordnet")
    card.get_by_label("Einordnung").select_option(label="inhaltliche Antwort")
    card.get_by_role("button", name="Einordnen").click()
    expect(staff_page.get_by_role("status")).to_contain_text(
        "Die Stellungnahme ist eingeordnet als „inhaltliche Antwort“."
    )
    expect(staff_page.locator(".statement").first).to_contain_text(
        "Eingeordnet als: inhaltliche Antwort"
    )
    shot(staff_page, "answers-04-classified")

    # Public page, statistics and report show it.
    public.goto(f"/forderungen/{demand_id}")
    timeline = public.locator(".timeline")
    expect(timeline).to_contain_text("Stellungnahme eingeordnet: inhaltliche Antwort")
    expect(timeline).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    assert _answered(public) == (before[0] + 1, before[1])
    public.goto(f"/berichte/{EVENT}")
    entry = public.locator(".report__demand", has_text="Integrationskurse ohne Wartezeit anbieten")
    expect(entry).to_contain_text("inhaltliche Antwort")
    expect(entry).to_contain_text(f"Antwort zugesagt bis: {promised:%d.%m.%Y}")
    expect(entry).to_contain_text("Aktenzeichen: BAMF-MD 12/2026")
    shot(public, "answers-05-report")
