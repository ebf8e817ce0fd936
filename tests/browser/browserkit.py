"""Shared pieces of the browser tests: constants, the live-app handle and login."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

STAFF_EMAIL = "referentin@example.org"
ADMIN_EMAIL = "admin@example.org"
# Logging out ends every session of a user: a test that logs out uses this account of its own,
# so the sessions shared by the other tests (``staff_page``, ``admin_page``) stay valid.
LOGOUT_EMAIL = "abmelden@example.org"
PASSWORD = "richtig-langes-passwort"
DESKTOP = {"width": 1280, "height": 900}


def require_chromium() -> None:
    """Skip (locally) or fail (in CI) when the system Chromium is missing."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (CI never skips).")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped locally.")


# The live app ---------------------------------------------------------------------------------


@dataclass
class Live:
    """The running app, its SMTP server and helpers to read and prepare data behind the UI."""

    app: object
    url: str
    mail: object

    @contextmanager
    def db(self) -> Iterator[object]:
        """Yield the database session inside an app context of the live app."""
        from tracker.extensions import db

        with self.app.app_context():
            yield db.session

    def body_id(self, slug: str) -> int:
        from tracker.domain.models import Body

        with self.db() as session:
            return session.scalar(sa.select(Body.id).where(Body.slug == slug))

    def answer_token(self, slug: str) -> str:
        from tracker.domain.models import Body
        from tracker.services import answer_links

        with self.db() as session:
            body = session.scalar(sa.select(Body).where(Body.slug == slug))
            return answer_links.answer_token(body)

    def make_demand(self, title: str, bodies: dict[str, str] | None = None, **fields) -> int:
        """Create a public demand behind the UI (``bodies``: slug -> role); return its id."""
        from tracker.domain.models import Body, User
        from tracker.services.demands import assign_bodies, create_demand

        with self.request_ctx() as session:
            user = session.scalar(sa.select(User).where(User.email == STAFF_EMAIL))
            demand = create_demand(
                user,
                title=title,
                text=fields.pop("text", "Text der Forderung."),
                is_public=fields.pop("is_public", True),
                **fields,
            )
            if bodies:
                by_slug = {b.slug: b for b in session.scalars(sa.select(Body))}
                assign_bodies(demand, user, None, {by_slug[s].id: r for s, r in bodies.items()})
            return demand.id

    @contextmanager
    def request_ctx(self) -> Iterator[object]:
        """Yield the database session inside a request context (services translate messages)."""
        from tracker.extensions import db

        with self.app.test_request_context():
            yield db.session
            db.session.commit()  # this helper is the edge: services leave committing to it

    def advance(self, demand_id: int, trigger: str, **notes) -> None:
        """Move a demand by ``trigger`` behind the UI, as the staff user."""
        from tracker.domain.models import Demand, User
        from tracker.services.demands import advance

        with self.request_ctx() as session:
            user = session.scalar(sa.select(User).where(User.email == STAFF_EMAIL))
            demand = session.get(Demand, demand_id)
            advance(demand, trigger, user, demand.version, notes)

    def demand_state(self, demand_id: int) -> str:
        from tracker.domain.models import Demand

        with self.db() as session:
            return session.get(Demand, demand_id).state


def login(page, email: str = STAFF_EMAIL, password: str = PASSWORD) -> None:
    """Log in through the login form and wait for the staff area."""
    page.goto("/anmelden")
    page.get_by_label("E-Mail-Adresse").fill(email)
    page.get_by_label("Passwort (Pflichtangabe)", exact=True).fill(password)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(re.compile(r"/verwaltung/"))
