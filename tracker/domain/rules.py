"""The rules every entry point checks the same way: field lengths and other limits, defined once.

Forms (``Length(max=rules.X)``), services (which validate, so the web, the API, the CSV import and
the JSON import refuse the same input with the same German message), the models' column lengths
and the OpenAPI document all read them from here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from email_validator import EmailNotValidError, validate_email

from tracker.domain.labels import _l

# Texts.
TITLE_MAX = 300  # a demand's, a consultation's, an event's title; a body's name
TEXT_MAX = 20_000  # a demand's text, a consultation's statement, a meeting's texts
NOTE_MAX = 10_000  # an update, the notes of a step, a re-check
STATEMENT_MAX = 5_000  # a body's statement through its answer link
STEP_MAX = 1_000  # a next step agreed in a meeting
DESCRIPTION_MAX = 5_000  # a body's description
REASON_MAX = 300  # why a body's reminders pause
COMPETENT_TEXT_MAX = 300  # the competent body a statement names in words

# Names, addresses and references.
NAME_MAX = 200  # a person's name or function: a contact, the author of a statement
USER_NAME_MAX = 120  # a staff account's name
SHORT_NAME_MAX = 120  # a body's short name
NAME_ACCUSATIVE_MAX = 320  # a body's name after „an“
SHORT_ACCUSATIVE_MAX = 150  # a body's short name after „an“
SLUG_MAX = 80  # the slug of a body, an event, a topic
ORGANISER_MAX = 300  # an event's organiser or location
TOPIC_NAME_MAX = 120  # a topic's name
PARTS_MAX = 30  # parts of one event (panel, workshops, inputs)
EMAIL_MAX = 254  # RFC 5321
URL_MAX = 500  # a link, or a consultation's source
FILE_REFERENCE_MAX = 100  # a body's Aktenzeichen
TOKEN_NAME_MAX = 100  # an API token's name
NONCE_MAX = 64  # the one-time nonce of a rendered statement form
SUBJECT_MAX = 300  # an e-mail's subject (cut, not refused: the app writes it)

# Other limits.
PASSWORD_MIN = 12
PASSWORD_MAX = 200
LOGIN_PASSWORD_MAX = 1_000  # what the login form takes (longer is refused before hashing)
STEPS_MAX = 50  # next steps of one meeting
IMPORT_BYTES_MAX = 1024 * 1024  # a CSV upload
IMPORT_ROWS_MAX = 1_000  # demands in one CSV import
SEARCH_MAX = 200  # characters of a search that count

SLUG_PATTERN = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")  # a slug in an address: „sozialministerium“

# The limits of each kind of record, by field, for ``length_errors``.
DEMAND = {"title": TITLE_MAX, "text": TEXT_MAX}
BODY = {
    "name": TITLE_MAX,
    "short_name": SHORT_NAME_MAX,
    "name_accusative": NAME_ACCUSATIVE_MAX,
    "short_accusative": SHORT_ACCUSATIVE_MAX,
    "slug": SLUG_MAX,
    "description": DESCRIPTION_MAX,
}
CONTACT = {"name": NAME_MAX, "email": EMAIL_MAX}
PAUSE = {"reason": REASON_MAX}
USER = {"name": USER_NAME_MAX, "email": EMAIL_MAX, "password": PASSWORD_MAX}
STATEMENT = {
    "text": STATEMENT_MAX,
    "author": NAME_MAX,
    "file_reference": FILE_REFERENCE_MAX,
    "competent_text": COMPETENT_TEXT_MAX,
}
CONSULTATION = {
    "title": TITLE_MAX,
    "url": URL_MAX,
    "source": URL_MAX,
    "statement_text": TEXT_MAX,
    "statement_url": URL_MAX,
}
MEETING = {"participants": TEXT_MAX, "topics": TEXT_MAX, "summary": TEXT_MAX}
EVENT = {
    "slug": SLUG_MAX,
    "title": TITLE_MAX,
    "organiser": ORGANISER_MAX,
    "location": ORGANISER_MAX,
    "description": DESCRIPTION_MAX,
}
EVENT_PART = {"slug": SLUG_MAX, "title": TITLE_MAX, "description": DESCRIPTION_MAX}
TOPIC = {"slug": SLUG_MAX, "name": TOPIC_NAME_MAX}


REQUIRED = _l("Bitte ausfüllen.")  # the forms' word for a missing value, too


def too_long(limit: int) -> str:
    """Return the message for a text longer than ``limit`` (the forms' words too)."""
    return str(_l("Höchstens %(num)d Zeichen.", num=limit))


def length_errors(values: Mapping[str, str | None], limits: Mapping[str, int]) -> dict[str, str]:
    """Return „Höchstens N Zeichen.“ for each of ``values`` longer than its limit in ``limits``."""
    return {
        name: too_long(limits[name])
        for name, value in values.items()
        if name in limits and len(value or "") > limits[name]
    }


def password_problem(password: str | None) -> str | None:
    """Return why ``password`` cannot be set, or None if it can."""
    if not password or not password.strip():
        return str(_l("Das Passwort darf nicht nur aus Leerzeichen bestehen."))
    if len(password) < PASSWORD_MIN:
        return str(_l("Mindestens %(num)d Zeichen.", num=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        return too_long(PASSWORD_MAX)
    return None


def required_problem(value: str | None, limit: int) -> str | None:
    """Return why a required text cannot be stored: missing, or longer than ``limit``."""
    if not value:
        return str(REQUIRED)
    return too_long(limit) if len(value) > limit else None


def normal_email(email: str | None) -> str:
    """Return an address as it is stored and compared: trimmed, in lower case."""
    return (email or "").strip().lower()


def email_problem(email: str | None) -> str | None:
    """Return why ``email`` is no address to store (checked as the forms check it), or None."""
    problem = required_problem(email, EMAIL_MAX)
    if problem is None:
        try:
            validate_email(email, check_deliverability=False)
        except EmailNotValidError:
            problem = str(_l("Bitte eine gültige E-Mail-Adresse eingeben."))
    return problem


def slug_problem(slug: str | None) -> str | None:
    """Return why ``slug`` cannot name a record in an address, or None."""
    problem = required_problem(slug, SLUG_MAX)
    if problem is None and not SLUG_PATTERN.fullmatch(slug):
        problem = str(_l("Nur Kleinbuchstaben, Ziffern und Bindestriche."))
    return problem


EARLIEST_DAY = dt.date(1990, 1, 1)  # working days are counted from here (``domain.workdays``)
YEARS_AHEAD_MAX = 10


def day_problem(day: dt.date | None, on: dt.date) -> str | None:
    """Return why ``day`` cannot be a date the tracker records, asked ``on``, or None: not
    before 1990, not more than ten years ahead (a typed 3026 for 2026 would count working
    days for a thousand years on every page that shows it)."""
    if day is None:
        return None
    if day < EARLIEST_DAY:
        return str(_l("Bitte ein Datum ab dem 1. Januar 1990 angeben."))
    try:
        latest = on.replace(year=on.year + YEARS_AHEAD_MAX)
    except ValueError:  # 29 February
        latest = on.replace(year=on.year + YEARS_AHEAD_MAX, day=28)
    if day > latest:
        return str(_l("Das Datum liegt zu weit in der Zukunft."))
    return None


def latest_commitment(on: dt.date) -> dt.date:
    """The last day a body may commit to answer by, asked ``on``: a year ahead, the same date
    (29 February: 28 February)."""
    try:
        return on.replace(year=on.year + 1)
    except ValueError:
        return on.replace(year=on.year + 1, day=28)
