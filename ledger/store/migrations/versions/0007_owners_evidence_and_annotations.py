"""runs: the owner (a server role) and the content digest; annotations; team policies

Adds two nullable columns to runs (on PostgreSQL `owner` defaults to `current_user`)
and the `annotations` table. On PostgreSQL it also creates the ledger's groups,
privileges, row-level security and triggers (`ledger.store.policies`), which is why
the first `ledger db upgrade` to it needs a role that may create roles. Rewrites no
data: runs recorded before it keep no owner and no digest.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ledger.store import policies

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    on_server = bind.dialect.name == "postgresql"
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("digest", sa.String(length=64), nullable=True))
    if on_server:
        # Set after the column exists, so runs already recorded keep no owner rather
        # than the role running this upgrade (a default given with ADD COLUMN fills them).
        op.alter_column("runs", "owner", server_default=sa.text("CURRENT_USER"))
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=63), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_annotations_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annotations")),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annotations_run_id"), ["run_id"], unique=False)
    if on_server:
        policies.install(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        policies.uninstall(op.get_bind())
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotations_run_id"))
    op.drop_table("annotations")
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_column("digest")
        batch_op.drop_column("owner")
