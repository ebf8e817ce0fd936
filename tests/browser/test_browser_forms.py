"""Saving „Forderung bearbeiten“ unchanged in a real browser keeps the source and topics."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import expect


def test_saving_the_demand_form_unchanged_keeps_event_part_and_topics(live, staff_page, shot):
    from tracker.domain.models import Demand, EventPart, Topic

    with live.db() as session:
        part = session.scalars(sa.select(EventPart).order_by(EventPart.id)).all()[-1]
        topics = session.scalars(sa.select(Topic).order_by(Topic.id).limit(2)).all()
        part_id, event_id, topic_ids = part.id, part.event_id, sorted(t.id for t in topics)
    with live.request_ctx() as session:
        topics = session.scalars(sa.select(Topic).where(Topic.id.in_(topic_ids))).all()
        demand_id = live.make_demand(
            "Unverändert speichern",
            text="Erste Zeile.\nZweite Zeile.",
            event_id=event_id,
            event_part_id=part_id,
            topics=topics,
        )

    page = staff_page
    page.goto(f"/verwaltung/forderungen/{demand_id}")
    form = page.locator(f"form[action$='/forderungen/{demand_id}/bearbeiten']")
    expect(form.get_by_label("Herkunft (Veranstaltung und Teil)")).to_have_value(str(part_id))
    form.get_by_role("button", name="Speichern").click()
    expect(page.get_by_role("status")).to_contain_text("Keine Änderung.")
    shot(page, "forms-01-saved-unchanged")

    with live.db() as session:
        demand = session.get(Demand, demand_id)
        assert demand.event_part_id == part_id and demand.event_id == event_id
        assert sorted(t.id for t in demand.topics) == topic_ids
        assert demand.text == "Erste Zeile.\nZweite Zeile."
        assert [e.kind for e in demand.timeline] == ["created"]  # nothing edited
