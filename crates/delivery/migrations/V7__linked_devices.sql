-- Several devices per user, linked by a code: grants an existing device gives for a new
-- key, the encrypted transfer between the two, and revocation.

-- A revoked device keeps its row (its name is never registered again, and the messages it
-- sent still name it) but can do nothing.
ALTER TABLE devices ADD COLUMN revoked_at INTEGER;
-- When it last acknowledged its queue or published key packages (unix seconds).
ALTER TABLE devices ADD COLUMN last_seen INTEGER;

-- A device of `user_id` vouched for `signature_key` under `name`: the new device registers
-- itself with it until `expires_at` (unix seconds), once.
CREATE TABLE device_grants (
    user_id         INTEGER NOT NULL REFERENCES users(id),
    name            TEXT    NOT NULL,
    signature_key   BLOB    NOT NULL,
    ciphersuite     INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;

-- A link's transfer: chunks of ciphertext, by index, owned by the user whose device wrote
-- the first one, deleted when the link is or after the link retention.
CREATE TABLE link_chunks (
    link        BLOB    NOT NULL,
    idx         INTEGER NOT NULL,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    data        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (link, idx)
) WITHOUT ROWID;
CREATE INDEX link_chunks_by_age ON link_chunks (created_at);
