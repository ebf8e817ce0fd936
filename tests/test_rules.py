"""One home for each rule (issue 11, points 3 and 4): the services refuse bad input in German and
change nothing, whichever entry point calls them; the labels name exactly the models' codes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import count, make_body, make_demand, make_user

from tracker.domain import labels, rules
from tracker.domain.models import (
    Assignment,
    Body,
    Consultation,
    Contact,
    Demand,
    Meeting,
    ReminderPause,
    TimelineEntry,
    User,
)
from tracker.extensions import db
from tracker.services import bodies, queries, users
from tracker.services import demands as demand_service
from tracker.services.errors import ServiceError
from tracker.transactions import wrote


def refused(call, *args, **kwargs) -> ServiceError:
    """Call a service that must refuse; check that it wrote nothing and return its error."""
    with pytest.raises(ServiceError) as caught:
        call(*args, **kwargs)
    assert not wrote(), "a refused change left something in the session"
    return caught.value


# labels ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "codes"),
    [
        ("role", Assignment.ROLES),
        ("user_role", User.ROLES),
        ("body_kind", Body.KINDS),
        ("contact_level", Contact.LEVELS),
        ("consultation_kind", Consultation.KINDS),
        ("meeting_format", Meeting.FORMATS),
    ],
)
def test_each_label_table_names_exactly_the_models_codes(table, codes):
    assert tuple(labels.TABLES[table]) == codes


def test_every_timeline_kind_has_its_own_words(app):
    for kind in TimelineEntry.KINDS:
        entry = TimelineEntry(kind=kind, data={}, author_name="Sam")
        assert labels.timeline_label(entry) not in ("", kind)


def test_an_unknown_code_reads_as_itself(app):
    assert labels.label("kirche", "body_kind") == "kirche"
    assert labels.label(None, "body_kind") == ""


# users ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["admin@example.org", "Admin@Example.org", " ADMIN@example.org "])
def test_a_second_account_for_an_address_is_refused_whatever_its_case(app, email):
    make_user(email="admin@example.org", role="admin")
    error = refused(users.create_user, email, "ein-langes-passwort")
    assert error.errors == {"email": "Diese E-Mail-Adresse hat schon ein Konto."}
    assert count(User) == 1


def test_an_account_is_stored_trimmed_and_in_lower_case(app):
    user = users.create_user("  Neu@Example.org ", "ein-langes-passwort", name=" Nina ")
    db.session.commit()
    assert (user.email, user.name, user.role) == ("neu@example.org", "Nina", "staff")
    assert users.by_email("NEU@example.org") is user


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"email": "keine-adresse"}, "email", "Bitte eine gültige E-Mail-Adresse eingeben."),
        ({"email": ""}, "email", "Bitte ausfüllen."),
        ({"password": "kurz"}, "password", "Mindestens 12 Zeichen."),
        ({"password": " " * 20}, "password", "nicht nur aus Leerzeichen"),
        ({"password": None}, "password", "Für ein neues Konto bitte ein Passwort vergeben."),
        ({"name": "N" * 121}, "name", "Höchstens 120 Zeichen."),
        ({"role": "chef"}, "role", "Unbekannte Rolle."),
    ],
)
def test_creating_an_account_refuses_bad_input(app, values, field, message):
    given = {"email": "neu@example.org", "password": "ein-langes-passwort", **values}
    email, password = given.pop("email"), given.pop("password")
    error = refused(users.create_user, email, password, **given)
    assert message in error.errors[field]
    assert count(User) == 0


def test_changing_an_account_refuses_and_changes_nothing(app):
    admin = make_user(email="admin@example.org", role="admin", name="Ada")
    other = make_user(email="kim@example.org", name="Kim")
    values = {"email": "kim@example.org", "name": "Kim", "role": "staff", "active": True}
    error = refused(users.update_user, other, admin, **{**values, "email": "ADMIN@example.org"})
    assert error.errors == {"email": "Diese E-Mail-Adresse hat schon ein Konto."}
    refused(users.update_user, other, admin, **values, password="kurz")
    error = refused(users.update_user, admin, admin, **{**values, "email": admin.email})
    assert error.errors["role"] == "Sie können sich nicht selbst die Administration entziehen."
    unticked = {**values, "email": admin.email, "role": "admin", "active": False}
    error = refused(users.update_user, admin, admin, **unticked)  # at the box that was unticked
    assert error.errors == {"active": "Sie können sich nicht selbst die Administration entziehen."}
    db.session.expire_all()
    assert (other.email, other.role, admin.role) == ("kim@example.org", "staff", "admin")


def test_locking_an_account_ends_its_sessions(app):
    user = make_user()
    token = user.session_token
    changed = users.update_user(
        user, None, email=user.email, name=user.name, role="staff", active=False
    )
    db.session.commit()
    assert changed and not user.active and user.session_token != token


# bodies, contacts, pauses ---------------------------------------------------------------------

BODY = {"name": "Innenministerium", "slug": "mi", "kind": "ministry"}


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"slug": "ms"}, "slug", "Dieses Kürzel ist schon vergeben."),
        ({"slug": "Groß"}, "slug", "Nur Kleinbuchstaben, Ziffern und Bindestriche."),
        ({"slug": "s" * 81}, "slug", "Höchstens 80 Zeichen."),
        ({"name": "  "}, "name", "Bitte ausfüllen."),
        ({"name": "N" * 301}, "name", "Höchstens 300 Zeichen."),
        ({"kind": "kirche"}, "kind", "Bitte eine der angebotenen Möglichkeiten wählen."),
        ({"dialogue_rhythm_weeks": 5}, "dialogue_rhythm_weeks", "angebotenen Möglichkeiten"),
        ({"description": "x" * 5001}, "description", "Höchstens 5000 Zeichen."),
    ],
)
def test_a_body_with_bad_values_is_refused(app, values, field, message):
    ms = make_body()
    error = refused(bodies.save_body, None, **{**BODY, **values})
    assert message in error.errors[field]
    assert error.message == "Bitte die markierten Angaben prüfen."
    if values.get("slug") != "ms":  # its own slug is no clash for the body itself
        error = refused(bodies.save_body, ms, **{**BODY, "slug": "ms", **values})
        assert message in error.errors[field]
    db.session.expire_all()
    assert count(Body) == 1 and (ms.slug, ms.name) == ("ms", "Sozialministerium")


def test_a_body_is_saved_trimmed_and_reports_whether_it_changed(app):
    body, changed = bodies.save_body(None, **{**BODY, "name": " Innenministerium "})
    assert changed and body.id and body.name == "Innenministerium"
    db.session.commit()
    assert bodies.save_body(body, **BODY) == (body, False)


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"email": "kaputt@"}, "email", "Bitte eine gültige E-Mail-Adresse eingeben."),
        ({"name": ""}, "name", "Bitte ausfüllen."),
        ({"name": "N" * 201}, "name", "Höchstens 200 Zeichen."),
        ({"escalation_level": 7}, "escalation_level", "angebotenen Möglichkeiten"),
    ],
)
def test_a_bad_contact_is_refused(app, values, field, message):
    ms = make_body(contacts=())
    given = {"name": "Referat", "email": "ref@ms.example.org", "escalation_level": 1, **values}
    error = refused(bodies.add_contact, ms, **given)
    assert message in error.errors[field]
    assert count(Contact) == 0


def test_a_body_gets_each_mailbox_once_whatever_its_capitals(app):
    ms = make_body(contacts=())
    bodies.add_contact(ms, name="Referat", email="Neu@MS.example.org")
    db.session.commit()
    error = refused(bodies.add_contact, ms, name="Referat 2", email=" neu@ms.example.org")
    assert error.errors == {"email": "Diese Adresse ist bei dieser Stelle schon eingetragen."}
    assert count(Contact) == 1
    other = make_body(slug="mi", name="Innenministerium", contacts=())
    bodies.add_contact(other, name="Referat", email="neu@ms.example.org")  # another body may
    assert count(Contact) == 2


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"ends_on": dt.date(2026, 1, 1)}, "ends_on", "Das Ende darf nicht vor dem Beginn liegen."),
        ({"starts_on": None}, "starts_on", "Bitte ein Datum angeben."),
        ({"reason": "x" * 301}, "reason", "Höchstens 300 Zeichen."),
    ],
)
def test_a_bad_pause_is_refused(app, values, field, message):
    ms = make_body()
    given = {"starts_on": dt.date(2026, 2, 1), "ends_on": dt.date(2026, 2, 9), **values}
    error = refused(bodies.add_pause, ms, **given)
    assert message in error.errors[field]
    assert count(ReminderPause) == 0


# demands --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"title": "   "}, "title", "Bitte ausfüllen."),
        ({"title": "T" * 301}, "title", "Höchstens 300 Zeichen."),
        ({"text": "x" * 20_001}, "text", "Höchstens 20000 Zeichen."),
        ({"text": ""}, "text", "Bitte ausfüllen."),
    ],
)
def test_a_demand_with_a_bad_title_or_text_is_refused(app, values, field, message):
    error = refused(demand_service.create_demand, None, **{"title": "T", "text": "x", **values})
    assert error.errors[field] == message
    assert count(Demand) == 0
    demand = make_demand()
    refused(demand_service.edit_demand, demand, None, demand.version, **values)
    db.session.expire_all()
    assert (demand.title, demand.version) == ("Bezahlkarte evaluieren", 1)


def test_bodies_need_a_lead_body_everywhere(app):
    demand = make_demand()
    ms = make_body()
    error = refused(demand_service.assign_bodies, demand, None, demand.version, {ms.id: "involved"})
    assert error.message == "Mindestens eine Stelle muss federführend sein."
    assert demand_service.roles_problem(["lead", "involved"]) is None
    assert demand_service.roles_problem([]) is None
    assert demand_service.roles_problem(["chef"]) == "Unbekannte Rolle."


def test_an_update_longer_than_the_rule_is_refused(app):
    demand = make_demand()
    error = refused(demand_service.add_update, demand, None, "x" * 10_001, is_public=True)
    assert error.errors == {"text": "Höchstens 10000 Zeichen."}


# visibility -----------------------------------------------------------------------------------


def test_the_visibility_rule_keeps_internal_rows_from_anonymous_readers(app):
    public, internal = make_demand("Öffentlich"), make_demand("Intern", is_public=False)
    titles = db.session.scalars(sa.select(Demand.title).where(*queries.visible(Demand))).all()
    assert titles == ["Öffentlich"]
    everything = sa.select(Demand.title).where(*queries.visible(Demand, include_internal=True))
    assert sorted(db.session.scalars(everything)) == ["Intern", "Öffentlich"]
    assert queries.shown(public) and not queries.shown(internal)
    assert queries.shown(internal, include_internal=True)


def test_the_form_limits_are_the_rules():
    from tracker.web.staff.forms import DemandForm, UpdateForm

    def limit(field):
        (length,) = [v for v in field.kwargs["validators"] if type(v).__name__ == "Length"]
        return length.max

    assert limit(DemandForm.title) == rules.TITLE_MAX == Demand.__table__.c.title.type.length
    assert limit(DemandForm.text) == rules.TEXT_MAX == Demand.__table__.c.text.info["max_length"]
    assert limit(UpdateForm.text) == rules.NOTE_MAX
