"""Full-text search over message text and conversation titles, kept in sync inside the database.

SQLite: two FTS5 external-content tables (no second copy of the text), fed by triggers so that
every write path (the app, a restore, a bulk import, a hand-run script) is indexed. Each indexed
row also carries its owner as a token (`u<user_id>` in the `owner` column): a search ANDs
`owner : "u42"` into the query, so FTS5 intersects posting lists and ranks only that user's hits,
instead of ranking everyone's and filtering after. Tokenizer `unicode61 remove_diacritics 2`:
case and accents fold ("acao" finds "Ação"); a 3-character prefix index keeps as-you-type
prefixes cheap (shorter last words are matched as whole words: see app/services/search.py).

PostgreSQL: a `tsvector` generated column + GIN index on each table, with the `conversa_search`
text search configuration (`simple` with the `unaccent` dictionary in front: no stemming, since
the text mixes Portuguese and English). A configuration rather than an IMMUTABLE wrapper around
unaccent(): `to_tsvector(regconfig, text)` is already immutable, and `ts_headline` then folds
accents the same way when it marks the match in a snippet. pg_trgm (substring search) is not used:
it would answer "ção" inside a word but costs ~3x the index size and ranks poorly; words and
prefixes are what a person searching their chats types. PostgreSQL's parser reads `<...>` as an
HTML tag and drops the words inside (`<div class="menu">`, `a<b`): the text is indexed with
angle brackets turned into ‹ › so those words count too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = [
    # The FTS tables read the text back (snippets, deletes) from these views by rowid.
    """CREATE VIEW message_search_source AS
       SELECT m.id AS id, m.content AS content, 'u' || c.user_id AS owner
       FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id""",
    """CREATE VIEW conversation_search_source AS
       SELECT id, title, 'u' || user_id AS owner FROM conversations""",
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
         content, owner, content='message_search_source', content_rowid='id',
         tokenize='unicode61 remove_diacritics 2', prefix='3')""",
    """CREATE VIRTUAL TABLE conversations_fts USING fts5(
         title, owner, content='conversation_search_source', content_rowid='id',
         tokenize='unicode61 remove_diacritics 2', prefix='3')""",
    # The owner column never counts in the ranking (bm25 weight 0).
    "INSERT INTO messages_fts(messages_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)')",
    "INSERT INTO conversations_fts(conversations_fts, rank) VALUES ('rank', 'bm25(1.0, 0.0)')",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
         INSERT INTO messages_fts(rowid, content, owner)
         SELECT new.id, new.content, 'u' || c.user_id FROM conversations AS c WHERE c.id = new.conversation_id;
       END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, content, owner)
         SELECT 'delete', old.id, old.content, 'u' || c.user_id FROM conversations AS c
         WHERE c.id = old.conversation_id;
       END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, conversation_id ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, content, owner)
         SELECT 'delete', old.id, old.content, 'u' || c.user_id FROM conversations AS c
         WHERE c.id = old.conversation_id;
         INSERT INTO messages_fts(rowid, content, owner)
         SELECT new.id, new.content, 'u' || c.user_id FROM conversations AS c WHERE c.id = new.conversation_id;
       END""",
    # The messages leave first, while their conversation still names the owner their index rows
    # were written with (a foreign-key cascade would delete them after it, too late for that).
    """CREATE TRIGGER conversations_fts_delete BEFORE DELETE ON conversations BEGIN
         DELETE FROM messages WHERE conversation_id = old.id;
         INSERT INTO conversations_fts(conversations_fts, rowid, title, owner)
         VALUES ('delete', old.id, old.title, 'u' || old.user_id);
       END""",
    """CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
         INSERT INTO conversations_fts(rowid, title, owner) VALUES (new.id, new.title, 'u' || new.user_id);
       END""",
    """CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title, user_id ON conversations BEGIN
         INSERT INTO conversations_fts(conversations_fts, rowid, title, owner)
         VALUES ('delete', old.id, old.title, 'u' || old.user_id);
         INSERT INTO conversations_fts(rowid, title, owner) VALUES (new.id, new.title, 'u' || new.user_id);
       END""",
    """CREATE TRIGGER conversations_fts_owner AFTER UPDATE OF user_id ON conversations
       WHEN old.user_id IS NOT new.user_id BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, content, owner)
         SELECT 'delete', id, content, 'u' || old.user_id FROM messages WHERE conversation_id = old.id;
         INSERT INTO messages_fts(rowid, content, owner)
         SELECT id, content, 'u' || new.user_id FROM messages WHERE conversation_id = new.id;
       END""",
    # The rows already there.
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
    "INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild')",
]

SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS conversations_fts_owner",
    "DROP TRIGGER IF EXISTS conversations_fts_update",
    "DROP TRIGGER IF EXISTS conversations_fts_insert",
    "DROP TRIGGER IF EXISTS conversations_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_update",
    "DROP TRIGGER IF EXISTS messages_fts_delete",
    "DROP TRIGGER IF EXISTS messages_fts_insert",
    "DROP TABLE IF EXISTS conversations_fts",
    "DROP TABLE IF EXISTS messages_fts",
    "DROP VIEW IF EXISTS conversation_search_source",
    "DROP VIEW IF EXISTS message_search_source",
]

POSTGRES_UPGRADE = [
    # unaccent is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    """DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'conversa_search') THEN
           CREATE TEXT SEARCH CONFIGURATION conversa_search (COPY = simple);
           ALTER TEXT SEARCH CONFIGURATION conversa_search
             ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
         END IF;
       END $$""",
    # Generated columns fill the existing rows as they are added, and any later write.
    """ALTER TABLE messages ADD COLUMN search_vector tsvector
         GENERATED ALWAYS AS (to_tsvector('conversa_search'::regconfig, translate(content, '<>', '‹›'))) STORED""",
    "CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)",
    """ALTER TABLE conversations ADD COLUMN search_vector tsvector
         GENERATED ALWAYS AS (to_tsvector('conversa_search'::regconfig, translate(title, '<>', '‹›'))) STORED""",
    "CREATE INDEX ix_conversations_search_vector ON conversations USING gin (search_vector)",
]

POSTGRES_DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_conversations_search_vector",
    "ALTER TABLE conversations DROP COLUMN IF EXISTS search_vector",
    "DROP INDEX IF EXISTS ix_messages_search_vector",
    "ALTER TABLE messages DROP COLUMN IF EXISTS search_vector",
    "DROP TEXT SEARCH CONFIGURATION IF EXISTS conversa_search",
]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _run(SQLITE_UPGRADE if op.get_bind().dialect.name == "sqlite" else POSTGRES_UPGRADE)


def downgrade() -> None:
    _run(SQLITE_DOWNGRADE if op.get_bind().dialect.name == "sqlite" else POSTGRES_DOWNGRADE)
