"""What people read for the domain's codes: roles, kinds, classes, timeline entries, defined once.

The codes themselves are the models' constants (``Assignment.ROLES``, ``Body.KINDS`` …); each
table here names them in the same order. Forms build their choices from these tables, templates
read them through the ``label`` filter, feeds and e-mails through the functions below.

The one domain module that knows the translation machinery: others (``workflow``) mark their
words with ``_l`` from here, lazy strings that need no app or request until they are shown.
"""

from __future__ import annotations

from flask.globals import _cv_app
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l

# The names of the codes, by table; each table names the codes of a model's constant in its
# order. Templates: ``u.role|label('user_role')``; forms: ``choices('body_kind')``.
TABLES = {
    "role": {  # a body's role in a demand (``Assignment.ROLES``)
        "lead": _l("federführend"),
        "involved": _l("beteiligt"),
    },
    "user_role": {  # a staff account's role (``User.ROLES``)
        "staff": _l("Mitarbeiter*in"),
        "admin": _l("Administrator*in"),
    },
    "body_kind": {  # what kind of body (``Body.KINDS``)
        "ministry": _l("Ministerium"),
        "authority": _l("Behörde"),
        "other": _l("andere Stelle"),
    },
    "contact_level": {  # whom a contact reaches (``Contact.LEVELS``)
        1: _l("Sachbearbeitung"),
        2: _l("Referatsleitung"),
        3: _l("Staatssekretär*in / Leitung"),
    },
    "consultation_kind": {  # what a consultation is about (``Consultation.KINDS``)
        "law": _l("Gesetzentwurf"),
        "ordinance": _l("Verordnung"),
        "measure": _l("Maßnahme"),
    },
    "period": {  # how long the LIGA was given (``services.consultations.period_class``)
        "very_short": _l("sehr kurze Frist"),
        "short": _l("kurze Frist"),
        "normal": _l("angemessene Frist"),
    },
    "event_part": {  # what a part of an event is (``EventPart.KINDS``)
        "input": _l("Input"),
        "workshop": _l("Workshop"),
        "panel": _l("Podium"),
    },
    "meeting_format": {  # how a meeting was held (``Meeting.FORMATS``)
        "in_person": _l("vor Ort"),
        "video": _l("Videokonferenz"),
        "phone": _l("Telefon"),
        "hybrid": _l("hybrid"),
    },
    "classification": {  # a body's statement as staff class it; only the first is an answer
        "substantive": _l("inhaltliche Antwort"),
        "interim": _l("Zwischenbescheid"),
        "boilerplate": _l("Standardantwort"),
        "not_responsible": _l("nicht zuständig"),
    },
    "recheck": {  # whether a closed demand reached practice (``services.rechecks``)
        "yes": _l("ja, in der Praxis angekommen"),
        "partly": _l("teilweise angekommen"),
        "no": _l("nein, nicht angekommen"),
    },
}
ROLE_LABELS = TABLES["role"]
CLASSIFICATION_LABELS = TABLES["classification"]
RECHECK_RESULT_LABELS = TABLES["recheck"]

# The fields of a demand that an edit can change, as the edit form names them, in form order.
FIELD_LABELS = {
    "title": _l("Titel"),
    "text": _l("Text der Forderung"),
    "event_id": _l("Veranstaltung"),
    "event_part_id": _l("Herkunft"),
    "topics": _l("Themen"),
    "is_public": _l("Öffentlich sichtbar"),
}


def label(code, table: str) -> str:
    """Return the name of ``code`` in the table ``table`` in the current language.

    An unknown code reads as itself; no code (None, "") as nothing.
    """
    if code is None or code == "":
        return ""
    return text(TABLES[table].get(code, code))


# Each str() of a lazy string, each gettext() asks flask_babel for the domain, the locale and
# the catalogue anew (about 7 µs); a page of 1,000 demands names their states and roles
# thousands of times. So each request keeps what it translated, per language (force_locale
# switches it within a request); the catalogues themselves never change while the app runs.


def _memo() -> dict | None:
    """Return this request's (app context's) translations in the current language.

    Lists call this for every label of every row, so it reads the app context's ``g`` once
    through Flask's context variable (``_cv_app``, which the ``g`` proxy itself reads) and
    flask_babel's chosen locale from it (where ``get_locale`` and ``force_locale`` keep it);
    only a context without one yet asks ``get_locale``. The language last asked for is kept
    beside the memos: hashing a babel ``Locale`` (five fields) was a third of this call.
    """
    context = _cv_app.get(None)
    if context is None:
        return None
    names = context.g.__dict__
    babel = names.get("_flask_babel")
    locale = getattr(babel, "babel_locale", None) or get_locale()
    if locale is None:
        return None
    last = names.get("_translated_last")
    if last is not None and last[0] is locale:
        return last[1]
    memos = names.get("_translated")
    if memos is None:
        memos = names["_translated"] = {}
    memo = memos.get(locale)
    if memo is None:  # None holds the catalogue itself, for the messages not seen yet
        memo = memos[locale] = {None: get_translations()}
    names["_translated_last"] = (locale, memo)
    return memo


def text(value) -> str:
    """Return ``value`` (a lazy string from the tables, or any text) in the current language."""
    if isinstance(value, str):
        return value
    memo = _memo()
    if memo is None:
        return str(value)
    key = id(value)
    found = memo.get(key)
    if found is None or found[0] is not value:  # the lazy string is kept: its id stays its own
        found = memo[key] = (value, str(value))
    return found[1]


def once(key, compute) -> str:
    """Return ``compute()``, computed once per request and language for ``key`` (a date …)."""
    memo = _memo()
    if memo is None:
        return compute()
    try:
        return memo[key]
    except KeyError:
        found = memo[key] = compute()
        return found


def gettext_once(message: str) -> str:
    """Translate ``message`` as gettext does, once per request and language (for templates)."""
    memo = _memo()
    if memo is None:
        return get_translations().ugettext(message)
    try:
        return memo[message]
    except KeyError:
        found = memo[message] = memo[None].ugettext(message)
        return found


def _(message: str, **variables) -> str:
    """flask_babel's ``gettext`` (what this module translates), once per request and language."""
    found = gettext_once(message)
    return found % variables if variables else found


def ngettext_once(singular: str, plural: str, num: int) -> str:
    """Choose and translate the plural form as ngettext does, once per request and language."""
    memo = _memo()
    if memo is None:
        return get_translations().ungettext(singular, plural, num)
    key = (singular, plural, num)
    try:
        return memo[key]
    except KeyError:
        found = memo[key] = memo[None].ungettext(singular, plural, num)
        return found


def choices(table: str) -> list[tuple]:
    """Return ``(code, name)`` pairs of a table, for a form's choices."""
    return list(TABLES[table].items())


def role_label(role: str | None) -> str:
    """Return the role's name in the current language (the code itself if unknown)."""
    return label(role, "role")


def classification_label(value: str | None) -> str:
    """Return the name of a statement's class (empty for an unclassified statement)."""
    return text(CLASSIFICATION_LABELS.get(value, "")) if value else ""


def recheck_label(value: str | None) -> str:
    """Return the name of a re-check result."""
    return text(RECHECK_RESULT_LABELS.get(value, "")) if value else ""


def field_label(name: str) -> str:
    """Return a demand field's name in the current language (the code itself if unknown)."""
    return text(FIELD_LABELS.get(name, name))


def timeline_label(entry) -> str:
    """Say in a few words what a timeline entry records: the pages, feeds, e-mails and report.

    Each message is translated once per request (a feed names fifty entries).
    """
    from tracker.domain.workflow import state_label  # workflow may name its states from here

    body = entry.body.label if entry.body else entry.author_name
    data = entry.data or {}
    match entry.kind:
        case "created":
            return _("Forderung erhoben")
        case "transition":
            return _(
                "%(from)s → %(to)s",
                **{"from": state_label(entry.from_state), "to": state_label(entry.to_state)},
            )
        case "update":
            return _("Neuer Stand der LIGA")
        case "statement":
            return _("Stellungnahme: %(body)s", body=body)
        case "confirmation":
            return _("%(body)s bestätigt: unverändert in Bearbeitung", body=body)
        case "reminder":  # its stored text and author are German: the label says it all
            return _("Wöchentliche Erinnerung verschickt an %(to)s", to=reminder_recipients(entry))
        case "assigned":
            return _("Zuständigkeit geändert")
        case "edited":
            return _("Forderung bearbeitet")
        case "classification":
            label_ = classification_label(data.get("classification"))
            return _("Stellungnahme eingeordnet: %(label)s", label=label_)
        case "recheck":
            return _("Nachprüfung: %(label)s", label=recheck_label(data.get("result")))
    return entry.kind


REMINDER_TEXT = "Wöchentliche Erinnerung an "  # the text of the entries written before recipients


def reminder_recipients(entry) -> str:
    """The addresses a reminder entry's mail went to (kept in data; earlier only in its text)."""
    recipients = (entry.data or {}).get("recipients")
    if recipients is not None:
        return ", ".join(recipients)
    return (entry.text or "").removeprefix(REMINDER_TEXT)


def shorten(text: str | None, width: int) -> str:
    """Cut ``text`` to at most ``width`` characters at a word boundary, marked with „…“."""
    text = " ".join((text or "").split())
    if len(text) <= width:
        return text
    cut = text[: width - 1]
    if text[width - 1] != " " and " " in cut:  # don't end inside a word
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:–-") + "…"


def part_label(event_title: str, part_title: str) -> str:
    """Name an event part together with its event, as the source of a demand."""
    return f"{shorten(event_title, 60)} – {shorten(part_title, 80)}"
