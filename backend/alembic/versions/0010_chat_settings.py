"""Chat settings: each conversation's model, persona (system prompt), temperature, web search and
thinking; each user's defaults for them (with the web app's language and theme) in one JSON column.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def conversation_columns() -> tuple[sa.Column[object], ...]:
    return (
        sa.Column("model", sa.String(100), nullable=True),  # null: the server's default model
        sa.Column("system_prompt", sa.Text(), nullable=True),  # null: SYSTEM_PROMPT
        sa.Column("temperature", sa.Float(), nullable=True),  # null: the provider's default
        sa.Column("web_search", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("thinking", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def upgrade() -> None:
    # Plain ALTER TABLE on both databases (no table copy on SQLite: the search triggers stay).
    for column in conversation_columns():
        op.add_column("conversations", column)
    op.add_column("users", sa.Column("preferences", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "preferences")
    for column in reversed(conversation_columns()):
        op.drop_column("conversations", column.name)
