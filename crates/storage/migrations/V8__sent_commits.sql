-- The digest of each group's pending own commit (conclave_protocol::Group::sent_commit), kept
-- with the pending commit so that only the echo of the very commit this device sent merges
-- it, also after a restart.
CREATE TABLE sent_commits (
    group_id BLOB PRIMARY KEY,
    digest   BLOB NOT NULL
) WITHOUT ROWID;
