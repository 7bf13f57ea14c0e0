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
    # One pass over the replies that carry tokens, summed per user and day, then one update: a
    # correlated subquery per counter row re-read the user's messages for every day (hours at 1M rows).
    day = "date(m.created_at)" if op.get_bind().dialect.name == "sqlite" else "(m.created_at AT TIME ZONE 'UTC')::date"
    op.execute(
        "UPDATE usage_days SET input_tokens = totals.input_tokens, output_tokens = totals.output_tokens "
        f"FROM (SELECT c.user_id AS user_id, {day} AS day, coalesce(sum(m.input_tokens), 0) AS input_tokens, "
        "coalesce(sum(m.output_tokens), 0) AS output_tokens FROM messages m "
        "JOIN conversations c ON c.id = m.conversation_id WHERE m.role = 'assistant' "
        "AND (m.input_tokens IS NOT NULL OR m.output_tokens IS NOT NULL) GROUP BY 1, 2) AS totals "
        "WHERE totals.user_id = usage_days.user_id AND totals.day = usage_days.day"
    )


def downgrade() -> None:
    op.drop_index("ix_usage_days_day", "usage_days")
    op.drop_index("ix_messages_created_at", "messages")
    for name in reversed(COLUMNS):
        op.drop_column("usage_days", name)
