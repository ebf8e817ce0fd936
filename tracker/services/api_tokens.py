"""Personal API tokens: shown once when created, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from tracker.domain import rules
from tracker.domain.models import ApiToken, User, utcnow
from tracker.extensions import db

PREFIX = "ft_"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the plain token (shown once)."""
    plain = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user=user,
        name=name.strip()[: rules.TOKEN_NAME_MAX],
        token_hash=_hash(plain),
        prefix=plain[:10],
    )
    db.session.add(row)
    db.session.flush()
    return row, plain


def user_for(plain: str) -> User | None:
    """Return the active user a valid, unrevoked token belongs to, noting its use."""
    if not plain or not plain.startswith(PREFIX) or len(plain) > 200:
        return None
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash(plain)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return row.user


def revoke(row: ApiToken) -> None:
    """Revoke a token for good."""
    if row.revoked_at is None:
        row.revoked_at = utcnow()
