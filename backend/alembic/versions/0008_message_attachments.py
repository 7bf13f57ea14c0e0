"""Message attachments: which uploads a message carries (an edited question shares the original's).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "message_attachments",
        sa.Column("message_id", sa.Integer(), sa.ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("upload_id", sa.Integer(), sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_message_attachments_upload_id", "message_attachments", ["upload_id"])
    # Uploads already sent in a message (none before this release's chat, but keep any there are).
    op.execute(
        "INSERT INTO message_attachments (message_id, upload_id, position) "
        "SELECT message_id, id, 0 FROM uploads WHERE message_id IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_message_attachments_upload_id", table_name="message_attachments")
    op.drop_table("message_attachments")
