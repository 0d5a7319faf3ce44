"""archived runs and reproductions

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reproductions",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("original_id", sa.String(length=32), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=True),
        sa.Column("verdict", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["original_id"], ["runs.id"], name=op.f("fk_reproductions_original_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_reproductions_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_reproductions")),
    )
    with op.batch_alter_table("reproductions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reproductions_original_id"), ["original_id"], unique=False)

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("archived")

    with op.batch_alter_table("reproductions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reproductions_original_id"))

    op.drop_table("reproductions")
