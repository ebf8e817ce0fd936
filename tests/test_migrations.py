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


def test_seeded_entries_lose_the_german_sentence_and_keep_everything_else(empty_app):
    """150000000001: the seed's „Erhoben auf der Veranstaltung …“ goes; other texts stay."""
    upgrade(revision="140000000001")
    now = "2025-06-18 16:00:00"
    with db.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO demands (id, title, text, state, is_public, state_changed_at,"
                " created_at, updated_at, version) VALUES (1, 'T', '', 'raised', true, :now,"
                " :now, :now, 1)"
            ),
            {"now": now},
        )
        texts = [
            "Erhoben auf der Veranstaltung „Fachtag Migration“ (Workshop 1).",
            "Erhoben auf der Veranstaltung „Fachtag“ (Podium). Mit Nachtrag",
            "Von Hand: Erhoben auf der Veranstaltung „Fachtag“ (Podium).",
        ]
        for number, text in enumerate(texts, 1):
            connection.execute(
                sa.text(
                    "INSERT INTO timeline_entries (id, demand_id, kind, is_public, created_at,"
                    " author_name, text, data) VALUES (:id, 1, 'created', true, :now, '', :text,"
                    " '{}')"
                ),
                {"id": number, "now": now, "text": text},
            )
    upgrade()
    with db.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT text FROM timeline_entries ORDER BY id"))
        assert [text for (text,) in rows] == ["", *texts[1:]]
