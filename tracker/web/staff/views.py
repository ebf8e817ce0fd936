"""Staff views: thin wrappers that validate forms and call the services."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy.orm import selectinload

from tracker import inputs
from tracker.domain import workflow
from tracker.domain.labels import part_label
from tracker.domain.models import Body, Contact, Demand, Event, EventPart, Topic, User
from tracker.extensions import db
from tracker.services import bodies as body_service
from tracker.services import demands as demand_service
from tracker.services import queries
from tracker.services import users as user_service
from tracker.services.errors import ServiceError
from tracker.web.forms import ConfirmForm
from tracker.web.staff.blueprint import INVALID, bp, flash_saved, show_refusal, submit
from tracker.web.staff.forms import (
    BodyForm,
    ContactForm,
    DemandForm,
    NewDemandForm,
    UpdateForm,
    UserForm,
    assignment_form,
    transition_form_class,
)


def _demand_or_404(demand_id: int) -> Demand:
    return queries.visible_demand(demand_id, include_internal=True) or abort(404)


WHOLE_EVENT = "event-"  # the source choice of an event without naming one of its parts


def _fill_demand_choices(form: DemandForm) -> None:
    """The sources: each event as a whole (it may have no parts), then each of its parts."""
    events = db.session.scalars(
        sa.select(Event).options(selectinload(Event.parts)).order_by(Event.date, Event.id)
    ).all()
    whole = _l("ohne Angabe des Teils")
    form.event_part.choices = [("", _l("– keine Angabe –"))]
    for event in events:
        form.event_part.choices.append((f"{WHOLE_EVENT}{event.id}", part_label(event.title, whole)))
        form.event_part.choices += [
            (str(p.id), part_label(event.title, p.title)) for p in event.parts
        ]
    form.topics.choices = [
        (str(t.id), t.name) for t in db.session.scalars(sa.select(Topic).order_by(Topic.name))
    ]


def _source_choice(demand: Demand) -> str:
    if demand.event_part_id:
        return str(demand.event_part_id)
    return f"{WHOLE_EVENT}{demand.event_id}" if demand.event_id else ""


def _demand_fields(form: DemandForm) -> dict:
    source = form.event_part.data or ""
    part = db.session.get(EventPart, inputs.digits(source)) if inputs.digits(source) else None
    event_id = int(source.removeprefix(WHOLE_EVENT)) if source.startswith(WHOLE_EVENT) else None
    topic_ids = [int(t) for t in form.topics.data or []]
    topics = db.session.scalars(sa.select(Topic).where(Topic.id.in_(topic_ids))).all()
    return {
        "title": form.title.data.strip(),
        "text": form.text.data.strip(),
        "event_part_id": part.id if part else None,
        "event_id": part.event_id if part else event_id,
        "is_public": bool(form.is_public.data),
        "topics": topics,
    }


def _all_bodies() -> list[Body]:
    return db.session.scalars(sa.select(Body).order_by(Body.name)).all()


@bp.get("/")
def index():
    """List all demands, internal ones included, with their standing."""
    f = queries.DemandFilter.from_args(request.args)
    page = inputs.int_arg(request.args, "page", 1)
    pagination = queries.list_rows(f, include_internal=True, page=page, per_page=100, topics=False)
    return render_template(
        "staff/index.html",
        f=f,
        pagination=pagination,
        demands=pagination.items,
        **queries.filter_choices(),
    ), pagination.status


@bp.route("/forderungen/neu", methods=["GET", "POST"])
def new_demand():
    """Record a new demand."""
    form = NewDemandForm()
    _fill_demand_choices(form)
    if form.validate_on_submit():
        fields = _demand_fields(form)
        demand = demand_service.create_demand(current_user, nonce=form.nonce.data, **fields)
        flash(
            _l("Die Forderung wurde angelegt. Jetzt die zuständigen Stellen zuordnen."), "success"
        )
        return redirect(url_for("staff.demand", demand_id=demand.id))
    status = INVALID if form.is_submitted() else 200
    return render_template("staff/demand_new.html", form=form), status


def _render_demand(demand: Demand, status: int = 200, **forms):
    """Render the staff page of a demand; ``forms`` replace the fresh ones (to show errors)."""
    bodies = _all_bodies()
    current_roles = {a.body_id: a.role for a in demand.assignments}
    if "edit_form" not in forms:
        # No ``obj=demand``: WTForms would take ``demand.event_part`` and ``demand.topics`` (ORM
        # objects, which match no choice) over the ids given here, and saving the form as shown
        # would drop the demand's source and topics.
        forms["edit_form"] = DemandForm(
            formdata=None,
            prefix="edit",
            title=demand.title,
            text=demand.text,
            is_public=demand.is_public,
            version=demand.version,
            event_part=_source_choice(demand),
            topics=[str(t.id) for t in demand.topics],
        )
    _fill_demand_choices(forms["edit_form"])
    if "assign_form" not in forms:
        forms["assign_form"] = assignment_form(
            bodies,
            formdata=None,
            prefix="assign",
            version=demand.version,
            **{f"body_{i}": role for i, role in current_roles.items()},
        )
    forms.setdefault("update_form", UpdateForm(formdata=None, prefix="update"))
    transition_forms = []
    for transition in workflow.allowed_triggers(demand.state):
        form = forms.get(f"transition_{transition.trigger}") or transition_form_class(
            transition.trigger
        )(formdata=None, prefix=transition.trigger, version=demand.version)
        transition_forms.append((transition, form))
    offered = {f"transition_{t.trigger}" for t, _form in transition_forms}
    # the form of a step that is not offered here, refused with its reason
    refused_forms = [
        form for key, form in forms.items() if key.startswith("transition_") and key not in offered
    ]
    timeline = sorted(demand.timeline, key=lambda e: (e.created_at, e.id), reverse=True)
    from tracker.web.staff.answers import context as answers_context

    extra = answers_context(demand, forms)
    return (
        render_template(
            "staff/demand.html",
            demand=demand,
            timeline=timeline,
            transition_forms=transition_forms,
            refused_forms=refused_forms,
            **{**forms, **extra},
        ),
        status,
    )


@bp.get("/forderungen/<int:demand_id>")
def demand(demand_id: int):
    """Show a demand with every form staff use on it."""
    return _render_demand(_demand_or_404(demand_id))


def _refused(demand: Demand, error: ServiceError, form_key: str, form) -> tuple:
    show_refusal(form, error)
    return _page_with_refusal(demand, error, form_key, form)


def _page_with_refusal(demand: Demand, error: ServiceError, form_key: str, form) -> tuple:
    db.session.rollback()  # nothing of the refused change stays: show the demand as stored
    demand = _demand_or_404(demand.id)
    status = 409 if error.code == "stale" else INVALID
    return _render_demand(demand, status, **{form_key: form})


def save_on_page(
    demand: Demand, form_key: str, form, write: Callable[[], object], saved=None, anchor: str = ""
):
    """Handle a form of the demand's page: shown again with its errors or the service's refusal
    (422, or 409 when someone changed the demand meanwhile), else ``write()`` (a service call)
    has saved, and ``flash_saved`` says so (None: no change)."""
    ok, result = submit(form, write)
    if ok:
        flash_saved(result is not None, saved)
        return redirect(url_for("staff.demand", demand_id=demand.id) + anchor)
    if result is None:
        return _render_demand(demand, INVALID, **{form_key: form})
    return _page_with_refusal(demand, result, form_key, form)


@bp.post("/forderungen/<int:demand_id>/bearbeiten")
def edit_demand(demand_id: int):
    """Save changes to a demand's texts, source, topics and visibility."""
    demand = _demand_or_404(demand_id)
    form = DemandForm(prefix="edit")
    _fill_demand_choices(form)
    return save_on_page(
        demand,
        "edit_form",
        form,
        lambda: demand_service.edit_demand(
            demand, current_user, form.expected_version(), **_demand_fields(form)
        ),
    )


@bp.post("/forderungen/<int:demand_id>/stellen")
def assign(demand_id: int):
    """Set which bodies lead or are involved in a demand."""
    demand = _demand_or_404(demand_id)
    bodies = _all_bodies()
    form = assignment_form(bodies, formdata=request.form, prefix="assign")
    return save_on_page(
        demand,
        "assign_form",
        form,
        lambda: demand_service.assign_bodies(
            demand,
            current_user,
            form.expected_version(),
            {body.id: field.data for body, field in form.body_fields if field.data},
        ),
        _l("Zuständige Stellen gespeichert."),
    )


@bp.post("/forderungen/<int:demand_id>/stand")
def add_update(demand_id: int):
    """Add a progress note to a demand's timeline."""
    saved = _l("Der neue Stand steht in der Chronik.")
    return note_on_demand(demand_id, UpdateForm, "update", demand_service.add_update, saved)


def note_on_demand(demand_id: int, form_class, prefix: str, service, saved):
    """Submit a form that adds to a demand's timeline: ``service(demand, user, **its values)``."""
    demand = _demand_or_404(demand_id)
    form = form_class(prefix=prefix)
    record = partial(service, demand, current_user)
    key = f"{prefix}_form"
    return save_on_page(demand, key, form, lambda: record(**form.values()), saved)


@bp.post("/forderungen/<int:demand_id>/schritt/<trigger>")
def transition(demand_id: int, trigger: str):
    """Move a demand through the workflow with the notes the step needs."""
    demand = _demand_or_404(demand_id)
    if trigger not in workflow.TRANSITION_BY_TRIGGER:
        abort(404)
    form = transition_form_class(trigger)(prefix=trigger)
    key = f"transition_{trigger}"
    # A step the machine refuses goes straight to the service, which says why (missing notes would
    # only hide that). CSRF is checked for every POST all the same.
    if workflow.may(demand, trigger) and not form.validate_on_submit():
        form.form_errors.append(str(_l("Bitte die markierten Angaben ergänzen.")))
        return _render_demand(demand, INVALID, **{key: form})
    notes = {
        field.short_name: field.data
        for field in form
        if field.short_name not in ("version", "csrf_token")
    }
    try:
        entry = demand_service.advance(
            demand, trigger, current_user, form.expected_version(), notes
        )
    except ServiceError as error:
        return _refused(demand, error, key, form)
    flash(_l("Neuer Zustand: %(state)s.", state=workflow.state_label(entry.to_state)), "success")
    return redirect(url_for("staff.demand", demand_id=demand.id))


# Bodies and contacts ------------------------------------------------------------------------


@bp.get("/stellen/")
def bodies():
    """List the bodies and their contacts."""
    items = db.session.scalars(
        sa.select(Body).options(selectinload(Body.contacts)).order_by(Body.name)
    ).all()
    return render_template("staff/bodies.html", bodies=items)


def _save_body(item: Body | None, form: BodyForm) -> Body | None:
    """Save a submitted body form through the service; None when refused (errors on the form)."""
    ok, result = submit(form, lambda: body_service.save_body(item, **form.values()))
    if not ok:
        return None
    saved, changed = result
    if item is None:
        flash(_l("Die Stelle wurde angelegt."), "success")
    else:
        flash_saved(changed)
    return saved


def _body_page(item: Body | None, form: BodyForm, contact_form=None):
    status = INVALID if form.is_submitted() or contact_form is not None else 200
    if item is not None and contact_form is None:
        contact_form = ContactForm(formdata=None)
    forms = {"form": form, "contact_form": contact_form, "delete_form": ConfirmForm(formdata=None)}
    return render_template("staff/body.html", body=item, **forms), status


@bp.route("/stellen/neu", methods=["GET", "POST"])
def new_body():
    """Add a ministry or authority."""
    form = BodyForm()
    saved = _save_body(None, form)
    if saved is not None:
        return redirect(url_for("staff.body", body_id=saved.id))
    return _body_page(None, form)


@bp.route("/stellen/<int:body_id>", methods=["GET", "POST"])
def body(body_id: int):
    """Edit a body; its contacts are listed below."""
    item = db.session.get(Body, body_id) or abort(404)
    form = BodyForm(obj=item)
    if _save_body(item, form) is not None:
        return redirect(url_for("staff.body", body_id=item.id))
    return _body_page(item, form)


@bp.post("/stellen/<int:body_id>/kontakte")
def add_contact(body_id: int):
    """Add a contact address to a body."""
    item = db.session.get(Body, body_id) or abort(404)
    form = ContactForm()
    said = _l("Kontakt hinzugefügt.")
    added = added_to_body(item, form, body_service.add_contact, said, "staff.body")
    return added or _body_page(item, BodyForm(formdata=None, obj=item), form)


def added_to_body(body: Body, form, add, said, endpoint: str):
    """Submit a form that adds a row (contact, pause) to ``body`` through ``add``.

    Returns the redirect to ``endpoint`` when added, else None (the form shows why not).
    """
    if submit(form, lambda: add(body, **form.values()))[0]:
        flash(said, "success")
        return redirect(url_for(endpoint, body_id=body.id))
    return None


def delete_from_body(model, row_id: int, body_id: int, message, endpoint: str):
    """Delete one row (contact, pause) that belongs to a body, after the confirm button."""
    row = body_service.row_of(model, row_id, body_id) or abort(404)
    if ConfirmForm().validate_on_submit():
        body_service.remove(row)
        flash(message, "success")
    return redirect(url_for(endpoint, body_id=body_id))


@bp.post("/stellen/<int:body_id>/kontakte/<int:contact_id>/loeschen")
def delete_contact(body_id: int, contact_id: int):
    """Remove a contact address from a body."""
    return delete_from_body(Contact, contact_id, body_id, _l("Kontakt entfernt."), "staff.body")


# Users (admins only) ------------------------------------------------------------------------


def _require_admin() -> None:
    if not current_user.is_admin:
        abort(403)


@bp.route("/benutzer/", methods=["GET", "POST"])
def users():
    """List staff accounts and add one (admins only)."""
    _require_admin()
    form = UserForm()
    if submit(form, lambda: user_service.create_user(**form.values()))[0]:
        flash(_l("Das Konto wurde angelegt."), "success")
        return redirect(url_for("staff.users"))
    items = db.session.scalars(sa.select(User).order_by(User.name)).all()
    status = INVALID if form.is_submitted() else 200
    return render_template("staff/users.html", users=items, form=form), status


@bp.route("/benutzer/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    """Change a staff account's name, role, status or password (admins only)."""
    _require_admin()
    item = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=item)
    ok, changed = submit(
        form, lambda: user_service.update_user(item, current_user, **form.values())
    )
    if ok:
        if item.id == current_user.id and form.password.data:
            login_user(item)  # an admin who sets their own password stays logged in here
        flash_saved(changed)
        return redirect(url_for("staff.users"))
    form.password.data = ""
    status = INVALID if form.is_submitted() else 200
    return render_template("staff/user.html", user=item, form=form), status
