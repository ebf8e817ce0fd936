"""API for the evidence: /api/v1/consultations and /api/v1/meetings (reads public, writes staff)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain.models import Body, Consultation, Demand, Meeting
from tracker.extensions import db
from tracker.services import consultations as consultation_service
from tracker.services import meetings as meeting_service
from tracker.web.api import schemas
from tracker.web.api.views import (
    APIError,
    by_slug,
    created,
    read,
    refused,
    service_call,
    write,
)

UNKNOWN_BODY = _l("Unbekannte Stelle: %(slugs)s")


def _body_id(slug: str | None, field: str = "body") -> int | None:
    """Return the id of the body ``slug`` names (None for null), or refuse naming ``field``."""
    return None if slug is None else by_slug(Body, [slug], field, UNKNOWN_BODY)[slug].id


def _filter_body(slug: str) -> Body | None:
    if not slug:
        return None
    body = db.session.scalar(sa.select(Body).where(Body.slug == slug))
    if body is None:
        message = _l("Unbekannte Stelle in „body“.")
        raise APIError(400, "invalid_parameter", message, {"body": message})
    return body


def _one(model, item_id: int, message):
    item = db.session.get(model, item_id)
    if item is None:
        raise APIError(404, "not_found", message)
    return item


@read("/consultations", schemas.ConsultationList, query=schemas.EvidenceQuery)
def consultations(args: dict):
    """List consultations (filters: body, year) with the figures over them."""
    items = consultation_service.list_consultations(_filter_body(args["body"]), args["year"])
    total, _per_body = consultation_service.figures(items)
    return {"items": items, "figures": total}


@read("/consultations/<int:consultation_id>", schemas.Consultation)
def consultation(consultation_id: int):
    """Return one consultation."""
    return _one(Consultation, consultation_id, _l("Dieses Beteiligungsverfahren gibt es nicht."))


@write("POST /consultations", schemas.NewConsultation, schemas.Consultation, 201)
def create_consultation(data: dict):
    """Record a consultation, or a measure introduced without one (``consulted`` false)."""
    ids = data.pop("demands")
    demands = db.session.scalars(sa.select(Demand).where(Demand.id.in_(ids))).all()
    if len(demands) != len(set(ids)):
        raise refused("demands", _l("Unbekannte Forderung."))
    body_id = _body_id(data.pop("body"))
    item, _changed = service_call(
        consultation_service.save_consultation, None, demands=demands, body_id=body_id, **data
    )
    return created(item, "api.consultation", consultation_id=item.id)


@read("/meetings", schemas.MeetingList, query=schemas.EvidenceQuery)
def meetings(args: dict):
    """List meetings (filters: body, year) with their next steps."""
    return {"items": meeting_service.list_meetings(_filter_body(args["body"]), args["year"])}


@read("/meetings/<int:meeting_id>", schemas.Meeting)
def meeting(meeting_id: int):
    """Return one meeting with its next steps."""
    return _one(Meeting, meeting_id, _l("Dieses Gespräch gibt es nicht."))


@write("POST /meetings", schemas.NewMeeting, schemas.Meeting, 201)
def create_meeting(data: dict):
    """Record a meeting with its agreed next steps."""
    steps = [
        meeting_service.StepValues(
            text=step["text"],
            due_on=step["due_on"],
            body_id=_body_id(step["body"], f"next_steps[{index}].body"),
            done=step["done"],
        )
        for index, step in enumerate(data.pop("next_steps"))
    ]
    body_id = _body_id(data.pop("body"))
    item, _changed = service_call(
        meeting_service.save_meeting, None, body_id=body_id, steps=steps, **data
    )
    return created(item, "api.meeting", meeting_id=item.id)
