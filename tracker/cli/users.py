"""`tracker users`: staff accounts from the command line."""

from __future__ import annotations

import click
import sqlalchemy as sa

from tracker.domain.models import User, password_problem
from tracker.extensions import db


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
