"""Demands from a CSV file: every row is checked before anything is written, then each demand is
created through ``services.demands``, so imported demands get the same rules and timeline entries
as typed-in ones."""

from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from tracker import inputs
from tracker.domain import rules
from tracker.domain.models import Body, Demand, Event, EventPart, Topic, User
from tracker.extensions import db
from tracker.services import demands as demand_service
from tracker.services.errors import ExchangeError, german_outside_requests

MAX_IMPORT_BYTES = rules.IMPORT_BYTES_MAX
MAX_IMPORT_ROWS = rules.IMPORT_ROWS_MAX


IMPORT_COLUMNS = (
    "titel",
    "text",
    "federfuehrend",
    "beteiligt",
    "themen",
    "veranstaltung",
    "teil",
    "oeffentlich",
)
REQUIRED_COLUMNS = ("titel", "text")
COLUMN_OF = {"title": "titel", "text": "text"}  # the demand's fields as the file names them
TRUE_WORDS = {"ja", "j", "1", "x", "true", "wahr", "yes", "y", "öffentlich"}
FALSE_WORDS = {"nein", "n", "0", "false", "falsch", "no", "intern"}


def decode_upload(data: bytes) -> str:
    """Decode an uploaded CSV file (UTF-8, with or without BOM, or UTF-16 with BOM)."""
    with german_outside_requests():
        if not data or not data.strip():
            raise ExchangeError(_("Die Datei ist leer."))
        if len(data) > MAX_IMPORT_BYTES:
            raise ExchangeError(
                _("Die Datei ist zu groß (höchstens %(num)d KB).", num=MAX_IMPORT_BYTES // 1024)
            )
        try:
            if data.startswith((b"\xff\xfe", b"\xfe\xff")):
                text = data.decode("utf-16")
            else:
                text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ExchangeError(
                _(
                    "Die Datei ist nicht UTF-8-kodiert. Bitte in Excel „Speichern unter“ → "
                    "„CSV UTF-8 (durch Trennzeichen getrennt)“ wählen."
                )
            ) from None
        if "\x00" in text:
            raise ExchangeError(_("Das ist keine Textdatei (CSV)."))
        return text


def _column_name(raw: str) -> str:
    """Normalise a header cell: case, spaces, umlauts (so 'Federführend' is 'federfuehrend')."""
    name = unicodedata.normalize("NFC", raw.strip().lstrip("\ufeff").strip().lower())
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        name = name.replace(umlaut, plain)
    return name


def _slugs(value: str) -> list[str]:
    """Split a cell of comma-separated slugs, dropping blanks and repeats."""
    seen: dict[str, None] = {}
    for part in value.split(","):
        slug = part.strip().lower()
        if slug:
            seen.setdefault(slug, None)
    return list(seen)


@dataclass
class _Row:
    line: int
    fields: dict[str, Any] = field(default_factory=dict)
    topics: list[Topic] = field(default_factory=list)
    roles: dict[int, str] = field(default_factory=dict)


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _check_rows(text: str) -> tuple[list[_Row], list[str]]:
    """Parse and check every row; return the rows ready to create and the errors."""
    errors: list[str] = []
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if not first:
        return [], [_("Die Datei ist leer.")]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first), strict=True)
    try:
        header: list[str] | None = None
        header_line = 0
        raw_rows: list[tuple[int, list[str]]] = []
        line = 1
        for cells in reader:
            if header is None:
                if any(c.strip() for c in cells):
                    header, header_line = [_column_name(c) for c in cells], line
            elif any(c.strip() for c in cells):
                raw_rows.append((line, cells))
                if len(raw_rows) > MAX_IMPORT_ROWS:
                    return [], [
                        _(
                            "Zu viele Zeilen: höchstens %(num)d Forderungen auf einmal.",
                            num=MAX_IMPORT_ROWS,
                        )
                    ]
            line = reader.line_num + 1
    except csv.Error:
        return [], [
            _(
                "Zeile %(line)d: kein gültiges CSV (Anführungszeichen nicht geschlossen oder Feld "
                "zu lang).",
                line=reader.line_num or 1,
            )
        ]
    if header is None:
        return [], [_("Die Datei ist leer.")]
    for name in header:
        if name and name not in IMPORT_COLUMNS:
            errors.append(
                _(
                    "Zeile %(line)d: unbekannte Spalte „%(name)s“ (erlaubt: %(allowed)s).",
                    line=header_line,
                    name=name,
                    allowed=", ".join(IMPORT_COLUMNS),
                )
            )
    for name in REQUIRED_COLUMNS:
        if name not in header:
            errors.append(
                _("Zeile %(line)d: die Spalte „%(name)s“ fehlt.", line=header_line, name=name)
            )
    duplicates = sorted({n for n in header if n and header.count(n) > 1})
    for name in duplicates:
        errors.append(
            _(
                "Zeile %(line)d: die Spalte „%(name)s“ steht mehrfach da.",
                line=header_line,
                name=name,
            )
        )
    if errors:
        return [], errors
    if not raw_rows:
        return [], [_("Die Datei enthält keine Forderungen (nur die Kopfzeile).")]

    bodies = {b.slug: b for b in db.session.scalars(sa.select(Body))}
    topics = {t.slug: t for t in db.session.scalars(sa.select(Topic))}
    events = {e.slug: e for e in db.session.scalars(sa.select(Event))}
    parts = {(p.event_id, p.slug): p for p in db.session.scalars(sa.select(EventPart))}
    rows = []
    for line, cells in raw_rows:
        row, row_errors = _check_row(line, header, cells, bodies, topics, events, parts)
        rows.append(row)
        errors.extend(row_errors)
    return rows, errors


def _check_row(line, header, cells, bodies, topics, events, parts) -> tuple[_Row, list[str]]:
    """Check one data row against the database; return it and its errors."""
    errors: list[str] = []
    if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
        errors.append(
            _(
                "Zeile %(line)d: mehr Felder (%(found)d) als Spalten in der Kopfzeile "
                "(%(expected)d)",
                line=line,
                found=len(cells),
                expected=len(header),
            )
        )
    value = {
        name: (inputs.normalise_newlines(cells[i]).strip() if i < len(cells) else "")
        for i, name in enumerate(header)
    }
    for name, cell in value.items():
        char = inputs.control_character(cell)
        if char:  # refused, not stripped: the file should be corrected where it was made
            errors.append(
                _(
                    "Zeile %(line)d: die Spalte „%(name)s“ enthält ein Steuerzeichen (%(char)s)",
                    line=line,
                    name=name,
                    char=char,
                )
            )
    row = _Row(line)

    texts = {"title": value.get("titel", ""), "text": value.get("text", "")}
    for name, message in demand_service.check_texts(texts).items():
        errors.append(
            _(
                "Zeile %(line)d, Spalte „%(name)s“: %(message)s",
                line=line,
                name=COLUMN_OF[name],
                message=message,
            )
        )

    public_word = value.get("oeffentlich", "").lower()
    is_public = public_word not in FALSE_WORDS
    if public_word and public_word not in TRUE_WORDS | FALSE_WORDS:
        errors.append(
            _(
                "Zeile %(line)d: „%(value)s“ in der Spalte „oeffentlich“ ist weder "
                "„ja“ noch „nein“",
                line=line,
                value=value["oeffentlich"],
            )
        )

    lead, involved = _slugs(value.get("federfuehrend", "")), _slugs(value.get("beteiligt", ""))
    for slug in (*lead, *involved):
        if slug not in bodies:
            errors.append(_("Zeile %(line)d: unbekannte Stelle „%(slug)s“", line=line, slug=slug))
    for slug in sorted(set(lead) & set(involved)):
        errors.append(
            _(
                "Zeile %(line)d: die Stelle „%(slug)s“ ist federführend und beteiligt zugleich",
                line=line,
                slug=slug,
            )
        )
    problem = demand_service.roles_problem(["lead"] * len(lead) + ["involved"] * len(involved))
    if problem:
        errors.append(_("Zeile %(line)d: %(message)s", line=line, message=problem))

    for slug in _slugs(value.get("themen", "")):
        if slug in topics:
            row.topics.append(topics[slug])
        else:
            errors.append(_("Zeile %(line)d: unbekanntes Thema „%(slug)s“", line=line, slug=slug))

    event_slug, part_slug = value.get("veranstaltung", "").lower(), value.get("teil", "").lower()
    event = part = None
    if event_slug:
        event = events.get(event_slug)
        if event is None:
            errors.append(
                _("Zeile %(line)d: unbekannte Veranstaltung „%(slug)s“", line=line, slug=event_slug)
            )
    if part_slug:
        if not event_slug:
            errors.append(
                _(
                    "Zeile %(line)d: der Teil „%(slug)s“ braucht die Veranstaltung "
                    "(Spalte „veranstaltung“)",
                    line=line,
                    slug=part_slug,
                )
            )
        elif event is not None:
            part = parts.get((event.id, part_slug))
            if part is None:
                errors.append(
                    _(
                        "Zeile %(line)d: die Veranstaltung „%(event)s“ hat keinen Teil „%(slug)s“",
                        line=line,
                        event=event_slug,
                        slug=part_slug,
                    )
                )

    if not errors:
        row.fields = {
            **texts,
            "is_public": is_public,
            "event_id": event.id if event else None,
            "event_part_id": part.id if part else None,
        }
        row.roles = {bodies[s].id: "lead" for s in lead}
        row.roles |= {bodies[s].id: "involved" for s in involved}
    return row, errors


def import_demands_csv(text: str, user: User | None) -> tuple[list[Demand], list[str]]:
    """Create a demand per CSV row if every row is valid; else create none and say why."""
    with german_outside_requests():
        rows, errors = _check_rows(text)
        if errors:
            return [], errors
        created = []
        for row in rows:
            demand = demand_service.create_demand(user, topics=row.topics, **row.fields)
            if row.roles:
                demand_service.assign_bodies(demand, user, demand.version, row.roles)
            created.append(demand)
        return created, []
