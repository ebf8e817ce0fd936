"""The domain: events, demands, bodies, contacts, the timeline and staff users."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.domain import rules
from tracker.extensions import db


def utcnow() -> dt.datetime:
    """Return the current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """Store aware datetimes; hand them back aware in UTC on every backend (SQLite drops tzinfo)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime")
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


def limited_text(limit: int):
    """A text column the rules limit to ``limit`` characters (the JSON import checks it too)."""
    return mapped_column(sa.Text, default="", info={"max_length": limit})


demand_topics = sa.Table(
    "demand_topics",
    db.metadata,
    sa.Column("demand_id", sa.ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("topic_id", sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
)


def new_session_token() -> str:
    """Return a fresh random token that every session and remember cookie of a user carries."""
    return secrets.token_hex(16)


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def check_dummy_password(password: str) -> bool:
    """Check ``password`` against a throwaway hash: as slow as a real check, always False."""
    check_password_hash(_dummy_hash(), password)
    return False


class User(UserMixin, db.Model):
    """A LIGA staff member; admins also manage users."""

    __tablename__ = "users"
    ROLES = ("staff", "admin")

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(rules.EMAIL_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(rules.USER_NAME_MAX))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), default="staff")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the id in every session and remember cookie: a new token ends them all.
    session_token: Mapped[str] = mapped_column(sa.String(32), default=new_session_token)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """Return the id Flask-Login keeps in the session and the remember cookie."""
        if not self.session_token:
            self.session_token = new_session_token()
        return f"{self.id}:{self.session_token}"

    def matches_session(self, token: str) -> bool:
        """Tell whether a cookie's token is the user's current one."""
        return bool(self.session_token) and hmac.compare_digest(self.session_token, token)

    def end_sessions(self) -> None:
        """End every session and remember cookie of this user (logout, new password, lock)."""
        self.session_token = new_session_token()

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def set_password(self, password: str) -> None:
        """Store a salted scrypt hash of ``password`` and end the user's other sessions."""
        if rules.password_problem(password):  # every caller checked it (services.users)
            raise ValueError("a password the rules refuse")
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Tell whether ``password`` matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class ApiToken(db.Model):
    """A personal API token of a staff user; only its SHA-256 hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(rules.TOKEN_NAME_MAX))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Event(db.Model):
    """A Veranstaltung where demands were raised."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(rules.SLUG_MAX), unique=True)
    title: Mapped[str] = mapped_column(sa.String(rules.TITLE_MAX))
    date: Mapped[dt.date]
    organiser: Mapped[str] = mapped_column(sa.String(rules.ORGANISER_MAX), default="")
    location: Mapped[str] = mapped_column(sa.String(rules.ORGANISER_MAX), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    # counts the saves: a form loaded before another save is refused (services.errors)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    parts: Mapped[list[EventPart]] = relationship(
        back_populates="event", order_by="EventPart.position", cascade="all, delete-orphan"
    )
    demands: Mapped[list[Demand]] = relationship(back_populates="event")


class EventPart(db.Model):
    """A part of an event: the panel, a workshop, an input."""

    __tablename__ = "event_parts"
    __table_args__ = (sa.UniqueConstraint("event_id", "slug"),)
    KINDS = ("input", "workshop", "panel")

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(sa.String(rules.SLUG_MAX))
    kind: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(rules.TITLE_MAX))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="parts")


class Topic(db.Model):
    """A subject a demand belongs to, for filtering."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(rules.SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(rules.TOPIC_NAME_MAX))


class Body(db.Model):
    """A Stelle: a ministry or authority that demands are addressed to."""

    __tablename__ = "bodies"
    KINDS = ("ministry", "authority", "other")

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(rules.SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(sa.String(rules.TITLE_MAX))
    short_name: Mapped[str] = mapped_column(sa.String(rules.SHORT_NAME_MAX), default="")
    kind: Mapped[str] = mapped_column(sa.String(20), default="ministry")
    description: Mapped[str] = limited_text(rules.DESCRIPTION_MAX)
    # Agreed rhythm of meetings with the LIGA in weeks (13 = quarterly); None: none agreed.
    dialogue_rhythm_weeks: Mapped[int | None] = mapped_column()
    # How letters address it after „an“ (accusative, with articles), e.g. „die Staatskanzlei und
    # das Ministerium für Kultur …“; empty: the plain name.
    name_accusative: Mapped[str] = mapped_column(
        sa.String(rules.NAME_ACCUSATIVE_MAX), default="", server_default=""
    )
    short_accusative: Mapped[str] = mapped_column(
        sa.String(rules.SHORT_ACCUSATIVE_MAX), default="", server_default=""
    )

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="body",
        order_by="(Contact.escalation_level, Contact.id)",
        cascade="all, delete-orphan",
    )
    assignments: Mapped[list[Assignment]] = relationship(back_populates="body")
    pauses: Mapped[list[ReminderPause]] = relationship(
        back_populates="body", order_by="ReminderPause.starts_on", cascade="all, delete-orphan"
    )

    @property
    def label(self) -> str:
        return self.short_name or self.name

    @property
    def to_name(self) -> str:
        """The full name as it follows „an“: „an das Ministerium für …“."""
        return self.name_accusative or self.name

    @property
    def to_label(self) -> str:
        """The short name as it follows „an“: „an das Sozialministerium“."""
        return self.short_accusative or (self.label if self.short_name else self.to_name)


class Contact(db.Model):
    """An e-mail address at a body, with its escalation level."""

    __tablename__ = "contacts"
    LEVELS = (1, 2, 3)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(rules.NAME_MAX))
    email: Mapped[str] = mapped_column(sa.String(rules.EMAIL_MAX))
    escalation_level: Mapped[int] = mapped_column(default=1)

    body: Mapped[Body] = relationship(back_populates="contacts")


class Demand(db.Model):
    """A Forderung, moved through the workflow in ``tracker.domain.workflow``."""

    __tablename__ = "demands"
    __table_args__ = (sa.Index("ix_demands_public_state", "is_public", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(rules.TITLE_MAX))
    text: Mapped[str] = limited_text(rules.TEXT_MAX)
    event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    event_part_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("event_parts.id", ondelete="SET NULL")
    )
    state: Mapped[str] = mapped_column(sa.String(20), default="raised", index=True)
    state_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str | None] = mapped_column(sa.String(30))
    is_public: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    # The earlier demand this one raises again (at a later event); see services.repeats.
    repeats_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("demands.id", ondelete="SET NULL"), index=True
    )

    __mapper_args__ = {"version_id_col": version}

    event: Mapped[Event | None] = relationship(back_populates="demands")
    event_part: Mapped[EventPart | None] = relationship()
    topics: Mapped[list[Topic]] = relationship(secondary=demand_topics, order_by="Topic.name")
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="demand",
        cascade="all, delete-orphan",
        order_by="(Assignment.role.desc(), Assignment.body_id)",
    )
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="demand",
        order_by="(TimelineEntry.created_at, TimelineEntry.id)",
        passive_deletes="all",
    )
    repeats: Mapped[Demand | None] = relationship(remote_side="Demand.id")

    @property
    def lead_bodies(self) -> list[Body]:
        return [a.body for a in self.assignments if a.role == "lead"]

    @property
    def involved_bodies(self) -> list[Body]:
        return [a.body for a in self.assignments if a.role == "involved"]


class Assignment(db.Model):
    """A body responsible for a demand, as lead or involved."""

    __tablename__ = "assignments"
    ROLES = ("lead", "involved")

    demand_id: Mapped[int] = mapped_column(
        sa.ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True
    )
    body_id: Mapped[int] = mapped_column(
        sa.ForeignKey("bodies.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(sa.String(20), default="lead")
    # When the body last confirmed through its answer link that the demand is still being worked on.
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the body gave through its answer link: its file reference and the date by which it
    # commits to answer (that demand's target date for this body); the statement keeps the trace.
    file_reference: Mapped[str | None] = mapped_column(sa.String(rules.FILE_REFERENCE_MAX))
    committed_until: Mapped[dt.date | None]

    demand: Mapped[Demand] = relationship(back_populates="assignments")
    body: Mapped[Body] = relationship(back_populates="assignments")


class TimelineEntry(db.Model):
    """One append-only step in a demand's history: who, when, what, before and after."""

    __tablename__ = "timeline_entries"
    __table_args__ = (sa.Index("ix_timeline_demand_created", "demand_id", "created_at"),)
    KINDS = (
        "created",
        "edited",
        "assigned",
        "transition",
        "update",
        "statement",
        "confirmation",
        "reminder",
        "classification",
        "recheck",
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demands.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(sa.String(rules.NAME_MAX), default="")
    body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bodies.id", ondelete="SET NULL"))
    is_public: Mapped[bool] = mapped_column(default=True)
    trigger: Mapped[str | None] = mapped_column(sa.String(30))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str | None] = mapped_column(sa.String(20))
    text: Mapped[str] = mapped_column(sa.Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    demand: Mapped[Demand] = relationship(back_populates="timeline")
    author: Mapped[User | None] = relationship()
    body: Mapped[Body | None] = relationship()


class FormerSlug(db.Model):
    """An address a body had before it got a new one: links to it lead on to the body's page.

    A slug is either a body's now or one body's former one, never both: no other body may take
    it (the links out there mean this one), and the body itself may take it back.
    """

    __tablename__ = "body_former_slugs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(rules.SLUG_MAX), unique=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), index=True)
    retired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderPause(db.Model):
    """A period in which a body gets no weekly reminder (e.g. agreed during a reorganisation)."""

    __tablename__ = "reminder_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(sa.String(rules.REASON_MAX), default="")

    body: Mapped[Body] = relationship(back_populates="pauses")


class OutboxMessage(db.Model):
    """An e-mail waiting to be sent, or the record of one sent; the key makes each unique."""

    __tablename__ = "outbox"
    __table_args__ = (sa.Index("ix_outbox_status_next", "status", "next_attempt_at"),)
    STATUSES = ("pending", "sending", "sent", "failed", "expired")

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30))
    body_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bodies.id", ondelete="SET NULL"), index=True
    )
    to: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    cc: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    subject: Mapped[str] = mapped_column(sa.String(rules.SUBJECT_MAX))
    text: Mapped[str] = mapped_column(sa.Text)
    html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    claimed_by: Mapped[str | None] = mapped_column(sa.String(64))
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    transport: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    body: Mapped[Body | None] = relationship()


class Subscription(db.Model):
    """Someone following a demand by e-mail: confirmed by double opt-in, ended by one click."""

    __tablename__ = "subscriptions"
    __table_args__ = (sa.UniqueConstraint("demand_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(sa.ForeignKey("demands.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(sa.String(rules.EMAIL_MAX))
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    demand: Mapped[Demand] = relationship()

    @property
    def active(self) -> bool:
        return self.confirmed_at is not None and self.ended_at is None


class JobRun(db.Model):
    """A claim that a scheduled job ran for one period; the unique key stops a second run."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(50))
    period: Mapped[str] = mapped_column(sa.String(20))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(sa.String(300), default="")


consultation_demands = sa.Table(
    "consultation_demands",
    db.metadata,
    sa.Column(
        "consultation_id", sa.ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True
    ),
    sa.Column("demand_id", sa.ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True),
)


class Consultation(db.Model):
    """A Beteiligungsverfahren: a body asks the LIGA for a statement on a draft by a deadline.

    ``consulted`` False records a measure introduced without consulting the LIGA (date learned,
    source) instead.
    """

    __tablename__ = "consultations"
    KINDS = ("law", "ordinance", "measure")

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="law")
    title: Mapped[str] = mapped_column(sa.String(rules.TITLE_MAX))
    url: Mapped[str] = mapped_column(sa.String(rules.URL_MAX), default="")
    consulted: Mapped[bool] = mapped_column(default=True)
    received_on: Mapped[dt.date | None] = mapped_column()
    deadline_on: Mapped[dt.date | None] = mapped_column()
    learned_on: Mapped[dt.date | None] = mapped_column()
    source: Mapped[str] = mapped_column(sa.String(rules.URL_MAX), default="")
    statement_on: Mapped[dt.date | None] = mapped_column()
    statement_text: Mapped[str] = limited_text(rules.TEXT_MAX)
    statement_url: Mapped[str] = mapped_column(sa.String(rules.URL_MAX), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # as Event.version

    body: Mapped[Body] = relationship()
    demands: Mapped[list[Demand]] = relationship(
        secondary=consultation_demands, order_by="Demand.id"
    )

    @property
    def date(self) -> dt.date | None:
        """The date that places it in time: received, or learned of."""
        return self.received_on if self.consulted else self.learned_on


class Meeting(db.Model):
    """A Gespräch between the LIGA and a body, with its public summary and agreed next steps."""

    __tablename__ = "meetings"
    FORMATS = ("in_person", "video", "phone", "hybrid")

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(sa.ForeignKey("bodies.id", ondelete="CASCADE"), index=True)
    held_on: Mapped[dt.date]
    format: Mapped[str] = mapped_column(sa.String(20), default="in_person")
    participants: Mapped[str] = limited_text(rules.TEXT_MAX)
    topics: Mapped[str] = limited_text(rules.TEXT_MAX)
    summary: Mapped[str] = limited_text(rules.TEXT_MAX)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default="1")  # as Event.version

    body: Mapped[Body] = relationship()
    next_steps: Mapped[list[NextStep]] = relationship(
        back_populates="meeting",
        order_by="(NextStep.position, NextStep.id)",
        cascade="all, delete-orphan",
    )


class NextStep(db.Model):
    """A next step agreed in a meeting: tracked until done, with a due date and who does it."""

    __tablename__ = "next_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        sa.ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    text: Mapped[str] = mapped_column(sa.String(rules.STEP_MAX))
    due_on: Mapped[dt.date | None] = mapped_column()
    # the responsible body; None: the LIGA itself
    body_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("bodies.id", ondelete="SET NULL"), index=True
    )
    done_on: Mapped[dt.date | None] = mapped_column()

    meeting: Mapped[Meeting] = relationship(back_populates="next_steps")
    body: Mapped[Body | None] = relationship()

    @property
    def is_done(self) -> bool:
        return self.done_on is not None


class DataVersion(db.Model):
    """A table's version: its token changes with every commit that writes to that table.

    The page cache keeps each page with the versions of the tables it read and serves it while
    they are unchanged (tracker/web/page_cache.py); tracker/transactions.py renews the rows of
    the tables a transaction wrote inside that transaction, so every worker sees it at once.
    """

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # the table's name
    token: Mapped[str] = mapped_column(sa.String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@sa.event.listens_for(TimelineEntry, "before_update")
@sa.event.listens_for(TimelineEntry, "before_delete")
def _refuse_timeline_change(mapper, connection, target):
    """Keep the timeline append-only."""
    raise ValueError("timeline entries are append-only")
