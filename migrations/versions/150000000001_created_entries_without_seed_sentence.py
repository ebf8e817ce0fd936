"""created entries of seeded demands: drop the German sentence naming the event

The seed wrote „Erhoben auf der Veranstaltung „…“ (…).“ into each demand's first entry; the
demand names its event and part itself, and the sentence stayed German on English pages.

Revision ID: 150000000001
Revises: 140000000001
"""

import sqlalchemy as sa
from alembic import op

revision = "150000000001"
down_revision = "140000000001"
branch_labels = None
depends_on = None

entries = sa.table(
    "timeline_entries",
    sa.column("kind", sa.String),
    sa.column("author_id", sa.Integer),
    sa.column("text", sa.Text),
)


def upgrade():
    op.execute(
        entries.update()
        .where(
            entries.c.kind == "created",
            entries.c.author_id.is_(None),
            entries.c.text.like("Erhoben auf der Veranstaltung „%“ (%)."),
        )
        .values(text="")
    )


def downgrade():
    pass  # the demand still names its event and part; the sentence is not needed back
