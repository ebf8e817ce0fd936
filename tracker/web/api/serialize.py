"""Turn models into the JSON shapes described in the OpenAPI document."""

from __future__ import annotations

from tracker.domain import workflow
from tracker.domain.models import Body, Demand, Event, TimelineEntry
from tracker.services.links import external_url
from tracker.services.progress import progress


def _iso(value):
    return value.isoformat() if value is not None else None


def demand(d: Demand) -> dict:
    """Return the summary of a demand."""
    p = progress(d)
    return {
        "id": d.id,
        "title": d.title,
        "text": d.text,
        "state": d.state,
        "state_label": workflow.state_label(d.state),
        "state_since": _iso(d.state_changed_at),
        "target_date": _iso(p.target),
        "waited_workdays": p.waited,
        "overdue": p.overdue,
        "overdue_workdays": p.overdue_by,
        "outcome": d.outcome,
        "is_public": d.is_public,
        "version": d.version,
        "topics": [t.slug for t in d.topics],
        "bodies": [
            {"slug": a.body.slug, "name": a.body.name, "role": a.role} for a in d.assignments
        ],
        "event": d.event.slug if d.event else None,
        "event_part": d.event_part.slug if d.event_part else None,
        "created_at": _iso(d.created_at),
        "updated_at": _iso(d.updated_at),
        "allowed_triggers": [t.trigger for t in workflow.allowed_triggers(d.state)],
        "url": external_url("public.demand", demand_id=d.id),
        "repeats": d.repeats_id,
        "commitments": [
            {
                "body": a.body.slug,
                "file_reference": a.file_reference or None,
                "committed_until": _iso(a.committed_until),
            }
            for a in d.assignments
            if a.file_reference or a.committed_until
        ],
    }


def entry(e: TimelineEntry, classes: dict[int, str] | None = None) -> dict:
    """Return one timeline entry (a statement with its class, if ``classes`` are given)."""
    extra = {"classification": (classes or {}).get(e.id)} if e.kind == "statement" else {}
    return {
        **extra,
        "id": e.id,
        "kind": e.kind,
        "created_at": _iso(e.created_at),
        "author": e.author_name or None,
        "body": e.body.slug if e.body else None,
        "is_public": e.is_public,
        "trigger": e.trigger,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "text": e.text or None,
        "data": {k: v for k, v in (e.data or {}).items() if k != "before"},
    }


def body(b: Body, counts: dict[str, int], overdue: int) -> dict:
    """Return a body with its figures."""
    return {
        "slug": b.slug,
        "name": b.name,
        "short_name": b.short_name or None,
        "kind": b.kind,
        "counts": {s.name: counts.get(s.name, 0) for s in workflow.STATES},
        "open": sum(counts.get(s, 0) for s in workflow.OPEN_STATES),
        "overdue": overdue,
        "url": external_url("public.body", slug=b.slug),
    }


def event(e: Event) -> dict:
    """Return an event with its parts."""
    return {
        "slug": e.slug,
        "title": e.title,
        "date": e.date.isoformat(),
        "organiser": e.organiser,
        "location": e.location or None,
        "description": e.description,
        "parts": [{"slug": p.slug, "kind": p.kind, "title": p.title} for p in e.parts],
        "url": external_url("public.event", slug=e.slug),
    }
