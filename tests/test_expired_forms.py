"""A form whose CSRF token was refused (too old, from an earlier login) keeps what was typed.

The error page offers it again with a fresh token, but only to a form of this site's own pages:
another site's forged POST gets the plain page, with none of its words on ours.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from forms_as_rendered import forms_of
from helpers import PASSWORD, make_body, make_demand
from helpers import timeline as entries_of
from markupsafe import escape

ORIGIN = {"Origin": "http://localhost"}  # what a browser sends with a form of this site
NOTE = 'Das Ministerium hat am 3. Dezember geantwortet:\r\n„Wir prüfen <das> & melden uns."'


def _note_form(client, demand):
    page = client.get(f"/verwaltung/forderungen/{demand.id}").get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith("/stand")]
    return form


def _kept_form(page: str):
    (form,) = [f for f in forms_of(page) if f.method == "post"]
    return form


def _log_in_again(client, staff):
    """Log in again (another tab, after the session ended): the session gets a new token."""
    page = client.get("/anmelden").get_data(as_text=True)
    (login,) = [f for f in forms_of(page) if f.method == "post"]
    answer = client.post("/anmelden", data=login.data(email=staff.email, password=PASSWORD))
    assert answer.status_code == 302


@pytest.mark.parametrize("refused_because", ["too old", "an earlier login"])
def test_a_note_whose_token_was_refused_is_kept_and_sent_again_once(
    client, auth, staff, clock, refused_because
):
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    if refused_because == "too old":
        clock.shift(dt.timedelta(hours=9))  # the tab stayed open overnight
    else:  # logged out and in again in another tab
        auth.logout()
        _log_in_again(client, staff)
    data = form.data(**{"update-text": NOTE, "update-is_public": "y"})
    refused = client.post(form.action, data=data, headers=ORIGIN)
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "Ihre Eingaben sind nicht verloren" in page
    assert "Wir prüfen &lt;das&gt; &amp; melden uns." in page  # shown, escaped
    assert "<das>" not in page
    shown = re.search(r'<ul class="kept">(.*?)</ul>', page, re.S)[1]
    assert re.findall(r"<li>(.*?)</li>", shown, re.S) == [
        str(escape(NOTE.replace("\r\n", "\n")))
    ]  # no ticked box
    assert entries_of(demand, "update") == []  # nothing was recorded
    kept = _kept_form(page)
    assert kept.action == form.action
    sent = dict(kept.fields)
    assert sent["update-text"] == NOTE  # line break and quotes as typed (CRLF as browsers send)
    assert sent["update-csrf_token"] != data["update-csrf_token"]
    assert sent["update-nonce"] == data["update-nonce"]  # a double click still counts once
    again = client.post(kept.action, data=kept.data(), headers=ORIGIN)
    assert again.status_code == 302
    assert client.post(kept.action, data=kept.data(), headers=ORIGIN).status_code == 302
    (entry,) = entries_of(demand, "update")
    assert entry.text == NOTE.replace("\r\n", "\n") and entry.is_public


def test_a_note_sent_after_the_login_ended_is_sent_with_one_click_after_logging_in_there(
    client, auth, staff
):
    """Logged out in another tab: the note is not lost in a redirect to the login page, and
    logging in on the page that keeps it brings it back with the new session's tokens."""
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    auth.logout()
    refused = client.post(form.action, data=form.data(**{"update-text": NOTE}), headers=ORIGIN)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 401 and "darum wurde nichts gespeichert" in page
    assert "Melden Sie sich hier an: Danach erscheinen Ihre Eingaben wieder" in page
    assert "Wir prüfen &lt;das&gt; &amp; melden uns." in page
    assert entries_of(demand, "update") == []
    login = _kept_form(page)
    assert login.action == "/anmelden" and NOTE not in dict(login.fields).values()  # sealed
    wrong = client.post(login.action, data=login.data(email=staff.email, password="falsch"))
    assert wrong.status_code == 401 and entries_of(demand, "update") == []
    page = wrong.get_data(as_text=True)
    assert "Nach der Anmeldung erscheinen Ihre Eingaben wieder" in page
    login = _kept_form(page)  # the login page, as shown again, still carries the input
    resumed = client.post("/anmelden", data=login.data(email=staff.email, password=PASSWORD))
    assert resumed.status_code == 200 and entries_of(demand, "update") == []
    page = resumed.get_data(as_text=True)
    assert "Ihre Eingaben sind noch nicht gespeichert" in page
    kept = _kept_form(page)
    assert kept.action == form.action and dict(kept.fields)["update-text"] == NOTE
    assert client.post(kept.action, data=kept.data(), headers=ORIGIN).status_code == 302
    assert [e.text for e in entries_of(demand, "update")] == [NOTE.replace("\r\n", "\n")]


def test_logged_in_meanwhile_in_another_tab_the_login_there_brings_the_input_back(
    client, auth, staff
):
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    auth.logout()
    page = client.post(form.action, data=form.data(**{"update-text": NOTE}), headers=ORIGIN)
    login = _kept_form(page.get_data(as_text=True))
    _log_in_again(client, staff)  # in a new tab
    resumed = client.post(login.action, data=login.data(), headers=ORIGIN)
    assert resumed.status_code == 200  # the login form's token was the old session's
    kept = _kept_form(resumed.get_data(as_text=True))
    assert client.post(kept.action, data=kept.data(), headers=ORIGIN).status_code == 302
    assert [e.text for e in entries_of(demand, "update")] == [NOTE.replace("\r\n", "\n")]


@pytest.mark.parametrize("tampered", ["signature", "other site", "expired"])
def test_a_sealed_input_not_ours_brings_nothing_back(client, auth, staff, clock, tampered):
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    auth.logout()
    page = client.post(form.action, data=form.data(**{"update-text": NOTE}), headers=ORIGIN)
    login = _kept_form(page.get_data(as_text=True))
    headers, sent = {}, {"email": staff.email, "password": PASSWORD}
    if tampered == "signature":
        sent["kept"] = dict(login.fields)["kept"][:-3] + "AAA"
    elif tampered == "other site":  # logged in meanwhile; a foreign page posts the sealed input
        _log_in_again(client, staff)
        headers = {"Origin": "https://angreifer.example"}
    else:  # the login form turns down its own token then; shown again, it carries nothing
        clock.shift(dt.timedelta(days=2))
        again = client.post(login.action, data=login.data(**sent), headers=ORIGIN)
        assert again.status_code == 400 and "Das Anmeldeformular war abgelaufen" in again.text
        login = _kept_form(again.get_data(as_text=True))
        assert dict(login.fields)["kept"] == ""
    answer = client.post(login.action or "/anmelden", data=login.data(**sent), headers=headers)
    assert answer.status_code == 302  # logged in (or already), to the staff pages, no input
    assert NOTE not in client.get(answer.location).get_data(as_text=True)
    assert entries_of(demand, "update") == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://angreifer.example"},
        {"Referer": "https://angreifer.example/seite"},
        {"Origin": "null"},
        {},
    ],
)
def test_a_form_from_elsewhere_gets_the_plain_page_without_its_words(client, auth, staff, headers):
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    data = form.data(**{"update-text": "Bitte rufen Sie 0900-123456 an", "update-csrf_token": "x"})
    refused = client.post(form.action, data=data, headers=headers)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Sicherheitstoken fehlt" in page
    assert "0900-123456" not in page and "Erneut senden" not in page
    assert entries_of(demand, "update") == []
    auth.logout()  # logged out, a valid token: the login page, as ever, without its words
    data = form.data(**{"update-text": "Bitte rufen Sie 0900-123456 an"})
    away = client.post(form.action, data=data, headers=headers)
    assert away.status_code == 302 and away.headers["Location"].startswith("/anmelden")


def test_a_refused_login_never_writes_the_password_into_the_page(client, staff):
    page = client.get("/anmelden").get_data(as_text=True)
    (login,) = [f for f in forms_of(page) if f.method == "post"]
    data = login.data(email=staff.email, password=PASSWORD, csrf_token="abgelaufen")
    refused = client.post("/anmelden", data=data, headers=ORIGIN)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Das Anmeldeformular war abgelaufen" in page
    assert PASSWORD not in page and "Erneut senden" not in page
    again = _kept_form(page)  # shown again with the address typed and a fresh token
    assert dict(again.fields)["email"] == staff.email and dict(again.fields)["password"] == ""
    assert client.post("/anmelden", data=again.data(password=PASSWORD)).status_code == 302


def test_the_kept_input_page_in_english(client, auth, staff):
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    client.get("/sprache/en")
    data = form.data(**{"update-text": "Stand", "update-csrf_token": "alt"})
    page = client.post(form.action, data=data, headers=ORIGIN).get_data(as_text=True)
    assert "Your input is not lost" in page and "Send again" in page


def test_a_button_without_anything_typed_gets_the_plain_page(client, auth, staff):
    """Logging out with an old token: nothing was typed, nothing is offered again."""
    auth.login(staff.email)
    refused = client.post("/abmelden", data={"csrf_token": "alt"}, headers=ORIGIN)
    assert refused.status_code == 400 and "Sicherheitstoken fehlt" in refused.text
    assert "Ihre Eingaben" not in refused.text


def test_a_login_form_gone_stale_in_the_tab_is_shown_again_still_carrying_the_input(
    client, auth, staff, clock
):
    demand = make_demand(bodies=[make_body()])
    auth.login(staff.email)
    form = _note_form(client, demand)
    auth.logout()
    page = client.post(form.action, data=form.data(**{"update-text": NOTE}), headers=ORIGIN)
    login = _kept_form(page.get_data(as_text=True))
    clock.shift(dt.timedelta(hours=9))  # the login form's token expired overnight
    sent = login.data(email=staff.email, password=PASSWORD)
    again = client.post(login.action, data=sent, headers=ORIGIN)
    assert again.status_code == 400 and "Das Anmeldeformular war abgelaufen" in again.text
    login = _kept_form(again.get_data(as_text=True))
    assert dict(login.fields)["email"] == staff.email and dict(login.fields)["kept"]
    resumed = client.post("/anmelden", data=login.data(password=PASSWORD), headers=ORIGIN)
    kept = _kept_form(resumed.get_data(as_text=True))
    assert client.post(kept.action, data=kept.data(), headers=ORIGIN).status_code == 302
    assert [e.text for e in entries_of(demand, "update")] == [NOTE.replace("\r\n", "\n")]
