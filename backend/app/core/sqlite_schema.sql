-- The schema of a new SQLite database at revision 0013, as Alembic's migrations leave it.
-- Generated: `python -m app.core.migrations --snapshot` (tests/core/test_migrations.py checks it).
PRAGMA auto_vacuum = 2;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
CREATE TABLE users (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	email VARCHAR(320) NOT NULL, 
	hashed_password VARCHAR(255) NOT NULL, 
	created_at DATETIME NOT NULL, 
	is_admin BOOLEAN DEFAULT 0 NOT NULL, 
	is_active BOOLEAN DEFAULT 1 NOT NULL, 
	token_version INTEGER DEFAULT '0' NOT NULL, preferences JSON, 
	UNIQUE (email)
);
CREATE TABLE conversations (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, active_message_id INTEGER, model VARCHAR(100), system_prompt TEXT, temperature FLOAT, web_search BOOLEAN DEFAULT 0 NOT NULL, thinking BOOLEAN DEFAULT 0 NOT NULL, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE messages (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	conversation_id INTEGER NOT NULL, 
	role VARCHAR(16) NOT NULL, 
	content TEXT NOT NULL, 
	status VARCHAR(16) DEFAULT 'complete' NOT NULL, 
	created_at DATETIME DEFAULT CURRENT_TIMESTAMP NOT NULL, parent_id INTEGER REFERENCES messages (id) ON DELETE CASCADE, model VARCHAR(100), input_tokens INTEGER, output_tokens INTEGER, reasoning_tokens INTEGER, tokens_estimated BOOLEAN, reasoning TEXT, reasoning_ms INTEGER, grounding JSON, 
	FOREIGN KEY(conversation_id) REFERENCES conversations (id) ON DELETE CASCADE
);
CREATE TABLE usage_days (
	user_id INTEGER NOT NULL, 
	day DATE NOT NULL, 
	messages INTEGER DEFAULT '0' NOT NULL, input_tokens BIGINT DEFAULT '0' NOT NULL, output_tokens BIGINT DEFAULT '0' NOT NULL, title_input_tokens BIGINT DEFAULT '0' NOT NULL, title_output_tokens BIGINT DEFAULT '0' NOT NULL, 
	PRIMARY KEY (user_id, day), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE shares (
	id VARCHAR(64) NOT NULL, 
	user_id INTEGER NOT NULL, 
	conversation_id INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	messages JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_shares_conversation_id UNIQUE (conversation_id), 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(conversation_id) REFERENCES conversations (id) ON DELETE CASCADE
);
CREATE TABLE api_keys (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	prefix VARCHAR(16) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	last_used_at DATETIME, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	UNIQUE (key_hash)
);
CREATE TABLE uploads (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	message_id INTEGER, 
	name VARCHAR(255) NOT NULL, 
	mime_type VARCHAR(100) NOT NULL, 
	size INTEGER NOT NULL, 
	storage_key VARCHAR(255) NOT NULL, 
	sha256 VARCHAR(64) NOT NULL, 
	page_count INTEGER, 
	created_at DATETIME NOT NULL, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE, 
	FOREIGN KEY(message_id) REFERENCES messages (id) ON DELETE SET NULL, 
	UNIQUE (storage_key)
);
CREATE VIRTUAL TABLE messages_fts USING fts5(
         content, owner, content='message_search_source', content_rowid='id',
         tokenize='unicode61 remove_diacritics 2', prefix='3');
CREATE VIRTUAL TABLE conversations_fts USING fts5(
         title, owner, content='conversation_search_source', content_rowid='id',
         tokenize='unicode61 remove_diacritics 2', prefix='3');
CREATE TABLE message_attachments (
	message_id INTEGER NOT NULL, 
	upload_id INTEGER NOT NULL, 
	position INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (message_id, upload_id), 
	FOREIGN KEY(message_id) REFERENCES messages (id) ON DELETE CASCADE, 
	FOREIGN KEY(upload_id) REFERENCES uploads (id) ON DELETE CASCADE
);
CREATE TABLE presets (
	id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, 
	user_id INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	system_prompt TEXT NOT NULL, 
	model VARCHAR(100), 
	temperature FLOAT, 
	web_search BOOLEAN, 
	thinking BOOLEAN, 
	shared BOOLEAN DEFAULT 0 NOT NULL, 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE TABLE app_settings (
	"key" VARCHAR(64) NOT NULL, 
	value JSON NOT NULL, 
	updated_at DATETIME NOT NULL, 
	updated_by VARCHAR(320), 
	PRIMARY KEY ("key")
);
CREATE INDEX ix_conversations_user_updated ON conversations (user_id, updated_at);
CREATE INDEX ix_messages_conversation_id_id ON messages (conversation_id, id);
CREATE INDEX ix_messages_parent_id ON messages (parent_id);
CREATE INDEX ix_messages_conversation_parent ON messages (conversation_id, parent_id);
CREATE INDEX ix_shares_user_id ON shares (user_id);
CREATE INDEX ix_api_keys_user_id ON api_keys (user_id);
CREATE INDEX ix_uploads_user_id ON uploads (user_id);
CREATE INDEX ix_uploads_message_id ON uploads (message_id);
CREATE INDEX ix_message_attachments_upload_id ON message_attachments (upload_id);
CREATE INDEX ix_presets_user_id ON presets (user_id);
CREATE INDEX ix_presets_shared ON presets (shared);
CREATE INDEX ix_messages_created_at ON messages (created_at);
CREATE INDEX ix_usage_days_day ON usage_days (day);
CREATE TRIGGER messages_parent_same_conversation_insert BEFORE INSERT ON messages 
    FOR EACH ROW WHEN NEW.parent_id IS NOT NULL
        AND (SELECT conversation_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.conversation_id
    BEGIN
        SELECT RAISE(ABORT, 'messages.parent_id must be a message of the same conversation');
    END;
CREATE TRIGGER messages_parent_same_conversation_update BEFORE UPDATE OF parent_id, conversation_id ON messages 
    FOR EACH ROW WHEN NEW.parent_id IS NOT NULL
        AND (SELECT conversation_id FROM messages WHERE id = NEW.parent_id) IS NOT NEW.conversation_id
    BEGIN
        SELECT RAISE(ABORT, 'messages.parent_id must be a message of the same conversation');
    END;
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
         INSERT INTO messages_fts(rowid, content, owner)
         SELECT new.id, new.content, 'u' || c.user_id FROM conversations AS c WHERE c.id = new.conversation_id;
       END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, content, owner)
         SELECT 'delete', old.id, old.content, 'u' || c.user_id FROM conversations AS c
         WHERE c.id = old.conversation_id;
       END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF content, conversation_id ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, content, owner)
         SELECT 'delete', old.id, old.content, 'u' || c.user_id FROM conversations AS c
         WHERE c.id = old.conversation_id;
         INSERT INTO messages_fts(rowid, content, owner)
         SELECT new.id, new.content, 'u' || c.user_id FROM conversations AS c WHERE c.id = new.conversation_id;
       END;
CREATE TRIGGER conversations_fts_delete BEFORE DELETE ON conversations BEGIN
         DELETE FROM messages WHERE conversation_id = old.id;
         INSERT INTO conversations_fts(conversations_fts, rowid, title, owner)
         VALUES ('delete', old.id, old.title, 'u' || old.user_id);
       END;
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
         INSERT INTO conversations_fts(rowid, title, owner) VALUES (new.id, new.title, 'u' || new.user_id);
       END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF title, user_id ON conversations BEGIN
         INSERT INTO conversations_fts(conversations_fts, rowid, title, owner)
         VALUES ('delete', old.id, old.title, 'u' || old.user_id);
         INSERT INTO conversations_fts(rowid, title, owner) VALUES (new.id, new.title, 'u' || new.user_id);
       END;
CREATE TRIGGER conversations_fts_owner AFTER UPDATE OF user_id ON conversations
       WHEN old.user_id IS NOT new.user_id BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, content, owner)
         SELECT 'delete', id, content, 'u' || old.user_id FROM messages WHERE conversation_id = old.id;
         INSERT INTO messages_fts(rowid, content, owner)
         SELECT id, content, 'u' || new.user_id FROM messages WHERE conversation_id = new.id;
       END;
CREATE VIEW message_search_source AS
       SELECT m.id AS id, m.content AS content, 'u' || c.user_id AS owner
       FROM messages AS m JOIN conversations AS c ON c.id = m.conversation_id;
CREATE VIEW conversation_search_source AS
       SELECT id, title, 'u' || user_id AS owner FROM conversations;
INSERT INTO "alembic_version" VALUES('0013');
INSERT OR REPLACE INTO "conversations_fts_config" VALUES('rank','bm25(1.0, 0.0)');
INSERT OR REPLACE INTO "conversations_fts_config" VALUES('version',4);
INSERT OR REPLACE INTO "conversations_fts_data" VALUES(1,X'000000');
INSERT OR REPLACE INTO "conversations_fts_data" VALUES(10,X'00000001000000');
INSERT OR REPLACE INTO "messages_fts_config" VALUES('rank','bm25(1.0, 0.0)');
INSERT OR REPLACE INTO "messages_fts_config" VALUES('version',4);
INSERT OR REPLACE INTO "messages_fts_data" VALUES(1,X'000000');
INSERT OR REPLACE INTO "messages_fts_data" VALUES(10,X'00000001000000');
