"""The ``tracker`` command: Flask's CLI over ``create_app`` plus our own commands."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from tracker.cli import data, mail, run, users


def main() -> None:
    """Run the ``tracker`` command line."""
    from tracker import create_app

    FlaskGroup(create_app=create_app, help="Forderungstracker der LIGA Sachsen-Anhalt.")()


class MigrationCommands(click.Group):
    """``tracker db …``: Flask-Migrate's commands, imported only when one is run."""

    def _real(self) -> click.Group:
        from flask_migrate.cli import db

        return db

    def list_commands(self, ctx):
        return self._real().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._real().get_command(ctx, name)

    def make_context(self, info_name, args, parent=None, **extra):
        return self._real().make_context(info_name, args, parent=parent, **extra)


def init_app(app: Flask) -> None:
    """Register the commands."""
    app.cli.add_command(MigrationCommands("db", help="Schema migrations (Flask-Migrate, Alembic)."))
    for command in (
        data.seed_command,
        data.bootstrap_command,
        data.import_csv_command,
        data.export_command,
        data.import_command,
        users.users,
        mail.reminders_group,
        mail.outbox_group,
        run.workflow_group,
        run.scheduler_command,
        run.serve_command,
    ):
        app.cli.add_command(command)
