-- conclave-ds on PostgreSQL: the SQLite schema as it stands after its V10, in one step.
-- Every guarantee the single SQLite writer gives by running one write at a time is here a
-- row lock or a constraint (README, "PostgreSQL"): the group row is locked and its epoch
-- compared-and-set by a commit; a device's row is its queue's counter; nonces are unique.

CREATE TABLE users (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE devices (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT  NOT NULL REFERENCES users(id),
    name            TEXT    NOT NULL,
    signature_key   BYTEA   NOT NULL,
    ciphersuite     INTEGER NOT NULL,
    -- The queue's counter: the last sequence number handed out. A delivery takes the next
    -- with the row locked until it commits, so a device's items become visible in the order
    -- of their numbers and a cursor never passes one still to come.
    last_seq        BIGINT  NOT NULL DEFAULT 0,
    queued_items    BIGINT  NOT NULL DEFAULT 0,
    queued_bytes    BIGINT  NOT NULL DEFAULT 0,
    created_at      BIGINT  NOT NULL,
    last_seen       BIGINT,
    revoked_at      BIGINT,
    UNIQUE (user_id, name)
);

CREATE TABLE device_grants (
    user_id         BIGINT  NOT NULL REFERENCES users(id),
    name            TEXT    NOT NULL,
    signature_key   BYTEA   NOT NULL,
    ciphersuite     INTEGER NOT NULL,
    expires_at      BIGINT  NOT NULL,
    PRIMARY KEY (user_id, name)
);

CREATE TABLE nonces (
    device_id   BIGINT  NOT NULL,
    nonce       TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

CREATE TABLE key_packages (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id   BIGINT  NOT NULL REFERENCES devices(id),
    data        BYTEA   NOT NULL,
    last_resort BOOLEAN NOT NULL,
    not_after   BIGINT  NOT NULL
);
CREATE INDEX key_packages_by_device ON key_packages (device_id, last_resort, id);

CREATE TABLE groups (
    group_id    BYTEA   PRIMARY KEY,
    epoch       BIGINT  NOT NULL
);

CREATE TABLE group_members (
    group_id    BYTEA   NOT NULL,
    device_id   BIGINT  NOT NULL REFERENCES devices(id),
    PRIMARY KEY (group_id, device_id)
);
CREATE INDEX group_members_by_device ON group_members (device_id);

CREATE TABLE group_commits (
    group_id    BYTEA    NOT NULL,
    epoch       BIGINT   NOT NULL,
    sender      BIGINT   NOT NULL,
    added       BIGINT[] NOT NULL,
    removed     BIGINT[] NOT NULL,
    PRIMARY KEY (group_id, epoch)
);

CREATE TABLE commit_rejections (
    group_id    BYTEA   NOT NULL,
    epoch       BIGINT  NOT NULL,
    device_id   BIGINT  NOT NULL,
    PRIMARY KEY (group_id, epoch, device_id)
);

-- A message is stored once; each recipient's queue refers to it. It goes once no queue
-- does: an acknowledgement notes the messages it released (`released_messages`, appended
-- to without contention), and retention deletes those no queue row refers to any more.
CREATE TABLE messages (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sender_device   BIGINT  NOT NULL REFERENCES devices(id),
    kind            TEXT    NOT NULL,
    group_id        BYTEA   NOT NULL,
    epoch           BIGINT  NOT NULL,
    message         BYTEA   NOT NULL,
    ratchet_tree    BYTEA,
    -- Bytes of the message and tree, read without reading them.
    size            BIGINT  NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX messages_by_age ON messages (created_at);

CREATE TABLE queue (
    device_id   BIGINT  NOT NULL REFERENCES devices(id),
    seq         BIGINT  NOT NULL,
    message_id  BIGINT  NOT NULL REFERENCES messages(id),
    PRIMARY KEY (device_id, seq)
);
CREATE INDEX queue_by_message ON queue (message_id);

CREATE TABLE released_messages (
    message_id  BIGINT  NOT NULL
);

CREATE TABLE link_chunks (
    link        BYTEA   NOT NULL,
    idx         BIGINT  NOT NULL,
    user_id     BIGINT  NOT NULL REFERENCES users(id),
    data        BYTEA   NOT NULL,
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (link, idx)
);
CREATE INDEX link_chunks_by_age ON link_chunks (created_at);

CREATE TABLE blobs (
    id          BYTEA   PRIMARY KEY,
    user_id     BIGINT  NOT NULL REFERENCES users(id),
    size        BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX blobs_by_user ON blobs (user_id);
CREATE INDEX blobs_by_age ON blobs (created_at);

CREATE TABLE blob_chunks (
    blob_id     BYTEA   NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
    idx         BIGINT  NOT NULL,
    data        BYTEA   NOT NULL,
    PRIMARY KEY (blob_id, idx)
);

CREATE TABLE group_infos (
    group_id    BYTEA   PRIMARY KEY,
    epoch       BIGINT  NOT NULL,
    info        BYTEA   NOT NULL,
    rejoin_key  BYTEA   NOT NULL,
    link_key    BYTEA
);

CREATE TABLE group_links (
    group_id    BYTEA   PRIMARY KEY,
    token_hash  BYTEA   NOT NULL,
    approval    BOOLEAN NOT NULL,
    expires_at  BIGINT
);

CREATE TABLE join_requests (
    group_id      BYTEA   NOT NULL,
    device_id     BIGINT  NOT NULL REFERENCES devices(id),
    requested_at  BIGINT  NOT NULL,
    PRIMARY KEY (group_id, device_id)
);

CREATE TABLE rejoin_asks (
    group_id    BYTEA   NOT NULL,
    device_id   BIGINT  NOT NULL REFERENCES devices(id),
    asked_at    BIGINT  NOT NULL,
    PRIMARY KEY (group_id, device_id)
);

CREATE TABLE rejoin_answers (
    group_id     BYTEA   NOT NULL,
    device_id    BIGINT  NOT NULL,
    answerer_id  BIGINT  NOT NULL,
    PRIMARY KEY (group_id, device_id, answerer_id)
);
