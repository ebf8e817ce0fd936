"""Statistics: open and overdue counts, medians in working days, shares, states by month."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from helpers import count_statements, make_body, make_demand

from tracker.domain.models import Assignment, Demand, TimelineEntry, utcnow
from tracker.services import demands as demand_service
from tracker.services import statistics as stats

NOW = dt.datetime(2025, 11, 28, 12, 0, tzinfo=dt.UTC)  # a Friday


def at(day: str) -> dt.datetime:
    """Return 10:00 UTC on ``day`` (11:00 or 12:00 in Germany: the same calendar day)."""
    return dt.datetime.fromisoformat(f"{day}T10:00:00+00:00")


def build(clock, title, created, steps=(), bodies=(), is_public=True):
    """Create a demand on ``created`` and move it by ``steps`` of (day, trigger, notes)."""
    clock.move_to(at(created))
    demand = make_demand(title, bodies=bodies, is_public=is_public)
    for day, trigger, notes in steps:
        clock.move_to(at(day))
        demand_service.advance(demand, trigger, None, None, notes)
    clock.move_to(NOW)
    return demand


def statement(db, demand, body, day, is_public=True, classification="substantive"):
    """Add a body's statement on ``day``; staff classify it the same day (None: not at all)."""
    entry = TimelineEntry(
        demand=demand,
        kind="statement",
        body=body,
        created_at=at(day),
        text="Wir prüfen das.",
        is_public=is_public,
    )
    db.session.add(entry)
    db.session.flush()
    if classification:
        classify(db, entry, classification, at(day) + dt.timedelta(hours=1))
    db.session.commit()
    return entry


def classify(db, entry, classification, when):
    db.session.add(
        TimelineEntry(
            demand_id=entry.demand_id,
            kind="classification",
            body_id=entry.body_id,
            created_at=when,
            is_public=entry.is_public,
            data={"statement_id": entry.id, "classification": classification},
        )
    )
    db.session.commit()


EVALUATE = {"summary": "Gemeinsam ausgewertet.", "participants": "LIGA, Ministerium"}


@pytest.fixture
def data(app, db, clock):
    """Five public demands and one internal one, with steps at hand-counted working days.

    Working days in Sachsen-Anhalt, autumn 2025: 3 October and 31 October are holidays.
    """
    ms = make_body("ms", "Sozialministerium")
    bamf = make_body("bamf", "BAMF Außenstelle")
    mi = make_body("mi", "Innenministerium")
    # A: raised Mon 27.10. -> addressed Mon 3.11. = 4 (28, 29, 30; 31.10. holiday; 3.11.)
    #    -> evaluated Mon 17.11. = 10
    a = build(
        clock,
        "A",
        "2025-10-27",
        [("2025-11-03", "address", {}), ("2025-11-17", "evaluate", EVALUATE)],
        bodies=(ms, mi),
    )
    # B: raised Wed 1.10. -> addressed Fri 10.10. = 6 (2; 3.10. holiday; 6-10)
    #    -> evaluated Mon 3.11. = 15 (13-17, 20-24, 27-30; 31.10. holiday; 3.11.) -> closed 10.11.
    b = build(
        clock,
        "B",
        "2025-10-01",
        [
            ("2025-10-10", "address", {}),
            ("2025-11-03", "evaluate", EVALUATE),
            ("2025-11-10", "close", {"outcome": "implemented"}),
        ],
        bodies=(ms, bamf),
    )
    # C: raised Mon 1.9. -> addressed Mon 29.9. = 20; still addressed
    c = build(clock, "C", "2025-09-01", [("2025-09-29", "address", {})], bodies=(ms, bamf))
    # D: raised Wed 1.10., never moved: 20 working days allowed until 30.10., overdue since
    d = build(clock, "D", "2025-10-01", bodies=(ms, bamf))
    # F: raised 1.9., closed 8.9., reopened Mon 6.10., addressed Mon 13.10. = 5 from reopening
    f = build(
        clock,
        "F",
        "2025-09-01",
        [
            ("2025-09-08", "close", {"outcome": "rejected"}),
            ("2025-10-06", "reopen", {"reason": "Neue Lage"}),
            ("2025-10-13", "address", {}),
        ],
        bodies=(mi,),
    )
    # E: internal, addressed at once; must not count anywhere
    e = build(
        clock, "E", "2025-08-01", [("2025-08-04", "address", {})], bodies=(mi,), is_public=False
    )
    statement(db, a, ms, "2025-11-05")
    statement(db, b, ms, "2025-10-15")
    statement(db, b, ms, "2025-10-20")  # a second statement on the same demand counts once
    statement(db, c, bamf, "2025-10-02")
    statement(db, d, bamf, "2025-10-30", is_public=False)  # internal: does not count
    statement(db, f, mi, "2025-10-20")
    statement(db, e, mi, "2025-08-05")  # on an internal demand: does not count
    return {"ms": ms, "bamf": bamf, "mi": mi, "a": a, "c": c, "d": d}


@pytest.mark.parametrize(
    ("classification", "answered"),
    [
        (None, 4),
        ("substantive", 4),
        ("interim", 3),
        ("boilerplate", 3),
        ("not_responsible", 3),
    ],
)
def test_only_a_substantive_answer_counts_as_answered(db, data, classification, answered):
    """C's only statement is re-classified (latest class wins); unclassified ones never count."""
    c_statement = db.session.scalars(
        sa.select(TimelineEntry).where(
            TimelineEntry.demand_id == data["c"].id, TimelineEntry.kind == "statement"
        )
    ).one()
    if classification:
        classify(db, c_statement, classification, NOW - dt.timedelta(hours=1))
    # an unclassified public statement of the BAMF on D adds nothing
    statement(db, data["d"], data["bamf"], "2025-11-03", classification=None)
    result = stats.statistics(now=NOW)
    assert result.overall.answered == answered
    assert by_slug(result)["bamf"].figures.answered == answered - 3


def by_slug(result):
    return {item.body.slug: item for item in result.bodies}


def test_overall_figures(data):
    overall = stats.statistics(now=NOW).overall
    assert (overall.demands, overall.open, overall.overdue) == (5, 4, 1)
    # raised -> addressed: A 4, B 6, C 20, F 5
    assert overall.median_to_addressed == 5.5
    assert overall.count_to_addressed == 4
    # addressed -> evaluated: A 10, B 15
    assert overall.median_to_evaluated == 12.5
    assert overall.count_to_evaluated == 2
    # A, B, C and F have a public statement; D only an internal one
    assert overall.answered == 4
    assert overall.answered_share == pytest.approx(0.8)
    assert overall.fair


def test_figures_per_body(data):
    bodies = by_slug(stats.statistics(now=NOW))
    ms = bodies["ms"].figures  # A, B, C, D
    assert (ms.demands, ms.open, ms.overdue) == (4, 3, 1)
    assert (ms.median_to_addressed, ms.count_to_addressed) == (6.0, 3)  # 4, 6, 20
    assert (ms.median_to_evaluated, ms.count_to_evaluated) == (12.5, 2)  # 10, 15
    assert ms.answered == 2 and ms.answered_share == pytest.approx(0.5)  # A, B
    bamf = bodies["bamf"].figures  # B, C, D
    assert (bamf.demands, bamf.open, bamf.overdue) == (3, 2, 1)
    assert bamf.median_to_addressed == 13.0  # 6, 20
    assert bamf.median_to_evaluated == 15.0
    # only its own statements count: C (the one on D is internal, those on B are the ministry's)
    assert bamf.answered == 1 and bamf.answered_share == pytest.approx(1 / 3)


def test_too_few_demands_hide_medians_and_shares_and_are_never_ranked(app, data):
    result = stats.statistics(now=NOW)
    mi = by_slug(result)["mi"]  # A and F; the internal E does not count
    f = mi.figures
    assert (f.demands, f.open, f.overdue) == (2, 2, 0)
    assert not f.fair
    assert f.median_to_addressed is None and f.median_to_evaluated is None
    assert f.answered is None and f.answered_share is None
    with app.test_request_context():
        assert str(f.note) == "zu wenige Forderungen für eine faire Aussage"
    assert mi.rank is None
    assert [(i.body.slug, i.rank) for i in result.bodies] == [("ms", 1), ("bamf", 2), ("mi", None)]


def test_equal_figures_share_a_rank(app, db, clock):
    one, two = make_body("one", "Stelle Eins"), make_body("two", "Stelle Zwei")
    for i in range(3):
        build(clock, f"X{i}", "2025-10-01", bodies=(one, two))
    result = stats.statistics(now=NOW)
    assert [(i.body.slug, i.rank) for i in result.bodies] == [("one", 1), ("two", 1)]


def test_demands_by_state_at_each_month_end(data):
    rows = [(m.month, m.counts) for m in stats.statistics(now=NOW).by_month]
    assert rows == [
        # C addressed 29.9.; F closed 8.9. (reopened only in October)
        (dt.date(2025, 9, 1), {"raised": 0, "addressed": 1, "evaluated": 0, "closed": 1}),
        # A and D raised; B, C and F addressed
        (dt.date(2025, 10, 1), {"raised": 2, "addressed": 3, "evaluated": 0, "closed": 0}),
        # today: D raised; C and F addressed; A evaluated; B closed
        (dt.date(2025, 11, 1), {"raised": 1, "addressed": 2, "evaluated": 1, "closed": 1}),
    ]


def test_month_end_is_midnight_in_germany(app, db, clock):
    # 31.10. 23:30 UTC is already 1 November in Germany: raised in November, not October
    clock.move_to(dt.datetime(2025, 10, 31, 23, 30, tzinfo=dt.UTC))
    make_demand("Spät")
    rows = stats.statistics(now=NOW).by_month
    assert [(m.month, m.total) for m in rows] == [(dt.date(2025, 11, 1), 1)]


def test_last_month_matches_the_current_states_without_a_history(app, db):
    # demands imported without transition entries still end in their current state
    db.session.add(
        Demand(
            title="Importiert",
            state="closed",
            outcome="rejected",
            created_at=at("2025-11-03"),
            state_changed_at=at("2025-11-03"),
        )
    )
    db.session.commit()
    rows = stats.statistics(now=NOW).by_month
    assert rows[-1].counts["closed"] == 1


def test_no_demands(app):
    result = stats.statistics(now=NOW)
    assert result.overall.demands == 0
    assert result.overall.median_to_addressed is None
    assert result.overall.answered_share is None
    assert result.bodies == [] and result.by_month == []


def test_body_figures_match_the_overview(data):
    overview = by_slug(stats.statistics(now=NOW))
    for slug in ("ms", "bamf", "mi"):
        assert stats.body_figures(data[slug], now=NOW) == overview[slug].figures


def test_statistics_page(client, data):
    html = client.get("/statistik").get_data(as_text=True)
    assert html.count("<h1") == 1
    assert '<svg class="chart__svg" role="img" aria-labelledby="verlauf-svg-titel"' in html
    assert '<title id="verlauf-svg-titel">' in html
    assert '<caption id="verlauf-tabelle">Forderungen nach Zustand am Monatsende</caption>' in html
    assert '<th scope="row">September 2025</th>' in html
    assert 'style="' not in html  # the CSP forbids inline styles
    assert "5,5" in html and "12,5" in html and "80" in html  # German number formats
    mi_row = re.search(r"<tr>(?:(?!</tr>).)*Innenministerium(?:(?!</tr>).)*</tr>", html, re.S)
    assert "zu wenige Forderungen für eine faire Aussage" in mi_row.group(0)
    assert "nicht eingestuft" in mi_row.group(0)
    assert 'aria-current="page">Statistik</a>' in html


def test_statistics_page_without_demands(client):
    response = client.get("/statistik")
    assert response.status_code == 200
    assert "Noch keine öffentlichen Forderungen." in response.get_data(as_text=True)


def test_body_page_shows_its_figures(client, data):
    html = client.get("/stellen/ms").get_data(as_text=True)
    assert "Kennzahlen" in html
    assert "50" in html and "12,5" in html
    html = client.get("/stellen/mi").get_data(as_text=True)
    assert "zu wenige Forderungen für eine faire Aussage" in html


def build_many(db, n: int) -> None:
    """Create ``n`` public demands with three bodies, transitions and statements."""
    bodies = [make_body(slug=f"b{i}", name=f"Stelle {i}", contacts=()) for i in range(3)]
    start = utcnow() - dt.timedelta(days=400)
    for i in range(n):
        created = start + dt.timedelta(days=i % 300)
        demand = Demand(
            title=f"Forderung {i}",
            state="evaluated",
            created_at=created,
            state_changed_at=created + dt.timedelta(days=40),
        )
        demand.assignments = [
            Assignment(body=bodies[i % 3], role="lead"),
            Assignment(body=bodies[(i + 1) % 3], role="involved"),
        ]
        db.session.add(demand)
        db.session.add_all(
            [
                TimelineEntry(demand=demand, kind="created", to_state="raised", created_at=created),
                TimelineEntry(
                    demand=demand,
                    kind="transition",
                    from_state="raised",
                    to_state="addressed",
                    created_at=created + dt.timedelta(days=10),
                ),
                TimelineEntry(
                    demand=demand,
                    kind="transition",
                    from_state="addressed",
                    to_state="evaluated",
                    created_at=created + dt.timedelta(days=40),
                ),
                TimelineEntry(
                    demand=demand,
                    kind="statement",
                    body=bodies[i % 3],
                    created_at=created + dt.timedelta(days=5),
                ),
            ]
        )
    db.session.commit()


def test_statement_count_does_not_grow_with_the_data(app, db, client):
    counts = {}
    for n in (10, 100):
        db.session.remove()
        db.drop_all()
        db.create_all()
        build_many(db, n)
        db.session.remove()
        counts[n] = (
            count_statements(db, client, "/statistik"),
            count_statements(db, client, "/stellen/b0"),
        )
    assert counts[10] == counts[100], counts  # (/statistik, /stellen/b0)
    assert counts[100][0] <= 6


def test_statistics_show_a_renamed_body_with_its_new_name_and_working_link(app, client, auth):
    """Each request has its own session: a cache must not hand over another session's rows."""
    from helpers import csrf_token, make_user

    from tracker.extensions import db

    body = make_body(slug="ms", name="Altes Ministerium")
    for i in range(3):
        make_demand(f"Forderung {i}", bodies=[body])
    body_id = body.id
    page = client.get("/statistik").get_data(as_text=True)
    assert "Altes Ministerium" in page and 'href="/stellen/ms"' in page
    db.session.remove()  # the end of the request, as in production

    auth.login_as(make_user())
    form = client.get(f"/verwaltung/stellen/{body_id}").get_data(as_text=True)
    response = client.post(
        f"/verwaltung/stellen/{body_id}",
        data={
            "name": "Neues Ministerium",
            "short_name": "Neues Ministerium",
            "slug": "neu",
            "kind": "ministry",
            "description": "",
            "csrf_token": csrf_token(form),
        },
    )
    assert response.status_code == 302
    db.session.remove()

    page = client.get("/statistik").get_data(as_text=True)
    assert "Neues Ministerium" in page and "Altes Ministerium" not in page
    assert 'href="/stellen/neu"' in page and 'href="/stellen/ms"' not in page
    db.session.remove()
    assert client.get("/stellen/neu").status_code == 200


def test_the_statistics_cache_holds_no_orm_objects(app):
    from tracker.extensions import db

    body = make_body()
    for i in range(3):
        make_demand(f"Forderung {i}", bodies=[body])
    stats.statistics()

    def walk(value):
        if isinstance(value, db.Model):
            raise AssertionError(f"ORM object in the cache: {value!r}")
        if isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple | set):
            for v in value:
                walk(v)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                walk(getattr(value, name))

    assert stats._CACHE
    walk(stats._CACHE)
