-- Who is in each group, as the accepted commits declared it: the group's first commit
-- starts it with its sender; each commit adds the devices its Welcome goes to and drops the
-- devices it removes. Only a device on the roster may send to the group, and only to
-- devices on it. Groups created before this migration have no roster, so nobody can send to
-- them any more: their members make them anew.
CREATE TABLE group_members (
    group_id  BLOB    NOT NULL,
    device_id INTEGER NOT NULL REFERENCES devices(id),
    PRIMARY KEY (group_id, device_id)
) WITHOUT ROWID;
