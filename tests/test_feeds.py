"""Feeds: Atom 1.0 of public changes, iCal of target dates, the links to them on the pages."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import icalendar
import pytest
from helpers import make_body, make_demand

from tracker.services import demands as demand_service
from tracker.services.progress import progress

NS = {"a": "http://www.w3.org/2005/Atom"}
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def data(app):
    ms = make_body()
    mi = make_body(slug="mi", name="Innenministerium")
    other = make_body(slug="bamf", name="BAMF Außenstelle")
    card = make_demand("Bezahlkarte evaluieren", bodies=[ms, mi])
    demand_service.advance(card, "address", None, card.version, {"note": "Erstes Gespräch"})
    demand_service.add_update(card, None, "Vertraulicher Zwischenstand", is_public=False)
    demand_service.add_update(card, None, "Termin im Ministerium steht", is_public=True)
    dialogue = make_demand("Dialogkultur", bodies=[mi])
    internal = make_demand("Interne Nachbereitung", is_public=False, bodies=[ms])
    closed = make_demand("Erledigte Forderung", bodies=[ms])
    demand_service.advance(closed, "close", None, closed.version, {"outcome": "rejected"})
    elsewhere = make_demand("Nur beim BAMF", bodies=[other])
    return {
        "ms": ms,
        "mi": mi,
        "card": card,
        "dialogue": dialogue,
        "internal": internal,
        "closed": closed,
        "elsewhere": elsewhere,
    }


def parse_atom(response) -> ET.Element:
    """Parse an Atom response and check what RFC 4287 requires of a feed and its entries."""
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == ATOM + "feed"
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"a:{name}", namespaces=NS) or "").strip(), name
    self_links = [link for link in root.findall("a:link", NS) if link.get("rel") == "self"]
    assert len(self_links) == 1 and self_links[0].get("href", "").startswith("http://tracker.test/")
    feed_author = root.find("a:author/a:name", NS)
    assert feed_author is not None and feed_author.text
    dt.datetime.fromisoformat(root.findtext("a:updated", namespaces=NS))
    ids = set()
    for entry in root.findall("a:entry", NS):
        for name in ("id", "title", "updated", "content"):
            assert entry.find(f"a:{name}", NS) is not None, name
        assert entry.findtext("a:id", namespaces=NS) not in ids, "entry ids are unique"
        ids.add(entry.findtext("a:id", namespaces=NS))
        updated = dt.datetime.fromisoformat(entry.findtext("a:updated", namespaces=NS))
        assert updated.tzinfo is not None
        link = entry.find("a:link", NS)
        assert link is not None and link.get("href", "").startswith(
            "http://tracker.test/forderungen/"
        )
        assert link.get("rel", "alternate") == "alternate"
    return root


def titles(root: ET.Element) -> list[str]:
    return [e.findtext("a:title", namespaces=NS) for e in root.findall("a:entry", NS)]


def contents(root: ET.Element) -> str:
    entries = root.findall("a:entry", NS)
    return "\n".join(e.findtext("a:content", namespaces=NS) or "" for e in entries)


def test_all_changes_is_atom_without_internal_entries(client, data):
    root = parse_atom(client.get("/feed.atom"))
    assert root.find("a:link[@rel='self']", NS).get("href") == "http://tracker.test/feed.atom"
    found = titles(root)
    assert any("Bezahlkarte evaluieren" in t for t in found)
    assert any("Dialogkultur" in t for t in found)
    assert not any("Interne Nachbereitung" in t for t in found)
    assert "Vertraulicher Zwischenstand" not in contents(root)
    assert "Termin im Ministerium steht" in contents(root)
    assert "erhoben → aufgegriffen – Bezahlkarte evaluieren" in found
    assert "Ergebnis: abgelehnt" in contents(root)
    times = [e.findtext("a:updated", namespaces=NS) for e in root.findall("a:entry", NS)]
    assert times == sorted(times, reverse=True), "newest first"


def test_feed_keeps_the_newest_fifty(client, data):
    for number in range(55):
        demand_service.add_update(data["dialogue"], None, f"Stand {number}", is_public=True)
    root = parse_atom(client.get("/feed.atom"))
    entries = root.findall("a:entry", NS)
    assert len(entries) == 50
    assert entries[0].findtext("a:content", namespaces=NS) == "Stand 54"


def test_body_feed_has_only_its_demands(client, data):
    root = parse_atom(client.get("/stellen/mi/feed.atom"))
    found = " ".join(titles(root))
    assert "Bezahlkarte evaluieren" in found and "Dialogkultur" in found
    assert "Erledigte Forderung" not in found and "Nur beim BAMF" not in found
    root = parse_atom(client.get("/stellen/ms/feed.atom"))
    found = " ".join(titles(root))
    assert "Erledigte Forderung" in found and "Interne Nachbereitung" not in found
    assert (
        root.find("a:link[@rel='self']", NS).get("href")
        == "http://tracker.test/stellen/ms/feed.atom"
    )


def test_demand_feed(client, data):
    card = data["card"]
    root = parse_atom(client.get(f"/forderungen/{card.id}/feed.atom"))
    assert all(t.endswith("– Bezahlkarte evaluieren") for t in titles(root))
    assert len(titles(root)) == 4  # created, assigned, addressed, public update
    assert "Sozialministerium (federführend), Innenministerium (beteiligt)" in contents(root)


@pytest.mark.parametrize(
    "url",
    [
        "/forderungen/{internal}/feed.atom",
        "/forderungen/9999/feed.atom",
        "/stellen/unbekannt/feed.atom",
        "/stellen/unbekannt/termine.ics",
    ],
)
def test_unknown_or_internal_is_404(client, data, auth, url):
    assert client.get(url.format(internal=data["internal"].id)).status_code == 404


def test_internal_demand_feed_is_404_for_staff_too(client, data, auth, staff):
    auth.login()
    assert client.get(f"/forderungen/{data['internal'].id}/feed.atom").status_code == 404


def test_text_pasted_with_control_characters_still_gives_xml(client, app):
    demand = make_demand("Titel\x0bmit Steuerzeichen", text="Absatz\x0cText")
    demand_service.add_update(demand, None, "Stand\x0b aus Word", is_public=True)
    root = parse_atom(client.get(f"/forderungen/{demand.id}/feed.atom"))
    assert "Titelmit Steuerzeichen" in " ".join(titles(root))
    assert "Stand aus Word" in contents(root)


def test_empty_feed_is_still_valid(client, app):
    root = parse_atom(client.get("/feed.atom"))
    assert root.findall("a:entry", NS) == []


def test_calendar_has_one_event_per_open_public_demand(client, data):
    response = client.get("/stellen/ms/termine.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = icalendar.Calendar.from_ical(response.data)
    assert str(cal["version"]) == "2.0" and cal.get("prodid")
    events = list(cal.walk("VEVENT"))
    # ms: the card (open); not the internal one, not the closed one
    assert len(events) == 1
    (event,) = events
    card = data["card"]
    assert event.decoded("dtstart") == progress(card).target
    assert not isinstance(event.decoded("dtstart"), dt.datetime), "an all-day event"
    assert event.decoded("dtend") == progress(card).target + dt.timedelta(days=1)
    assert "Bezahlkarte evaluieren" in str(event["summary"])
    assert str(event["url"]) == f"http://tracker.test/forderungen/{card.id}"
    assert event.get("uid") and event.get("dtstamp")

    cal = icalendar.Calendar.from_ical(client.get("/stellen/mi/termine.ics").data)
    dates = {str(e["summary"]): e.decoded("dtstart") for e in cal.walk("VEVENT")}
    assert dates == {
        "Zieltermin: Bezahlkarte evaluieren": progress(card).target,
        "Zieltermin: Dialogkultur": progress(data["dialogue"]).target,
    }


def test_pages_link_their_feeds(client, data):
    index = client.get("/").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in index
    assert 'href="/feed.atom"' in index and "Änderungen als Feed" in index
    demand = client.get(f"/forderungen/{data['card'].id}").get_data(as_text=True)
    assert f'href="/forderungen/{data["card"].id}/feed.atom"' in demand
    assert '<link rel="alternate" type="application/atom+xml"' in demand
    body = client.get("/stellen/ms").get_data(as_text=True)
    assert '<link rel="alternate" type="application/atom+xml"' in body
    assert 'href="/stellen/ms/feed.atom"' in body and 'href="/stellen/ms/termine.ics"' in body
    assert "Zieltermine als Kalender (iCal)" in body


def test_entries_made_together_get_distinct_stable_times(app, client, db):
    """Entries sharing one time (the Fachtag's seeded demands) get distinct times, by id."""
    import feedparser

    from tracker.services.seed import seed

    seed()
    first = client.get("/feed.atom")
    parsed = feedparser.parse(first.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    entries = parsed.entries
    assert len(entries) > 5
    stamps = [e.updated_parsed for e in entries]  # second resolution, as feed readers read it
    assert len(set(stamps)) == len(stamps), "each entry has a time of its own"
    assert stamps == sorted(stamps, reverse=True), "newest first"
    ids = [int(e.id.rsplit("/", 1)[1]) for e in entries]
    assert ids == sorted(ids, reverse=True), "ties broken by id"
    # the same feed again, and with a newer entry on top: the times of the others stay
    assert feedparser.parse(client.get("/feed.atom").data).entries[0].updated == entries[0].updated
    from tracker.domain.models import Demand

    demand = db.session.scalars(db.select(Demand).order_by(Demand.id)).first()
    demand_service.add_update(demand, None, "Neuer Stand", is_public=True)
    db.session.commit()  # the edge commits; readers (and the page cache) see it from then on
    again = feedparser.parse(client.get("/feed.atom").data).entries
    assert again[0].title.startswith("Neuer Stand der LIGA")
    before = {e.id: e.updated for e in entries}
    assert all(before[e.id] == e.updated for e in again[1:] if e.id in before)
    # a body's feed reads the same way
    body_feed = feedparser.parse(client.get("/stellen/ms/feed.atom").data)
    body_stamps = [e.updated_parsed for e in body_feed.entries]
    assert body_stamps and len(set(body_stamps)) == len(body_stamps)


def _strict_ical(data: bytes) -> icalendar.Calendar:
    """Parse with icalendar, then check what RFC 5545 requires that the parser lets pass."""
    text = data.decode("utf-8")
    lines = text.split("\r\n")
    assert lines[-1] == "" and all(lines[:-1]), "CRLF line ends, no empty line"
    assert all(len(line.encode()) <= 75 for line in lines), "lines folded at 75 octets"
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR"
    cal = icalendar.Calendar.from_ical(data)
    assert cal.get("prodid") and str(cal["version"]) == "2.0"
    assert cal.subcomponents, "a calendar needs at least one component (RFC 5545, 3.6)"
    for event in cal.walk("VEVENT"):
        assert event.get("uid") and event.get("dtstart")
        assert event["dtstamp"].to_ical().endswith(b"Z"), "DTSTAMP is a UTC date-time"
    for tz in cal.walk("VTIMEZONE"):
        assert tz.get("tzid") and (tz.walk("STANDARD") or tz.walk("DAYLIGHT"))
    return cal


def test_calendar_stamp_is_when_the_calendar_was_made(client, data):
    from tracker.domain.models import utcnow

    before = utcnow().replace(microsecond=0)
    cal = _strict_ical(client.get("/stellen/ms/termine.ics").data)
    after = utcnow()
    (event,) = cal.walk("VEVENT")
    stamp = event.decoded("dtstamp")
    assert before <= stamp <= after, (before, stamp, after)
    # when the demand last changed stays available, as LAST-MODIFIED
    assert event.decoded("last-modified") <= stamp


def test_calendar_without_open_demands_is_still_valid(client, data):
    make_body(slug="sk", name="Staatskanzlei")  # no demand at all
    response = client.get("/stellen/sk/termine.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    cal = _strict_ical(response.data)
    assert list(cal.walk("VEVENT")) == []
    assert [str(tz["tzid"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]


@pytest.mark.parametrize(
    "text",
    [
        "kurz",
        "ä" * 120,  # two octets each: a fold must not split one
        "Zuständigkeit; Frist, Termin\nzweite Zeile \\ Ende " * 4,
        "🙂" * 50 + "x" * 3,  # four octets each
        "a" * 73 + "\\;" + "b" * 80,  # a backslash right at the fold
    ],
)
def test_ical_lines_fold_at_75_octets_without_splitting_a_character_or_an_escape(text):
    from tracker.web.feeds.views import _ical_line, _ical_text

    line = "DESCRIPTION:" + _ical_text(text)
    folded = _ical_line(line)
    assert folded.endswith(b"\r\n")
    physical = folded[:-2].split(b"\r\n")
    assert all(len(p) <= 75 for p in physical)
    assert all(p.startswith(b" ") for p in physical[1:])
    for p in physical:
        p.decode()  # each line is whole UTF-8 on its own
    assert b"".join([physical[0], *(p[1:] for p in physical[1:])]).decode() == line
    import icalendar

    parsed = icalendar.Event.from_ical(b"BEGIN:VEVENT\r\n" + folded + b"END:VEVENT\r\n")
    assert str(parsed["DESCRIPTION"]) == text.replace("\r\n", "\n")
