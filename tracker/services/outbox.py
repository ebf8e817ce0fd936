"""The outbox: every e-mail is first a row; a sender delivers due rows exactly once.

Rows are claimed with a conditional UPDATE (pending -> sending) before anything goes out, so two
senders running at once never deliver the same row. A failed delivery goes back to pending with a
growing delay; a digest whose week is over expires instead of arriving late. Nothing here commits:
``tracker.jobs.sender`` does, once per message, so at most one row per SMTP connection is uncertain.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.charset import BASE64, Charset
from email.header import Header
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import Compat32, EmailPolicy
from email.utils import format_datetime, getaddresses
from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, get_translations
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError

from tracker.domain import labels, rules
from tracker.domain.models import OutboxMessage, TimelineEntry, utcnow
from tracker.extensions import db, upsert

log = logging.getLogger(__name__)

BACKOFF = (
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=6),
    dt.timedelta(hours=12),
    dt.timedelta(hours=24),
)
MAX_ATTEMPTS = 8
# A row left in 'sending' this long belongs to a sender that died mid-delivery: whether it went
# out is unknown, so it is marked failed for staff to check rather than risk sending it twice.
STUCK_AFTER = dt.timedelta(minutes=15)


def render(template: str, **context) -> tuple[str, str]:
    """Render ``templates/email/<template>.txt`` and ``.html``."""
    context = {**template_gettext(), **context}
    return (
        render_template(f"email/{template}.txt", **context),
        render_template(f"email/{template}.html", **context),
    )


def template_gettext() -> dict:
    """Return ``gettext`` and ``ngettext`` for templates, bound to the current catalogue.

    Passed in a template's context they stand in for flask-babel's, which look the catalogue
    up again (app, locale, cache) for every string; a run that renders many e-mails in one
    locale looks it up once. They behave as Jinja's new-style ones: the translation, marked
    safe under autoescaping, is always formatted with the variables (which get escaped).
    """
    translations = get_translations()

    @pass_context
    def gettext(context, string, **variables):
        text = translations.ugettext(string)
        if context.eval_ctx.autoescape:
            text = Markup(text)
        if not variables and "%" not in text:  # formatting would return it unchanged
            return text
        return text % variables

    @pass_context
    def ngettext(context, singular, plural, num, **variables):
        variables.setdefault("num", num)
        text = translations.ungettext(singular, plural, num)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables

    return {"gettext": gettext, "ngettext": ngettext}


def queue_mail(key: str, template: str, subject, context: dict, **fields) -> OutboxMessage | None:
    """Render ``template`` with ``context`` and the (lazy) ``subject`` in German, and queue it.

    ``fields`` are ``queue``'s (kind, to, body_id …); returns what ``queue`` returns.
    """
    with force_locale("de"):
        text, html = render(template, **context)
        subject = str(subject)
    return queue(key, subject=subject, text=text, html=html, **fields)


def queue(
    key: str,
    *,
    kind: str,
    to: list[str],
    subject: str,
    text: str,
    html: str = "",
    cc: list[str] | None = None,
    body_id: int | None = None,
    expires_at: dt.datetime | None = None,
    data: dict | None = None,
) -> OutboxMessage | None:
    """Add a message unless one with ``key`` exists; return it, or None if it existed."""
    if db.session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.key == key)):
        return None
    message = OutboxMessage(
        key=key,
        kind=kind,
        to=list(to),
        cc=list(cc or []),
        subject=one_line(subject),
        text=text,
        html=html,
        body_id=body_id,
        expires_at=expires_at,
        data=data or {},
        next_attempt_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:  # another process queued the same key meanwhile
        return None
    return message


def one_line(subject: str) -> str:
    """The subject on one line (a line break in a header is refused when sending), cut to fit."""
    return " ".join(subject.split())[: rules.SUBJECT_MAX]


def queue_many(rows: list[dict]) -> list[OutboxMessage]:
    """Add many messages (``queue``'s fields, with ``key``) in one statement; return the new ones.

    A key that exists already (also one another process queued meanwhile) is skipped, as in
    ``queue``: the insert does nothing on a conflict of the unique key.
    """
    if not rows:
        return []
    dialect = db.engine.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        return [m for row in rows if (m := queue(**row)) is not None]
    insert = upsert(OutboxMessage)
    now = utcnow()
    values = [
        {
            "html": "",
            "cc": [],
            "data": {},
            **row,
            "subject": one_line(row["subject"]),
            "next_attempt_at": now,
        }
        for row in rows
    ]
    statement = insert.on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage)
    return list(db.session.scalars(statement, values))


class _PlainURLHeaders:
    """A policy whose URL headers stay one plain line.

    The email package folds a long ``List-Unsubscribe`` (into RFC 2047 encoded words, or onto
    a continuation line), which no mail client resolves to a link; RFC 2369 wants the
    ``<https://…>`` as it is (ASCII anyway).
    """

    PLAIN = frozenset({"list-unsubscribe", "list-unsubscribe-post", "list-id"})

    def fold(self, name, value):
        if name.lower() in self.PLAIN:
            return f"{name}: {value}{self.linesep}"
        return super().fold(name, value)

    def fold_binary(self, name, value):
        if name.lower() in self.PLAIN:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


class _MailPolicy(_PlainURLHeaders, EmailPolicy):
    """The default policy, but URL headers stay one plain line."""


class _LegacyMailPolicy(_PlainURLHeaders, Compat32):
    """The legacy ``email.mime`` policy, but URL headers stay one plain line.

    A short ASCII header is written as it is: ``Compat32`` would run it through ``Header``'s
    folding in Python only to get the same line back. Only the subject may be non-ASCII (the
    addresses are ASCII on this path): it becomes UTF-8 encoded words.
    """

    def _fold(self, name, value, sanitize):
        if not isinstance(value, str) or "\n" in value or "\r" in value:
            return super()._fold(name, value, sanitize)
        limit = self.max_line_length or 78
        if not value.isascii():  # a subject: base64 words (Header would try both encodings)
            words = Header(value, _BASE64_UTF8, header_name=name)
            return f"{name}: {words.encode(linesep=self.linesep, maxlinelen=limit)}{self.linesep}"
        if len(name) + len(value) + 2 <= limit:
            return f"{name}: {value}{self.linesep}"
        return super()._fold(name, value, sanitize)


_BASE64_UTF8 = Charset("utf-8")
_BASE64_UTF8.header_encoding = BASE64


POLICY = _MailPolicy()
LEGACY_POLICY = _LegacyMailPolicy()
_LEGACY_SMTP_POLICY = LEGACY_POLICY.clone(linesep="\r\n")


@lru_cache(maxsize=8)
def _envelope_sender(from_header: str) -> str:
    """The address in a From header (``Name <address>``), as smtplib's send_message takes it."""
    return getaddresses([from_header])[0][1]


@lru_cache(maxsize=8)
def _list_host(base_url: str) -> str:
    """The site's host name for List-Id, in ASCII (an umlaut domain in its IDNA form)."""
    host = urlsplit(base_url).hostname or "forderungstracker.invalid"
    return host.encode("idna").decode("ascii")


def _message_id(message) -> str:
    """The row's Message-ID, the same at every attempt: a row sent again after an uncertain
    delivery that did arrive is the same message to the recipient's server and mail client.
    The key's digest keeps ids apart across databases that count rows alike."""
    digest = hashlib.blake2b(f"{message.id}:{message.key}".encode(), digest_size=6).hexdigest()
    return f"<outbox-{message.id}.{digest}@{_list_host(current_app.config['BASE_URL'])}>"


def _headers(message) -> list[tuple[str, str]]:
    """The headers of ``message`` besides the MIME ones, in the order they are written."""
    headers = [
        ("Subject", message.subject),
        ("From", current_app.config["MAIL_FROM"]),
        ("To", ", ".join(message.to)),
    ]
    if message.cc:
        headers.append(("Cc", ", ".join(message.cc)))
    headers += [
        ("Date", format_datetime(utcnow())),
        ("Message-ID", _message_id(message)),
        ("X-Tracker-Key", message.key),
        ("Auto-Submitted", "auto-generated"),  # RFC 3834: no vacation replies, please
    ]
    if message.kind == "digest":
        host = _list_host(current_app.config["BASE_URL"])
        headers.append(("List-Id", f"Erinnerungen des Forderungstrackers <erinnerungen.{host}>"))
    one_click = message.data.get("one_click_url")
    if one_click:  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to this address
        headers.append(("List-Unsubscribe", f"<{one_click}>"))
        headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    elif message.data.get("unsubscribe_url"):  # rows queued before one-click existed
        headers.append(("List-Unsubscribe", f"<{message.data['unsubscribe_url']}>"))
    return headers


def build_email(message: OutboxMessage | Outgoing) -> Message:
    """Turn an outbox row (or a claimed one) into a MIME message with text and HTML parts.

    The legacy ``email.mime`` classes with UTF-8 quoted-printable bodies encoded in C
    (``binascii``) cost a fraction of ``EmailMessage``'s header parsing and encoding
    heuristics; addresses outside ASCII (an internationalised mailbox) take that modern path.
    """
    headers = _headers(message)
    if not all(value.isascii() for name, value in headers if name != "Subject"):
        return _build_modern(message, headers)
    parts = [_text_part("plain", message.text)]
    if message.html:
        parts.append(_text_part("html", message.html))
    if len(parts) > 1:
        # "=_" never occurs in quoted-printable text (it writes "=" as "=3D"): with this
        # boundary the generator need not search both parts for a collision (a regex each)
        boundary = f"=_{secrets.token_hex(12)}"
        email = MIMEMultipart(
            "alternative", boundary=boundary, _subparts=parts, policy=LEGACY_POLICY
        )
    else:
        email = parts[0]
        email["MIME-Version"] = "1.0"  # one, at the top (RFC 2045)
    for name, value in headers:
        email[name] = value  # a non-ASCII subject becomes UTF-8 encoded words when written
    return email


def _text_part(subtype: str, text: str) -> MIMENonMultipart:
    """A UTF-8 text part, quoted-printable (encoded by ``binascii``, in C)."""
    part = MIMENonMultipart("text", subtype, policy=LEGACY_POLICY, charset="utf-8")
    del part["MIME-Version"]  # one, at the top of the message (RFC 2045)
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(binascii.b2a_qp(text.encode("utf-8"), istext=True).decode("ascii"))
    return part


def _build_modern(message, headers: list[tuple[str, str]]) -> EmailMessage:
    """Build the message with ``EmailMessage``, which encodes non-ASCII addresses too."""
    email = EmailMessage(policy=POLICY)
    for name, value in headers:
        email[name] = value
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
        for part in email.iter_parts():  # one MIME-Version, at the top (RFC 2045)
            del part["MIME-Version"]
    return email


@dataclass
class SMTPSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    ssl: bool
    starttls: bool
    timeout: float

    @classmethod
    def from_url(cls, url: str) -> SMTPSettings:
        """Parse ``smtp://user:pass@host:587?starttls=1`` or ``smtps://host:465``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("TRACKER_SMTP_URL must start with smtp:// or smtps://")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        use_ssl = parts.scheme == "smtps" or query.get("ssl") in ("1", "true")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if use_ssl else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ssl=use_ssl,
            starttls=query.get("starttls") in ("1", "true"),
            timeout=float(query.get("timeout", 30)),
        )


class _KeepsReply:
    """Keep the server's answer to DATA (smtplib's sendmail drops it): staff see it per row."""

    last_data_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg):
        self.last_data_reply = super().data(msg)
        return self.last_data_reply


class _SMTP(_KeepsReply, smtplib.SMTP):
    pass


class _SMTP_SSL(_KeepsReply, smtplib.SMTP_SSL):
    pass


class Transport:
    """Delivers MIME messages over SMTP, or into .eml files when no SMTP is configured."""

    def __init__(self, smtp_url: str, mail_dir: str):
        self.settings = SMTPSettings.from_url(smtp_url) if smtp_url else None
        self.mail_dir = Path(mail_dir)
        self.connection: smtplib.SMTP | None = None

    @property
    def name(self) -> str:
        return "smtp" if self.settings else "file"

    def send(self, message: OutboxMessage, email: EmailMessage) -> str:
        """Deliver ``email``; return what the server answered (or where the file went)."""
        if self.settings is None:
            self.mail_dir.mkdir(parents=True, exist_ok=True)
            path = self.mail_dir / f"{message.id:06d}-{message.kind}.eml"
            path.write_bytes(bytes(email))
            return f"file {path.name}"
        if self.connection is None:
            self.connection = self._connect()
        if isinstance(email, EmailMessage):  # non-ASCII addresses: smtplib decides on SMTPUTF8
            self.connection.send_message(email)
        else:  # ASCII headers: the row names the recipients, no header needs parsing
            data = email.as_bytes(policy=_LEGACY_SMTP_POLICY)  # as send_message flattens it
            self.connection.sendmail(_envelope_sender(email["From"]), message.to + message.cc, data)
        code, reply = self.connection.last_data_reply
        return f"{code} {reply.decode(errors='replace')}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        # loading the CA certificates takes tens of milliseconds: only for TLS
        context = ssl.create_default_context() if s.ssl or s.starttls else None
        if s.ssl:
            connection = _SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            connection = _SMTP(s.host, s.port, timeout=s.timeout)
            if s.starttls:
                connection.starttls(context=context)
        if s.username:
            connection.login(s.username, s.password or "")
        return connection

    def reset(self) -> None:
        """Drop the connection after an error so that the next row reconnects."""
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self.connection = None

    close = reset


@dataclass(frozen=True)
class Outgoing:
    """A claimed row as the sender needs it: read once with the claim, never reloaded."""

    id: int
    key: str
    kind: str
    to: list[str]
    cc: list[str]
    subject: str
    text: str
    html: str
    body_id: int | None
    attempts: int
    data: dict


_OUTBOX = OutboxMessage.__table__
_OUTGOING = [_OUTBOX.c[name] for name in Outgoing.__dataclass_fields__]


def claim_next(token: str, now: dt.datetime, *, ignore_backoff: bool = False) -> Outgoing | None:
    """Move the next due row from pending to sending for this sender and return it, or None.

    One statement: PostgreSQL locks the row it picks and skips those another sender holds
    (SKIP LOCKED); on SQLite writers are serialised, and the ``status = 'pending'`` condition
    claims a row for one sender only. ``ignore_backoff`` also takes rows whose retry is not due,
    but only those no sender of this flush (``now``) has tried: one attempt per flush.
    The claim returns the row's columns (Core, no ORM object): the commit after it expires
    nothing that would have to be loaded again.
    """
    due, claim = _claim_statements(db.engine.dialect.name, ignore_backoff)
    params = {"token": token, "now": now}
    for _ in range(5):  # another sender may take the row between pick and claim: pick again
        row = db.session.execute(claim, params).first()
        if row is not None:
            return Outgoing(*row)
        if db.session.scalar(due, params) is None:
            return None
    return None


def count_due(now: dt.datetime, at_most: int, *, ignore_backoff: bool = False) -> int:
    """Count the rows ``claim_next`` would take now, up to ``at_most``."""
    due = _due(ignore_backoff).limit(at_most).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(due), {"now": now})


def _due(ignore_backoff: bool) -> sa.Select:
    """The rows a sender may take (``now``, the flush's time, is a parameter).

    Ignoring the backoff, a row that failed in this flush is back in pending at once: it keeps
    the time it was claimed (``now``), which is how every connection of the flush, whichever
    transaction it sees, knows to leave it for the next flush.
    """
    due = sa.select(_OUTBOX.c.id).where(_OUTBOX.c.status == "pending")
    if ignore_backoff:
        claimed = _OUTBOX.c.claimed_at
        return due.where(sa.or_(claimed.is_(None), claimed < sa.bindparam("now")))
    return due.where(_OUTBOX.c.next_attempt_at <= sa.bindparam("now"))


@lru_cache(maxsize=4)
def _claim_statements(dialect: str, ignore_backoff: bool):
    """Build the pick and the claim once (they run for every message): token and now are
    parameters."""
    due = _due(ignore_backoff)
    due = due.order_by(_OUTBOX.c.next_attempt_at, _OUTBOX.c.id).limit(1)
    if dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claim = (
        sa.update(_OUTBOX)
        .where(_OUTBOX.c.id == due.scalar_subquery(), _OUTBOX.c.status == "pending")
        .values(status="sending", claimed_by=sa.bindparam("token"), claimed_at=sa.bindparam("now"))
        .returning(*_OUTGOING)
    )
    return due, claim


UNCERTAIN = (
    "Zustellung unterbrochen: ob der Server die Nachricht angenommen hat, ist unbekannt; "
    "bitte prüfen."
)


def expire_and_unstick(now: dt.datetime) -> None:
    """Expire digests whose week is over; mark rows a dead sender left in 'sending' uncertain."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.expires_at.is_not(None),
            OutboxMessage.expires_at <= now,
        )
        .values(status="expired", last_error="Die Woche war vorbei, bevor die Nachricht ankam.")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - STUCK_AFTER)
        .values(status="failed", last_error=UNCERTAIN)
        .execution_options(synchronize_session=False)
    )


def is_uncertain(message: OutboxMessage) -> bool:
    """Tell whether a sender died while delivering this row (it may or may not have arrived)."""
    return message.status == "failed" and message.last_error == UNCERTAIN


def mark_failed(message: Outgoing, error: Exception, now: dt.datetime) -> str:
    """Book a refused or failed delivery: back to pending after a growing delay, or failed.

    Return the row's new status.
    """
    attempts = message.attempts + 1
    values = {  # claimed_at stays: when this attempt began (see _due)
        "attempts": attempts,
        "last_error": f"{type(error).__name__}: {error}"[:2000],
        "claimed_by": None,
    }
    if attempts >= MAX_ATTEMPTS:
        values["status"] = "failed"
    else:
        values["status"] = "pending"
        values["next_attempt_at"] = now + BACKOFF[min(attempts, len(BACKOFF)) - 1]
    db.session.execute(sa.update(_OUTBOX).where(_OUTBOX.c.id == message.id).values(values))
    log.warning(
        "mail %s (%s) not delivered, attempt %d: %s",
        message.id,
        message.key,
        attempts,
        values["last_error"],
    )
    return values["status"]


def mark_sent(
    message: OutboxMessage | Outgoing,
    transport: str,
    now: dt.datetime,
    reply: str = "",
    *,
    by: str = "",
) -> None:
    """Book a delivered row with the server's reply and its „Erinnerung verschickt“ entries.

    Two statements whatever the row (an UPDATE, one INSERT of its timeline entries); a loaded
    row is refreshed from them when next read.
    """
    extra = {"smtp_reply": reply[:500]} if reply else {}
    if by:
        extra["confirmed_by"] = by[:200]
    db.session.execute(
        _BOOK_SENT,
        {
            "row_id": message.id,
            "new_sent_at": now,
            "new_attempts": message.attempts + 1,
            "new_transport": transport,
            "new_data": {**message.data, **extra},
        },
    )
    if isinstance(message, OutboxMessage):
        db.session.expire(message)
    entries = [
        {
            "demand_id": demand_id,
            "kind": "reminder",
            "is_public": False,
            "created_at": now,
            "body_id": message.body_id,
            "author_name": "Erinnerungsdienst",
            "text": f"{labels.REMINDER_TEXT}{', '.join(message.to + message.cc)}",  # exports
            "data": {
                "outbox_id": message.id,
                "week": message.data.get("week"),
                "recipients": message.to + message.cc,  # the pages name them in their language
            },
        }
        for demand_id in message.data.get("demand_ids", [])
    ]
    if entries:  # Core, one executemany: no ORM objects to make for rows nobody reads here
        db.session.execute(sa.insert(TimelineEntry.__table__), entries)
    log.info("mail %s (%s) sent via %s to %s", message.id, message.key, transport, message.to)


# built once: it runs for every message sent
_BOOK_SENT = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id == sa.bindparam("row_id"))
    .values(
        status="sent",
        sent_at=sa.bindparam("new_sent_at"),
        attempts=sa.bindparam("new_attempts"),
        transport=sa.bindparam("new_transport"),
        last_error="",
        claimed_by=None,
        data=sa.bindparam("new_data"),
    )
)


def retry(message: OutboxMessage) -> None:
    """Put a failed row back in the queue (staff action; for an uncertain row: risk a double)."""
    if message.status == "failed":
        message.status = "pending"
        message.next_attempt_at = utcnow()
        message.claimed_by = None


def confirm_delivered(message: OutboxMessage, user_name: str) -> None:
    """Book an uncertain row as delivered, on staff's word (they checked with the recipient)."""
    if is_uncertain(message):
        mark_sent(message, "manual", utcnow(), by=user_name)
