"""data_versions: a version per table, so a write renews only the pages that read its tables

Revision ID: 130000000001
Revises: 120000000001
"""

import datetime as dt
import secrets

import sqlalchemy as sa
from alembic import op

revision = "130000000001"
down_revision = "120000000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.drop_table("data_version")  # a table without a row counts as never written


def downgrade():
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
    op.drop_table("data_versions")
