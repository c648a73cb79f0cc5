-- The end of each key package's lifetime (unix seconds), read from the package when it is
-- published: an expired package is no longer served, counted or kept (an inviter would refuse
-- it, and its owner deletes its private keys). Packages stored before this migration have
-- no known end.
ALTER TABLE key_packages ADD COLUMN not_after INTEGER NOT NULL DEFAULT 9223372036854775807;
