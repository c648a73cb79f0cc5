-- Messages in the MIMI content format (draft-ietf-mimi-content-08): replies, reactions,
-- edits, deletes, attachments, read receipts and disappearing messages.
--
-- The table is rebuilt (the procedure and the reasons of V4) because its kind CHECK gains
-- 'attachment'. Messages of the earlier format had random 16-byte ids; they are now known
-- under the 32-byte id every device derives from those 16 bytes (0x00, the 16 bytes, 15
-- zeros: conclave_content::MessageId::legacy), so that replies and reactions can name them.
-- Event lines keep their local ids.

CREATE TABLE messages_v10 (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    -- The MIMI message id (event lines: a local name), unique within a conversation: a
    -- message delivered twice is stored once.
    uid             BLOB    NOT NULL,
    sender_user     TEXT    NOT NULL,
    sender_device   TEXT    NOT NULL,
    sent_at         INTEGER NOT NULL,
    received_at     INTEGER,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL
        CHECK (state = 'pending' OR state = 'sent' OR state = 'failed' OR state = 'received'),
    server_seq      INTEGER,
    outgoing        INTEGER NOT NULL,
    kind            TEXT    NOT NULL DEFAULT 'text'
        CHECK (kind = 'text' OR kind = 'event' OR kind = 'unsupported' OR kind = 'attachment'),
    -- The MIMI id of the message this one answers (which may not be here).
    reply_to        BLOB,
    -- When its author last edited it (ms, the author's clock); earlier texts are in
    -- message_versions.
    edited_at       INTEGER,
    -- When its author deleted it (ms): the body is then empty, versions and reactions gone.
    deleted_at      INTEGER,
    -- When it disappears (ms): the sweep removes the row then.
    expires_at      INTEGER,
    -- For an attachment: the MIMI external part (CBOR) that locates and decrypts it.
    attachment      BLOB,
    UNIQUE (conversation_id, uid)
);
INSERT INTO messages_v10 (id, conversation_id, uid, sender_user, sender_device, sent_at,
                          received_at, body, state, server_seq, outgoing, kind)
SELECT id, conversation_id,
       CASE WHEN kind != 'event' AND length(uid) = 16
            THEN CAST(x'00' || uid || zeroblob(15) AS BLOB) ELSE uid END,
       sender_user, sender_device, sent_at, received_at, body, state, server_seq, outgoing, kind
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v10 RENAME TO messages;
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unread ON messages (conversation_id, id) WHERE outgoing = 0;
CREATE INDEX messages_expiring ON messages (expires_at) WHERE expires_at IS NOT NULL;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO fts_pending (id) VALUES (new.id);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id);
    DELETE FROM fts_pending WHERE id = old.id;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body
        WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE id = old.id);
    INSERT OR IGNORE INTO fts_pending (id) VALUES (new.id);
END;

-- The texts an edited message had before, oldest first ("edited" shows them).
CREATE TABLE message_versions (
    id          INTEGER PRIMARY KEY,
    message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    body        TEXT    NOT NULL,
    -- When this text was replaced (ms, the author's clock).
    replaced_at INTEGER NOT NULL
);
CREATE INDEX message_versions_by_message ON message_versions (message_id);

-- Reactions, each under its own MIMI id (a removal names it).
CREATE TABLE reactions (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    uid             BLOB    NOT NULL,
    message_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_name       TEXT    NOT NULL,
    emoji           TEXT    NOT NULL,
    reacted_at      INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, uid)
) WITHOUT ROWID;
CREATE INDEX reactions_by_message ON reactions (message_id);

-- Read receipts: each user's newest read message, per conversation (a receipt covers
-- everything before it).
CREATE TABLE read_receipts (
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_name       TEXT    NOT NULL,
    up_to           INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_name)
) WITHOUT ROWID;

-- The disappearing-message timer every member last set (seconds; 0: off), and the newest
-- message this device sent a read receipt for.
ALTER TABLE conversations ADD COLUMN disappear_after INTEGER NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN receipt_sent INTEGER NOT NULL DEFAULT 0;
