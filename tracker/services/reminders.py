"""The weekly digest: one e-mail per body with open demands or open next steps agreed with it,
written to the outbox once a week."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, get_translations, gettext, ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, selectinload

from tracker.domain import workflow
from tracker.domain.labels import role_label
from tracker.domain.models import Assignment, Body, Demand, JobRun, NextStep, OutboxMessage, utcnow
from tracker.domain.workdays import BERLIN, today
from tracker.extensions import db
from tracker.services import answer_links, outbox, queries
from tracker.services.links import external_urls
from tracker.services.progress import Progress, progress_of

WEEKLY = "weekly-digest"  # the job name the weekly run claims its ISO week under


def iso_week(day: dt.date) -> str:
    """Return the ISO week of ``day`` as '2026-W48'."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_end(day: dt.date) -> dt.datetime:
    """Return the moment the ISO week of ``day`` ends (Monday 00:00 after it, Berlin time)."""
    monday = day - dt.timedelta(days=day.weekday())
    return dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(), BERLIN).astimezone(dt.UTC)


@dataclass
class DigestItem:
    demand: Demand
    role: str
    progress: Progress
    escalation: int  # 1 = nobody extra, 2 = head of unit in copy, 3 = state secretary too
    # the date the body committed to answer by: then the target of this item
    committed_until: dt.date | None = None


@dataclass
class Digest:
    """What one body's weekly reminder says, and to whom it goes."""

    body: Body
    week: str
    items: list[DigestItem] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    next_steps: list = field(default_factory=list)  # open steps agreed in meetings (NextStep)
    on: dt.date = field(default_factory=today)  # the day the digest is built for

    @property
    def overdue(self) -> list[DigestItem]:
        return [i for i in self.items if i.progress.overdue]

    @property
    def overdue_note(self) -> str:
        """Say how many of the listed demands are overdue: none (''), one, some or all."""
        num, total = len(self.overdue), len(self.items)
        if not num:
            return ""
        if num < total:
            return ngettext("%(num)d davon ist überfällig.", "%(num)d davon sind überfällig.", num)
        if total == 1:
            return gettext("Sie ist überfällig.")
        return gettext("Alle %(num)d sind überfällig.", num=num)

    def step_overdue(self, step: NextStep) -> bool:
        """Tell whether an open next step is past its due date (the rule of /dialog)."""
        from tracker.services.meetings import is_step_overdue

        return is_step_overdue(step, self.on)

    @property
    def key(self) -> str:
        return f"digest:{self.body.slug}:{self.week}"

    @property
    def subject(self) -> str:
        if not self.items:  # only next steps agreed in meetings are open
            return ngettext(
                "%(body)s: %(num)d offener nächster Schritt aus Gesprächen mit der LIGA – "
                "Erinnerung KW %(week)s",
                "%(body)s: %(num)d offene nächste Schritte aus Gesprächen mit der LIGA – "
                "Erinnerung KW %(week)s",
                len(self.next_steps),
                body=self.body.label,
                week=self.week.split("-W")[1],
            )
        return ngettext(
            "%(num)d offene Forderung an %(body)s – Erinnerung KW %(week)s",
            "%(num)d offene Forderungen an %(body)s – Erinnerung KW %(week)s",
            len(self.items),
            body=self.body.to_label,
            week=self.week.split("-W")[1],
        )


def is_paused(body: Body, on: dt.date) -> bool:
    """Tell whether the body has agreed a reminder pause covering ``on``."""
    return any(p.starts_on <= on <= p.ends_on for p in body.pauses)


def escalation_level(p: Progress, days: int) -> int:
    """Return which contact level a demand overdue by ``p.overdue_by`` working days brings in."""
    if p.overdue_by > 2 * days:
        return 3
    if p.overdue_by > days:
        return 2
    return 1


def build_digests(on: dt.date | None = None, body_slug: str | None = None) -> list[Digest]:
    """Return this week's digests: every unpaused body with a contact and open public demands
    or open next steps agreed with it in a meeting (issue 13)."""
    on = on or today()
    days = current_app.config["ESCALATION_DAYS"]
    lead = sa.orm.aliased(Assignment)
    lead_commitment = (  # what committed_date(demand) says, without loading its assignments
        sa.select(sa.func.min(lead.committed_until))
        .where(lead.demand_id == Demand.id, lead.role == "lead", lead.committed_until.is_not(None))
        .scalar_subquery()
    )
    stmt = (
        sa.select(Assignment, lead_commitment)
        .join(Assignment.demand)
        .join(Assignment.body)
        .where(*queries.open_and_public())
        .options(  # demand and body come with the join; the body's collections in one query each
            contains_eager(Assignment.demand).load_only(
                Demand.id, Demand.title, Demand.state, Demand.state_changed_at
            ),
            contains_eager(Assignment.body).selectinload(Body.contacts),
            contains_eager(Assignment.body).selectinload(Body.pauses),
        )
        .order_by(Body.name, Demand.id)
    )
    if body_slug:
        stmt = stmt.where(Body.slug == body_slug)
    by_body: dict[int, Digest] = {}
    for assignment, demand_commitment in db.session.execute(stmt):
        body = assignment.body
        if is_paused(body, on) or not body.contacts:
            continue
        digest = by_body.setdefault(body.id, Digest(body, iso_week(on), on=on))
        demand = assignment.demand
        committed = assignment.committed_until or demand_commitment
        p = progress_of(demand.state, demand.state_changed_at, on, committed)
        digest.items.append(
            DigestItem(demand, assignment.role, p, escalation_level(p, days), committed)
        )
    from tracker.services.meetings import open_steps_by_body

    # bodies with open next steps but no open demand get a digest too
    step_bodies = (
        sa.select(Body)
        .where(
            Body.id.in_(sa.select(NextStep.body_id).where(NextStep.done_on.is_(None))),
            Body.id.not_in(list(by_body) or [0]),
        )
        .options(selectinload(Body.contacts), selectinload(Body.pauses))
        .order_by(Body.name)
    )
    if body_slug:
        step_bodies = step_bodies.where(Body.slug == body_slug)
    for body in db.session.scalars(step_bodies):
        if not is_paused(body, on) and body.contacts:
            by_body[body.id] = Digest(body, iso_week(on), on=on)
    steps = open_steps_by_body(list(by_body)) if by_body else {}
    for digest in by_body.values():
        digest.next_steps = steps.get(digest.body.id, [])
        digest.items.sort(key=lambda i: (not i.progress.overdue, -i.progress.waited))
        levels = defaultdict(list)
        for contact in digest.body.contacts:
            levels[contact.escalation_level].append(contact.email)
        first = min(levels)
        digest.to = levels[first]
        needed = max((i.escalation for i in digest.items), default=1)
        digest.cc = [
            e for level in sorted(levels) if first < level <= needed for e in levels[level]
        ]
    return list(by_body.values())


def render_digests(digests: list[Digest]) -> list[tuple[Digest, str, str, str]]:
    """Return each digest with its subject, text and HTML, in German."""
    rendered = []
    with force_locale("de"):  # once for all: switching the locale reloads the catalogue
        expires = answer_links.expiry_date()
        url = external_urls()  # the URL map bound once
        i18n = outbox.template_gettext()  # the catalogue looked up once
        # each link is in the text and the HTML part; a few names and dates recur in many
        demand_url = _once(lambda demand: url("public.demand", demand_id=demand.id))
        names = {
            "state_name": _once(workflow.state_label),
            "role_name": _once(role_label),
            "day": _once(lambda d: format_date(d, "medium") if d else ""),  # the date filter's
        }

        translations = get_translations()
        words = {  # the item's fixed words, translated once for all digests
            "committed": translations.ugettext("Antwort zugesagt bis:"),
            "target": translations.ugettext("Zieldatum:"),
            "broken": translations.ugettext("Zusage überschritten"),
        }

        def item_words(item: DigestItem) -> ItemWords:
            p = item.progress
            late = ""
            if p.overdue:
                late = translations.ungettext(
                    "%(num)d Arbeitstag überfällig", "%(num)d Arbeitstage überfällig", p.overdue_by
                ) % {"num": p.overdue_by}
                if item.committed_until:
                    late = f"{words['broken']}, {late}"
            return ItemWords(
                url=demand_url(item.demand),
                state=names["state_name"](item.demand.state),
                since=translations.ugettext("seit %(date)s") % {"date": names["day"](p.since)},
                waited=translations.ungettext("%(num)d Arbeitstag", "%(num)d Arbeitstage", p.waited)
                % {"num": p.waited},
                target_label=words["committed" if item.committed_until else "target"],
                target=names["day"](p.target),
                late=late,
                role=names["role_name"](item.role),
            )

        for digest in digests:
            text, html = outbox.render(
                "digest",
                digest=digest,
                # what each item says, worded once for the text and the HTML part
                items=[(item, item_words(item)) for item in digest.items],
                answer_url=url("answer.show", token=answer_links.answer_token(digest.body)),
                body_url=url("public.body", slug=digest.body.slug),
                demand_url=demand_url,
                expires=expires,
                **names,
                **i18n,
            )
            rendered.append((digest, digest.subject, text, html))
    return rendered


@dataclass(frozen=True)
class ItemWords:
    """What a digest's text and HTML part say about one item, in words."""

    url: str
    state: str  # the state's name
    since: str  # „seit 3. Nov. 2026“
    waited: str  # „12 Arbeitstage“
    target_label: str  # „Zieldatum:“ or „Antwort zugesagt bis:“
    target: str
    late: str  # empty, or „3 Arbeitstage überfällig“ (after „Zusage überschritten, “)
    role: str


def _once(func):
    """Return ``func`` remembering its result per argument (for one run of renders)."""
    results: dict = {}

    def once(value):
        if value not in results:
            results[value] = func(value)
        return results[value]

    return once


def write_digests(on: dt.date | None = None, by: str = "") -> list:
    """Queue this week's digest for every body; bodies that have one already get nothing new.

    ``by`` says for the reminders page how the run was started (the scheduler, a command, staff).
    """
    on = on or today()
    digests = build_digests(on)
    done = set(
        db.session.scalars(
            sa.select(OutboxMessage.key).where(OutboxMessage.key.in_([d.key for d in digests]))
        )
    )
    rows = [
        {
            "key": digest.key,
            "kind": "digest",
            "to": digest.to,
            "cc": digest.cc,
            "subject": subject,
            "text": text,
            "html": html,
            "body_id": digest.body.id,
            "expires_at": week_end(on),
            "data": {
                "week": digest.week,
                "demand_ids": [i.demand.id for i in digest.items],
                "next_step_ids": [s.id for s in digest.next_steps],
                "written_by": by[:200],
            },
        }
        for digest, subject, text, html in render_digests([d for d in digests if d.key not in done])
    ]
    return outbox.queue_many(rows)  # one statement; a key queued meanwhile is skipped


def write_week(on: dt.date | None = None, by: str = "") -> list:
    """Write this week's digests and the staff notice of due re-checks and passed commitments.

    The scheduler, ``tracker reminders send`` and the staff button all run this; both kinds of
    message are keyed per ISO week, so a second run in the same week writes nothing new.
    """
    from tracker.services import rechecks

    on = on or today()
    written = write_digests(on, by=by)
    rechecks.queue_staff_notice(on, iso_week(on))
    return written


def claim(job: str, period: str) -> bool:
    """Record that ``job`` runs for ``period``; False if it already did (in any process).

    Call it first in a transaction: the claim commits together with what the run writes, so it
    cannot outlive a crash that lost the run's rows. A lost race (PostgreSQL: a second process
    waits for the first one's commit, then fails on the unique key) rolls the transaction back.
    """
    done = sa.select(JobRun.id).where(JobRun.job == job, JobRun.period == period)
    if db.session.scalar(done) is not None:
        return False
    db.session.add(JobRun(job=job, period=period))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def finish(job: str, period: str, result: str) -> None:
    """Note when and how a claimed job run ended."""
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job == job, JobRun.period == period))
    if run is not None:
        run.finished_at, run.result = utcnow(), result[:300]


@dataclass
class BodyWeek:
    """What this week's run means for one body: its digest, or why it gets none."""

    body: Body
    reason: str  # "written", "to_write", "paused", "no_contact", "nothing_open"
    message: OutboxMessage | None = None
    open_count: int = 0
    open_steps: int = 0  # open next steps agreed with the body in meetings
    pause_until: dt.date | None = None


@dataclass
class WeekStatus:
    """When and how this week's digests went out, and which bodies got none and why."""

    week: str
    run: JobRun | None
    bodies: list[BodyWeek]

    def of(self, reason: str) -> list[BodyWeek]:
        return [b for b in self.bodies if b.reason == reason]

    @property
    def messages(self) -> list[OutboxMessage]:
        return [b.message for b in self.bodies if b.message is not None]

    def count(self, status: str) -> int:
        return sum(m.status == status for m in self.messages)

    @property
    def written_by(self) -> list[str]:
        return sorted({m.data.get("written_by", "") for m in self.messages} - {""})


def week_status(on: dt.date | None = None) -> WeekStatus:
    """Tell, per body, whether this week's digest was written (and its state) or why not."""
    on = on or today()
    week = iso_week(on)
    open_counts = dict(
        db.session.execute(
            sa.select(Assignment.body_id, sa.func.count())
            .join(Assignment.demand)
            .where(*queries.open_and_public())
            .group_by(Assignment.body_id)
        ).all()
    )
    step_counts = dict(
        db.session.execute(
            sa.select(NextStep.body_id, sa.func.count())
            .where(NextStep.done_on.is_(None), NextStep.body_id.is_not(None))
            .group_by(NextStep.body_id)
        ).all()
    )
    messages = {
        m.key: m
        for m in db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.kind == "digest", OutboxMessage.key.like(f"digest:%:{week}")
            )
        )
    }
    rows = []
    bodies = db.session.scalars(
        sa.select(Body)
        .options(selectinload(Body.contacts), selectinload(Body.pauses))
        .order_by(Body.name)
    )
    for body in bodies:
        row = BodyWeek(body, "to_write", messages.get(f"digest:{body.slug}:{week}"))
        row.open_count = open_counts.get(body.id, 0)
        row.open_steps = step_counts.get(body.id, 0)
        pause = next((p for p in body.pauses if p.starts_on <= on <= p.ends_on), None)
        if row.message is not None:
            row.reason = "written"
        elif not (row.open_count or row.open_steps):
            row.reason = "nothing_open"
        elif pause is not None:
            row.reason, row.pause_until = "paused", pause.ends_on
        elif not body.contacts:
            row.reason = "no_contact"
        rows.append(row)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job == WEEKLY, JobRun.period == week))
    return WeekStatus(week, run, rows)
