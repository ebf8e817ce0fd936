"""A body's answer page, reached by the signed link in its reminder (no account)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from tracker.domain.models import Assignment, Body, Demand, TimelineEntry
from tracker.extensions import db
from tracker.services import answer_links, queries, statements
from tracker.services.errors import ServiceError
from tracker.web.answer.forms import StatementForm
from tracker.web.errors import render_error
from tracker.web.forms import ConfirmForm

bp = Blueprint("answer", __name__, url_prefix="/antwort")


def _body_from(token: str) -> Body:
    """Return the body the token was made for, or stop with 403 or 410."""
    try:
        body_id = answer_links.body_id_from(token)
    except answer_links.TokenExpired:
        abort(410)
    except answer_links.TokenInvalid:
        abort(403)
    body = db.session.get(Body, body_id)
    if body is None:  # removed from the database by hand
        abort(410)
    return body


def _assignment(body: Body, demand_id: int, lock: bool = False) -> Assignment:
    stmt = (
        sa.select(Assignment)
        .join(Assignment.demand)
        .where(
            Assignment.body_id == body.id,
            Assignment.demand_id == demand_id,
            *queries.open_and_public(),
        )
    )
    if lock:  # two submissions at once wait for each other (PostgreSQL; SQLite writes serially)
        stmt = stmt.with_for_update(of=Assignment)
    assignment = db.session.scalar(stmt)
    if assignment is None:
        abort(403)
    return assignment


def _bodies() -> list[Body]:
    return db.session.scalars(sa.select(Body).order_by(Body.name)).all()


def _render(token: str, body: Body, forms: dict | None = None, status: int = 200):
    assignments = db.session.scalars(
        sa.select(Assignment)
        .join(Assignment.demand)
        .where(
            Assignment.body_id == body.id,
            *queries.open_and_public(),
        )
        .options(selectinload(Assignment.demand))
        .order_by(Demand.id)
    ).all()
    demand_ids = [a.demand_id for a in assignments]
    statements_by_demand: dict[int, list[TimelineEntry]] = {}
    for entry in db.session.scalars(
        sa.select(TimelineEntry)
        .where(
            TimelineEntry.demand_id.in_(demand_ids),
            TimelineEntry.body_id == body.id,
            TimelineEntry.kind == "statement",
        )
        .order_by(TimelineEntry.created_at.desc())
    ):
        statements_by_demand.setdefault(entry.demand_id, []).append(entry)
    forms = forms or {}
    bodies = _bodies()
    rows = [
        (
            a,
            forms.get(a.demand_id)
            or StatementForm(formdata=None, prefix=f"d{a.demand_id}").fill_bodies(body, bodies),
            statements_by_demand.get(a.demand_id, []),
        )
        for a in assignments
    ]
    return (
        render_template(
            "answer/show.html",
            token=token,
            body=body,
            rows=rows,
            confirm_form=ConfirmForm(formdata=None),
            error_forms=[f for f in forms.values()],
        ),
        status,
    )


@bp.get("/<token>")
def show(token: str):
    """Show the body's open demands, each with a statement form and a confirm button."""
    body = _body_from(token)
    return _render(token, body)


@bp.post("/<token>/<int:demand_id>/stellungnahme")
def statement(token: str, demand_id: int):
    """Record a statement of the body on one of its demands."""
    body = _body_from(token)
    assignment = _assignment(body, demand_id, lock=True)
    form = StatementForm(prefix=f"d{demand_id}").fill_bodies(body, _bodies())
    if not form.validate_on_submit():
        return _render(token, body, {demand_id: form}, 422)
    nonce = form.nonce.data
    if statements.received_already(assignment, form.text.data, nonce):
        flash(_l("Ihre Stellungnahme ist bereits eingegangen."), "success")
        return redirect(url_for("answer.show", token=token) + f"#forderung-{demand_id}")
    competent = (
        db.session.get(Body, int(form.competent_body.data)) if form.competent_body.data else None
    )
    try:
        statements.add_statement(
            body,
            assignment,
            form.text.data,
            form.author.data,
            form.reports_addressed.data,
            file_reference=form.file_reference.data,
            committed_until=form.committed_until.data,
            competent_body=competent,
            competent_text=form.competent_text.data,
            nonce=nonce,
        )
    except ServiceError as error:
        for name, message in error.errors.items():
            form[name].errors = [*form[name].errors, message]
        return _render(token, body, {demand_id: form}, 422)
    flash(_l("Vielen Dank. Ihre Stellungnahme steht jetzt in der öffentlichen Chronik."), "success")
    return redirect(url_for("answer.show", token=token) + f"#forderung-{demand_id}")


@bp.post("/<token>/<int:demand_id>/bestaetigen")
def confirm(token: str, demand_id: int):
    """Record that the body still works on the demand ('unverändert in Bearbeitung')."""
    body = _body_from(token)
    assignment = _assignment(body, demand_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    statements.confirm_in_progress(body, assignment)
    flash(_l("Danke – „unverändert in Bearbeitung“ ist vermerkt."), "success")
    return redirect(url_for("answer.show", token=token) + f"#forderung-{demand_id}")


@bp.errorhandler(403)
def forbidden(error):
    return render_error(
        403,
        _l(
            "Dieser Antwort-Link ist ungültig oder gehört nicht zu dieser Forderung. "
            "Bitte verwenden Sie den Link aus Ihrer letzten Erinnerungs-E-Mail."
        ),
    )


@bp.errorhandler(410)
def gone(error):
    return render_error(
        410,
        _l(
            "Dieser Antwort-Link ist abgelaufen. Mit der nächsten wöchentlichen Erinnerung "
            "erhalten Sie einen neuen Link; oder schreiben Sie der LIGA direkt."
        ),
    )
