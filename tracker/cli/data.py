"""`tracker seed`, `bootstrap`, `import-csv`, `export`, `import`: loading and exchanging data."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from tracker.cli.users import create as create_user
from tracker.domain.models import User
from tracker.extensions import db
from tracker.services import backup, csv_import
from tracker.services import users as user_service
from tracker.services.errors import ExchangeError
from tracker.transactions import commit

CANNOT_READ = _l("Die Datei %(path)s lässt sich nicht lesen: %(error)s")
CANNOT_WRITE = _l("Die Datei %(path)s lässt sich nicht schreiben: %(error)s")


def _file_problem(message, path: str, error: OSError) -> click.ClickException:
    """Say why a file cannot be read or written, in the command's language."""
    return click.ClickException(str(message) % {"path": path, "error": error.strerror or error})


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise _file_problem(CANNOT_READ, path, error) from None


@click.command("import-csv")
@click.argument("file")
@click.option("--user", "email", default="", help="Record the demands as created by this user.")
def import_csv_command(file: str, email: str) -> None:
    """Import demands from a CSV file (nothing is imported if any row has an error)."""
    with force_locale("de"):
        user = None
        if email:
            user = user_service.by_email(email)
            if user is None:
                raise click.ClickException(_("Unbekannte*r Benutzer*in %(email)s.", email=email))
        try:
            text = csv_import.decode_upload(_read(file))
        except ExchangeError as error:
            raise click.ClickException(str(error)) from None
        created, errors = csv_import.import_demands_csv(text, user)
        if errors:
            for message in errors:
                click.echo(message, err=True)
            raise click.ClickException(
                ngettext(
                    "%(num)d Fehler – es wurde nichts importiert.",
                    "%(num)d Fehler – es wurde nichts importiert.",
                    len(errors),
                )
            )
        commit()
        click.echo(
            ngettext(
                "%(num)d Forderung importiert.", "%(num)d Forderungen importiert.", len(created)
            )
        )
        for demand in created:
            click.echo(f"  {demand.id}: {demand.title}")


@click.command("export")
@click.argument("file")
@click.option(
    "--with-password-hashes",
    is_flag=True,
    help="Include the users' password hashes and the API token hashes (keep the file secret).",
)
def export_command(file: str, with_password_hashes: bool) -> None:
    """Export the whole database as JSON (FILE or - for standard output)."""
    with force_locale("de"):
        data = backup.export_data(with_password_hashes)
        text = backup.dump_json(data)
        if file == "-":
            click.echo(text, nl=False)
            return
        try:
            Path(file).write_text(text, encoding="utf-8", newline="\n")
        except OSError as error:
            raise _file_problem(CANNOT_WRITE, file, error) from None
        counts = {name: len(rows) for name, rows in data["tables"].items() if rows}
        click.echo(
            _(
                "Exportiert nach %(path)s: %(counts)s.",
                path=file,
                counts=", ".join(f"{name} {count}" for name, count in counts.items())
                or _("keine Daten"),
            )
        )
        if not with_password_hashes:
            click.echo(
                _(
                    "Ohne Passwort-Hashes: nach dem Import braucht jedes Konto ein neues "
                    "Passwort (oder mit --with-password-hashes exportieren)."
                )
            )


@click.command("import")
@click.argument("file")
def import_command(file: str) -> None:
    """Import a JSON export into an empty database, keeping all ids."""
    with force_locale("de"):
        try:
            data = json.loads(_read(file).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise click.ClickException(
                _("%(path)s ist keine lesbare JSON-Datei (UTF-8).", path=file)
            ) from None
        except RecursionError:
            raise click.ClickException(
                _("%(path)s ist zu tief verschachtelt für eine Export-Datei.", path=file)
            ) from None
        try:
            result = backup.import_data(data)
        except ExchangeError as error:
            raise click.ClickException(str(error)) from None
        commit()
        click.echo(
            _(
                "Importiert: %(counts)s.",
                counts=", ".join(f"{n} {c}" for n, c in result.counts.items() if c)
                or _("keine Daten"),
            )
        )
        if result.users_without_password:
            click.echo(
                _(
                    "Diese Konten haben ein zufälliges, unbekanntes Passwort und brauchen "
                    "ein neues (unter /verwaltung/benutzer/ setzen; ein neues Admin-Konto "
                    "legt „tracker users add E-MAIL --admin“ an): %(emails)s",
                    emails=", ".join(result.users_without_password),
                )
            )


@click.command("seed")
def seed_command() -> None:
    """Load the Fachtag data (idempotent)."""
    from tracker.services.seed import seed

    added = seed()
    commit()
    click.echo(f"Fachtag data loaded ({added['demands']} new demands).")


def ensure_admin_from_env() -> User | None:
    """Create the first admin from TRACKER_ADMIN_EMAIL / _PASSWORD when no user exists."""
    email = current_app.config["ADMIN_EMAIL"].strip()
    password = current_app.config["ADMIN_PASSWORD"]
    if not email or not password or db.session.scalar(sa.select(sa.func.count(User.id))):
        return None
    setting = "TRACKER_ADMIN_EMAIL / TRACKER_ADMIN_PASSWORD: "
    return create_user(email, password, setting, name="Administrator*in", role="admin")


@click.command("bootstrap")
@click.option(
    "--dev", is_flag=True, help="Create a demo admin with a random password if no user exists."
)
def bootstrap_command(dev: bool) -> None:
    """Apply migrations, load the Fachtag data into an empty database, create the first admin."""
    from flask_migrate import upgrade

    from tracker.domain.models import Demand
    from tracker.services.seed import seed

    upgrade()
    if not db.session.scalar(sa.select(sa.func.count(Demand.id))):
        added = seed()
        commit()
        click.echo(f"Fachtag data loaded ({added['demands']} demands).")
    if ensure_admin_from_env():
        click.echo(f"Admin {current_app.config['ADMIN_EMAIL']} created from the environment.")
    elif dev and not db.session.scalar(sa.select(sa.func.count(User.id))):
        password = secrets.token_urlsafe(12)
        create_user("admin@example.org", password, name="Demo-Admin", role="admin")
        click.echo("")
        click.echo("  Demo login at /anmelden:  admin@example.org  /  " + password)
        click.echo("  (shown once; change it under /verwaltung/benutzer/)")
        click.echo("")
