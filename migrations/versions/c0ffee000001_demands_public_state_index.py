"""index demands on (is_public, state): the counts per state of the overview and the API

Revision ID: c0ffee000001
Revises: 8da308fdafc9
"""

from alembic import op

revision = "c0ffee000001"
down_revision = "8da308fdafc9"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.create_index("ix_demands_public_state", ["is_public", "state"], unique=False)


def downgrade():
    with op.batch_alter_table("demands", schema=None) as batch_op:
        batch_op.drop_index("ix_demands_public_state")
