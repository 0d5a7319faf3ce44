"""runs: the interpreter a run's command used, and the git-ignored files it read

Adds two nullable columns; rewrites no data.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("interpreter", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("ignored_inputs", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("ignored_inputs")
        batch_op.drop_column("interpreter")
