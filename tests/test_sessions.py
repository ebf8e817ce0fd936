"""Sessions end when they should; logins take as long either way (issue 9, points 4 and 5)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, csrf_token, language_link, make_user

import tracker.domain.models
from tracker.domain.models import User
from tracker.extensions import db

NEW_PASSWORD = "ein-ganz-neues-passwort"


def _login(app, email="staff@example.org", password=PASSWORD, remember=True):
    """Log in through the form on a new client; return it with its session and remember cookie."""
    client = app.test_client()
    page = client.get("/anmelden").get_data(as_text=True)
    data = {"email": email, "password": password, "csrf_token": csrf_token(page)}
    if remember:
        data["remember"] = "y"
    assert client.post("/anmelden", data=data).status_code == 302
    assert client.get("/verwaltung/").status_code == 200
    names = ("session", "remember_token") if remember else ("session",)
    cookies = {name: client.get_cookie(name) for name in names}
    assert all(cookies.values())
    return client, {name: cookie.value for name, cookie in cookies.items()}


def _replay(app, name: str, value: str):
    """Send one saved cookie from a fresh browser and return the answer to /verwaltung/."""
    client = app.test_client()
    client.set_cookie(name, value)
    return client.get("/verwaltung/")


def _assert_ended(app, cookies):
    for name, value in cookies.items():
        response = _replay(app, name, value)
        assert response.status_code == 302, name
        assert response.headers["Location"].startswith("/anmelden"), name


def _admin_client(app, admin):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = admin.get_id()
    return client


def _edit_user(client, user, **changes):
    page = client.get(f"/verwaltung/benutzer/{user.id}").get_data(as_text=True)
    data = {
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "active": "y",
        "password": "",
        "csrf_token": csrf_token(page),
    }
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"/verwaltung/benutzer/{user.id}", data=data)


def test_saved_cookies_still_work_before_anything_happens(app, staff):
    _client, cookies = _login(app)
    for name, value in cookies.items():
        assert _replay(app, name, value).status_code == 200, name


def test_logout_ends_the_session_and_the_remember_cookie(app, staff):
    client, cookies = _login(app)
    page = client.get("/abmelden").get_data(as_text=True)
    assert client.post("/abmelden", data={"csrf_token": csrf_token(page)}).status_code == 302
    _assert_ended(app, cookies)


def test_logout_ends_the_sessions_on_other_devices_too(app, staff):
    _laptop, laptop_cookies = _login(app)
    phone, _phone_cookies = _login(app)
    page = phone.get("/abmelden").get_data(as_text=True)
    phone.post("/abmelden", data={"csrf_token": csrf_token(page)})
    _assert_ended(app, laptop_cookies)


def test_an_admin_set_password_ends_every_session_of_that_user(app, staff, admin):
    client, cookies = _login(app)
    response = _edit_user(_admin_client(app, admin), staff, password=NEW_PASSWORD)
    assert response.status_code == 302
    _assert_ended(app, cookies)
    assert client.get("/verwaltung/").status_code == 302
    _login(app, password=NEW_PASSWORD)  # the new password works


def test_locking_ends_every_session_and_unlocking_does_not_revive_them(app, staff, admin):
    _client, cookies = _login(app)
    admin_client = _admin_client(app, admin)
    assert _edit_user(admin_client, staff, active=None).status_code == 302
    _assert_ended(app, cookies)
    assert _edit_user(admin_client, staff).status_code == 302  # active again
    _assert_ended(app, cookies)


def test_an_admin_who_changes_their_own_password_stays_logged_in_only_here(app, admin):
    _other_device, cookies = _login(app, email=admin.email)
    here, _here_cookies = _login(app, email=admin.email, remember=False)
    user = db.session.get(User, admin.id)
    assert _edit_user(here, user, password=NEW_PASSWORD).status_code == 302
    assert here.get("/verwaltung/").status_code == 200
    _assert_ended(app, cookies)


def test_an_unchanged_user_form_keeps_the_sessions(app, staff, admin):
    _client, cookies = _login(app)
    assert _edit_user(_admin_client(app, admin), staff).status_code == 302
    assert _replay(app, "session", cookies["session"]).status_code == 200


@pytest.mark.parametrize("user_id", ["1", "1:", "x:abc", "1:wrong", "99:abc", "١:abc"])
def test_a_forged_or_old_style_user_id_is_no_login(app, staff, user_id):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
    assert client.get("/verwaltung/").status_code == 302


def test_remember_cookie_carries_httponly_and_samesite(app, staff):
    client = app.test_client()
    page = client.get("/anmelden").get_data(as_text=True)
    response = client.post(
        "/anmelden",
        data={
            "email": staff.email,
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token(page),
        },
    )
    (remember,) = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember")]
    assert "HttpOnly" in remember and "SameSite=Lax" in remember
    assert "Secure" not in remember  # plain http in development


@pytest.mark.parametrize("app_config", [{"BASE_URL": "https://tracker.test"}])
def test_remember_cookie_is_secure_on_https(app, staff, app_config):
    client = app.test_client()
    page = client.get("/anmelden", base_url="https://localhost").get_data(as_text=True)
    response = client.post(
        "/anmelden",
        base_url="https://localhost",
        headers={"Referer": "https://localhost/anmelden"},
        data={
            "email": staff.email,
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token(page),
        },
    )
    cookies = response.headers.getlist("Set-Cookie")
    (remember,) = [c for c in cookies if c.startswith("remember")]
    assert "Secure" in remember and "HttpOnly" in remember and "SameSite=Lax" in remember


def test_the_csrf_token_is_renewed_at_login(app, staff):
    client = app.test_client()
    page = client.get("/anmelden").get_data(as_text=True)
    with client.session_transaction() as session:
        before = session["csrf_token"]
    client.post(
        "/anmelden",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    page = client.get("/verwaltung/forderungen/neu").get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["csrf_token"] != before
    assert csrf_token(page)


def test_the_chosen_language_survives_the_login(app, staff):
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    client.get(language_link(page, "en"))
    page = client.get("/anmelden").get_data(as_text=True)
    client.post(
        "/anmelden",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert '<html lang="en">' in client.get("/verwaltung/").get_data(as_text=True)


# Point 5 -----------------------------------------------------------------------------------


@pytest.fixture
def hash_checks(monkeypatch):
    """Count the password hash checks, whoever makes them."""
    calls = []
    real = tracker.domain.models.check_password_hash

    def counting(stored, password):
        calls.append(stored)
        return real(stored, password)

    monkeypatch.setattr(tracker.domain.models, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("staff@example.org", PASSWORD),
        ("staff@example.org", "ein-falsches-passwort"),
        ("niemand@example.org", PASSWORD),
        ("gesperrt@example.org", PASSWORD),
    ],
)
def test_every_login_attempt_checks_one_hash(client, auth, staff, hash_checks, email, password):
    make_user(email="gesperrt@example.org", active=False)
    auth.login(email=email, password=password)
    assert len(hash_checks) == 1
    assert hash_checks[0].startswith(staff.password_hash.split("$")[0])  # same method and cost


@pytest.mark.parametrize("password", [" " * 12, "\t" * 14, " \u3000 " * 5, "\n" * 13])
def test_a_password_of_whitespace_is_refused_for_a_new_account(client, auth, admin, password):
    auth.login_as(admin)
    page = client.get("/verwaltung/benutzer/").get_data(as_text=True)
    response = client.post(
        "/verwaltung/benutzer/",
        data={
            "name": "Neu",
            "email": "neu@example.org",
            "role": "staff",
            "active": "y",
            "password": password,
            "csrf_token": csrf_token(page),
        },
    )
    assert response.status_code == 422
    assert "nicht nur aus Leerzeichen" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(User).where(User.email == "neu@example.org")) is None


def test_a_password_of_whitespace_is_refused_when_an_admin_sets_one(app, staff, admin):
    before = staff.password_hash
    response = _edit_user(_admin_client(app, admin), staff, password=" " * 20)
    assert response.status_code == 422
    assert "nicht nur aus Leerzeichen" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, staff.id).password_hash == before


def test_a_password_of_whitespace_is_refused_on_the_command_line(runner):
    result = runner.invoke(args=["users", "add", "neu@example.org", "--password", " " * 16])
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(User).where(User.email == "neu@example.org")) is None


def test_a_password_of_whitespace_is_refused_from_the_environment(app, runner):
    app.config.update(ADMIN_EMAIL="chefin@example.org", ADMIN_PASSWORD=" " * 16)
    from tracker.cli.data import ensure_admin_from_env

    with pytest.raises(Exception, match="TRACKER_ADMIN_PASSWORD"):
        ensure_admin_from_env()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_the_model_refuses_a_password_of_whitespace():
    with pytest.raises(ValueError):
        User().set_password("   ")


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "2 per minute"}]
)
def test_a_refused_login_says_when_to_retry(client, staff, app_config):
    page = client.get("/anmelden").get_data(as_text=True)
    data = {"email": staff.email, "password": "falsch-falsch", "csrf_token": csrf_token(page)}
    for _ in range(2):
        assert client.post("/anmelden", data=data).status_code == 401
    response = client.post("/anmelden", data=data)
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": True}])
def test_a_refused_follow_request_says_when_to_retry(client, app_config):
    from helpers import make_demand

    demand = make_demand()
    page = client.get(f"/forderungen/{demand.id}/folgen").get_data(as_text=True)
    token = csrf_token(page)
    statuses = []
    for i in range(21):
        response = client.post(
            f"/forderungen/{demand.id}/folgen",
            data={"email": f"leser{i}@example.org", "csrf_token": token},
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429
    assert int(response.headers["Retry-After"]) > 0
