"""Staff login and logout: passwords, inactive users, CSRF, rate limit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, csrf_token, make_user

from tracker.domain.models import User
from tracker.extensions import db

WRONG = "E-Mail-Adresse oder Passwort ist falsch."


def test_login_page(client):
    response = client.get("/anmelden")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Anmelden</h1>" in page and 'name="password"' in page


def test_login_and_reach_the_staff_pages(client, auth, staff):
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/verwaltung/"
    page = client.get("/verwaltung/").get_data(as_text=True)
    assert "Sie sind angemeldet." in page
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_login_ignores_case_and_spaces_of_the_email(client, auth, staff):
    assert auth.login(email="  Staff@Example.ORG ").status_code == 302
    assert client.get("/verwaltung/").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("staff@example.org", "falsches-passwort-123"),
        ("staff@example.org", PASSWORD.upper()),
        ("niemand@example.org", PASSWORD),
        ("staff@example.org\x00", "falsch\x00passwort"),  # PostgreSQL cannot even compare NUL
    ],
)
def test_wrong_credentials_are_refused(client, auth, staff, email, password):
    response = auth.login(email=email, password=password)
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert client.get("/verwaltung/").status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "password": PASSWORD}, "Bitte die E-Mail-Adresse eingeben."),
        ({"email": "staff@example.org", "password": ""}, "Bitte das Passwort eingeben."),
        ({"email": "x" * 300 + "@example.org", "password": PASSWORD}, "E-Mail-Adresse"),
        ({"email": "staff@example.org", "password": "p" * 5000}, "Passwort"),
    ],
)
def test_incomplete_login_form_is_422(client, staff, data, message):
    page = client.get("/anmelden").get_data(as_text=True)
    response = client.post("/anmelden", data={**data, "csrf_token": csrf_token(page)})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert WRONG not in response.get_data(as_text=True)


def test_inactive_user_cannot_log_in(client, auth, app):
    make_user(active=False)
    response = auth.login()
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert client.get("/verwaltung/").status_code == 302


def test_deactivated_user_is_logged_out_on_the_next_request(client, auth, staff):
    auth.login()
    assert client.get("/verwaltung/").status_code == 200
    staff.active = False
    db.session.commit()
    response = client.get("/verwaltung/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")


@pytest.mark.parametrize(
    ("next_url", "target"),
    [
        ("/verwaltung/stellen/", "/verwaltung/stellen/"),
        ("//evil.example.org/", "/verwaltung/"),
        ("https://evil.example.org/", "/verwaltung/"),
    ],
)
def test_login_follows_only_local_next(client, staff, next_url, target):
    page = client.get("/anmelden").get_data(as_text=True)
    response = client.post(
        "/anmelden",
        query_string={"next": next_url},
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302 and response.headers["Location"] == target


@pytest.mark.parametrize(
    "url",
    [
        "/verwaltung/",
        "/verwaltung/forderungen/neu",
        "/verwaltung/stellen/",
        "/verwaltung/benutzer/",
    ],
)
def test_staff_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/anmelden?next=")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bitte melden Sie sich an, um diese Seite zu sehen." in page


def test_logout_needs_a_post_with_csrf(client, auth, staff):
    auth.login()
    page = client.get("/abmelden").get_data(as_text=True)
    assert "Jetzt abmelden" in page
    assert client.get("/verwaltung/").status_code == 200  # a GET logs nobody out

    response = client.post("/abmelden")  # no token
    assert response.status_code == 400
    assert client.get("/verwaltung/").status_code == 200

    response = client.post("/abmelden", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/verwaltung/").status_code == 302
    assert "Sie sind abgemeldet." in client.get("/").get_data(as_text=True)


def test_logout_helper_logs_out(client, auth, staff):
    auth.login()
    assert auth.logout().status_code == 302
    assert client.get("/verwaltung/").status_code == 302


def test_logout_without_login_redirects_to_login(client):
    response = client.get("/abmelden")
    assert response.status_code == 302 and response.headers["Location"].startswith("/anmelden")


@pytest.mark.parametrize(
    "token", [None, "", "nicht-das-richtige-token", "IjEyMyI.invalid.signature"]
)
def test_post_without_valid_csrf_token_is_400(client, staff, token):
    data = {"email": staff.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/anmelden", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Das Anmeldeformular war abgelaufen oder unvollständig" in page  # shown again
    assert 'name="password"' in page and PASSWORD not in page
    assert client.get("/verwaltung/").status_code == 302


def test_passwords_are_stored_hashed(app):
    user = make_user(email="hash@example.org", password="ein-anderes-langes-passwort")
    stored = db.session.scalar(sa.select(User.password_hash).where(User.id == user.id))
    assert "ein-anderes-langes-passwort" not in stored
    assert stored.startswith("scrypt:")
    assert user.check_password("ein-anderes-langes-passwort")
    assert not user.check_password("ein-anderes-langes-passwort ")
    other = make_user(email="hash2@example.org", password="ein-anderes-langes-passwort")
    assert other.password_hash != stored  # salted


@pytest.mark.parametrize(
    "app_config", [{"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}]
)
def test_login_attempts_are_rate_limited(client, staff, app_config):
    page = client.get("/anmelden").get_data(as_text=True)
    token = csrf_token(page)
    for _ in range(3):
        response = client.post(
            "/anmelden",
            data={"email": staff.email, "password": "falsch-falsch", "csrf_token": token},
        )
        assert response.status_code == 401
    response = client.post(
        "/anmelden", data={"email": staff.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Zu viele Versuche" in page and "Bitte warten Sie einen Moment." in page
    assert '<html lang="de">' in page
    assert client.get("/anmelden").status_code == 200  # looking at the form is not limited
    assert client.get("/verwaltung/").status_code == 302
