"""The ``tracker`` command: Flask's CLI over ``create_app`` plus our own commands."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup

from . import cli_exchange
from .extensions import db
from .models import User, password_problem


def main() -> None:
    """Run the ``tracker`` command line."""
    from . import create_app

    FlaskGroup(create_app=create_app, help="Forderungstracker der LIGA Sachsen-Anhalt.")()


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(seed_command)
    app.cli.add_command(bootstrap_command)
    app.cli.add_command(users)
    app.cli.add_command(workflow_group)
    app.cli.add_command(reminders_group)
    app.cli.add_command(outbox_group)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(serve_command)
    cli_exchange.init_app(app)


@click.command("seed")
def seed_command() -> None:
    """Load the Fachtag data (idempotent)."""
    from .seed import seed

    added = seed()
    click.echo(f"Fachtag data loaded ({added['demands']} new demands).")


def ensure_admin_from_env() -> User | None:
    """Create the first admin from TRACKER_ADMIN_EMAIL / _PASSWORD when no user exists."""
    email = current_app.config["ADMIN_EMAIL"].strip().lower()
    password = current_app.config["ADMIN_PASSWORD"]
    if not email or not password or db.session.scalar(sa.select(sa.func.count(User.id))):
        return None
    if password_problem(password):
        raise click.ClickException(
            "TRACKER_ADMIN_PASSWORD needs at least 12 characters, not only whitespace"
        )
    user = User(email=email, name="Administrator*in", role="admin")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


@click.command("bootstrap")
@click.option(
    "--dev", is_flag=True, help="Create a demo admin with a random password if no user exists."
)
def bootstrap_command(dev: bool) -> None:
    """Apply migrations, load the Fachtag data into an empty database, create the first admin."""
    from flask_migrate import upgrade

    from .models import Demand
    from .seed import seed

    upgrade()
    if not db.session.scalar(sa.select(sa.func.count(Demand.id))):
        added = seed()
        click.echo(f"Fachtag data loaded ({added['demands']} demands).")
    if ensure_admin_from_env():
        click.echo(f"Admin {current_app.config['ADMIN_EMAIL']} created from the environment.")
    elif dev and not db.session.scalar(sa.select(sa.func.count(User.id))):
        password = secrets.token_urlsafe(12)
        user = User(email="admin@example.org", name="Demo-Admin", role="admin")
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        click.echo("")
        click.echo("  Demo login at /anmelden:  admin@example.org  /  " + password)
        click.echo("  (shown once; change it under /verwaltung/benutzer/)")
        click.echo("")


@click.group("users")
def users() -> None:
    """Manage staff accounts."""


@users.command("add")
@click.argument("email")
@click.option("--name", default="", help="Display name.")
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@click.password_option(help="Password (asked for when not given).")
def users_add(email: str, name: str, admin: bool, password: str) -> None:
    """Add a staff user."""
    email = email.strip().lower()
    if password_problem(password):
        raise click.BadParameter(
            "at least 12 characters, not only whitespace", param_hint="--password"
        )
    if db.session.scalar(sa.select(User).where(User.email == email)):
        raise click.ClickException(f"{email} exists already")
    user = User(email=email, name=name or email, role="admin" if admin else "staff")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Added {user.role} {email}.")


@click.group("workflow")
def workflow_group() -> None:
    """Inspect the demand workflow."""


@workflow_group.command("diagram")
@click.option("--current", default=None, help="Mark this state as the current one.")
def workflow_diagram(current: str | None) -> None:
    """Print the workflow as a Mermaid state diagram."""
    from . import workflow

    if current and current not in workflow.STATE_BY_NAME:
        raise click.BadParameter(f"unknown state {current!r}", param_hint="--current")
    click.echo(workflow.mermaid(current))


@click.group("reminders")
def reminders_group() -> None:
    """Preview and send the weekly reminders."""


@reminders_group.command("preview")
@click.option("--body", "body_slug", default=None, help="Only this body (slug).")
def reminders_preview(body_slug: str | None) -> None:
    """Print what this week's digests would say."""
    from .services import reminders

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
    from . import sender
    from .jobs import WEEKLY
    from .services import reminders
    from .transactions import commit
    from .workdays import today

    week = reminders.iso_week(today())
    reminders.claim(WEEKLY, week)  # a scheduler firing later this week then writes nothing
    written = reminders.write_week(by="command")  # with the staff notice of the week
    commit()  # the claim and the digests together
    sent = sender.flush()
    click.echo(
        f"{len(written)} new digests for {week}; sent {sent['sent']}, "
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
    from . import sender

    sent = sender.flush(ignore_backoff=all_pending)
    click.echo(f"sent {sent['sent']}, to retry {sent['retry']}, failed {sent['failed']}.")


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler (weekly digest, outbox every minute); run exactly one in production."""
    import logging

    from .jobs import run_blocking

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    run_blocking(current_app._get_current_object())


@click.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int, envvar="PORT", show_default=True)
@click.option("--scheduler/--no-scheduler", default=True, help="Run the scheduler in-process.")
@click.option(
    "--debugger/--no-debugger",
    default=False,
    help="Werkzeug's interactive debugger and /console (runs code in the server; off by default).",
)
def serve_command(host: str, port: int, scheduler: bool, debugger: bool) -> None:
    """Run the development server with the reloader and, once, the scheduler."""
    import os

    from werkzeug.serving import is_running_from_reloader, run_simple

    from .config import follow_port

    app = current_app._get_current_object()
    # Links in e-mails, feeds and the API follow this port unless TRACKER_BASE_URL is set.
    follow_port(app, host, port)
    # The reloader starts this command twice: a watcher and the serving child. Only the child
    # (the one "running from the reloader") starts the scheduler, so it runs exactly once.
    if scheduler and is_running_from_reloader():
        from .jobs import start_background

        start_background(app)
        click.echo(f"scheduler running in-process (pid {os.getpid()})")
    run_simple(host, port, dev_app(app, debugger), use_reloader=True, threaded=True)


def dev_app(app, debugger: bool = False):
    """Return what ``tracker serve`` serves: the app itself, whose errors show the branded
    pages, or with ``--debugger`` the app inside Werkzeug's debugger (tracebacks, /console)."""
    if not debugger:
        return app
    from werkzeug.debug import DebuggedApplication

    return DebuggedApplication(app, evalex=True)
