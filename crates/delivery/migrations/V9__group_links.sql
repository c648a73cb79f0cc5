-- Joining by external commit. A group's latest GroupInfo, sealed by a member (the server
-- cannot read it): the GroupInfo under a key of its own, that key sealed for the group's
-- devices and, while a link is open, for the link's holders.
CREATE TABLE group_infos (
    group_id    BLOB    PRIMARY KEY,
    epoch       INTEGER NOT NULL,
    info        BLOB    NOT NULL,
    rejoin_key  BLOB    NOT NULL,
    link_key    BLOB
) WITHOUT ROWID;

-- A group's invite link: the hash of the token joiners present (derived from the link's
-- secret, which the server never sees).
CREATE TABLE group_links (
    group_id    BLOB    PRIMARY KEY,
    token_hash  BLOB    NOT NULL,
    approval    INTEGER NOT NULL,
    expires_at  INTEGER
) WITHOUT ROWID;

-- Requests to join by a link that needs an admin's approval.
CREATE TABLE join_requests (
    group_id      BLOB    NOT NULL,
    device_id     INTEGER NOT NULL REFERENCES devices(id),
    requested_at  INTEGER NOT NULL,
    PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;
