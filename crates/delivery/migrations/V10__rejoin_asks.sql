-- A member's device asking the group for its rejoin key (its state older than the key): the
-- ask itself went into the other members' queues; this row limits how often a device asks.
CREATE TABLE rejoin_asks (
    group_id    BLOB    NOT NULL,
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    asked_at    INTEGER NOT NULL,
    PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;

-- Who answered a device's open ask: the first few answers, one per answering device, reach
-- the asker (so that one member's bad answer cannot keep the others' from it).
CREATE TABLE rejoin_answers (
    group_id     BLOB    NOT NULL,
    device_id    INTEGER NOT NULL,
    answerer_id  INTEGER NOT NULL,
    PRIMARY KEY (group_id, device_id, answerer_id)
) WITHOUT ROWID;
