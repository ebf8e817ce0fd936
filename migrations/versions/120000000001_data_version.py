"""data_version: one row the page cache keys its pages by, renewed by every public write

Revision ID: 120000000001
Revises: 100000000001
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

revision = "120000000001"
down_revision = "100000000001"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.bulk_insert(
        table, [{"id": 1, "token": secrets.token_hex(16), "changed_at": dt.datetime.now(dt.UTC)}]
    )


def downgrade():
    op.drop_table("data_version")
