"""Staff accounts: the one way to create one, change its role, lock it or set its password.

Every caller — the admin page, ``tracker users add``, ``tracker bootstrap`` — comes through
here, so an address is always trimmed, stored in lower case and unique whatever its case, and a
password always follows ``rules.password_problem``. Nothing here commits: the request's edge or
the command does.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from tracker.domain import rules
from tracker.domain.models import User
from tracker.extensions import db
from tracker.services.errors import ServiceError, refuse_invalid


def by_email(email: str | None) -> User | None:
    """Return the account of an address, whatever the case of either."""
    return db.session.scalar(
        sa.select(User).where(sa.func.lower(User.email) == rules.normal_email(email))
    )


def _check(user: User | None, email: str, name: str, role: str, password: str | None) -> None:
    """Refuse the values of an account (``user`` None: a new one) with a message per field."""
    errors = rules.length_errors({"name": name}, rules.USER)
    problem = rules.email_problem(email)
    if problem:
        errors["email"] = problem
    else:
        other = by_email(email)
        if other is not None and other is not user:
            errors["email"] = str(_l("Diese E-Mail-Adresse hat schon ein Konto."))
    if role not in User.ROLES:
        errors["role"] = str(_l("Unbekannte Rolle."))
    if not password and user is None:
        errors["password"] = str(_l("Für ein neues Konto bitte ein Passwort vergeben."))
    elif password:
        problem = rules.password_problem(password)
        if problem:
            errors["password"] = problem
    refuse_invalid(errors)


def create_user(
    email: str, password: str | None, *, name: str = "", role: str = "staff", active: bool = True
) -> User:
    """Add a staff account; the name defaults to the address. Refuses and adds nothing if wrong."""
    email, name = rules.normal_email(email), (name or "").strip()
    _check(None, email, name, role, password)
    user = User(email=email, name=name or email, role=role, active=active)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def update_user(
    user: User,
    by: User | None,
    *,
    email: str,
    name: str,
    role: str,
    active: bool,
    password: str | None = None,
) -> bool:
    """Change an account's address, name, role, lock or password; return whether it changed.

    Locking an account or a new password ends the user's sessions everywhere. An admin (``by``)
    cannot take the administration away from themselves. Refuses and changes nothing if wrong.
    """
    email, name = rules.normal_email(email), (name or "").strip()
    _check(user, email, name or user.name, role, password)
    if by is not None and user.id == by.id and (role != "admin" or not active):
        message = str(_l("Sie können sich nicht selbst die Administration entziehen."))
        raise ServiceError(message, {"role" if role != "admin" else "active": message})
    user.email, user.name = email, name or user.name
    if user.active and not active:
        user.end_sessions()  # a locked account is logged out everywhere
    user.role, user.active = role, active
    if password:
        user.set_password(password)  # also ends the user's sessions
    return db.session.is_modified(user)
