"""`tracker serve`, `scheduler` and `workflow diagram`: running the app and its jobs."""

from __future__ import annotations

import click
from flask import current_app


@click.group("workflow")
def workflow_group() -> None:
    """Inspect the demand workflow."""


@workflow_group.command("diagram")
@click.option("--current", default=None, help="Mark this state as the current one.")
def workflow_diagram(current: str | None) -> None:
    """Print the workflow as a Mermaid state diagram."""
    from tracker.domain import workflow

    if current and current not in workflow.STATE_BY_NAME:
        raise click.BadParameter(f"unknown state {current!r}", param_hint="--current")
    click.echo(workflow.mermaid(current))


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the scheduler (weekly digest, outbox every minute); run exactly one in production."""
    import logging

    from tracker.jobs.scheduler import run_blocking

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

    from tracker.config import follow_port

    app = current_app._get_current_object()
    # Links in e-mails, feeds and the API follow this port unless TRACKER_BASE_URL is set.
    follow_port(app, host, port)
    # The reloader starts this command twice: a watcher and the serving child. Only the child
    # (the one "running from the reloader") starts the scheduler, so it runs exactly once.
    if scheduler and is_running_from_reloader():
        from tracker.jobs.scheduler import start_background

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
