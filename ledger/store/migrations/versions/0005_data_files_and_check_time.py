"""data: per-file hashes and when the workspace was checked

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_refs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checked", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("files", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("data_refs", schema=None) as batch_op:
        batch_op.drop_column("files")
        batch_op.drop_column("checked")
