"""Usage counters: one row per user and UTC day (turns now; tokens next), so a quota check reads one row.

Today's and earlier days' counts are filled in from the stored user messages, so a quota already
half used stays half used.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_days",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False, server_default="0"),
    )
    day = "date(m.created_at)" if op.get_bind().dialect.name == "sqlite" else "(m.created_at AT TIME ZONE 'UTC')::date"
    op.execute(
        f"INSERT INTO usage_days (user_id, day, messages) "
        f"SELECT c.user_id, {day}, count(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id "
        f"WHERE m.role = 'user' GROUP BY c.user_id, {day}"
    )


def downgrade() -> None:
    op.drop_table("usage_days")
