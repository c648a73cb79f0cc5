-- What the messenger engine (conclave-client) keeps besides messages.

-- What a message is: 'text', 'event' (a membership or name change, written by this device),
-- or 'unsupported' (a newer client's content kind, kept and shown as such).
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text'
    CHECK (kind IN ('text', 'event', 'unsupported'));

-- When this device stopped being a member (removed, or its leave was committed).
ALTER TABLE conversations ADD COLUMN left_at INTEGER;
-- This device asked to leave and waits for a member to commit it.
ALTER TABLE conversations ADD COLUMN leave_requested INTEGER NOT NULL DEFAULT 0;
-- When this device last rotated its leaf keys in the group (ms), for scheduled self-updates.
ALTER TABLE conversations ADD COLUMN last_rotation INTEGER NOT NULL DEFAULT 0;

-- Small per-profile facts (registration done, key-package top-up time, ...).
CREATE TABLE settings (
    key     TEXT PRIMARY KEY,
    value   TEXT NOT NULL
) WITHOUT ROWID;
