"""body_former_slugs: a body's earlier slugs, so that links to them lead on to its page

Revision ID: 140000000001
Revises: 130000000001
"""

import sqlalchemy as sa
from alembic import op

revision = "140000000001"
down_revision = "130000000001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "body_former_slugs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["body_id"],
            ["bodies.id"],
            name=op.f("fk_body_former_slugs_body_id_bodies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_body_former_slugs")),
        sa.UniqueConstraint("slug", name=op.f("uq_body_former_slugs_slug")),
    )
    with op.batch_alter_table("body_former_slugs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_body_former_slugs_body_id"), ["body_id"])


def downgrade():
    with op.batch_alter_table("body_former_slugs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_body_former_slugs_body_id"))
    op.drop_table("body_former_slugs")
