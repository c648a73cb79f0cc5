-- The delivery service's state. It holds ciphertext only: MLS messages, Welcomes and key
-- packages, never anything decrypted.

CREATE TABLE users (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE devices (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users(id),
    name            TEXT    NOT NULL,
    signature_key   BLOB    NOT NULL,
    ciphersuite     INTEGER NOT NULL,
    -- Last queue sequence number handed out to this device.
    last_seq        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE key_packages (
    id          INTEGER PRIMARY KEY,
    device_id   INTEGER NOT NULL REFERENCES devices(id),
    data        BLOB    NOT NULL,
    last_resort INTEGER NOT NULL
);
CREATE INDEX key_packages_by_device ON key_packages (device_id, last_resort, id);

-- Per group, the epoch the next accepted commit must be made in.
CREATE TABLE groups (
    group_id    BLOB    PRIMARY KEY,
    epoch       INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE queue (
    device_id       INTEGER NOT NULL REFERENCES devices(id),
    seq             INTEGER NOT NULL,
    sender_device   INTEGER NOT NULL REFERENCES devices(id),
    kind            TEXT    NOT NULL,
    group_id        BLOB    NOT NULL,
    epoch           INTEGER NOT NULL,
    message         BLOB    NOT NULL,
    ratchet_tree    BLOB,
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (device_id, seq)
) WITHOUT ROWID;
CREATE INDEX queue_by_age ON queue (created_at);

-- Nonces of write requests, recorded in the same transaction as their effect.
CREATE TABLE nonces (
    device_id   INTEGER NOT NULL,
    nonce       TEXT    NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
