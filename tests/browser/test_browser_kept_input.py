"""A note typed while the login ended in another tab reaches the timeline in a real browser.

Chromium sends the form's ``Origin``, which is what lets the error pages offer it again.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from browserkit import PASSWORD, login
from playwright.sync_api import expect

EMAIL = "zwei-tabs@example.org"  # logging out ends all of a user's sessions: not the shared one


def test_a_note_typed_before_logging_in_again_elsewhere_is_sent_again(live, new_context, shot):
    from tracker.domain.models import Demand, User

    demand_id = live.make_demand("Stand nach neuer Anmeldung")
    with live.db() as session:
        if session.scalar(sa.select(User.id).where(User.email == EMAIL)) is None:
            user = User(email=EMAIL, name="Zwei Tabs", role="staff", active=True)
            user.set_password(PASSWORD)
            session.add(user)
            session.commit()
    context = new_context()
    writing = context.new_page()
    login(writing, EMAIL)
    writing.goto(f"/verwaltung/forderungen/{demand_id}")
    note = writing.locator("form[action$='/stand']")
    note.get_by_label("Neuer Stand").fill("Zeile eins\nZeile zwei <b>fett?</b>")

    other = context.new_page()  # meanwhile, in another tab: logged out and in again
    other.goto("/abmelden")
    other.get_by_role("button", name="Abmelden").click()
    expect(other).to_have_url(re.compile(r"/anmelden|/$"))
    login(other, EMAIL)

    note.get_by_role("button", name="Eintragen").click()
    expect(writing.get_by_role("heading", level=1)).to_contain_text("Ungültige Anfrage")
    expect(writing.locator(".kept li")).to_have_text("Zeile eins\nZeile zwei <b>fett?</b>")
    shot(writing, "kept-input-01-send-again")
    writing.get_by_role("button", name="Erneut senden").click()
    expect(writing.get_by_role("status")).to_contain_text("Der neue Stand steht in der Chronik.")
    with live.db() as session:
        notes = [e.text for e in session.get(Demand, demand_id).timeline if e.kind == "update"]
    assert notes == ["Zeile eins\nZeile zwei <b>fett?</b>"]
