"""Read every <form> of a page as a browser would submit it (a small html.parser helper)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from html.parser import HTMLParser

from werkzeug.datastructures import MultiDict

FILE = object()  # an <input type=file> with nothing chosen


@dataclass
class RenderedForm:
    action: str
    method: str
    enctype: str
    fields: list[tuple[str, object]] = field(default_factory=list)
    choices: set[str] = field(default_factory=set)  # names of selects, radios and checkboxes

    def data(self, **changes) -> MultiDict:
        """Return what a browser sends, with ``changes`` (name -> value) typed in."""
        sent = [
            (name, changes.pop(name) if name in changes else value) for name, value in self.fields
        ]
        sent.extend(changes.items())
        return MultiDict(
            [(name, (io.BytesIO(b""), "") if value is FILE else value) for name, value in sent]
        )


class FormParser(HTMLParser):
    """Collect each form with the values a browser would send when it is submitted unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[RenderedForm] = []
        self._form: RenderedForm | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: dict | None = None
        self._submitted = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = RenderedForm(
                a.get("action") or "", (a.get("method") or "get").lower(), a.get("enctype") or ""
            )
            self._submitted = False
            self.forms.append(self._form)
            return
        if self._form is None or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if name:
                    self._form.choices.add(name)
                if name and "checked" in a:
                    self._form.fields.append((name, a.get("value", "on")))
            elif kind in ("submit", "image"):
                self._submit(name, a.get("value", ""))
            elif kind in ("button", "reset"):
                pass
            elif kind == "file":
                if name:
                    self._form.fields.append((name, FILE))
            elif name:
                self._form.fields.append((name, _as_sent(a.get("value", ""))))
        elif tag == "button":
            if (a.get("type") or "submit").lower() == "submit":
                self._submit(name, a.get("value", ""))
        elif tag == "select" and name:
            self._form.choices.add(name)
            self._select = {"name": name, "multiple": "multiple" in a, "options": []}
        elif tag == "option" and self._select is not None:
            self._option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self._select["options"].append(self._option)
        elif tag == "textarea" and name:
            self._textarea = {"name": name, "text": ""}

    def _submit(self, name, value):
        """The first submit button is the one pressed; only a named one is sent."""
        if not self._submitted:
            self._submitted = True
            if name:
                self._form.fields.append((name, value))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["text"] += data
        elif self._option is not None:
            self._option["text"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            options = self._select["options"]
            chosen = [o for o in options if o["selected"]]
            if not self._select["multiple"]:
                chosen = chosen[-1:] or options[:1]  # a plain select always sends one option
            for option in chosen:
                value = option["value"] if option["value"] is not None else option["text"].strip()
                self._form.fields.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = self._textarea["text"].replace("\r\n", "\n")  # as the HTML tokenizer does
            if text.startswith("\n"):  # the newline right after <textarea> is not content
                text = text[1:]
            text = _as_sent(text)
            self._form.fields.append((self._textarea["name"], text))
            self._textarea = None


def _as_sent(value: str) -> str:
    """A value with every line break as CRLF, as browsers send them (HTML's entry list)."""
    return value.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\r\n")


def forms_of(html: str) -> list[RenderedForm]:
    """Return the forms of ``html`` as a browser would submit them."""
    parser = FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms
