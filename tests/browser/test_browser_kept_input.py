"""A note typed while the login ended in another tab reaches the timeline in a real browser.

Chromium sends the form's ``Origin``, which is what lets the error pages offer it again.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from browserkit import PASSWORD, login
from playwright.sync_api import expect

EMAIL = "zwei-tabs@example.org"  # logging out ends all of a user's sessions: not the shared one


def _own_user(live) -> None:
    from tracker.domain.models import User

    with live.db() as session:
        if session.scalar(sa.select(User.id).where(User.email == EMAIL)) is None:
            user = User(email=EMAIL, name="Zwei Tabs", role="staff", active=True)
            user.set_password(PASSWORD)
            session.add(user)
            session.commit()


def _notes(live, demand_id) -> list[str]:
    from tracker.domain.models import Demand

    with live.db() as session:
        return [e.text for e in session.get(Demand, demand_id).timeline if e.kind == "update"]


def test_a_note_typed_before_logging_in_again_elsewhere_is_sent_again(live, new_context, shot):
    demand_id = live.make_demand("Stand nach neuer Anmeldung")
    _own_user(live)
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
    assert _notes(live, demand_id) == ["Zeile eins\nZeile zwei <b>fett?</b>"]


def test_a_note_typed_after_logging_out_elsewhere_is_sent_after_logging_in_on_its_page(
    live, new_context, shot
):
    demand_id = live.make_demand("Stand nach Abmeldung")
    _own_user(live)
    context = new_context()
    writing = context.new_page()
    login(writing, EMAIL)
    writing.goto(f"/verwaltung/forderungen/{demand_id}")
    note = writing.locator("form[action$='/stand']")
    note.get_by_label("Neuer Stand").fill("Nach der Abmeldung geschrieben")
    other = context.new_page()  # meanwhile, in another tab: logged out
    other.goto("/abmelden")
    other.get_by_role("button", name="Abmelden").click()
    expect(other).to_have_url(re.compile(r"/anmelden|/$"))

    note.get_by_role("button", name="Eintragen").click()
    expect(writing.locator(".kept li")).to_have_text("Nach der Abmeldung geschrieben")
    writing.get_by_label("E-Mail-Adresse").fill(EMAIL)
    writing.get_by_label("Passwort (Pflichtangabe)", exact=True).fill(PASSWORD)
    writing.get_by_role("button", name="Anmelden").click()
    expect(writing.get_by_role("heading", level=1)).to_have_text("Angemeldet")
    expect(writing.locator(".kept li")).to_have_text("Nach der Abmeldung geschrieben")
    shot(writing, "kept-input-02-after-login")
    assert _notes(live, demand_id) == []
    writing.get_by_role("button", name="Erneut senden").click()
    expect(writing.get_by_role("status")).to_contain_text("Der neue Stand steht in der Chronik.")
    assert _notes(live, demand_id) == ["Nach der Abmeldung geschrieben"]
