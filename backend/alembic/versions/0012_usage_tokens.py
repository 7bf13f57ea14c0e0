"""Token counters per user and day: the reply tokens (input, output) and the title tokens apart, so a
token quota reads today's row and at most 31 rows for the month; and indexes on messages' time and
the counters' day for the admin's usage report over a date range.

Days already counted get the token counts their stored replies carry (migration 0009's columns).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("input_tokens", "output_tokens", "title_input_tokens", "title_output_tokens")


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column("usage_days", sa.Column(name, sa.BigInteger(), nullable=False, server_default="0"))
    op.create_index("ix_messages_created_at", "messages", ["created_at"])
    op.create_index("ix_usage_days_day", "usage_days", ["day"])  # the admin's report over a range of days
    day = "date(m.created_at)" if op.get_bind().dialect.name == "sqlite" else "(m.created_at AT TIME ZONE 'UTC')::date"
    for column in ("input_tokens", "output_tokens"):
        op.execute(
            f"UPDATE usage_days SET {column} = (SELECT coalesce(sum(m.{column}), 0) FROM messages m "
            f"JOIN conversations c ON c.id = m.conversation_id WHERE c.user_id = usage_days.user_id "
            f"AND m.role = 'assistant' AND {day} = usage_days.day)"
        )


def downgrade() -> None:
    op.drop_index("ix_usage_days_day", "usage_days")
    op.drop_index("ix_messages_created_at", "messages")
    for name in reversed(COLUMNS):
        op.drop_column("usage_days", name)
