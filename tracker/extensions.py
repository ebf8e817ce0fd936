"""Flask extensions, created unbound and bound in the factory."""

from pathlib import Path

from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
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


class LazyMigrate:
    """Flask-Migrate, bound on first use: importing it pulls in Alembic (~0.3 s of every start).

    Web workers never migrate; the ``tracker db …`` commands and ``flask_migrate.upgrade()`` reach
    ``app.extensions["migrate"]``, which binds the real extension and hands over to it.
    """

    def __init__(self, app, directory: Path):
        self._app, self._directory = app, directory

    def __getattr__(self, name):
        from flask_migrate import Migrate

        if name.startswith("_"):
            raise AttributeError(name)
        Migrate(self._app, db, directory=str(self._directory), render_as_batch=True)
        return getattr(self._app.extensions["migrate"], name)
