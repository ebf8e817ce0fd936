"""The migrations build exactly the models' schema and tear it down again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from tracker.extensions import db

# Made by a migration on purpose and not declared on the models (PostgreSQL only).
ONLY_IN_MIGRATIONS = {"ix_demands_search"}


def _diffs(connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": False}
    )
    diffs = compare_metadata(context, db.metadata)
    return [
        d
        for d in diffs
        if not (isinstance(d, tuple) and d[0] == "remove_index" and d[1].name in ONLY_IN_MIGRATIONS)
    ]


def _tables(connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


def test_upgrade_gives_the_models_schema_and_downgrade_removes_it(empty_app):
    with db.engine.connect() as connection:
        assert _tables(connection) == set()

    upgrade()

    with db.engine.connect() as connection:
        assert _tables(connection) == set(db.metadata.tables) | {"alembic_version"}
        assert _diffs(connection) == []

    downgrade(revision="base")

    with db.engine.connect() as connection:
        assert _tables(connection) == {"alembic_version"}
        version = connection.execute(sa.text("SELECT count(*) FROM alembic_version")).scalar()
        assert version == 0


def test_the_comparison_notices_a_difference(empty_app):
    """Guard the guard: a schema that differs from the models must not compare clean."""
    upgrade()
    with db.engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
        connection.execute(sa.text("DROP INDEX ix_timeline_demand_created"))
    with db.engine.connect() as connection:
        kinds = sorted(d[0] for d in _diffs(connection) if isinstance(d, tuple))
    assert kinds == ["add_index", "remove_table"]


def test_migrations_have_one_head(empty_app):
    from alembic.script import ScriptDirectory

    config = empty_app.extensions["migrate"].migrate.get_config(
        empty_app.extensions["migrate"].directory
    )
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1
