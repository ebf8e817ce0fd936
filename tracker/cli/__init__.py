"""The ``tracker`` command: Flask's CLI over ``create_app`` plus our own commands."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from tracker.cli import data, mail, run, users


def main() -> None:
    """Run the ``tracker`` command line."""
    from tracker import create_app

    FlaskGroup(create_app=create_app, help="Forderungstracker der LIGA Sachsen-Anhalt.")()


def init_app(app: Flask) -> None:
    """Register the commands."""
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
