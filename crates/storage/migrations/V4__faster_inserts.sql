-- Storing a message cost ~16 us, most of it in two things (measured in docs/PERFORMANCE.md):
--
-- 1. `CHECK (x IN ('a', 'b', ...))`: SQLite builds a temporary index of the list for every
--    row it checks (~8 us per insert). The same checks written with `=` and `OR` cost
--    nothing measurable. A CHECK cannot be altered, so the table is rebuilt (with the same
--    rowids, which the full-text index refers to); `Store::open` runs migrations with
--    foreign keys off, as SQLite's table-rebuild procedure requires, and checks them after.
--
-- 2. The full-text index fed one row at a time by a trigger: FTS5 does it at about twice the
--    cost of one statement per transaction. An insert now only notes the message in
--    `fts_pending`; `Tx::commit` (and a search) index what is noted, in one statement, inside
--    the same transaction, so a committed message is always searchable.

CREATE TABLE messages_v4 (
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
    state           TEXT    NOT NULL
        CHECK (state = 'pending' OR state = 'sent' OR state = 'failed' OR state = 'received'),
    server_seq      INTEGER,
    outgoing        INTEGER NOT NULL,
    kind            TEXT    NOT NULL DEFAULT 'text'
        CHECK (kind = 'text' OR kind = 'event' OR kind = 'unsupported'),
    UNIQUE (conversation_id, uid)
);
INSERT INTO messages_v4 (id, conversation_id, uid, sender_user, sender_device, sent_at,
                         received_at, body, state, server_seq, outgoing, kind)
SELECT id, conversation_id, uid, sender_user, sender_device, sent_at, received_at, body, state,
       server_seq, outgoing, kind
FROM messages;
-- Its indexes and triggers go with it; the full-text table keeps its entries (same rowids).
DROP TABLE messages;
ALTER TABLE messages_v4 RENAME TO messages;
CREATE INDEX messages_by_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unread ON messages (conversation_id, id) WHERE outgoing = 0;

CREATE TABLE fts_pending (id INTEGER PRIMARY KEY);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO fts_pending (id) VALUES (new.id);
END;

-- A message still pending is not in the index: asking FTS5 to remove it would corrupt the
-- index (an external-content table trusts the values it is given).
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
