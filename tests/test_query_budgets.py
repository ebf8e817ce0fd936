"""No N+1 queries: the statement count of each page stays the same, and small, as data grows."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import count_statements, make_body

from tracker.domain.models import (
    Assignment,
    Consultation,
    Demand,
    Event,
    EventPart,
    Meeting,
    NextStep,
    TimelineEntry,
    Topic,
    utcnow,
)

PAGES = [
    "/",
    "/?state=open&q=Forderung&body=b0",
    "/forderungen/1",
    "/stellen/b0",
    "/stellen/",
    "/veranstaltungen/fachtag",
    "/beteiligungen",
    "/dialog",
    "/feed.atom",
    "/stellen/b0/termine.ics",
    "/api/v1/demands",
    "/api/v1/demands/1",
    "/api/v1/bodies",
    "/statistik",
    "/berichte/fachtag",
]
BUDGET = 6


def build(db, n_demands: int) -> None:
    """Create ``n_demands`` demands with topics, two bodies each (some with a committed date),
    several timeline entries, and a consultation and a meeting with next steps per ten demands.
    """
    event = Event(slug="fachtag", title="Fachtag", date=dt.date(2025, 6, 18))
    event.parts = [
        EventPart(slug=f"p{i}", kind="workshop", title=f"Workshop {i}") for i in range(4)
    ]
    topics = [Topic(slug=f"t{i}", name=f"Thema {i}") for i in range(5)]
    bodies = [make_body(slug=f"b{i}", name=f"Stelle {i}", contacts=()) for i in range(5)]
    db.session.add_all([event, *topics])
    for i in range(n_demands):
        demand = Demand(
            title=f"Forderung {i}",
            text="Text",
            event=event,
            event_part=event.parts[i % 4],
            topics=[topics[i % 5], topics[(i + 1) % 5]],
            state=("raised", "addressed", "evaluated", "closed")[i % 4],
            state_changed_at=utcnow() - dt.timedelta(days=i),
        )
        committed = dt.date(2026, 1, 1) + dt.timedelta(days=i) if i % 3 == 0 else None
        demand.assignments = [
            Assignment(body=bodies[i % 5], role="lead", committed_until=committed),
            Assignment(body=bodies[(i + 1) % 5], role="involved"),
        ]
        db.session.add(demand)
        for kind in ("created", "update", "statement"):
            db.session.add(TimelineEntry(demand=demand, kind=kind, body=bodies[i % 5], text="x"))
        if i % 10 == 0:
            received = dt.date(2025, 1, 6) + dt.timedelta(days=i)
            db.session.add_all(
                [
                    Consultation(
                        body=bodies[i % 5],
                        title=f"Entwurf {i}",
                        consulted=i % 20 == 0,
                        received_on=received if i % 20 == 0 else None,
                        deadline_on=received + dt.timedelta(days=10) if i % 20 == 0 else None,
                        learned_on=None if i % 20 == 0 else received,
                        source="" if i % 20 == 0 else "Presse",
                        demands=[demand],
                    ),
                    Meeting(
                        body=bodies[i % 5],
                        held_on=received,
                        format="video",
                        summary=f"Gespräch {i}",
                        next_steps=[
                            NextStep(position=0, text="Bericht", body=bodies[(i + 1) % 5]),
                            NextStep(position=1, text="Termin", due_on=received, done_on=received),
                        ],
                    ),
                ]
            )
    db.session.commit()


@pytest.fixture
def counts_for(app, db, client):
    def measure(n: int) -> dict[str, int]:
        db.session.remove()
        db.drop_all()
        db.create_all()
        build(db, n)
        db.session.remove()
        return {path: count_statements(db, client, path) for path in PAGES}

    return measure


def test_statement_counts_do_not_grow_with_the_data(counts_for):
    small = counts_for(10)
    large = counts_for(600)
    assert small == large
    over = {path: n for path, n in large.items() if n > BUDGET}
    assert not over, f"over the budget of {BUDGET} statements: {over}"
