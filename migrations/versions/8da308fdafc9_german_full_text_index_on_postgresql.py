"""german full-text index on postgresql

Revision ID: 8da308fdafc9
Revises: 005cd6d34153
Create Date: 2026-11-24 20:46:38.743640

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "8da308fdafc9"
down_revision = "005cd6d34153"
branch_labels = None
depends_on = None


INDEX = (
    "CREATE INDEX ix_demands_search ON demands "
    "USING gin (to_tsvector('german'::regconfig, ((title)::text || ' '::text) || text))"
)


def upgrade():
    # Only PostgreSQL has full-text search; SQLite searches substrings without an index.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(INDEX)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_demands_search")
