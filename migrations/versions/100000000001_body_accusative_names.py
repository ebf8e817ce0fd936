"""bodies: how letters address them after „an“ (accusative, with articles)

Revision ID: 100000000001
Revises: c0ffee000001
"""

import sqlalchemy as sa
from alembic import op

revision = "100000000001"
down_revision = "13b000000001"
branch_labels = None
depends_on = None

# The Fachtag's bodies, for databases seeded before the columns existed (tracker seed does it too).
SEEDED = {
    "ms": (
        "das Ministerium für Arbeit, Soziales, Gesundheit und Gleichstellung "
        "des Landes Sachsen-Anhalt",
        "das Sozialministerium",
    ),
    "mi": (
        "das Ministerium für Inneres und Sport des Landes Sachsen-Anhalt",
        "das Innenministerium",
    ),
    "bamf": (
        "das Bundesamt für Migration und Flüchtlinge – Außenstelle Sachsen-Anhalt",
        "die BAMF-Außenstelle",
    ),
    "stk": (
        "die Staatskanzlei und das Ministerium für Kultur des Landes Sachsen-Anhalt",
        "die Staatskanzlei",
    ),
    "mb": ("das Ministerium für Bildung des Landes Sachsen-Anhalt", "das Bildungsministerium"),
    "lvwa": ("das Landesverwaltungsamt Sachsen-Anhalt", "das Landesverwaltungsamt"),
    "integrationsbeauftragte": (
        "die Beauftragte der Landesregierung für Migration und Integration",
        "die Integrationsbeauftragte",
    ),
    "landkreistag": ("den Landkreistag Sachsen-Anhalt", "den Landkreistag"),
}


def upgrade():
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("name_accusative", sa.String(length=320), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("short_accusative", sa.String(length=150), server_default="", nullable=False)
        )
    bodies = sa.table(
        "bodies",
        sa.column("slug", sa.String),
        sa.column("name_accusative", sa.String),
        sa.column("short_accusative", sa.String),
    )
    for slug, (full, short) in SEEDED.items():
        op.execute(
            bodies.update()
            .where(bodies.c.slug == slug, bodies.c.name_accusative == "")
            .values(name_accusative=full, short_accusative=short)
        )


def downgrade():
    with op.batch_alter_table("bodies", schema=None) as batch_op:
        batch_op.drop_column("short_accusative")
        batch_op.drop_column("name_accusative")
