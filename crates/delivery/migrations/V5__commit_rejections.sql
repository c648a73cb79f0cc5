-- The roster change of each accepted commit (the last 100 epochs of each group), so that a
-- commit the members refuse can be undone; and the members' votes to refuse one. When more
-- than half of the members the commit was made among (its sender aside) refuse it, the
-- group goes back to the commit's epoch: the members, who never merged it, go on from
-- there. Device ids are comma-separated.
CREATE TABLE group_commits (
    group_id BLOB    NOT NULL,
    epoch    INTEGER NOT NULL,
    sender   INTEGER NOT NULL,
    added    TEXT    NOT NULL,
    removed  TEXT    NOT NULL,
    PRIMARY KEY (group_id, epoch)
) WITHOUT ROWID;

CREATE TABLE commit_rejections (
    group_id  BLOB    NOT NULL,
    epoch     INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    PRIMARY KEY (group_id, epoch, device_id)
) WITHOUT ROWID;
