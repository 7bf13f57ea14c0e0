"""Presets (personas): a named system prompt with optional model, temperature, search and thinking;
per user, or `shared` by an administrator with every user.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "presets",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=False),
        sa.Column("model", sa.String(100), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("web_search", sa.Boolean(), nullable=True),
        sa.Column("thinking", sa.Boolean(), nullable=True),
        sa.Column("shared", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_presets_user_id", "presets", ["user_id"])
    op.create_index("ix_presets_shared", "presets", ["shared"])


def downgrade() -> None:
    op.drop_index("ix_presets_shared", table_name="presets")
    op.drop_index("ix_presets_user_id", table_name="presets")
    op.drop_table("presets")
