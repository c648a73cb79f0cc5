-- This device's published key packages, so that their private keys are deleted once no
-- Welcome can use them any more: a one-time package after it expires, a last-resort one after
-- a newer one replaced it (each plus a grace period for Welcomes still queued). Packages
-- published before this migration are not listed; the first top-up replaces the last-resort
-- one, and the one-time ones expire on the server by their lifetime.
CREATE TABLE published_key_packages (
    reference    BLOB    PRIMARY KEY,
    last_resort  INTEGER NOT NULL,
    -- End of its lifetime, seconds since the Unix epoch.
    not_after    INTEGER NOT NULL,
    -- Milliseconds since the Unix epoch.
    published_at INTEGER NOT NULL,
    -- A last-resort package replaced by a newer one: when (ms).
    retired_at   INTEGER
) WITHOUT ROWID;
