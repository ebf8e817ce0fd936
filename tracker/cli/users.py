"""`tracker users`: staff accounts from the command line, through ``services.users``."""

from __future__ import annotations

import click

from tracker.services import users as user_service
from tracker.services.errors import ServiceError, german_outside_requests
from tracker.transactions import commit


@click.group("users")
def users() -> None:
    """Manage staff accounts."""


def create(email: str, password: str | None, setting: str = "", **values) -> user_service.User:
    """Create an account and commit it; a refusal stops the command with the service's reasons.

    ``setting`` names where the values came from (an environment variable) in the message.
    """
    with german_outside_requests():
        try:
            user = user_service.create_user(email, password, **values)
        except ServiceError as error:
            reasons = "; ".join(dict.fromkeys(error.errors.values())) or error.message
            raise click.ClickException(f"{setting}{reasons}") from None
    commit()
    return user


@users.command("add")
@click.argument("email")
@click.option("--name", default="", help="Display name (default: the address).")
@click.option("--admin", is_flag=True, help="Make the user an admin.")
@click.password_option(help="Password (asked for when not given).")
def users_add(email: str, name: str, admin: bool, password: str) -> None:
    """Add a staff user."""
    user = create(email, password, name=name, role="admin" if admin else "staff")
    click.echo(f"Added {user.role} {user.email}.")
