"""Open data in and out: the demand list as CSV, demands from CSV, the whole database as JSON.

The CSV export is for spreadsheets (Excel in Germany: UTF-8 with BOM, ``;`` as delimiter). The CSV
import checks every row before it writes anything and then creates each demand through
``services.demands``, so imported demands get the same rules and timeline entries as typed-in ones.
The JSON export/import moves a whole installation: every table, ids kept, so that exporting again
after an import gives the same bytes.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.security import generate_password_hash

from .. import inputs, workflow
from ..extensions import db
from ..models import Body, Demand, Event, EventPart, Topic, User
from . import demands as demand_service
from .links import external_url
from .progress import progress
from .repeats import demanded_since_map

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 1000
MAX_TITLE = 300
MAX_TEXT = 20_000


class ExchangeError(Exception):
    """A file that cannot be read or imported; the message is for users."""


def _german():
    """Translate into German outside requests (CLI), else keep the request's locale."""
    return contextlib.nullcontext() if has_request_context() else force_locale("de")


# --------------------------------------------------------------------------- CSV export

CSV_COLUMNS = (
    "id",
    "titel",
    "zustand",
    "seit",
    "zieldatum",
    "ueberfaellig",
    "federfuehrend",
    "beteiligt",
    "themen",
    "veranstaltung",
    "url",
    "gefordert_seit",
    "wiederholt",
)
# A cell starting with one of these is taken as a formula by spreadsheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """Return ``value`` without control characters (stored before they were refused), with an
    apostrophe before text a spreadsheet would run as a formula."""
    if isinstance(value, str):
        value = inputs.clean_text(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def _source(demand: Demand) -> str:
    if demand.event is None:
        return ""
    if demand.event_part is not None:
        return f"{demand.event.title} – {demand.event_part.title}"
    return demand.event.title


def demand_rows(demands: Iterable[Demand]) -> Iterator[list[Any]]:
    """Yield one CSV row (German labels) per demand, header first."""
    yield list(CSV_COLUMNS)
    demands = list(demands)
    since = demanded_since_map(demands)
    with force_locale("de"):
        yes, no = "ja", "nein"  # the file is German whatever the reader's locale
        for d in demands:
            p = progress(d)
            yield [
                d.id,
                d.title,
                workflow.state_label(d.state),
                p.since.isoformat(),
                p.target.isoformat() if p.target else "",
                yes if p.overdue else no,
                ", ".join(b.name for b in d.lead_bodies),
                ", ".join(b.name for b in d.involved_bodies),
                ", ".join(t.name for t in d.topics),
                _source(d),
                external_url("public.demand", demand_id=d.id),
                since[d.id].isoformat(),
                d.repeats_id or "",
            ]


def demands_csv(demands: Iterable[Demand]) -> bytes:
    """Return the demands as CSV for Excel: UTF-8 with BOM, ``;`` between cells, CRLF lines."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in demand_rows(demands):
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# --------------------------------------------------------------------------- CSV import

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
TRUE_WORDS = {"ja", "j", "1", "x", "true", "wahr", "yes", "y", "öffentlich"}
FALSE_WORDS = {"nein", "n", "0", "false", "falsch", "no", "intern"}


def decode_upload(data: bytes) -> str:
    """Decode an uploaded CSV file (UTF-8, with or without BOM, or UTF-16 with BOM)."""
    with _german():
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

    title, text = value.get("titel", ""), value.get("text", "")
    if not title:
        errors.append(_("Zeile %(line)d: der Titel fehlt", line=line))
    elif len(title) > MAX_TITLE:
        errors.append(
            _(
                "Zeile %(line)d: der Titel ist zu lang (höchstens %(num)d Zeichen)",
                line=line,
                num=MAX_TITLE,
            )
        )
    if not text:
        errors.append(_("Zeile %(line)d: der Text fehlt", line=line))
    elif len(text) > MAX_TEXT:
        errors.append(
            _(
                "Zeile %(line)d: der Text ist zu lang (höchstens %(num)d Zeichen)",
                line=line,
                num=MAX_TEXT,
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
    if involved and not lead:
        errors.append(_("Zeile %(line)d: mindestens eine Stelle muss federführend sein", line=line))

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
            "title": title,
            "text": text,
            "is_public": is_public,
            "event_id": event.id if event else None,
            "event_part_id": part.id if part else None,
        }
        row.roles = {bodies[s].id: "lead" for s in lead}
        row.roles |= {bodies[s].id: "involved" for s in involved}
    return row, errors


def import_demands_csv(text: str, user: User | None) -> tuple[list[Demand], list[str]]:
    """Create a demand per CSV row if every row is valid; else create none and say why."""
    with _german():
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


# --------------------------------------------------------------------------- JSON export/import

FORMAT = "forderungstracker-export"
FORMAT_VERSION = 1
# Secrets leave the database only when asked for: password hashes and API token hashes.
SECRET_TABLES = {"api_tokens"}
SECRET_COLUMNS = {("users", "password_hash"), ("users", "session_token")}


def _tables(with_secrets: bool) -> list[sa.Table]:
    """Return the tables to move, parents before children."""
    return [t for t in db.metadata.sorted_tables if with_secrets or t.name not in SECRET_TABLES]


def _python_type(column: sa.Column) -> type | None:
    kind = column.type
    if isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    try:
        return kind.python_type
    except NotImplementedError:
        return None


def _to_json(column: sa.Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # only plain DateTime columns; ours are all UTCDateTime
            return value.isoformat()
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def export_data(with_password_hashes: bool = False) -> dict[str, Any]:
    """Return every table's rows, ordered by primary key, as JSON-ready data."""
    tables = {}
    for table in _tables(with_password_hashes):
        columns = [
            c
            for c in table.columns
            if with_password_hashes or (table.name, c.name) not in SECRET_COLUMNS
        ]
        rows = db.session.execute(sa.select(*columns).order_by(*table.primary_key.columns)).all()
        tables[table.name] = [
            {c.name: _to_json(c, value) for c, value in zip(columns, row, strict=True)}
            for row in rows
        ]
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "with_password_hashes": with_password_hashes,
        "tables": tables,
    }


def dump_json(data: dict[str, Any]) -> str:
    """Serialise an export stably: sorted keys, fixed indentation, final newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def row_counts() -> dict[str, int]:
    """Count the rows of every table that has any."""
    counts = {}
    for table in db.metadata.sorted_tables:
        count = db.session.scalar(sa.select(sa.func.count()).select_from(table))
        if count:
            counts[table.name] = count
    return counts


def _from_json(table: str, index: int, column: sa.Column, value: Any) -> Any:
    """Turn a JSON value back into what the column takes; raise ExchangeError if it cannot be."""
    if value is None:
        if not column.nullable:
            raise ExchangeError(
                _(
                    "Tabelle „%(table)s“, Eintrag %(num)d: „%(column)s“ fehlt.",
                    table=table,
                    num=index + 1,
                    column=column.name,
                )
            )
        return None
    if isinstance(column.type, sa.JSON):
        return _json_value(table, index, column, value)
    kind = _python_type(column)
    try:
        if kind is str and isinstance(value, str) and inputs.control_character(value):
            raise ValueError("control character")
        if kind is dt.datetime:
            moment = dt.datetime.fromisoformat(value)
            if moment.tzinfo is None and getattr(column.type, "timezone", True):
                raise ValueError("naive datetime")
            return moment
        if kind is dt.date:
            return dt.date.fromisoformat(value)
        if kind is bool and not isinstance(value, bool):
            raise TypeError(value)
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(value)
        if kind is str and not isinstance(value, str):
            raise TypeError(value)
    except (TypeError, ValueError):
        raise ExchangeError(
            _(
                "Tabelle „%(table)s“, Eintrag %(num)d: „%(column)s“ hat einen ungültigen Wert.",
                table=table,
                num=index + 1,
                column=column.name,
            )
        ) from None
    return value


# What the code reading a JSON column relies on: its type, and the type of well-known keys.
JSON_SHAPES: dict[tuple[str, str], type] = {
    ("timeline_entries", "data"): dict,
    ("outbox", "data"): dict,
    ("outbox", "to"): list,
    ("outbox", "cc"): list,
}
JSON_KEYS: dict[str, tuple[type, ...]] = {
    "after": (dict,),
    "before": (dict, str, type(None)),  # an edit's old fields; a classification's old class
    "demand_ids": (list,),
    "outcome": (str, type(None)),
    "participants": (str, type(None)),
    "week": (str, type(None)),
    "unsubscribe_url": (str, type(None)),
}


def _json_value(table: str, index: int, column: sa.Column, value: Any) -> Any:
    """Check a JSON column's value: its shape, nesting, list lengths and control characters."""

    def refuse(reason: str) -> ExchangeError:
        return ExchangeError(
            _(
                "Tabelle „%(table)s“, Eintrag %(num)d: „%(column)s“ hat eine ungültige Form "
                "(%(reason)s).",
                table=table,
                num=index + 1,
                column=column.name,
                reason=reason,
            )
        )

    shape = JSON_SHAPES.get((table, column.name), dict | list)
    if not isinstance(value, shape):
        expected = {dict: _("Objekt erwartet"), list: _("Liste erwartet")}
        raise refuse(expected.get(shape, _("Objekt oder Liste erwartet")))
    try:
        inputs.check_json(value, max_list=100_000)
    except inputs.InputError as error:
        raise refuse(error.message) from None
    if shape is list and not all(isinstance(item, str) for item in value):
        raise refuse(_("Liste von Texten erwartet"))
    if isinstance(value, dict):
        for key, types in JSON_KEYS.items():
            if key in value and not isinstance(value[key], types):
                raise refuse(key)
        if not all(isinstance(i, int) for i in value.get("demand_ids") or []):
            raise refuse("demand_ids")
    return value


def _reset_sequences(tables: list[sa.Table]) -> None:
    """Let PostgreSQL hand out ids after the imported ones."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].name != "id" or _python_type(pk[0]) is not int:
            continue
        db.session.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table.name}"'
            ),
            {"table": f'"{table.name}"'},
        )


@dataclass
class ImportResult:
    """What an import wrote: rows per table and the users who need a new password."""

    counts: dict[str, int]
    users_without_password: list[str]


def import_data(data: Any) -> ImportResult:
    """Load an export into an empty database, keeping ids; all or nothing."""
    with _german():
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ExchangeError(_("Das ist keine Export-Datei des Forderungstrackers."))
        if data.get("version") != FORMAT_VERSION:
            raise ExchangeError(
                _(
                    "Unbekannte Version %(version)s der Export-Datei (erwartet: %(expected)d).",
                    version=data.get("version"),
                    expected=FORMAT_VERSION,
                )
            )
        given = data.get("tables")
        if not isinstance(given, dict):
            raise ExchangeError(_("Die Export-Datei enthält keine Tabellen."))
        known = {t.name: t for t in db.metadata.sorted_tables}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise ExchangeError(
                _("Unbekannte Tabellen in der Export-Datei: %(names)s.", names=", ".join(unknown))
            )
        filled = row_counts()
        if filled:
            raise ExchangeError(
                _(
                    "Die Datenbank ist nicht leer (%(tables)s). Der Import geht nur in eine leere "
                    "Datenbank: bitte eine neue anlegen (z. B. „tracker db upgrade“ auf einer "
                    "leeren Datenbank) und dann importieren.",
                    tables=", ".join(f"{name}: {count}" for name, count in filled.items()),
                )
            )
        counts: dict[str, int] = {}
        without_password: list[str] = []
        tables = [known[name] for name in known if name in given]
        # every row of every table is checked before anything is written
        checked = {t.name: _table_rows(t, given[t.name], without_password) for t in tables}
        try:
            later: list[tuple[sa.Table, list[dict]]] = []
            for table in tables:
                rows = checked[table.name]
                later.append((table, _defer_self_references(table, rows)))
                # Core inserts: ids as given, and no ORM events (the timeline only grows).
                # Rows are grouped by their fields, as one executemany needs the same in each.
                groups: dict[tuple[str, ...], list[dict]] = {}
                for row in rows:
                    groups.setdefault(tuple(sorted(row)), []).append(row)
                for group in groups.values():
                    db.session.execute(table.insert(), group)
                counts[table.name] = len(rows)
            for table, updates in later:
                _apply_self_references(table, updates)
            _reset_sequences(tables)
            db.session.flush()
        except ExchangeError:
            db.session.rollback()
            raise
        except sa.exc.SQLAlchemyError as error:
            db.session.rollback()
            detail = str(getattr(error, "orig", None) or error).splitlines()[0][:300]
            raise ExchangeError(
                _(
                    "Die Export-Datei passt nicht zur Datenbank; nichts wurde importiert "
                    "(%(detail)s).",
                    detail=detail,
                )
            ) from None
        return ImportResult(counts, without_password)


def _self_columns(table: sa.Table) -> list[str]:
    return [c.name for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]


def _defer_self_references(table: sa.Table, rows: list[dict]) -> list[dict]:
    """Take out references to rows of the same table (e.g. a demand repeating a later one).

    They are set after all rows are in, so the order of the rows does not matter.
    """
    names = _self_columns(table)
    pk = [c.name for c in table.primary_key.columns]
    updates = []
    for row in rows:
        values = {name: row.pop(name) for name in names if row.get(name) is not None}
        if values:
            # keep columns an UPDATE would otherwise refresh (updated_at)
            values.update(
                {c.name: row[c.name] for c in table.columns if c.onupdate and c.name in row}
            )
            updates.append({**{f"_pk_{k}": row[k] for k in pk}, **values})
    return updates


def _apply_self_references(table: sa.Table, updates: list[dict]) -> None:
    for update in updates:
        pk = {k[4:]: v for k, v in update.items() if k.startswith("_pk_")}
        values = {k: v for k, v in update.items() if not k.startswith("_pk_")}
        condition = sa.and_(*(table.c[k] == v for k, v in pk.items()))
        db.session.execute(table.update().where(condition).values(**values))


def _table_rows(table: sa.Table, given: Any, without_password: list[str]) -> list[dict]:
    """Check and convert the rows of one table from the export."""
    if not isinstance(given, list):
        raise ExchangeError(
            _("Tabelle „%(table)s“: eine Liste von Einträgen erwartet.", table=table.name)
        )
    rows = []
    for index, item in enumerate(given):
        if not isinstance(item, dict):
            raise ExchangeError(
                _(
                    "Tabelle „%(table)s“, Eintrag %(num)d: kein Objekt.",
                    table=table.name,
                    num=index + 1,
                )
            )
        extra = sorted(set(item) - set(table.columns.keys()))
        if extra:
            raise ExchangeError(
                _(
                    "Tabelle „%(table)s“: unbekannte Felder %(names)s.",
                    table=table.name,
                    names=", ".join(extra),
                )
            )
        row = {
            name: _from_json(table.name, index, table.columns[name], value)
            for name, value in item.items()
        }
        if table.name == "users" and not row.get("password_hash"):
            # Nobody knows this password: an admin sets a new one before the account is used.
            row["password_hash"] = generate_password_hash(secrets.token_urlsafe(32))
            without_password.append(str(row.get("email", "")))
        if table.name == "users" and not row.get("session_token"):
            row["session_token"] = secrets.token_hex(16)  # not exported: cookies from before end
        rows.append(row)
    return rows
