"""Flask extensions, created unbound and bound in the factory."""

import sqlalchemy as sa
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base with constraint names that Alembic can drop again."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
migrate = Migrate(render_as_batch=True)


def upsert(target):
    """Return an INSERT into ``target`` that can say ON CONFLICT, in the database's dialect
    (SQLite or PostgreSQL, the two the tracker runs on)."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert(target)


def wait_for_others_on(table, row_id: int) -> None:
    """Make a transaction that calls this for the same row wait until this one has ended, so
    that it then sees what this one wrote (two submissions of one form at once).

    A lock on the row on PostgreSQL; on SQLite a write to it (nothing changes), which holds the
    database's one write lock until the transaction ends. Run on the session's connection, not
    through the session: no table counts as written (the page cache keeps its pages).
    """
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(sa.select(table.c.id).where(table.c.id == row_id).with_for_update())
    else:  # as text: a Core UPDATE would also set the columns' onupdate values (updated_at)
        connection.execute(
            sa.text(f"UPDATE {table.name} SET id = id WHERE id = :id"), {"id": row_id}
        )
