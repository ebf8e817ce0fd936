"""Repeated demands: the link to the earlier demand, „gefordert seit“, the report's order."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from forms_as_rendered import forms_of
from helpers import make_body, make_demand, make_user, timeline
from test_api import check

from tracker.domain.models import Demand, Event, EventPart, TimelineEntry
from tracker.services import api_tokens, repeats
from tracker.services.errors import ServiceError


@pytest.fixture
def chain(app, db):
    """The Fachtag 2025 demand and the same demand raised again at a later (example) event."""
    ms = make_body()
    first = Event(slug="fachtag-2025", title="Fachtag 2025", date=dt.date(2025, 6, 18))
    later = Event(slug="beispiel-2026", title="Beispiel: Fachtag 2026", date=dt.date(2026, 6, 17))
    later.parts.append(EventPart(slug="podium", kind="panel", title="Podium", position=0))
    db.session.add_all([first, later])
    db.session.commit()
    old = make_demand("Dialogkultur erweitern", bodies=[ms], event_id=first.id)
    fresh = make_demand(
        "Neue Forderung 2026", bodies=[ms], event_id=later.id, event_part_id=later.parts[0].id
    )
    again = make_demand("Dialogkultur erweitern (erneut)", bodies=[ms], event_id=later.id)
    return {"old": old, "fresh": fresh, "again": again, "later": later}


def send_repeats_form(client, demand, **changes):
    """Load the staff demand page and submit its „Wiederholt“ form as rendered, with
    ``changes`` (``repeats``, ``version``) typed in."""
    url = f"/verwaltung/forderungen/{demand.id}"
    page = client.get(url).get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith(url + "/wiederholt")]
    return client.post(
        form.action, data=form.data(**{f"repeats-{k}": v for k, v in changes.items()})
    )


def test_demanded_since_follows_the_chain(db, chain, request_ctx):
    assert repeats.demanded_since(chain["again"]) == dt.date(2026, 6, 17)
    repeats.set_repeats(chain["again"], chain["old"], None, None)
    db.session.commit()
    assert repeats.demanded_since(chain["again"]) == dt.date(2025, 6, 18)
    (entry,) = [e for e in timeline(chain["again"], "edited")]
    assert entry.data == {"before": {"repeats": None}, "after": {"repeats": chain["old"].id}}


def test_self_and_cycles_are_refused(db, chain, request_ctx):
    with pytest.raises(ServiceError, match="sich nicht selbst wiederholen"):
        repeats.set_repeats(chain["old"], chain["old"], None, None)
    repeats.set_repeats(chain["again"], chain["old"], None, None)
    db.session.commit()
    with pytest.raises(ServiceError, match="Kreis"):
        repeats.set_repeats(chain["old"], chain["again"], None, None)


def test_a_change_made_meanwhile_is_refused_not_an_error(app, db, chain, request_ctx):
    from tracker.domain.models import Demand
    from tracker.services.errors import StaleDemand

    mine = db.session.get(Demand, chain["again"].id)  # loaded at its version in this session
    with app.app_context():  # someone else, with a session of their own, changes it first
        theirs = db.session.get(Demand, mine.id)
        theirs.title = "Dialogkultur erweitern (neu gefasst)"
        db.session.commit()

    with pytest.raises(StaleDemand):
        repeats.set_repeats(mine, chain["old"], None, None)  # no form version: the row's decides
    db.session.expire_all()
    assert db.session.get(Demand, mine.id).repeats_id is None


def test_staff_link_it_and_pages_show_since_when(client, auth, db, chain, staff):
    auth.login_as(staff)
    response = send_repeats_form(client, chain["again"], repeats=str(chain["old"].id))
    assert response.status_code == 302
    public = client.get(f"/forderungen/{chain['again'].id}").get_data(as_text=True)
    assert "gefordert seit 18.06.2025" in public
    assert "Wiederholt die Forderung" in public and "Dialogkultur erweitern</a>" in public

    report = client.get("/berichte/beispiel-2026?fassung=oeffentlich").get_data(as_text=True)
    # repeated demands first, even before the demands of the event's parts
    assert report.index("Dialogkultur erweitern (erneut)") < report.index("Neue Forderung 2026")
    assert "erneut erhoben, gefordert seit 18.06.2025" in report


@pytest.mark.parametrize(
    ("value", "status"),
    [("99999", 422), ("self", 422), ("", 302), ("abc", 422), ("12.5", 422), ("-3", 422)],
)
def test_staff_form_refuses_bad_links(client, auth, db, chain, staff, value, status):
    auth.login_as(staff)
    before = db.session.scalar(sa.select(sa.func.count(TimelineEntry.id)))
    response = send_repeats_form(
        client, chain["again"], repeats=str(chain["again"].id) if value == "self" else value
    )
    assert response.status_code == status
    assert db.session.scalar(sa.select(sa.func.count(TimelineEntry.id))) == before


def test_stale_form_is_refused(client, auth, db, chain, staff):
    auth.login_as(staff)
    response = send_repeats_form(
        client,
        chain["again"],
        repeats=str(chain["old"].id),
        version=str(chain["again"].version - 1),
    )
    assert response.status_code == 409
    assert "inzwischen geändert" in response.get_data(as_text=True)


def test_api_links_repeated_demands(client, db, chain):
    user = make_user(email="api@example.org")
    _row, plain = api_tokens.create_token(user, "Skript")
    headers = {"Authorization": f"Bearer {plain}"}
    spec = client.get("/api/v1/openapi.json").get_json()
    path = "/demands/{demand_id}/repeats"
    url = f"/api/v1/demands/{chain['again'].id}/repeats"
    version = chain["again"].version
    denied = client.put(url, json={"repeats": chain["old"].id, "version": version})
    assert check(spec, denied, path, "put")["code"] == "unauthorized"
    bad = client.put(url, json={"repeats": "x", "version": version}, headers=headers)
    assert check(spec, bad, path, "put")["code"] == "validation_failed"
    cycle = client.put(
        url, json={"repeats": chain["again"].id, "version": version}, headers=headers
    )
    assert check(spec, cycle, path, "put")["code"] == "validation_failed"
    stale = client.put(url, json={"repeats": chain["old"].id, "version": 0}, headers=headers)
    assert check(spec, stale, path, "put")["code"] == "stale"
    done = client.put(url, json={"repeats": chain["old"].id, "version": version}, headers=headers)
    assert check(spec, done, path, "put")["repeats"] == chain["old"].id
    one = check(spec, client.get(url.rsplit("/", 1)[0]), "/demands/{demand_id}")
    assert one["demanded_since"] == "2025-06-18"

    created = client.post(
        "/api/v1/demands",
        json={"title": "Noch einmal", "text": "Text", "repeats": chain["old"].id},
        headers=headers,
    )
    assert check(spec, created, "/demands", "post")["repeats"] == chain["old"].id
    unknown = client.post(
        "/api/v1/demands", json={"title": "X", "text": "Y", "repeats": 99999}, headers=headers
    )
    assert check(spec, unknown, "/demands", "post")["code"] == "validation_failed"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "Bitte die Nummer einer Forderung angeben, zum Beispiel 12 oder #12."),
        ("99999", "Es gibt keine Forderung mit der Nummer 99999."),
    ],
)
def test_staff_form_says_what_is_wrong_with_the_number(
    client, auth, db, chain, staff, value, message
):
    """A bad number is refused with a German message beside the field, the input kept."""
    auth.login_as(staff)
    response = send_repeats_form(client, chain["again"], repeats=value)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and f'value="{value}"' in html
    assert db.session.get(Demand, chain["again"].id).repeats_id is None


def test_staff_page_offers_the_number_and_shows_the_link(client, auth, db, chain, staff):
    """The field takes „#12“ as well as „12“; the page then names the earlier demand, and the
    form, sent again as shown, changes nothing."""
    auth.login_as(staff)
    url = f"/verwaltung/forderungen/{chain['again'].id}"
    page = client.get(url).get_data(as_text=True)
    assert "<option" not in page.split('id="wiederholt-titel"')[1].split("</form>")[0]
    response = send_repeats_form(client, chain["again"], repeats=f" #{chain['old'].id} ")
    assert response.status_code == 302
    assert db.session.get(Demand, chain["again"].id).repeats_id == chain["old"].id
    page = client.get(url).get_data(as_text=True)
    assert f"#{chain['old'].id} Dialogkultur erweitern</a>" in page
    assert f'name="repeats-repeats" size="10" type="text" value="{chain["old"].id}"' in page
    entries = db.session.scalar(sa.select(sa.func.count(TimelineEntry.id)))
    again = send_repeats_form(client, chain["again"])  # as rendered, nothing typed
    assert again.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(TimelineEntry.id))) == entries


def test_an_internal_earlier_demand_stays_unnamed_to_the_public(client, db, chain):
    """The demand page hides the link to an internal demand; the public API and CSV do not
    name its number either, while an API token sees it. A refused cycle says why."""
    user = make_user(email="api@example.org")
    _row, plain = api_tokens.create_token(user, "Skript")
    headers = {"Authorization": f"Bearer {plain}"}
    chain["old"].is_public = False
    db.session.commit()
    url = f"/api/v1/demands/{chain['again'].id}"
    done = client.put(
        f"{url}/repeats",
        json={"repeats": chain["old"].id, "version": chain["again"].version},
        headers=headers,
    )
    assert done.status_code == 200 and done.get_json()["repeats"] == chain["old"].id
    assert client.get(url).get_json()["repeats"] is None
    listed = {d["id"]: d for d in client.get("/api/v1/demands").get_json()["items"]}
    assert listed[chain["again"].id]["repeats"] is None
    assert client.get(url, headers=headers).get_json()["repeats"] == chain["old"].id
    rows = client.get("/forderungen.csv").get_data(as_text=True).splitlines()
    (row,) = [r for r in rows if "(erneut)" in r]
    assert row.endswith(";")  # „wiederholt“, the last column, empty
    cycle = client.put(
        f"/api/v1/demands/{chain['old'].id}/repeats",
        json={"repeats": chain["again"].id, "version": chain["old"].version},
        headers=headers,
    )
    errors = cycle.get_json()["errors"]
    assert "Kreis von Wiederholungen" in str(errors)
    chain["old"].is_public = True
    db.session.commit()
    assert client.get(url).get_json()["repeats"] == chain["old"].id  # the cache follows


def test_the_api_list_asks_once_which_earlier_demands_are_public(client, db, chain):
    """However many demands of a page repeat others (here internal ones, which the list does
    not hold), one statement loads the earlier ones."""
    from helpers import count_statements

    def repeat_an_internal_one(n):
        earlier = make_demand(f"Intern {n}", is_public=False)
        later = make_demand(f"Noch einmal {n}")
        repeats.set_repeats(later, earlier, None, None)
        db.session.commit()

    repeat_an_internal_one(0)
    one = count_statements(db, client, "/api/v1/demands?per_page=50")
    for n in range(1, 6):
        repeat_an_internal_one(n)
    assert count_statements(db, client, "/api/v1/demands?per_page=50") == one
    listed = client.get("/api/v1/demands?per_page=50").get_json()["items"]
    assert [d["repeats"] for d in listed if d["title"].startswith("Noch einmal")] == [None] * 6
