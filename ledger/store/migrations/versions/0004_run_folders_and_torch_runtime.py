"""run folders and torch runtime

Two nullable columns on runs, no data rewritten: the folders a run made and wrote
into, and the torch build and CUDA devices the run had.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("run_folders", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("torch_runtime", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("torch_runtime")
        batch_op.drop_column("run_folders")
