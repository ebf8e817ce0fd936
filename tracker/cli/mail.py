"""`tracker reminders` and `tracker outbox`: the weekly digests and the outbox by hand."""

from __future__ import annotations

import click


@click.group("reminders")
def reminders_group() -> None:
    """Preview and send the weekly reminders."""


@reminders_group.command("preview")
@click.option("--body", "body_slug", default=None, help="Only this body (slug).")
def reminders_preview(body_slug: str | None) -> None:
    """Print what this week's digests would say."""
    import sqlalchemy as sa

    from tracker.domain.models import Body
    from tracker.extensions import db
    from tracker.services import reminders

    if (
        body_slug is not None
        and db.session.scalar(sa.select(Body.id).where(Body.slug == body_slug)) is None
    ):
        raise click.BadParameter(f"no body has the slug {body_slug!r}", param_hint="--body")
    digests = reminders.build_digests(body_slug=body_slug)
    if not digests:
        click.echo(
            "No body has open demands or next steps (or all are paused): nothing would be sent."
        )
    for digest, subject, text, _html in reminders.render_digests(digests):
        click.echo("=" * 78)
        click.echo(f"To: {', '.join(digest.to)}")
        if digest.cc:
            click.echo(f"Cc: {', '.join(digest.cc)}")
        click.echo(f"Subject: {subject}\n")
        click.echo(text)


@reminders_group.command("send")
def reminders_send() -> None:
    """Write this week's digests (once per week and body) and deliver the outbox."""
    from tracker.domain.workdays import today
    from tracker.jobs import sender
    from tracker.jobs.scheduler import WEEKLY
    from tracker.services import reminders
    from tracker.transactions import commit

    week = reminders.iso_week(today())
    reminders.claim(WEEKLY, week)  # a scheduler firing later this week then writes nothing
    # a count, not the rows: every commit of the sender would expire rows still held
    written = len(reminders.write_week(by="command"))  # with the staff notice of the week
    commit()  # the claim and the digests together
    sent = sender.flush()
    click.echo(
        f"{written} new digests for {week}; sent {sent['sent']}, "
        f"to retry {sent['retry']}, failed {sent['failed']}."
    )


@click.group("outbox")
def outbox_group() -> None:
    """Deliver the e-mail outbox."""


@outbox_group.command("flush")
@click.option(
    "--all",
    "all_pending",
    is_flag=True,
    help="Deliver every pending message now, also those waiting for a retry (SMTP is back).",
)
def outbox_flush(all_pending: bool) -> None:
    """Deliver pending messages that are due (--all: every pending message, now)."""
    from tracker.jobs import sender

    sent = sender.flush(ignore_backoff=all_pending)
    click.echo(f"sent {sent['sent']}, to retry {sent['retry']}, failed {sent['failed']}.")
