"""The whole database as JSON and back: every table, ids kept, so that exporting again after an
import gives the same bytes (``tracker export`` / ``tracker import``)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from werkzeug.security import generate_password_hash

from tracker import inputs
from tracker.domain import rules
from tracker.extensions import db
from tracker.services.errors import ExchangeError, german_outside_requests

FORMAT = "forderungstracker-export"
FORMAT_VERSION = 1
# Secrets leave the database only when asked for: password hashes and API token hashes.
SECRET_TABLES = {"api_tokens"}
SECRET_COLUMNS = {("users", "password_hash"), ("users", "session_token")}
NOT_DATA = {"data_versions"}  # the page cache's versions: renewed by the import's own commit


def _data_tables() -> list[sa.Table]:
    return [t for t in db.metadata.sorted_tables if t.name not in NOT_DATA]


def _tables(with_secrets: bool) -> list[sa.Table]:
    """Return the tables to move, parents before children."""
    return [t for t in _data_tables() if with_secrets or t.name not in SECRET_TABLES]


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
    for table in _data_tables():
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
    # the rules' limit of the column (``rules`` via the models), as every other entry point
    limit = column.info.get("max_length") or getattr(column.type, "length", None)
    if kind is str and limit and len(value) > limit:
        raise ExchangeError(
            _(
                "Tabelle „%(table)s“, Eintrag %(num)d: „%(column)s“: %(message)s",
                table=table,
                num=index + 1,
                column=column.name,
                message=rules.too_long(limit),
            )
        )
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
    with german_outside_requests():
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
        known = {t.name: t for t in _data_tables()}
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
