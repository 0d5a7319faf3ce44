"""commit links

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commit_links",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("commit", sa.String(length=40), nullable=False),
        sa.Column("linked_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_commit_links_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "commit", name=op.f("pk_commit_links")),
    )
    with op.batch_alter_table("commit_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commit_links_commit"), ["commit"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("commit_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commit_links_commit"))

    op.drop_table("commit_links")
