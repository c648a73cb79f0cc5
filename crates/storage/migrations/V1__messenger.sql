-- Conclave's own tables. MLS state lives in openmls_sqlite_storage's tables (its own
-- migrations, history table `openmls_sqlite_storage_migrations`).

-- This device: its identity record (JSON of conclave_protocol::IdentityRecord) and server.
CREATE TABLE profile (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    identity    TEXT    NOT NULL,
    server_url  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Devices seen in groups: trust on first use of each device's signature key.
CREATE TABLE devices (
    user_name       TEXT    NOT NULL,
    device_id       TEXT    NOT NULL,
    signature_key   BLOB    NOT NULL,
    fingerprint     TEXT    NOT NULL,
    first_seen      INTEGER NOT NULL,
    verified        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (user_name, device_id)
) WITHOUT ROWID;

CREATE TABLE conversations (
    id              INTEGER PRIMARY KEY,
    group_id        BLOB    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    -- Highest message id the user has seen; unread = messages above it not sent by us.
    last_read       INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    -- The sender's id for the message, unique within a conversation: a message delivered
    -- twice is stored once.
    uid             BLOB    NOT NULL,
    sender_user     TEXT    NOT NULL,
    sender_device   TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL,
    received_at     INTEGER,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'received')),
    server_seq      INTEGER,
    outgoing        INTEGER NOT NULL,
    UNIQUE (conversation_id, uid)
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);

-- Full-text index over decrypted bodies, kept in step by triggers.
CREATE VIRTUAL TABLE messages_fts USING fts5(body, content = 'messages', content_rowid = 'id');
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;

-- What waits to be sent, in order.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0
);

-- Per server: the last queue sequence number processed.
CREATE TABLE sync_cursors (
    server          TEXT    PRIMARY KEY,
    last_seq        INTEGER NOT NULL
) WITHOUT ROWID;
