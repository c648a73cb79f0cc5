-- The suite of each published key package: a device publishes for every suite its key signs
-- in, and each suite has its own last-resort package, replaced on its own schedule. Packages
-- recorded before this migration have 0, read as the suite the device registered with (the
-- engine adopts them into it on its first top-up).
ALTER TABLE published_key_packages ADD COLUMN ciphersuite INTEGER NOT NULL DEFAULT 0;
