-- A member's device asking the group for its rejoin key (its state older than the key): the
-- ask itself went into the other members' queues; this row limits how often a device asks,
-- and lets only the first answer through to it.
CREATE TABLE rejoin_asks (
    group_id    BLOB    NOT NULL,
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    asked_at    INTEGER NOT NULL,
    answered    INTEGER NOT NULL,
    PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;
