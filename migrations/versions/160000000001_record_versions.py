"""events, meetings, consultations: a version that counts the saves (stale forms are refused)

Revision ID: 160000000001
Revises: 150000000001
"""

import sqlalchemy as sa
from alembic import op

revision = "160000000001"
down_revision = "150000000001"
branch_labels = None
depends_on = None

TABLES = ("events", "meetings", "consultations")


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("version", sa.Integer(), server_default="1", nullable=False)
            )


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("version")
