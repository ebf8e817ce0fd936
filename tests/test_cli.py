"""The ``tracker`` commands: workflow diagram, seed, users add, bootstrap."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from helpers import count, make_user

from tracker.domain.models import (
    Assignment,
    Body,
    Contact,
    Demand,
    Event,
    EventPart,
    TimelineEntry,
    Topic,
    User,
)
from tracker.extensions import db
from tracker.services.seed import load_data

MODELS = (Event, EventPart, Topic, Body, Contact, Demand, Assignment, TimelineEntry)


@pytest.fixture(scope="module")
def data():
    return load_data()


def counts() -> dict[str, int]:
    return {model.__name__: count(model) for model in MODELS}


# workflow diagram ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "active"),
    [
        ([], "raised"),
        (["--current", "addressed"], "addressed"),
        (["--current", "closed"], "closed"),
    ],
)
def test_workflow_diagram(runner, args, active):
    result = runner.invoke(args=["workflow", "diagram", *args])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "stateDiagram-v2" in out and "Ablauf einer Forderung" in out
    for name, label in [
        ("raised", "erhoben"),
        ("addressed", "aufgegriffen"),
        ("evaluated", "evaluiert"),
        ("closed", "abgeschlossen"),
    ]:
        assert f'state "{label}" as {name}' in out
    assert f"Class {active} s_active" in out
    assert [line for line in out.splitlines() if line.endswith("s_active")] == [
        f"  Class {active} s_active"
    ]
    assert "addressed --> evaluated: evaluate" in out and "closed --> raised: reopen" in out
    assert "[*] --> raised" in out


def test_workflow_diagram_refuses_unknown_state(runner):
    result = runner.invoke(args=["workflow", "diagram", "--current", "verloren"])
    assert result.exit_code == 2
    assert "unknown state 'verloren'" in result.output


# seed ------------------------------------------------------------------------------------------


def test_the_data_file_keeps_to_the_rules(data):
    emails = [c["email"] for b in data["bodies"] for c in b.get("contacts", [])]
    assert emails and all(e.endswith(".example.org") or e.endswith("@example.org") for e in emails)
    keys = [d["key"] for d in data["demands"]]
    assert len(keys) == len(set(keys))
    bodies = {b["slug"] for b in data["bodies"]}
    parts = {p["slug"] for p in data["event"]["parts"]}
    topics = {t["slug"] for t in data["topics"]}
    for d in data["demands"]:
        assert d["part"] in parts, d["key"]
        assert set(d.get("lead", [])) | set(d.get("involved", [])) <= bodies, d["key"]
        assert d.get("lead") or not d.get("public", True), d["key"]  # public ones name a lead
        assert set(d.get("topics", [])) <= topics, d["key"]


def test_seed_twice_changes_nothing(runner, data):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert f"({len(data['demands'])} new demands)" in result.output
    first = counts()
    assert first["Demand"] == len(data["demands"])
    assert first["TimelineEntry"] == len(data["demands"])  # one "created" entry each
    assert all(first.values())

    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "(0 new demands)" in result.output
    assert counts() == first


def test_seed_loads_every_demand_with_its_bodies(runner, data):
    assert runner.invoke(args=["seed"]).exit_code == 0
    demands = {d.key: d for d in db.session.scalars(sa.select(Demand))}
    assert set(demands) == {d["key"] for d in data["demands"]}
    for spec in data["demands"]:
        demand = demands[spec["key"]]
        assert demand.title == spec["title"]
        assert demand.text == spec["text"].strip()
        assert demand.state == "raised" and demand.is_public is spec.get("public", True)
        assert demand.event.slug == data["event"]["slug"]
        assert demand.event_part.slug == spec["part"]
        assert {a.body.slug for a in demand.assignments if a.role == "lead"} == set(spec["lead"])
        assert {a.body.slug for a in demand.assignments if a.role == "involved"} == set(
            spec.get("involved", [])
        )
        assert {t.slug for t in demand.topics} == set(spec.get("topics", []))
        (created,) = demand.timeline
        assert created.kind == "created" and created.to_state == "raised"


def test_seed_links_a_demand_to_the_earlier_one_it_repeats(app, data):
    """A later event's data set names the demand it repeats by key (an example, not real data)."""
    import copy

    from tracker.services.repeats import demanded_since
    from tracker.services.seed import seed

    seed(data)
    later = copy.deepcopy(data)
    later["event"] = {
        **data["event"],
        "slug": "beispiel-fachtag-2026",
        "title": "Beispiel: Fachtag 2026",
        "date": "2026-06-17",
        "parts": [{"slug": "podium", "kind": "panel", "title": "Podium"}],
    }
    later["demands"] = [
        {**data["demands"][0], "key": "beispiel-dialog-2026", "repeats": data["demands"][0]["key"]}
    ]
    seed(later)
    demand = db.session.scalar(sa.select(Demand).where(Demand.key == "beispiel-dialog-2026"))
    assert demand.repeats.key == data["demands"][0]["key"]
    assert demanded_since(demand) == dt.date(2025, 6, 18)

    broken = copy.deepcopy(later)
    broken["demands"][0] = {**broken["demands"][0], "key": "kaputt", "repeats": "gibt-es-nicht"}
    with pytest.raises(ValueError, match="gibt-es-nicht"):
        seed(broken)


def test_seed_has_the_fachtag_demands(runner):
    runner.invoke(args=["seed"])
    titles = set(db.session.scalars(sa.select(Demand.title)))
    assert "Bezahlkarte gemeinsam mit der Zivilgesellschaft evaluieren" in titles
    bodies = {b.slug: b.name for b in db.session.scalars(sa.select(Body))}
    assert bodies["ms"].startswith(
        "Ministerium für Arbeit, Soziales, Gesundheit und Gleichstellung"
    )
    assert bodies["mi"].startswith("Ministerium für Inneres und Sport")
    assert bodies["bamf"].startswith("Bundesamt für Migration und Flüchtlinge – Außenstelle")


def test_seeded_contacts_are_demo_addresses(runner):
    runner.invoke(args=["seed"])
    emails = db.session.scalars(sa.select(Contact.email)).all()
    assert emails
    assert all(email.endswith("example.org") for email in emails), emails
    assert {b.slug for b in db.session.scalars(sa.select(Body)) if not b.contacts} == set()


def test_seed_leaves_demands_staff_have_moved(runner, request_ctx):
    from tracker.services.demands import advance

    runner.invoke(args=["seed"])
    demand = db.session.scalar(sa.select(Demand).where(Demand.key == "bezahlkarte-evaluieren"))
    advance(demand, "address", None, demand.version, {})
    before = counts()
    assert runner.invoke(args=["seed"]).exit_code == 0
    db.session.expire_all()
    assert demand.state == "addressed"
    assert counts() == before


# users add -----------------------------------------------------------------------------------


def _user(email):
    return db.session.scalar(sa.select(User).where(User.email == email))


@pytest.mark.parametrize(("flags", "role"), [([], "staff"), (["--admin"], "admin")])
def test_users_add_stores_a_hash(runner, flags, role):
    result = runner.invoke(
        args=[
            "users",
            "add",
            "Neu@Example.org",
            "--name",
            "Nina Neu",
            "--password",
            "ein-langes-passwort",
            *flags,
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"Added {role} neu@example.org." in result.output
    user = _user("neu@example.org")
    assert (user.name, user.role, user.active) == ("Nina Neu", role, True)
    assert user.password_hash != "ein-langes-passwort"
    assert "ein-langes-passwort" not in user.password_hash
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("ein-langes-passwort")


def test_users_add_asks_for_the_password_twice(runner):
    result = runner.invoke(
        args=["users", "add", "frage@example.org"],
        input="ein-langes-passwort\nein-langes-passwort\n",
    )
    assert result.exit_code == 0, result.output
    assert _user("frage@example.org").check_password("ein-langes-passwort")
    assert _user("frage@example.org").name == "frage@example.org"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("kurz", "Mindestens 12 Zeichen."),
        ("elf-zeichen", "Mindestens 12 Zeichen."),
        ("", "Für ein neues Konto bitte ein Passwort vergeben."),
        ("x" * 201, "Höchstens 200 Zeichen."),
    ],
)
def test_users_add_refuses_short_passwords(runner, password, message):
    result = runner.invoke(args=["users", "add", "kurz@example.org", "--password", password])
    assert result.exit_code == 1
    assert message in result.output  # the service's words, as on the admin page
    assert count(User) == 0


@pytest.mark.parametrize("email", ["staff@example.org", "STAFF@example.org", " staff@example.org "])
def test_users_add_refuses_duplicates(runner, staff, email):
    result = runner.invoke(args=["users", "add", email, "--password", "ein-langes-passwort"])
    assert result.exit_code == 1
    assert "Diese E-Mail-Adresse hat schon ein Konto." in result.output
    assert count(User) == 1
    db.session.expire_all()
    assert not staff.check_password("ein-langes-passwort")


def test_users_add_compares_addresses_whatever_their_case(runner):
    make_user(email="admin@example.org", role="admin")
    result = runner.invoke(
        args=["users", "add", "Admin@Example.org", "--password", "ein-langes-passwort"]
    )
    assert result.exit_code == 1
    assert "Diese E-Mail-Adresse hat schon ein Konto." in result.output
    assert count(User) == 1


def test_users_add_finds_an_address_stored_in_another_case(runner):
    # an import keeps addresses as they were; the check still finds them
    make_user(email="Admin@Example.org", role="admin")
    result = runner.invoke(
        args=["users", "add", "admin@example.org", "--password", "ein-langes-passwort"]
    )
    assert result.exit_code == 1 and "hat schon ein Konto" in result.output
    assert count(User) == 1


@pytest.mark.parametrize("email", ["keine-adresse", "zwei@@example.org", "a" * 250 + "@x.org"])
def test_users_add_refuses_what_is_no_address(runner, email):
    result = runner.invoke(args=["users", "add", email, "--password", "ein-langes-passwort"])
    assert result.exit_code == 1
    assert "E-Mail-Adresse" in result.output or "Höchstens 254 Zeichen." in result.output
    assert count(User) == 0


# bootstrap (on an empty database: it migrates first) ----------------------------------------


@pytest.fixture
def empty_runner(empty_app):
    return empty_app.test_cli_runner()


ADMIN = {"ADMIN_EMAIL": "Chefin@Example.org", "ADMIN_PASSWORD": "das-erste-admin-passwort"}


@pytest.mark.parametrize("app_config", [ADMIN])
def test_bootstrap_migrates_seeds_and_creates_the_admin(empty_app, empty_runner, data, app_config):
    result = empty_runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert f"Fachtag data loaded ({len(data['demands'])} demands)." in result.output
    assert "Admin Chefin@Example.org created from the environment." in result.output

    (admin,) = db.session.scalars(sa.select(User)).all()
    assert (admin.email, admin.role, admin.active) == ("chefin@example.org", "admin", True)
    assert "das-erste-admin-passwort" not in admin.password_hash
    assert admin.check_password("das-erste-admin-passwort")
    assert count(Demand) == len(data["demands"])

    # a second run (every deploy runs it) changes nothing
    first = counts()
    result = empty_runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert "created" not in result.output and "Fachtag data loaded" not in result.output
    assert counts() == first and count(User) == 1


@pytest.mark.parametrize("app_config", [ADMIN])
def test_bootstrap_leaves_existing_users_alone(empty_app, empty_runner, app_config):
    empty_app.config.update(ADMIN_EMAIL="", ADMIN_PASSWORD="")
    assert empty_runner.invoke(args=["bootstrap"]).exit_code == 0
    assert count(User) == 0  # nothing configured: no admin
    make_user()

    empty_app.config.update(ADMIN)
    result = empty_runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert "created" not in result.output
    assert [u.email for u in db.session.scalars(sa.select(User))] == ["staff@example.org"]


@pytest.mark.parametrize(
    "app_config",
    [
        {"ADMIN_EMAIL": "chefin@example.org", "ADMIN_PASSWORD": ""},
        {"ADMIN_EMAIL": "", "ADMIN_PASSWORD": "das-erste-admin-passwort"},
    ],
)
def test_bootstrap_needs_both_admin_settings(empty_runner, app_config):
    result = empty_runner.invoke(args=["bootstrap"])
    assert result.exit_code == 0, result.output
    assert count(User) == 0


def test_bootstrap_dev_creates_a_demo_admin_once(empty_runner):
    result = empty_runner.invoke(args=["bootstrap", "--dev"])
    assert result.exit_code == 0, result.output
    password = result.output.split("admin@example.org  /  ")[1].split()[0]
    (admin,) = db.session.scalars(sa.select(User)).all()
    assert admin.role == "admin" and admin.check_password(password)
    assert password not in admin.password_hash

    result = empty_runner.invoke(args=["bootstrap", "--dev"])
    assert result.exit_code == 0 and "Demo login" not in result.output
    assert count(User) == 1


def test_db_commands_are_there(runner):
    result = runner.invoke(args=["db", "--help"])
    assert result.exit_code == 0 and "upgrade" in result.output and "downgrade" in result.output


def test_a_seeded_demand_names_its_source_in_the_readers_language(runner, client, data):
    """The first entry has no German sentence of its own: the page names event and part."""
    assert runner.invoke(args=["seed"]).exit_code == 0
    demand = db.session.scalars(sa.select(Demand).where(Demand.is_public)).first()
    (created,) = demand.timeline
    assert created.text == ""
    client.get("/sprache/en")
    page = client.get(f"/forderungen/{demand.id}").text
    assert "Erhoben auf" not in page and '<html lang="en">' in page
    assert demand.event.title in page and demand.event_part.title in page
