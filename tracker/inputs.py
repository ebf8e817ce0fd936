"""The one parsing layer for what requests, uploads and imports bring in.

Path parameters go through the URL converters below (a bad value is a 404 before any view
runs), query parameters through ``int_arg``, JSON bodies through ``parse_json`` and every text
through ``clean_text`` / ``control_character``: one definition of what is refused.

Control characters are U+0000-U+001F except tab and newline, and U+007F-U+009F; a carriage
return is normalised (CR LF and a lone CR become LF). Forms strip them (people paste them in
without seeing them), the API, the CSV import and the JSON import refuse them with an error
naming the field (programs and files should be corrected at their source).
"""

from __future__ import annotations

import json
import re
from typing import Any

import flask
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter, UnicodeConverter

# The id columns are 32-bit integers on PostgreSQL.
MAX_ID = 2**31 - 1
CONTROL_CLASS = r"\x00-\x08\x0b-\x1f\x7f-\x9f"  # CR (\x0d) included: normalise first
CONTROL = re.compile(f"[{CONTROL_CLASS}]")
# A lone UTF-16 surrogate: JSON may write one ("\\ud800"), no text can store or send it.
SURROGATE = re.compile(r"[\ud800-\udfff]")
# The same rule as patterns a whole text matches (a CR is allowed: it is normalised), for the
# OpenAPI document: any text, and a text with more than white space (what strip() leaves).
TEXT_PATTERN = rf"^(?:[^{CONTROL_CLASS}]|\r)*$"
FILLED_PATTERN = rf"^(?:[^\S{CONTROL_CLASS}]|\r)*[^\s{CONTROL_CLASS}](?:[^{CONTROL_CLASS}]|\r)*$"
# Limits of a JSON body: far above what any client sends, far below what hurts.
MAX_DEPTH = 10
MAX_LIST = 1000


class InputError(ValueError):
    """A value that is refused; ``name`` says which parameter or field, ``kind`` why."""

    def __init__(self, name: str, kind: str, message: str):
        super().__init__(message)
        self.name, self.kind, self.message = name, kind, message


def normalise_newlines(value: str) -> str:
    """Turn CR LF and a lone CR into LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def clean_text(value: str) -> str:
    """Return ``value`` with newlines normalised and control characters dropped."""
    return CONTROL.sub("", normalise_newlines(value))


def control_character(value: str) -> str | None:
    """Return the first control character in ``value`` as ``U+XXXX`` (CR counts not), or None."""
    match = CONTROL.search(value.replace("\r", ""))
    return f"U+{ord(match.group()):04X}" if match else None


class IdConverter(IntegerConverter):
    """``<int:…>`` in URLs: ASCII digits up to the largest 32-bit id; anything else is a 404."""

    regex = r"[0-9]{1,12}"

    def __init__(self, url_map, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, **kwargs)


class TextConverter(UnicodeConverter):
    """The default ``<name>`` converter, refusing control characters (a 404, not a 500)."""

    def __init__(self, url_map, minlength=1, maxlength=None, length=None):
        super().__init__(url_map, minlength, maxlength, length)
        # the parent's regex allows every character but "/"; keep its length bounds
        self.regex = self.regex.replace("[^/]", r"[^/\x00-\x1f\x7f-\x9f]")


def init_app(app) -> None:
    """Install the converters for every route and the guarded JSON parsing of bodies."""
    app.request_class = Request
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter


def digits(raw: str) -> int | None:
    """Return ``raw`` as an int if it is ASCII digits (at most 12), else None."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 12 else None


def int_arg(args, name: str, default: int, minimum: int = 1, maximum: int = 10**6) -> int:
    """Return query parameter ``name`` as an int within bounds: ASCII digits only."""
    raw = args.get(name)
    if raw is None or raw == "":
        return default
    value = digits(raw)
    if value is None or not minimum <= value <= maximum:
        raise InputError(
            name,
            "invalid_parameter",
            _(
                "„%(name)s“ muss eine Zahl zwischen %(minimum)d und %(maximum)d sein.",
                name=name,
                minimum=minimum,
                maximum=maximum,
            ),
        )
    return value


def parse_json(data: bytes | str) -> Any:
    """Parse a JSON document and check its shape; raise InputError if it is refused.

    ``kind`` is ``invalid_json`` for what is no (acceptable) JSON at all: unparseable, nested
    deeper than MAX_DEPTH; ``validation_failed`` for a list longer than MAX_LIST or a string
    (or key) with a control character.
    """
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python recurses
        raise InputError(
            "", "invalid_json", _("Der Anfragetext ist kein gültiges JSON (UTF-8).")
        ) from None
    check_json(value)
    return value


def check_json(value: Any, max_depth: int = MAX_DEPTH, max_list: int = MAX_LIST) -> None:
    """Check a parsed JSON value: depth, list lengths, control characters; without recursion."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        item, depth, path = stack.pop()
        if isinstance(item, dict | list) and depth > max_depth:
            raise InputError(
                path,
                "invalid_json",
                _("Das JSON ist tiefer als %(num)d Ebenen verschachtelt.", num=max_depth),
            )
        if isinstance(item, dict):
            for key, child in item.items():
                where = f"{path}.{key}" if path else str(key)
                _check_string(key, where)
                stack.append((child, depth + 1, where))
        elif isinstance(item, list):
            if len(item) > max_list:
                raise InputError(
                    path,
                    "validation_failed",
                    _("„%(name)s“ hat mehr als %(num)d Einträge.", name=path or "[]", num=max_list),
                )
            stack.extend((child, depth + 1, f"{path}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, str):
            _check_string(item, path)


def _check_string(value: str, path: str) -> None:
    if SURROGATE.search(value):
        raise InputError(
            path,
            "validation_failed",
            _("„%(name)s“ enthält ein einzelnes UTF-16-Surrogat, kein Zeichen.", name=path or "…"),
        )
    char = control_character(value)
    if char:
        raise InputError(
            path,
            "validation_failed",
            _("„%(name)s“ enthält ein Steuerzeichen (%(char)s).", name=path or "…", char=char),
        )


class _GuardedJSON:
    """What ``request.get_json()`` parses with: refused JSON is a 400, never a RecursionError."""

    @staticmethod
    def loads(data, **kwargs):
        return parse_json(data)

    @staticmethod
    def dumps(obj, **kwargs):
        return json.dumps(obj, **kwargs)


class Request(flask.Request):
    """Flask's request, parsing JSON bodies through ``parse_json``."""

    json_module = _GuardedJSON
