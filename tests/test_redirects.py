"""One safe-redirect check for every ``next`` (issue 9, point 3)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import PASSWORD, csrf_token, language_link

from tracker.web.redirects import safe_next

DEFAULT = "/default"

NASTY = [
    "/\t/other.host/x",
    "/\n/other.host/x",
    "/\r/other.host/x",
    "\t//other.host/x",
    " //other.host/x",
    "//other.host/x",
    "///other.host/x",
    "\\\\other.host/x",
    "\\/other.host/x",
    "/\\other.host/x",
    "/\x00/other.host/x",
    "/\x7f/other.host/x",
    "/\x85/other.host/x",
    "https://other.host/x",
    "http:other.host",
    "HTTPS://other.host",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "other.host/x",
    "x",
    "",
    None,
    ["/verwaltung/"],
]


@pytest.mark.parametrize("target", NASTY)
def test_targets_off_the_site_are_refused(target):
    assert safe_next(target, DEFAULT) == DEFAULT


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/verwaltung/", "/verwaltung/"),
        ("/verwaltung/forderungen/3?tab=x#chronik", "/verwaltung/forderungen/3?tab=x#chronik"),
        ("/?state=open&q=a%20b", "/?state=open&q=a%20b"),
        ("/ver\twaltung/", "/verwaltung/"),  # what a browser would open, too
    ],
)
def test_paths_on_the_site_are_kept(target, expected):
    assert safe_next(target, DEFAULT) == expected


@pytest.mark.parametrize(
    "query",
    ["/%09/other.host/x", "//other.host", "/%5Cother.host", "%5C%5Cother.host", "https://x"],
)
def test_login_never_sends_anyone_to_another_site(client, staff, query):
    page = client.get("/anmelden").get_data(as_text=True)
    response = client.post(
        "/anmelden",
        query_string={"next": query.replace("%09", "\t").replace("%5C", "\\")},
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/verwaltung/"


def test_login_raw_query_with_encoded_tab(client, staff):
    page = client.get("/anmelden").get_data(as_text=True)
    response = client.post(
        "/anmelden?next=/%09/other.host/x",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.headers["Location"] == "/verwaltung/"


def test_login_keeps_a_path_on_the_site(client, staff):
    page = client.get("/anmelden").get_data(as_text=True)
    response = client.post(
        "/anmelden?next=/verwaltung/stellen/",
        data={"email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)},
    )
    assert response.headers["Location"] == "/verwaltung/stellen/"


@pytest.mark.parametrize(
    "target", ["/\t/other.host/x", "/\\other.host", "//other.host", "https://x"]
)
def test_language_switch_stays_on_the_site(client, target):
    response = client.get("/sprache/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switch_goes_back(client):
    page = client.get("/statistik?x=1").get_data(as_text=True)
    response = client.get(language_link(page, "en"))
    assert response.headers["Location"] == "/statistik?x=1"


@pytest.mark.parametrize("query", ["/%09/other.host/x", "//other.host", "/%5Cother.host"])
def test_a_logged_in_visit_of_the_login_page_stays_on_the_site(client, auth, staff, query):
    auth.login_as(staff)
    response = client.get(f"/anmelden?next={query}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/verwaltung/"


# --- a body's former address ----------------------------------------------------------------


def _rename(client, body, slug: str, expected: int = 302):
    """Change the body's slug through its staff form as rendered."""
    from forms_as_rendered import forms_of

    url = f"/verwaltung/stellen/{body.id}"
    (form,) = [f for f in forms_of(client.get(url).text) if f.action in ("", url)]
    answer = client.post(url, data=form.data(slug=slug))
    assert answer.status_code == expected, answer.text
    return answer


def test_a_renamed_bodys_old_addresses_lead_on_to_its_pages(client, auth, staff):
    from helpers import make_body, make_demand

    body = make_body(slug="ms", name="Ministerium für Soziales")
    make_demand("Bezahlkarte evaluieren", bodies=[body])
    auth.login_as(staff)
    _rename(client, body, "ms-neu")
    _rename(client, body, "sozialministerium")
    auth.logout()
    for old in ("ms", "ms-neu"):
        for tail, query in (
            ("", "?seite=1"),
            ("", "?q=%ff&state=open&q=a+b%20c"),  # the query as sent, each byte of it
            ("/feed.atom", ""),
            ("/termine.ics", ""),
        ):
            moved = client.get(f"/stellen/{old}{tail}{query}")
            assert moved.status_code == 301, (old, tail)
            assert moved.headers["Location"] == f"/stellen/sozialministerium{tail}{query}"
        api = client.get(f"/api/v1/bodies/{old}")
        assert api.status_code == 301
        assert api.headers["Location"] == "/api/v1/bodies/sozialministerium"
    page = client.get("/stellen/sozialministerium")
    assert page.status_code == 200 and "Bezahlkarte evaluieren" in page.text
    assert client.get("/stellen/nie-vergeben").status_code == 404
    missing = client.get("/api/v1/bodies/nie-vergeben")
    assert missing.status_code == 404 and missing.json["code"] == "not_found"


def test_a_former_slug_stays_with_its_body_which_may_take_it_back(client, auth, staff, db):
    from helpers import make_body

    from tracker.domain.models import FormerSlug

    body = make_body(slug="ms", name="Ministerium für Soziales")
    other = make_body(slug="mi", name="Ministerium für Inneres")
    auth.login_as(staff)
    _rename(client, body, "sozialministerium")
    refused = _rename(client, other, "ms", expected=422)  # old links mean the first body
    assert "Dieses Kürzel hatte früher „Ministerium für Soziales“" in refused.text
    db.session.expire_all()
    assert other.slug == "mi"
    _rename(client, body, "ms")  # back to its old address: no loop, no former slug left over
    db.session.expire_all()
    assert body.slug == "ms"
    assert db.session.scalars(sa.select(FormerSlug.slug)).all() == ["sozialministerium"]
    assert client.get("/stellen/ms").status_code == 200
    moved = client.get("/stellen/sozialministerium")
    assert moved.status_code == 301 and moved.headers["Location"] == "/stellen/ms"
