"""The page cache: anonymous pages come from it, and no page is stale after any kind of write.

A reader (an anonymous client) fetches every page twice, so the second answer comes from the
cache (one statement: the data version); then staff write through the pages as rendered (or
the body through its answer link, or a command through the services); the next fetch of every
page must show the change, in both languages.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from forms_as_rendered import forms_of
from helpers import (
    Auth,
    language_link,
    make_app,
    make_body,
    make_demand,
    make_evidence,
    wait_until,
)
from werkzeug.http import http_date, parse_date

from tracker import transactions
from tracker.domain.models import DataVersion, Event, Topic
from tracker.extensions import db
from tracker.services import answer_links
from tracker.web import page_cache
from tracker.web.page_cache import PageCache


@pytest.fixture
def world(app, event, staff):
    body = make_body()
    demand = make_demand("Bezahlkarte evaluieren", bodies=[body], event_id=event.id)
    demand.event_part = event.parts[0]
    demand.topics = [db.session.scalar(sa.select(Topic))]
    make_evidence(body)
    db.session.commit()
    return {"body": body, "demand": demand, "event": event}


class OwnSession(FlaskClient):
    """A client whose every request has an app context, so a database session, of its own.

    So has each request in production. A page then shows only what its own statements read,
    the tables the cache keeps it by; in the test's session it could take an object from the
    identity map without a statement, and depend on a table it never named.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def reader(app):
    return OwnSession(app, app.response_class)


@pytest.fixture
def writer(app, staff):
    client = app.test_client()
    Auth(client).login_as(staff)
    return client


def pages(world) -> list[str]:
    d, b, e = world["demand"], world["body"], world["event"]
    return [
        "/",
        f"/?topic=bezahlkarte&body={b.slug}",
        f"/forderungen/{d.id}",
        "/stellen/",
        f"/stellen/{b.slug}",
        "/veranstaltungen/",
        f"/veranstaltungen/{e.slug}",
        "/statistik",
        "/beteiligungen",
        "/dialog",
        "/feed.atom",
        f"/forderungen/{d.id}/feed.atom",
        f"/stellen/{b.slug}/termine.ics",
        "/api/v1/demands",
        f"/api/v1/demands/{d.id}",
        "/api/v1/bodies",
        "/api/v1/events",
        "/api/v1/consultations",
        "/api/v1/meetings",
        f"/stellen/{b.slug}/feed.atom",
        "/beteiligungen/feed.atom",
        "/forderungen.csv",
        f"/berichte/{e.slug}",
    ]


def warm(db, reader, paths, language="de"):
    """Fetch each page twice; the second time it must come from the cache."""
    headers = {"Accept-Language": language}
    for path in paths:
        assert reader.get(path, headers=headers).status_code == 200, path
        assert statements_run(db, reader, path, headers) == 0, f"{path} did not come from the cache"


def statements_run(db, reader, path, headers=None) -> int:
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = reader.get(path, headers=headers or {})
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements)


def shown(reader, path, text, language="de") -> bool:
    return text in reader.get(path, headers={"Accept-Language": language}).get_data(as_text=True)


def submit(client, page_path, action, **changes):
    """Submit the form of ``page_path`` that posts to ``action``, as rendered, with changes."""
    page = client.get(page_path).get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith(action)]
    response = client.post(form.action, data=form.data(**changes))
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:2000]
    return response


def test_the_second_anonymous_fetch_of_every_page_comes_from_the_cache(db, reader, world):
    warm(db, reader, pages(world))
    warm(db, reader, pages(world), language="en")


def test_a_newsletters_tracking_arguments_get_the_page_everyone_reads(db, reader, world):
    """``?utm_source=…`` is the overview itself: from the cache, its links without them."""
    warm(db, reader, ["/", "/?topic=bezahlkarte"])
    for path in ("/?utm_source=newsletter&utm_medium=mail", "/?topic=bezahlkarte&fbclid=x1"):
        assert statements_run(db, reader, path) == 0, path
    page = reader.get("/?utm_campaign=fachtag&page=1").get_data(as_text=True)
    assert "Bezahlkarte evaluieren" in page and "utm_" not in page


def test_an_address_with_an_argument_no_page_reads_is_neither_looked_up_nor_stored(
    app, db, reader, world
):
    """Random arguments would fill the cache with copies of one page and push out the rest."""
    kept = app.extensions["cache"][page_cache.cache]._cache  # SimpleCache's entries
    warm(db, reader, ["/"])
    before = len(kept)
    for path in ("/?zufall=1", "/?zufall=2", "/?topic=bezahlkarte&x=1"):
        assert statements_run(db, reader, path) > 0 and statements_run(db, reader, path) > 0
    assert len(kept) == before
    assert statements_run(db, reader, "/?topic=bezahlkarte") > 0  # a page read: kept
    assert len(kept) == before + 1


def test_the_query_arguments_the_cache_knows_are_every_one_a_page_reads():
    """A page that reads an argument the cache does not know would never be cached."""
    from tracker.web.api import schemas

    root = Path(page_cache.__file__).parent
    read = set()
    for source in root.rglob("*.py"):
        if "staff" in source.parts:
            continue
        text = source.read_text()
        read |= set(re.findall(r"request\.args\.get\(\"(\w+)\"", text))
        read |= set(re.findall(r"int_arg\(request\.args, \"(\w+)\"", text))
    from tracker.services.queries import DemandFilter

    read |= set(DemandFilter.__dataclass_fields__)
    for schema in (schemas.DemandQuery, schemas.EvidenceQuery):
        read |= set(schema().fields)
    assert {"stand", "stelle", "jahr", "fassung", "page", "per_page"} <= read
    assert read <= page_cache.QUERY_ARGS


@pytest.mark.parametrize("language", ["de", "en"])
def test_a_demands_edit_shows_on_every_page_at_once(db, reader, writer, world, language):
    d = world["demand"]
    listed = [p for p in pages(world) if "termine.ics" not in p and "dialog" not in p]
    listed = [p for p in listed if p not in ("/beteiligungen", "/stellen/", "/veranstaltungen/")]
    listed = [p for p in listed if "consultations" not in p and "meetings" not in p]
    listed = [p for p in listed if "beteiligungen" not in p and "/api/v1/events" not in p]
    listed = [p for p in listed if p not in ("/statistik", "/api/v1/bodies")]
    warm(db, reader, listed, language)
    submit(
        writer,
        f"/verwaltung/forderungen/{d.id}",
        f"/forderungen/{d.id}/bearbeiten",
        **{"edit-title": "Bezahlkarte abschaffen"},
    )
    for path in listed:
        assert shown(reader, path, "Bezahlkarte abschaffen", language), path


def test_a_state_change_shows_in_the_lists_and_the_api(db, reader, writer, world):
    d = world["demand"]
    paths = ["/?state=addressed", f"/api/v1/demands/{d.id}"]
    warm(db, reader, paths)
    assert not shown(reader, paths[0], d.title) and shown(reader, paths[1], '"raised"')
    page = writer.get(f"/verwaltung/forderungen/{d.id}").get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith("/schritt/address")]
    fields = {name: "Antwort des Ministeriums" for name, value in form.fields if value == ""}
    assert writer.post(form.action, data=form.data(**fields)).status_code == 302
    assert shown(reader, paths[0], d.title)
    assert shown(reader, paths[1], '"addressed"')


def test_a_bodys_new_name_shows_on_its_pages_and_the_demands(db, reader, writer, world):
    b, d = world["body"], world["demand"]
    paths = ["/stellen/", f"/stellen/{b.slug}", f"/forderungen/{d.id}", "/api/v1/bodies"]
    warm(db, reader, paths)
    submit(writer, f"/verwaltung/stellen/{b.id}", f"/stellen/{b.id}", name="Landessozialamt")
    for path in paths:
        assert shown(reader, path, "Landessozialamt"), path


def test_a_new_body_shows_in_the_index(db, reader, writer, world):
    warm(db, reader, ["/stellen/", "/api/v1/bodies"])
    submit(
        writer,
        "/verwaltung/stellen/neu",
        "/stellen/neu",
        name="Landesverwaltungsamt",
        slug="lvwa",
        accusative_name="das Landesverwaltungsamt",
        short_accusative="das Landesverwaltungsamt",
    )
    assert shown(reader, "/stellen/", "Landesverwaltungsamt")
    assert shown(reader, "/api/v1/bodies", "lvwa")


def test_an_events_and_a_topics_change_show(db, reader, world):
    """Events and topics change through `tracker seed` and the imports: the same commit path."""
    d, e = world["demand"], world["event"]
    paths = ["/veranstaltungen/", f"/veranstaltungen/{e.slug}", f"/forderungen/{d.id}", "/"]
    warm(db, reader, paths)
    db.session.get(Event, e.id).title = "Fachtag Migration und Teilhabe"
    transactions.commit()
    for path in paths[:3]:
        assert shown(reader, path, "Fachtag Migration und Teilhabe"), path
    db.session.scalar(sa.select(Topic)).name = "Bezahlkarte und Bargeld"
    transactions.commit()
    for path in (f"/forderungen/{d.id}", "/"):
        assert shown(reader, path, "Bezahlkarte und Bargeld"), path


def test_a_bodys_statement_through_its_link_shows(db, reader, world):
    d, b = world["demand"], world["body"]
    paths = [f"/forderungen/{d.id}", "/feed.atom", f"/stellen/{b.slug}"]
    warm(db, reader, paths)
    body_client = reader.application.test_client()
    link = f"/antwort/{answer_links.answer_token(b)}"
    page = body_client.get(link).get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith(f"/{d.id}/stellungnahme")]
    sent = body_client.post(
        form.action, data=form.data(**{f"d{d.id}-text": "Wir führen die Bezahlkarte nicht ein."})
    )
    assert sent.status_code in (200, 302)
    for path in paths[:2]:
        assert shown(reader, path, "Wir führen die Bezahlkarte nicht ein."), path


def test_a_consultation_and_a_meeting_show(db, reader, writer, world):
    warm(db, reader, ["/beteiligungen", "/dialog"])
    page = writer.get("/verwaltung/beteiligungen/neu").get_data(as_text=True)
    (form,) = [f for f in forms_of(page) if f.action.endswith("/beteiligungen/neu")]
    changes = {
        "title": "Anhörung zum Integrationsgesetz",
        "body_id": str(world["body"].id),
        "received_on": "2026-11-02",
        "deadline_on": "2026-12-20",
    }
    response = writer.post(form.action, data=form.data(**changes))
    assert response.status_code == 302, re.findall(
        r'class="[^"]*error[^"]*"[^>]*>([^<]+)', response.get_data(as_text=True)
    )
    assert shown(reader, "/beteiligungen", "Anhörung zum Integrationsgesetz")


def test_a_progress_note_shows_on_the_pages_that_read_timelines_the_others_stay(
    db, reader, writer, world
):
    """A progress note adds a timeline entry: the pages that show timelines render again,
    the overview, the events and the workflow (which read no timeline) stay in the cache."""
    d = world["demand"]
    showing = [f"/forderungen/{d.id}", "/feed.atom", f"/forderungen/{d.id}/feed.atom"]
    kept = ["/", "/veranstaltungen/", "/ablauf", "/api/v1/demands"]
    warm(db, reader, showing + kept)
    submit(
        writer,
        f"/verwaltung/forderungen/{d.id}",
        f"/forderungen/{d.id}/stand",
        **{"update-text": "Das Ministerium prüft einen Entwurf."},
    )
    for path in showing:
        assert shown(reader, path, "Das Ministerium prüft einen Entwurf."), path
    for path in kept:
        assert statements_run(db, reader, path) == 0, f"{path} was rendered again"
    db.session.get(Event, world["event"].id).title = "Fachtag Migration und Teilhabe"
    transactions.commit()  # the events table: the events index renders again, the workflow not
    assert shown(reader, "/veranstaltungen/", "Fachtag Migration und Teilhabe")
    assert statements_run(db, reader, "/ablauf") == 0


def test_writes_to_tables_no_page_read_keep_the_cache(app, db, reader, world, staff):
    warm(db, reader, ["/"])
    before = dict(db.session.execute(sa.select(DataVersion.name, DataVersion.token)).all())
    staff.name = "Neuer Name"
    transactions.commit()
    after = dict(db.session.execute(sa.select(DataVersion.name, DataVersion.token)).all())
    assert after["users"] != before.get("users")
    assert {n: t for n, t in after.items() if n != "users"} == {
        n: t for n, t in before.items() if n != "users"
    }
    assert statements_run(db, reader, "/") == 0
    world["demand"].title = "Geändert"
    transactions.commit()
    assert shown(reader, "/", "Geändert")


def test_a_delete_renews_the_tables_its_rows_cascade_to():
    """The database deletes a demand's timeline and assignments with it (ON DELETE CASCADE):
    pages that read only those tables must render again too."""
    from tracker.domain.models import Demand

    written = transactions._written_by(Demand, deleted=True)
    assert {"demands", "timeline_entries", "assignments", "demand_topics"} <= written
    assert transactions._written_by(Demand, deleted=False) >= {"demands", "demand_topics"}
    assert "timeline_entries" not in transactions._written_by(Demand, deleted=False)


def test_an_orm_delete_statement_renews_its_cascades_and_leaves_the_lookup_sound(db, world):
    """An ORM statement's table is annotated: it must still lead to the tables the database's
    ON DELETE rules reach, and not spoil the lookup for later deletes."""
    from tracker.domain.models import Demand

    db.session.execute(sa.delete(Demand).where(Demand.id == -1))
    touched = db.session.info[transactions.TOUCHED]
    assert {"demands", "timeline_entries", "assignments"} <= touched
    assert "timeline_entries" in transactions._written_by(Demand, deleted=True)
    db.session.rollback()


def test_a_part_removed_from_its_event_renews_what_its_deletion_reaches(db, world):
    """Removed from ``event.parts`` (delete-orphan), a part is deleted at the flush; the
    database then sets the ``event_part_id`` of its demands to NULL."""
    event = db.session.get(Event, world["event"].id)
    event.parts.remove(event.parts[0])
    db.session.flush()
    assert {"event_parts", "demands"} <= db.session.info[transactions.TOUCHED]
    db.session.rollback()


def test_a_released_savepoint_leaves_the_versions_to_the_commit(db, world):
    """Renewing them at each savepoint would lock their rows for the rest of the transaction."""
    upserts = []

    def record(conn, cursor, statement, *args):
        if "data_versions" in statement and not statement.startswith("SELECT"):
            upserts.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.session.begin_nested():
            world["demand"].title = "Im Sicherungspunkt"
        assert upserts == []
        transactions.commit()
        assert len(upserts) == 1
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def test_a_page_depends_on_the_tables_its_statements_name():
    assert page_cache._tables_in(
        "SELECT demands.id, bodies.name FROM demands JOIN assignments AS assignments_1 "
        "ON demands.id = assignments_1.demand_id JOIN bodies ON bodies.id = assignments_1.body_id"
    ) == {"demands", "assignments", "bodies"}
    assert page_cache._tables_in("SELECT 1") == set()


def test_saving_a_form_unchanged_keeps_the_cache(db, reader, writer, world):
    d = world["demand"]
    warm(db, reader, [f"/forderungen/{d.id}"])
    submit(writer, f"/verwaltung/forderungen/{d.id}", f"/forderungen/{d.id}/bearbeiten")
    assert statements_run(db, reader, f"/forderungen/{d.id}") == 0


def test_conditional_get_answers_304_until_the_page_changes(db, reader, world, clock):
    d = world["demand"]
    path = f"/forderungen/{d.id}"
    clock.shift(dt.timedelta(seconds=2))  # the last change's second is over: a date is sent
    first = reader.get(path)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in first.headers["Vary"].split(",")}
    again = reader.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert reader.get(path, headers={"If-Modified-Since": modified}).status_code == 304
    world["demand"].title = "Neuer Titel"
    transactions.commit()
    changed = reader.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Neuer Titel" in changed.get_data(as_text=True)
    assert changed.headers["ETag"] != etag


def test_if_modified_since_gets_no_304_for_a_page_changed_twice_in_one_second(
    clock, db, reader, world
):
    """HTTP dates have whole seconds: a reader holding the date of the first change must
    not be told that the page is unchanged after a second change within the same second."""
    path = f"/forderungen/{world['demand'].id}"
    changed = db.session.get(DataVersion, "demands").changed_at
    second = http_date(changed.replace(tzinfo=dt.UTC))
    first = reader.get(path)
    assert "Last-Modified" not in first.headers and first.headers["ETag"]
    assert "Date" not in first.headers  # the server adds it, once
    world["demand"].title = "Zweite Änderung"
    transactions.commit()  # in the same second (the clock stands still)
    again = reader.get(path, headers={"If-Modified-Since": second})
    assert again.status_code == 200 and "Zweite Änderung" in again.get_data(as_text=True)
    cached = reader.get(path, headers={"If-Modified-Since": second})  # a hit decides the same
    assert cached.status_code == 200 and "Last-Modified" not in cached.headers
    clock.shift(dt.timedelta(seconds=2))
    later = reader.get(path)
    assert later.headers["Last-Modified"] and "Date" not in later.headers
    assert (
        reader.get(path, headers={"If-Modified-Since": later.headers["Last-Modified"]}).status_code
        == 304
    )


def test_a_reader_who_accepts_gzip_gets_the_page_as_kept(db, reader, world):
    """Rendered (miss) or from the cache (hit): the same page, gzip or not, each its own ETag."""
    import gzip

    d = world["demand"]
    path = f"/forderungen/{d.id}"
    packed = {"Accept-Encoding": "gzip, deflate, br"}
    miss = reader.get(path, headers=packed)
    assert miss.headers["Content-Encoding"] == "gzip"
    page = gzip.decompress(miss.get_data())
    assert d.title.encode() in page
    assert "Accept-Encoding" in {v.strip() for v in miss.headers["Vary"].split(",")}
    assert statements_run(db, reader, path, packed) == 0
    hit = reader.get(path, headers=packed)
    assert hit.headers["Content-Encoding"] == "gzip" and gzip.decompress(hit.get_data()) == page
    assert int(hit.headers["Content-Length"]) == len(hit.get_data()) < len(page)
    plain = reader.get(path)  # from the cache, unpacked
    assert "Content-Encoding" not in plain.headers and plain.get_data() == page
    refused = reader.get(path, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.get_data() == page
    assert hit.headers["ETag"] != plain.headers["ETag"]
    assert (
        reader.get(path, headers={**packed, "If-None-Match": hit.headers["ETag"]}).status_code
        == 304
    )
    assert reader.get(path, headers={"If-None-Match": hit.headers["ETag"]}).status_code == 200
    head = reader.head(path, headers=packed)
    assert head.status_code == 200 and head.headers["Content-Encoding"] == "gzip"
    assert head.get_data() == b""
    assert head.headers["Content-Length"] == hit.headers["Content-Length"]


@pytest.mark.parametrize("accept", ["gzip", "identity"])
def test_a_hit_answers_with_the_headers_of_the_rendered_page(db, reader, world, accept):
    """A hit is answered by the middleware itself: the same status, headers (the security
    headers among them) and body as the page rendered before it; HEAD the headers alone."""
    path = f"/forderungen/{world['demand'].id}"
    headers = {"Accept-Encoding": accept}
    miss = reader.get(path, headers=headers)
    assert statements_run(db, reader, path, headers) == 0
    hit, head = reader.get(path, headers=headers), reader.head(path, headers=headers)

    def sent(response):  # Last-Modified waits for the second of the last change to be over
        return sorted((k, v) for k, v in response.headers.items() if k != "Last-Modified")

    assert hit.status == miss.status == "200 OK" and hit.get_data() == miss.get_data()
    assert sent(hit) == sent(miss) == sent(head)
    assert hit.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in hit.headers
    assert head.get_data() == b""


def test_the_next_day_renders_again(db, reader, world, clock):
    d = world["demand"]
    clock.move_to(dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    warm(db, reader, [f"/forderungen/{d.id}"])
    clock.move_to(dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC))
    assert statements_run(db, reader, f"/forderungen/{d.id}") > 0, "days waiting count on"


def test_anonymous_pages_set_no_cookie_and_carry_no_form_token(reader, world):
    for path in pages(world):
        response = reader.get(path)
        assert "Set-Cookie" not in response.headers, path
        assert "csrf_token" not in response.get_data(as_text=True), path


def test_logged_in_staff_and_the_public_never_share_a_page(db, reader, writer, world):
    internal = make_demand("Interner Entwurf", bodies=[world["body"]], is_public=False)
    db.session.commit()
    d = world["demand"]
    warm(db, reader, ["/", f"/forderungen/{d.id}"])
    assert "Abmelden" in writer.get("/").get_data(as_text=True)
    assert "Abmelden" in writer.get(f"/forderungen/{d.id}").get_data(as_text=True)
    assert "Interner Entwurf" in writer.get(f"/forderungen/{internal.id}").get_data(as_text=True)
    assert "Abmelden" not in reader.get("/").get_data(as_text=True)
    assert reader.get(f"/forderungen/{internal.id}").status_code == 404


def test_an_api_token_reads_past_the_cache(app, db, reader, world, staff):
    from tracker.services import api_tokens

    internal = make_demand("Interner Entwurf", bodies=[world["body"]], is_public=False)
    token = api_tokens.create_token(staff, "Lesen")[1]
    db.session.commit()
    warm(db, reader, ["/api/v1/demands"])
    seen = reader.get("/api/v1/demands", headers={"Authorization": f"Bearer {token}"})
    assert f'"id": {internal.id}' in seen.get_data(as_text=True).replace('"id":', '"id": ')


def test_a_flashed_message_is_shown_although_the_page_is_cached(db, reader, world):
    d = world["demand"]
    warm(db, reader, [f"/forderungen/{d.id}"])
    page = reader.get(f"/forderungen/{d.id}/folgen").get_data(as_text=True)
    (form,) = forms_of(page)
    reader.post(form.action, data=form.data(email="leser@example.org"))
    from tracker.domain.models import OutboxMessage

    text = db.session.scalar(sa.select(OutboxMessage.text).order_by(OutboxMessage.id.desc()))
    link = re.search(r"http://tracker.test(/folgen/\S+/bestaetigen)", text).group(1)
    (confirm,) = forms_of(reader.get(link).get_data(as_text=True))
    done = reader.post(confirm.action or link, data=confirm.data(), follow_redirects=True)
    assert "Bestätigt" in done.get_data(as_text=True)
    assert "Bestätigt" not in reader.get(f"/forderungen/{d.id}").get_data(as_text=True)


def test_the_language_choice_is_part_of_the_key(db, reader, world):
    warm(db, reader, ["/ablauf"])
    reader.get(language_link(reader.get("/ablauf").get_data(as_text=True), "en"))
    assert '<html lang="en">' in reader.get("/ablauf").get_data(as_text=True)


def test_a_page_first_rendered_for_a_head_links_its_language_switch_back_to_itself(
    db, reader, world
):
    path = "/statistik?stelle=x"
    assert reader.head(path).status_code == 200  # rendered, and kept, for a HEAD
    link = language_link(reader.get(path).get_data(as_text=True), "en")
    assert link == "/sprache/en?next=/statistik?stelle%3Dx"


@pytest.mark.parametrize("app_config", [{"CACHE_ENTRIES": 3}])
def test_the_cache_holds_at_most_its_entries(db, reader, world, app_config):
    for i in range(12):
        reader.get(f"/?q=Seite{i}")
    assert len(page_cache.cache.cache._cache) <= 3


@pytest.mark.parametrize("app_config", [{"CACHE_MAX_PAGE": 800}])  # compressed ~1.5 KB
def test_a_page_over_the_size_limit_is_rendered_each_time(db, reader, world, app_config):
    assert reader.get("/").status_code == 200
    assert statements_run(db, reader, "/") > 0
    assert "ETag" not in reader.get("/").headers


@pytest.mark.parametrize("app_config", [{"CACHE_ENTRIES": 0}])
def test_the_cache_can_be_switched_off(db, reader, world, app_config):
    reader.get("/")
    assert statements_run(db, reader, "/") > 0


def test_without_the_data_versions_table_pages_are_rendered(db, reader, world):
    table = db.metadata.tables["data_versions"]
    db.session.remove()
    table.drop(db.engine)
    try:
        assert reader.get("/").status_code == 200
        assert statements_run(db, reader, "/") > 0
    finally:  # PostgreSQL's schema serves the next tests too
        db.session.remove()
        table.create(db.engine)


def test_a_lost_connection_for_the_versions_costs_one_render(app, db, reader, world, caplog):
    """The versions are read on a connection the thread keeps for them: when the database drops
    it (a restart, an idle timeout), that request renders the page, and the next is a hit again,
    on a new connection. Disposing of the engine's pool closes it too."""
    middleware = app.wsgi_app
    while not isinstance(middleware, PageCache):
        middleware = middleware.app
    warm(db, reader, ["/"])
    own = middleware.local.connection
    if db.engine.dialect.name == "postgresql":  # the server ends every other session
        with db.engine.connect() as connection:
            connection.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    else:
        own.close()
    caplog.set_level(logging.WARNING)
    page = reader.get("/")
    assert page.status_code == 200 and world["demand"].title in page.get_data(as_text=True)
    assert "page cache off for this request" in caplog.text
    assert statements_run(db, reader, "/") == 0  # the page kept, the versions read anew
    assert middleware.local.connection is not own
    db.session.remove()
    db.engine.dispose()
    assert middleware.opened == set()
    assert statements_run(db, reader, "/") == 0  # the versions on a new connection


def test_a_thread_per_request_leaves_no_connection_open(app, db, reader, world):
    """The dev server starts a thread for each request: the connection each thread opened for
    the versions closes when the thread ends (it held two files a request, until the process
    ran out of them)."""
    middleware = app.wsgi_app
    while not isinstance(middleware, PageCache):
        middleware = middleware.app
    warm(db, reader, ["/"])
    answers = []
    for _ in range(40):
        thread = threading.Thread(target=lambda: answers.append(reader.get("/").status_code))
        thread.start()
        thread.join(30)
    assert answers == [200] * 40
    if db.engine.dialect.name == "sqlite":  # the files themselves, as the process sees them
        database = Path(db.engine.url.database).resolve()
        held = [fd for fd in Path("/proc/self/fd").iterdir() if _opens(fd, database)]
        assert len(held) <= 6  # the pool's connections and this thread's (with the WAL)
    assert len([c for c in middleware.opened if c.alive]) <= 2  # this thread's, at most one more


def _opens(fd: Path, database: Path) -> bool:
    try:
        return os.readlink(fd).startswith(str(database))
    except OSError:  # closed meanwhile
        return False


# ----------------------------------------------------------------------- Redis, two workers


def start_redis(folder) -> tuple[str, subprocess.Popen]:
    """Start a real redis-server on a free port; return its URL and process."""
    server = shutil.which("redis-server")
    if server is None:
        message = "redis-server is missing (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    wait_until(up, 20, "redis-server to listen")
    return f"redis://127.0.0.1:{port}/0", process


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    url, process = start_redis(tmp_path_factory.mktemp("redis"))
    yield url
    process.terminate()
    process.wait(10)


@pytest.fixture
def workers(tmp_path, db):
    """Make more apps on the test's database (more workers); close their connections after."""
    made = []

    def make(**config):
        url = db.engine.url.render_as_string(hide_password=False)
        made.append(make_app(tmp_path / f"worker{len(made)}", url, **config))
        return made[-1]

    yield make
    for worker in made:
        with worker.app_context():
            db.session.remove()
            db.engine.dispose()


def test_two_workers_share_one_redis_cache(app, db, world, redis_url, workers):
    first = workers(CACHE_URL=redis_url)
    second = workers(CACHE_URL=redis_url)
    with first.app_context():
        page_cache.cache.clear()
    path = f"/forderungen/{world['demand'].id}"
    assert first.test_client().get(path).status_code == 200
    with second.app_context():
        used = statements_run(db, second.test_client(), path)
        assert used == 0, "the other worker's page was used"
    with first.app_context():
        db.session.get(type(world["demand"]), world["demand"].id).title = "Über Redis geändert"
        transactions.commit()
    with second.app_context():
        assert shown(second.test_client(), path, "Über Redis geändert")


def test_pages_are_served_while_redis_is_down(tmp_path, app, db, world, caplog, workers):
    url, process = start_redis(tmp_path)
    worker = workers(CACHE_URL=url)
    path = f"/forderungen/{world['demand'].id}"
    with worker.app_context():
        client = worker.test_client()
        assert client.get(path).status_code == 200
        assert statements_run(db, client, path) == 0
        process.kill()  # SIGKILL: Redis is gone
        process.wait(10)
        response = client.get(path)
        assert response.status_code == 200 and "Bezahlkarte evaluieren" in response.text
        assert "page cache unavailable" in caplog.text


def test_a_forged_host_header_cannot_poison_the_cache(db, reader, world):
    """The report links absolutely, under TRACKER_BASE_URL whatever the Host; the key has the
    host too, so should a page ever take the Host into a link, it stays with that host."""
    path = "/berichte/fachtag"
    forged = reader.get(path, base_url="http://evil.example").get_data(as_text=True)
    assert "evil.example" not in forged and "http://tracker.test/forderungen/" in forged
    assert "evil.example" not in reader.get(path).get_data(as_text=True)


@pytest.mark.parametrize("utc", ["2027-12-04T23:30:00+00:00", "2027-07-01T22:30:00+00:00"])
def test_a_page_read_after_midnight_in_berlin_is_dated_not_in_the_future(
    db, reader, world, clock, utc
):
    """00:30 in Berlin is still the day before in UTC: the day's start (pages count days) is
    Berlin's midnight, so the page gets a Last-Modified in the past and answers 304 to it.
    (With UTC's midnight of the Berlin date it lay in the future: no date, no 304, every
    evening from 22:00 or 23:00 UTC on.)"""
    clock.move_to(dt.datetime.fromisoformat(utc), tick=False)
    world["demand"].title = "Spät geändert"
    transactions.commit()
    clock.shift(dt.timedelta(seconds=2))
    path = f"/forderungen/{world['demand'].id}"
    first = reader.get(path)
    modified = parse_date(first.headers["Last-Modified"])
    assert modified <= dt.datetime.fromisoformat(utc) + dt.timedelta(seconds=2)
    assert (
        reader.get(path, headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code
        == 304
    )
