"""Staff page to import demands from a CSV file: all rows, or none and a report of the errors."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge

from tracker.domain.models import Body, Event, Topic
from tracker.extensions import db
from tracker.services import csv_import
from tracker.services.errors import ExchangeError
from tracker.web.errors import render_error
from tracker.web.forms import Form
from tracker.web.staff.blueprint import INVALID, bp


class ImportForm(Form):
    file = FileField(
        _l("CSV-Datei"), validators=[FileRequired(_l("Bitte eine CSV-Datei auswählen."))]
    )


def _render(form: ImportForm, errors: list[str] | None = None, status: int = 200):
    """Render the import page with the slugs that can be used in the file."""
    return render_template(
        "staff/import.html",
        form=form,
        errors=errors or [],
        columns=csv_import.IMPORT_COLUMNS,
        bodies=db.session.scalars(sa.select(Body).order_by(Body.slug)).all(),
        topics=db.session.scalars(sa.select(Topic).order_by(Topic.slug)).all(),
        events=db.session.scalars(sa.select(Event).order_by(Event.date.desc())).all(),
    ), status


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """Show the import page again when the upload exceeds the request size limit."""
    if request.endpoint != "staff.import_demands" or not current_user.is_authenticated:
        return render_error(RequestEntityTooLarge.code)
    limit = csv_import.MAX_IMPORT_BYTES // 1024
    message = _l("Die Datei ist zu groß (höchstens %(num)d KB).", num=limit)
    return _render(ImportForm(formdata=None), [str(message)], RequestEntityTooLarge.code)


@bp.route("/import", methods=["GET", "POST"])
def import_demands():
    """Import demands from an uploaded CSV file after checking every row."""
    form = ImportForm()
    submitted = form.validate_on_submit()
    if not submitted:
        return _render(form, status=INVALID if form.is_submitted() else 200)
    try:
        text = csv_import.decode_upload(form.file.data.read(csv_import.MAX_IMPORT_BYTES + 1))
    except ExchangeError as error:
        return _render(form, [str(error)], INVALID)
    created, errors = csv_import.import_demands_csv(text, current_user)
    if errors:
        return _render(form, errors, INVALID)
    flash(
        ngettext("%(num)d Forderung importiert.", "%(num)d Forderungen importiert.", len(created)),
        "success",
    )
    return redirect(url_for("staff.index"))
