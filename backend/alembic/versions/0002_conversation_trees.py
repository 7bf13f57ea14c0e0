"""Conversation trees: every message has a parent, every conversation an active leaf.

Each existing conversation becomes a chain (a message's parent is the previous one by id) whose
active leaf is its newest message, so every history reads back exactly as before.

A parent must be in the same conversation: PostgreSQL enforces it with a composite foreign key
(conversation_id, parent_id) -> (conversation_id, id); SQLite cannot add a composite key to an
existing table without copying it, so a trigger checks the same rule there, in the database, for
every write path (a restore or a bulk import included).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TRIGGERS = {
    "messages_parent_same_conversation_insert": "BEFORE INSERT ON messages",
    "messages_parent_same_conversation_update": "BEFORE UPDATE OF parent_id, conversation_id ON messages",
}
SQLITE_CHECK = """
    FOR EACH ROW WHEN NEW.parent_id IS NOT NULL
        AND (SELECT conversation_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.conversation_id
    BEGIN
        SELECT RAISE(ABORT, 'messages.parent_id must be a message of the same conversation');
    END
"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # ADD COLUMN keeps the table (and its AUTOINCREMENT) in place: no copy of every message.
        op.execute("ALTER TABLE messages ADD COLUMN parent_id INTEGER REFERENCES messages (id) ON DELETE CASCADE")
    else:
        op.add_column("messages", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_unique_constraint("uq_messages_conversation_id_id", "messages", ["conversation_id", "id"])
        op.create_foreign_key(
            "fk_messages_parent_same_conversation",
            "messages",
            "messages",
            ["conversation_id", "parent_id"],
            ["conversation_id", "id"],
            ondelete="CASCADE",
        )
    op.add_column("conversations", sa.Column("active_message_id", sa.Integer(), nullable=True))

    # Every conversation as a chain, its newest message active (the (conversation_id, id) index serves both).
    op.execute(
        "UPDATE messages SET parent_id = (SELECT max(p.id) FROM messages p "
        "WHERE p.conversation_id = messages.conversation_id AND p.id < messages.id)"
    )
    op.execute(
        "UPDATE conversations SET active_message_id = "
        "(SELECT max(m.id) FROM messages m WHERE m.conversation_id = conversations.id)"
    )
    # Children of a message (and the foreign key's cascade), and the roots of one conversation.
    op.create_index("ix_messages_parent_id", "messages", ["parent_id"])
    op.create_index("ix_messages_conversation_parent", "messages", ["conversation_id", "parent_id"])
    if sqlite:
        for name, when in SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {when} {SQLITE_CHECK}")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index("ix_messages_conversation_parent", table_name="messages")
    op.drop_index("ix_messages_parent_id", table_name="messages")
    op.drop_column("conversations", "active_message_id")
    if sqlite:
        with op.batch_alter_table("messages", recreate="always", table_kwargs={"sqlite_autoincrement": True}) as batch:
            batch.drop_column("parent_id")
    else:
        op.drop_constraint("fk_messages_parent_same_conversation", "messages", type_="foreignkey")
        op.drop_constraint("uq_messages_conversation_id_id", "messages", type_="unique")
        op.drop_column("messages", "parent_id")
