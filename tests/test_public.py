"""Public pages: overview with filters and chart, a demand, bodies, events, health, errors."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from helpers import language_link, make_body, make_demand, put_in_state

from tracker.domain import workflow
from tracker.domain.models import Topic, utcnow
from tracker.extensions import db
from tracker.services import demands as demand_service


def titles(page: str) -> list[str]:
    """Return the demand titles listed on the overview."""
    found = re.findall(r'class="demand-item__title"><a href="[^"]+">([^<]*)</a>', page)
    return [html.unescape(t) for t in found]


def chart(page: str) -> dict[str, int]:
    """Return the counts of the chart's table (state label -> number, plus 'zusammen')."""
    rows = re.findall(
        r'<tr><th scope="row">(?:<a [^>]+>)?([^<]+)(?:</a>)?</th><td>(\d+)</td></tr>', page
    )
    return {label: int(n) for label, n in rows}


@pytest.fixture
def data(app, event):
    ms = make_body()
    mi = make_body(slug="mi", name="Innenministerium")
    topic = db.session.query(Topic).filter_by(slug="bezahlkarte").one()
    card = make_demand(
        "Bezahlkarte evaluieren",
        text="Die Bezahlkarte gemeinsam mit der Zivilgesellschaft evaluieren.",
        bodies=[ms, mi],
        topics=[topic],
        event_id=event.id,
        event_part_id=event.parts[0].id,
    )
    dialog = put_in_state(make_demand("Dialogkultur stärken", bodies=[ms]), "addressed")
    health = put_in_state(make_demand("Gesundheitsversorgung sichern", bodies=[mi]), "closed")
    internal = make_demand(
        "Interne Nachbereitung",
        is_public=False,
        bodies=[ms],
        event_id=event.id,
        event_part_id=event.parts[0].id,
    )
    return {
        "ms": ms,
        "mi": mi,
        "card": card,
        "dialog": dialog,
        "health": health,
        "internal": internal,
        "event": event,
    }


ALL_PUBLIC = ["Bezahlkarte evaluieren", "Dialogkultur stärken", "Gesundheitsversorgung sichern"]


def test_overview_lists_public_demands_only(client, data):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert titles(page) == ALL_PUBLIC
    assert "Interne Nachbereitung" not in page
    assert "Was ist aus unseren Forderungen geworden?" in page
    assert "3 Forderungen" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=raised", ["Bezahlkarte evaluieren"]),
        ("state=addressed", ["Dialogkultur stärken"]),
        ("state=evaluated", []),
        ("state=closed", ["Gesundheitsversorgung sichern"]),
        ("state=open", ["Bezahlkarte evaluieren", "Dialogkultur stärken"]),
        ("topic=bezahlkarte", ["Bezahlkarte evaluieren"]),
        ("body=ms", ["Bezahlkarte evaluieren", "Dialogkultur stärken"]),
        ("body=mi", ["Bezahlkarte evaluieren", "Gesundheitsversorgung sichern"]),
        ("event=fachtag", ["Bezahlkarte evaluieren"]),
        ("q=dialog", ["Dialogkultur stärken"]),
        ("q=ZIVILGESELLSCHAFT", ["Bezahlkarte evaluieren"]),
        ("q=Nachbereitung", []),  # internal demands are not found either
        ("q=100%25", []),
        ("q=_", []),
        ("body=ms&state=addressed", ["Dialogkultur stärken"]),
        ("body=mi&q=gesundheit", ["Gesundheitsversorgung sichern"]),
    ],
)
def test_overview_filters(client, data, query, expected):
    page = client.get(f"/?{query}").get_data(as_text=True)
    assert titles(page) == expected
    assert "Interne Nachbereitung" not in page
    if not expected:
        assert "Keine Forderung passt zu diesen Filtern." in page


@pytest.mark.parametrize(
    ("query", "counts"),
    [
        ("", {"erhoben": 1, "aufgegriffen": 1, "evaluiert": 0, "abgeschlossen": 1, "zusammen": 3}),
        (
            "body=ms",
            {"erhoben": 1, "aufgegriffen": 1, "evaluiert": 0, "abgeschlossen": 0, "zusammen": 2},
        ),
        # the chart counts all states of the other filters, so it still shows where to go
        (
            "state=closed",
            {"erhoben": 1, "aufgegriffen": 1, "evaluiert": 0, "abgeschlossen": 1, "zusammen": 3},
        ),
        (
            "q=nichts-passt",
            {"erhoben": 0, "aufgegriffen": 0, "evaluiert": 0, "abgeschlossen": 0, "zusammen": 0},
        ),
    ],
)
def test_overview_bar_chart_counts(client, data, query, counts):
    page = client.get(f"/?{query}").get_data(as_text=True)
    assert chart(page) == counts
    title = re.search(r'<title id="chart-title">([^<]*)</title>', page).group(1)
    assert f"erhoben {counts['erhoben']}, aufgegriffen {counts['aufgegriffen']}" in title


def test_overview_survives_odd_arguments(client, data):
    assert client.get("/?q=" + "x" * 5000).status_code == 200
    past = client.get("/?page=999")  # past the end: said so, with the way back
    assert past.status_code == 404
    said = past.get_data(as_text=True)
    assert "Seite 999 gibt es nicht: die Liste hat 1 Seite." in said
    assert 'href="/?page=1">Zur letzten Seite' in said and "Seite 999 von" not in said
    for query in ("page=0", "page=-3", "page=abc", "page=%C2%B2", "state=%00"):
        assert client.get(f"/?{query}").status_code == 400  # said so, not silently page 1


def test_demand_page_shows_text_bodies_state_and_public_timeline(client, auth, data, staff):
    card = data["card"]
    demand_service.add_update(card, staff, "Das Ministerium prüft.", is_public=True)
    demand_service.add_update(card, staff, "Vertraulich: Referatsleitung zögert.", is_public=False)

    page = client.get(f"/forderungen/{card.id}").get_data(as_text=True)
    assert "<h1>Bezahlkarte evaluieren</h1>" in page
    assert "Die Bezahlkarte gemeinsam mit der Zivilgesellschaft evaluieren." in page
    assert "Sozialministerium" in page and "Innenministerium" in page
    assert "(federführend)" in page and "(beteiligt)" in page
    assert 'class="badge badge--raised">erhoben<' in page
    assert "Das Ministerium prüft." in page
    assert "Vertraulich" not in page
    assert "Fachtag Migration" in page and "Podium" in page
    assert 'aria-current="step"' in page  # the diagram marks where it stands

    auth.login()
    page = client.get(f"/forderungen/{card.id}").get_data(as_text=True)
    assert "Das Ministerium prüft." in page
    assert "Vertraulich: Referatsleitung zögert." in page
    assert "intern" in page


def test_demand_page_shows_each_transition(client, data, staff, request_ctx):
    card = data["card"]
    demand_service.advance(card, "address", staff, card.version, {"note": "Aufgegriffen im MS."})
    page = client.get(f"/forderungen/{card.id}").get_data(as_text=True)
    assert "erhoben → aufgegriffen" in page
    assert "Aufgegriffen im MS." in page
    assert 'class="badge badge--addressed">aufgegriffen<' in page


def test_internal_demand_is_404_for_the_public_and_visible_to_staff(client, auth, data, staff):
    url = f"/forderungen/{data['internal'].id}"
    response = client.get(url)
    assert response.status_code == 404
    assert "Interne Nachbereitung" not in response.get_data(as_text=True)
    auth.login()
    response = client.get(url)
    assert response.status_code == 200 and "Interne Nachbereitung" in response.get_data(
        as_text=True
    )


def test_bodies_page_counts_public_demands_by_state(client, data):
    page = client.get("/stellen/").get_data(as_text=True)
    assert "Zuständige Stellen" in page
    rows = dict(
        re.findall(
            r'<a href="/stellen/([\w-]+)">[^<]+</a></th>\s*((?:<td class="num">\d+</td>)+)', page
        )
    )
    counts = {slug: [int(n) for n in re.findall(r"\d+", cells)] for slug, cells in rows.items()}
    # raised, addressed, evaluated, closed; the internal demand of ms is not counted
    assert counts == {"ms": [1, 1, 0, 0], "mi": [1, 0, 0, 1]}


def test_body_page_marks_overdue_demands(client, data):
    old = make_demand("Seit Langem liegen geblieben", bodies=[data["ms"]])
    old.state_changed_at = utcnow() - dt.timedelta(days=200)
    db.session.commit()

    page = client.get("/stellen/ms").get_data(as_text=True)
    assert "<h1>Sozialministerium</h1>" in page
    overdue_rows = re.findall(r'<tr class="row--overdue">\s*<td><a href="[^"]+">([^<]+)</a>', page)
    assert overdue_rows == ["Seit Langem liegen geblieben"]
    assert "Arbeitstage überfällig" in page
    assert "Bezahlkarte evaluieren" in page and "Dialogkultur stärken" in page
    assert "Interne Nachbereitung" not in page
    assert re.search(r"<strong>1</strong> überfällig", page)


def test_body_page_rows_name_the_role_mark_internal_ones_and_escape(client, auth, staff, data):
    make_demand("Mehr <Personal> & Zeit", bodies=[data["mi"], data["ms"]])
    page = client.get("/stellen/ms").get_data(as_text=True)
    row = re.search(
        r"<tr><td><a href=\"/forderungen/(\d+)\">Mehr &lt;Personal&gt; &amp; Zeit</a>"
        r"</td><td>([^<]+)</td>",
        page,
    )
    assert row and row.group(2) == "beteiligt"
    assert "badge--internal" not in page
    auth.login_as(staff)
    page = client.get("/stellen/ms").get_data(as_text=True)
    assert re.search(
        r'Interne Nachbereitung</a> <span class="badge badge--internal">intern</span>', page
    )


def test_event_page_lists_its_public_demands_by_part(client, data):
    page = client.get("/veranstaltungen/fachtag").get_data(as_text=True)
    assert "<h1>Fachtag Migration</h1>" in page
    assert "Podium" in page and "Bezahlkarte evaluieren" in page
    assert "Interne Nachbereitung" not in page
    assert "Fachtag Migration" in client.get("/veranstaltungen/").get_data(as_text=True)


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_workflow_page_shows_the_declared_states(client):
    page = client.get("/ablauf").get_data(as_text=True)
    assert "Wie eine Forderung verfolgt wird" in page
    for label in ("erhoben", "aufgegriffen", "evaluiert", "abgeschlossen"):
        assert f'<span class="diagram__name">{label}</span>' in page


def _state_items(page: str) -> dict[str, str]:
    """Return the text of each state's entry in the workflow described in words."""
    listing = re.search(r'<ol class="diagram__states" id="diagramm-text">(.*?)</ol>', page, re.S)
    assert listing, "the workflow in words is missing"
    items = re.findall(
        r'<span class="diagram__name">([^<]+)</span>(.*?)</ul>', listing.group(1), re.S
    )
    return {
        name: html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", rest)))
        for name, rest in items
    }


@pytest.mark.parametrize(
    ("language", "says"),
    [("de", "„{step}“ führt zu „{dest}“"), ("en", "“{step}” leads to “{dest}”")],
)
@pytest.mark.parametrize("where", ["workflow", "demand"])
def test_workflow_shown_whole_in_words_and_as_a_diagram(client, data, where, language, says):
    from flask_babel import force_locale

    url = "/ablauf" if where == "workflow" else f"/forderungen/{data['card'].id}"
    page = client.get(url, headers={"Accept-Language": language}).get_data(as_text=True)
    assert "stateDiagram-v2" not in page and "classDef" not in page  # no raw Mermaid
    assert 'href="/ablauf.mmd' in page
    with force_locale(language):
        label = {s.name: str(s.label) for s in workflow.STATES}
        steps = {t.trigger: str(t.label) for t in workflow.TRANSITIONS}
    words = _state_items(page)
    assert set(words) == set(label.values())
    svg = re.search(r'<svg [^>]*role="img"[^>]*>.*?</svg>', page, re.S)
    assert svg, "no diagram"
    svg_text = html.unescape(re.sub(r"<[^>]+>", " ", svg.group(0)))
    arrows = 0
    for t in workflow.TRANSITIONS:
        for source in t.source:  # every step from every state, closing and reopening included
            expected = says.format(step=steps[t.trigger], dest=label[t.dest])
            assert expected in words[label[source]], words[label[source]]
            arrows += 1
        assert all(word in svg_text for word in steps[t.trigger].split())
    assert svg.group(0).count('class="diagram__edge"') == arrows == 6
    for name in label.values():
        assert name in svg_text
    if where == "demand":
        assert svg.group(0).count("diagram__box--current") == 1
        assert re.search(r'class="diagram__box diagram__box--current"', svg.group(0))


def test_the_diagram_rendered_once_still_follows_language_state_and_mount_point(client, data):
    """The figure is kept per process: each language, marked state and prefix gets its own."""
    card = data["card"]
    demand, other = f"/forderungen/{card.id}", "/ablauf"
    for _round in range(2):  # the second round comes from the kept figures
        german = client.get(demand, headers={"Accept-Language": "de"}).get_data(as_text=True)
        english = client.get(demand, headers={"Accept-Language": "en"}).get_data(as_text=True)
        assert "Ablauf einer Forderung" in german and "Ablauf einer Forderung" not in english
        assert "aktueller Stand" in german
        plain = client.get(other, headers={"Accept-Language": "de"}).get_data(as_text=True)
        assert "diagram__box--current" not in plain and "aktueller Stand:" not in plain
        assert 'href="/ablauf.mmd"' in plain
        mounted = client.get(other, environ_overrides={"SCRIPT_NAME": "/tracker"})
        assert 'href="/tracker/ablauf.mmd"' in mounted.get_data(as_text=True)
    marked = re.search(r'state--current"[^>]*>\s*<span class="diagram__name">([^<]+)', german)
    assert marked and marked[1] == str(workflow.STATE_BY_NAME[card.state].label)


def test_workflow_mermaid_is_a_download(client):
    response = client.get("/ablauf.mmd?stand=addressed")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Content-Disposition"] == 'attachment; filename="ablauf.mmd"'
    text = response.get_data(as_text=True)
    assert "stateDiagram-v2" in text and "Class addressed s_active" in text
    assert "[*] --> raised" in client.get("/ablauf.mmd").get_data(as_text=True)
    assert client.get("/ablauf.mmd?stand=verloren").status_code == 400


@pytest.mark.parametrize(
    "url",
    [
        "/forderungen/999999",
        "/forderungen/abc",
        "/forderungen/-1",
        "/stellen/gibt-es-nicht",
        "/veranstaltungen/gibt-es-nicht",
        "/nirgendwo",
    ],
)
def test_unknown_pages_are_404_in_german(client, data, url):
    response = client.get(url)
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Nicht gefunden" in page and "Diese Seite gibt es nicht (mehr)." in page


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/forderungen/{id}",
        "/stellen/",
        "/stellen/ms",
        "/veranstaltungen/fachtag",
        "/ablauf",
        "/healthz",
    ],
)
def test_post_to_a_get_page_is_405(client, data, url):
    response = client.post(url.format(id=data["card"].id))
    assert response.status_code == 405
    assert "Methode nicht erlaubt" in response.get_data(as_text=True)
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(
    "url", ["/", "/forderungen/{id}", "/stellen/ms", "/ablauf", "/forderungen/999999", "/anmelden"]
)
def test_security_headers(client, data, url):
    response = client.get(url.format(id=data["card"].id))
    headers = response.headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # http in the tests


def test_pages_are_german_by_default(client, data):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "Zum Inhalt springen" in page and "Forderungen" in page


def test_language_switch_to_english(client, data):
    page = client.get("/ablauf").get_data(as_text=True)
    link = language_link(page, "en")
    assert link.startswith("/sprache/en?next=")
    response = client.get(link)
    assert response.status_code == 302
    assert response.headers["Location"] == "/ablauf"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("sprache=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with client.session_transaction() as session:
        assert "locale" not in session, "the choice needs no session"
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page and "What has become of our demands?" in page
    assert 'lang="en" hreflang="en" aria-current="true"' in page


@pytest.mark.parametrize("target", ["//evil.example.org/", "https://evil.example.org/", ""])
def test_language_switch_never_redirects_elsewhere(client, target):
    response = client.get("/sprache/de", query_string={"next": target})
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("locale", ["fr", "de-DE", "x" * 500])
def test_language_switch_refuses_unknown_locales(client, locale):
    response = client.get(f"/sprache/{locale}")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers
    assert '<html lang="de">' in client.get("/").get_data(as_text=True)


def test_browser_language_is_followed(client):
    page = client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)
    assert "What has become of our demands?" in page
    page = client.get("/", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Was ist aus unseren Forderungen geworden?" in page


@pytest.mark.parametrize(
    "path",
    [
        "/forderungen/99999999999999999999",
        "/api/v1/demands/99999999999999999999",
        "/forderungen/99999999999999999999/feed.atom",
        "/verwaltung/forderungen/99999999999999999999",
    ],
)
def test_ids_no_row_can_have_are_404(client, path):
    assert client.get(path).status_code in (302, 404)  # staff pages send guests to the login


def _timeline_text(page: str) -> str:
    match = re.search(r'<ol class="timeline">.*?</ol>', page, re.S)
    assert match, "no timeline on the page"
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(0))))


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Sozialministerium (federführend), Innenministerium (beteiligt)"),
        ("en", "Sozialministerium (lead), Innenministerium (involved)"),
    ],
)
def test_public_timeline_names_bodies_and_roles(client, data, language, expected):
    page = client.get(
        f"/forderungen/{data['card'].id}", headers={"Accept-Language": language}
    ).get_data(as_text=True)
    text = _timeline_text(page)
    assert expected in text, text
    assert "ms (" not in text and "mi (" not in text


def test_favicon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/vnd.microsoft.icon"
        assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/favicon.ico"' in page
    assert 'type="image/svg+xml"' in page
    with client.get("/static/favicon.svg") as response:
        assert response.status_code == 200


def test_long_event_titles_are_cut_at_a_word_with_an_ellipsis(client, event):
    title = "Fachtag der LIGA der freien Wohlfahrtspflege Sachsen-Anhalt zur Migrationsberatung"
    event.title = title
    db.session.commit()
    make_demand(event_id=event.id)
    option = re.search(
        r'<option value="fachtag"[^>]*>[^<]* – ([^<]*)</option>',
        client.get("/").get_data(as_text=True),
    )
    assert option, "no option for the event"
    shown = html.unescape(option.group(1))
    assert shown.endswith("…") and len(shown) <= 60
    assert title.startswith(shown[:-1]) and title[len(shown) - 1] == " "
    crumb = client.get("/veranstaltungen/fachtag").get_data(as_text=True)
    assert 'aria-current="page">Fachtag der LIGA' in crumb and "…</span></nav>" in crumb


def test_personal_answers_are_kept_by_no_cache_and_public_ones_may_be(client, data, auth, staff):
    public = client.get(f"/forderungen/{data['card'].id}")
    assert public.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    personal = {
        "/anmelden": client.get("/anmelden"),
        "/antwort/falsch": client.get("/antwort/falsch"),
        "API with a token": client.get("/api/v1/demands", headers={"Authorization": "Bearer x"}),
    }
    auth.login_as(staff)
    for path in ("/verwaltung/", "/verwaltung/api-tokens", f"/forderungen/{data['card'].id}"):
        personal[path] = client.get(path)
    for name, response in personal.items():
        assert response.headers["Cache-Control"] == "private, no-store", name


def test_the_site_header_follows_the_page_the_language_and_the_login(client, auth, staff):
    """The header is rendered once per endpoint, language and login state: no variant leaks
    into another (the current page marked, the links of who is logged in, the language)."""

    def header(path: str) -> str:
        page = client.get(path).get_data(as_text=True)
        return page[page.index('<a class="skip-link"') : page.index("</header>")]

    bodies = header("/stellen/")
    assert 'aria-current="page">Stellen</a>' in bodies and "Anmelden</a>" in bodies
    assert bodies.count("aria-current") == 1
    workflow_page = header("/ablauf")
    assert (
        'aria-current="page">Ablauf</a>' in workflow_page
        and workflow_page.count("aria-current") == 1
    )
    client.set_cookie("sprache", "en")
    english = header("/ablauf")
    assert "Skip to content" in english and 'aria-current="page">Workflow</a>' in english
    client.delete_cookie("sprache")
    auth.login_as(staff)
    logged_in = header("/ablauf")
    assert "Abmelden</a>" in logged_in and "Anmelden</a>" not in logged_in
    assert 'href="/verwaltung/"' in logged_in
    staff_page = header("/verwaltung/")
    assert (
        'aria-current="page">Verwaltung</a>' in staff_page and staff_page.count("aria-current") == 1
    )
    assert header("/stellen/") != bodies  # logged in: the same page, another variant


def test_list_rows_show_what_the_demands_relationships_hold(app):
    """The lists read their rows without ORM objects: the same demands, bodies (lead first,
    with the committed date) and topics (by name) as the demands' own relationships."""
    from tracker.services import queries

    ms, mi = make_body(), make_body("mi", "Innenministerium", contacts=())
    mi.short_name = "MI"
    topics = [Topic(slug="z", name="Zuwanderung"), Topic(slug="a", name="Arbeit")]
    first = make_demand("Erste", bodies=[mi, ms])
    first.topics = topics
    first.assignments[0].committed_until = dt.date(2026, 3, 2)
    make_demand("Zweite", bodies=[ms])
    make_demand("Intern", is_public=False, bodies=[mi])
    db.session.commit()

    def shape(d):
        bodies = [(a.role, a.committed_until, a.body.label) for a in d.assignments]
        tags = [(t.slug, t.name) for t in d.topics]
        return (d.id, d.title, d.state, d.state_changed_at, d.outcome, d.is_public, bodies, tags)

    for include_internal in (False, True):
        f = queries.DemandFilter()
        rows = queries.list_rows(f, include_internal=include_internal).items
        loaded = queries.list_demands(f, include_internal=include_internal).items
        assert [shape(r) for r in rows] == [shape(d) for d in loaded]
        assert len(rows) == 3 if include_internal else 2
    row = queries.list_rows(queries.DemandFilter()).items[0]
    assert [t.name for t in row.topics] == ["Arbeit", "Zuwanderung"]
    assert [(a.role, a.body.label) for a in row.assignments] == [
        ("lead", "MI"),
        ("involved", "Sozialministerium"),
    ]
    assert queries.list_rows(queries.DemandFilter(), topics=False).items[0].topics == []
