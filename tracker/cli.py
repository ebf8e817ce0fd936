"""The ``tracker`` command: Flask's CLI over ``create_app`` plus our own commands."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import FlaskGroup

from .extensions import db
from .models import User


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
    user = User(email=email, name="Administrator*in", role="admin")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


@click.command("bootstrap")
@click.option("--dev", is_flag=True, help="Create a demo admin with a random password if no user exists.")
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
    if len(password) < 12:
        raise click.BadParameter("at least 12 characters", param_hint="--password")
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
