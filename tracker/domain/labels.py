"""What people read for the domain's codes: roles and the fields of a demand, defined once.

The one domain module that knows the translation machinery: others (``workflow``) mark their
words with ``_l`` from here, lazy strings that need no app or request until they are shown.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

# A body's role in a demand (``Assignment.role``).
ROLE_LABELS = {"lead": _l("federführend"), "involved": _l("beteiligt")}

# The fields of a demand that an edit can change, as the edit form names them, in form order.
FIELD_LABELS = {
    "title": _l("Titel"),
    "text": _l("Text der Forderung"),
    "event_id": _l("Veranstaltung"),
    "event_part_id": _l("Herkunft"),
    "topics": _l("Themen"),
    "is_public": _l("Öffentlich sichtbar"),
}


def role_label(role: str | None) -> str:
    """Return the role's name in the current language (the code itself if unknown)."""
    return str(ROLE_LABELS.get(role, role or ""))


def field_label(name: str) -> str:
    """Return a demand field's name in the current language (the code itself if unknown)."""
    return str(FIELD_LABELS.get(name, name))


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
