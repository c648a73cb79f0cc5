-- Attachments: ciphertext a device uploads in chunks and any registered device reads by the
-- blob's random id. The server never sees a key; blobs go after the retention period.
CREATE TABLE blobs (
    id          BLOB    PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    -- Bytes of ciphertext the uploader declared; its chunks never hold more.
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX blobs_by_user ON blobs (user_id);
CREATE INDEX blobs_by_age ON blobs (created_at);

CREATE TABLE blob_chunks (
    blob_id     BLOB    NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
    idx         INTEGER NOT NULL,
    data        BLOB    NOT NULL,
    PRIMARY KEY (blob_id, idx)
) WITHOUT ROWID;
