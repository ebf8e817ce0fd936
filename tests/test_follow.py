"""Following a demand by e-mail: double opt-in, one message per public change, unsubscribe."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from helpers import csrf_token, make_body, make_demand

from tracker.domain.models import OutboxMessage, Subscription
from tracker.services import demands as demand_service
from tracker.services import outbox
from tracker.services.subscriptions import CONFIRMATIONS_PER_DAY


def _subscribe(client, demand, email="leser@example.org"):
    page = client.get(f"/forderungen/{demand.id}").get_data(as_text=True)
    link = re.search(r'href="(/forderungen/\d+/folgen)"', page).group(1)
    form = client.get(link).get_data(as_text=True)
    return client.post(link, data={"email": email, "csrf_token": csrf_token(form)})


def _messages(db, kind="subscription"):
    return db.session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
    ).all()


def test_double_opt_in_then_one_message_per_public_change(app, client, db):
    demand = make_demand(bodies=[make_body()])
    response = _subscribe(client, demand)
    assert response.status_code == 200 and "Bestätigungslink" in response.get_data(as_text=True)
    (confirmation,) = _messages(db)
    assert confirmation.to == ["leser@example.org"]
    link = re.search(r"http://tracker.test(/folgen/\S+/bestaetigen)", confirmation.text).group(1)

    # nothing is sent before confirming
    demand_service.add_update(demand, None, "Erster Stand", is_public=True)
    assert len(_messages(db)) == 1

    page = client.get(link).get_data(as_text=True)
    client.post(link, data={"csrf_token": csrf_token(page)})
    assert db.session.scalar(sa.select(Subscription)).active

    demand_service.add_update(demand, None, "intern", is_public=False)
    demand_service.add_update(demand, None, "Zweiter Stand", is_public=True)
    demand_service.advance(demand, "address", None, demand.version, {})
    notices = _messages(db)[1:]
    assert len(notices) == 2
    assert "Zweiter Stand" in notices[0].text and "intern" not in notices[0].text
    assert "aufgegriffen" in notices[1].text
    unsubscribe = re.search(r"http://tracker.test(/folgen/\S+/abmelden)", notices[0].text).group(1)
    email = outbox.build_email(notices[0])
    assert email["List-Unsubscribe"] == f"<http://tracker.test{unsubscribe}/ein-klick>"

    page = client.get(unsubscribe).get_data(as_text=True)
    client.post(unsubscribe, data={"csrf_token": csrf_token(page)})
    demand_service.add_update(demand, None, "Dritter Stand", is_public=True)
    assert len(_messages(db)) == 3


def test_subscribing_twice_does_not_reveal_or_duplicate(app, client, db):
    demand = make_demand()
    _subscribe(client, demand)
    second = _subscribe(client, demand, "LESER@example.org ")
    assert second.status_code == 200
    assert db.session.scalar(sa.select(sa.func.count(Subscription.id))) == 1


def test_asking_again_keeps_the_link_and_mails_it_once_a_day(app, client, db, time_machine):
    """Anyone may type any address: asked again before confirming, it gets no second mail the
    same day, and the first mail's link still works; the next day it may get one more."""
    time_machine.move_to("2026-12-04 09:00:00+00:00", tick=False)
    demand = make_demand()
    for _ in range(3):
        assert _subscribe(client, demand).status_code == 200
    (first,) = _messages(db)
    time_machine.move_to("2026-12-05 09:00:00+00:00", tick=False)
    _subscribe(client, demand)
    again = _messages(db)[1:]
    assert len(again) == 1
    link = re.search(r"http://tracker.test(/folgen/\S+/bestaetigen)", first.text).group(1)
    assert link in again[0].text  # the same link, mailed again
    page = client.get(link).get_data(as_text=True)
    client.post(link, data={"csrf_token": csrf_token(page)})
    assert db.session.scalar(sa.select(Subscription)).active


def test_an_address_gets_a_few_confirmation_requests_a_day_at_most(app, client, db):
    demands = [make_demand(f"Forderung {n}") for n in range(CONFIRMATIONS_PER_DAY + 2)]
    for demand in demands:
        assert _subscribe(client, demand, "opfer@example.org").status_code == 200
    assert len(_messages(db)) == CONFIRMATIONS_PER_DAY
    _subscribe(client, demands[-1], "jemand@example.org")  # another address is not held up
    assert len(_messages(db)) == CONFIRMATIONS_PER_DAY + 1


def test_bad_address_and_internal_demand(app, client, db):
    demand = make_demand()
    response = _subscribe(client, demand, "keine-adresse")
    assert response.status_code == 422
    assert "gültige E-Mail-Adresse" in response.get_data(as_text=True)
    internal = make_demand(is_public=False)
    assert client.get(f"/forderungen/{internal.id}/folgen").status_code == 404
    assert client.head(f"/forderungen/{demand.id}/folgen").status_code == 200  # as GET
    page = client.get(f"/forderungen/{demand.id}/folgen").get_data(as_text=True)
    response = client.post(
        f"/forderungen/{internal.id}/folgen",
        data={"email": "a@example.org", "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 404
    assert _messages(db) == []


def test_unknown_token_is_404(client):
    assert client.get("/folgen/unbekannt/bestaetigen").status_code == 404
    assert client.get("/folgen/unbekannt/abmelden").status_code == 404


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_the_follow_forms_limit_says_how_long_to_wait(app, client, db, app_config):
    """The form takes 20 submissions an hour from one client; the 21st is told the minutes to
    wait, in the reader's language, as Retry-After says."""
    demand = make_demand()
    for n in range(20):
        assert _subscribe(client, demand, f"leser{n}@example.org").status_code == 200
    refused = _subscribe(client, demand, "noch-einer@example.org")
    assert refused.status_code == 429
    waits = int(refused.headers["Retry-After"]) / 60
    said = re.search(r"Bitte versuchen Sie es in (\d+) Minuten erneut\.", refused.get_data(True))
    assert said and waits > 50 and abs(int(said[1]) - waits) <= 1
    client.set_cookie("sprache", "en")  # the language switch's cookie
    english = _subscribe(client, demand, "one-more@example.org")
    assert english.status_code == 429 and "Please try again in" in english.get_data(True)
