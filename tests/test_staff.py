"""Staff pages through the test client: a demand's whole story, forms, errors, bodies, users."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa
from helpers import count, csrf_token, make_body, make_demand, put_in_state, send_at_once
from helpers import timeline as entries_of
from markupsafe import escape

from tracker.domain import workflow
from tracker.domain.models import Body, Contact, Demand, TimelineEntry, User
from tracker.extensions import db

STALE = "Diese Forderung wurde inzwischen geändert"


def hidden(page: str, name: str) -> str:
    """Return the value of the hidden input ``name`` on a page."""
    match = re.search(rf'name="{re.escape(name)}" type="hidden" value="([^"]*)"', page)
    assert match, f"no hidden field {name}"
    return match.group(1)


def step_actions(page: str, demand_id: int) -> list[str]:
    """Return the triggers whose forms the staff page of a demand offers."""
    return re.findall(rf'action="/verwaltung/forderungen/{demand_id}/schritt/(\w+)"', page)


class Staff:
    """Drive the staff pages of one demand like a person with a browser would."""

    def __init__(self, client):
        self.client = client

    def page(self, demand_id: int) -> str:
        response = self.client.get(f"/verwaltung/forderungen/{demand_id}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    def post(
        self,
        demand_id: int,
        path: str,
        prefix: str,
        fields: dict,
        page: str | None = None,
        versioned: bool = True,
    ):
        page = page or self.page(demand_id)
        data = {f"{prefix}-csrf_token": csrf_token(page)}
        if versioned:
            data[f"{prefix}-version"] = hidden(page, f"{prefix}-version")
        data.update({f"{prefix}-{k}": v for k, v in fields.items()})
        return self.client.post(f"/verwaltung/forderungen/{demand_id}/{path}", data=data)

    def step(self, demand_id: int, trigger: str, page: str | None = None, **notes):
        return self.post(demand_id, f"schritt/{trigger}", trigger, notes, page)


@pytest.fixture
def logged_in(client, auth, staff):
    auth.login_as(staff)
    return Staff(client)


@pytest.fixture
def bodies(app):
    return make_body(), make_body(slug="mi", name="Ministerium für Inneres und Sport")


def test_the_whole_story_of_a_demand(client, auth, logged_in, bodies, staff):
    ms, mi = bodies
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    assert "Neue Forderung erfassen" in page
    response = client.post(
        "/verwaltung/forderungen/neu",
        data={
            "csrf_token": csrf_token(page),
            "title": "Bezahlkarte gemeinsam mit der Zivilgesellschaft evaluieren",
            "text": "Die Einführung der Bezahlkarte wird gemeinsam ausgewertet.",
            "event_part": "",
            "is_public": "y",
        },
    )
    assert response.status_code == 302
    demand_id = int(re.search(r"/verwaltung/forderungen/(\d+)$", response.headers["Location"])[1])
    demand = db.session.get(Demand, demand_id)
    assert (demand.state, demand.is_public, demand.created_at is not None) == ("raised", True, True)

    response = logged_in.post(
        demand_id, "stellen", "assign", {f"body_{ms.id}": "lead", f"body_{mi.id}": "involved"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert {(a.body.slug, a.role) for a in demand.assignments} == {
        ("ms", "lead"),
        ("mi", "involved"),
    }

    for text, public in [("Gespräch mit dem MS vereinbart.", "y"), ("Intern: MS zögert.", None)]:
        fields = {"text": text} | ({"is_public": public} if public else {})
        assert (
            logged_in.post(demand_id, "stand", "update", fields, versioned=False).status_code == 302
        )
    assert [e.is_public for e in entries_of(demand, "update")] == [True, False]

    steps = [
        ("address", {"note": "Das MS hat eine Arbeitsgruppe eingerichtet."}, "addressed"),
        (
            "evaluate",
            {
                "summary": "Auswertung mit Beratungsstellen: viele Probleme beim Bargeld.",
                "participants": "MS, LIGA, Flüchtlingsrat",
            },
            "evaluated",
        ),
        ("close", {"outcome": "implemented", "note": "Bargeldgrenze angehoben."}, "closed"),
    ]
    for trigger, notes, state in steps:
        page = logged_in.page(demand_id)
        assert step_actions(page, demand_id) == [
            t.trigger for t in workflow.allowed_triggers(db.session.get(Demand, demand_id).state)
        ]
        response = logged_in.step(demand_id, trigger, page, **notes)
        assert response.status_code == 302, response.get_data(as_text=True)
        db.session.expire_all()
        assert demand.state == state
        assert f"Neuer Zustand: {workflow.state_label(state)}." in logged_in.page(demand_id)
    assert demand.outcome == "implemented"
    assert [e.trigger for e in entries_of(demand, "transition")] == ["address", "evaluate", "close"]

    auth.logout()
    page = client.get(f"/forderungen/{demand_id}").get_data(as_text=True)
    for text in [
        "erhoben → aufgegriffen",
        "aufgegriffen → evaluiert",
        "evaluiert → abgeschlossen",
        "Das MS hat eine Arbeitsgruppe eingerichtet.",
        "Auswertung mit Beratungsstellen: viele Probleme beim Bargeld.",
        "Beteiligt an der Evaluation: MS, LIGA, Flüchtlingsrat",
        "Ergebnis: umgesetzt",
        "Gespräch mit dem MS vereinbart.",
        "Zuständigkeit geändert",
        "Ministerium für Inneres und Sport",
    ]:
        assert html.escape(text, quote=False) in page, text
    assert "Intern: MS zögert." not in page
    assert 'class="badge badge--closed">abgeschlossen<' in page


@pytest.mark.parametrize("state", [s.name for s in workflow.STATES])
def test_staff_page_offers_exactly_the_allowed_triggers(logged_in, state):
    demand = put_in_state(make_demand(), state)
    page = logged_in.page(demand.id)
    expected = [t.trigger for t in workflow.allowed_triggers(state)]
    assert step_actions(page, demand.id) == expected
    assert expected == [t.trigger for t in workflow.TRANSITIONS if workflow.may(demand, t.trigger)]
    for trigger in expected:
        assert hidden(page, f"{trigger}-version") == str(demand.version)
        assert str(workflow.TRANSITION_BY_TRIGGER[trigger].label) in page
    if state == "closed":
        assert 'name="reopen-reason"' in page and 'name="close-outcome"' not in page


def test_stale_form_is_refused_with_409_and_writes_nothing(logged_in, staff, bodies):
    demand = make_demand()
    old_page = logged_in.page(demand.id)
    # meanwhile, a colleague assigns a body (which bumps the version)
    from tracker.services.demands import assign_bodies

    assign_bodies(demand, staff, demand.version, {bodies[0].id: "lead"})
    db.session.commit()
    version, before = demand.version, len(entries_of(demand))

    response = logged_in.step(demand.id, "address", old_page, note="Zu spät.")

    assert response.status_code == 409
    assert STALE in response.get_data(as_text=True)
    db.session.expire_all()
    assert (demand.state, demand.version) == ("raised", version)
    assert len(entries_of(demand)) == before
    assert "Zuständigkeit geändert" in response.get_data(as_text=True)  # shows what changed
    # after reloading, the page carries the new version and the step goes through
    assert hidden(logged_in.page(demand.id), "address-version") == str(version)
    assert logged_in.step(demand.id, "address", note="Jetzt.").status_code == 302


def test_stale_edit_and_assign_are_refused_too(logged_in, bodies):
    demand = make_demand()
    old_page = logged_in.page(demand.id)
    assert (
        logged_in.post(
            demand.id, "stellen", "assign", {f"body_{bodies[0].id}": "lead"}, old_page
        ).status_code
        == 302
    )
    response = logged_in.post(
        demand.id, "bearbeiten", "edit", {"title": "Neuer Titel", "text": "Neuer Text"}, old_page
    )
    assert response.status_code == 409 and STALE in response.get_data(as_text=True)
    db.session.expire_all()
    assert demand.title == "Bezahlkarte evaluieren"


@pytest.mark.parametrize(
    ("state", "trigger", "notes", "fields"),
    [
        ("addressed", "evaluate", {"summary": "", "participants": ""}, ["summary", "participants"]),
        (
            "addressed",
            "evaluate",
            {"summary": "Ausgewertet.", "participants": "   "},
            ["participants"],
        ),
        ("raised", "close", {"note": "Kein Ergebnis gewählt."}, ["outcome"]),
        ("closed", "reopen", {"reason": ""}, ["reason"]),
    ],
)
def test_missing_notes_are_422_with_summary_and_field_message(
    logged_in, state, trigger, notes, fields
):
    demand = put_in_state(make_demand(), state)
    version, before = demand.version, len(entries_of(demand))

    response = logged_in.step(demand.id, trigger, **notes)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page and "Bitte prüfen Sie Ihre Angaben" in page
    for name in fields:
        assert f'<p class="field-error" id="{trigger}-{name}-fehler">Bitte ausfüllen.</p>' in page
        assert f'href="#{trigger}-{name}"' in page  # the summary links to the field
    db.session.expire_all()
    assert (demand.state, demand.version) == (state, version)
    assert len(entries_of(demand)) == before


def test_guard_refusal_is_shown(logged_in):
    demand = put_in_state(make_demand(), "addressed")
    response = logged_in.step(demand.id, "close", outcome="implemented")
    assert response.status_code == 422
    assert "setzen eine Evaluation voraus" in response.get_data(as_text=True)
    db.session.expire_all()
    assert demand.state == "addressed"


@pytest.mark.parametrize(
    ("state", "trigger", "notes"),
    [
        ("raised", "reopen", {"reason": "Warum nicht?"}),
        ("raised", "evaluate", {"summary": "x", "participants": "y"}),
        ("closed", "close", {"outcome": "rejected"}),
        ("evaluated", "address", {}),
    ],
)
def test_impossible_trigger_posted_directly_is_refused(logged_in, state, trigger, notes):
    demand = put_in_state(make_demand(), state)
    page = logged_in.page(demand.id)
    version, before = demand.version, len(entries_of(demand))
    data = {f"{trigger}-csrf_token": csrf_token(page), f"{trigger}-version": str(version)}
    data.update({f"{trigger}-{k}": v for k, v in notes.items()})

    response = logged_in.client.post(
        f"/verwaltung/forderungen/{demand.id}/schritt/{trigger}", data=data
    )

    assert response.status_code == 422
    text = response.get_data(as_text=True)
    label = html.escape(str(workflow.TRANSITION_BY_TRIGGER[trigger].label), quote=False)
    assert f"„{label}“ ist im Zustand „{workflow.state_label(state)}“ nicht möglich." in text
    db.session.expire_all()
    assert (demand.state, demand.version) == (state, version)
    assert len(entries_of(demand)) == before


@pytest.mark.parametrize("trigger", ["approve", "Address", "%3Cscript%3E", "close2"])
def test_unknown_trigger_is_404(logged_in, trigger):
    demand = make_demand()
    page = logged_in.page(demand.id)
    response = logged_in.client.post(
        f"/verwaltung/forderungen/{demand.id}/schritt/{trigger}",
        data={"csrf_token": csrf_token(page)},
    )
    assert response.status_code == 404
    assert len(entries_of(demand)) == 1


@pytest.mark.parametrize(
    "url",
    [
        "/verwaltung/forderungen/neu",
        "/verwaltung/forderungen/{id}/stand",
        "/anmelden",
        "/verwaltung/stellen/neu",
    ],
)
def test_oversized_request_is_413(logged_in, url):
    demand = make_demand()
    page = logged_in.page(demand.id)
    response = logged_in.client.post(
        url.format(id=demand.id),
        data={"csrf_token": csrf_token(page), "title": "x", "text": "x" * (1024 * 1024 + 1)},
    )
    assert response.status_code == 413
    assert "Die gesendeten Daten sind zu groß." in response.get_data(as_text=True)
    assert count(Demand) == 1 and len(entries_of(demand)) == 1


# Bodies and contacts -------------------------------------------------------------------------


def _post_form(client, url, data, page_url=None):
    page = client.get(page_url or url).get_data(as_text=True)
    return client.post(url, data={"csrf_token": csrf_token(page), **data})


def test_create_and_edit_a_body(logged_in):
    client = logged_in.client
    response = _post_form(
        client,
        "/verwaltung/stellen/neu",
        {
            "name": "Landesverwaltungsamt",
            "short_name": "LVwA",
            "slug": "lvwa",
            "kind": "authority",
        },
    )
    assert response.status_code == 302
    body = db.session.scalar(sa.select(Body).where(Body.slug == "lvwa"))
    assert (body.name, body.short_name, body.kind) == ("Landesverwaltungsamt", "LVwA", "authority")
    assert "Landesverwaltungsamt" in client.get("/verwaltung/stellen/").get_data(as_text=True)

    response = _post_form(
        client,
        f"/verwaltung/stellen/{body.id}",
        {
            "name": "Landesverwaltungsamt Sachsen-Anhalt",
            "slug": "lvwa",
            "kind": "authority",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert body.name == "Landesverwaltungsamt Sachsen-Anhalt"
    assert "Landesverwaltungsamt Sachsen-Anhalt" in client.get("/stellen/lvwa").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "Doppelt", "slug": "ms", "kind": "ministry"},
            "Dieses Kürzel ist schon vergeben.",
        ),
        (
            {"name": "Falsch", "slug": "Groß Buchstaben", "kind": "ministry"},
            "Nur Kleinbuchstaben, Ziffern und Bindestriche.",
        ),
        (
            {"name": "Falsch", "slug": "-vorne", "kind": "ministry"},
            "Nur Kleinbuchstaben, Ziffern und Bindestriche.",
        ),
        ({"name": "", "slug": "leer", "kind": "ministry"}, "Bitte ausfüllen."),
        (
            {"name": "Art", "slug": "art", "kind": "kirche"},
            "Bitte eine der angebotenen Möglichkeiten wählen.",
        ),
        ({"name": "N" * 301, "slug": "lang", "kind": "ministry"}, "Name"),
        ({"name": "Lang", "slug": "s" * 81, "kind": "ministry"}, "Kürzel"),
    ],
)
def test_body_validation(logged_in, bodies, data, message):
    before = count(Body)
    response = _post_form(logged_in.client, "/verwaltung/stellen/neu", data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary"' in page and message in page
    assert count(Body) == before


def test_editing_a_body_to_a_taken_slug_is_refused(logged_in, bodies):
    ms, mi = bodies
    response = _post_form(
        logged_in.client,
        f"/verwaltung/stellen/{mi.id}",
        {"name": mi.name, "slug": "ms", "kind": "ministry"},
    )
    assert response.status_code == 422
    assert "Dieses Kürzel ist schon vergeben." in response.get_data(as_text=True)
    db.session.expire_all()
    assert mi.slug == "mi"


def test_add_and_remove_contacts(logged_in, bodies):
    ms, mi = bodies
    client = logged_in.client
    url = f"/verwaltung/stellen/{ms.id}"
    response = _post_form(
        client,
        f"{url}/kontakte",
        {
            "name": "Referatsleitung",
            "email": " leitung@ms.example.org ",
            "escalation_level": "2",
        },
        page_url=url,
    )
    assert response.status_code == 302
    contact = db.session.scalar(sa.select(Contact).where(Contact.name == "Referatsleitung"))
    assert (contact.email, contact.escalation_level, contact.body_id) == (
        "leitung@ms.example.org",
        2,
        ms.id,
    )
    assert "leitung@ms.example.org" in client.get(url).get_data(as_text=True)

    # a contact can only be removed through its own body
    response = _post_form(
        client, f"/verwaltung/stellen/{mi.id}/kontakte/{contact.id}/loeschen", {}, page_url=url
    )
    assert response.status_code == 404
    response = client.post(f"{url}/kontakte/{contact.id}/loeschen")  # no CSRF token
    assert response.status_code == 400
    assert db.session.get(Contact, contact.id) is not None

    response = _post_form(client, f"{url}/kontakte/{contact.id}/loeschen", {}, page_url=url)
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Contact, contact.id) is None
    assert count(Contact) == 2  # the ones make_body created


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"name": "Referat", "email": "keine-adresse", "escalation_level": "1"},
            "Bitte eine gültige E-Mail-Adresse eingeben.",
        ),
        (
            {"name": "Referat", "email": "a@b", "escalation_level": "1"},
            "Bitte eine gültige E-Mail-Adresse eingeben.",
        ),
        ({"name": "Referat", "email": "", "escalation_level": "1"}, "Bitte ausfüllen."),
        ({"name": "", "email": "ok@example.org", "escalation_level": "1"}, "Bitte ausfüllen."),
        (
            {"name": "Referat", "email": "ok@example.org", "escalation_level": "9"},
            "Bitte eine der angebotenen Möglichkeiten wählen.",
        ),
        (
            {"name": "Referat", "email": "ok@example.org", "escalation_level": "eins"},
            "Eskalationsstufe",
        ),
    ],
)
def test_contact_validation(logged_in, bodies, data, message):
    ms = bodies[0]
    before = count(Contact)
    response = _post_form(
        logged_in.client,
        f"/verwaltung/stellen/{ms.id}/kontakte",
        data,
        page_url=f"/verwaltung/stellen/{ms.id}",
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(Contact) == before


# Users -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/verwaltung/benutzer/", "/verwaltung/benutzer/{id}"])
def test_users_pages_are_for_admins_only(client, logged_in, staff, url):
    page = logged_in.page(make_demand().id)
    assert "/verwaltung/benutzer/" not in page  # not even offered in the navigation
    url = url.format(id=staff.id)
    assert client.get(url).status_code == 403
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(page),
            "name": "Eve",
            "email": "eve@example.org",
            "role": "admin",
            "password": "ein-langes-passwort",
            "active": "y",
        },
    )
    assert response.status_code == 403
    assert "Kein Zugriff" in response.get_data(as_text=True)
    db.session.expire_all()
    assert count(User) == 1 and staff.role == "staff"


@pytest.fixture
def as_admin(client, auth, admin):
    auth.login_as(admin)
    return client


def test_admin_creates_a_user_who_can_log_in(as_admin, auth, admin):
    response = _post_form(
        as_admin,
        "/verwaltung/benutzer/",
        {
            "name": "Nora Neu",
            "email": "Nora@Example.org",
            "role": "staff",
            "password": "ein-ganz-neues-passwort",
            "active": "y",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "nora@example.org"))
    assert (user.name, user.role, user.active) == ("Nora Neu", "staff", True)
    assert "ein-ganz-neues-passwort" not in user.password_hash
    assert user.check_password("ein-ganz-neues-passwort")
    assert "Nora Neu" in as_admin.get("/verwaltung/benutzer/").get_data(as_text=True)

    auth.logout()
    assert (
        auth.login(email="nora@example.org", password="ein-ganz-neues-passwort").status_code == 302
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"email": "admin@example.org", "password": "ein-langes-passwort"},
            "Diese E-Mail-Adresse hat schon ein Konto.",
        ),
        (
            {"email": "ADMIN@example.org", "password": "ein-langes-passwort"},
            "Diese E-Mail-Adresse hat schon ein Konto.",
        ),
        ({"email": "neu@example.org", "password": "kurz"}, "Mindestens 12 Zeichen."),
        (
            {"email": "neu@example.org", "password": ""},
            "Für ein neues Konto bitte ein Passwort vergeben.",
        ),
        (
            {"email": "kein-at", "password": "ein-langes-passwort"},
            "Bitte eine gültige E-Mail-Adresse eingeben.",
        ),
        (
            {"email": "neu@example.org", "password": "ein-langes-passwort", "role": "root"},
            "Bitte eine der angebotenen Möglichkeiten wählen.",
        ),
    ],
)
def test_user_validation(as_admin, data, message):
    response = _post_form(
        as_admin,
        "/verwaltung/benutzer/",
        {
            "name": "Nora",
            "role": "staff",
            "active": "y",
            **data,
        },
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(User) == 1


@pytest.mark.parametrize(
    "change",
    [{"role": "staff", "active": "y"}, {"role": "admin"}],  # demote, deactivate
)
def test_admin_cannot_demote_or_deactivate_themself(as_admin, admin, change):
    response = _post_form(
        as_admin,
        f"/verwaltung/benutzer/{admin.id}",
        {
            "name": admin.name,
            "email": admin.email,
            **change,
        },
    )
    assert response.status_code == 422
    assert "Sie können sich nicht selbst die Administration entziehen." in response.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert (admin.role, admin.active) == ("admin", True)
    assert as_admin.get("/verwaltung/benutzer/").status_code == 200


def test_admin_changes_another_users_role_and_password(as_admin, staff):
    response = _post_form(
        as_admin,
        f"/verwaltung/benutzer/{staff.id}",
        {
            "name": "Sam Staff",
            "email": staff.email,
            "role": "admin",
            "active": "y",
            "password": "das-neue-passwort-fuer-sam",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert staff.role == "admin" and staff.check_password("das-neue-passwort-fuer-sam")


def test_admin_changes_user_without_touching_the_password(as_admin, staff):
    old_hash = staff.password_hash
    response = _post_form(
        as_admin,
        f"/verwaltung/benutzer/{staff.id}",
        {
            "name": "Sam S.",
            "email": staff.email,
            "role": "staff",
        },
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (staff.name, staff.active, staff.password_hash) == ("Sam S.", False, old_hash)


# Nothing gives a 500 ----------------------------------------------------------------------------

LONG = "ä" * 100_000
XSS = "<script>alert(1)</script>"


@pytest.mark.parametrize(
    ("path", "prefix", "fields", "versioned", "status"),
    [
        ("bearbeiten", "edit", {"title": LONG, "text": "t"}, True, 422),
        ("bearbeiten", "edit", {"title": "t", "text": LONG}, True, 422),
        ("bearbeiten", "edit", {"title": "t", "text": "t", "event_part": "abc"}, True, 422),
        ("bearbeiten", "edit", {"title": "t", "text": "t", "event_part": "999999"}, True, 422),
        ("bearbeiten", "edit", {"title": "t", "text": "t", "topics": ["1", "x"]}, True, 422),
        ("bearbeiten", "edit", {"title": "   ", "text": "t"}, True, 422),
        ("stand", "update", {"text": LONG}, False, 422),
        ("stand", "update", {"text": " \n "}, False, 422),
        ("stand", "update", {"text": "\x00"}, False, 422),  # PostgreSQL cannot store NUL
        ("stand", "update", {"text": "Stand\x00mit NUL"}, False, 302),
        ("bearbeiten", "edit", {"title": "Bezahlkarte evaluieren\x00", "text": "t\x00"}, True, 302),
        ("stellen", "assign", {"body_999999": "lead"}, True, 302),  # unknown bodies are ignored
        ("stellen", "assign", {"body_abc": "lead", "body_": "lead"}, True, 302),
        ("stellen", "assign", {"body_{ms}": "boss"}, True, 422),
        ("stellen", "assign", {"body_{ms}": "involved"}, True, 422),  # nobody leads
        ("schritt/address", "address", {"note": LONG}, True, 422),
        ("schritt/close", "close", {"outcome": "great"}, True, 422),
        ("schritt/close", "close", {"outcome": ["rejected", "obsolete"]}, True, 302),
    ],
)
def test_nasty_demand_forms_never_500(logged_in, bodies, path, prefix, fields, versioned, status):
    demand = make_demand()
    ms = bodies[0]
    fields = {k.format(ms=ms.id): v for k, v in fields.items()}
    response = logged_in.post(demand.id, path, prefix, fields, versioned=versioned)
    assert response.status_code == status
    db.session.expire_all()
    if status == 422:
        assert 'class="error-summary"' in response.get_data(as_text=True)
        assert demand.title == "Bezahlkarte evaluieren" and demand.state == "raised"
    texts = [demand.title, demand.text, *(e.text for e in demand.timeline)]
    assert not any("\x00" in text for text in texts)


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("abc", 422),
        ("", 409),
        ("-1", 422),
        ("1.0", 422),
        ("²", 422),
        ("99999999999999999999999", 422),
        ("1", 302),
    ],
)
def test_odd_versions_are_refused_not_500(logged_in, version, status):
    """A version that is no plain number is a broken form (422); a missing one is stale."""
    demand = make_demand()
    page = logged_in.page(demand.id)
    response = logged_in.client.post(
        f"/verwaltung/forderungen/{demand.id}/schritt/address",
        data={
            "address-csrf_token": csrf_token(page),
            "address-version": version,
        },
    )
    assert response.status_code == status
    db.session.expire_all()
    assert demand.state == ("addressed" if status == 302 else "raised")


@pytest.mark.parametrize(
    "url",
    [
        "/verwaltung/forderungen/99999999999999999999",
        "/verwaltung/forderungen/99999999999999999999/stand",
        "/verwaltung/stellen/99999999999999999999",
        "/verwaltung/benutzer/99999999999999999999",
        "/forderungen/99999999999999999999",
        "/forderungen/9223372036854775808",
    ],
)
def test_huge_ids_are_404_not_500(client, auth, admin, url):
    auth.login_as(admin)
    assert client.get(url).status_code in (404, 405)
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    assert client.post(url, data={"csrf_token": csrf_token(page)}).status_code in (404, 405)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("q=" + "%00" * 10, 400),
        ("q=" + "x" * 10_000, 200),
        ("state=%FF", 400),
        ("page=99999999999999999999", 400),
        ("page=-1", 400),
        ("body=" + "b" * 1000, 400),
        ("topic=%27%22", 400),
    ],
)
def test_odd_filters_never_500(logged_in, query, status):
    """Odd filters are a clear 400 (unknown filter, bad page), never a 500 or a silent fallback."""
    make_demand()
    assert logged_in.client.get(f"/verwaltung/?{query}").status_code == status
    assert logged_in.client.get(f"/?{query}").status_code == status


@pytest.mark.parametrize(
    "title", [XSS, '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "Ümläute – „Zitat“ 🙂"]
)
def test_titles_are_escaped_everywhere(client, auth, logged_in, bodies, title):
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    response = client.post(
        "/verwaltung/forderungen/neu",
        data={
            "csrf_token": csrf_token(page),
            "title": title,
            "text": title,
            "is_public": "y",
        },
    )
    assert response.status_code == 302
    demand = db.session.scalar(sa.select(Demand))
    assert demand.title == title
    logged_in.post(demand.id, "stellen", "assign", {f"body_{bodies[0].id}": "lead"})
    logged_in.post(demand.id, "stand", "update", {"text": title, "is_public": "y"}, versioned=False)
    auth.logout()
    for url in (f"/forderungen/{demand.id}", "/", "/stellen/ms"):
        page = client.get(url).get_data(as_text=True)
        assert XSS not in page and "<img src=x" not in page
        assert str(escape(title)) in page, url


def test_timeline_rows_stay_append_only(logged_in):
    demand = make_demand()
    entry = entries_of(demand)[0]
    entry.text = "verändert"
    with pytest.raises(ValueError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert (
        db.session.scalar(sa.select(TimelineEntry.text).where(TimelineEntry.id == entry.id)) == ""
    )


def test_new_demand_validation(logged_in):
    client = logged_in.client
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    response = client.post(
        "/verwaltung/forderungen/neu",
        data={"csrf_token": csrf_token(page), "title": "", "text": ""},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<p class="field-error" id="title-fehler">Bitte ausfüllen.</p>' in page
    assert count(Demand) == 0


def test_internal_demand_created_by_staff_stays_internal(client, auth, logged_in):
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    client.post(
        "/verwaltung/forderungen/neu",
        data={
            "csrf_token": csrf_token(page),
            "title": "Nur intern",
            "text": "Vermerk",
        },
    )
    demand = db.session.scalar(sa.select(Demand))
    assert demand.is_public is False
    assert "Nur intern" in client.get("/verwaltung/").get_data(as_text=True)
    auth.logout()
    assert client.get(f"/forderungen/{demand.id}").status_code == 404
    assert "Nur intern" not in client.get("/").get_data(as_text=True)


def _timeline_html(page: str) -> str:
    match = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)
    assert match, "no timeline on the page"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (
            "de",
            [
                "Titel Alt → Neu",
                "Veranstaltung — → Fachtag Migration",
                "Herkunft — → Fachtag Migration – Podium",
                "Themen — → Bezahlkarte",
                "Öffentlich sichtbar ja → nein",
                "Sozialministerium (federführend), Ministerium für Inneres und Sport (beteiligt)",
            ],
        ),
        (
            "en",
            [
                "Title Alt → Neu",
                "Event — → Fachtag Migration",
                "Origin — → Fachtag Migration – Podium",
                "Topics — → Bezahlkarte",
                "Publicly visible yes → no",
                "Sozialministerium (lead), Ministerium für Inneres und Sport (involved)",
            ],
        ),
    ],
)
def test_staff_timeline_names_fields_and_values_people_know(
    client, logged_in, bodies, event, staff, language, expected
):
    from tracker.domain.models import Topic
    from tracker.services.demands import edit_demand

    demand = make_demand("Alt", bodies=bodies)
    edit_demand(
        demand,
        staff,
        None,
        title="Neu",
        event_id=event.id,
        event_part_id=event.parts[0].id,
        is_public=False,
        topics=db.session.scalars(sa.select(Topic)).all(),
    )
    response = client.get(
        f"/verwaltung/forderungen/{demand.id}", headers={"Accept-Language": language}
    )
    text = _timeline_html(response.get_data(as_text=True))
    for line in expected:
        assert line in text, text
    for code in ("event_part_id", "event_id", "topics", "is_public", "bezahlkarte", "mi ("):
        assert code not in text, text


def test_event_part_options_are_cut_at_a_word_with_an_ellipsis(client, logged_in):
    import datetime as dt

    from tracker.domain.models import Event, EventPart

    title = "Fachtag der LIGA der freien Wohlfahrtspflege Sachsen-Anhalt zur Migrationsberatung"
    event = Event(slug="lang", title=title, date=dt.date(2025, 6, 18))
    event.parts.append(EventPart(slug="ws", kind="workshop", title="Workshop Gesundheit"))
    db.session.add(event)
    db.session.commit()
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    option = re.search(r'<option value="\d+">([^<]*Workshop Gesundheit)</option>', page)
    assert option, "no option for the event part"
    shown, part = html.unescape(option.group(1)).split(" – ")
    assert part == "Workshop Gesundheit"
    assert shown.endswith("…") and len(shown) <= 60
    kept = shown[:-1]
    assert title.startswith(kept) and title[len(kept)] == " "  # whole words only


@pytest.mark.parametrize(
    ("language", "message"), [("de", "Höchstens 300 Zeichen."), ("en", "At most 300 characters.")]
)
def test_required_marks_sit_in_the_label_and_length_errors_read_well(
    client, logged_in, language, message
):
    headers = {"Accept-Language": language}
    page = client.get("/verwaltung/forderungen/neu", headers=headers).get_data(as_text=True)
    marks = re.findall(r"\((?:Pflichtangabe|Required)\)", page)
    assert marks, "no required field marked"
    inside = re.findall(
        r'<(label|legend)\b[^>]*>[^<]*<span class="req">\((?:Pflichtangabe|Required)\)</span></\1>',
        page,
    )
    assert len(inside) == len(marks)
    response = client.post(
        "/verwaltung/forderungen/neu",
        headers=headers,
        data={"csrf_token": csrf_token(page), "title": "x" * 301, "text": "Text"},
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert message in page
    assert "Feld kann nicht" not in page and "Field cannot" not in page
    assert count(Demand) == 0


@pytest.mark.parametrize("role", ["", "lead", "involved"])
def test_role_selects_render_as_wtforms_does(app, role):
    """The role selects' fast widget writes what WTForms' own Select writes, byte for byte."""
    from wtforms import SelectField
    from wtforms.widgets import Select

    from tracker.web.staff.forms import ROLE_CHOICES, OptionsInOnePass, VersionedForm

    class Both(VersionedForm):
        fast = SelectField("x", choices=ROLE_CHOICES, widget=OptionsInOnePass())
        slow = SelectField("x", choices=ROLE_CHOICES, widget=Select())

    with app.test_request_context():
        form = Both(formdata=None, fast=role, slow=role)
        fast, slow = (
            str(form.fast(**{"aria-invalid": "true"})),
            str(form.slow(**{"aria-invalid": "true"})),
        )
        assert fast == slow.replace('id="slow" name="slow"', 'id="fast" name="fast"')
        assert role == "" or f'selected value="{role}"' in fast


@pytest.mark.parametrize("invalid", [False, True])
def test_role_fields_write_what_the_field_macro_writes(app, invalid):
    """The assignment form's role selects, written in one pass, are the ``field`` macro's
    markup for each select (whitespace between tags aside), an invalid choice's error too."""
    from flask import render_template_string
    from werkzeug.datastructures import MultiDict

    from tracker.web.staff.forms import assignment_form

    bodies = [make_body(), make_body("mi", "Innenministerium <MI>", contacts=())]
    ms, mi = (f"assign-body_{b.id}" for b in bodies)
    formdata = MultiDict({ms: "lead", mi: "x"}) if invalid else None
    with app.test_request_context():
        form = assignment_form(bodies, formdata=formdata, prefix="assign")
        if invalid:
            assert not form.validate() and form[f"body_{bodies[1].id}"].errors
        by_macro = render_template_string(
            "{% from '_macros.html' import field %}"
            "{% for body, f in form.body_fields %}{{ field(f) }}{% endfor %}",
            form=form,
        )
        written = str(form.role_fields())

    def tight(markup: str) -> str:
        return re.sub(r">\s+<", "><", markup.strip()).replace("\n", "")

    assert tight(written) == tight(by_macro)
    assert "Innenministerium &lt;MI&gt;" in written
    assert ("field-error" in written) == invalid


def test_staff_list_marks_internal_and_overdue_demands_and_names_the_bodies(client, logged_in):
    ms, mi = make_body(), make_body("mi", "Innenministerium", contacts=())
    late = make_demand("Seit Langem liegen geblieben", bodies=[ms, mi])
    late.state_changed_at = late.state_changed_at - dt.timedelta(days=200)
    make_demand("Nur intern", is_public=False)
    db.session.commit()

    rows = re.findall(
        r"<tr( class=\"row--overdue\")?><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>",
        client.get("/verwaltung/").get_data(as_text=True),
    )
    by_title = {re.search(r">([^<]+)</a>", cells[1]).group(1): cells for cells in rows}
    overdue, title, state, bodies = by_title["Seit Langem liegen geblieben"]
    assert overdue and "Arbeitstage überfällig" in state and "badge--internal" not in title
    assert bodies == "Sozialministerium (federführend), Innenministerium"
    overdue, title, state, bodies = by_title["Nur intern"]
    assert not overdue and '<span class="badge badge--internal">intern</span>' in title
    assert "– noch keine –" in bodies and "überfällig" not in state


def test_staff_list_past_its_last_page_says_so(client, logged_in):
    make_demand("Eine")
    page = client.get("/verwaltung/?state=raised&page=3")
    assert page.status_code == 404
    said = page.get_data(as_text=True)
    assert "Seite 3 gibt es nicht: die Liste hat 1 Seite." in said
    assert "state=raised" in said.split("Zur letzten Seite")[0].rsplit("href=", 1)[1]
    assert "Keine Forderung passt" not in said and "Seite 3 von" not in said
    empty = client.get("/verwaltung/?state=closed").get_data(as_text=True)
    assert "Keine Forderung passt zu diesen Filtern." in empty


def test_a_progress_note_sent_twice_from_one_form_is_noted_and_mailed_once(client, auth, db, staff):
    """A double click (or a page sent again) on „Eintragen“ records the note once and mails
    its followers once; the same words from a newly loaded form are a new note."""
    from forms_as_rendered import forms_of

    from tracker.domain.models import OutboxMessage, Subscription, utcnow

    demand = make_demand(bodies=[make_body()])
    db.session.add(
        Subscription(
            demand=demand, email="leser@example.org", token="t" * 40, confirmed_at=utcnow()
        )
    )
    db.session.commit()
    auth.login_as(staff)
    url = f"/verwaltung/forderungen/{demand.id}"

    def note_form():
        page = client.get(url).get_data(as_text=True)
        (form,) = [f for f in forms_of(page) if f.action.endswith("/stand")]
        return form

    form = note_form()
    for _ in range(2):
        sent = client.post(form.action, data=form.data(**{"update-text": "Neuer Stand"}))
        assert sent.status_code == 302
        page = client.get(url).get_data(as_text=True)
        assert "Der neue Stand steht in der Chronik." in page  # the second time too
    assert [e.text for e in entries_of(demand, "update")] == ["Neuer Stand"]
    mails = sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.kind == "subscription")
    assert db.session.scalar(mails) == 1
    form = note_form()
    client.post(form.action, data=form.data(**{"update-text": "Neuer Stand"}))
    assert len(entries_of(demand, "update")) == 2 and db.session.scalar(mails) == 2
    # back in the browser, other words typed into the form already sent: a note of its own
    client.post(form.action, data=form.data(**{"update-text": "Nachtrag"}))
    assert [e.text for e in entries_of(demand, "update")][-1] == "Nachtrag"
    assert len(entries_of(demand, "update")) == 3 and db.session.scalar(mails) == 3


def test_the_new_demand_form_sent_twice_records_one_demand(client, auth, db, staff):
    """A double click on „Forderung anlegen“ leads both times to the one demand it made."""
    from forms_as_rendered import forms_of
    from werkzeug.datastructures import MultiDict

    def titled(title):
        return db.session.scalar(sa.select(sa.func.count()).where(Demand.title == title))

    auth.login_as(staff)
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action == "" or f.action.endswith("/neu")]
    typed = {"title": "Doppelt geklickt", "text": "Ein Text"}
    first = client.post("/verwaltung/forderungen/neu", data=form.data(**typed))
    second = client.post("/verwaltung/forderungen/neu", data=form.data(**typed))
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert titled("Doppelt geklickt") == 1
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action == "" or f.action.endswith("/neu")]
    client.post("/verwaltung/forderungen/neu", data=form.data(**typed))  # a new form: a new one
    assert titled("Doppelt geklickt") == 2
    # back in the browser, another title typed into the form already sent: a demand of its own
    other = client.post("/verwaltung/forderungen/neu", data=form.data(title="Andere", text="X"))
    assert other.status_code == 302 and titled("Andere") == 1
    # the same words, but no longer public: a demand of its own, internal as asked
    sent = [(k, v) for k, v in form.data(**typed).items(multi=True) if k != "is_public"]
    internal = client.post("/verwaltung/forderungen/neu", data=MultiDict(sent))
    assert internal.headers["Location"] != first.headers["Location"]
    assert titled("Doppelt geklickt") == 3
    newest = db.session.scalars(sa.select(Demand).order_by(Demand.id.desc())).first()
    assert (newest.title, newest.is_public) == ("Doppelt geklickt", False)


@pytest.mark.parametrize("form_path", ["note", "new demand"])
def test_a_double_click_sends_two_requests_at_once_and_one_is_recorded(
    app, client, auth, db, staff, form_path
):
    """A fast double click sends the form twice at the same moment: the second request waits
    for the first and then finds what it wrote (each runs in its own thread, session and
    database connection, as in a threaded server)."""
    from forms_as_rendered import forms_of

    demand = make_demand(bodies=[make_body()])
    auth.login_as(staff)
    url = (
        f"/verwaltung/forderungen/{demand.id}"
        if form_path == "note"
        else "/verwaltung/forderungen/neu"
    )
    page = client.get(url).get_data(as_text=True)
    if form_path == "note":
        (form,) = [f for f in forms_of(page) if f.action.endswith("/stand")]
        action, data = form.action, form.data(**{"update-text": "Doppelklick"})
    else:
        (form,) = [f for f in forms_of(page) if f.method.lower() == "post"]
        action, data = url, form.data(title="Doppelklick", text="Text")
    answers = send_at_once(app, client, action, data)
    assert answers == [302, 302]
    notes = sa.select(sa.func.count()).where(
        TimelineEntry.kind == "update", TimelineEntry.text == "Doppelklick"
    )
    demands = sa.select(sa.func.count()).where(Demand.title == "Doppelklick")
    assert db.session.scalar(notes if form_path == "note" else demands) == 1


def test_a_note_sent_without_the_forms_nonce_is_not_taken_for_a_repeat(client, auth, db, staff):
    """A script posting without the hidden nonce is not checked: each post is a note, and none
    keeps a nonce it never sent."""
    demand = make_demand(bodies=[make_body()])
    auth.login_as(staff)
    staff_pages = Staff(client)
    for _ in range(2):
        sent = staff_pages.post(
            demand.id, "stand", "update", {"text": "Per Skript"}, versioned=False
        )
        assert sent.status_code == 302
    notes = entries_of(demand, "update")
    assert [(e.text, e.data) for e in notes] == [("Per Skript", {}), ("Per Skript", {})]
