"""One safe-redirect check for every ``next`` (issue 9, point 3)."""

from __future__ import annotations

import pytest
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
