"""answers that count: a body's file reference and committed date; demands that repeat others

Revision ID: 13b000000001
Revises: c0ffee000001
"""

import sqlalchemy as sa
from alembic import op

revision = "13b000000001"
down_revision = "13a000000001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("file_reference", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("committed_until", sa.Date(), nullable=True))
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.add_column(sa.Column("repeats_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_demands_repeats_id", ["repeats_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_demands_repeats_id_demands", "demands", ["repeats_id"], ["id"], ondelete="SET NULL"
        )


def downgrade():
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_constraint("fk_demands_repeats_id_demands", type_="foreignkey")
        batch_op.drop_index("ix_demands_repeats_id")
        batch_op.drop_column("repeats_id")
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_column("committed_until")
        batch_op.drop_column("file_reference")
