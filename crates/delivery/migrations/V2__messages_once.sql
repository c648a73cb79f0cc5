-- Each message is stored once, however many devices it goes to; a device's queue holds
-- references to it. `refs` counts the queue rows that still point at a message: the message
-- goes when the last of them is acknowledged or dropped.

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    sender_device   INTEGER NOT NULL REFERENCES devices(id),
    kind            TEXT    NOT NULL,
    group_id        BLOB    NOT NULL,
    epoch           INTEGER NOT NULL,
    message         BLOB    NOT NULL,
    ratchet_tree    BLOB,
    created_at      INTEGER NOT NULL,
    refs            INTEGER NOT NULL
);
CREATE INDEX messages_by_age ON messages (created_at);

CREATE TABLE queue_refs (
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    seq         INTEGER NOT NULL,
    message_id  INTEGER NOT NULL REFERENCES messages(id),
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;

-- Items already queued keep their sequence numbers; each becomes a message of its own.
INSERT INTO messages (id, sender_device, kind, group_id, epoch, message, ratchet_tree,
                      created_at, refs)
SELECT row_number() OVER (ORDER BY device_id, seq), sender_device, kind, group_id, epoch,
       message, ratchet_tree, created_at, 1
FROM queue;
INSERT INTO queue_refs (device_id, seq, message_id)
SELECT device_id, seq, row_number() OVER (ORDER BY device_id, seq) FROM queue;

DROP INDEX queue_by_age;
DROP TABLE queue;
ALTER TABLE queue_refs RENAME TO queue;
