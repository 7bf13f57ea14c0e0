"""Reply metadata: what the model reported with an assistant message (who wrote it, what it cost,
what it thought, what it searched). All nullable: user messages and older replies have none.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("reasoning_tokens", sa.Integer(), nullable=True),
        sa.Column("tokens_estimated", sa.Boolean(), nullable=True),
        sa.Column("reasoning", sa.Text(), nullable=True),
        sa.Column("reasoning_ms", sa.Integer(), nullable=True),
        sa.Column("grounding", sa.JSON(), nullable=True),
    )


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (no table copy on SQLite: the search triggers stay).
    for column in columns():
        op.add_column("messages", column)


def downgrade() -> None:
    for column in reversed(columns()):
        op.drop_column("messages", column.name)
